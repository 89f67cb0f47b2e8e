//! Whatever path a client sends, an accepted request stays on the target host and, read the way
//! the most lenient server would read it (fully percent-decoded, backslashes as slashes, dot
//! segments resolved, `;parameters` cut from segments as servlet containers do), under the
//! target's base path.

use percent_encoding::percent_decode_str;
use proptest::prelude::*;
use proxy_sigv4::path::{check_request_path, upstream_path_and_query};

const BASE: &str = "/prod/api";
const HOST: &str = "abc.execute-api.us-east-1.amazonaws.com";

/// Pieces an attacker would combine: dots in every spelling, slashes, backslashes, `@`, `:`,
/// percent signs and hex digits that form new escapes, look-alike dots, NUL.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(".".to_string()),
        Just("..".to_string()),
        Just("/".to_string()),
        Just("\\".to_string()),
        Just("%2e".to_string()),
        Just("%2E".to_string()),
        Just("%252e".to_string()),
        Just("%2f".to_string()),
        Just("%5c".to_string()),
        Just("%25".to_string()),
        Just("%".to_string()),
        Just("2e".to_string()),
        Just("%c0%ae".to_string()),
        Just("\u{FF0E}".to_string()),
        Just("%EF%BC%8E".to_string()),
        Just("%00".to_string()),
        Just("@".to_string()),
        Just(":".to_string()),
        Just("//evil.example.com".to_string()),
        Just(";".to_string()),
        Just("%3b".to_string()),
        Just(";jsessionid=x".to_string()),
        "[a-z0-9]{1,3}",
    ]
}

fn request_path() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..12).prop_map(|pieces| format!("/{}", pieces.concat()))
}

/// Decodes until stable (bounded), turns backslashes and look-alike dots into what lenient
/// servers make of them, cuts `;parameters` from each segment (Tomcat and Spring read `..;x`
/// as `..`), then resolves dot segments as RFC 3986 section 5.2.4 does.
fn lenient_server_view(path: &str) -> String {
    let mut text = path.to_string();
    for _ in 0..8 {
        let next = percent_decode_str(&text).decode_utf8_lossy().into_owned();
        if next == text {
            break;
        }
        text = next;
    }
    let text = text.replace('\\', "/").replace('\u{FF0E}', ".");
    let mut out: Vec<&str> = Vec::new();
    for segment in text.split('/').map(|s| s.split(';').next().unwrap_or_default()) {
        match segment {
            "." => {}
            ".." => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out.join("/")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    #[test]
    fn accepted_paths_stay_under_the_base(rest in request_path(), query in "[a-z=&%/.]{0,8}") {
        if check_request_path(&rest).is_ok() {
            let path_and_query = upstream_path_and_query(BASE, &rest, Some(&query));
            let url = format!("https://{HOST}{path_and_query}");
            if let Ok(uri) = url.parse::<http::Uri>() {
                prop_assert_eq!(uri.host(), Some(HOST));
                let view = lenient_server_view(uri.path());
                prop_assert!(view.starts_with(BASE), "{} read as {}", uri.path(), view);
            }
        }
    }

    #[test]
    fn a_dot_segment_with_parameters_is_refused(
        prefix in "[a-z]{0,3}",
        dots in prop_oneof![Just("."), Just(".."), Just("%2e%2e"), Just("%2E."), Just("%252e%252e"), Just(".%2e"), Just("\u{FF0E}\u{FF0E}")],
        separator in prop_oneof![Just(";"), Just("%3b"), Just("%3B"), Just("%253b")],
        parameters in "[a-zA-Z0-9=;.]{0,12}",
    ) {
        let path = format!("/{prefix}/{dots}{separator}{parameters}/x");
        prop_assert!(check_request_path(&path).is_err(), "{} was accepted", path);
    }

    /// S3 keys may hold `;` anywhere; only a segment that is a dot segment before its first `;`
    /// is refused.
    #[test]
    fn keys_with_semicolons_elsewhere_pass(
        segments in prop::collection::vec("[a-zA-Z0-9_-][a-zA-Z0-9_.=-]{0,6}(;[a-zA-Z0-9_.=;-]{0,8})?", 1..5),
    ) {
        let path = format!("/{}", segments.join("/"));
        prop_assert!(check_request_path(&path).is_ok(), "{} was refused", path);
    }

    #[test]
    fn any_dot_dot_segment_is_refused(prefix in "[a-z]{0,3}", encoded in prop_oneof![Just(".."), Just("%2e%2e"), Just("%2E."), Just("%252e%252e"), Just(".%2e")]) {
        let path = format!("/{prefix}/{encoded}/x");
        prop_assert!(check_request_path(&path).is_err());
    }
}
