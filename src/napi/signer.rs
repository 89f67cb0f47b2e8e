//! `signRequest` and `signRequestSync`: the proxy's signer for other backend code.

use std::collections::HashMap;

use aws_credential_types::Credentials;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::error::map_error;
use crate::config::DEFAULT_ROLE_SESSION_NAME;
use crate::credentials::{AssumeRole, CredentialSource};
use crate::signing::{sign_description, sign_description_now, RequestDescription};

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
/// `x-amz-security-token` when the credentials carry a session token.
#[napi(ts_return_type = "Promise<Record<string, string>>")]
pub fn sign_request(env: &Env, input: SignRequestInput) -> Result<AsyncBlock<HashMap<String, String>>> {
    let (description, credentials, source) = split_input(input);
    AsyncBlockBuilder::new(async move {
        let signed = match credentials {
            Some(credentials) => sign_description_now(&description, &credentials.into()),
            None => sign_description(&description, &source).await,
        };
        // Async errors carry only a napi status, so the stable code leads the message.
        signed.map(|headers| headers.into_iter().collect()).map_err(|e| {
            let e = map_error(e);
            Error::new(Status::GenericFailure, format!("{}: {}", e.status, e.reason))
        })
    })
    .build(env)
}

/// Signs a request at once with the given `credentials` (required), on the calling thread.
/// Returns the same headers as `signRequest`.
#[napi]
pub fn sign_request_sync(input: SignRequestInput) -> Result<HashMap<String, String>, String> {
    let (description, credentials, _) = split_input(input);
    let credentials = credentials.ok_or_else(|| {
        napi::Error::new("INVALID_ARGUMENT".to_string(), "signRequestSync needs credentials".to_string())
    })?;
    let headers = sign_description_now(&description, &credentials.into()).map_err(map_error)?;
    Ok(headers.into_iter().collect())
}
