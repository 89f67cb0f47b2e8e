//! AWS credentials for signing: the default chain or an STS AssumeRole per route, each behind a
//! cache that is shared process-wide per source. A cache refreshes ahead of expiry, one fetch at a
//! time (single flight); while its credentials are still valid the refresh runs in the background,
//! so no request waits on STS or IMDS, and a failed refresh keeps the valid credentials in use.
//! After failures the source is retried with exponential backoff. A caller waits for a fetch at
//! most as long as it says; a fetch that overruns it is abandoned and counts as a failure.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{
    self, error::CredentialsError, ProvideCredentials, SharedCredentialsProvider,
};
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use once_cell::sync::Lazy;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::credential_failure::describe_failure;
use crate::error::{ErrorKind, ProxyError};
use crate::redact::Redacted;
use crate::registry::Registry;

/// Where a route's credentials come from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CredentialSource {
    /// env, shared profile, web identity (IRSA), ECS / EKS Pod Identity, IMDS.
    DefaultChain,
    /// A named profile of the shared config and credentials files.
    Profile(String),
    /// STS AssumeRole with the default chain's credentials, or a profile's.
    AssumeRole(AssumeRole),
}

impl CredentialSource {
    /// What to call the source in an error message.
    fn label(&self) -> String {
        match self {
            CredentialSource::DefaultChain => "the default credential chain".to_string(),
            CredentialSource::Profile(name) => format!("profile '{name}'"),
            CredentialSource::AssumeRole(_) => "the route's roleArn".to_string(),
        }
    }
}

/// The parameters of an STS AssumeRole call. `Debug` leaves out the external id.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AssumeRole {
    pub role_arn: String,
    pub session_name: String,
    /// Only for roles whose trust policy asks for one; not a secret, but not logged either.
    pub external_id: Option<String>,
    /// Requested lifetime of the credentials; STS's default (1 h) when absent.
    pub session_duration: Option<Duration>,
    /// The STS region; else the environment's, else the route's signing region.
    pub sts_region: Option<String>,
    /// Call AssumeRole with this profile's credentials instead of the default chain's.
    pub base_profile: Option<String>,
}

impl std::fmt::Debug for AssumeRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssumeRole")
            .field("role_arn", &self.role_arn)
            .field("session_name", &self.session_name)
            .field("external_id", &self.external_id.as_ref().map(|_| Redacted))
            .field("session_duration", &self.session_duration)
            .field("sts_region", &self.sts_region)
            .field("base_profile", &self.base_profile)
            .finish()
    }
}

/// Refresh this long before expiry, so no request signs with credentials about to lapse.
const REFRESH_AHEAD: Duration = Duration::from_secs(5 * 60);
/// Credentials closer than this to expiry are not used at all (clock skew, request duration).
const EXPIRY_MARGIN: Duration = Duration::from_secs(15);
/// After a failed fetch the source is not asked again for this long, doubling per failure...
const FIRST_RETRY_DELAY: Duration = Duration::from_secs(1);
/// ...up to this, so an outage costs the source one call per source and interval, and recovery
/// is noticed within it.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(8);
/// How long a background refresh may take before it is abandoned (and the lock let go).
const BACKGROUND_FETCH_TIMEOUT: Duration = Duration::from_secs(30);
/// Credentials without an expiry (static keys, `credential_process` output without one) are
/// read again this often, as the AWS SDKs do, so a key rotated on disk is picked up.
pub const DEFAULT_REREAD_INTERVAL: Duration = Duration::from_secs(15 * 60);

/// The last failed fetch, kept to answer quickly and to pace retries.
struct Failure {
    at: Instant,
    consecutive: u32,
    message: String,
}

impl Failure {
    fn retry_delay(&self) -> Duration {
        FIRST_RETRY_DELAY.saturating_mul(1 << self.consecutive.saturating_sub(1).min(16)).min(MAX_RETRY_DELAY)
    }
}

/// Credentials as fetched, and when.
struct Held {
    credentials: Credentials,
    fetched_at: Instant,
}

/// A cache over one credentials provider.
pub struct CredentialCache {
    provider: SharedCredentialsProvider,
    current: RwLock<Option<Held>>,
    /// How often credentials without an expiry are read again, in milliseconds.
    reread_every_ms: AtomicU64,
    /// Calls to the source that gave credentials, and that failed (for metrics and health).
    fetched: AtomicU64,
    failed: AtomicU64,
    last_failure: Mutex<Option<Failure>>,
    /// Held by the one task that is fetching.
    refreshing: Arc<tokio::sync::Mutex<()>>,
    /// Which source this is, for error messages: safe to show (no ARN, no account id).
    label: String,
}

impl CredentialCache {
    pub fn new(provider: impl ProvideCredentials + 'static, label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            provider: SharedCredentialsProvider::new(provider),
            current: RwLock::new(None),
            reread_every_ms: AtomicU64::new(DEFAULT_REREAD_INTERVAL.as_millis() as u64),
            fetched: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            last_failure: Mutex::new(None),
            refreshing: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// How often credentials without an expiry are read again (config can change it).
    pub fn set_reread_interval(&self, every: Duration) {
        self.reread_every_ms.store(every.as_millis() as u64, Ordering::Relaxed);
    }

    /// Credentials to sign with now, waiting at most `wait` for a fetch when none are usable.
    pub async fn credentials(self: &Arc<Self>, wait: Duration) -> Result<Credentials, ProxyError> {
        if let Some((fresh, reread_due)) = self.fresh() {
            if reread_due {
                self.refresh_in_background();
            }
            return Ok(fresh);
        }
        if let Some(usable) = self.cached(EXPIRY_MARGIN) {
            self.refresh_in_background();
            return Ok(usable);
        }
        let deadline = Instant::now() + wait;
        // Another caller's fetch may be under way: wait for it, but not past our own deadline.
        let Ok(_refreshing) = tokio::time::timeout_at(deadline, self.refreshing.lock()).await else {
            return Err(self.unavailable(&timed_out(wait)));
        };
        // Someone else may have fetched while we waited.
        if let Some(usable) = self.cached(EXPIRY_MARGIN) {
            return Ok(usable);
        }
        self.fetch(deadline, wait).await
    }

    /// Starts a refresh unless one is running; the caller goes on with the valid credentials.
    fn refresh_in_background(self: &Arc<Self>) {
        if let Ok(refreshing) = self.refreshing.clone().try_lock_owned() {
            let cache = self.clone();
            tokio::spawn(async move {
                let _refreshing = refreshing;
                // A failure is recorded for the next caller; there is nobody to tell now.
                let _ =
                    cache.fetch(Instant::now() + BACKGROUND_FETCH_TIMEOUT, BACKGROUND_FETCH_TIMEOUT).await;
            });
        }
    }

    /// Asks the source, abandoning the call at `deadline` (the end of the caller's `wait`). Credentials that arrive already
    /// expired (or within the expiry margin) are a failure: used, they would be refused upstream,
    /// and not cached, every request would call the source again.
    async fn fetch(&self, deadline: Instant, wait: Duration) -> Result<Credentials, ProxyError> {
        if let Some(message) = self.failure_still_pacing() {
            return self.cached(EXPIRY_MARGIN).ok_or_else(|| self.unavailable(&message));
        }
        let outcome = match tokio::time::timeout_at(deadline, self.provider.provide_credentials()).await {
            Ok(Ok(credentials)) if usable_for(&credentials, EXPIRY_MARGIN) => Ok(credentials),
            Ok(Ok(_)) => {
                Err("the credential source returned credentials that are already expired".to_string())
            }
            Ok(Err(error)) => Err(describe_failure(&error)),
            Err(_) => Err(timed_out(wait)),
        };
        match outcome {
            Ok(credentials) => {
                self.fetched.fetch_add(1, Ordering::Relaxed);
                let held = Held { credentials: credentials.clone(), fetched_at: Instant::now() };
                *self.current.write().unwrap() = Some(held);
                *self.last_failure.lock().unwrap() = None;
                Ok(credentials)
            }
            Err(message) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let mut failure = self.last_failure.lock().unwrap();
                let consecutive = failure.as_ref().map_or(0, |f| f.consecutive) + 1;
                *failure = Some(Failure { at: Instant::now(), consecutive, message: message.clone() });
                drop(failure);
                self.cached(EXPIRY_MARGIN).ok_or_else(|| self.unavailable(&message))
            }
        }
    }

    /// The cached credentials if they stay valid for at least `for_at_least`.
    fn cached(&self, for_at_least: Duration) -> Option<Credentials> {
        let current = self.current.read().unwrap();
        current.as_ref().map(|held| &held.credentials).filter(|c| usable_for(c, for_at_least)).cloned()
    }

    /// Credentials outside the refresh window, and whether they have no expiry and are due to
    /// be read again (not while a failed re-read is still pacing retries).
    fn fresh(&self) -> Option<(Credentials, bool)> {
        let current = self.current.read().unwrap();
        let held = current.as_ref().filter(|held| usable_for(&held.credentials, REFRESH_AHEAD))?;
        let reread_every = Duration::from_millis(self.reread_every_ms.load(Ordering::Relaxed));
        let due = held.credentials.expiry().is_none() && held.fetched_at.elapsed() >= reread_every;
        Some((held.credentials.clone(), due && self.failure_still_pacing().is_none()))
    }

    fn unavailable(&self, message: &str) -> ProxyError {
        ProxyError::new(
            ErrorKind::CredentialsUnavailable,
            format!("AWS credentials are unavailable: {message} ({})", self.label),
        )
    }

    /// The last failure's message while its retry delay has not passed.
    fn failure_still_pacing(&self) -> Option<String> {
        let failure = self.last_failure.lock().unwrap();
        failure.as_ref().filter(|f| f.at.elapsed() < f.retry_delay()).map(|f| f.message.clone())
    }
}

/// What a cache holds and how its source has answered, without the credentials themselves.
#[derive(Clone, Debug, PartialEq)]
pub struct CredentialStatus {
    /// Calls to the source that gave credentials, and that failed.
    pub fetched: u64,
    pub failed: u64,
    /// Whether credentials usable now are cached.
    pub ready: bool,
    /// How long ago the cached credentials were fetched.
    pub age: Option<Duration>,
    /// How long the cached credentials stay valid; `None` without an expiry.
    pub expires_in: Option<Duration>,
    /// The last failure's message (safe to show) while it is the latest outcome.
    pub last_failure: Option<String>,
}

impl CredentialCache {
    pub fn status(&self) -> CredentialStatus {
        let current = self.current.read().unwrap();
        let held = current.as_ref();
        let failure = self.last_failure.lock().unwrap();
        CredentialStatus {
            fetched: self.fetched.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            ready: held.is_some_and(|h| usable_for(&h.credentials, EXPIRY_MARGIN)),
            age: held.map(|h| h.fetched_at.elapsed()),
            expires_in: held
                .and_then(|h| h.credentials.expiry())
                .map(|expiry| expiry.duration_since(SystemTime::now()).unwrap_or_default()),
            last_failure: failure.as_ref().map(|f| format!("{} ({})", f.message, self.label)),
        }
    }
}

/// Whether credentials stay valid for at least `for_at_least` (those without expiry always do).
fn usable_for(credentials: &Credentials, for_at_least: Duration) -> bool {
    credentials.expiry().is_none_or(|expiry| expiry > SystemTime::now() + for_at_least)
}

fn timed_out(after: Duration) -> String {
    format!("the credential source did not answer within {} s", after.as_secs_f64())
}

/// One cache per source and (for AssumeRole) STS region.
type CacheKey = (CredentialSource, String);

fn cache_key(source: &CredentialSource, region: &str) -> CacheKey {
    let region_key = match source {
        CredentialSource::DefaultChain | CredentialSource::Profile(_) => String::new(),
        CredentialSource::AssumeRole(_) => region.to_string(),
    };
    (source.clone(), region_key)
}

static CACHES: Lazy<Registry<CacheKey, CredentialCache>> = Lazy::new(Registry::new);

/// The process-wide cache for a source. Routes and the public signer share it, so one source
/// means one refresh schedule and one AssumeRole per session, however many routes use it; it
/// lives while a route table or the signer holds it. `region` is the STS region used when the
/// environment names none.
pub fn shared_cache(source: &CredentialSource, region: &str) -> Arc<CredentialCache> {
    CACHES.get_or_insert_with(cache_key(source, region), || {
        let provider = LazyProvider::for_source(source.clone(), region.to_string());
        CredentialCache::new(provider, source.label())
    })
}

/// The shared cache for a source, kept for the life of the process: the public signer has no
/// config to be reloaded, so what it signs with stays cached.
pub fn process_cache(source: &CredentialSource, region: &str) -> Arc<CredentialCache> {
    static KEPT: Lazy<Mutex<HashMap<CacheKey, Arc<CredentialCache>>>> = Lazy::new(Default::default);
    let key = cache_key(source, region);
    KEPT.lock().unwrap().entry(key).or_insert_with(|| shared_cache(source, region)).clone()
}

/// How many credential caches are alive (routes' and the signer's).
pub fn live_caches() -> usize {
    CACHES.live()
}

type ProviderFuture = Pin<Box<dyn Future<Output = SharedCredentialsProvider> + Send>>;

/// Builds the real provider on first use: loading the SDK config is async, and a backend must
/// start even when no credentials are around yet. Builds it again for a re-read of credentials
/// without an expiry: the SDK's providers keep the config and credentials files they parsed,
/// so only a new one sees a rotated key.
struct LazyProvider {
    built: tokio::sync::Mutex<Option<SharedCredentialsProvider>>,
    /// Set when the last credentials had no expiry: the next call is a re-read.
    rebuild: AtomicBool,
    /// Makes the provider; `true` asks for one over freshly loaded files.
    build: Box<dyn Fn(bool) -> ProviderFuture + Send + Sync>,
}

impl std::fmt::Debug for LazyProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LazyProvider")
    }
}

impl LazyProvider {
    fn for_source(source: CredentialSource, region: String) -> Self {
        let build: Box<dyn Fn(bool) -> ProviderFuture + Send + Sync> = match source {
            CredentialSource::DefaultChain => Box::new(|reread| Box::pin(default_chain(reread))),
            CredentialSource::Profile(name) => Box::new(move |_| Box::pin(profile(name.clone()))),
            CredentialSource::AssumeRole(role) => {
                Box::new(move |_| Box::pin(assume_role(role.clone(), region.clone())))
            }
        };
        Self { built: tokio::sync::Mutex::new(None), rebuild: AtomicBool::new(false), build }
    }

    async fn provider(&self) -> SharedCredentialsProvider {
        let mut built = self.built.lock().await;
        let reread = self.rebuild.swap(false, Ordering::Relaxed);
        match built.as_ref() {
            Some(provider) if !reread => provider.clone(),
            _ => built.insert((self.build)(reread).await).clone(),
        }
    }
}

impl ProvideCredentials for LazyProvider {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            let provided = self.provider().await.provide_credentials().await;
            if provided.as_ref().is_ok_and(|credentials| credentials.expiry().is_none()) {
                self.rebuild.store(true, Ordering::Relaxed);
            }
            provided
        })
    }
}

/// The HTTPS client for AWS credential sources (STS, SSO, container and instance metadata):
/// rustls with ring, like the proxy's own client, trusting the system's store plus the CA
/// bundles named by NODE_EXTRA_CA_CERTS and AWS_CA_BUNDLE, so STS behind a TLS-inspecting proxy
/// works. Bundles that cannot be used are left out here: building a proxy reports them.
fn sdk_http_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider, TlsContext, TrustStore};
    let builder = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring));
    let extra = match crate::tls::environment_cas() {
        Ok(cas) if !cas.is_empty() => cas,
        _ => return builder.build_https(),
    };
    // The SDK parses the PEM again when it connects, and panics on what it cannot parse: it only
    // ever sees certificates that were checked when read.
    let trust = TrustStore::default().with_pem_certificate(extra.to_pem());
    match TlsContext::builder().with_trust_store(trust).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        Err(_) => builder.build_https(),
    }
}

/// The SDK configuration from the environment, loaded once.
async fn sdk_config() -> &'static SdkConfig {
    static CONFIG: OnceCell<SdkConfig> = OnceCell::const_new();
    CONFIG.get_or_init(load_sdk_config).await
}

async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).http_client(sdk_http_client()).load().await
}

/// The default chain; on a re-read, over a freshly loaded config, so its files are read again.
async fn default_chain(reread: bool) -> SharedCredentialsProvider {
    let provider = match reread {
        false => sdk_config().await.credentials_provider(),
        true => load_sdk_config().await.credentials_provider(),
    };
    provider.unwrap_or_else(|| SharedCredentialsProvider::new(NoCredentials))
}

async fn profile(name: String) -> SharedCredentialsProvider {
    let provider_config = ProviderConfig::without_region()
        .with_region(sdk_config().await.region().cloned())
        .with_http_client(sdk_http_client());
    SharedCredentialsProvider::new(
        ProfileFileCredentialsProvider::builder().configure(&provider_config).profile_name(name).build(),
    )
}

async fn assume_role(role: AssumeRole, route_region: String) -> SharedCredentialsProvider {
    let config = sdk_config().await;
    let region = match role.sts_region {
        Some(region) => Region::new(region),
        None => config.region().cloned().unwrap_or_else(|| Region::new(route_region)),
    };
    let mut builder =
        AssumeRoleProvider::builder(role.role_arn).session_name(role.session_name).region(region);
    if let Some(external_id) = role.external_id {
        builder = builder.external_id(external_id);
    }
    if let Some(duration) = role.session_duration {
        builder = builder.session_length(duration);
    }
    let builder = builder.configure(config);
    SharedCredentialsProvider::new(match role.base_profile {
        Some(name) => builder.build_from_provider(profile(name).await).await,
        None => builder.build().await,
    })
}

/// The STS client on the default chain for calls the proxy makes itself (temporary credentials
/// for users), made once: one connection pool, and the default chain's credentials cached by
/// the client's identity cache rather than fetched (from IMDS, say) per call. The SDK config's
/// region, else us-east-1's regional endpoint.
pub async fn sts_client() -> &'static aws_sdk_sts::Client {
    static CLIENT: OnceCell<aws_sdk_sts::Client> = OnceCell::const_new();
    CLIENT
        .get_or_init(|| async {
            let config = sdk_config().await;
            let region = config.region().cloned().unwrap_or_else(|| Region::new("us-east-1"));
            aws_sdk_sts::Client::from_conf(aws_sdk_sts::config::Builder::from(config).region(region).build())
        })
        .await
}

/// Stands in when the SDK config has no provider at all (it always has one today).
#[derive(Debug)]
struct NoCredentials;

impl ProvideCredentials for NoCredentials {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::ready(Err(CredentialsError::not_loaded(
            "no credentials provider is configured",
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A provider that counts its calls, takes a little while, and hands out credentials that
    /// expire after `lifetime` (or fails while `failing` is set).
    #[derive(Debug)]
    struct FakeProvider {
        calls: Arc<AtomicUsize>,
        lifetime: Option<Duration>,
        failing: Arc<std::sync::atomic::AtomicBool>,
    }

    impl ProvideCredentials for FakeProvider {
        fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            provider::future::ProvideCredentials::new(async move {
                let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
                if self.failing.load(Ordering::SeqCst) {
                    return Err(CredentialsError::provider_error("source is down"));
                }
                let expiry = self.lifetime.map(|l| SystemTime::now() + l);
                Ok(Credentials::new(format!("AKID{call}"), "secret", None, expiry, "fake"))
            })
        }
    }

    fn fake(
        lifetime: Option<Duration>,
    ) -> (CredentialCache, Arc<AtomicUsize>, Arc<std::sync::atomic::AtomicBool>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let failing = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let provider = FakeProvider { calls: calls.clone(), lifetime, failing: failing.clone() };
        (CredentialCache::new(provider, "fake"), calls, failing)
    }

    /// Long enough for any fake provider in these tests.
    const WAIT: Duration = Duration::from_secs(30);

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        let (cache, calls, _) = fake(Some(Duration::from_secs(3600)));
        let cache = Arc::new(cache);
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.credentials(WAIT).await })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap().access_key_id(), "AKID1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        cache.credentials(WAIT).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "fresh credentials are served from the cache");
    }

    #[tokio::test(start_paused = true)]
    async fn refreshes_before_expiry_without_making_callers_wait() {
        // Valid for 2 more minutes: inside the refresh window.
        let (cache, calls, _) = fake(Some(Duration::from_secs(120)));
        let cache = Arc::new(cache);
        assert_eq!(cache.credentials(WAIT).await.unwrap().access_key_id(), "AKID1");
        // The provider takes 50 ms; the caller gets the valid credentials at once.
        let immediate = tokio::time::timeout(Duration::from_millis(1), cache.credentials(WAIT)).await;
        assert_eq!(immediate.expect("no wait for the refresh").unwrap().access_key_id(), "AKID1");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(cache.credentials(WAIT).await.unwrap().access_key_id(), "AKID2");
    }

    #[tokio::test(start_paused = true)]
    async fn credentials_without_expiry_are_read_again_after_the_interval() {
        let (cache, calls, failing) = fake(None);
        let cache = Arc::new(cache);
        cache.set_reread_interval(Duration::from_secs(60));
        for _ in 0..5 {
            assert_eq!(cache.credentials(WAIT).await.unwrap().access_key_id(), "AKID1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "not read again within the interval");

        tokio::time::sleep(Duration::from_secs(60)).await;
        // Due: the caller signs with the current key at once, the re-read runs behind it.
        assert_eq!(cache.credentials(WAIT).await.unwrap().access_key_id(), "AKID1");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(cache.credentials(WAIT).await.unwrap().access_key_id(), "AKID2");
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        // A failed re-read keeps the current key, and is paced like any failure.
        failing.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(60)).await;
        for _ in 0..20 {
            assert_eq!(cache.credentials(WAIT).await.unwrap().access_key_id(), "AKID2");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(calls.load(Ordering::SeqCst), 4, "one re-read, then one retry after the first 1 s delay");
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_valid_credentials_until_they_expire() {
        // Usable for 1.5 s (the expiry margin is 15 s), and due for refresh all along.
        let (cache, calls, failing) = fake(Some(EXPIRY_MARGIN + Duration::from_millis(1500)));
        let cache = Arc::new(cache);
        cache.credentials(WAIT).await.unwrap();
        failing.store(true, Ordering::SeqCst);
        assert_eq!(cache.credentials(WAIT).await.unwrap().access_key_id(), "AKID1");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2, "the background refresh ran and failed");
        assert_eq!(cache.credentials(WAIT).await.unwrap().access_key_id(), "AKID1");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let error = cache.credentials(WAIT).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::CredentialsUnavailable);
        assert!(error.to_string().starts_with("AWS credentials are unavailable: "), "{error}");
    }

    /// A source that never answers, like an STS that accepts the connection and stays silent.
    #[derive(Debug)]
    struct SilentProvider(Arc<AtomicUsize>);

    impl ProvideCredentials for SilentProvider {
        fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.0.fetch_add(1, Ordering::SeqCst);
            provider::future::ProvideCredentials::new(std::future::pending())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_source_fails_within_the_wait_and_is_asked_again_later() {
        let calls = Arc::new(AtomicUsize::new(0));
        let cache = Arc::new(CredentialCache::new(SilentProvider(calls.clone()), "silent"));
        let started = Instant::now();
        let (first, second) = tokio::join!(
            cache.credentials(Duration::from_secs(2)),
            cache.credentials(Duration::from_secs(3)),
        );
        for error in [first.unwrap_err(), second.unwrap_err()] {
            assert_eq!(error.kind(), ErrorKind::CredentialsUnavailable);
            assert!(error.to_string().contains("did not answer within"), "{error}");
        }
        assert!(started.elapsed() <= Duration::from_secs(3), "each caller waits at most its own wait");
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one fetch at a time");
        tokio::time::sleep(MAX_RETRY_DELAY).await;
        cache.credentials(Duration::from_secs(1)).await.unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 2, "the next request after the retry delay asks again");
    }

    #[tokio::test]
    async fn credentials_expired_on_arrival_are_a_failure() {
        // Expires inside the expiry margin: unusable the moment it arrives.
        let (cache, calls, _) = fake(Some(EXPIRY_MARGIN / 2));
        let cache = Arc::new(cache);
        let error = cache.credentials(WAIT).await.unwrap_err();
        assert!(error.to_string().contains("already expired"), "{error}");
        assert!(cache.cached(Duration::ZERO).is_none(), "not cached");
        cache.credentials(WAIT).await.unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "paced like any failure, not fetched per request");
    }

    #[tokio::test(start_paused = true)]
    async fn retries_back_off_and_recover() {
        let (cache, calls, failing) = fake(Some(Duration::from_secs(3600)));
        let cache = Arc::new(cache);
        failing.store(true, Ordering::SeqCst);
        let mut calls_at = Vec::new();
        // Ask every 250 ms for 8 s: the source is called at 0, 1, 3 and 7 s (delays 1, 2, 4 s).
        for _ in 0..32 {
            let error = cache.credentials(WAIT).await.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::CredentialsUnavailable);
            calls_at.push(calls.load(Ordering::SeqCst));
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert_eq!(calls.load(Ordering::SeqCst), 4, "calls seen per tick: {calls_at:?}");
        failing.store(false, Ordering::SeqCst);
        tokio::time::sleep(MAX_RETRY_DELAY).await;
        assert_eq!(cache.credentials(WAIT).await.unwrap().access_key_id(), "AKID5");
    }
}
