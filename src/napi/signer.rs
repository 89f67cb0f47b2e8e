//! `signRequest`: the proxy's signer for other backend code.

use std::collections::HashMap;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::error::map_error;
use crate::config::DEFAULT_ROLE_SESSION_NAME;
use crate::credentials::{AssumeRole, CredentialSource};
use crate::signing::{sign_description, RequestDescription};

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
}

/// Signs a request with the same credentials, caches and rules the proxy uses. Resolves to
/// every header to send: the given ones, `host`, `x-amz-date`, `authorization`, and
/// `x-amz-security-token` when the credentials carry a session token.
#[napi(ts_return_type = "Promise<Record<string, string>>")]
pub fn sign_request(env: &Env, input: SignRequestInput) -> Result<AsyncBlock<HashMap<String, String>>> {
    let credentials = match input.role_arn {
        Some(role_arn) => CredentialSource::AssumeRole(AssumeRole {
            role_arn,
            session_name: input.role_session_name.unwrap_or_else(|| DEFAULT_ROLE_SESSION_NAME.to_string()),
            external_id: None,
            session_duration: None,
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
        credentials,
    };
    AsyncBlockBuilder::new(async move {
        let headers = sign_description(description).await.map_err(|e| {
            let e = map_error(e);
            Error::new(Status::GenericFailure, format!("{}: {}", e.status, e.reason))
        })?;
        Ok(headers.into_iter().collect())
    })
    .build(env)
}
