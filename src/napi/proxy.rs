//! `SigV4Proxy`, `ProxyResponse` and `CancelSignal`.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use tokio_util::sync::CancellationToken;

use super::arg::Arg;
use super::completion::Completions;
use super::error::{error_info, ProxyErrorInfo};
use super::guard::guarded;
use crate::config::Route;
use crate::error::{ErrorKind, ProxyError};
use crate::forward::{until_cancelled, BodyChunks, BoxError};
use crate::policy::CallerCredentials;
use crate::proxy::{IncomingBody, IncomingRequest, ProxiedResponse, Proxy, ResponseBody};
use crate::request_plan::{check_body_length, BodyPlan, DeclaredBody, RouteChoice};

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

impl RouteInfo {
    fn of(route: &Route) -> Self {
        RouteInfo {
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
        }
    }
}

/// What is decided about a request before its body is read.
#[napi(object)]
pub struct RequestPlan {
    /// The route serving the request, to hand back to `handle` or `handleStream` unchanged (see
    /// `routeIndex`): its index in `routeInfos`, or negative when no route serves the path.
    pub route: i32,
    /// Read the body whole, up to this many bytes; past them, `bodyRefusal` has the answer.
    pub body_limit: f64,
    /// Set when the body is to stream to `handleStream` instead: its declared length.
    pub stream_length: Option<f64>,
    /// Set when the request is refused before its body is read (411, 413 from the
    /// content-length): the answer, once the caller's credentials are checked.
    pub refusal: Option<ProxyErrorInfo>,
}

/// A route choice as JavaScript holds it: an index into `routeInfos`, or a negative number.
const NO_ROUTE: i32 = -1;
const REFUSED_PATH: i32 = -2;

fn choice_to_js(choice: RouteChoice) -> i32 {
    match choice {
        RouteChoice::Route(index) => index as i32,
        RouteChoice::NoRoute => NO_ROUTE,
        RouteChoice::Refused => REFUSED_PATH,
    }
}

fn choice_from_js(route: i32, proxy: &Proxy) -> std::result::Result<RouteChoice, ProxyError> {
    match route {
        NO_ROUTE => Ok(RouteChoice::NoRoute),
        REFUSED_PATH => Ok(RouteChoice::Refused),
        index if index >= 0 && proxy.route(index as usize).is_some() => {
            Ok(RouteChoice::Route(index as usize))
        }
        _ => Err(ProxyError::invalid_argument(format!("{route} is not a route of this proxy"))),
    }
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
        #[napi(ts_arg_type = "object | null | undefined")] config: Arg<Option<serde_json::Value>>,
    ) -> Result<Self, String> {
        guarded("new SigV4Proxy", || {
            let config = config.get()?.unwrap_or(serde_json::Value::Null);
            let proxy = Proxy::from_config(&config)?;
            let completions = Completions::new(env).map_err(|e| ProxyError::internal(e.reason))?;
            Ok(Self { inner: Arc::new(proxy), completions })
        })
    }

    /// The route a request URL (`/route/rest?query`, below the mount point) belongs to, with what
    /// the router must know before it reads the body; `null` when no route serves it.
    #[napi]
    pub fn route_for(
        &self,
        #[napi(ts_arg_type = "string")] url: Arg<String>,
    ) -> Result<Option<RouteInfo>, String> {
        guarded("SigV4Proxy.routeFor", || {
            Ok(match self.inner.choose_route(&url.get()?) {
                RouteChoice::Route(index) => self.inner.route(index).map(RouteInfo::of),
                RouteChoice::NoRoute | RouteChoice::Refused => None,
            })
        })
    }

    /// The route a request URL is served by: its index in `routeInfos`; -1 when no route matches
    /// the path, -2 when the path's spelling is refused (it selects another route once
    /// normalised). `handle` answers 404 or 400 for those.
    #[napi]
    pub fn route_index(&self, #[napi(ts_arg_type = "string")] url: Arg<String>) -> Result<i32, String> {
        guarded("SigV4Proxy.routeIndex", || Ok(choice_to_js(self.inner.choose_route(&url.get()?))))
    }

    /// The route a request is served by and how to take its body, decided once from the URL and
    /// the body's declared framing: `contentLength` is the `content-length` header, `chunked`
    /// whether a `transfer-encoding` header came. Hand `route` to `handle` or `handleStream`.
    #[napi]
    pub fn plan_request(
        &self,
        #[napi(ts_arg_type = "string")] url: Arg<String>,
        #[napi(ts_arg_type = "string | undefined | null")] content_length: Arg<Option<String>>,
        #[napi(ts_arg_type = "boolean | undefined | null")] chunked: Arg<Option<bool>>,
    ) -> Result<RequestPlan, String> {
        guarded("SigV4Proxy.planRequest", || {
            let (url, content_length) = (url.get()?, content_length.get()?);
            let declared = DeclaredBody {
                content_length: content_length.as_deref(),
                chunked: chunked.get()?.unwrap_or(false),
            };
            let choice = self.inner.choose_route(&url);
            let limit = self.inner.policy_of(choice).max_request_body_bytes as f64;
            let (stream_length, refusal) = match self.inner.plan_body(choice, declared) {
                Ok(BodyPlan::Read { .. }) => (None, None),
                Ok(BodyPlan::Stream { length }) => (Some(length as f64), None),
                Err(error) => (None, Some(error_info(&error))),
            };
            Ok(RequestPlan { route: choice_to_js(choice), body_limit: limit, stream_length, refusal })
        })
    }

    /// The answer to a body of `length` bytes for the request's `route` (from `planRequest`);
    /// `null` when the route takes it.
    #[napi]
    pub fn body_refusal(
        &self,
        #[napi(ts_arg_type = "number")] route: Arg<i32>,
        #[napi(ts_arg_type = "number")] length: Arg<f64>,
    ) -> Result<Option<ProxyErrorInfo>, String> {
        guarded("SigV4Proxy.bodyRefusal", || {
            let choice = choice_from_js(route.get()?, &self.inner)?;
            let policy = self.inner.policy_of(choice);
            Ok(check_body_length(policy, length.get()?.max(0.0) as u64).err().map(|e| error_info(&e)))
        })
    }

    /// Every route with its caller-credentials policy, e.g. to register auth policies at startup.
    #[napi(getter)]
    pub fn route_infos(&self) -> Result<Vec<RouteInfo>, String> {
        guarded("SigV4Proxy.routeInfos", || {
            Ok((0..self.inner.route_keys().len())
                .filter_map(|i| self.inner.route(i))
                .map(RouteInfo::of)
                .collect())
        })
    }

    /// The configured route keys, e.g. `['/service-a']`.
    #[napi(getter)]
    pub fn routes(&self) -> Result<Vec<String>, String> {
        guarded("SigV4Proxy.routes", || Ok(self.inner.route_keys().to_vec()))
    }

    /// Proxies one request on the route `planRequest` chose for it (never chosen again).
    /// Resolves with the upstream's status and headers while its body is still streaming; proxy
    /// failures resolve too, with `error` set and `status` the HTTP status to answer. `cancel`
    /// abandons the exchange (e.g. when the client disconnects).
    #[napi(ts_return_type = "Promise<ProxyResponse>")]
    pub fn handle<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "number")] route: Arg<i32>,
        #[napi(ts_arg_type = "ProxyRequest")] request: Arg<ProxyRequest>,
        cancel: Option<&CancelSignal>,
    ) -> Result<PromiseRaw<'env, ProxyResponse>, String> {
        guarded("SigV4Proxy.handle", || {
            let choice = choice_from_js(route.get()?, &self.inner)?;
            let request = request.get()?;
            let body = request.body.as_deref().map(Bytes::copy_from_slice).unwrap_or_default();
            self.exchange(env, choice, request, IncomingBody::Buffered(body), cancel)
        })
    }

    /// Like `handle`, for a route with `unsignedPayload`: the request body streams from `body`
    /// to the upstream without being held. `contentLength` is the body's exact length.
    #[napi(ts_return_type = "Promise<ProxyResponse>")]
    pub fn handle_stream<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "number")] route: Arg<i32>,
        #[napi(ts_arg_type = "ProxyRequest")] request: Arg<ProxyRequest>,
        #[napi(ts_arg_type = "number")] content_length: Arg<f64>,
        body: ReadableStream<Uint8Array>,
        cancel: Option<&CancelSignal>,
    ) -> Result<PromiseRaw<'env, ProxyResponse>, String> {
        guarded("SigV4Proxy.handleStream", || {
            let choice = choice_from_js(route.get()?, &self.inner)?;
            let (request, length) = (request.get()?, content_length.get()?);
            let chunks = body
                .read()
                .map_err(|e| ProxyError::internal(format!("could not read the body stream: {}", e.reason)))?
                .map(|chunk| {
                    chunk.map(|c| Bytes::copy_from_slice(&c)).map_err(|e| BoxError::from(e.reason.clone()))
                });
            let body = IncomingBody::Streamed { chunks: Box::pin(chunks), length: length as u64 };
            self.exchange(env, choice, request, body, cancel)
        })
    }

    /// Runs the exchange on the Tokio runtime and settles the returned promise with its answer.
    fn exchange<'env>(
        &self,
        env: &'env Env,
        choice: RouteChoice,
        request: ProxyRequest,
        body: IncomingBody,
        cancel: Option<&CancelSignal>,
    ) -> std::result::Result<PromiseRaw<'env, ProxyResponse>, ProxyError> {
        let (settler, promise) = self
            .completions
            .promise(env)
            .map_err(|e| ProxyError::internal(format!("could not create a promise: {}", e.reason)))?;
        let proxy = self.inner.clone();
        let token = cancel.map(|c| c.token.clone()).unwrap_or_default();
        let ProxyRequest { method, url, headers, .. } = request;
        napi::bindgen_prelude::spawn(async move {
            let incoming = IncomingRequest { method: &method, url: &url, raw_headers: &headers, body };
            let answer = tokio::select! {
                result = proxy.handle(choice, incoming) => result,
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
        let info = error_info(error);
        Self {
            status: info.status,
            headers: error
                .headers()
                .iter()
                .flat_map(|(name, value)| [name.to_string(), value.clone()])
                .collect(),
            error: Some(info),
            complete_body: None,
            body: None,
        }
    }
}

#[napi]
impl ProxyResponse {
    /// The HTTP status to answer with.
    #[napi(getter)]
    pub fn status(&self) -> Result<u32, String> {
        guarded("ProxyResponse.status", || Ok(self.status))
    }

    /// Response headers as flat `[name, value, ...]`; names may repeat. Hop-by-hop headers and
    /// Set-Cookie are already removed.
    #[napi(getter)]
    pub fn headers(&self) -> Result<Vec<String>, String> {
        guarded("ProxyResponse.headers", || Ok(self.headers.clone()))
    }

    /// Set when the proxy answered by itself (then there is no body, and headers hold only what
    /// the error response needs, such as `Allow` with a 405).
    #[napi(getter)]
    pub fn error(&self) -> Result<Option<ProxyErrorInfo>, String> {
        guarded("ProxyResponse.error", || Ok(self.error.clone()))
    }

    /// The whole body, when the upstream declared a small one (up to 64 KiB): then there is no
    /// stream to take. Can be taken once.
    #[napi(ts_return_type = "Buffer | null")]
    pub fn take_complete_body(&mut self) -> Result<Option<Chunk>, String> {
        guarded("ProxyResponse.takeCompleteBody", || Ok(self.complete_body.take().map(Chunk)))
    }

    /// The body as a `ReadableStream` that pulls from the upstream as it is read, so
    /// backpressure reaches the upstream. Can be taken once. Cancelling the stream drops the
    /// upstream request. It errors if the upstream fails mid-body.
    #[napi(ts_return_type = "ReadableStream<Uint8Array> | null")]
    pub fn take_body<'env>(&mut self, env: &'env Env) -> Result<Option<ReadableStream<'env, Chunk>>, String> {
        guarded("ProxyResponse.takeBody", || {
            let Some(body) = self.body.take() else {
                return Ok(None);
            };
            // A stream's error can carry only a napi status; the message names the failure.
            let chunks = body.map(|chunk| {
                chunk.map(Chunk).map_err(|e| Error::new(Status::GenericFailure, e.message_with_causes()))
            });
            ReadableStream::new(env, chunks)
                .map(Some)
                .map_err(|e| ProxyError::internal(format!("could not create the body stream: {}", e.reason)))
        })
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
    pub fn new() -> Result<Self, String> {
        guarded("new CancelSignal", || Ok(Self::default()))
    }

    #[napi]
    pub fn cancel(&self) -> Result<(), String> {
        guarded("CancelSignal.cancel", || {
            self.token.cancel();
            Ok(())
        })
    }
}
