//! The pipeline for one request: route, path, headers, credentials, signature, forward.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{HeaderValue, HOST};
use http_body_util::Full;
use serde_json::Value;

use crate::config::{parse_routes, Route};
use crate::credentials::{shared_cache, CredentialCache};
use crate::error::{ErrorKind, ProxyError};
use crate::forward::{self, body_chunks, BodyChunks};
use crate::headers::{forwarded_request_headers, is_signed_header, returned_response_headers};
use crate::path::{check_request_path, match_route, split_url, upstream_path_and_query};
use crate::signing::{signature_headers, RequestToSign};

/// How long an upstream may take to send its response headers. API Gateway gives up at 29 s.
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

/// A request as the Backstage plugin received it.
pub struct IncomingRequest<'a> {
    pub method: &'a str,
    /// The URL below the plugin's mount point, raw: `/route/rest?query`.
    pub url: &'a str,
    /// Raw header pairs, `[name, value, name, value, ...]`.
    pub raw_headers: &'a [String],
    pub body: Bytes,
}

/// The upstream's answer: status and filtered headers now, the body as it streams.
pub struct ProxiedResponse {
    pub status: u16,
    /// Flat `[name, value, ...]`, hop-by-hop headers and Set-Cookie removed.
    pub headers: Vec<String>,
    pub body: BodyChunks,
}

/// A route table with the credentials each route signs with.
pub struct Proxy {
    routes: Vec<Route>,
    route_keys: Vec<String>,
    credentials: Vec<Arc<CredentialCache>>,
    upstream_timeout: Duration,
}

impl Proxy {
    /// Builds the proxy from the `proxysigv4` config object. Credentials are not fetched here:
    /// a backend starts even before any are available.
    pub fn from_config(config: &Value) -> Result<Self, ProxyError> {
        let routes = parse_routes(config)?;
        let credentials = routes
            .iter()
            .map(|r| shared_cache(&r.credentials, &r.scope.region))
            .collect();
        let route_keys = routes.iter().map(|r| r.key.clone()).collect();
        Ok(Self {
            routes,
            route_keys,
            credentials,
            upstream_timeout: DEFAULT_UPSTREAM_TIMEOUT,
        })
    }

    pub fn route_keys(&self) -> &[String] {
        &self.route_keys
    }

    pub async fn handle(
        &self,
        request: IncomingRequest<'_>,
    ) -> Result<ProxiedResponse, ProxyError> {
        let method = http::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| ProxyError::new(ErrorKind::BadMethod, "request method is not valid"))?;
        let (path, query) = split_url(request.url);
        let (index, rest) = match_route(&self.route_keys, path).ok_or_else(|| {
            ProxyError::new(
                ErrorKind::RouteNotFound,
                "no proxysigv4 route matches this path",
            )
        })?;
        check_request_path(rest)?;
        let route = &self.routes[index];

        let url = format!(
            "{}://{}{}",
            route.target.scheme,
            route.target.authority,
            upstream_path_and_query(&route.target.base_path, rest, query)
        );
        let uri: http::Uri = url
            .parse()
            .map_err(|_| ProxyError::bad_path("request path is not a valid URI"))?;
        let mut headers = forwarded_request_headers(request.raw_headers)?;
        let host = HeaderValue::from_str(route.target.authority.as_str()).map_err(|_| {
            ProxyError::new(
                ErrorKind::Internal,
                "target host is not a valid header value",
            )
        })?;
        headers.insert(HOST, host);

        let credentials = self.credentials[index].credentials().await?;
        let to_sign = RequestToSign {
            method: method.as_str(),
            url: &url,
            headers: headers
                .iter()
                .filter(|(name, _)| is_signed_header(name.as_str()))
                .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
                .collect(),
            body: &request.body,
        };
        let signature = signature_headers(&to_sign, &route.scope, &credentials, SystemTime::now())?;
        for (name, value) in signature {
            let value = HeaderValue::from_str(&value).map_err(|_| {
                ProxyError::new(
                    ErrorKind::Internal,
                    "signature header is not a valid header value",
                )
            })?;
            headers.insert(name, value);
        }

        let mut upstream_request = http::Request::new(Full::new(request.body));
        *upstream_request.method_mut() = method;
        *upstream_request.uri_mut() = uri;
        *upstream_request.headers_mut() = headers;
        let response = forward::send(upstream_request, self.upstream_timeout).await?;
        let (parts, body) = response.into_parts();
        Ok(ProxiedResponse {
            status: parts.status.as_u16(),
            headers: returned_response_headers(&parts.headers),
            body: body_chunks(body),
        })
    }
}
