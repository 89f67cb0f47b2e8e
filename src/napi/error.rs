//! The one way failures cross into JavaScript. Thrown errors and promise rejections are JS
//! `Error`s whose `code` is the stable code of an [`ErrorKind`] (e.g. `INVALID_CONFIG`);
//! answers the proxy gives by itself carry the same as data ([`ProxyErrorInfo`]). Messages are
//! the core's, safe to show and log.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::{ErrorKind, ProxyError};

/// Why the proxy answers by itself instead of with the upstream's response.
#[napi(object)]
#[derive(Clone)]
pub struct ProxyErrorInfo {
    /// The HTTP status to answer with.
    pub status: u32,
    /// The name for Backstage's error JSON, e.g. `InputError`, `ServiceUnavailableError`.
    pub name: String,
    /// A stable machine code, e.g. `BAD_PATH`, `UPSTREAM_TIMEOUT`.
    pub code: String,
    /// A message safe to return and log: never holds credentials, tokens or bodies.
    pub message: String,
}

/// A core error as data, for an answer the caller sends.
pub fn error_info(error: &ProxyError) -> ProxyErrorInfo {
    let kind = error.kind();
    ProxyErrorInfo {
        status: kind.http_status().into(),
        name: kind.backstage_name().to_string(),
        code: kind.code().to_string(),
        message: error.message_with_causes(),
    }
}

/// A core error as a JS error to throw.
pub fn to_js_error(error: ProxyError) -> napi::Error<String> {
    napi::Error::new(error.kind().code().to_string(), error.message_with_causes())
}

/// A core error as a promise rejection. napi's promises reject only with errors coded by a napi
/// status, so the JS error with our code is made here, on the JavaScript thread, and handed
/// over by reference.
pub fn to_js_rejection(env: Env, error: ProxyError) -> napi::Error {
    let js_error = JsError::from(to_js_error(error)).into_unknown(env);
    napi::Error::from(js_error)
}

/// An argument JavaScript passed that napi could not convert (a missing field, a number for a
/// string): the caller's mistake, named by napi's message.
pub fn argument_error(error: napi::Error) -> ProxyError {
    ProxyError::new(ErrorKind::InvalidArgument, format!("invalid argument: {}", error.reason))
}
