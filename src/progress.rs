//! How long an exchange may go without progress. A route's `timeout` is meant for a slow or
//! silent upstream, not for a large upload: a 5 GiB PutObject takes minutes while bytes keep
//! moving. So while a streamed request body is being sent, every chunk restarts the clock, and
//! the timeout counts from the last chunk to the response headers.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

/// The time of the last sign of progress, shared between a body stream and the exchange.
#[derive(Clone)]
pub struct Progress {
    started: Instant,
    /// Milliseconds after `started`.
    last: Arc<AtomicU64>,
}

impl Progress {
    pub fn new() -> Self {
        Self { started: Instant::now(), last: Arc::new(AtomicU64::new(0)) }
    }

    fn touch(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        self.last.fetch_max(now, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.started + Duration::from_millis(self.last.load(Ordering::Relaxed))
    }

    /// What is left of `idle` since the last progress.
    pub fn time_left(&self, idle: Duration) -> Duration {
        (self.last() + idle).saturating_duration_since(Instant::now())
    }

    /// `chunks`, marking progress as each one is taken.
    pub fn tracking<E>(
        &self,
        chunks: impl Stream<Item = Result<Bytes, E>> + Send + 'static,
    ) -> impl Stream<Item = Result<Bytes, E>> + Send + 'static {
        let progress = self.clone();
        chunks.inspect(move |_| progress.touch())
    }

    /// Runs `exchange` until it is done, or until `idle` has passed without progress. `None`
    /// means it ran out of time.
    pub async fn within<T>(&self, idle: Duration, exchange: impl Future<Output = T>) -> Option<T> {
        tokio::pin!(exchange);
        loop {
            let deadline = self.last() + idle;
            tokio::select! {
                done = &mut exchange => return Some(done),
                _ = tokio::time::sleep_until(deadline) => {
                    // A chunk that came while we slept moved the deadline on.
                    if self.last() + idle <= Instant::now() {
                        return None;
                    }
                }
            }
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;

    #[tokio::test(start_paused = true)]
    async fn a_silent_exchange_runs_out_of_time() {
        let progress = Progress::new();
        let never = std::future::pending::<()>();
        let started = Instant::now();
        assert!(progress.within(Duration::from_secs(30), never).await.is_none());
        assert_eq!(started.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn each_chunk_restarts_the_clock() {
        let progress = Progress::new();
        // Ten chunks, 20 s apart: 200 s in all, never 30 s without one.
        let chunks = stream::iter(0..10).then(|_| async {
            tokio::time::sleep(Duration::from_secs(20)).await;
            Ok::<_, ()>(Bytes::from_static(b"x"))
        });
        let body = progress.tracking(chunks);
        let exchange = async {
            let sent = body.count().await;
            tokio::time::sleep(Duration::from_secs(29)).await; // the upstream answers in time
            sent
        };
        let started = Instant::now();
        assert_eq!(progress.within(Duration::from_secs(30), exchange).await, Some(10));
        assert_eq!(started.elapsed(), Duration::from_secs(229));
    }

    #[tokio::test(start_paused = true)]
    async fn the_clock_runs_from_the_last_chunk() {
        let progress = Progress::new();
        let chunk = stream::once(async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok::<_, ()>(Bytes::from_static(b"x"))
        });
        let body = progress.tracking(chunk);
        let exchange = async {
            body.count().await;
            std::future::pending::<()>().await
        };
        let started = Instant::now();
        assert!(progress.within(Duration::from_secs(30), exchange).await.is_none());
        assert_eq!(started.elapsed(), Duration::from_secs(40));
    }
}
