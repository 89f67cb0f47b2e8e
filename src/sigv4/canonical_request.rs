//! The canonical request (step 1 of
//! https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html), written into
//! buffers that are kept and reused from one signature to the next.

use std::ops::Range;

use http::uri::Uri;

use super::canonical_uri::{write_path, QueryParams};
use super::NotCovered;

/// Headers aws-sigv4's default settings leave unsigned: intermediaries may change them.
const UNSIGNED_HEADERS: [&str; 4] = ["authorization", "user-agent", "x-amzn-trace-id", "transfer-encoding"];

/// Longer header names go to aws-sigv4, which knows its own limit.
const MAX_HEADER_NAME_LEN: usize = 1024;

/// What goes into a canonical request besides the request itself.
pub(super) struct Additions<'a> {
    pub date_time: &'a str,
    pub session_token: Option<&'a str>,
    /// The payload hash (or `UNSIGNED-PAYLOAD`), always the last line.
    pub payload_hash: &'a str,
    /// Also sign the payload hash as `x-amz-content-sha256`.
    pub payload_hash_header: bool,
    pub normalise_and_encode_path_twice: bool,
}

/// A canonical request and the scratch space it is built in.
#[derive(Default)]
pub(super) struct CanonicalRequest {
    out: String,
    signed_headers: Range<usize>,
    /// Lower-cased header names and trimmed values, and encoded query parameters.
    text: String,
    headers: Vec<Header>,
    query: QueryParams,
}

/// One header value, as ranges of `CanonicalRequest::text`.
struct Header {
    name: Range<usize>,
    value: Range<usize>,
}

impl CanonicalRequest {
    /// Writes the canonical request of `method` `uri` with `headers`. Headers aws-sigv4 would
    /// refuse (or lower-case beyond ASCII) are [`NotCovered`].
    pub(super) fn build(
        &mut self,
        method: &str,
        uri: &Uri,
        headers: &[(&str, &str)],
        additions: &Additions<'_>,
    ) -> Result<(), NotCovered> {
        self.out.clear();
        self.text.clear();
        self.headers.clear();
        self.collect_headers(uri, headers, additions)?;

        self.out.push_str(method);
        self.out.push('\n');
        write_path(&mut self.out, uri.path(), additions.normalise_and_encode_path_twice);
        self.out.push('\n');
        self.query.write(&mut self.out, uri.query(), &mut self.text);
        self.out.push('\n');
        self.write_headers();
        self.out.push_str(additions.payload_hash);
        Ok(())
    }

    /// The canonical request itself.
    pub(super) fn as_str(&self) -> &str {
        &self.out
    }

    /// Bytes held by the buffers.
    pub(super) fn capacity(&self) -> usize {
        self.out.capacity() + self.text.capacity()
    }

    /// The `;`-separated names of the signed headers.
    pub(super) fn signed_headers(&self) -> &str {
        &self.out[self.signed_headers.clone()]
    }

    /// The request's headers (names lower-cased, values trimmed), `host` when they lack it,
    /// and the signature's own headers in place of any the request has.
    fn collect_headers(
        &mut self,
        uri: &Uri,
        headers: &[(&str, &str)],
        additions: &Additions<'_>,
    ) -> Result<(), NotCovered> {
        for (name, value) in headers {
            if name.is_empty() || name.len() > MAX_HEADER_NAME_LEN || !name.bytes().all(is_token_byte) {
                return Err(NotCovered("a header name that is not an ASCII token"));
            }
            if !value.bytes().all(is_header_value_byte) {
                return Err(NotCovered("a header value with control characters"));
            }
            let name = self.push_text(name);
            self.text[name.clone()].make_ascii_lowercase();
            let value = self.push_trimmed(value);
            self.headers.push(Header { name, value });
        }
        if !self.headers.iter().any(|h| &self.text[h.name.clone()] == "host") {
            self.set_header("host", host_of(uri)?);
        }
        self.set_header("x-amz-date", additions.date_time);
        if let Some(token) = additions.session_token {
            if !token.bytes().all(is_header_value_byte) {
                return Err(NotCovered("a session token with control characters"));
            }
            self.set_header("x-amz-security-token", token);
        }
        if additions.payload_hash_header {
            self.set_header("x-amz-content-sha256", additions.payload_hash);
        }
        let text = &self.text;
        self.headers.retain(|h| !UNSIGNED_HEADERS.contains(&&text[h.name.clone()]));
        // Stable, so that the values of one name keep the order they were given in.
        self.headers.sort_by(|a, b| text[a.name.clone()].cmp(&text[b.name.clone()]));
        Ok(())
    }

    /// `name:value1,value2` lines for each signed name, a blank line, then the signed names.
    fn write_headers(&mut self) {
        let text = &self.text;
        let name_of = |h: &Header| &text[h.name.clone()];
        for (i, header) in self.headers.iter().enumerate() {
            let first_of_name = i == 0 || name_of(&self.headers[i - 1]) != name_of(header);
            if first_of_name {
                if i > 0 {
                    self.out.push('\n');
                }
                self.out.push_str(name_of(header));
                self.out.push(':');
            } else {
                self.out.push(',');
            }
            self.out.push_str(&text[header.value.clone()]);
        }
        self.out.push_str("\n\n");
        let start = self.out.len();
        for (i, header) in self.headers.iter().enumerate() {
            if i == 0 {
                self.out.push_str(name_of(header));
            } else if name_of(&self.headers[i - 1]) != name_of(header) {
                self.out.push(';');
                self.out.push_str(name_of(header));
            }
        }
        self.signed_headers = start..self.out.len();
        self.out.push('\n');
    }

    /// Replaces every value of `name` (lower case) with `value`.
    fn set_header(&mut self, name: &str, value: &str) {
        let text = &self.text;
        self.headers.retain(|h| &text[h.name.clone()] != name);
        let name = self.push_text(name);
        let value = self.push_text(value);
        self.headers.push(Header { name, value });
    }

    fn push_text(&mut self, s: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(s);
        start..self.text.len()
    }

    /// Spaces (only spaces) trimmed from both ends and runs of them collapsed into one.
    fn push_trimmed(&mut self, value: &str) -> Range<usize> {
        let start = self.text.len();
        for (i, word) in value.split(' ').filter(|w| !w.is_empty()).enumerate() {
            if i > 0 {
                self.text.push(' ');
            }
            self.text.push_str(word);
        }
        start..self.text.len()
    }
}

/// The host to sign when the request names none: the URL's authority without a default port.
fn host_of(uri: &Uri) -> Result<&str, NotCovered> {
    let authority = uri.authority().ok_or(NotCovered("a URL without a host"))?;
    let port = uri.port();
    let default_port = matches!(
        (uri.scheme_str(), port.as_ref().map(|p| p.as_str())),
        (Some("http"), Some("80")) | (Some("https"), Some("443"))
    );
    Ok(if default_port { authority.host() } else { authority.as_str() })
}

/// The characters `http::HeaderName` accepts (RFC 9110 `tchar`).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The bytes `http::HeaderValue::from_str` accepts.
fn is_header_value_byte(b: u8) -> bool {
    b == b'\t' || (b >= 32 && b != 127)
}
