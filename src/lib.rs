//! proxy-sigv4: the core of a SigV4 signing proxy for Backstage.
//!
//! A request travels `proxy` -> `path` (where it goes) -> `headers` (what goes with it) ->
//! `credentials` (who signs) -> `signing` (the signature) -> `forward` (the pooled client), and
//! its response streams back. Every failure is a [`error::ProxyError`] with one HTTP status and
//! one stable code. The Node bindings live in `napi` and hold no policy of their own.

pub mod config;
pub mod credential_failure;
pub mod credentials;
pub mod duration;
pub mod endpoint;
pub mod endpoint_data;
pub mod error;
pub mod forward;
pub mod headers;
pub mod metrics;
pub mod path;
pub mod policy;
pub mod presign;
pub mod progress;
pub mod proxy;
pub mod redact;
pub mod registry;
pub mod request_plan;
pub mod route_match;
pub mod signing;
pub mod sigv4;
pub mod temporary_credentials;
pub mod tls;
pub mod worker_threads;

#[cfg(feature = "napi")]
mod napi;
