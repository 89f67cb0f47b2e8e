//! `SigV4Proxy`, `ProxyResponse` and `CancelSignal`.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use tokio_util::sync::CancellationToken;

use super::completion::Completions;
use super::error::map_error;
use crate::error::{ErrorKind, ProxyError};
use crate::forward::{until_cancelled, BodyChunks, BoxError};
use crate::policy::CallerCredentials;
use crate::proxy::{IncomingBody, IncomingRequest, ProxiedResponse, Proxy, ResponseBody};

/// A request as the Backstage router received it.
#[napi(object)]
pub struct ProxyRequest {
    pub method: String,
    /// The URL below the plugin's mount point, raw and with its query: `/route/rest?query`.
    pub url: String,
    /// Raw header pairs as Node gives them in `req.rawHeaders`: `[name, value, name, value, ...]`.
    pub headers: Vec<String>,
    /// The request body, byte for byte as received. Omit for none.
    pub body: Option<Buffer>,
}

/// Why the proxy answered by itself instead of with the upstream's response.
#[napi(object)]
#[derive(Clone)]
pub struct ProxyErrorInfo {
    /// The Backstage error name for the status, e.g. `InputError`, `ServiceUnavailableError`.
    pub name: String,
    /// A stable machine code, e.g. `BAD_PATH`, `UPSTREAM_TIMEOUT`.
    pub code: String,
    /// A message safe to return and log: never holds credentials, tokens or bodies.
    pub message: String,
}

/// What the router needs to know about a route before it reads a request body.
#[napi(object)]
pub struct RouteInfo {
    /// The route key, e.g. `/service-a`.
    pub key: String,
    /// The route's `credentials` option: `require` or `dangerously-allow-unauthenticated`;
    /// absent when the global `allowUnauthenticatedRequests` decides.
    #[napi(ts_type = "'require' | 'dangerously-allow-unauthenticated'")]
    pub credentials: Option<String>,
    /// The largest request body the route accepts, in bytes.
    pub max_request_body_bytes: f64,
    /// The route signs `UNSIGNED-PAYLOAD`: hand its body to `handleStream` instead of reading it.
    pub stream_request_body: bool,
}

/// A proxy over the routes of one `proxysigv4` config.
#[napi]
pub struct SigV4Proxy {
    pub(super) inner: Arc<Proxy>,
    /// Settles the promises `handle` and `handleStream` return.
    completions: Arc<Completions<ProxyResponse>>,
}

#[napi]
impl SigV4Proxy {
    /// Validates the whole `proxysigv4` config object (Segment's format). Throws an error with
    /// code `INVALID_CONFIG` whose message names the route and key. Fetches no credentials.
    #[napi(constructor)]
    pub fn new(
        env: &Env,
        #[napi(ts_arg_type = "object | null | undefined")] config: Option<serde_json::Value>,
    ) -> Result<Self, String> {
        let config = config.unwrap_or(serde_json::Value::Null);
        let proxy = Proxy::from_config(&config).map_err(map_error)?;
        let completions =
            Completions::new(env).map_err(|e| napi::Error::new("INTERNAL".to_string(), e.reason))?;
        Ok(Self { inner: Arc::new(proxy), completions })
    }

    /// The route a request URL (`/route/rest?query`, below the mount point) belongs to, with what
    /// the router must know before it reads the body; `null` when no route matches.
    #[napi]
    pub fn route_for(&self, url: String) -> Option<RouteInfo> {
        let route = self.inner.route_for(&url)?;
        Some(RouteInfo {
            key: route.key.clone(),
            credentials: match route.policy.caller_credentials {
                CallerCredentials::Inherit => None,
                CallerCredentials::Require => Some("require".to_string()),
                CallerCredentials::DangerouslyAllowUnauthenticated => {
                    Some("dangerously-allow-unauthenticated".to_string())
                }
            },
            max_request_body_bytes: route.policy.max_request_body_bytes as f64,
            stream_request_body: route.policy.unsigned_payload,
        })
    }

    /// Where in `routeInfos` the route a request URL belongs to is; -1 when no route matches.
    /// `routeFor` without building an object: for a caller that keeps `routeInfos`.
    #[napi]
    pub fn route_index(&self, url: String) -> i32 {
        self.inner.route_index(&url).map_or(-1, |index| index as i32)
    }

    /// Every route with its caller-credentials policy, e.g. to register auth policies at startup.
    #[napi(getter)]
    pub fn route_infos(&self) -> Vec<RouteInfo> {
        self.inner.route_keys().iter().filter_map(|key| self.route_for(key.clone())).collect()
    }

    /// The configured route keys, e.g. `['/service-a']`.
    #[napi(getter)]
    pub fn routes(&self) -> Vec<String> {
        self.inner.route_keys().to_vec()
    }

    /// Proxies one request. Resolves with the upstream's status and headers while its body is
    /// still streaming; proxy failures resolve too, with `error` set and `status` the HTTP status
    /// to answer. `cancel` abandons the exchange (e.g. when the client disconnects).
    #[napi(ts_return_type = "Promise<ProxyResponse>")]
    pub fn handle<'env>(
        &self,
        env: &'env Env,
        request: ProxyRequest,
        cancel: Option<&CancelSignal>,
    ) -> Result<PromiseRaw<'env, ProxyResponse>> {
        let body = request.body.as_deref().map(Bytes::copy_from_slice).unwrap_or_default();
        self.exchange(env, request, IncomingBody::Buffered(body), cancel)
    }

    /// Like `handle`, for a route with `unsignedPayload`: the request body streams from `body`
    /// to the upstream without being held. `contentLength` is the body's exact length.
    #[napi(ts_return_type = "Promise<ProxyResponse>")]
    pub fn handle_stream<'env>(
        &self,
        env: &'env Env,
        request: ProxyRequest,
        content_length: f64,
        body: ReadableStream<Uint8Array>,
        cancel: Option<&CancelSignal>,
    ) -> Result<PromiseRaw<'env, ProxyResponse>> {
        let chunks = body.read()?.map(|chunk| {
            chunk.map(|c| Bytes::copy_from_slice(&c)).map_err(|e| BoxError::from(e.reason.clone()))
        });
        let body = IncomingBody::Streamed { chunks: Box::pin(chunks), length: content_length as u64 };
        self.exchange(env, request, body, cancel)
    }

    /// Runs the exchange on the Tokio runtime and settles the returned promise with its answer.
    fn exchange<'env>(
        &self,
        env: &'env Env,
        request: ProxyRequest,
        body: IncomingBody,
        cancel: Option<&CancelSignal>,
    ) -> Result<PromiseRaw<'env, ProxyResponse>> {
        let (settler, promise) = self.completions.promise(env)?;
        let proxy = self.inner.clone();
        let token = cancel.map(|c| c.token.clone()).unwrap_or_default();
        let ProxyRequest { method, url, headers, .. } = request;
        napi::bindgen_prelude::spawn(async move {
            let incoming = IncomingRequest { method: &method, url: &url, raw_headers: &headers, body };
            let answer = tokio::select! {
                result = proxy.handle(incoming) => result,
                _ = token.cancelled() => Err(ProxyError::new(ErrorKind::Cancelled, "the client went away")),
            };
            settler.resolve(match answer {
                Ok(response) => ProxyResponse::from_upstream(response, token),
                Err(error) => ProxyResponse::from_error(&error),
            });
        });
        Ok(promise)
    }
}

/// The answer to a proxied request.
#[napi]
pub struct ProxyResponse {
    status: u32,
    headers: Vec<String>,
    error: Option<ProxyErrorInfo>,
    complete_body: Option<Bytes>,
    body: Option<BodyChunks>,
}

impl ProxyResponse {
    /// The upstream's answer; a streaming body stops when `cancel` fires.
    fn from_upstream(response: ProxiedResponse, cancel: CancellationToken) -> Self {
        let (complete_body, body) = match response.body {
            ResponseBody::Complete(bytes) => (Some(bytes), None),
            ResponseBody::Streaming(chunks) => (None, Some(until_cancelled(chunks, cancel))),
        };
        Self { status: response.status.into(), headers: response.headers, error: None, complete_body, body }
    }

    fn from_error(error: &ProxyError) -> Self {
        let kind = error.kind();
        Self {
            status: kind.http_status().into(),
            headers: error
                .headers()
                .iter()
                .flat_map(|(name, value)| [name.to_string(), value.clone()])
                .collect(),
            error: Some(ProxyErrorInfo {
                name: kind.backstage_name().to_string(),
                code: kind.code().to_string(),
                message: error.message_with_causes(),
            }),
            complete_body: None,
            body: None,
        }
    }
}

#[napi]
impl ProxyResponse {
    /// The HTTP status to answer with.
    #[napi(getter)]
    pub fn status(&self) -> u32 {
        self.status
    }

    /// Response headers as flat `[name, value, ...]`; names may repeat. Hop-by-hop headers and
    /// Set-Cookie are already removed.
    #[napi(getter)]
    pub fn headers(&self) -> Vec<String> {
        self.headers.clone()
    }

    /// Set when the proxy answered by itself (then there is no body, and headers hold only what
    /// the error response needs, such as `Allow` with a 405).
    #[napi(getter)]
    pub fn error(&self) -> Option<ProxyErrorInfo> {
        self.error.clone()
    }

    /// The whole body, when the upstream declared a small one (up to 64 KiB): then there is no
    /// stream to take. Can be taken once.
    #[napi(ts_return_type = "Buffer | null")]
    pub fn take_complete_body(&mut self) -> Option<Chunk> {
        self.complete_body.take().map(Chunk)
    }

    /// The body as a `ReadableStream` that pulls from the upstream as it is read, so
    /// backpressure reaches the upstream. Can be taken once. Cancelling the stream drops the
    /// upstream request. It errors if the upstream fails mid-body.
    #[napi(ts_return_type = "ReadableStream<Uint8Array> | null")]
    pub fn take_body<'env>(&mut self, env: &'env Env) -> Result<Option<ReadableStream<'env, Chunk>>> {
        let Some(body) = self.body.take() else {
            return Ok(None);
        };
        let chunks = body.map(|chunk| {
            chunk.map(Chunk).map_err(|e| Error::new(Status::GenericFailure, e.message_with_causes()))
        });
        ReadableStream::new(env, chunks).map(Some)
    }
}

/// A body or body chunk, handed to JavaScript as a Buffer that V8 allocated and copied into. napi's
/// external buffers are invisible to V8's heuristics, so a fast stream of them piles up between
/// garbage collections; a copy counts, and costs one memcpy, as converting to a Vec did.
pub struct Chunk(Bytes);

impl ToNapiValue for Chunk {
    unsafe fn to_napi_value(env: napi::sys::napi_env, chunk: Self) -> Result<napi::sys::napi_value> {
        let mut data = std::ptr::null_mut();
        let mut buffer = std::ptr::null_mut();
        let status = unsafe {
            napi::sys::napi_create_buffer_copy(
                env,
                chunk.0.len(),
                chunk.0.as_ptr().cast(),
                &mut data,
                &mut buffer,
            )
        };
        if status != napi::sys::Status::napi_ok {
            return Err(Error::new(Status::GenericFailure, "could not create a Buffer for a body chunk"));
        }
        Ok(buffer)
    }
}

/// Abandons an in-flight `handle` call when cancelled.
#[napi]
#[derive(Default)]
pub struct CancelSignal {
    token: CancellationToken,
}

#[napi]
impl CancelSignal {
    #[napi(constructor)]
    pub fn new() -> Self {
        Self::default()
    }

    #[napi]
    pub fn cancel(&self) {
        self.token.cancel();
    }
}
