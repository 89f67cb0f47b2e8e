//! `signRequest`, `signRequestSync` and `Signer`: the proxy's signer for other backend code.

use std::collections::HashMap;

use aws_credential_types::Credentials;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::arg::Arg;
use super::error::to_js_rejection;
use super::guard::guarded;
use super::js_text::{HeaderRecord, HeadersOut, Text};
use crate::config::DEFAULT_ROLE_SESSION_NAME;
use crate::credentials::{AssumeRole, CredentialSource};
use crate::endpoint::SigningScope;
use crate::error::ProxyError;
use crate::signing::{
    headers_to_send, scope_for, sign_description, sign_description_now, RequestDescription,
};

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

/// Splits the input into what is signed and who signs it.
fn split_input(input: SignRequestInput) -> (RequestDescription, Option<StaticCredentials>, CredentialSource) {
    let source = match input.role_arn {
        Some(role_arn) => CredentialSource::AssumeRole(AssumeRole {
            role_arn,
            session_name: input.role_session_name.unwrap_or_else(|| DEFAULT_ROLE_SESSION_NAME.to_string()),
            external_id: None,
            session_duration: None,
            sts_region: None,
            base_profile: None,
        }),
        None => CredentialSource::DefaultChain,
    };
    let description = RequestDescription {
        method: input.method,
        url: input.url,
        headers: input.headers.unwrap_or_default().into_iter().collect(),
        body: input.body.map(|b| b.to_vec()).unwrap_or_default(),
        service: input.service,
        region: input.region,
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
        // A bad argument rejects too: callers of a promise look for failures there.
        let input = input.get().map(split_input);
        let signing = async move {
            Ok(match input {
                Err(error) => Err(error),
                Ok((description, Some(credentials), _)) => {
                    sign_description_now(&description, &credentials.into())
                }
                Ok((description, None, source)) => sign_description(&description, &source).await,
            })
        };
        AsyncBlockBuilder::build_with_map(env, signing, |env, signed| match signed {
            Ok(headers) => Ok(headers.into_iter().collect()),
            Err(error) => Err(to_js_rejection(env, error)),
        })
        .map_err(|e| ProxyError::internal(format!("could not start signing: {}", e.reason)))
    })
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
            let signed = headers_to_send(&method, &url, headers, body, scope, &self.credentials)?;
            Ok(HeadersOut(signed))
        })
    }
}
