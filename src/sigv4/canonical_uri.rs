//! The canonical URI and query string of a SigV4 canonical request (steps 1.2 and 1.3 of
//! https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html), written as
//! aws-sigv4 1.x writes them.

use std::ops::Range;

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

/// Everything but RFC 3986's unreserved characters: aws-smithy-http's `BASE_SET`, which
/// aws-sigv4 encodes query keys and values with (and paths, with `/` kept).
const QUERY_SET: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'/')
    .add(b':')
    .add(b',')
    .add(b'?')
    .add(b'#')
    .add(b'[')
    .add(b']')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'@')
    .add(b'!')
    .add(b'$')
    .add(b'&')
    .add(b'\'')
    .add(b'(')
    .add(b')')
    .add(b'*')
    .add(b'+')
    .add(b';')
    .add(b'=')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'"')
    .add(b'^')
    .add(b'`')
    .add(b'\\');

/// The second encoding of a path that is already encoded once: `%` becomes `%25`.
const PATH_SET: &AsciiSet = &QUERY_SET.remove(b'/');

/// Appends the canonical path. Every service but S3 resolves dot segments, drops empty
/// segments and encodes the path a second time; S3 signs the path as sent.
pub(super) fn write_path(out: &mut String, path: &str, normalise_and_encode_twice: bool) {
    if !normalise_and_encode_twice {
        out.push_str(path);
        return;
    }
    if path.contains('.') || path.contains("//") || !path.starts_with('/') {
        out.extend(utf8_percent_encode(&normalised(path), PATH_SET));
    } else {
        out.extend(utf8_percent_encode(path, PATH_SET));
    }
}

/// RFC 3986 section 5.2.4 (remove dot segments), with empty segments dropped and a trailing
/// slash kept, as aws-sigv4's `normalize_uri_path` does.
fn normalised(path: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            other => kept.push(other),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for segment in &kept {
        out.push('/');
        out.push_str(segment);
    }
    let ends_with_slash = ["/", "/.", "/./", "/..", "/../"].iter().any(|end| path.ends_with(end));
    if out.is_empty() || (ends_with_slash && !out.ends_with('/')) {
        out.push('/');
    }
    out
}

/// Query parameters encoded for signing, as ranges of one reused text buffer.
#[derive(Default)]
pub(super) struct QueryParams {
    pairs: Vec<(Range<usize>, Range<usize>)>,
}

impl QueryParams {
    /// Appends the canonical query string: parameters decoded as a form (`+` is a space),
    /// encoded again with only unreserved characters left bare, sorted by encoded key then
    /// value, each written `key=value`. `text` is scratch space.
    pub(super) fn write(&mut self, out: &mut String, query: Option<&str>, text: &mut String) {
        let Some(query) = query else { return };
        self.pairs.clear();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let key = encode_into(text, &key);
            let value = encode_into(text, &value);
            self.pairs.push((key, value));
        }
        let text = text.as_str();
        self.pairs.sort_unstable_by(|(k1, v1), (k2, v2)| {
            (&text[k1.clone()], &text[v1.clone()]).cmp(&(&text[k2.clone()], &text[v2.clone()]))
        });
        for (i, (key, value)) in self.pairs.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            out.push_str(&text[key.clone()]);
            out.push('=');
            out.push_str(&text[value.clone()]);
        }
    }
}

fn encode_into(text: &mut String, raw: &str) -> Range<usize> {
    let start = text.len();
    text.extend(utf8_percent_encode(raw, QUERY_SET));
    start..text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(raw: &str, twice: bool) -> String {
        let mut out = String::new();
        write_path(&mut out, raw, twice);
        out
    }

    fn query(raw: &str) -> String {
        let (mut out, mut text) = (String::new(), String::new());
        QueryParams::default().write(&mut out, Some(raw), &mut text);
        out
    }

    #[test]
    fn normalises_and_encodes_paths_twice_except_for_s3() {
        assert_eq!(path("/a%20b/./c/../d//e/", true), "/a%2520b/d/e/");
        assert_eq!(path("/..", true), "/");
        assert_eq!(path("/a/.", true), "/a/");
        assert_eq!(path("/a%20b/./c", false), "/a%20b/./c");
    }

    #[test]
    fn sorts_and_re_encodes_query_parameters() {
        assert_eq!(query("b=2&a=2&a=1&c&d=&e=a+b%20c&&f=%7E*"), "a=1&a=2&b=2&c=&d=&e=a%20b%20c&f=~%2A");
    }
}
