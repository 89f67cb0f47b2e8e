//! Which AWS service and region a target host belongs to, so a route can be signed without
//! spelling them out. An unknown host yields `None`: the caller must then be told to set
//! `service` and `region`, because signing with a guessed or empty service never verifies.

/// The SigV4 signing scope of an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningScope {
    pub service: String,
    pub region: String,
}

const AWS_SUFFIXES: [&str; 2] = [".amazonaws.com", ".amazonaws.com.cn"];

/// Infers the signing scope from a host name (a port, if present, is ignored).
pub fn infer_scope(host: &str) -> Option<SigningScope> {
    let host = strip_port(host).to_ascii_lowercase();
    if let Some(rest) = host.strip_suffix(".on.aws") {
        return lambda_function_url(rest);
    }
    let labels: Vec<&str> =
        AWS_SUFFIXES.iter().find_map(|suffix| host.strip_suffix(suffix))?.split('.').collect();
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
/// `[.., region, service]` is used by OpenSearch (`es`, `aoss`), and S3 has legacy forms.
fn amazonaws_scope(labels: &[&str]) -> Option<SigningScope> {
    // s3.amazonaws.com and <bucket>.s3.amazonaws.com: the legacy global endpoint.
    if labels.last() == Some(&"s3") {
        return Some(scope("s3", "us-east-1"));
    }
    // s3-<region>, and the same under a bucket name.
    if let Some(region) = labels.last().and_then(|l| l.strip_prefix("s3-")).filter(|r| is_region(r)) {
        return Some(scope("s3", region));
    }
    let region_at = labels.iter().rposition(|l| is_region(l))?;
    let region = labels[region_at];
    if let Some(after) = labels.get(region_at + 1) {
        return matches!(*after, "es" | "aoss").then(|| scope(after, region));
    }
    let service = labels.get(region_at.checked_sub(1)?)?;
    let service = service.strip_suffix("-fips").unwrap_or(service);
    let service = if service == "dualstack" { "s3" } else { service };
    Some(scope(service, region))
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

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`, `us-isob-east-1`, ...
pub fn is_region(label: &str) -> bool {
    let parts: Vec<&str> = label.split('-').collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return false;
    };
    parts.len() >= 3
        && first.len() == 2
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
            ("api.example.com", None),
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
