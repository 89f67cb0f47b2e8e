//! `SigV4Proxy.temporaryCredentials` and `SigV4Proxy.issueTemporaryCredentials`: the policy the
//! router applies around the Backstage parts (who the caller is, permissions, rate limit), and
//! the STS session it hands out.

use std::time::{Duration, UNIX_EPOCH};

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::arg::Arg;
use super::error::{error_info, ProxyErrorInfo};
use super::guard::guarded;
use super::proxy::SigV4Proxy;
use super::signer::promise_of;
use crate::error::{ErrorKind, ProxyError};
use crate::temporary_credentials::{issue, IssueRequest};

/// The `temporaryCredentials` config, for the parts the Backstage router decides.
#[napi(object)]
pub struct TemporaryCredentialsOptions {
    /// Service principals may ask too (users only when false).
    pub allow_service_principals: bool,
    /// How many requests one caller may make in a minute.
    pub requests_per_minute: u32,
    /// The roles callers may ask for.
    pub roles: Vec<String>,
}

/// What a caller asks for.
#[napi(object)]
pub struct TemporaryCredentialsRequest {
    pub role_arn: String,
    /// The session's length: 900 up to the role's `maxDuration`; that maximum when omitted.
    pub duration_seconds: Option<f64>,
    /// The caller's Backstage entity ref (e.g. `user:default/jane.doe`): the session name and
    /// `SourceIdentity`, so CloudTrail names the person.
    pub principal: String,
}

/// The answer to a request: the credentials, or why the proxy refuses them.
#[napi(object)]
pub struct TemporaryCredentialsAnswer {
    pub credentials: Option<TemporaryCredentials>,
    /// Set when refused: a role config does not list (403), a duration the role does not allow
    /// (400), STS refused or could not be reached (503).
    pub refusal: Option<ProxyErrorInfo>,
}

/// A session's credentials, to hand to the caller and nowhere else.
#[napi(object)]
pub struct TemporaryCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// When they expire, in milliseconds since the epoch.
    pub expiration: f64,
}

#[napi]
impl SigV4Proxy {
    /// The `temporaryCredentials` config; absent when the feature is off.
    #[napi(getter)]
    pub fn temporary_credentials(&self) -> Result<Option<TemporaryCredentialsOptions>, String> {
        guarded("SigV4Proxy.temporaryCredentials", || {
            Ok(self.inner.temporary_credentials().map(|policy| TemporaryCredentialsOptions {
                allow_service_principals: policy.allow_service_principals,
                requests_per_minute: policy.requests_per_minute,
                roles: policy.role_arns().map(str::to_string).collect(),
            }))
        })
    }

    /// A fresh STS AssumeRole session of a role config lists, scoped by its session policy, or
    /// the refusal to answer with (`ROLE_NOT_ALLOWED`, also when the feature is off;
    /// `INVALID_ARGUMENT`; `CREDENTIALS_UNAVAILABLE`). Rejects only on a bad argument.
    #[napi(ts_return_type = "Promise<TemporaryCredentialsAnswer>")]
    pub fn issue_temporary_credentials(
        &self,
        env: &Env,
        #[napi(ts_arg_type = "TemporaryCredentialsRequest")] request: Arg<TemporaryCredentialsRequest>,
    ) -> Result<AsyncBlock<TemporaryCredentialsAnswer>, String> {
        guarded("SigV4Proxy.issueTemporaryCredentials", || {
            // Outer: the argument (a bad one rejects); inner: the policy's decision (a refusal).
            let call = request.get().map(|request| {
                let policy = self.inner.temporary_credentials().ok_or_else(|| {
                    ProxyError::new(ErrorKind::RoleNotAllowed, "temporary credentials are not configured")
                })?;
                let duration = request.duration_seconds.map(session_length).transpose()?;
                policy.call_for(&IssueRequest {
                    role_arn: &request.role_arn,
                    duration,
                    principal: &request.principal,
                })
            });
            promise_of(env, "issuing credentials", async move {
                let issued = match call? {
                    Ok(call) => issue(call).await,
                    Err(refusal) => Err(refusal),
                };
                Ok(match issued {
                    Ok(issued) => TemporaryCredentialsAnswer {
                        credentials: Some(TemporaryCredentials {
                            access_key_id: issued.access_key_id,
                            secret_access_key: issued.secret_access_key,
                            session_token: issued.session_token,
                            expiration: issued
                                .expiration
                                .duration_since(UNIX_EPOCH)
                                .unwrap_or_default()
                                .as_millis() as f64,
                        }),
                        refusal: None,
                    },
                    Err(refusal) => {
                        TemporaryCredentialsAnswer { credentials: None, refusal: Some(error_info(&refusal)) }
                    }
                })
            })
        })
    }
}

fn session_length(seconds: f64) -> std::result::Result<Duration, ProxyError> {
    if seconds.fract() != 0.0 || !(1.0..=86_400.0).contains(&seconds) {
        return Err(ProxyError::invalid_argument("durationSeconds must be a whole number of seconds"));
    }
    Ok(Duration::from_secs(seconds as u64))
}
