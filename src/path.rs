//! Where a request goes below its route (`route_match` picks the route): the upstream path and
//! query it maps to.
//!
//! The rule that matters: no request may reach another host or a path outside the target's
//! base path. The authority always comes from the config, so the host cannot change; the path
//! can only grow under the base, because any segment that a server could read as `.` or `..`
//! (raw, percent-encoded once or more, with backslashes, or as a look-alike) is refused.

use percent_encoding::percent_decode_str;

use crate::error::ProxyError;

/// How many rounds of percent-decoding we look through (`%252e` is `.` after two).
pub(crate) const DECODE_ROUNDS: usize = 4;

/// Splits a raw request URL (`/route/rest?query`) into path and query.
pub fn split_url(url: &str) -> (&str, Option<&str>) {
    match url.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (url, None),
    }
}

/// Refuses a request path (the part after the route) that could leave the target's base path
/// or that a server could read differently from how we checked it.
pub fn check_request_path(rest: &str) -> Result<(), ProxyError> {
    if rest.bytes().any(|b| b == b'\\' || b.is_ascii_control()) {
        return Err(ProxyError::bad_path("request path contains a backslash or control character"));
    }
    for segment in rest.split('/') {
        check_segment(segment)?;
    }
    Ok(())
}

fn check_segment(raw: &str) -> Result<(), ProxyError> {
    let mut decoded = raw.to_string();
    for _ in 0..DECODE_ROUNDS {
        let bytes: Vec<u8> = percent_decode_str(&decoded).collect();
        let next = String::from_utf8(bytes)
            .map_err(|_| ProxyError::bad_path("request path is not valid UTF-8 once decoded"))?;
        if next.chars().any(|c| c == '\\' || c.is_control()) {
            return Err(ProxyError::bad_path(
                "request path contains an encoded backslash or control character",
            ));
        }
        // An encoded slash is fine in itself (S3 keys use it), but not if it makes a dot segment.
        if next.split('/').any(is_dot_segment) {
            return Err(ProxyError::bad_path("request path contains a '.' or '..' segment"));
        }
        if next == decoded {
            return Ok(());
        }
        decoded = next;
    }
    Err(ProxyError::bad_path("request path is percent-encoded too many times"))
}

/// `.` and `..`, also written with characters that Unicode normalisation turns into dots, and
/// with `;parameters` after them (Tomcat and Spring read `..;x` as `..`).
fn is_dot_segment(segment: &str) -> bool {
    let segment = segment.split(';').next().unwrap_or_default();
    let folded: String = segment
        .chars()
        .map(|c| match c {
            '\u{FF0E}' | '\u{FE52}' | '\u{2024}' | '\u{3002}' | '\u{FF61}' => ".".to_string(),
            '\u{2025}' => "..".to_string(),
            '\u{2026}' => "...".to_string(),
            other => other.to_string(),
        })
        .collect();
    folded == "." || folded == ".."
}

/// The upstream path and query: the target's base path, then the request path, then the query
/// unchanged. With no request path the target is used exactly as written.
pub fn upstream_path_and_query(base_path: &str, rest: &str, query: Option<&str>) -> String {
    let mut out = if rest.is_empty() {
        if base_path.is_empty() {
            "/".to_string()
        } else {
            base_path.to_string()
        }
    } else {
        format!("{}{}", base_path.trim_end_matches('/'), rest)
    };
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_query_off() {
        assert_eq!(split_url("/a/b?x=1&y=%20"), ("/a/b", Some("x=1&y=%20")));
        assert_eq!(split_url("/a"), ("/a", None));
        assert_eq!(split_url("/a?"), ("/a", Some("")));
    }

    #[test]
    fn joins_paths_under_the_base() {
        assert_eq!(upstream_path_and_query("/prod", "/items/1", Some("q=a%20b")), "/prod/items/1?q=a%20b");
        assert_eq!(upstream_path_and_query("/prod/", "/items", None), "/prod/items");
        assert_eq!(upstream_path_and_query("", "/items", None), "/items");
        assert_eq!(upstream_path_and_query("/prod", "", None), "/prod");
        assert_eq!(upstream_path_and_query("/prod/", "", Some("x")), "/prod/?x");
        assert_eq!(upstream_path_and_query("", "", None), "/");
    }

    #[test]
    fn accepts_ordinary_and_encoded_paths() {
        for path in [
            "",
            "/",
            "/items/1",
            "/a%20b/c%2Fd",
            "/k%3D%2B%26",
            "/.well-known/x",
            "/a..b",
            "/%E2%9C%93",
            "//x",
            "/a;b/c;..",
            "/;/x",
            "/..a;b",
        ] {
            assert!(check_request_path(path).is_ok(), "{path}");
        }
    }

    #[test]
    fn refuses_every_way_of_writing_a_dot_segment() {
        let attacks = [
            "/..",
            "/../etc",
            "/a/../../b",
            "/.",
            "/%2e%2e",
            "/%2E%2e/x",
            "/%252e%252e",
            "/%25252e%25252e",
            "/..%2f..%2fetc",
            "/a%2f..%2f..",
            "/..\\x",
            "/%5c..",
            "/a/%2e",
            "/%c0%ae%c0%ae",
            "/%00",
            "/\u{FF0E}\u{FF0E}",
            "/%EF%BC%8E%EF%BC%8E",
            "/\u{2025}",
            "/%2525252e%2525252e",
            "/..;",
            "/a/..;/b",
            "/..;jsessionid=x/b",
            "/%2e%2e;/b",
            "/.;x",
            "/..%3bx",
        ];
        for path in attacks {
            let error = check_request_path(path).expect_err(path);
            assert_eq!(error.kind(), crate::error::ErrorKind::BadPath, "{path}");
        }
    }
}
