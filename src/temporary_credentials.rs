//! Temporary AWS credentials for signed-in Backstage users (what Roadie's `aws-auth` backend
//! hands out), made safe: only roles config lists, for at most each role's configured duration,
//! scoped down by its session policy, and named after the user in CloudTrail (the session name
//! and `SourceIdentity`). Every answer is a fresh STS AssumeRole session: the backend's own
//! credentials are never handed out.
//!
//! Config, beside the routes:
//!
//! ```yaml
//! temporaryCredentials:
//!   allowServicePrincipals: false      # users only (default)
//!   requestsPerMinute: 10              # per caller (default 10)
//!   roles:
//!     - roleArn: arn:aws:iam::123456789012:role/dev-readonly
//!       maxDuration: 15m               # 15m (default) to 1h
//!       sessionPolicy: '{"Version":"2012-10-17","Statement":[...]}'   # or the object
//!       policyArns: [arn:aws:iam::aws:policy/ReadOnlyAccess]
//! ```

use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

use crate::config::is_role_arn;
use crate::credential_failure::describe_sdk_error;
use crate::duration::parse_duration;
use crate::error::{ErrorKind, ProxyError};

/// The config key of this feature; it is off when the key is absent.
pub const KEY: &str = "temporaryCredentials";
/// STS's shortest session, and the default and longest this feature hands out.
const MIN_DURATION: Duration = Duration::from_secs(900);
const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(900);
const LONGEST_MAX_DURATION: Duration = Duration::from_secs(3600);
const DEFAULT_REQUESTS_PER_MINUTE: u32 = 10;

/// Who may have temporary credentials for which roles, as config says.
#[derive(Debug)]
pub struct TemporaryCredentialsPolicy {
    pub allow_service_principals: bool,
    pub requests_per_minute: u32,
    roles: Vec<IssuableRole>,
}

#[derive(Debug)]
struct IssuableRole {
    role_arn: String,
    max_duration: Duration,
    /// A session policy (JSON text) that scopes the session below the role's own policies.
    session_policy: Option<String>,
    policy_arns: Vec<String>,
}

/// What a caller asks for.
pub struct IssueRequest<'a> {
    pub role_arn: &'a str,
    /// The session's length; the role's maximum when absent.
    pub duration: Option<Duration>,
    /// Whose session it is: a Backstage entity ref such as `user:default/jane.doe`.
    pub principal: &'a str,
}

/// The AssumeRole call that answers a request config allows.
#[derive(Debug, PartialEq)]
pub struct AssumeRoleCall {
    pub role_arn: String,
    pub session_name: String,
    pub source_identity: String,
    pub duration: Duration,
    pub session_policy: Option<String>,
    pub policy_arns: Vec<String>,
}

/// A session's credentials. `Debug` shows only the access key id and the expiry.
pub struct IssuedCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: SystemTime,
}

impl std::fmt::Debug for IssuedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field("session_token", &"** redacted **")
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// The feature's policy from the `proxysigv4` config object, or None when it is not configured.
/// Errors name `proxysigv4.temporaryCredentials` and the key.
pub fn parse(config: &Value) -> Result<Option<TemporaryCredentialsPolicy>, ProxyError> {
    let Some(value) = config.get(KEY) else { return Ok(None) };
    let fail = |key: &str, expected: &str| ProxyError::invalid_config(KEY, key, expected);
    let entries = value.as_object().ok_or_else(|| fail("", "must be an object with roles"))?;
    let mut policy = TemporaryCredentialsPolicy {
        allow_service_principals: false,
        requests_per_minute: DEFAULT_REQUESTS_PER_MINUTE,
        roles: Vec::new(),
    };
    for (key, value) in entries {
        match key.as_str() {
            "allowServicePrincipals" => {
                policy.allow_service_principals =
                    value.as_bool().ok_or_else(|| fail(key, "must be true or false"))?
            }
            "requestsPerMinute" => {
                policy.requests_per_minute = value
                    .as_u64()
                    .filter(|n| (1..=600).contains(n))
                    .ok_or_else(|| fail(key, "must be a whole number from 1 to 600"))?
                    as u32
            }
            "roles" => {
                let roles = value.as_array().filter(|roles| !roles.is_empty());
                let roles = roles.ok_or_else(|| fail(key, "must be a list of at least one role"))?;
                for (index, role) in roles.iter().enumerate() {
                    policy.roles.push(parse_role(role).map_err(|(field, expected)| {
                        fail(
                            &format!("roles[{index}]{}", field.map(|f| format!(".{f}")).unwrap_or_default()),
                            &expected,
                        )
                    })?);
                }
            }
            _ => {
                return Err(fail(
                    key,
                    "unknown option (known: allowServicePrincipals, requestsPerMinute, roles)",
                ))
            }
        }
    }
    if policy.roles.is_empty() {
        return Err(fail("roles", "must list at least one role"));
    }
    Ok(Some(policy))
}

/// One `roles` entry; the error names the field (None for the entry) and what it must be.
fn parse_role(value: &Value) -> Result<IssuableRole, (Option<&'static str>, String)> {
    let entry: &Map<String, Value> =
        value.as_object().ok_or((None, "must be an object with a roleArn".to_string()))?;
    let mut role = IssuableRole {
        role_arn: String::new(),
        max_duration: DEFAULT_MAX_DURATION,
        session_policy: None,
        policy_arns: Vec::new(),
    };
    for (key, value) in entry {
        match key.as_str() {
            "roleArn" => {
                role.role_arn = value
                    .as_str()
                    .filter(|arn| is_role_arn(arn))
                    .ok_or((Some("roleArn"), "must be an IAM role ARN".to_string()))?
                    .to_string()
            }
            "maxDuration" => {
                role.max_duration = parse_duration(value)
                    .ok()
                    .filter(|d| (MIN_DURATION..=LONGEST_MAX_DURATION).contains(d))
                    .ok_or((
                        Some("maxDuration"),
                        "must be a duration from 15 minutes to 1 hour".to_string(),
                    ))?
            }
            "sessionPolicy" => {
                role.session_policy = Some(match value {
                    Value::String(text) if serde_json::from_str::<Map<String, Value>>(text).is_ok() => {
                        text.clone()
                    }
                    Value::Object(_) => value.to_string(),
                    _ => {
                        return Err((
                            Some("sessionPolicy"),
                            "must be an IAM policy document (JSON text or object)".to_string(),
                        ))
                    }
                })
            }
            "policyArns" => {
                let arns = value.as_array().and_then(|arns| {
                    arns.iter()
                        .map(|a| a.as_str().filter(|a| a.starts_with("arn:aws")).map(str::to_string))
                        .collect()
                });
                role.policy_arns =
                    arns.ok_or((Some("policyArns"), "must be a list of managed policy ARNs".to_string()))?
            }
            _ => return Err((
                None,
                format!(
                    "has an unknown option '{key}' (known: roleArn, maxDuration, sessionPolicy, policyArns)"
                ),
            )),
        }
    }
    if role.role_arn.is_empty() {
        return Err((Some("roleArn"), "is required".to_string()));
    }
    Ok(role)
}

impl TemporaryCredentialsPolicy {
    /// The roles callers may ask for, in config order.
    pub fn role_arns(&self) -> impl Iterator<Item = &str> {
        self.roles.iter().map(|role| role.role_arn.as_str())
    }

    /// The AssumeRole call for `request`, or why it is refused: a role config does not list
    /// (403 `ROLE_NOT_ALLOWED`), a duration outside 15 minutes to the role's maximum (400).
    pub fn call_for(&self, request: &IssueRequest<'_>) -> Result<AssumeRoleCall, ProxyError> {
        let role = self.roles.iter().find(|role| role.role_arn == request.role_arn).ok_or_else(|| {
            ProxyError::new(
                ErrorKind::RoleNotAllowed,
                "roleArn is not in proxysigv4.temporaryCredentials.roles",
            )
        })?;
        let duration = request.duration.unwrap_or(role.max_duration);
        if !(MIN_DURATION..=role.max_duration).contains(&duration) {
            return Err(ProxyError::invalid_argument(format!(
                "durationSeconds must be from {} to {} for this role",
                MIN_DURATION.as_secs(),
                role.max_duration.as_secs()
            )));
        }
        let name = session_name_of(request.principal)?;
        Ok(AssumeRoleCall {
            role_arn: role.role_arn.clone(),
            session_name: name.clone(),
            source_identity: name,
            duration,
            session_policy: role.session_policy.clone(),
            policy_arns: role.policy_arns.clone(),
        })
    }
}

/// A principal's entity ref in the characters STS allows in a session name and a source
/// identity (`[\w+=,.@-]`, 2 to 64): `user:default/jane.doe` becomes `user-default-jane.doe`.
fn session_name_of(principal: &str) -> Result<String, ProxyError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    let name: String = principal.chars().map(|c| if allowed(c) { c } else { '-' }).take(64).collect();
    if name.len() < 2 {
        return Err(ProxyError::invalid_argument("the caller has no usable identity for a session name"));
    }
    Ok(name)
}

/// Calls STS AssumeRole with the default chain's credentials. A failure is 503
/// `CREDENTIALS_UNAVAILABLE`, naming STS's error code and request id, never its message.
pub async fn issue(call: AssumeRoleCall) -> Result<IssuedCredentials, ProxyError> {
    let client = crate::credentials::sts_client().await;
    let policy_arns = call
        .policy_arns
        .iter()
        .map(|arn| aws_sdk_sts::types::PolicyDescriptorType::builder().arn(arn).build())
        .collect::<Vec<_>>();
    let answer = client
        .assume_role()
        .role_arn(call.role_arn)
        .role_session_name(call.session_name)
        .source_identity(call.source_identity)
        .duration_seconds(call.duration.as_secs() as i32)
        .set_policy(call.session_policy)
        .set_policy_arns((!policy_arns.is_empty()).then_some(policy_arns))
        .send()
        .await
        .map_err(|error| {
            ProxyError::new(
                ErrorKind::CredentialsUnavailable,
                format!("no credentials for the role: {}", describe_sdk_error(&error)),
            )
        })?;
    let credentials = answer.credentials.ok_or_else(|| {
        ProxyError::new(ErrorKind::CredentialsUnavailable, "no credentials for the role: STS answered none")
    })?;
    let expiration = SystemTime::try_from(credentials.expiration).map_err(|_| {
        ProxyError::new(
            ErrorKind::CredentialsUnavailable,
            "no credentials for the role: STS's expiry is unreadable",
        )
    })?;
    Ok(IssuedCredentials {
        access_key_id: credentials.access_key_id,
        secret_access_key: credentials.secret_access_key,
        session_token: credentials.session_token,
        expiration,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ROLE: &str = "arn:aws:iam::123456789012:role/dev-readonly";

    fn policy(config: Value) -> Result<Option<TemporaryCredentialsPolicy>, ProxyError> {
        parse(&json!({ KEY: config }))
    }

    #[test]
    fn is_off_unless_configured() {
        assert!(parse(&json!({ "/r": "https://example.com" })).unwrap().is_none());
    }

    #[test]
    fn reads_roles_with_their_defaults_and_limits() {
        let policy = policy(json!({
            "requestsPerMinute": 3,
            "roles": [
                { "roleArn": ROLE },
                { "roleArn": "arn:aws:iam::123456789012:role/ops", "maxDuration": "1h",
                  "sessionPolicy": { "Version": "2012-10-17", "Statement": [] },
                  "policyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"] },
            ],
        }))
        .unwrap()
        .unwrap();
        assert_eq!((policy.allow_service_principals, policy.requests_per_minute), (false, 3));
        assert_eq!(policy.role_arns().collect::<Vec<_>>(), [ROLE, "arn:aws:iam::123456789012:role/ops"]);
        let asked =
            |role_arn, duration| IssueRequest { role_arn, duration, principal: "user:default/jane.doe" };
        let call = policy.call_for(&asked("arn:aws:iam::123456789012:role/ops", None)).unwrap();
        assert_eq!(call.duration, Duration::from_secs(3600));
        assert_eq!(call.session_policy.as_deref(), Some(r#"{"Statement":[],"Version":"2012-10-17"}"#));
        assert_eq!(
            (call.session_name.as_str(), call.source_identity.as_str()),
            ("user-default-jane.doe", "user-default-jane.doe")
        );
        assert_eq!(policy.call_for(&asked(ROLE, None)).unwrap().duration, Duration::from_secs(900));
        for duration in [Duration::from_secs(899), Duration::from_secs(901)] {
            let error = policy.call_for(&asked(ROLE, Some(duration))).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{duration:?}");
        }
        let error = policy.call_for(&asked("arn:aws:iam::123456789012:role/admin", None)).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::RoleNotAllowed);
        assert!(!error.to_string().contains("123456789012"), "{error}");
    }

    #[test]
    fn refuses_bad_config_naming_the_key() {
        for (config, names) in [
            (json!({}), "proxysigv4.temporaryCredentials.roles:"),
            (json!({ "roles": [] }), "proxysigv4.temporaryCredentials.roles:"),
            (json!({ "roles": [{ "roleArn": "arn:aws:iam::123456789012:user/x" }] }), "roles[0].roleArn:"),
            (json!({ "roles": [{ "roleArn": ROLE, "maxDuration": "2h" }] }), "roles[0].maxDuration:"),
            (json!({ "roles": [{ "roleArn": ROLE, "maxDuration": "5m" }] }), "roles[0].maxDuration:"),
            (
                json!({ "roles": [{ "roleArn": ROLE, "sessionPolicy": "not json" }] }),
                "roles[0].sessionPolicy:",
            ),
            (json!({ "roles": [{ "roleArn": ROLE, "policyArns": ["x"] }] }), "roles[0].policyArns:"),
            (json!({ "roles": [{ "maxDuration": "15m" }] }), "roles[0].roleArn:"),
            (json!({ "roles": [{ "roleArn": ROLE }], "requestsPerMinute": 0 }), ".requestsPerMinute:"),
            (json!({ "roles": [{ "roleArn": ROLE }], "allowServices": true }), ".allowServices:"),
        ] {
            let error = policy(config.clone()).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidConfig);
            assert!(error.to_string().contains(names), "{config}: {error}");
        }
    }

    #[test]
    fn debug_of_issued_credentials_hides_the_secret_and_token() {
        let issued = IssuedCredentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: "secret-value".into(),
            session_token: "token-value".into(),
            expiration: SystemTime::UNIX_EPOCH,
        };
        let text = format!("{issued:?}");
        assert!(!text.contains("secret-value") && !text.contains("token-value"), "{text}");
    }
}
