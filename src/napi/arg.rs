//! An argument converted by napi but checked by us: a conversion failure then comes back as
//! our `INVALID_ARGUMENT` (through `error::argument_error`) instead of napi's own status code,
//! and is raised inside the entry point's panic guard.

use napi::bindgen_prelude::FromNapiValue;
use napi::sys;

use super::error::argument_error;
use crate::error::ProxyError;

/// A JavaScript argument on its way to a `T`.
pub struct Arg<T>(napi::Result<T>);

impl<T: FromNapiValue> FromNapiValue for Arg<T> {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        Ok(Arg(unsafe { T::from_napi_value(env, value) }))
    }
}

impl<T> Arg<T> {
    /// The converted value, or why the argument is not a `T`.
    pub fn get(self) -> Result<T, ProxyError> {
        self.0.map_err(argument_error)
    }
}
