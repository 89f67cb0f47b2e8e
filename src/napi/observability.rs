//! What operators and the plugin's metrics and health views can see: live caches and pools,
//! upstream samples (collected in one batch, never per request), open connections, and each
//! route's credential state. Nothing here carries a secret.

use napi_derive::napi;

use super::guard::guarded;
use super::proxy::SigV4Proxy;
use crate::metrics;

#[napi(object)]
pub struct LiveResources {
    /// Credential caches held by route tables or the signer.
    pub credential_caches: u32,
    /// Pooled HTTP clients held by route tables.
    pub connection_pools: u32,
}

/// How many credential caches and connection pools are alive now. A config reload that drops a
/// route releases what only that route used once the old route table is collected.
#[napi]
pub fn live_resources() -> napi::Result<LiveResources, String> {
    guarded("liveResources", || {
        Ok(LiveResources {
            credential_caches: crate::credentials::live_caches() as u32,
            connection_pools: crate::forward::live_clients() as u32,
        })
    })
}

/// A new upstream connection (DNS, TCP, TLS) and how long it took.
#[napi(object)]
pub struct ConnectSample {
    pub host: String,
    pub seconds: f64,
    pub ok: bool,
}

/// One request's time from sending to the upstream's response headers.
#[napi(object)]
pub struct FirstByteSample {
    pub route: String,
    pub seconds: f64,
}

/// Upstream samples since the last call.
#[napi(object)]
pub struct UpstreamSamples {
    pub connects: Vec<ConnectSample>,
    pub first_bytes: Vec<FirstByteSample>,
    /// Samples not kept because nobody collected for too long.
    pub dropped: f64,
}

#[napi(object)]
pub struct OpenConnections {
    pub host: String,
    pub count: u32,
}

/// Starts recording upstream samples (the metrics reader then collects them with
/// `takeUpstreamSamples`); until then none are kept.
#[napi]
pub fn start_metrics_recording() -> napi::Result<(), String> {
    guarded("startMetricsRecording", || {
        metrics::start_recording();
        Ok(())
    })
}

/// The upstream samples recorded since the last call, in one batch.
#[napi]
pub fn take_upstream_samples() -> napi::Result<UpstreamSamples, String> {
    guarded("takeUpstreamSamples", || Ok(upstream_samples(metrics::take_samples())))
}

fn upstream_samples(samples: metrics::Samples) -> UpstreamSamples {
    UpstreamSamples {
        connects: samples
            .connects
            .into_iter()
            .map(|c| ConnectSample { host: c.host, seconds: c.seconds, ok: c.ok })
            .collect(),
        first_bytes: samples
            .first_bytes
            .into_iter()
            .map(|f| FirstByteSample { route: f.route.to_string(), seconds: f.seconds })
            .collect(),
        dropped: samples.dropped as f64,
    }
}

/// Upstream connections open now, per host.
#[napi]
pub fn open_connections() -> napi::Result<Vec<OpenConnections>, String> {
    guarded("openConnections", || {
        Ok(metrics::open_connections()
            .into_iter()
            .map(|(host, count)| OpenConnections { host, count: count as u32 })
            .collect())
    })
}

/// A route's credential state, without the credentials.
#[napi(object)]
pub struct CredentialState {
    /// `ready` (usable credentials cached), `failing` (none usable, the last fetch failed) or
    /// `pending` (none fetched yet: they are fetched on the first request).
    pub state: String,
    /// Calls to the source that gave credentials, and that failed. For a route with `roleArn`
    /// each is one STS AssumeRole call.
    pub fetched: f64,
    pub failed: f64,
    pub age_seconds: Option<f64>,
    /// How long the cached credentials stay valid; absent for keys without an expiry.
    pub expires_in_seconds: Option<f64>,
    /// The last failure (its kind, STS code and request id, the source), while it is the latest.
    pub last_failure: Option<String>,
    /// Whether the source is STS AssumeRole (the route has `roleArn`).
    pub assume_role: bool,
}

/// The last failure of a route that was not the caller's.
#[napi(object)]
pub struct RouteFailureInfo {
    pub code: String,
    /// When, in milliseconds since the epoch.
    pub at: f64,
}

#[napi(object)]
pub struct RouteStatusInfo {
    pub route: String,
    pub credentials: CredentialState,
    pub last_failure: Option<RouteFailureInfo>,
}

#[napi]
impl SigV4Proxy {
    /// Each route's credential state and last proxy failure (5xx), for health views and
    /// metrics. Holds no secret: no keys, no ARNs.
    #[napi]
    pub fn route_statuses(&self) -> napi::Result<Vec<RouteStatusInfo>, String> {
        guarded("SigV4Proxy.routeStatuses", || {
            Ok(self.inner.route_statuses().into_iter().map(route_status).collect())
        })
    }
}

fn route_status(status: crate::proxy::RouteStatus<'_>) -> RouteStatusInfo {
    let c = status.credentials;
    let state = match (c.ready, &c.last_failure) {
        (true, _) => "ready",
        (false, Some(_)) => "failing",
        (false, None) => "pending",
    };
    RouteStatusInfo {
        route: status.key.to_string(),
        credentials: CredentialState {
            state: state.to_string(),
            fetched: c.fetched as f64,
            failed: c.failed as f64,
            age_seconds: c.age.map(|d| d.as_secs_f64()),
            expires_in_seconds: c.expires_in.map(|d| d.as_secs_f64()),
            last_failure: c.last_failure,
            assume_role: status.assume_role,
        },
        last_failure: status.last_failure.map(|f| RouteFailureInfo {
            code: f.code.to_string(),
            at: f.at.duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_millis() as f64),
        }),
    }
}
