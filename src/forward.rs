//! The one pooled HTTP client that carries every proxied request (HTTPS with rustls + ring,
//! plain HTTP for local targets), and the classification of what can go wrong on the way.

use bytes::Bytes;
use std::pin::Pin;
use std::time::Duration;

use futures_util::{stream, Stream, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use once_cell::sync::Lazy;

use crate::error::{ErrorKind, ProxyError};

/// Time allowed for the TCP connect (and TLS handshake).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle pooled connections are closed after this, well before typical upstream idle timeouts
/// (API Gateway and ALB keep idle connections for 60 s or more).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Upper bound on idle connections kept per upstream host.
const MAX_IDLE_PER_HOST: usize = 128;

type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The process-wide client: connections are reused across requests, routes and proxies.
static CLIENT: Lazy<HttpsClient> = Lazy::new(|| {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    http.set_nodelay(true);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .expect("the ring provider supports the default TLS versions")
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .pool_max_idle_per_host(MAX_IDLE_PER_HOST)
        .build(https)
});

/// Sends a request and waits at most `timeout` for the response headers.
pub async fn send(
    request: http::Request<Full<Bytes>>,
    timeout: Duration,
) -> Result<http::Response<Incoming>, ProxyError> {
    let host = request.uri().host().unwrap_or_default().to_string();
    match tokio::time::timeout(timeout, CLIENT.request(request)).await {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(error)) => Err(unreachable_error(&host, error)),
        Err(_) => Err(ProxyError::new(
            ErrorKind::UpstreamTimeout,
            format!(
                "upstream {host} sent no response within {} s",
                timeout.as_secs()
            ),
        )),
    }
}

fn unreachable_error(host: &str, error: hyper_util::client::legacy::Error) -> ProxyError {
    let what = if error.is_connect() {
        format!("could not connect to upstream {host}")
    } else {
        format!("upstream {host} failed before responding")
    };
    ProxyError::new(ErrorKind::UpstreamUnreachable, what).with_source(error)
}

/// A response body as a stream of data chunks.
pub type BodyChunks = Pin<Box<dyn Stream<Item = Result<Bytes, ProxyError>> + Send>>;

/// The response body as chunks, as they arrive. An upstream that fails mid-body ends the
/// stream with an error, never with a silent, clean end.
pub fn body_chunks(body: Incoming) -> BodyChunks {
    stream::unfold(Some(body), |state| async move {
        let mut body = state?;
        loop {
            match body.frame().await? {
                Ok(frame) => match frame.into_data() {
                    Ok(data) if !data.is_empty() => return Some((Ok(data), Some(body))),
                    _ => continue, // empty data frames and trailers carry nothing to pass on
                },
                Err(error) => {
                    let error = ProxyError::new(
                        ErrorKind::UpstreamUnreachable,
                        "upstream response body failed",
                    )
                    .with_source(error);
                    return Some((Err(error), None));
                }
            }
        }
    })
    .boxed()
}
