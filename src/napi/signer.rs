//! `signRequest`, `signRequestSync` and `Signer`: the proxy's signer for other backend code.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::arg::Arg;
use super::error::to_js_rejection;
use super::guard::guarded;
use super::js_text::{HeaderRecord, HeadersOut, Text};
use super::proxy::SigV4Proxy;
use crate::config::DEFAULT_ROLE_SESSION_NAME;
use crate::credentials::{AssumeRole, CredentialSource};
use crate::endpoint::SigningScope;
use crate::error::ProxyError;
use crate::credentials::process_cache;
use crate::policy::DEFAULT_TIMEOUT;
use crate::presign::{presigned_url, Presign, MAX_EXPIRY};
use crate::proxy::Proxy;
use crate::signing::{headers_to_send, scope_for, scope_of, sign_description_now, RequestDescription};

/// A request to sign.
#[napi(object)]
pub struct SignRequestInput {
    pub method: String,
    /// The absolute URL, percent-encoded as it will be sent.
    pub url: String,
    /// Headers that will be sent; all of them are signed.
    pub headers: Option<HashMap<String, String>>,
    /// The exact body bytes that will be sent.
    pub body: Option<Buffer>,
    /// The AWS service to sign for; inferred from the host when omitted.
    pub service: Option<String>,
    /// The AWS region to sign for; inferred from the host when omitted.
    pub region: Option<String>,
    /// Sign with SigV4A for this region set (`*`, or regions joined by commas) instead of
    /// SigV4: S3 Multi-Region Access Points and other multi-region endpoints.
    pub region_set: Option<String>,
    /// Sign with credentials from STS AssumeRole of this role instead of the default chain.
    pub role_arn: Option<String>,
    /// The AssumeRole session name (default `tempAssumeRoleSession`).
    pub role_session_name: Option<String>,
    /// Sign with these credentials instead of the default chain or a role (required by
    /// `signRequestSync`).
    pub credentials: Option<StaticCredentials>,
}

/// Credentials the caller already holds.
#[napi(object)]
pub struct StaticCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl From<StaticCredentials> for Credentials {
    fn from(c: StaticCredentials) -> Self {
        Credentials::new(c.access_key_id, c.secret_access_key, c.session_token, None, "proxy-sigv4 caller")
    }
}

/// The default chain, or AssumeRole of `role_arn` through it.
fn source_of(role_arn: Option<String>, role_session_name: Option<String>) -> CredentialSource {
    match role_arn {
        Some(role_arn) => CredentialSource::AssumeRole(AssumeRole {
            role_arn,
            session_name: role_session_name.unwrap_or_else(|| DEFAULT_ROLE_SESSION_NAME.to_string()),
            external_id: None,
            session_duration: None,
            sts_region: None,
            base_profile: None,
        }),
        None => CredentialSource::DefaultChain,
    }
}

/// Splits the input into what is signed and who signs it.
fn split_input(input: SignRequestInput) -> (RequestDescription, Option<StaticCredentials>, CredentialSource) {
    let source = source_of(input.role_arn, input.role_session_name);
    let description = RequestDescription {
        method: input.method,
        url: input.url,
        headers: input.headers.unwrap_or_default().into_iter().collect(),
        body: input.body.map(|b| b.to_vec()).unwrap_or_default(),
        service: input.service,
        region: input.region,
        sigv4a_region_set: input.region_set,
    };
    (description, input.credentials, source)
}

/// Signs a request with the same credentials, caches and rules the proxy uses. Resolves to
/// every header to send: the given ones, `host`, `x-amz-date`, `authorization`, and
/// `x-amz-security-token` when the credentials carry a session token. Rejects with an error
/// whose `code` is the stable code (e.g. `INVALID_ARGUMENT`, `CREDENTIALS_UNAVAILABLE`).
#[napi(ts_return_type = "Promise<Record<string, string>>")]
pub fn sign_request(
    env: &Env,
    #[napi(ts_arg_type = "SignRequestInput")] input: Arg<SignRequestInput>,
) -> Result<AsyncBlock<HashMap<String, String>>, String> {
    guarded("signRequest", || {
        let input = input.get().map(|input| {
            let (description, given, source) = split_input(input);
            (description, given_or(given, source))
        });
        promise_of(env, "signing", async move { sign_with(input?).await.map(|h| h.into_iter().collect()) })
    })
}

/// Who signs: credentials the caller gave, a source through the shared caches, or a route.
enum Identity {
    Given(Credentials),
    Source(CredentialSource),
    Route(Arc<Proxy>, String),
}

impl Identity {
    async fn credentials(self, region: &str) -> std::result::Result<Credentials, ProxyError> {
        match self {
            Identity::Given(credentials) => Ok(credentials),
            Identity::Source(source) => process_cache(&source, region).credentials(DEFAULT_TIMEOUT).await,
            Identity::Route(proxy, key) => proxy.route_credentials(&key).await,
        }
    }
}

/// The caller's credentials when given, else `source`.
fn given_or(given: Option<StaticCredentials>, source: CredentialSource) -> Identity {
    match given {
        Some(credentials) => Identity::Given(credentials.into()),
        None => Identity::Source(source),
    }
}

async fn sign_with(
    (description, identity): (RequestDescription, Identity),
) -> std::result::Result<Vec<(String, String)>, ProxyError> {
    let scope = scope_of(&description)?;
    let credentials = identity.credentials(&scope.region).await?;
    sign_description_now(&description, &credentials)
}

/// A promise of what `work` (run on the Tokio runtime) gives; its failure rejects with the
/// error's stable `code`. A bad argument rejects too: callers of a promise look for failures there.
pub(super) fn promise_of<T: ToNapiValue + Send + 'static>(
    env: &Env,
    what: &str,
    work: impl std::future::Future<Output = std::result::Result<T, ProxyError>> + Send + 'static,
) -> std::result::Result<AsyncBlock<T>, ProxyError> {
    AsyncBlockBuilder::build_with_map(env, async move { Ok(work.await) }, |env, done| match done {
        Ok(value) => Ok(value),
        Err(error) => Err(to_js_rejection(env, error)),
    })
    .map_err(|e| ProxyError::internal(format!("could not start {what}: {}", e.reason)))
}

/// Signs a request at once with the given `credentials` (required), on the calling thread.
/// Returns the same headers as `signRequest`.
#[napi(ts_return_type = "Record<string, string>")]
pub fn sign_request_sync(
    #[napi(ts_arg_type = "SignRequestInput")] input: Arg<SignRequestInput>,
) -> Result<HashMap<String, String>, String> {
    guarded("signRequestSync", || {
        let (description, credentials, _) = split_input(input.get()?);
        let credentials =
            credentials.ok_or_else(|| ProxyError::invalid_argument("signRequestSync needs credentials"))?;
        let headers = sign_description_now(&description, &credentials.into())?;
        Ok(headers.into_iter().collect())
    })
}

/// What a `Signer` signs with.
#[napi(object)]
pub struct SignerOptions {
    pub credentials: StaticCredentials,
    /// The AWS service to sign for; inferred from each request's host when omitted.
    pub service: Option<String>,
    /// The AWS region to sign for; inferred from each request's host when omitted.
    pub region: Option<String>,
}

/// Signs requests at once, on the calling thread, with credentials given once: the quick way
/// to sign many requests. Signs as `signRequestSync` does.
#[napi]
pub struct Signer {
    credentials: Credentials,
    service: Option<String>,
    region: Option<String>,
    /// Set when both service and region are given, so that requests need not be looked at.
    fixed_scope: Option<SigningScope>,
}

#[napi]
impl Signer {
    #[napi(constructor)]
    pub fn new(#[napi(ts_arg_type = "SignerOptions")] options: Arg<SignerOptions>) -> Result<Self, String> {
        guarded("new Signer", || {
            let options = options.get()?;
            let fixed_scope = match (&options.service, &options.region) {
                (Some(service), Some(region)) => {
                    Some(SigningScope { service: service.clone(), region: region.clone() })
                }
                _ => None,
            };
            Ok(Signer {
                credentials: options.credentials.into(),
                service: options.service,
                region: options.region,
                fixed_scope,
            })
        })
    }

    /// Every header to send: the given ones, `host`, `x-amz-date`, `authorization`, and
    /// `x-amz-security-token` when the credentials carry a session token. `url` is absolute and
    /// percent-encoded as it will be sent; `body` is the exact bytes that will be sent.
    #[napi(
        ts_args_type = "method: string, url: string, headers?: Record<string, string> | null, body?: Buffer | null",
        ts_return_type = "Record<string, string>"
    )]
    pub fn sign(
        &self,
        method: Arg<Text>,
        url: Arg<Text>,
        headers: Arg<Option<HeaderRecord>>,
        body: Arg<Option<&[u8]>>,
    ) -> Result<HeadersOut, String> {
        guarded("Signer.sign", || {
            let (Text(method), Text(url)) = (method.get()?, url.get()?);
            let inferred;
            let scope = match &self.fixed_scope {
                Some(scope) => scope,
                None => {
                    inferred = scope_for(&url, self.service.as_deref(), self.region.as_deref())?;
                    &inferred
                }
            };
            let headers = headers.get()?.map(|h| h.0).unwrap_or_default();
            let body = body.get()?.unwrap_or_default();
            let signed = headers_to_send(&method, &url, headers, body, scope, None, &self.credentials)?;
            Ok(HeadersOut(signed))
        })
    }
}

/// A request to presign: the signature goes into the URL's query, for a request made later.
#[napi(object)]
pub struct PresignRequestInput {
    pub method: String,
    /// The absolute URL, percent-encoded as it will be sent.
    pub url: String,
    /// Headers the request will carry; all of them are signed, so they must be sent.
    pub headers: Option<HashMap<String, String>>,
    /// How long the URL is valid, in seconds: 1 to 604800 (7 days). Temporary credentials end
    /// it sooner, when they expire.
    pub expires_in: f64,
    /// The signing time in milliseconds since the epoch; now when omitted.
    pub signing_time: Option<f64>,
    pub service: Option<String>,
    pub region: Option<String>,
    pub role_arn: Option<String>,
    pub role_session_name: Option<String>,
    pub credentials: Option<StaticCredentials>,
}

/// Presigns a request with the same credentials, caches and service rules as `signRequest`.
/// Resolves to the URL with `X-Amz-*` query parameters (S3 signs `UNSIGNED-PAYLOAD`).
#[napi(ts_return_type = "Promise<string>")]
pub fn presign_request(
    env: &Env,
    #[napi(ts_arg_type = "PresignRequestInput")] input: Arg<PresignRequestInput>,
) -> Result<AsyncBlock<String>, String> {
    guarded("presignRequest", || {
        let input = input.get().map(|mut input| {
            let source = source_of(input.role_arn.take(), input.role_session_name.take());
            let identity = given_or(input.credentials.take(), source);
            (input, identity)
        });
        promise_of(env, "presigning", async move { presign_with(input?).await })
    })
}

async fn presign_with(
    (input, identity): (PresignRequestInput, Identity),
) -> std::result::Result<String, ProxyError> {
    let scope = scope_for(&input.url, input.service.as_deref(), input.region.as_deref())?;
    let time = signing_time(input.signing_time)?;
    let request = Presign {
        method: &input.method,
        url: &input.url,
        headers: input.headers.unwrap_or_default().into_iter().collect(),
        expires_in: whole_seconds(input.expires_in)?,
    };
    let credentials = identity.credentials(&scope.region).await?;
    presigned_url(&request, &scope, &credentials, time)
}

#[napi]
impl SigV4Proxy {
    /// Signs a request (as `signRequest` does) with the credentials of route `route` (its key,
    /// e.g. `/service-a`), from the route's own cache. `roleArn` and `credentials` must be absent.
    #[napi(ts_return_type = "Promise<Record<string, string>>")]
    pub fn sign_request(
        &self,
        env: &Env,
        #[napi(ts_arg_type = "string")] route: Arg<String>,
        #[napi(ts_arg_type = "SignRequestInput")] input: Arg<SignRequestInput>,
    ) -> Result<AsyncBlock<HashMap<String, String>>, String> {
        guarded("SigV4Proxy.signRequest", || {
            let identity = self.route_identity(route.get()?);
            let input = input.get().and_then(|input| {
                only_route_credentials(input.role_arn.is_some() || input.credentials.is_some())?;
                Ok((split_input(input).0, identity))
            });
            promise_of(env, "signing", async move { sign_with(input?).await.map(|h| h.into_iter().collect()) })
        })
    }

    /// Presigns a request (as `presignRequest` does) with the credentials of route `route`.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn presign_request(
        &self,
        env: &Env,
        #[napi(ts_arg_type = "string")] route: Arg<String>,
        #[napi(ts_arg_type = "PresignRequestInput")] input: Arg<PresignRequestInput>,
    ) -> Result<AsyncBlock<String>, String> {
        guarded("SigV4Proxy.presignRequest", || {
            let identity = self.route_identity(route.get()?);
            let input = input.get().and_then(|input| {
                only_route_credentials(input.role_arn.is_some() || input.credentials.is_some())?;
                Ok((input, identity))
            });
            promise_of(env, "presigning", async move { presign_with(input?).await })
        })
    }
}

impl SigV4Proxy {
    fn route_identity(&self, key: String) -> Identity {
        Identity::Route(self.inner.clone(), key)
    }
}

fn only_route_credentials(other_given: bool) -> std::result::Result<(), ProxyError> {
    if other_given {
        return Err(ProxyError::invalid_argument(
            "a route signs with its own credentials: leave out roleArn and credentials",
        ));
    }
    Ok(())
}

fn whole_seconds(seconds: f64) -> std::result::Result<Duration, ProxyError> {
    if seconds.fract() != 0.0 || !(0.0..=MAX_EXPIRY.as_secs_f64()).contains(&seconds) {
        return Err(ProxyError::invalid_argument(format!(
            "expiresIn must be a whole number of seconds from 1 to {}",
            MAX_EXPIRY.as_secs()
        )));
    }
    Ok(Duration::from_secs(seconds as u64))
}

fn signing_time(milliseconds: Option<f64>) -> std::result::Result<SystemTime, ProxyError> {
    match milliseconds {
        None => Ok(SystemTime::now()),
        Some(ms) if ms.is_finite() && ms >= 0.0 => Ok(UNIX_EPOCH + Duration::from_millis(ms as u64)),
        Some(_) => Err(ProxyError::invalid_argument("signingTime must be milliseconds since the epoch")),
    }
}
