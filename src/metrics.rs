//! Upstream measurements, recorded in Rust where they happen and handed to the plugin in one
//! batch when its metrics reader collects, so no request crosses into JavaScript for them:
//! connect time per new connection, time to the response headers per request, and how many
//! upstream connections are open. Nothing is recorded until the plugin turns recording on
//! (it does when it has a meter).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection};
use once_cell::sync::Lazy;
use tokio::time::Instant;

/// Samples kept between two collections, per kind; more are counted as dropped, so a reader
/// that never collects cannot make the process grow.
const MAX_SAMPLES: usize = 50_000;

/// A new upstream connection: DNS, TCP and TLS.
pub struct ConnectSample {
    pub host: String,
    pub seconds: f64,
    pub ok: bool,
}

/// One request's time from sending to the upstream's response headers.
pub struct FirstByteSample {
    pub route: Arc<str>,
    pub seconds: f64,
}

#[derive(Default)]
pub struct Samples {
    pub connects: Vec<ConnectSample>,
    pub first_bytes: Vec<FirstByteSample>,
    pub dropped: u64,
}

static RECORDING: AtomicBool = AtomicBool::new(false);
static SAMPLES: Lazy<Mutex<Samples>> = Lazy::new(Default::default);
/// Open upstream connections per host.
static OPEN: Lazy<Mutex<HashMap<String, Arc<AtomicI64>>>> = Lazy::new(Default::default);

/// Starts recording samples (connection counts are always kept).
pub fn start_recording() {
    RECORDING.store(true, Ordering::Relaxed);
}

fn recording() -> bool {
    RECORDING.load(Ordering::Relaxed)
}

/// The samples since the last call.
pub fn take_samples() -> Samples {
    std::mem::take(&mut *SAMPLES.lock().unwrap())
}

fn push<T>(pick: impl Fn(&mut Samples) -> &mut Vec<T>, sample: T) {
    let mut samples = SAMPLES.lock().unwrap();
    if pick(&mut samples).len() >= MAX_SAMPLES {
        samples.dropped += 1;
    } else {
        pick(&mut samples).push(sample);
    }
}

pub fn record_first_byte(route: &Arc<str>, took: Duration) {
    if recording() {
        push(|s| &mut s.first_bytes, FirstByteSample { route: route.clone(), seconds: took.as_secs_f64() });
    }
}

fn record_connect(host: &str, took: Duration, ok: bool) {
    if recording() {
        push(|s| &mut s.connects, ConnectSample { host: host.to_string(), seconds: took.as_secs_f64(), ok });
    }
}

/// Open upstream connections per host, hosts with none left out.
pub fn open_connections() -> Vec<(String, i64)> {
    let open = OPEN.lock().unwrap();
    open.iter().map(|(host, n)| (host.clone(), n.load(Ordering::Relaxed))).filter(|(_, n)| *n > 0).collect()
}

fn open_counter(host: &str) -> Arc<AtomicI64> {
    OPEN.lock().unwrap().entry(host.to_string()).or_default().clone()
}

/// A connector that times each connection it makes and counts it open until it is dropped.
#[derive(Clone)]
pub struct Measured<C> {
    inner: C,
}

impl<C> Measured<C> {
    pub fn new(inner: C) -> Self {
        Self { inner }
    }
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<C> tower_service::Service<http::Uri> for Measured<C>
where
    C: tower_service::Service<http::Uri> + Send,
    C::Future: Send + 'static,
    C::Response: 'static,
{
    type Response = Counted<C::Response>;
    type Error = C::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let host = uri.host().unwrap_or_default().to_string();
        let connecting = self.inner.call(uri);
        Box::pin(async move {
            let started = Instant::now();
            let result = connecting.await;
            record_connect(&host, started.elapsed(), result.is_ok());
            let open = open_counter(&host);
            result.map(|io| {
                open.fetch_add(1, Ordering::Relaxed);
                Counted { io, open }
            })
        })
    }
}

/// A connection, counted open while it lives.
pub struct Counted<T> {
    io: T,
    open: Arc<AtomicI64>,
}

impl<T> Drop for Counted<T> {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<T: Connection> Connection for Counted<T> {
    fn connected(&self) -> Connected {
        self.io.connected()
    }
}

impl<T: Read + Unpin> Read for Counted<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: Write + Unpin> Write for Counted<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
}
