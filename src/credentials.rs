//! AWS credentials for signing: the default chain or an STS AssumeRole per route, each behind a
//! cache that is shared process-wide per source, refreshed ahead of expiry by one caller at a
//! time (single flight), and that keeps serving still-valid credentials when a refresh fails.
//! No request waits on STS or IMDS while its cached credentials are fresh.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{
    self, error::CredentialsError, ProvideCredentials, SharedCredentialsProvider,
};
use aws_credential_types::Credentials;
use once_cell::sync::Lazy;
use tokio::sync::OnceCell;

use crate::error::{ErrorKind, ProxyError};

/// Where a route's credentials come from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CredentialSource {
    /// env, shared profile, web identity (IRSA), ECS / EKS Pod Identity, IMDS.
    DefaultChain,
    /// STS AssumeRole with the default chain's credentials.
    AssumeRole { role_arn: String, session_name: String },
}

/// Refresh this long before expiry, so no request signs with credentials about to lapse.
const REFRESH_AHEAD: Duration = Duration::from_secs(5 * 60);
/// Credentials closer than this to expiry are not used at all (clock skew, request duration).
const EXPIRY_MARGIN: Duration = Duration::from_secs(15);
/// After a failed fetch, fail fast for this long instead of calling the source per request.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// A cache over one credentials provider.
pub struct CredentialCache {
    provider: SharedCredentialsProvider,
    current: RwLock<Option<Credentials>>,
    last_failure: Mutex<Option<(Instant, String)>>,
    /// Held by the one caller that is fetching; everyone else waits or uses `current`.
    refreshing: tokio::sync::Mutex<()>,
}

impl CredentialCache {
    pub fn new(provider: impl ProvideCredentials + 'static) -> Self {
        Self {
            provider: SharedCredentialsProvider::new(provider),
            current: RwLock::new(None),
            last_failure: Mutex::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// Credentials to sign with now.
    pub async fn credentials(&self) -> Result<Credentials, ProxyError> {
        if let Some(fresh) = self.cached(REFRESH_AHEAD) {
            return Ok(fresh);
        }
        // Still valid but due for refresh: if someone is already refreshing, don't wait for them.
        let guard = match (self.cached(EXPIRY_MARGIN), self.refreshing.try_lock()) {
            (Some(usable), Err(_)) => return Ok(usable),
            (_, Ok(guard)) => guard,
            (None, Err(_)) => self.refreshing.lock().await,
        };
        // A refresh may have finished while we waited for the lock.
        if let Some(fresh) = self.cached(REFRESH_AHEAD) {
            return Ok(fresh);
        }
        let result = self.fetch().await;
        drop(guard);
        result
    }

    async fn fetch(&self) -> Result<Credentials, ProxyError> {
        if let Some(message) = self.recent_failure() {
            return self.cached(EXPIRY_MARGIN).ok_or_else(|| unavailable(message));
        }
        match self.provider.provide_credentials().await {
            Ok(credentials) => {
                *self.current.write().unwrap() = Some(credentials.clone());
                *self.last_failure.lock().unwrap() = None;
                Ok(credentials)
            }
            Err(error) => {
                let message = describe_failure(&error);
                *self.last_failure.lock().unwrap() = Some((Instant::now(), message.clone()));
                self.cached(EXPIRY_MARGIN).ok_or_else(|| unavailable(message))
            }
        }
    }

    /// The cached credentials if they stay valid for at least `for_at_least`.
    fn cached(&self, for_at_least: Duration) -> Option<Credentials> {
        let current = self.current.read().unwrap();
        let credentials = current.as_ref()?;
        match credentials.expiry() {
            None => Some(credentials.clone()),
            Some(expiry) => (expiry > SystemTime::now() + for_at_least).then(|| credentials.clone()),
        }
    }

    fn recent_failure(&self) -> Option<String> {
        let failure = self.last_failure.lock().unwrap();
        failure
            .as_ref()
            .filter(|(at, _)| at.elapsed() < RETRY_AFTER_FAILURE)
            .map(|(_, message)| message.clone())
    }
}

fn unavailable(message: String) -> ProxyError {
    ProxyError::new(ErrorKind::CredentialsUnavailable, format!("AWS credentials are unavailable: {message}"))
}

/// The provider's error with its causes. AWS SDK errors name what failed (e.g. an STS error code
/// and message) and never print credential values.
fn describe_failure(error: &CredentialsError) -> String {
    let mut text = error.to_string();
    let mut next = std::error::Error::source(error);
    while let Some(cause) = next {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        next = cause.source();
    }
    text
}

/// The process-wide cache for a source. Routes and the public signer share it, so one source
/// means one refresh schedule and one AssumeRole per session, however many routes use it.
/// `region` is the STS region used when the environment names none.
pub fn shared_cache(source: &CredentialSource, region: &str) -> Arc<CredentialCache> {
    static CACHES: Lazy<Mutex<HashMap<(CredentialSource, String), Arc<CredentialCache>>>> =
        Lazy::new(Default::default);
    let region_key = match source {
        CredentialSource::DefaultChain => String::new(),
        CredentialSource::AssumeRole { .. } => region.to_string(),
    };
    let mut caches = CACHES.lock().unwrap();
    caches
        .entry((source.clone(), region_key))
        .or_insert_with(|| {
            Arc::new(CredentialCache::new(LazyProvider::for_source(source.clone(), region.to_string())))
        })
        .clone()
}

type ProviderFuture = Pin<Box<dyn Future<Output = SharedCredentialsProvider> + Send>>;

/// Builds the real provider on first use: loading the SDK config is async, and a backend must
/// start even when no credentials are around yet.
struct LazyProvider {
    built: OnceCell<SharedCredentialsProvider>,
    build: Box<dyn Fn() -> ProviderFuture + Send + Sync>,
}

impl std::fmt::Debug for LazyProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LazyProvider")
    }
}

impl LazyProvider {
    fn for_source(source: CredentialSource, region: String) -> Self {
        let build: Box<dyn Fn() -> ProviderFuture + Send + Sync> = match source {
            CredentialSource::DefaultChain => Box::new(|| Box::pin(default_chain())),
            CredentialSource::AssumeRole { role_arn, session_name } => Box::new(move || {
                Box::pin(assume_role(role_arn.clone(), session_name.clone(), region.clone()))
            }),
        };
        Self { built: OnceCell::new(), build }
    }
}

impl ProvideCredentials for LazyProvider {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            let inner = self.built.get_or_init(|| (self.build)()).await;
            inner.provide_credentials().await
        })
    }
}

/// The SDK configuration from the environment, loaded once, with a rustls + ring HTTPS client.
async fn sdk_config() -> &'static SdkConfig {
    static CONFIG: OnceCell<SdkConfig> = OnceCell::const_new();
    CONFIG
        .get_or_init(|| async {
            use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
            let http_client = aws_smithy_http_client::Builder::new()
                .tls_provider(Provider::Rustls(CryptoMode::Ring))
                .build_https();
            aws_config::defaults(BehaviorVersion::latest()).http_client(http_client).load().await
        })
        .await
}

async fn default_chain() -> SharedCredentialsProvider {
    match sdk_config().await.credentials_provider() {
        Some(provider) => provider,
        None => SharedCredentialsProvider::new(NoCredentials),
    }
}

async fn assume_role(
    role_arn: String,
    session_name: String,
    route_region: String,
) -> SharedCredentialsProvider {
    let config = sdk_config().await;
    let region = config.region().cloned().unwrap_or_else(|| Region::new(route_region));
    let provider = AssumeRoleProvider::builder(role_arn)
        .session_name(session_name)
        .region(region)
        .configure(config)
        .build()
        .await;
    SharedCredentialsProvider::new(provider)
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
        (CredentialCache::new(provider), calls, failing)
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        let (cache, calls, _) = fake(Some(Duration::from_secs(3600)));
        let cache = Arc::new(cache);
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                tokio::spawn({
                    let c = cache.clone();
                    async move { c.credentials().await }
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap().access_key_id(), "AKID1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        cache.credentials().await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "fresh credentials are served from the cache");
    }

    #[tokio::test]
    async fn refreshes_before_expiry() {
        // Valid for 2 more minutes: inside the refresh window, so each call fetches anew.
        let (cache, calls, _) = fake(Some(Duration::from_secs(120)));
        assert_eq!(cache.credentials().await.unwrap().access_key_id(), "AKID1");
        assert_eq!(cache.credentials().await.unwrap().access_key_id(), "AKID2");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn static_credentials_are_fetched_once() {
        let (cache, calls, _) = fake(None);
        for _ in 0..5 {
            cache.credentials().await.unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_valid_credentials() {
        let (cache, calls, failing) = fake(Some(Duration::from_secs(120)));
        cache.credentials().await.unwrap();
        failing.store(true, Ordering::SeqCst);
        assert_eq!(cache.credentials().await.unwrap().access_key_id(), "AKID1");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn no_credentials_is_unavailable_and_recovers() {
        let (cache, calls, failing) = fake(Some(Duration::from_secs(3600)));
        failing.store(true, Ordering::SeqCst);
        let error = cache.credentials().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::CredentialsUnavailable);
        assert!(error.to_string().contains("source is down"), "{error}");
        // Within the retry pause the source is not asked again.
        cache.credentials().await.unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        failing.store(false, Ordering::SeqCst);
        tokio::time::sleep(RETRY_AFTER_FAILURE + Duration::from_millis(50)).await;
        assert_eq!(cache.credentials().await.unwrap().access_key_id(), "AKID2");
    }
}
