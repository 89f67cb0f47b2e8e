//! Which route a request path selects, decided on the path as an upstream will read it.
//!
//! Routes are chosen by the longest key that prefixes the raw path at a segment boundary, and
//! the raw path is what gets forwarded (S3 keys keep their exact bytes). But servers normalise
//! paths before they route: Tomcat and Spring decode `%61` to `a`, drop `;param` from segments
//! and merge `//`; IIS and others ignore case. With an open route `/api` and a closed child
//! `/api/admin`, `/api//admin`, `/api/%61dmin` and `/api/admin;x=1` select the open parent by
//! their raw spelling and reach the child's resources upstream. So a path is refused
//! (400 `BAD_PATH`) when its normalised form selects another route than its raw form: then no
//! spelling reaches a route's upstream paths under another route's policy.

use std::borrow::Cow;

use percent_encoding::percent_decode;

use crate::error::ProxyError;
// As many rounds of percent-decoding as the path rules look through.
use crate::path::DECODE_ROUNDS;

/// The route keys, raw and normalised, in config order.
pub struct RouteSelector {
    keys: Vec<String>,
    normalised: Vec<String>,
    /// Whether another route's key lies below this one's: only then can a spelling of a path
    /// under this route select another. (Keys are plain segments, so a path's normalised form
    /// always starts with its raw route's normalised key.)
    has_nested: Vec<bool>,
}

impl RouteSelector {
    pub fn new(keys: Vec<String>) -> Self {
        let normalised: Vec<String> = keys.iter().map(|key| normalise(key).into_owned()).collect();
        let has_nested = normalised
            .iter()
            .map(|key| {
                normalised
                    .iter()
                    .any(|other| other.strip_prefix(key.as_str()).is_some_and(|r| r.starts_with('/')))
            })
            .collect();
        Self { keys, normalised, has_nested }
    }

    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// The route a request path (without its query) selects, with the rest of the path after
    /// the route key; `None` when no route matches the raw path. Refused when the path, read as
    /// servers normalise it, selects a different route (or none).
    pub fn select<'p>(&self, path: &'p str) -> Result<Option<(usize, &'p str)>, ProxyError> {
        let Some((index, rest)) = match_route(&self.keys, path) else { return Ok(None) };
        if !self.has_nested[index] {
            return Ok(Some((index, rest)));
        }
        let normalised = normalise(path);
        if matches!(normalised, Cow::Borrowed(_)) {
            return Ok(Some((index, rest)));
        }
        match match_route(&self.normalised, &normalised) {
            Some((read_as, _)) if read_as == index => Ok(Some((index, rest))),
            _ => Err(refused_spelling()),
        }
    }
}

/// Why a path is refused when its normalised form selects another route than its raw form.
pub fn refused_spelling() -> ProxyError {
    ProxyError::bad_path(
        "request path selects another route once normalised (percent-decoding, ';' \
         parameters, empty segments or letter case); write it the way that route's paths are written",
    )
}

/// Finds the key that is the longest prefix of `path` at a segment boundary, and returns its
/// index with the rest of the path (`""` or starting with `/`).
fn match_route<'p, K: AsRef<str>>(keys: &[K], path: &'p str) -> Option<(usize, &'p str)> {
    keys.iter()
        .enumerate()
        .filter_map(|(index, key)| {
            let rest = path.strip_prefix(key.as_ref())?;
            (rest.is_empty() || rest.starts_with('/')).then_some((index, rest, key.as_ref().len()))
        })
        .max_by_key(|(_, _, key_len)| *key_len)
        .map(|(index, rest, _)| (index, rest))
}

/// A path as a lenient server routes it: percent-decoded (repeatedly), backslashes as slashes,
/// `;parameters` cut from every segment, empty segments dropped, ASCII letters lower-cased.
/// Borrowed when the path is already in that form, which is the common case and costs no copy.
fn normalise(path: &str) -> Cow<'_, str> {
    let in_normal_form = !path.bytes().any(|b| matches!(b, b'%' | b';' | b'\\' | b'A'..=b'Z'))
        && !path.contains("//")
        && !(path.len() > 1 && path.ends_with('/'));
    if in_normal_form {
        return Cow::Borrowed(path);
    }
    let mut decoded = path.as_bytes().to_vec();
    for _ in 0..DECODE_ROUNDS {
        let next: Vec<u8> = percent_decode(&decoded).collect();
        if next == decoded {
            break;
        }
        decoded = next;
    }
    let text = String::from_utf8_lossy(&decoded).replace('\\', "/");
    let mut out = String::with_capacity(text.len());
    for segment in text.split('/') {
        let segment = segment.split(';').next().unwrap_or_default();
        if !segment.is_empty() {
            out.push('/');
            out.push_str(&segment.to_ascii_lowercase());
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Cow::Owned(out)
}

/// Two route keys that normalise alike: a case-insensitive upstream could not tell them apart.
pub fn keys_alike(a: &str, b: &str) -> bool {
    normalise(a) == normalise(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selector(keys: &[&str]) -> RouteSelector {
        RouteSelector::new(keys.iter().map(|k| k.to_string()).collect())
    }

    #[test]
    fn matches_the_longest_route_at_a_segment_boundary() {
        let routes = selector(&["/a", "/a/b", "/ab"]);
        assert_eq!(routes.select("/a/b/c").unwrap(), Some((1, "/c")));
        assert_eq!(routes.select("/a/bc").unwrap(), Some((0, "/bc")));
        assert_eq!(routes.select("/ab").unwrap(), Some((2, "")));
        assert_eq!(routes.select("/a").unwrap(), Some((0, "")));
        assert_eq!(routes.select("/abc").unwrap(), None);
        assert_eq!(routes.select("/").unwrap(), None);
    }

    #[test]
    fn refuses_spellings_of_a_child_route_that_select_its_parent() {
        let routes = selector(&["/api", "/api/admin"]);
        for path in [
            "/api//admin/secret",
            "/api/%61dmin/secret",
            "/api/%2561dmin/secret",
            "/api/admin;x=1/secret",
            "/api/;/admin/secret",
            "/api/ADMIN/secret",
            "/api/Admin",
            "/api/admin%2Fsecret",
            "/api/admin%3Bx/secret",
            "/api/%5cadmin/secret",
        ] {
            let error = routes.select(path).expect_err(path);
            assert_eq!(error.kind(), crate::error::ErrorKind::BadPath, "{path}");
        }
        assert_eq!(routes.select("/api/admin/secret").unwrap(), Some((1, "/secret")));
        assert_eq!(routes.select("/api\\admin/secret").unwrap(), None, "no route by its raw spelling");
    }

    #[test]
    fn keeps_odd_spellings_that_stay_on_their_route() {
        let routes = selector(&["/s3", "/api", "/api/admin"]);
        for (path, index) in [
            ("/s3/Photos/2024//a%20b;v=1.jpg", 0),
            ("/s3/a%2Fb/%41", 0),
            ("/api/items//1", 1),
            ("/api/Items;x", 1),
            ("/api/admin//x", 2),
            ("/api/admin/X%2Fy", 2),
            ("/api/administrator", 1),
        ] {
            assert_eq!(routes.select(path).unwrap().map(|(i, _)| i), Some(index), "{path}");
        }
    }

    #[test]
    fn normal_paths_are_not_copied() {
        assert!(matches!(normalise("/api/items/1"), Cow::Borrowed(_)));
        assert_eq!(normalise("/API//a;b/%63/"), "/api/a/c");
    }

    #[test]
    fn keys_that_differ_in_case_are_alike() {
        assert!(keys_alike("/Api", "/api"));
        assert!(!keys_alike("/api", "/apis"));
    }
}
