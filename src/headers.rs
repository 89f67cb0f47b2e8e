//! Which headers cross the proxy. Requests use an allowlist: the client's Authorization and
//! Cookie (its Backstage session), its own SigV4 headers and hop-by-hop headers never reach the
//! upstream. Responses pass back except hop-by-hop headers and Set-Cookie.

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

/// Headers that carry a signature or a caller's identity: only the proxy sets them upstream.
const SIGNING_HEADERS: [&str; 4] =
    ["authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"];

pub fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP.contains(&name)
}

pub fn is_signing_header(name: &str) -> bool {
    SIGNING_HEADERS.contains(&name)
}

/// Filters the client's raw header pairs (`[name, value, name, value, ...]`) down to what is
/// forwarded: the default allowlist plus the route's `extra_allowed`. A value with CR, LF or NUL
/// is refused rather than dropped silently.
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
        let value = HeaderValue::from_str(&pair[1])
            .map_err(|_| ProxyError::bad_header(format!("request header '{name}' has an invalid value")))?;
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ProxyError::bad_header("request header has an invalid name"))?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// The upstream's response headers that go back to the client, as flat `[name, value, ...]`.
/// Values are passed as Latin-1 text, byte for byte, which is how Node writes them out again.
pub fn returned_response_headers(upstream: &HeaderMap) -> Vec<String> {
    let connection_named = connection_tokens(
        upstream
            .get_all(http::header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| ("connection", v)),
    );
    let mut pairs = Vec::with_capacity(upstream.len() * 2);
    for (name, value) in upstream {
        let name = name.as_str();
        if HOP_BY_HOP.contains(&name)
            || DROPPED_RESPONSE_HEADERS.contains(&name)
            || connection_named.iter().any(|t| t == name)
        {
            continue;
        }
        pairs.push(name.to_string());
        pairs.push(value.as_bytes().iter().map(|&b| b as char).collect());
    }
    pairs
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
        let returned = returned_response_headers(&upstream);
        let names: Vec<&str> = returned.iter().step_by(2).map(String::as_str).collect();
        assert_eq!(names, ["etag", "location", "x-amzn-requestid", "content-type", "content-length"]);
    }

    #[test]
    fn signs_what_intermediaries_must_not_change() {
        assert!(is_signed_header("host"));
        assert!(is_signed_header("x-amz-target"));
        assert!(is_signed_header("content-type"));
        assert!(!is_signed_header("accept-encoding"));
    }
}
