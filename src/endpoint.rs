//! Which AWS service and region a target host belongs to, so a route can be signed without
//! spelling them out. An unknown host yields `None`: the caller must then be told to set
//! `service` and `region`, because signing with a guessed or empty service never verifies.
//!
//! AWS's own endpoint data (botocore's, generated into `endpoint_data`) decides where host
//! labels cannot: hosts it spells out (global endpoints such as `sts.amazonaws.com`, which sign
//! for us-east-1), the DNS suffixes of every partition, and signing names that differ from the
//! host label (`bedrock-runtime` signs as `bedrock`, `email` as `ses`).

use crate::endpoint_data::{DNS_SUFFIXES, HOSTS, SIGNING_NAMES};

/// The SigV4 signing scope of an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningScope {
    pub service: String,
    pub region: String,
}

/// Infers the signing scope from a host name (a port, if present, is ignored).
pub fn infer_scope(host: &str) -> Option<SigningScope> {
    let host = strip_port(host).to_ascii_lowercase();
    if let Ok(at) = HOSTS.binary_search_by(|(known, _, _)| known.cmp(&host.as_str())) {
        let (_, service, region) = HOSTS[at];
        return Some(scope(service, region));
    }
    if let Some(rest) = host.strip_suffix(".on.aws") {
        return lambda_function_url(rest);
    }
    let labels: Vec<&str> = DNS_SUFFIXES
        .iter()
        .find_map(|suffix| host.strip_suffix(suffix)?.strip_suffix('.'))?
        .split('.')
        .collect();
    amazonaws_scope(&labels)
}

/// `<url-id>.lambda-url.<region>.on.aws`
fn lambda_function_url(rest: &str) -> Option<SigningScope> {
    let labels: Vec<&str> = rest.split('.').collect();
    match labels.as_slice() {
        [_, "lambda-url", region] if is_region(region) => Some(scope("lambda", region)),
        _ => None,
    }
}

/// The labels of a host before `.amazonaws.com`: `[.., service, region]` is the common form,
/// `[.., region, service]` is used by OpenSearch (`es`, `aoss`), private endpoints end in
/// `.vpce`, and S3 has legacy forms.
fn amazonaws_scope(labels: &[&str]) -> Option<SigningScope> {
    // s3.amazonaws.com and <bucket>.s3.amazonaws.com: the legacy global endpoint.
    if matches!(labels.last(), Some(&"s3") | Some(&"s3-external-1")) {
        return Some(scope("s3", "us-east-1"));
    }
    // s3-<region>, and the same under a bucket name.
    if let Some(region) = labels.last().and_then(|l| l.strip_prefix("s3-")).filter(|r| is_region(r)) {
        return Some(scope("s3", region));
    }
    let region_at = labels.iter().rposition(|l| is_region(l))?;
    let region = labels[region_at];
    match labels.get(region_at + 1) {
        Some(&"es") | Some(&"aoss") => return Some(scope(labels[region_at + 1], region)),
        // <endpoint-id>.<service>.<region>.vpce.amazonaws.com: an interface VPC endpoint.
        Some(&"vpce") => {}
        Some(_) => return None,
        None => {}
    }
    let service = labels.get(region_at.checked_sub(1)?)?;
    Some(scope(signing_name(service), region))
}

/// The signing name for a host label: FIPS endpoints and S3's variants sign as the service,
/// and the endpoint data names those whose signing name is not their label.
fn signing_name(label: &str) -> &str {
    let label = label.strip_suffix("-fips").unwrap_or(label);
    match label {
        "dualstack" | "s3-accesspoint" | "s3-control" => "s3",
        other => SIGNING_NAMES.iter().find(|(prefix, _)| *prefix == other).map_or(other, |(_, name)| name),
    }
}

fn scope(service: &str, region: &str) -> SigningScope {
    SigningScope { service: service.to_string(), region: region.to_string() }
}

fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`, `us-isob-east-1`,
/// `eusc-de-east-1`, ...
pub fn is_region(label: &str) -> bool {
    let parts: Vec<&str> = label.split('-').collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return false;
    };
    parts.len() >= 3
        && (2..=4).contains(&first.len())
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && !last.is_empty()
        && last.bytes().all(|b| b.is_ascii_digit())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inferred(host: &str) -> Option<(String, String)> {
        infer_scope(host).map(|s| (s.service, s.region))
    }

    fn some(service: &str, region: &str) -> Option<(String, String)> {
        Some((service.to_string(), region.to_string()))
    }

    #[test]
    fn infers_the_common_endpoint_families() {
        let table = [
            ("abc123.execute-api.us-west-2.amazonaws.com", some("execute-api", "us-west-2")),
            ("abc123.execute-api.us-west-2.amazonaws.com:443", some("execute-api", "us-west-2")),
            ("xyz.lambda-url.eu-west-1.on.aws", some("lambda", "eu-west-1")),
            ("search-logs-abc.us-east-1.es.amazonaws.com", some("es", "us-east-1")),
            ("vpc-logs-abc.us-east-1.es.amazonaws.com", some("es", "us-east-1")),
            ("abc.us-east-1.aoss.amazonaws.com", some("aoss", "us-east-1")),
            ("sqs.ap-southeast-2.amazonaws.com", some("sqs", "ap-southeast-2")),
            ("sts-fips.us-east-1.amazonaws.com", some("sts", "us-east-1")),
            ("bucket.s3.eu-central-1.amazonaws.com", some("s3", "eu-central-1")),
            ("s3.amazonaws.com", some("s3", "us-east-1")),
            ("bucket.s3-us-west-2.amazonaws.com", some("s3", "us-west-2")),
            ("apigw.execute-api.cn-north-1.amazonaws.com.cn", some("execute-api", "cn-north-1")),
            ("dynamodb.us-gov-west-1.amazonaws.com", some("dynamodb", "us-gov-west-1")),
            (
                "abc123-vpce-0a1b2c3d4e5f.execute-api.us-east-1.amazonaws.com",
                some("execute-api", "us-east-1"),
            ),
            ("vpce-0a1b2c-d3e4f5.execute-api.us-east-1.vpce.amazonaws.com", some("execute-api", "us-east-1")),
            ("bucket.vpce-0a1b2c-d3e4f5.s3.us-east-1.vpce.amazonaws.com", some("s3", "us-east-1")),
            ("s3.us-west-2.amazonaws.com", some("s3", "us-west-2")),
            ("bucket.s3.amazonaws.com", some("s3", "us-east-1")),
            ("s3-us-west-2.amazonaws.com", some("s3", "us-west-2")),
            ("s3.dualstack.eu-west-1.amazonaws.com", some("s3", "eu-west-1")),
            ("bucket.s3.dualstack.eu-west-1.amazonaws.com", some("s3", "eu-west-1")),
            ("ap-123456789012.s3-accesspoint.us-east-1.amazonaws.com", some("s3", "us-east-1")),
            ("ap-123456789012.s3-accesspoint.dualstack.us-east-1.amazonaws.com", some("s3", "us-east-1")),
            ("123456789012.s3-control.us-east-1.amazonaws.com", some("s3", "us-east-1")),
            ("s3-fips.us-gov-west-1.amazonaws.com", some("s3", "us-gov-west-1")),
            ("lambda.eu-north-1.amazonaws.com:8443", some("lambda", "eu-north-1")),
            ("bucket.s3.cn-northwest-1.amazonaws.com.cn", some("s3", "cn-northwest-1")),
            ("es.us-gov-east-1.amazonaws.com", some("es", "us-gov-east-1")),
            ("monitoring.us-iso-east-1.amazonaws.com", some("monitoring", "us-iso-east-1")),
            ("sts.amazonaws.com", some("sts", "us-east-1")),
            ("iam.amazonaws.com", some("iam", "us-east-1")),
            ("iam.us-gov.amazonaws.com", some("iam", "us-gov-west-1")),
            ("bedrock-runtime.us-east-1.amazonaws.com", some("bedrock", "us-east-1")),
            ("email.eu-west-1.amazonaws.com", some("ses", "eu-west-1")),
            ("sqs.us-east-1.api.aws", some("sqs", "us-east-1")),
            ("sts.eusc-de-east-1.amazonaws.eu", some("sts", "eusc-de-east-1")),
            ("api.example.com", None),
            ("abc.execute-api.us-east-1.example.com", None),
            ("127.0.0.1:8080", None),
            ("amazonaws.com", None),
        ];
        for (host, expected) in table {
            assert_eq!(inferred(host), expected, "host {host}");
        }
    }

    #[test]
    fn recognises_regions() {
        assert!(is_region("us-east-1"));
        assert!(is_region("us-gov-west-1"));
        assert!(!is_region("execute-api"));
        assert!(!is_region("us-east"));
        assert!(!is_region("s3"));
    }
}
