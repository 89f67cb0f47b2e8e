//! Per-route policy: which methods and extra headers a route accepts, which static headers it
//! adds, whether callers need Backstage credentials, and its limits. Parsed from the expanded
//! route form; every default is the secure and conservative one.

use std::collections::BTreeMap;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use http::Method;
use serde_json::Value;

use crate::duration::parse_duration;
use crate::error::ProxyError;
use crate::headers::{is_hop_by_hop, is_signing_header};
use crate::redact::Redacted;
use crate::tls::CaCertificates;

/// Time to wait for the upstream's response headers. API Gateway gives up at 29 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Time to wait for a TCP connection (and TLS handshake) to the upstream.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Fits API Gateway's 10 MiB payload limit.
pub const DEFAULT_MAX_REQUEST_BODY_BYTES: u64 = 10 * 1024 * 1024;
/// The methods a route allows unless `allowedMethods` says otherwise. TRACE (which echoes the
/// signed request, session token included) and extension methods must be listed to pass.
pub const DEFAULT_METHODS: [Method; 7] =
    [Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS];

/// Whether callers of a route need Backstage credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallerCredentials {
    /// Decided by the global `allowUnauthenticatedRequests` option.
    Inherit,
    Require,
    DangerouslyAllowUnauthenticated,
}

/// A route's policy. `Debug` prints static header names, never their values.
#[derive(Clone)]
pub struct RoutePolicy {
    /// `None`: [`DEFAULT_METHODS`].
    pub allowed_methods: Option<Vec<Method>>,
    /// Request headers forwarded beyond the default allowlist.
    pub allowed_headers: Vec<HeaderName>,
    /// Added to every request and signed. Values may be secrets: never log them.
    pub static_headers: Vec<(HeaderName, HeaderValue)>,
    pub caller_credentials: CallerCredentials,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Time a request waits for credentials when none are cached; `None`: `timeout`.
    pub credential_timeout: Option<Duration>,
    pub max_request_body_bytes: u64,
    /// Sign `UNSIGNED-PAYLOAD` and stream request bodies through without holding them.
    pub unsigned_payload: bool,
    /// Pass the upstream's origin-wide browser headers (CSP, HSTS, CORS...) to the client, and
    /// add no sandbox: for upstreams trusted to serve pages on the portal's origin.
    pub pass_origin_policy: bool,
    /// CAs this route trusts beyond the process-wide ones (`caFile`); empty without one.
    pub ca_certificates: CaCertificates,
}

impl RoutePolicy {
    /// The methods this route forwards.
    pub fn methods(&self) -> &[Method] {
        self.allowed_methods.as_deref().unwrap_or(&DEFAULT_METHODS)
    }

    /// How long a request may wait for credentials to be fetched.
    pub fn credential_wait(&self) -> Duration {
        self.credential_timeout.unwrap_or(self.timeout)
    }
}

impl std::fmt::Debug for RoutePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let static_headers: Vec<_> = self.static_headers.iter().map(|(name, _)| (name, Redacted)).collect();
        f.debug_struct("RoutePolicy")
            .field("allowed_methods", &self.allowed_methods)
            .field("allowed_headers", &self.allowed_headers)
            .field("static_headers", &static_headers)
            .field("caller_credentials", &self.caller_credentials)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("credential_timeout", &self.credential_timeout)
            .field("max_request_body_bytes", &self.max_request_body_bytes)
            .field("unsigned_payload", &self.unsigned_payload)
            .field("pass_origin_policy", &self.pass_origin_policy)
            .finish()
    }
}

impl Default for RoutePolicy {
    fn default() -> Self {
        Self {
            allowed_methods: None,
            allowed_headers: Vec::new(),
            static_headers: Vec::new(),
            caller_credentials: CallerCredentials::Inherit,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            credential_timeout: None,
            max_request_body_bytes: DEFAULT_MAX_REQUEST_BODY_BYTES,
            unsigned_payload: false,
            pass_origin_policy: false,
            ca_certificates: CaCertificates::default(),
        }
    }
}

/// The policy keys of the expanded route form, as they come from config.
#[derive(Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawPolicy {
    allowed_methods: Option<Vec<String>>,
    allowed_headers: Option<Vec<String>>,
    headers: Option<BTreeMap<String, String>>,
    credentials: Option<String>,
    timeout: Option<Value>,
    connect_timeout: Option<Value>,
    credential_timeout: Option<Value>,
    max_request_body_bytes: Option<Value>,
    unsigned_payload: Option<bool>,
    response_headers: Option<RawResponseHeaders>,
    ca_file: Option<String>,
}

/// `responseHeaders` of the expanded route form.
#[derive(Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawResponseHeaders {
    pass_origin_policy: Option<bool>,
}

impl RawPolicy {
    pub fn validate(self, route: &str) -> Result<RoutePolicy, ProxyError> {
        let fail =
            |key: &str, problem: &dyn std::fmt::Display| ProxyError::invalid_config(route, key, problem);
        let defaults = RoutePolicy::default();
        let allowed_methods = match self.allowed_methods {
            Some(methods) if methods.is_empty() => {
                return Err(fail(
                    "allowedMethods",
                    &"must list at least one method; leave it out for GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
                ))
            }
            Some(methods) => Some(
                methods
                    .iter()
                    .map(|m| parse_method(m).map_err(|p| fail("allowedMethods", &p)))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        let allowed_headers = self
            .allowed_headers
            .unwrap_or_default()
            .iter()
            .map(|name| forwardable_header_name(name).map_err(|p| fail("allowedHeaders", &p)))
            .collect::<Result<_, _>>()?;
        let static_headers = self
            .headers
            .unwrap_or_default()
            .iter()
            .map(|(name, value)| {
                let name = forwardable_header_name(name).map_err(|p| fail("headers", &p))?;
                // The value is deliberately left out of the message: it may be a secret.
                let value = HeaderValue::from_str(value).map_err(|_| {
                    fail("headers", &format!("value of '{name}' is not a valid header value"))
                })?;
                Ok((name, value))
            })
            .collect::<Result<_, ProxyError>>()?;
        let caller_credentials = match self.credentials.as_deref() {
            None => CallerCredentials::Inherit,
            Some("require") => CallerCredentials::Require,
            Some("dangerously-allow-unauthenticated") => CallerCredentials::DangerouslyAllowUnauthenticated,
            Some(_) => {
                return Err(fail("credentials", &"must be 'require' or 'dangerously-allow-unauthenticated'"))
            }
        };
        // Read now, so a missing or wrong file stops the backend at startup, not at a request.
        let ca_certificates = match self.ca_file.as_deref() {
            None => CaCertificates::default(),
            Some("") => return Err(fail("caFile", &"must be the path of a PEM file of CA certificates")),
            Some(path) => {
                CaCertificates::read_pem_file(std::path::Path::new(path)).map_err(|p| fail("caFile", &p))?
            }
        };
        let duration = |key: &str, value: Option<Value>, default: Duration| {
            value.map(|v| parse_duration(&v).map_err(|p| fail(key, &p))).unwrap_or(Ok(default))
        };
        Ok(RoutePolicy {
            allowed_methods,
            allowed_headers,
            static_headers,
            caller_credentials,
            timeout: duration("timeout", self.timeout, defaults.timeout)?,
            connect_timeout: duration("connectTimeout", self.connect_timeout, defaults.connect_timeout)?,
            credential_timeout: self
                .credential_timeout
                .map(|v| parse_duration(&v).map_err(|p| fail("credentialTimeout", &p)))
                .transpose()?,
            max_request_body_bytes: match self.max_request_body_bytes {
                None => defaults.max_request_body_bytes,
                Some(value) => whole_number(&value)
                    .filter(|n| *n > 0)
                    .ok_or_else(|| fail("maxRequestBodyBytes", &"must be a whole number of bytes above 0"))?,
            },
            unsigned_payload: self.unsigned_payload.unwrap_or(false),
            pass_origin_policy: self.response_headers.and_then(|r| r.pass_origin_policy).unwrap_or(false),
            ca_certificates,
        })
    }
}

/// A whole number however it was written: config from JavaScript carries numbers above 2^32
/// as floats (5368709120, S3's 5 GiB limit, arrives as 5368709120.0).
fn whole_number(value: &Value) -> Option<u64> {
    const EXACT_IN_F64: f64 = (1u64 << 53) as f64;
    value.as_u64().or_else(|| {
        let float = value.as_f64()?;
        (float.fract() == 0.0 && (0.0..=EXACT_IN_F64).contains(&float)).then_some(float as u64)
    })
}

/// A method a route may list: any HTTP method token but CONNECT (the proxy opens no tunnels).
/// Written in any case; methods are case-sensitive on the wire, and the standard ones are upper.
fn parse_method(method: &str) -> Result<Method, String> {
    let upper = method.to_ascii_uppercase();
    match Method::from_bytes(upper.as_bytes()) {
        Ok(Method::CONNECT) => Err("CONNECT cannot be proxied".to_string()),
        Ok(parsed) if !upper.is_empty() => Ok(parsed),
        _ => Err(format!("'{method}' is not an HTTP method name")),
    }
}

/// A header name a route may forward or add: not hop-by-hop, and not one the signature owns.
fn forwardable_header_name(name: &str) -> Result<HeaderName, String> {
    let header = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("'{name}' is not a valid header name"))?;
    let lower = header.as_str();
    if is_hop_by_hop(lower)
        || is_signing_header(lower)
        || matches!(lower, "host" | "cookie" | "content-length")
    {
        return Err(format!("'{name}' cannot be forwarded: the proxy sets or strips it"));
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(value: Value) -> Result<RoutePolicy, String> {
        let raw: RawPolicy = serde_json::from_value(value).unwrap();
        raw.validate("/r").map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_conservative() {
        let p = policy(json!({})).unwrap();
        assert_eq!(p.methods(), DEFAULT_METHODS);
        assert!(!p.methods().contains(&Method::TRACE));
        assert!(!p.pass_origin_policy);
        assert_eq!(p.credential_wait(), DEFAULT_TIMEOUT);
        assert_eq!(p.caller_credentials, CallerCredentials::Inherit);
        assert_eq!(p.timeout, DEFAULT_TIMEOUT);
        assert_eq!(p.max_request_body_bytes, 10 * 1024 * 1024);
    }

    #[test]
    fn reads_every_option() {
        let p = policy(json!({
            "allowedMethods": ["get", "POST"],
            "allowedHeaders": ["X-Team"],
            "headers": { "x-api-key": "s3cr3t" },
            "credentials": "dangerously-allow-unauthenticated",
            "timeout": "5s",
            "connectTimeout": { "milliseconds": 250 },
            "credentialTimeout": "2s",
            "maxRequestBodyBytes": 1024,
            "responseHeaders": { "passOriginPolicy": true }
        }))
        .unwrap();
        assert_eq!(p.allowed_methods, Some(vec![Method::GET, Method::POST]));
        assert_eq!(p.credential_wait(), Duration::from_secs(2));
        assert!(p.pass_origin_policy);
        assert_eq!(p.allowed_headers, vec![HeaderName::from_static("x-team")]);
        assert_eq!(p.static_headers[0].0, "x-api-key");
        assert_eq!(p.caller_credentials, CallerCredentials::DangerouslyAllowUnauthenticated);
        assert_eq!(p.timeout, Duration::from_secs(5));
        assert_eq!(p.connect_timeout, Duration::from_millis(250));
        assert_eq!(p.max_request_body_bytes, 1024);
    }

    #[test]
    fn takes_s3_s_5_gib_limit_written_either_way() {
        for written in [json!(5368709120u64), json!(5368709120.0)] {
            let p = policy(json!({ "maxRequestBodyBytes": written })).unwrap();
            assert_eq!(p.max_request_body_bytes, 5 * 1024 * 1024 * 1024);
        }
    }

    #[test]
    fn extension_methods_and_trace_pass_only_when_listed() {
        let p = policy(json!({ "allowedMethods": ["TRACE", "propfind"] })).unwrap();
        assert_eq!(p.methods(), [Method::TRACE, Method::from_bytes(b"PROPFIND").unwrap()]);
    }

    #[test]
    fn names_the_key_and_never_the_secret() {
        let cases = [
            (json!({ "allowedMethods": ["CONNECT"] }), "proxysigv4./r.allowedMethods:"),
            (json!({ "allowedMethods": ["GE T"] }), "proxysigv4./r.allowedMethods:"),
            (json!({ "credentialTimeout": "never" }), "proxysigv4./r.credentialTimeout:"),
            (json!({ "allowedMethods": [] }), "proxysigv4./r.allowedMethods:"),
            (json!({ "allowedHeaders": ["Authorization"] }), "proxysigv4./r.allowedHeaders:"),
            (json!({ "allowedHeaders": ["x-amz-date"] }), "proxysigv4./r.allowedHeaders:"),
            (json!({ "allowedHeaders": ["Connection"] }), "proxysigv4./r.allowedHeaders:"),
            (json!({ "headers": { "bad name": "v" } }), "proxysigv4./r.headers:"),
            (json!({ "credentials": "forward" }), "proxysigv4./r.credentials:"),
            (json!({ "timeout": "soon" }), "proxysigv4./r.timeout:"),
            (json!({ "connectTimeout": 5 }), "proxysigv4./r.connectTimeout:"),
            (json!({ "maxRequestBodyBytes": -1 }), "proxysigv4./r.maxRequestBodyBytes:"),
            (json!({ "maxRequestBodyBytes": 1.5 }), "proxysigv4./r.maxRequestBodyBytes:"),
            (json!({ "maxRequestBodyBytes": 1e300 }), "proxysigv4./r.maxRequestBodyBytes:"),
            (json!({ "caFile": "" }), "proxysigv4./r.caFile:"),
            (json!({ "caFile": "/nonexistent/proxy-sigv4/ca.pem" }), "proxysigv4./r.caFile: cannot read"),
        ];
        for (value, prefix) in cases {
            let message = policy(value.clone()).unwrap_err();
            assert!(message.starts_with(prefix), "{value}: {message}");
        }
        let message = policy(json!({ "headers": { "x-api-key": "top-secret\r\nx: y" } })).unwrap_err();
        assert!(
            message.starts_with("proxysigv4./r.headers:") && !message.contains("top-secret"),
            "{message}"
        );
    }
}
