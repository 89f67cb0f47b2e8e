//! The pooled HTTP clients that carry every proxied request (HTTPS with rustls + ring, trusting
//! what `tls` gathers; plain HTTP for local targets), and the classification of what can go
//! wrong on the way.

use std::error::Error as StdError;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{stream, FutureExt, Stream, StreamExt};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use once_cell::sync::Lazy;
use tokio_util::sync::CancellationToken;

use crate::error::{ErrorKind, ProxyError};
use crate::metrics::Measured;
use crate::progress::Progress;
use crate::registry::Registry;
use crate::tls::{self, CaCertificates, TRUST_HINT};

/// Idle pooled connections are closed after this, well before typical upstream idle timeouts
/// (API Gateway and ALB keep idle connections for 60 s or more).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Upper bound on idle connections kept per upstream host.
const MAX_IDLE_PER_HOST: usize = 128;

/// A request body: buffered bytes, or chunks streamed from the client.
pub type RequestBody = UnsyncBoxBody<Bytes, BoxError>;
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// A pooled client. Cloning shares the pool.
pub type HttpsClient = Client<Measured<HttpsConnector<HttpConnector>>, RequestBody>;

pub fn buffered_body(bytes: Bytes) -> RequestBody {
    Full::new(bytes).map_err(|never| match never {}).boxed_unsync()
}

/// A body that streams `chunks` as they come; the caller sets `content-length`.
pub fn streamed_body(chunks: impl Stream<Item = Result<Bytes, BoxError>> + Send + 'static) -> RequestBody {
    StreamBody::new(chunks.map(|chunk| chunk.map(Frame::data))).boxed_unsync()
}

/// The process-wide client for a connect timeout and a route's own CAs. The timeout belongs to
/// the connector and the trust to its TLS config, so routes that differ in either get different
/// pools; routes that agree share one. Fails when a CA bundle named in the environment cannot be
/// used (see [`tls::environment_cas`]).
pub fn shared_client(
    connect_timeout: Duration,
    route_cas: &CaCertificates,
) -> Result<Arc<HttpsClient>, ProxyError> {
    CLIENTS.get_or_try_insert((connect_timeout, route_cas.clone()), || new_client(connect_timeout, route_cas))
}

/// Pools live while a route table holds them (see `registry`).
static CLIENTS: Lazy<Registry<(Duration, CaCertificates), HttpsClient>> = Lazy::new(Registry::new);

/// How many pooled clients are alive.
pub fn live_clients() -> usize {
    CLIENTS.live()
}

fn new_client(connect_timeout: Duration, route_cas: &CaCertificates) -> Result<HttpsClient, ProxyError> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default TLS versions")
        .with_root_certificates(tls::root_store(route_cas)?)
        .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .pool_max_idle_per_host(MAX_IDLE_PER_HOST)
        .build(Measured::new(https)))
}

/// A copy of a request that may be sent a second time: an idempotent method with its whole body
/// in hand (RFC 9110 9.2.2). A pooled connection can be closed by the upstream just as it is
/// reused, before a byte of the answer; such a request is safe to send again on a fresh one.
pub struct Replay {
    method: http::Method,
    uri: http::Uri,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Replay {
    /// The copy, when the request qualifies.
    pub fn of(
        method: &http::Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        whole_body: Option<&Bytes>,
    ) -> Option<Self> {
        let body = whole_body.filter(|_| method.is_idempotent())?.clone();
        Some(Self { method: method.clone(), uri: uri.clone(), headers: headers.clone(), body })
    }

    fn request(self) -> http::Request<RequestBody> {
        let mut request = http::Request::new(buffered_body(self.body));
        *request.method_mut() = self.method;
        *request.uri_mut() = self.uri;
        *request.headers_mut() = self.headers;
        request
    }
}

/// Sends a request and waits for the response headers until `timeout` has passed without
/// progress: from the last chunk of a streamed body (`progress`), else from the start. When the
/// connection closes before any answer and a `replay` is at hand, it is sent once more, within
/// the same time.
pub async fn send(
    client: &HttpsClient,
    request: http::Request<RequestBody>,
    replay: Option<Replay>,
    timeout: Duration,
    progress: &Progress,
) -> Result<http::Response<Incoming>, ProxyError> {
    let host = request.uri().host().unwrap_or_default().to_string();
    let exchange = async {
        match (client.request(request).await, replay) {
            (Err(error), Some(replay)) if cause_of(&error) == Cause::ConnectionClosed => {
                client.request(replay.request()).await
            }
            (result, _) => result,
        }
    };
    match progress.within(timeout, exchange).await {
        Some(Ok(response)) => Ok(response),
        Some(Err(error)) => Err(upstream_failure(&host, error)),
        None => Err(ProxyError::new(
            ErrorKind::UpstreamTimeout,
            format!("upstream {host} sent no response within {}", seconds(timeout)),
        )),
    }
}

fn seconds(duration: Duration) -> String {
    format!("{} s", duration.as_secs_f64())
}

/// Why an exchange failed before a response, as far as the error chain tells.
#[derive(Debug, PartialEq, Eq)]
enum Cause {
    ConnectionRefused,
    ConnectTimeout,
    Dns,
    Tls(TlsProblem),
    ConnectionClosed,
    Other,
}

fn upstream_failure(host: &str, error: hyper_util::client::legacy::Error) -> ProxyError {
    let (kind, what) = match cause_of(&error) {
        Cause::ConnectionRefused => {
            (ErrorKind::UpstreamUnreachable, format!("upstream {host} refused the connection"))
        }
        Cause::ConnectTimeout => {
            (ErrorKind::UpstreamTimeout, format!("connecting to upstream {host} timed out"))
        }
        Cause::Dns => (ErrorKind::UpstreamUnreachable, format!("DNS lookup of upstream {host} failed")),
        Cause::Tls(problem) => (ErrorKind::UpstreamUnreachable, tls_failure(host, problem)),
        Cause::ConnectionClosed => (
            ErrorKind::UpstreamUnreachable,
            format!("upstream {host} closed the connection before responding"),
        ),
        Cause::Other => (ErrorKind::UpstreamUnreachable, format!("upstream {host} failed before responding")),
    };
    ProxyError::new(kind, what).with_source(error)
}

/// Why a TLS handshake failed, as far as it tells the operator what to change.
#[derive(Debug, PartialEq, Eq)]
enum TlsProblem {
    /// The chain leads to no trusted CA: a private CA, or a proxy that re-signs traffic.
    UnknownIssuer,
    /// The certificate is for other names than the target's host.
    NotValidForName,
    Expired,
    NotValidYet,
    /// The certificate was refused for another reason (revoked, bad signature, wrong usage...).
    OtherCertificate,
    /// Not about the certificate: no common protocol, not TLS at all, an alert.
    Handshake,
}

impl TlsProblem {
    fn of(error: &rustls::Error) -> Self {
        use rustls::CertificateError as C;
        match error {
            rustls::Error::InvalidCertificate(certificate) => match certificate {
                C::UnknownIssuer => TlsProblem::UnknownIssuer,
                C::NotValidForName | C::NotValidForNameContext { .. } => TlsProblem::NotValidForName,
                C::Expired | C::ExpiredContext { .. } => TlsProblem::Expired,
                C::NotValidYet | C::NotValidYetContext { .. } => TlsProblem::NotValidYet,
                _ => TlsProblem::OtherCertificate,
            },
            _ => TlsProblem::Handshake,
        }
    }
}

/// The message for a failed handshake. rustls's names (UnknownIssuer...) are kept in it: they are
/// what people search for. The certificate's own contents are not repeated.
fn tls_failure(host: &str, problem: TlsProblem) -> String {
    let refused = |why: &str| format!("upstream {host} presented a certificate that {why}");
    match problem {
        TlsProblem::UnknownIssuer => format!("{} (UnknownIssuer): {TRUST_HINT}", refused("is not trusted")),
        TlsProblem::NotValidForName => refused(&format!("is not valid for {host} (NotValidForName)")),
        TlsProblem::Expired => refused("has expired (Expired)"),
        TlsProblem::NotValidYet => refused("is not valid yet (NotValidYet)"),
        TlsProblem::OtherCertificate => refused("was refused"),
        TlsProblem::Handshake => format!("TLS handshake with upstream {host} failed"),
    }
}

fn cause_of(error: &(dyn StdError + 'static)) -> Cause {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Cause::Tls(TlsProblem::of(tls));
        }
        if let Some(io) = current.downcast_ref::<io::Error>() {
            match io.kind() {
                io::ErrorKind::ConnectionRefused => return Cause::ConnectionRefused,
                io::ErrorKind::TimedOut => return Cause::ConnectTimeout,
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe | io::ErrorKind::UnexpectedEof => {
                    return Cause::ConnectionClosed
                }
                _ => {}
            }
        }
        if let Some(hyper_error) = current.downcast_ref::<hyper::Error>() {
            if hyper_error.is_incomplete_message() || hyper_error.is_closed() {
                return Cause::ConnectionClosed;
            }
        }
        // hyper-util's connect error type is private; its message is stable.
        if current.to_string() == "dns error" {
            return Cause::Dns;
        }
        next = inner_error(current);
    }
    Cause::Other
}

/// The next error in the chain. An `io::Error` that wraps another error reports that error's
/// source, not the error itself, so the wrapped one (e.g. rustls's, inside hyper-rustls's
/// io::Error inside tokio-rustls's) would be skipped.
fn inner_error<'e>(error: &'e (dyn StdError + 'static)) -> Option<&'e (dyn StdError + 'static)> {
    match error.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
        Some(wrapped) => Some(wrapped),
        None => error.source(),
    }
}

/// A response body as a stream of data chunks.
pub type BodyChunks = Pin<Box<dyn Stream<Item = Result<Bytes, ProxyError>> + Send>>;

/// Chunks already received are handed on together up to this size: each chunk costs a crossing
/// into JavaScript and a Buffer, so fewer, larger ones stream faster and churn less memory. 1 MiB
/// measured faster than 256 KiB on a 1 GiB stream, for at most that much more held per response.
const COALESCE_LIMIT: usize = 1024 * 1024;

/// The response body as chunks, as they arrive. An upstream that fails mid-body ends the
/// stream with an error, never with a silent, clean end.
pub fn body_chunks(body: Incoming) -> BodyChunks {
    coalesced(data_frames(body))
}

fn data_frames(body: Incoming) -> BodyChunks {
    stream::unfold(Some(body), |state| async move {
        let mut body = state?;
        loop {
            match body.frame().await? {
                Ok(frame) => match frame.into_data() {
                    Ok(data) if !data.is_empty() => return Some((Ok(data), Some(body))),
                    _ => continue, // empty data frames and trailers carry nothing to pass on
                },
                Err(error) => {
                    let error =
                        ProxyError::new(ErrorKind::UpstreamUnreachable, "upstream response body failed")
                            .with_source(error);
                    return Some((Err(error), None));
                }
            }
        }
    })
    .boxed()
}

/// Waits for one chunk, then adds whatever else has already arrived, up to COALESCE_LIMIT. A
/// chunk that comes later is not waited for, so a slow stream still passes chunk by chunk.
fn coalesced(chunks: BodyChunks) -> BodyChunks {
    stream::unfold(Some(chunks), |state| async move {
        let mut chunks = state?;
        let mut batch = match chunks.next().await? {
            Ok(first) => vec![first],
            Err(error) => return Some((Err(error), None)),
        };
        let mut size = batch[0].len();
        while size < COALESCE_LIMIT {
            match chunks.next().now_or_never() {
                Some(Some(Ok(more))) => {
                    size += more.len();
                    batch.push(more);
                }
                // A failed body has nothing more to give: fail now, and the client's copy is cut.
                Some(Some(Err(error))) => return Some((Err(error), None)),
                Some(None) => return Some((Ok(concat(batch, size)), None)),
                None => break,
            }
        }
        Some((Ok(concat(batch, size)), Some(chunks)))
    })
    .boxed()
}

fn concat(mut batch: Vec<Bytes>, size: usize) -> Bytes {
    if batch.len() == 1 {
        return batch.pop().expect("one chunk");
    }
    let mut whole = bytes::BytesMut::with_capacity(size);
    for chunk in batch {
        whole.extend_from_slice(&chunk);
    }
    whole.freeze()
}

/// Ends `body` as soon as `cancelled` fires, even while a read is pending, and drops it then:
/// dropping the body is what closes the upstream connection. A stream consumer's own cancel
/// cannot do this while its read is in flight, because the pending read holds the stream.
pub fn until_cancelled(body: BodyChunks, cancelled: CancellationToken) -> BodyChunks {
    stream::unfold(Some(body), move |state| {
        let cancelled = cancelled.clone();
        async move {
            let mut body = state?;
            tokio::select! {
                biased;
                _ = cancelled.cancelled() => None,
                item = body.next() => item.map(|item| (item, Some(body))),
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_causes_through_the_chain() {
        let refused = io::Error::new(io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(cause_of(&refused), Cause::ConnectionRefused);
        let tls = io::Error::new(io::ErrorKind::InvalidData, rustls::Error::DecryptError);
        assert_eq!(cause_of(&tls), Cause::Tls(TlsProblem::Handshake));
        let untrusted = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let double_wrapped = io::Error::other(io::Error::new(io::ErrorKind::InvalidData, untrusted));
        assert_eq!(cause_of(&double_wrapped), Cause::Tls(TlsProblem::UnknownIssuer));
        let timeout = io::Error::new(io::ErrorKind::TimedOut, "connect timeout");
        assert_eq!(cause_of(&timeout), Cause::ConnectTimeout);
        let wrapped = ProxyError::new(ErrorKind::Internal, "x")
            .with_source(io::Error::new(io::ErrorKind::ConnectionReset, "reset"));
        assert_eq!(cause_of(&wrapped), Cause::ConnectionClosed);
    }

    #[test]
    fn certificate_failures_say_what_to_change() {
        use rustls::CertificateError as C;
        let problem = |error: C| TlsProblem::of(&rustls::Error::InvalidCertificate(error));
        assert_eq!(
            tls_failure("api.internal", problem(C::UnknownIssuer)),
            "upstream api.internal presented a certificate that is not trusted (UnknownIssuer): \
             set caFile on the route, or NODE_EXTRA_CA_CERTS / AWS_CA_BUNDLE"
        );
        assert_eq!(problem(C::NotValidForName), TlsProblem::NotValidForName);
        assert!(
            tls_failure("h", TlsProblem::NotValidForName).ends_with("is not valid for h (NotValidForName)")
        );
        assert_eq!(problem(C::Expired), TlsProblem::Expired);
        assert_eq!(problem(C::Revoked), TlsProblem::OtherCertificate);
        assert_eq!(TlsProblem::of(&rustls::Error::DecryptError), TlsProblem::Handshake);
        assert_eq!(tls_failure("h", TlsProblem::Handshake), "TLS handshake with upstream h failed");
    }
}
