//! The `proxysigv4` configuration: Segment's format, parsed and validated once at startup.
//!
//! ```yaml
//! proxysigv4:
//!   allowUnauthenticatedRequests: false      # an option, never a route
//!   '/service-a': https://abc.execute-api.us-west-2.amazonaws.com/prod
//!   '/service-b':
//!     target: https://search-x.us-east-1.es.amazonaws.com
//!     roleArn: arn:aws:iam::123456789012:role/reader
//!     roleSessionName: backstage
//!     service: es            # optional when it can be inferred from the host
//!     region: us-east-1
//! ```
//! Every error names the route and key it is about, as `proxysigv4.<route>.<key>: <problem>`.

use std::time::Duration;

use http::uri::{Authority, Scheme};
use http::Uri;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::credentials::{AssumeRole, CredentialSource, DEFAULT_REREAD_INTERVAL};
use crate::duration::parse_duration;
use crate::endpoint::{infer_scope, SigningScope};
use crate::error::ProxyError;
use crate::policy::{RawPolicy, RoutePolicy};
use crate::route_match::keys_alike;
use crate::signing::SIGV4A_STS_REGION;

/// Segment's default, kept so CloudTrail and IAM conditions see the same session name.
pub const DEFAULT_ROLE_SESSION_NAME: &str = "tempAssumeRoleSession";

/// A validated route. Its `Debug` output holds no secret: the policy and credential source
/// redact static header values and the external id.
#[derive(Clone, Debug)]
pub struct Route {
    /// The config key, e.g. `/service-a`.
    pub key: String,
    pub target: Target,
    pub scope: SigningScope,
    /// The Host the request is signed for and sent with: the target's, or `hostHeader` when the
    /// route connects to a VPC endpoint or an IP while the API answers to another name.
    pub signing_host: String,
    pub credentials: CredentialSource,
    pub policy: RoutePolicy,
    /// Set when the route signs with SigV4A (`signingAlgorithm: sigv4a`): the region set its
    /// signatures are valid in (`*`, or regions joined by commas), e.g. for S3 Multi-Region
    /// Access Points. `scope.region` stays a single region, for STS.
    pub sigv4a_region_set: Option<String>,
}

/// Where a route forwards to: scheme and authority are fixed; request paths go under `base_path`.
#[derive(Clone, Debug)]
pub struct Target {
    pub scheme: Scheme,
    pub authority: Authority,
    /// The path as written in the config (may be empty, may end in `/`).
    pub base_path: String,
    /// `scheme://authority`, the origin the upstream's own absolute redirects point to.
    pub origin: String,
}

/// The keys of the expanded route form. Others are rejected so a typo is not silently ignored.
const ROUTE_KEYS: [&str; 23] = [
    "target",
    "hostHeader",
    "profile",
    "stsRegion",
    "roleArn",
    "roleSessionName",
    "externalId",
    "sessionDuration",
    "service",
    "region",
    "allowedMethods",
    "allowedHeaders",
    "headers",
    "credentials",
    "timeout",
    "connectTimeout",
    "credentialTimeout",
    "maxRequestBodyBytes",
    "unsignedPayload",
    "responseHeaders",
    "caFile",
    "signingAlgorithm",
    "regionSet",
];

/// The expanded route form.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExpandedRoute {
    target: String,
    role_arn: Option<String>,
    role_session_name: Option<String>,
    external_id: Option<String>,
    session_duration: Option<Value>,
    sts_region: Option<String>,
    profile: Option<String>,
    host_header: Option<String>,
    service: Option<String>,
    region: Option<String>,
    signing_algorithm: Option<String>,
    region_set: Option<Value>,
}

/// Parses the whole `proxysigv4` object. `null` (no config) gives no routes.
pub fn parse_routes(config: &Value) -> Result<Vec<Route>, ProxyError> {
    let entries = match config {
        Value::Null => return Ok(Vec::new()),
        Value::Object(entries) => entries,
        _ => return Err(ProxyError::invalid_config("", "", "must be an object of routes")),
    };
    check_options(entries)?;
    let mut routes = entries
        .iter()
        .filter(|(key, _)| key.starts_with('/'))
        .map(|(key, value)| parse_route(key, value, key))
        .collect::<Result<Vec<_>, _>>()?;
    routes.extend(endpoint_routes(entries)?);
    check_keys_distinct(&routes)?;
    Ok(routes)
}

/// Route keys that differ only in letter case would select each other's upstream paths on a
/// case-insensitive server, and make route selection ambiguous: refused.
fn check_keys_distinct(routes: &[Route]) -> Result<(), ProxyError> {
    for (i, route) in routes.iter().enumerate() {
        if let Some(twin) = routes[..i].iter().find(|other| keys_alike(&other.key, &route.key)) {
            return Err(ProxyError::invalid_config(
                &route.key,
                "",
                format!("differs from route {} only in letter case; use one spelling", twin.key),
            ));
        }
    }
    Ok(())
}

/// The options of the whole proxy (as opposed to one route's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyOptions {
    /// `credentialRereadInterval`: how often credentials without an expiry are read again.
    pub credential_reread_interval: Duration,
}

const REREAD_INTERVAL_KEY: &str = "credentialRereadInterval";

/// The proxy-wide options; `parse_routes` has checked them.
pub fn parse_options(config: &Value) -> Result<ProxyOptions, ProxyError> {
    let interval = match config.get(REREAD_INTERVAL_KEY) {
        None => DEFAULT_REREAD_INTERVAL,
        Some(value) => reread_interval(value)?,
    };
    Ok(ProxyOptions { credential_reread_interval: interval })
}

fn reread_interval(value: &Value) -> Result<Duration, ProxyError> {
    parse_duration(value).ok().filter(|d| *d >= Duration::from_secs(1)).ok_or_else(|| {
        ProxyError::invalid_config(
            REREAD_INTERVAL_KEY,
            "",
            "must be a duration of at least 1 second, e.g. '15m'",
        )
    })
}

/// Options sit beside the routes and are never taken for routes. The addon checks them; the
/// Backstage plugin acts on `allowUnauthenticatedRequests`.
fn check_options(entries: &Map<String, Value>) -> Result<(), ProxyError> {
    for (key, value) in entries.iter().filter(|(key, _)| !key.starts_with('/')) {
        let valid = match key.as_str() {
            "allowUnauthenticatedRequests" => value.is_boolean(),
            "endpoints" => value.is_object(),
            REREAD_INTERVAL_KEY => reread_interval(value).map(|_| true)?,
            SIGNER_KEY => check_signer(value).map(|_| true)?,
            crate::temporary_credentials::KEY => value.is_object(),
            AUDIT_EVENTS_KEY => value.as_str().is_some_and(|v| AUDIT_EVENTS.contains(&v)),
            _ => {
                return Err(ProxyError::invalid_config(key, "", "unknown option (route keys start with '/')"))
            }
        };
        if !valid {
            let expected = match key.as_str() {
                "endpoints" => "must be an object of routes",
                crate::temporary_credentials::KEY => "must be an object with roles",
                AUDIT_EVENTS_KEY => "must be one of all, mutations, none",
                _ => "must be true or false",
            };
            return Err(ProxyError::invalid_config(key, "", expected));
        }
    }
    Ok(())
}

/// Which proxied requests get an audit event: every one (the default), only those whose method
/// may change something (not GET, HEAD or OPTIONS), or none. The Backstage plugin acts on it.
const AUDIT_EVENTS_KEY: &str = "auditEvents";
const AUDIT_EVENTS: [&str; 3] = ["all", "mutations", "none"];

/// Options for the signer service other backend plugins use (`proxy-sigv4-node`).
const SIGNER_KEY: &str = "signer";

/// `signer: { allowedRoles: [role ARN, ...] }`: the roles other backend code may sign as. The
/// service acts on it; the shape is checked here with the rest of the config.
fn check_signer(value: &Value) -> Result<(), ProxyError> {
    let fail = |key: &str, expected: &str| Err(ProxyError::invalid_config(SIGNER_KEY, key, expected));
    let Some(signer) = value.as_object() else {
        return fail("", "must be an object, e.g. { allowedRoles: [...] }");
    };
    for (key, value) in signer {
        if key != "allowedRoles" {
            return fail(key, "unknown option (known: allowedRoles)");
        }
        let roles = value.as_array().map(|roles| roles.iter().all(|r| r.as_str().is_some_and(is_role_arn)));
        if roles != Some(true) {
            return fail(key, "must be a list of IAM role ARNs (arn:aws:iam::123456789012:role/name)");
        }
    }
    Ok(())
}


/// Routes under `proxysigv4.endpoints` (the shape Backstage's proxy-backend uses), checked so
/// that no route is given twice.
fn endpoint_routes(entries: &Map<String, Value>) -> Result<Vec<Route>, ProxyError> {
    let Some(Value::Object(endpoints)) = entries.get("endpoints") else { return Ok(Vec::new()) };
    endpoints
        .iter()
        .map(|(key, value)| {
            let at = format!("endpoints.{key}");
            if !key.starts_with('/') {
                return Err(ProxyError::invalid_config(&at, "", "a route key starts with '/'"));
            }
            if entries.contains_key(key) {
                return Err(ProxyError::invalid_config(
                    &at,
                    "",
                    format!("is also given as proxysigv4.{key}"),
                ));
            }
            parse_route(key, value, &at)
        })
        .collect()
}

/// Deserializes the route object at `at`; a type error names the key and the expected type,
/// never the value (it may be a secret), e.g. `proxysigv4./r.externalId: invalid type, expected
/// a string`.
fn deserialize_at<T: serde::de::DeserializeOwned>(at: &str, value: &Value) -> Result<T, ProxyError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let key = e.path().to_string();
        let problem = without_value(&e.into_inner().to_string());
        ProxyError::invalid_config(at, if key == "." { "" } else { &key }, problem)
    })
}

/// A serde error message with the offending value cut out: serde writes `invalid type: floating
/// point `987654321012.0`, expected a string`, which would put a secret into a startup log.
fn without_value(message: &str) -> String {
    for kind in ["invalid type", "invalid value", "invalid length"] {
        if message.starts_with(kind) {
            return match message.rsplit_once(", expected ") {
                Some((_, expected)) => format!("{kind}, expected {expected}"),
                None => kind.to_string(),
            };
        }
    }
    if message.starts_with("missing field") || message.starts_with("unknown field") {
        return message.to_string();
    }
    "has a value of the wrong type".to_string()
}

/// Parses one route; `at` is where it sits in the config, for error messages.
fn parse_route(key: &str, value: &Value, at: &str) -> Result<Route, ProxyError> {
    check_route_key(key, at)?;
    let (expanded, raw_policy) = match value {
        Value::String(target) => {
            (ExpandedRoute { target: target.clone(), ..ExpandedRoute::default() }, RawPolicy::default())
        }
        Value::Object(fields) => {
            if let Some(unknown) = fields.keys().find(|k| !ROUTE_KEYS.contains(&k.as_str())) {
                return Err(ProxyError::invalid_config(
                    at,
                    unknown,
                    format!("unknown key; a route takes {}", ROUTE_KEYS.join(", ")),
                ));
            }
            (deserialize_at(at, value)?, deserialize_at(at, value)?)
        }
        _ => {
            return Err(ProxyError::invalid_config(at, "", "must be a target URL or an object with 'target'"))
        }
    };
    let credentials = credential_source(at, &expanded)?;
    let target = parse_target(at, &expanded.target)?;
    let signing_host = signing_host(at, &target, expanded.host_header.as_deref())?;
    let sigv4a_region_set = sigv4a_region_set(at, &expanded)?;
    // A SigV4A signature names no single region; STS still needs one when none is inferred.
    let region = match (&expanded.region, &sigv4a_region_set) {
        (None, Some(_)) if infer_scope(&signing_host).is_none() => Some(SIGV4A_STS_REGION.to_string()),
        _ => expanded.region,
    };
    let scope = signing_scope(at, &signing_host, &target, expanded.service, region)?;
    let policy = raw_policy.validate(at)?;
    if target.scheme == Scheme::HTTP && !policy.ca_certificates.is_empty() {
        return Err(ProxyError::invalid_config(at, "caFile", "is only used with an https target"));
    }
    Ok(Route { key: key.to_string(), target, scope, signing_host, credentials, policy, sigv4a_region_set })
}

/// `signingAlgorithm` (`sigv4`, the default, or `sigv4a`) and `regionSet` (SigV4A only: `'*'`,
/// the default, or a list of regions): the region set to sign SigV4A for, or None for SigV4.
fn sigv4a_region_set(at: &str, route: &ExpandedRoute) -> Result<Option<String>, ProxyError> {
    match (route.signing_algorithm.as_deref(), &route.region_set) {
        (None | Some("sigv4"), None) => Ok(None),
        (None | Some("sigv4"), Some(_)) => {
            Err(ProxyError::invalid_config(at, "regionSet", "is only used with signingAlgorithm: sigv4a"))
        }
        (Some("sigv4a"), None) => Ok(Some("*".to_string())),
        (Some("sigv4a"), Some(set)) => {
            let regions: Option<Vec<&str>> = match set {
                Value::String(one) => Some(vec![one.as_str()]),
                Value::Array(many) => many.iter().map(Value::as_str).collect(),
                _ => None,
            };
            match regions {
                Some(regions) if !regions.is_empty() && regions.iter().all(|r| *r == "*" || is_aws_name(r)) => {
                    Ok(Some(regions.join(",")))
                }
                _ => Err(ProxyError::invalid_config(at, "regionSet", "must be '*' or a list of regions")),
            }
        }
        (Some(_), _) => Err(ProxyError::invalid_config(at, "signingAlgorithm", "must be 'sigv4' or 'sigv4a'")),
    }
}

fn check_route_key(key: &str, at: &str) -> Result<(), ProxyError> {
    if key.starts_with("/.") {
        return Err(ProxyError::invalid_config(
            at,
            "",
            "paths starting with '/.' are the plugin's own (e.g. /.health); give the route another key",
        ));
    }
    let segments_ok = key[1..]
        .split('/')
        .all(|s| !s.is_empty() && s != "." && s != ".." && s.bytes().all(is_route_key_byte));
    if segments_ok {
        Ok(())
    } else {
        Err(ProxyError::invalid_config(
            at,
            "",
            "a route key is '/' and one or more non-empty segments of letters, digits, '-', '_', '.' or '~'",
        ))
    }
}

fn is_route_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

fn parse_target(key: &str, target: &str) -> Result<Target, ProxyError> {
    let fail = |problem: &str| ProxyError::invalid_config(key, "target", problem);
    let uri: Uri = target.parse().map_err(|_| fail("is not a URL"))?;
    let scheme = uri.scheme().cloned().ok_or_else(|| fail("needs http:// or https://"))?;
    if scheme != Scheme::HTTPS && scheme != Scheme::HTTP {
        return Err(fail("needs http:// or https://"));
    }
    let authority = uri.authority().cloned().ok_or_else(|| fail("needs a host"))?;
    if authority.as_str().contains('@') {
        return Err(fail("must not contain credentials (user@host)"));
    }
    if authority.host().is_empty() {
        return Err(fail("needs a host"));
    }
    if uri.query().is_some() || target.contains('#') {
        return Err(fail("must not contain a query or fragment"));
    }
    let base_path = if target_has_path(target) { uri.path().to_string() } else { String::new() };
    let origin = format!("{scheme}://{authority}");
    Ok(Target { scheme, authority, base_path, origin })
}

/// `http::Uri` reports "/" for "https://host"; we keep the target exactly as written.
fn target_has_path(target: &str) -> bool {
    target.split_once("://").map(|(_, rest)| rest.contains('/')).unwrap_or(false)
}

/// The Host to sign for: `hostHeader` (a plain host name, optionally with a port) or the target's.
fn signing_host(at: &str, target: &Target, host_header: Option<&str>) -> Result<String, ProxyError> {
    let Some(host) = host_header else { return Ok(target.authority.as_str().to_string()) };
    match host.parse::<Authority>() {
        Ok(authority) if !authority.as_str().contains('@') && !authority.host().is_empty() => {
            Ok(host.to_string())
        }
        _ => Err(ProxyError::invalid_config(at, "hostHeader", "must be a host name, optionally with a port")),
    }
}

/// The signing scope: given, or inferred from the signing host, then from the target host.
fn signing_scope(
    at: &str,
    signing_host: &str,
    target: &Target,
    service: Option<String>,
    region: Option<String>,
) -> Result<SigningScope, ProxyError> {
    for (name, value) in [("service", &service), ("region", &region)] {
        if let Some(v) = value {
            if !is_aws_name(v) {
                return Err(ProxyError::invalid_config(
                    at,
                    name,
                    "must be a non-empty AWS name (letters, digits, '-')",
                ));
            }
        }
    }
    let inferred = infer_scope(signing_host).or_else(|| infer_scope(target.authority.as_str()));
    let service = service.or_else(|| inferred.as_ref().map(|s| s.service.clone()));
    let region = region.or_else(|| inferred.map(|s| s.region));
    match (service, region) {
        (Some(service), Some(region)) => Ok(SigningScope { service, region }),
        (service, _) => Err(ProxyError::invalid_config(
            at,
            if service.is_none() { "service" } else { "region" },
            format!(
                "cannot be inferred from host '{signing_host}'; set 'service' and 'region' for this route"
            ),
        )),
    }
}

fn is_aws_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn credential_source(at: &str, route: &ExpandedRoute) -> Result<CredentialSource, ProxyError> {
    if let Some(profile) = &route.profile {
        if profile.is_empty() || !profile.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
            return Err(ProxyError::invalid_config(
                at,
                "profile",
                "must be a profile name (letters, digits, '-', '_', '.')",
            ));
        }
    }
    let Some(role_arn) = route.role_arn.clone() else {
        let assume_role_only = [
            ("roleSessionName", route.role_session_name.is_some()),
            ("externalId", route.external_id.is_some()),
            ("sessionDuration", route.session_duration.is_some()),
            ("stsRegion", route.sts_region.is_some()),
        ];
        if let Some((name, _)) = assume_role_only.iter().find(|(_, given)| *given) {
            return Err(ProxyError::invalid_config(at, name, "is only used with 'roleArn'"));
        }
        return Ok(match &route.profile {
            Some(profile) => CredentialSource::Profile(profile.clone()),
            None => CredentialSource::DefaultChain,
        });
    };
    if !is_role_arn(&role_arn) {
        return Err(ProxyError::invalid_config(
            at,
            "roleArn",
            "must be an IAM role ARN like arn:aws:iam::123456789012:role/name",
        ));
    }
    let session_name =
        route.role_session_name.clone().unwrap_or_else(|| DEFAULT_ROLE_SESSION_NAME.to_string());
    if !is_session_name(&session_name) {
        return Err(ProxyError::invalid_config(
            at,
            "roleSessionName",
            "must be 2-64 characters of letters, digits and +=,.@-_",
        ));
    }
    if let Some(external_id) = &route.external_id {
        let allowed = |b: u8| is_session_name_byte(b) || b == b'/' || b == b':';
        if !(2..=1224).contains(&external_id.len()) || !external_id.bytes().all(allowed) {
            return Err(ProxyError::invalid_config(
                at,
                "externalId",
                "must be 2-1224 characters of letters, digits and +=,.@:/-_",
            ));
        }
    }
    if let Some(region) = &route.sts_region {
        if !is_aws_name(region) {
            return Err(ProxyError::invalid_config(at, "stsRegion", "must be an AWS region name"));
        }
    }
    // STS itself enforces the allowed range (usually 15 min to the role's maximum).
    let session_duration = route
        .session_duration
        .as_ref()
        .map(|value| {
            parse_duration(value)
                .map_err(|problem| ProxyError::invalid_config(at, "sessionDuration", problem))
        })
        .transpose()?;
    Ok(CredentialSource::AssumeRole(AssumeRole {
        role_arn,
        session_name,
        external_id: route.external_id.clone(),
        session_duration,
        sts_region: route.sts_region.clone(),
        base_profile: route.profile.clone(),
    }))
}

/// `arn:<partition>:iam::<12-digit account>:role/<path/>name`
pub(crate) fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "iam", "", account, resource] => {
            partition.starts_with("aws")
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource.strip_prefix("role/").is_some_and(|name| !name.is_empty() && !name.ends_with('/'))
        }
        _ => false,
    }
}

fn is_session_name(name: &str) -> bool {
    (2..=64).contains(&name.len()) && name.bytes().all(is_session_name_byte)
}

fn is_session_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"+=,.@-_".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error_of(config: Value) -> String {
        parse_routes(&config).expect_err("config should be rejected").to_string()
    }

    #[test]
    fn checks_the_signer_option() {
        let route = json!("https://abc.execute-api.us-west-2.amazonaws.com/prod");
        let with = |signer: Value| json!({ "/api": route, "signer": signer });
        let ok = with(json!({ "allowedRoles": ["arn:aws:iam::123456789012:role/deploy"] }));
        assert!(parse_routes(&ok).is_ok());
        for (signer, names) in [
            (json!(["arn:aws:iam::123456789012:role/deploy"]), "proxysigv4.signer:"),
            (json!({ "allowedRole": [] }), "proxysigv4.signer.allowedRole:"),
            (json!({ "allowedRoles": ["arn:aws:iam::123456789012:user/me"] }), "proxysigv4.signer.allowedRoles:"),
            (json!({ "allowedRoles": ["arn:aws:iam::12345:role/short"] }), "proxysigv4.signer.allowedRoles:"),
            (json!({ "allowedRoles": "arn:aws:iam::123456789012:role/deploy" }), "proxysigv4.signer.allowedRoles:"),
        ] {
            let error = parse_routes(&with(signer.clone())).expect_err(&signer.to_string());
            assert!(error.to_string().starts_with(names), "{error}");
        }
    }

    #[test]
    fn accepts_short_expanded_and_mixed_forms_beside_options() {
        let routes = parse_routes(&json!({
            "allowUnauthenticatedRequests": false,
            "/short": "https://abc.execute-api.us-west-2.amazonaws.com/prod",
            "/expanded": {
                "target": "http://127.0.0.1:9000",
                "roleArn": "arn:aws:iam::123456789012:role/reader",
                "service": "execute-api",
                "region": "eu-west-1"
            }
        }))
        .unwrap();
        assert_eq!(routes.len(), 2);
        let short = routes.iter().find(|r| r.key == "/short").unwrap();
        assert_eq!(short.scope, SigningScope { service: "execute-api".into(), region: "us-west-2".into() });
        assert_eq!(short.target.base_path, "/prod");
        assert!(matches!(short.credentials, CredentialSource::DefaultChain));
        let expanded = routes.iter().find(|r| r.key == "/expanded").unwrap();
        assert_eq!(expanded.target.base_path, "");
        match &expanded.credentials {
            CredentialSource::AssumeRole(AssumeRole { session_name, .. }) => {
                assert_eq!(session_name, DEFAULT_ROLE_SESSION_NAME)
            }
            other => panic!("expected AssumeRole, got {other:?}"),
        }
    }

    #[test]
    fn no_config_means_no_routes() {
        assert!(parse_routes(&Value::Null).unwrap().is_empty());
    }

    #[test]
    fn target_is_kept_exactly_as_written() {
        let routes = parse_routes(&json!({ "/a": "https://sqs.us-east-1.amazonaws.com/q/" })).unwrap();
        assert_eq!(routes[0].target.base_path, "/q/");
    }

    #[test]
    fn bad_values_name_the_route_and_key() {
        assert_eq!(error_of(json!({ "/svc": "not a url" })), "proxysigv4./svc.target: is not a URL");
        assert!(error_of(json!({ "/svc": "ftp://h.example.com" })).starts_with("proxysigv4./svc.target:"));
        assert!(
            error_of(json!({ "/svc": "https://u:p@h.example.com" })).starts_with("proxysigv4./svc.target:")
        );
        assert!(
            error_of(json!({ "/svc": "https://h.example.com/?a=1" })).starts_with("proxysigv4./svc.target:")
        );
        assert!(error_of(json!({ "/svc": { "target": "https://abc.execute-api.us-west-2.amazonaws.com", "roleArn": "nope" } }))
            .starts_with("proxysigv4./svc.roleArn:"));
        assert!(error_of(json!({ "/svc": { "target": "https://abc.execute-api.us-west-2.amazonaws.com", "roleSessionName": "x y" } }))
            .starts_with("proxysigv4./svc.roleSessionName:"));
        assert!(error_of(
            json!({ "/svc": { "target": "https://abc.execute-api.us-west-2.amazonaws.com", "targte": "x" } })
        )
        .starts_with("proxysigv4./svc.targte: unknown key"));
        assert!(error_of(json!({ "/svc": { "roleArn": "arn:aws:iam::123456789012:role/r" } }))
            .contains("missing field `target`"));
        assert!(error_of(json!({ "/svc": 42 })).starts_with("proxysigv4./svc:"));
        let target = "https://abc.execute-api.us-west-2.amazonaws.com";
        assert!(error_of(json!({ "/svc": { "target": target, "allowedMethods": "GET" } }))
            .starts_with("proxysigv4./svc.allowedMethods: invalid type"));
        assert!(error_of(json!({ "/svc": { "target": target, "headers": { "x-a": 1 } } }))
            .starts_with("proxysigv4./svc.headers.x-a: invalid type"));
    }

    #[test]
    fn type_errors_name_the_expected_type_and_never_the_value() {
        let target = "https://abc.execute-api.us-west-2.amazonaws.com";
        for (key, value) in [
            ("externalId", json!(987654321012.0)),
            ("externalId", json!(987654321012_u64)),
            ("headers", json!({ "x-api-key": 987654321012_u64 })),
            ("headers", json!({ "x-api-key": true })),
            ("roleArn", json!(["987654321012"])),
            ("unsignedPayload", json!("987654321012")),
            ("responseHeaders", json!({ "passOriginPolicy": "987654321012" })),
        ] {
            let message = error_of(json!({ "/svc": { "target": target, key: value } }));
            assert!(message.starts_with(&format!("proxysigv4./svc.{key}")), "{message}");
            assert!(message.contains("expected"), "{message}");
            assert!(!message.contains("987654321012") && !message.contains("true"), "{message}");
        }
    }

    #[test]
    fn route_keys_that_differ_only_in_case_are_refused() {
        let target = "https://abc.execute-api.us-west-2.amazonaws.com";
        let message = error_of(json!({ "/api": target, "/API": target }));
        assert!(message.contains("only in letter case"), "{message}");
    }

    #[test]
    fn unknown_host_needs_service_and_region() {
        let message = error_of(json!({ "/svc": "https://api.example.com" }));
        assert!(
            message.starts_with("proxysigv4./svc.service: cannot be inferred from host 'api.example.com'"),
            "{message}"
        );
        let message =
            error_of(json!({ "/svc": { "target": "https://api.example.com", "service": "execute-api" } }));
        assert!(message.starts_with("proxysigv4./svc.region:"), "{message}");
    }

    #[test]
    fn options_are_not_routes_and_unknown_options_fail() {
        assert!(parse_routes(&json!({ "allowUnauthenticatedRequests": true })).unwrap().is_empty());
        let options = parse_options(&json!({ "credentialRereadInterval": "2m" })).unwrap();
        assert_eq!(options.credential_reread_interval, Duration::from_secs(120));
        assert_eq!(parse_options(&json!({})).unwrap().credential_reread_interval, DEFAULT_REREAD_INTERVAL);
        for bad in [json!("0s"), json!("soon"), json!(5)] {
            assert!(error_of(json!({ "credentialRereadInterval": bad }))
                .starts_with("proxysigv4.credentialRereadInterval: must be a duration"));
        }
        assert!(error_of(json!({ "allowUnauthenticatedRequests": "yes" }))
            .starts_with("proxysigv4.allowUnauthenticatedRequests:"));
        assert!(error_of(json!({ "allowUnauthenticatedRequest": true })).contains("unknown option"));
        for mode in ["all", "mutations", "none"] {
            assert!(parse_routes(&json!({ "auditEvents": mode })).is_ok(), "{mode}");
        }
        for bad in [json!("some"), json!(false), json!(["all"])] {
            assert_eq!(
                error_of(json!({ "auditEvents": bad })),
                "proxysigv4.auditEvents: must be one of all, mutations, none"
            );
        }
    }

    #[test]
    fn route_keys_are_plain_segments() {
        for key in ["/", "/a/", "/a//b", "/..", "/a b", "/a?b", "/%2e"] {
            let message = error_of(json!({ key: "https://abc.execute-api.us-west-2.amazonaws.com" }));
            assert!(message.starts_with(&format!("proxysigv4.{key}:")), "{key}: {message}");
        }
        assert!(parse_routes(
            &json!({ "/team-a/api.v2": "https://abc.execute-api.us-west-2.amazonaws.com" })
        )
        .is_ok());
        for key in ["/.health", "/.well-known"] {
            let message = error_of(json!({ key: "https://abc.execute-api.us-west-2.amazonaws.com" }));
            assert!(message.contains("are the plugin's own"), "{key}: {message}");
        }
    }

    #[test]
    fn assume_role_options_are_read_and_checked() {
        let routes = parse_routes(&json!({ "/r": {
            "target": "https://abc.execute-api.us-west-2.amazonaws.com",
            "roleArn": "arn:aws:iam::123456789012:role/reader",
            "externalId": "team-a:42",
            "sessionDuration": "1h"
        } }))
        .unwrap();
        match &routes[0].credentials {
            CredentialSource::AssumeRole(role) => {
                assert_eq!(role.external_id.as_deref(), Some("team-a:42"));
                assert_eq!(role.session_duration, Some(std::time::Duration::from_secs(3600)));
            }
            other => panic!("expected AssumeRole, got {other:?}"),
        }
        let target = "https://abc.execute-api.us-west-2.amazonaws.com";
        let role = "arn:aws:iam::123456789012:role/reader";
        assert!(error_of(json!({ "/r": { "target": target, "externalId": "x1" } }))
            .starts_with("proxysigv4./r.externalId: is only used with 'roleArn'"));
        assert!(error_of(json!({ "/r": { "target": target, "roleArn": role, "externalId": "a b" } }))
            .starts_with("proxysigv4./r.externalId:"));
        assert!(error_of(json!({ "/r": { "target": target, "roleArn": role, "sessionDuration": "long" } }))
            .starts_with("proxysigv4./r.sessionDuration:"));
    }

    #[test]
    fn debug_output_holds_no_static_header_value_or_external_id() {
        let routes = parse_routes(&json!({ "/r": {
            "target": "https://abc.execute-api.us-west-2.amazonaws.com",
            "roleArn": "arn:aws:iam::123456789012:role/reader",
            "externalId": "ext-id-4242",
            "headers": { "x-api-key": "s3cr3t-header-value" }
        } }))
        .unwrap();
        let printed = format!("{:?} {:#?}", routes[0], routes[0]);
        assert!(!printed.contains("s3cr3t-header-value"), "{printed}");
        assert!(!printed.contains("ext-id-4242"), "{printed}");
        assert!(printed.contains("x-api-key") && printed.contains("<redacted>"), "{printed}");
        assert!(printed.contains("arn:aws:iam::123456789012:role/reader"), "{printed}");
    }

    #[test]
    fn routes_may_also_sit_under_endpoints() {
        let routes = parse_routes(&json!({
            "/a": "https://abc.execute-api.us-west-2.amazonaws.com",
            "endpoints": { "/b": { "target": "https://sqs.eu-west-1.amazonaws.com", "allowedMethods": ["POST"] } }
        }))
        .unwrap();
        let keys: Vec<&str> = routes.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["/a", "/b"]);
        assert_eq!(routes[1].scope.service, "sqs");
        assert!(
            error_of(json!({ "endpoints": { "/b": "nope" } })).starts_with("proxysigv4.endpoints./b.target:")
        );
        assert!(error_of(json!({ "/b": "https://sqs.eu-west-1.amazonaws.com", "endpoints": { "/b": "https://sqs.eu-west-1.amazonaws.com" } }))
            .starts_with("proxysigv4.endpoints./b: is also given as proxysigv4./b"));
        assert!(error_of(json!({ "endpoints": { "b": "https://sqs.eu-west-1.amazonaws.com" } }))
            .starts_with("proxysigv4.endpoints.b:"));
        assert!(error_of(json!({ "endpoints": true })).starts_with("proxysigv4.endpoints: must be an object"));
    }

    #[test]
    fn host_header_signs_for_the_api_host() {
        let routes = parse_routes(&json!({ "/vpce": {
            "target": "https://vpce-0a1b-c2d3.execute-api.us-east-1.vpce.amazonaws.com/prod",
            "hostHeader": "abc123.execute-api.us-east-1.amazonaws.com"
        } }))
        .unwrap();
        assert_eq!(routes[0].signing_host, "abc123.execute-api.us-east-1.amazonaws.com");
        assert_eq!(
            routes[0].target.authority.as_str(),
            "vpce-0a1b-c2d3.execute-api.us-east-1.vpce.amazonaws.com"
        );
        assert_eq!(
            routes[0].scope,
            SigningScope { service: "execute-api".into(), region: "us-east-1".into() }
        );
        let by_ip = parse_routes(&json!({ "/ip": { "target": "https://10.1.2.3", "hostHeader": "api.example.com", "service": "execute-api", "region": "eu-west-1" } }))
            .unwrap();
        assert_eq!(by_ip[0].signing_host, "api.example.com");
        assert!(error_of(json!({ "/ip": { "target": "https://10.1.2.3", "hostHeader": "a b" } }))
            .starts_with("proxysigv4./ip.hostHeader:"));
    }

    #[test]
    fn profiles_and_sts_region_are_credential_sources() {
        let target = "https://abc.execute-api.us-west-2.amazonaws.com";
        let routes = parse_routes(&json!({
            "/p": { "target": target, "profile": "team-a" },
            "/r": { "target": target, "profile": "team-a", "roleArn": "arn:aws:iam::123456789012:role/r", "stsRegion": "eu-west-1" }
        }))
        .unwrap();
        assert_eq!(routes[0].credentials, CredentialSource::Profile("team-a".into()));
        match &routes[1].credentials {
            CredentialSource::AssumeRole(role) => {
                assert_eq!(role.base_profile.as_deref(), Some("team-a"));
                assert_eq!(role.sts_region.as_deref(), Some("eu-west-1"));
            }
            other => panic!("expected AssumeRole, got {other:?}"),
        }
        assert!(error_of(json!({ "/p": { "target": target, "profile": "a b" } }))
            .starts_with("proxysigv4./p.profile:"));
        assert!(error_of(json!({ "/p": { "target": target, "stsRegion": "eu-west-1" } }))
            .starts_with("proxysigv4./p.stsRegion: is only used with 'roleArn'"));
    }

    #[test]
    fn ca_files_are_read_at_startup_and_only_for_https_targets() {
        let dir = std::env::temp_dir().join(format!("proxy-sigv4-config-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let no_certificates = dir.join("empty.pem");
        std::fs::write(&no_certificates, "# no certificates here\n").unwrap();
        let target = "https://abc.execute-api.us-west-2.amazonaws.com";
        let message = error_of(json!({ "/r": { "target": target, "caFile": no_certificates } }));
        assert!(
            message.starts_with("proxysigv4./r.caFile: '") && message.contains("holds no PEM certificates"),
            "{message}"
        );
        let missing = dir.join("missing.pem");
        let message = error_of(json!({ "/r": { "target": target, "caFile": missing } }));
        assert!(message.starts_with("proxysigv4./r.caFile: cannot read '"), "{message}");
        assert!(error_of(json!({ "/r": { "target": target, "caFile": 3 } }))
            .starts_with("proxysigv4./r.caFile: invalid type"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn role_arns_are_checked() {
        assert!(is_role_arn("arn:aws:iam::123456789012:role/reader"));
        assert!(is_role_arn("arn:aws-us-gov:iam::123456789012:role/path/reader"));
        assert!(!is_role_arn("arn:aws:iam::123456789012:user/reader"));
        assert!(!is_role_arn("arn:aws:iam::12345:role/reader"));
        assert!(!is_role_arn("arn:aws:s3:::bucket"));
    }
}
