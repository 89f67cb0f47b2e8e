//! Whatever headers a client sends, none that carry its identity, a signature or a connection
//! detail reaches the upstream, and a value with a line break is refused, never forwarded.

use proptest::prelude::*;
use proxy_sigv4::headers::forwarded_request_headers;

const FORBIDDEN: [&str; 16] = [
    "authorization",
    "cookie",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "x-forwarded-for",
];

const ALLOWED: [&str; 4] = ["accept", "content-type", "range", "x-amz-target"];

/// A header name in random case, drawn from forbidden, allowed and arbitrary names.
fn name() -> impl Strategy<Value = String> {
    let known = prop::sample::select(FORBIDDEN.iter().chain(ALLOWED.iter()).copied().collect::<Vec<_>>());
    (prop_oneof![known.prop_map(String::from), "x-[a-z]{1,8}"], any::<u64>()).prop_map(|(name, bits)| {
        name.chars()
            .enumerate()
            .map(|(i, c)| if bits >> (i % 64) & 1 == 1 { c.to_ascii_uppercase() } else { c })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn no_forbidden_header_survives(pairs in prop::collection::vec((name(), "[ -~]{0,12}"), 0..16)) {
        let raw: Vec<String> = pairs.iter().flat_map(|(n, v)| [n.clone(), v.clone()]).collect();
        let connection_named: Vec<String> = pairs
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
            .flat_map(|(_, v)| v.split(',').map(|t| t.trim().to_ascii_lowercase()).collect::<Vec<_>>())
            .collect();
        let headers = forwarded_request_headers(&raw, &[]).unwrap();
        for name in headers.keys() {
            prop_assert!(!FORBIDDEN.contains(&name.as_str()), "{} was forwarded", name);
            prop_assert!(!connection_named.iter().any(|t| t == name.as_str()), "{} is named in Connection", name);
            prop_assert!(ALLOWED.contains(&name.as_str()) || !name.as_str().starts_with("x-") || name == "x-amz-target");
        }
    }

    #[test]
    fn line_breaks_in_values_are_refused(name in prop::sample::select(ALLOWED.to_vec()), before in "[ -~]{0,6}", after in "[ -~]{0,6}", brk in prop_oneof![Just("\r"), Just("\n"), Just("\r\n"), Just("\0")]) {
        let raw = vec![name.to_string(), format!("{before}{brk}{after}")];
        prop_assert!(forwarded_request_headers(&raw, &[]).is_err());
    }
}
