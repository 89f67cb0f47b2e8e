//! The Tokio runtime every exchange, credential refresh and async call of the addon runs on.
//!
//! napi-rs's default is a work-stealing runtime with one worker per core. A proxied request is
//! a chain of short steps (sign, write to a pooled connection, read the answer, hand it back),
//! and with several workers each step woke an idle worker to look for work to steal: strace
//! counted 2.8 futex calls per small GET with two workers and 0.45 with one, on a process whose
//! JavaScript thread is its bottleneck anyway. One worker runs the whole chain without a hand-off.
//! `PROXY_SIGV4_WORKER_THREADS` sets another count, e.g. for many TLS upstreams on many cores.

use tokio::runtime::{Builder, Runtime};

use crate::worker_threads;

#[napi_derive::module_init]
fn install_runtime() {
    if let Some(runtime) = build_runtime() {
        napi::bindgen_prelude::create_custom_tokio_runtime(runtime);
    }
}

/// The runtime; `None` leaves napi-rs's default in place (loading the addon must not fail here).
fn build_runtime() -> Option<Runtime> {
    let workers = worker_threads::from_setting(std::env::var(worker_threads::VARIABLE).ok().as_deref());
    Builder::new_multi_thread().worker_threads(workers).thread_name("proxy-sigv4").enable_all().build().ok()
}
