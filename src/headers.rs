//! Which headers cross the proxy. Requests use an allowlist: the client's Authorization and
//! Cookie (its Backstage session), its own SigV4 headers and hop-by-hop headers never reach the
//! upstream. Responses pass back except hop-by-hop headers, Set-Cookie, redirects to other
//! hosts and, unless a route opts out, the headers that set browser policy for the whole
//! Backstage origin; proxied responses are then sandboxed (`Content-Security-Policy: sandbox`).

use std::borrow::Cow;

use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::error::ProxyError;

/// Request headers forwarded by default: content negotiation, caching and conditional requests,
/// body description, ranges, tracing, and the JSON-protocol operation name.
const FORWARDED_REQUEST_HEADERS: [&str; 22] = [
    "accept",
    "accept-encoding",
    "accept-language",
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "content-md5",
    "content-type",
    "expires",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "pragma",
    "range",
    "traceparent",
    "tracestate",
    "x-amz-target",
    "x-amzn-trace-id",
];

/// Headers that describe one connection, never the message (RFC 9110 7.6.1).
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Response headers never passed to the browser: an upstream must not set cookies on the
/// Backstage origin.
const DROPPED_RESPONSE_HEADERS: [&str; 2] = ["set-cookie", "set-cookie2"];

/// Response headers that set browser behaviour for the whole Backstage origin, or for the page
/// beyond what the portal decided (Backstage's own stay in force): dropped unless the route sets
/// `responseHeaders.passOriginPolicy`. `access-control-*` and `content-security-policy*` are
/// dropped by prefix as well.
const ORIGIN_POLICY_HEADERS: [&str; 22] = [
    "accept-ch",
    "alt-svc",
    "clear-site-data",
    "critical-ch",
    "cross-origin-embedder-policy",
    "cross-origin-opener-policy",
    "cross-origin-resource-policy",
    "expect-ct",
    "nel",
    "origin-agent-cluster",
    "permissions-policy",
    "public-key-pins",
    "referrer-policy",
    "refresh",
    "report-to",
    "reporting-endpoints",
    "service-worker-allowed",
    "strict-transport-security",
    "www-authenticate",
    "x-content-type-options",
    "x-frame-options",
    "x-permitted-cross-domain-policies",
];
const ORIGIN_POLICY_PREFIXES: [&str; 2] = ["access-control-", "content-security-policy"];

/// Added to every proxied response unless the route passes the upstream's origin policy: a
/// page from the upstream runs in an opaque origin with no scripts, and nothing is sniffed
/// into HTML. Browsers enforce every CSP header, so Backstage's own policy still applies too.
pub const SANDBOX_HEADERS: [(&str, &str); 2] =
    [("content-security-policy", "sandbox"), ("x-content-type-options", "nosniff")];

/// How a route's responses are filtered.
pub struct ResponseRules<'a> {
    /// `responseHeaders.passOriginPolicy`: keep [`ORIGIN_POLICY_HEADERS`] and add no sandbox.
    pub pass_origin_policy: bool,
    /// The target's `scheme://authority`: the one absolute `Location` that is passed on.
    pub target_origin: &'a str,
}

/// Headers that carry a signature or a caller's identity: only the proxy sets them upstream.
const SIGNING_HEADERS: [&str; 5] =
    ["authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256", "x-amz-region-set"];

pub fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP.contains(&name)
}

pub fn is_signing_header(name: &str) -> bool {
    SIGNING_HEADERS.contains(&name)
}

/// The bytes a header string from Node stands for. Node's HTTP parser hands header bytes to
/// JavaScript as Latin-1 text, one character per byte, and writes header strings out the same
/// way; a character above U+00FF (only a JavaScript caller can make one) stands for no byte.
pub fn latin1_bytes(text: &str) -> Option<Cow<'_, [u8]>> {
    if text.is_ascii() {
        return Some(Cow::Borrowed(text.as_bytes()));
    }
    text.chars().map(|c| u8::try_from(c).ok()).collect::<Option<Vec<u8>>>().map(Cow::Owned)
}

/// A signed header's value as it is signed: its bytes read as Latin-1, one character per byte,
/// which is how AWS reads header bytes (S3's `StringToSign` shows UTF-8 `á` sent as bytes as
/// `Ã¡`) and how the SDKs send what they sign (Node and Python's http.client write a header
/// string one byte per character). Every byte value is signable this way, so every `x-amz-*`
/// header the proxy forwards is signed.
pub fn signed_text(value: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(value) {
        Ok(ascii) if ascii.is_ascii() => Cow::Borrowed(ascii),
        _ => Cow::Owned(value.iter().map(|&b| b as char).collect()),
    }
}

/// Filters the client's raw header pairs (`[name, value, name, value, ...]`, Latin-1 text as
/// Node gives it) down to what is forwarded: the default allowlist plus the route's
/// `extra_allowed`. Values go on byte for byte; one with CR, LF or NUL is refused rather than
/// dropped silently.
pub fn forwarded_request_headers(
    raw_pairs: &[String],
    extra_allowed: &[HeaderName],
) -> Result<HeaderMap, ProxyError> {
    let connection_named =
        connection_tokens(raw_pairs.chunks_exact(2).map(|p| (p[0].as_str(), p[1].as_str())));
    let mut headers = HeaderMap::new();
    for pair in raw_pairs.chunks_exact(2) {
        let name = pair[0].to_ascii_lowercase();
        let allowed = FORWARDED_REQUEST_HEADERS.contains(&name.as_str())
            || extra_allowed.iter().any(|h| h == name.as_str());
        if !allowed || connection_named.contains(&name) {
            continue;
        }
        let bytes = latin1_bytes(&pair[1]).ok_or_else(|| {
            ProxyError::bad_header(format!("request header '{name}' has a character above U+00FF"))
        })?;
        let value = HeaderValue::from_bytes(&bytes)
            .map_err(|_| ProxyError::bad_header(format!("request header '{name}' has an invalid value")))?;
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ProxyError::bad_header("request header has an invalid name"))?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// The upstream's response headers that go back to the client, as flat `[name, value, ...]`,
/// with the sandbox headers added unless the route passes the upstream's origin policy.
/// Values are passed as Latin-1 text, byte for byte, which is how Node writes them out again.
pub fn returned_response_headers(upstream: &HeaderMap, rules: &ResponseRules<'_>) -> Vec<String> {
    let connection_named = connection_tokens(
        upstream
            .get_all(http::header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| ("connection", v)),
    );
    let mut pairs = Vec::with_capacity(upstream.len() * 2 + 4);
    for (name, value) in upstream {
        let name = name.as_str();
        if HOP_BY_HOP.contains(&name)
            || DROPPED_RESPONSE_HEADERS.contains(&name)
            || connection_named.iter().any(|t| t == name)
            || (!rules.pass_origin_policy && sets_origin_policy(name))
            || (name == "location" && !is_local_redirect(value.as_bytes(), rules.target_origin))
        {
            continue;
        }
        pairs.push(name.to_string());
        pairs.push(value.as_bytes().iter().map(|&b| b as char).collect());
    }
    if !rules.pass_origin_policy {
        for (name, value) in SANDBOX_HEADERS {
            pairs.push(name.to_string());
            pairs.push(value.to_string());
        }
    }
    pairs
}

fn sets_origin_policy(name: &str) -> bool {
    ORIGIN_POLICY_HEADERS.contains(&name) || ORIGIN_POLICY_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Whether a `Location` stays on the portal (a relative reference) or goes to the target's own
/// origin: anything else would make the Backstage origin an open redirect. Read the way
/// browsers read it: tabs and newlines removed, leading spaces and controls trimmed, `\` as `/`.
fn is_local_redirect(value: &[u8], target_origin: &str) -> bool {
    let Ok(text) = std::str::from_utf8(value) else { return false };
    let text: String = text
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .map(|c| if c == '\\' { '/' } else { c })
        .collect();
    if text.starts_with("//") {
        return false; // another host, scheme-relative
    }
    let before_path = text.split(['/', '?', '#']).next().unwrap_or_default();
    if !before_path.contains(':') {
        return true; // relative: a path, a query or a fragment
    }
    let Some(rest) = strip_prefix_ignore_case(&text, target_origin) else { return false };
    rest.is_empty() || rest.starts_with(['/', '?', '#'])
}

fn strip_prefix_ignore_case<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

/// The header names listed in `Connection` headers: hop-by-hop by declaration.
fn connection_tokens<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<String> {
    pairs
        .filter(|(name, _)| name.eq_ignore_ascii_case("connection"))
        .flat_map(|(_, value)| value.split(','))
        .map(|token| token.trim().to_ascii_lowercase())
        .filter(|token| !token.is_empty())
        .collect()
}

/// Headers covered by the signature: the ones an intermediary must not change. Others are
/// forwarded unsigned, because CDNs in front of AWS endpoints may rewrite them.
pub fn is_signed_header(name: &str) -> bool {
    name == "host" || name == "content-type" || name == "content-md5" || name.starts_with("x-amz-")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<String> {
        list.iter().flat_map(|(n, v)| [n.to_string(), v.to_string()]).collect()
    }

    #[test]
    fn forwards_the_allowlist_and_nothing_else() {
        let headers = forwarded_request_headers(
            &pairs(&[
                ("Content-Type", "application/json"),
                ("Accept", "*/*"),
                ("X-Amz-Target", "DynamoDB_20120810.GetItem"),
                ("Range", "bytes=0-9"),
                ("Authorization", "Bearer backstage-token"),
                ("Cookie", "session=1"),
                ("X-Amz-Date", "20200101T000000Z"),
                ("X-Amz-Security-Token", "token"),
                ("X-Amz-Content-Sha256", "abc"),
                ("Host", "backstage.example.com"),
                ("Content-Length", "5"),
                ("Transfer-Encoding", "chunked"),
                ("Connection", "keep-alive"),
                ("X-Forwarded-For", "10.0.0.1"),
            ]),
            &[],
        )
        .unwrap();
        let mut names: Vec<&str> = headers.keys().map(|k| k.as_str()).collect();
        names.sort();
        assert_eq!(names, ["accept", "content-type", "range", "x-amz-target"]);
    }

    #[test]
    fn forwards_a_route_s_extra_headers() {
        let extra = [HeaderName::from_static("x-team")];
        let headers =
            forwarded_request_headers(&pairs(&[("X-Team", "a"), ("X-Other", "b")]), &extra).unwrap();
        assert_eq!(headers.get("x-team").unwrap(), "a");
        assert!(headers.get("x-other").is_none());
    }

    #[test]
    fn drops_headers_named_in_connection() {
        let headers = forwarded_request_headers(
            &pairs(&[("Connection", "Accept-Language, close"), ("Accept-Language", "en"), ("Accept", "*/*")]),
            &[],
        )
        .unwrap();
        assert!(headers.get("accept-language").is_none());
        assert!(headers.get("accept").is_some());
    }

    #[test]
    fn keeps_repeated_values() {
        let headers = forwarded_request_headers(&pairs(&[("Accept", "a"), ("accept", "b")]), &[]).unwrap();
        assert_eq!(headers.get_all("accept").iter().count(), 2);
    }

    #[test]
    fn refuses_values_with_line_breaks() {
        let error = forwarded_request_headers(&pairs(&[("Accept", "a\r\nx-evil: 1")]), &[]).unwrap_err();
        assert_eq!(error.kind(), crate::error::ErrorKind::BadHeader);
    }

    #[test]
    fn forwards_value_bytes_as_node_gave_them() {
        // Node's Latin-1 text: 'é' is the byte E9, and UTF-8 'é' arrives as the two chars 'Ã©'.
        let extra = [HeaderName::from_static("x-amz-meta-name")];
        let headers = forwarded_request_headers(
            &pairs(&[("X-Amz-Meta-Name", "caf\u{c3}\u{a9}"), ("Accept", "\u{e9}\u{ff}")]),
            &extra,
        )
        .unwrap();
        assert_eq!(headers.get("x-amz-meta-name").unwrap().as_bytes(), b"caf\xc3\xa9");
        assert_eq!(headers.get("accept").unwrap().as_bytes(), b"\xe9\xff");
    }

    #[test]
    fn refuses_characters_that_stand_for_no_byte() {
        let error = forwarded_request_headers(&pairs(&[("Accept", "caf\u{20ac}")]), &[]).unwrap_err();
        assert_eq!(error.kind(), crate::error::ErrorKind::BadHeader);
        assert!(error.to_string().contains("'accept'"), "{error}");
        assert!(!error.to_string().contains("caf"), "the value stays out of the message: {error}");
    }

    #[test]
    fn signs_value_bytes_read_as_latin1_as_aws_reads_them() {
        assert_eq!(signed_text(b"plain text"), "plain text");
        // UTF-8 'é' sent as bytes is the two characters 'Ã©' to AWS; the byte E9 alone is 'é'.
        assert_eq!(signed_text("café".as_bytes()), "caf\u{c3}\u{a9}");
        assert_eq!(signed_text(b"caf\xe9"), "café");
        let every_high_byte: Vec<u8> = (0x80..=0xff).collect();
        assert_eq!(
            signed_text(&every_high_byte).chars().map(|c| c as u32).collect::<Vec<_>>(),
            (0x80..=0xff).collect::<Vec<_>>()
        );
    }

    #[test]
    fn returns_response_value_bytes_one_char_each() {
        let mut upstream = HeaderMap::new();
        let bytes: Vec<u8> = (0x80..=0xff).collect();
        upstream.append("x-amz-meta-name", HeaderValue::from_bytes(&bytes).unwrap());
        let returned = returned_response_headers(&upstream, &PASS_ORIGIN_POLICY);
        assert_eq!(latin1_bytes(&returned[1]).unwrap().as_ref(), bytes.as_slice());
        assert_eq!(returned[1].chars().count(), bytes.len());
    }

    #[test]
    fn returns_response_headers_without_hop_by_hop_or_cookies() {
        let mut upstream = HeaderMap::new();
        for (n, v) in [
            ("etag", "\"v1\""),
            ("location", "/x"),
            ("x-amzn-requestid", "id"),
            ("content-type", "text/plain"),
            ("content-length", "3"),
            ("set-cookie", "a=b"),
            ("connection", "x-private, keep-alive"),
            ("x-private", "1"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
        ] {
            upstream.append(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        let returned = returned_response_headers(&upstream, &PASS_ORIGIN_POLICY);
        let names: Vec<&str> = returned.iter().step_by(2).map(String::as_str).collect();
        assert_eq!(names, ["etag", "location", "x-amzn-requestid", "content-type", "content-length"]);
    }

    const TARGET: &str = "https://api.example.com";
    const PASS_ORIGIN_POLICY: ResponseRules<'static> =
        ResponseRules { pass_origin_policy: true, target_origin: TARGET };
    const DEFAULT_RULES: ResponseRules<'static> =
        ResponseRules { pass_origin_policy: false, target_origin: TARGET };

    fn upstream_headers(list: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut upstream = HeaderMap::new();
        for (n, v) in list {
            upstream.append(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        upstream
    }

    #[test]
    fn drops_origin_wide_browser_policy_and_adds_the_sandbox() {
        let upstream = upstream_headers(&[
            ("content-security-policy", "script-src *"),
            ("content-security-policy-report-only", "default-src *"),
            ("strict-transport-security", "max-age=0"),
            ("access-control-allow-origin", "*"),
            ("access-control-allow-credentials", "true"),
            ("clear-site-data", "\"*\""),
            ("alt-svc", "h2=\"evil.example:443\""),
            ("refresh", "0; url=https://evil.example"),
            ("nel", "{}"),
            ("service-worker-allowed", "/"),
            ("x-frame-options", "ALLOWALL"),
            ("x-content-type-options", "sniff"),
            ("etag", "\"v1\""),
            ("x-amz-request-id", "r1"),
            ("content-type", "text/html"),
        ]);
        let returned = returned_response_headers(&upstream, &DEFAULT_RULES);
        let pairs: Vec<(&str, &str)> =
            returned.chunks_exact(2).map(|p| (p[0].as_str(), p[1].as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("etag", "\"v1\""),
                ("x-amz-request-id", "r1"),
                ("content-type", "text/html"),
                ("content-security-policy", "sandbox"),
                ("x-content-type-options", "nosniff"),
            ]
        );
        let passed = returned_response_headers(&upstream, &PASS_ORIGIN_POLICY);
        assert_eq!(passed.len(), upstream.len() * 2, "a route that opts out gets them all");
    }

    #[test]
    fn keeps_redirects_on_the_portal_or_the_target() {
        for (location, kept) in [
            ("/next", true),
            ("next?x=1", true),
            ("?page=2", true),
            ("#top", true),
            ("https://api.example.com/prod/x", true),
            ("HTTPS://API.EXAMPLE.COM", true),
            ("https://api.example.com?x", true),
            ("https://api.example.com.evil.example/x", false),
            ("https://api.example.com@evil.example/x", false),
            ("https://evil.example/x", false),
            ("http://api.example.com/x", false),
            ("//evil.example/x", false),
            ("/\\evil.example/x", false),
            ("\\\\evil.example", false),
            ("/\t/evil.example", false),
            (" //evil.example", false),
            ("javascript:alert(1)", false),
            ("data:text/html,x", false),
        ] {
            let upstream = upstream_headers(&[("location", location)]);
            let returned = returned_response_headers(&upstream, &PASS_ORIGIN_POLICY);
            assert_eq!(!returned.is_empty(), kept, "{location:?}");
        }
    }

    #[test]
    fn signs_what_intermediaries_must_not_change() {
        assert!(is_signed_header("host"));
        assert!(is_signed_header("x-amz-target"));
        assert!(is_signed_header("content-type"));
        assert!(!is_signed_header("accept-encoding"));
    }
}
