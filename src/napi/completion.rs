//! Settles promises from Tokio tasks through one threadsafe function per owner.
//!
//! napi-rs's async functions create a threadsafe function (a libuv handle and an async resource)
//! for every call and close it after one use; at thousands of proxied requests a second that
//! showed up as the largest cost of `handle()`. Here an owner (a `SigV4Proxy`) creates one at
//! construction, every call only creates its promise, and answers that arrive together are
//! settled in one wake-up of the JavaScript thread. The threadsafe function keeps Node's event
//! loop alive only while promises are pending, as napi-rs's does.

use std::ffi::c_void;
use std::marker::PhantomData;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::*;
use napi::sys;

use super::error::to_js_error;
use crate::error::ProxyError;

/// What a pending promise is settled with when its task ends without an answer (it panicked,
/// or the runtime shut down).
const NO_ANSWER: &str = "the proxy task ended without an answer";

/// One threadsafe function settling promises of type `T`.
pub struct Completions<T> {
    channel: Arc<Channel>,
    /// Promises created and not yet settled. Only read and written on the JavaScript thread.
    pending: AtomicUsize,
    answer: PhantomData<fn(T)>,
}

/// The threadsafe function, until Node finalises it. Node frees it when the environment closes,
/// possibly while Tokio tasks still hold answers, so every use takes the lock and checks.
struct Channel {
    tsfn: Mutex<Option<Tsfn>>,
}

struct Tsfn(sys::napi_threadsafe_function);

// A threadsafe function may be called and released from any thread (under the lock here);
// referencing and unreferencing it happens on the JavaScript thread.
unsafe impl Send for Tsfn {}

impl Channel {
    /// Runs `f` with the threadsafe function, unless Node has finalised it.
    fn with<R>(&self, f: impl FnOnce(sys::napi_threadsafe_function) -> R) -> Option<R> {
        let tsfn = self.tsfn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        tsfn.as_ref().map(|tsfn| f(tsfn.0))
    }
}

/// Node finalises the threadsafe function: it must not be used again.
unsafe extern "C" fn channel_finalized(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    let channel = unsafe { Arc::from_raw(data.cast::<Channel>()) };
    channel.tsfn.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
}

impl<T: ToNapiValue + Send + 'static> Completions<T> {
    /// Creates the threadsafe function, not holding the event loop open.
    pub fn new(env: &Env) -> Result<Arc<Self>> {
        let env = env.raw();
        let mut name = ptr::null_mut();
        let mut tsfn = ptr::null_mut();
        let channel = Arc::new(Channel { tsfn: Mutex::new(None) });
        let finalize_data = Arc::into_raw(channel.clone()).cast_mut().cast();
        unsafe {
            check(sys::napi_create_string_utf8(env, c"proxy-sigv4".as_ptr(), 11, &mut name))?;
            check(sys::napi_create_threadsafe_function(
                env,
                ptr::null_mut(),
                ptr::null_mut(),
                name,
                0,
                1,
                finalize_data,
                Some(channel_finalized),
                ptr::null_mut(),
                Some(settle_on_js_thread::<T>),
                &mut tsfn,
            ))?;
            check(sys::napi_unref_threadsafe_function(env, tsfn))?;
        }
        *channel.tsfn.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Tsfn(tsfn));
        Ok(Arc::new(Self { channel, pending: AtomicUsize::new(0), answer: PhantomData }))
    }

    /// A new promise, and the handle that settles it from any thread.
    pub fn promise<'env>(self: &Arc<Self>, env: &'env Env) -> Result<(Settler<T>, PromiseRaw<'env, T>)> {
        let mut deferred = ptr::null_mut();
        let mut promise = ptr::null_mut();
        unsafe { check(sys::napi_create_promise(env.raw(), &mut deferred, &mut promise))? };
        if self.pending.fetch_add(1, Ordering::Relaxed) == 0 {
            self.channel.with(|tsfn| unsafe { sys::napi_ref_threadsafe_function(env.raw(), tsfn) });
        }
        let settler = Settler { deferred, completions: Some(self.clone()) };
        Ok((settler, PromiseRaw::new(env.raw(), promise)))
    }

    /// One promise settled: let the event loop exit when none is left.
    fn settled(&self, env: sys::napi_env) {
        if self.pending.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.channel.with(|tsfn| unsafe { sys::napi_unref_threadsafe_function(env, tsfn) });
        }
    }
}

impl<T> Drop for Completions<T> {
    fn drop(&mut self) {
        // Taken out first: released, it is Node's to free, and no settler holds it any more.
        let tsfn = self.channel.tsfn.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(tsfn) = tsfn {
            unsafe {
                sys::napi_release_threadsafe_function(tsfn.0, sys::ThreadsafeFunctionReleaseMode::release)
            };
        }
    }
}

/// Settles one promise, once, from any thread. Dropped unused, it rejects the promise.
pub struct Settler<T: ToNapiValue + Send + 'static> {
    deferred: sys::napi_deferred,
    completions: Option<Arc<Completions<T>>>,
}

// The deferred is only ever touched on the JavaScript thread, in `settle_on_js_thread`.
unsafe impl<T: ToNapiValue + Send + 'static> Send for Settler<T> {}

impl<T: ToNapiValue + Send + 'static> Settler<T> {
    /// Resolves the promise with `value`.
    pub fn resolve(mut self, value: T) {
        self.send(Ok(value));
    }

    fn send(&mut self, answer: std::result::Result<T, &'static str>) {
        let Some(completions) = self.completions.take() else { return };
        let channel = completions.channel.clone();
        let message = Box::into_raw(Box::new(Message { deferred: self.deferred, answer, completions }));
        let status = channel.with(|tsfn| unsafe {
            sys::napi_call_threadsafe_function(
                tsfn,
                message.cast(),
                sys::ThreadsafeFunctionCallMode::nonblocking,
            )
        });
        if status != Some(sys::Status::napi_ok) {
            // The environment is closing: nobody is left to answer.
            drop(unsafe { Box::from_raw(message) });
        }
    }
}

impl<T: ToNapiValue + Send + 'static> Drop for Settler<T> {
    fn drop(&mut self) {
        self.send(Err(NO_ANSWER));
    }
}

/// A promise's answer on its way to the JavaScript thread.
struct Message<T> {
    deferred: sys::napi_deferred,
    answer: std::result::Result<T, &'static str>,
    completions: Arc<Completions<T>>,
}

unsafe extern "C" fn settle_on_js_thread<T: ToNapiValue + Send + 'static>(
    env: sys::napi_env,
    _js_callback: sys::napi_value,
    _context: *mut c_void,
    data: *mut c_void,
) {
    let message = unsafe { Box::from_raw(data.cast::<Message<T>>()) };
    if env.is_null() {
        return; // the environment is being torn down: only free the message
    }
    let Message { deferred, answer, completions } = *message;
    completions.settled(env);
    unsafe {
        let value = match answer {
            Ok(value) => T::to_napi_value(env, value).map_err(|e| e.reason),
            Err(reason) => Err(reason.to_string()),
        };
        match value {
            Ok(value) => sys::napi_resolve_deferred(env, deferred, value),
            Err(reason) => {
                let error = to_js_error(ProxyError::internal(reason));
                sys::napi_reject_deferred(env, deferred, JsError::from(error).into_value(env))
            }
        };
    }
}

fn check(status: sys::napi_status) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::new(Status::GenericFailure, "could not set up the promise channel"))
    }
}
