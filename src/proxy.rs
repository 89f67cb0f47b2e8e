//! The pipeline for one request: route, path, headers, credentials, signature, forward.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use bytes::{Bytes, BytesMut};
use http::header::{HeaderMap, HeaderName, HeaderValue, HOST};
use hyper::body::Incoming;
use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use serde_json::Value;

use crate::config::{parse_options, parse_routes, Route};
use crate::temporary_credentials::TemporaryCredentialsPolicy;
use crate::credentials::{shared_cache, CredentialCache, CredentialSource, CredentialStatus};
use crate::error::{ErrorKind, ProxyError};
use crate::forward::{
    self, body_chunks, buffered_body, shared_client, streamed_body, BodyChunks, BoxError, HttpsClient,
    Replay, RequestBody,
};
use crate::headers::{
    forwarded_request_headers, is_signed_header, returned_response_headers, signed_text, ResponseRules,
};
use crate::metrics;
use crate::path::{check_request_path, split_url, upstream_path_and_query};
use crate::policy::RoutePolicy;
use crate::progress::Progress;
use crate::request_plan::{check_body_length, plan_body, BodyPlan, DeclaredBody, RouteChoice};
use crate::route_match::{refused_spelling, RouteSelector};
use crate::signing::{signature_headers_for, Payload, RequestToSign};

/// A request as the Backstage plugin received it.
pub struct IncomingRequest<'a> {
    pub method: &'a str,
    /// The URL below the plugin's mount point, raw: `/route/rest?query`.
    pub url: &'a str,
    /// Raw header pairs, `[name, value, name, value, ...]`.
    pub raw_headers: &'a [String],
    pub body: IncomingBody,
}

/// A request body: read whole by the caller, or streaming (only for `unsignedPayload` routes).
pub enum IncomingBody {
    Buffered(Bytes),
    Streamed { chunks: Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>> + Send>>, length: u64 },
}

impl IncomingBody {
    fn length(&self) -> u64 {
        match self {
            IncomingBody::Buffered(bytes) => bytes.len() as u64,
            IncomingBody::Streamed { length, .. } => *length,
        }
    }

    /// The whole body, when it has been read before sending.
    fn whole(&self) -> Option<&Bytes> {
        match self {
            IncomingBody::Buffered(bytes) => Some(bytes),
            IncomingBody::Streamed { .. } => None,
        }
    }
}

/// The upstream's answer: status and filtered headers now, the body as it streams.
pub struct ProxiedResponse {
    pub status: u16,
    /// Flat `[name, value, ...]`, hop-by-hop headers and Set-Cookie removed.
    pub headers: Vec<String>,
    pub body: ResponseBody,
}

/// A response body: read whole when the upstream declared it small, else streamed.
pub enum ResponseBody {
    /// The whole body: handing it over in one piece spares the caller a stream per response.
    Complete(Bytes),
    Streaming(BodyChunks),
}

/// Bodies declared at most this large are read whole before the response is handed over.
pub const COMPLETE_BODY_LIMIT: u64 = 64 * 1024;

/// A route table with the credentials each route signs with.
pub struct Proxy {
    routes: Vec<Route>,
    selector: RouteSelector,
    credentials: Vec<Arc<CredentialCache>>,
    clients: Vec<Arc<HttpsClient>>,
    /// The route keys, shared with the metrics samples that name them.
    route_names: Vec<Arc<str>>,
    /// Per route, the last failure that was not the caller's (5xx), for health.
    last_failures: Vec<Mutex<Option<RouteFailure>>>,
    /// Who may have temporary credentials for which roles; None when the feature is off.
    temporary_credentials: Option<TemporaryCredentialsPolicy>,
}

/// A proxy failure of a route: its stable code and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteFailure {
    pub code: &'static str,
    pub at: SystemTime,
}

/// One route's state, for a health view: never credentials, only how they are doing.
pub struct RouteStatus<'a> {
    pub key: &'a str,
    pub credentials: CredentialStatus,
    /// Whether the route's credentials come from STS AssumeRole.
    pub assume_role: bool,
    pub last_failure: Option<RouteFailure>,
}

impl Proxy {
    /// Builds the proxy from the `proxysigv4` config object. Credentials are not fetched here:
    /// a backend starts even before any are available.
    pub fn from_config(config: &Value) -> Result<Self, ProxyError> {
        let routes = parse_routes(config)?;
        let options = parse_options(config)?;
        let credentials: Vec<_> =
            routes.iter().map(|r| shared_cache(&r.credentials, &r.scope.region)).collect();
        for cache in &credentials {
            cache.set_reread_interval(options.credential_reread_interval);
        }
        let clients = routes
            .iter()
            .map(|r| shared_client(r.policy.connect_timeout, &r.policy.ca_certificates))
            .collect::<Result<_, _>>()?;
        let selector = RouteSelector::new(routes.iter().map(|r| r.key.clone()).collect());
        let route_names = routes.iter().map(|r| Arc::from(r.key.as_str())).collect();
        let last_failures = routes.iter().map(|_| Mutex::new(None)).collect();
        let temporary_credentials = crate::temporary_credentials::parse(config)?;
        Ok(Self { routes, selector, credentials, clients, route_names, last_failures, temporary_credentials })
    }

    /// The temporary credentials policy, when config turns the feature on.
    pub fn temporary_credentials(&self) -> Option<&TemporaryCredentialsPolicy> {
        self.temporary_credentials.as_ref()
    }

    pub fn route_keys(&self) -> &[String] {
        self.selector.keys()
    }

    /// The route at `index` in `route_keys`.
    pub fn route(&self, index: usize) -> Option<&Route> {
        self.routes.get(index)
    }

    /// The route a raw URL (`/route/rest?query`) is served by. Chosen once per request: the
    /// caller applies that route's policy and hands the choice back to `handle`.
    pub fn choose_route(&self, url: &str) -> RouteChoice {
        let (path, _) = split_url(url);
        match self.selector.select(path) {
            Ok(Some((index, _))) => RouteChoice::Route(index),
            Ok(None) => RouteChoice::NoRoute,
            Err(_) => RouteChoice::Refused,
        }
    }

    /// Each route's credential state and last failure.
    pub fn route_statuses(&self) -> Vec<RouteStatus<'_>> {
        (0..self.routes.len())
            .map(|i| RouteStatus {
                key: &self.routes[i].key,
                credentials: self.credentials[i].status(),
                assume_role: matches!(self.routes[i].credentials, CredentialSource::AssumeRole(_)),
                last_failure: self.last_failures[i].lock().unwrap().clone(),
            })
            .collect()
    }

    /// The credentials route `key` signs with, from its cache, within its credential wait: for
    /// other requests made with a route's identity (the signer service). Never handed to
    /// JavaScript.
    pub async fn route_credentials(&self, key: &str) -> Result<Credentials, ProxyError> {
        let index = self.routes.iter().position(|route| route.key == key).ok_or_else(|| {
            ProxyError::invalid_argument(format!("'{}' is not a proxysigv4 route", key.escape_debug()))
        })?;
        self.credentials[index].credentials(self.routes[index].policy.credential_wait()).await
    }

    /// Remembers a failure of route `index` that was not the caller's.
    fn note_failure(&self, index: usize, error: &ProxyError) {
        if error.kind().http_status() >= 500 {
            let failure = RouteFailure { code: error.kind().code(), at: SystemTime::now() };
            *self.last_failures[index].lock().unwrap() = Some(failure);
        }
    }

    /// The policy a choice is served under; a path no route serves gets the defaults (its
    /// answer is 404 or 400 anyway, once the body is read under the default limit).
    pub fn policy_of(&self, choice: RouteChoice) -> &RoutePolicy {
        static DEFAULT_POLICY: once_cell::sync::Lazy<RoutePolicy> =
            once_cell::sync::Lazy::new(RoutePolicy::default);
        match choice {
            RouteChoice::Route(index) => &self.routes[index].policy,
            RouteChoice::NoRoute | RouteChoice::Refused => &DEFAULT_POLICY,
        }
    }

    /// How the body of a request served by `choice` is taken, or why it is refused unread.
    pub fn plan_body(&self, choice: RouteChoice, declared: DeclaredBody<'_>) -> Result<BodyPlan, ProxyError> {
        plan_body(self.policy_of(choice), declared)
    }

    /// Steps 4-9 of the pipeline, on the route chosen for the request (never chosen again, so
    /// the request runs under the policy it was admitted by): where the request goes, what goes
    /// with it, the signature, the exchange, and the response head with its body.
    pub async fn handle(
        &self,
        choice: RouteChoice,
        request: IncomingRequest<'_>,
    ) -> Result<ProxiedResponse, ProxyError> {
        let method = http::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| ProxyError::new(ErrorKind::BadMethod, "request method is not valid"))?;
        let (path, query) = split_url(request.url);
        let (index, rest) = self.rest_of_path(choice, path)?;
        check_request_path(rest)?;
        let result = self.forward(index, method, rest, query, request).await;
        if let Err(error) = &result {
            self.note_failure(index, error);
        }
        result
    }

    /// The request, checked against route `index`'s policy, signed and sent on.
    async fn forward(
        &self,
        index: usize,
        method: http::Method,
        rest: &str,
        query: Option<&str>,
        request: IncomingRequest<'_>,
    ) -> Result<ProxiedResponse, ProxyError> {
        let route = &self.routes[index];
        check_policy(&route.policy, &method, &request.body)?;

        let url = format!(
            "{}://{}{}",
            route.target.scheme,
            route.target.authority,
            upstream_path_and_query(&route.target.base_path, rest, query)
        );
        let uri: http::Uri =
            url.parse().map_err(|_| ProxyError::bad_path("request path is not a valid URI"))?;
        let mut headers = upstream_headers(route, request.raw_headers)?;
        let credentials = self.credentials[index].credentials(route.policy.credential_wait()).await?;
        let payload = match &request.body {
            IncomingBody::Buffered(bytes) if !route.policy.unsigned_payload => Payload::Bytes(bytes),
            _ => Payload::Unsigned,
        };
        sign_headers(&mut headers, route, &method, &url, payload, &credentials)?;

        let progress = Progress::new();
        let replay = Replay::of(&method, &uri, &headers, request.body.whole());
        let upstream_request = upstream_request(method, uri, headers, request.body, &progress);
        let sent = tokio::time::Instant::now();
        let client = &self.clients[index];
        let response = forward::send(client, upstream_request, replay, route.policy.timeout, &progress).await?;
        metrics::record_first_byte(&self.route_names[index], sent.elapsed());
        let remaining = progress.time_left(route.policy.timeout);
        let rules = ResponseRules {
            pass_origin_policy: route.policy.pass_origin_policy,
            target_origin: &route.target.origin,
        };
        proxied_response(response, &rules, remaining).await
    }

    /// The chosen route and the path below its key, or the answer for a path no route serves.
    fn rest_of_path<'p>(&self, choice: RouteChoice, path: &'p str) -> Result<(usize, &'p str), ProxyError> {
        match choice {
            RouteChoice::Route(index) => {
                let rest = self.routes.get(index).and_then(|route| path.strip_prefix(route.key.as_str()));
                match rest {
                    Some(rest) if rest.is_empty() || rest.starts_with('/') => Ok((index, rest)),
                    _ => Err(ProxyError::internal("the route handed over does not serve this URL")),
                }
            }
            RouteChoice::NoRoute => {
                Err(ProxyError::new(ErrorKind::RouteNotFound, "no proxysigv4 route matches this path"))
            }
            RouteChoice::Refused => Err(refused_spelling()),
        }
    }
}

/// The route's method list, body limit, and that only unsignedPayload routes take a streamed body.
fn check_policy(policy: &RoutePolicy, method: &http::Method, body: &IncomingBody) -> Result<(), ProxyError> {
    let allowed = policy.methods();
    if !allowed.contains(method) {
        let allow = allowed.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ");
        return Err(ProxyError::new(ErrorKind::MethodNotAllowed, format!("this route allows only {allow}"))
            .with_header("allow", allow));
    }
    // A backstop: the caller read or declared the body under the same limit.
    check_body_length(policy, body.length())?;
    if matches!(body, IncomingBody::Streamed { .. }) && !policy.unsigned_payload {
        return Err(ProxyError::new(
            ErrorKind::Internal,
            "a streamed body needs a route with unsignedPayload: the signature covers the whole body",
        ));
    }
    Ok(())
}

/// The client's forwardable headers, the route's static headers, and the Host signed for.
fn upstream_headers(route: &Route, raw_headers: &[String]) -> Result<HeaderMap, ProxyError> {
    let mut headers = forwarded_request_headers(raw_headers, &route.policy.allowed_headers)?;
    for (name, value) in &route.policy.static_headers {
        headers.insert(name.clone(), value.clone());
    }
    let host = HeaderValue::from_str(&route.signing_host)
        .map_err(|_| ProxyError::new(ErrorKind::Internal, "target host is not a valid header value"))?;
    headers.insert(HOST, host);
    Ok(headers)
}

/// Signs what intermediaries must not change, plus the route's static headers, and adds the
/// signature headers.
fn sign_headers(
    headers: &mut HeaderMap,
    route: &Route,
    method: &http::Method,
    url: &str,
    payload: Payload<'_>,
    credentials: &Credentials,
) -> Result<(), ProxyError> {
    let is_static = |name: &HeaderName| route.policy.static_headers.iter().any(|(n, _)| n == name);
    let signed: Vec<(&str, Cow<'_, str>)> = headers
        .iter()
        .filter(|(name, _)| is_signed_header(name.as_str()) || is_static(name))
        .map(|(name, value)| (name.as_str(), signed_text(value.as_bytes())))
        .collect();
    let to_sign = RequestToSign {
        method: method.as_str(),
        url,
        headers: signed.iter().map(|(name, text)| (*name, text.as_ref())).collect(),
        payload,
    };
    let region_set = route.sigv4a_region_set.as_deref();
    let signature = signature_headers_for(&to_sign, &route.scope, region_set, credentials, SystemTime::now())?;
    for (name, value) in signature {
        let value = HeaderValue::from_str(&value).map_err(|_| {
            ProxyError::new(ErrorKind::Internal, "signature header is not a valid header value")
        })?;
        headers.insert(name, value);
    }
    Ok(())
}

fn upstream_request(
    method: http::Method,
    uri: http::Uri,
    mut headers: HeaderMap,
    body: IncomingBody,
    progress: &Progress,
) -> http::Request<RequestBody> {
    let body = match body {
        IncomingBody::Buffered(bytes) => buffered_body(bytes),
        IncomingBody::Streamed { chunks, length } => {
            // hyper sends exactly this many bytes, and fails the request if the stream differs.
            headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(length));
            streamed_body(progress.tracking(chunks))
        }
    };
    let mut request = http::Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    request
}

/// The response head, and its body: read whole when declared small (within what is left of the
/// route's timeout), else streamed.
async fn proxied_response(
    response: http::Response<Incoming>,
    rules: &ResponseRules<'_>,
    remaining: Duration,
) -> Result<ProxiedResponse, ProxyError> {
    check_framing(&response)?;
    let (parts, body) = response.into_parts();
    let chunks = body_chunks(body);
    let body = match declared_length(&parts.headers) {
        Some(length) if length <= COMPLETE_BODY_LIMIT => {
            ResponseBody::Complete(read_whole(chunks, length, remaining).await?)
        }
        _ => ResponseBody::Streaming(chunks),
    };
    Ok(ProxiedResponse {
        status: parts.status.as_u16(),
        headers: returned_response_headers(&parts.headers, rules),
        body,
    })
}

/// Refuses a response whose framing the client could read differently from us. hyper hands
/// over `101 Switching Protocols` as a final response (other 1xx it skips); forwarded on a
/// keep-alive connection it would leave the client expecting another protocol. With both
/// `Transfer-Encoding` and `Content-Length` (a classic smuggling shape, RFC 9112 6.1), hyper
/// decodes the chunks while the length would travel on to the client with a re-framed body.
fn check_framing(response: &http::Response<Incoming>) -> Result<(), ProxyError> {
    let bad = |what: &str| {
        Err(ProxyError::new(
            ErrorKind::UpstreamBadResponse,
            format!("upstream answered {what}, which is not passed on"),
        ))
    };
    if response.status().is_informational() {
        return bad(&format!("with status {}", response.status().as_u16()));
    }
    let headers = response.headers();
    if headers.contains_key(http::header::TRANSFER_ENCODING)
        && headers.contains_key(http::header::CONTENT_LENGTH)
    {
        return bad("with both Transfer-Encoding and Content-Length");
    }
    Ok(())
}

fn declared_length(headers: &http::HeaderMap) -> Option<u64> {
    headers.get(http::header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// Reads a body of `length` bytes within `timeout`.
async fn read_whole(mut chunks: BodyChunks, length: u64, timeout: Duration) -> Result<Bytes, ProxyError> {
    let read = async {
        let mut whole = BytesMut::with_capacity(length as usize);
        while let Some(chunk) = chunks.next().await {
            whole.extend_from_slice(&chunk?);
        }
        Ok::<_, ProxyError>(whole.freeze())
    };
    tokio::time::timeout(timeout, read).await.unwrap_or_else(|_| {
        Err(ProxyError::new(ErrorKind::UpstreamTimeout, "upstream did not send its response body in time"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::DEFAULT_MAX_REQUEST_BODY_BYTES;
    use serde_json::json;

    fn proxy() -> Proxy {
        Proxy::from_config(&json!({
            "/api": "https://abc.execute-api.us-west-2.amazonaws.com/prod",
            "/api/admin": "https://def.execute-api.us-west-2.amazonaws.com/prod",
        }))
        .unwrap()
    }

    fn get(url: &str) -> IncomingRequest<'_> {
        IncomingRequest { method: "GET", url, raw_headers: &[], body: IncomingBody::Buffered(Bytes::new()) }
    }

    #[test]
    fn the_route_is_chosen_from_the_path_as_upstreams_read_it() {
        let proxy = proxy();
        assert_eq!(proxy.choose_route("/api/admin/x?q=1"), RouteChoice::Route(1));
        assert_eq!(proxy.choose_route("/api/x"), RouteChoice::Route(0));
        assert_eq!(proxy.choose_route("/other"), RouteChoice::NoRoute);
        assert_eq!(proxy.choose_route("/api/%61dmin/x"), RouteChoice::Refused);
        assert_eq!(
            proxy.policy_of(RouteChoice::NoRoute).max_request_body_bytes,
            DEFAULT_MAX_REQUEST_BODY_BYTES
        );
    }

    /// `handle` serves the route it is given: it never chooses again, so a request cannot be
    /// admitted under one route's policy and forwarded under another's.
    #[test]
    fn handle_keeps_the_route_it_is_given() {
        let proxy = proxy();
        assert_eq!(proxy.rest_of_path(RouteChoice::Route(0), "/api/admin/x").unwrap(), (0, "/admin/x"));
        assert_eq!(proxy.rest_of_path(RouteChoice::Route(1), "/api/admin/x").unwrap(), (1, "/x"));
        let wrong = proxy.rest_of_path(RouteChoice::Route(1), "/api/x").unwrap_err();
        assert_eq!(wrong.kind(), ErrorKind::Internal);
        assert_eq!(
            proxy.rest_of_path(RouteChoice::Route(9), "/api/x").unwrap_err().kind(),
            ErrorKind::Internal
        );
    }

    #[tokio::test]
    async fn handle_answers_for_the_choice_it_is_given() {
        let proxy = proxy();
        let not_found = proxy.handle(RouteChoice::NoRoute, get("/api/x")).await.err().unwrap();
        assert_eq!(not_found.kind(), ErrorKind::RouteNotFound);
        let refused = proxy.handle(RouteChoice::Refused, get("/api/x")).await.err().unwrap();
        assert_eq!(refused.kind(), ErrorKind::BadPath);
    }
}
