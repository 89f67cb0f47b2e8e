//! SigV4 signature headers exactly as `aws_sigv4::http_request::sign` makes them with the
//! settings of [`Rules`], without its per-call costs: the signing key comes from a cache and
//! the canonical request is written into buffers reused by each thread. The arithmetic is
//! aws-sigv4's own (`generate_signing_key`, `calculate_signature`).
//!
//! [`sign`] answers [`NotCovered`] for what it does not reproduce on its own (header names
//! that are not ASCII tokens, control characters in values, URLs without a host, times before
//! 1970); `signing` then asks aws-sigv4, which signs or refuses as it always has.

mod amz_date;
mod canonical_request;
mod canonical_uri;
mod signing_key;

use std::cell::RefCell;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::sign::v4::calculate_signature;
use http::Uri;
use sha2::{Digest, Sha256};

use crate::endpoint::SigningScope;
use amz_date::AmzDate;
use canonical_request::{Additions, CanonicalRequest};
use signing_key::{KeyScope, SigningKeyCache};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Buffers above this size are given back after use rather than kept for the next signature.
const MAX_KEPT_BUFFER: usize = 64 * 1024;

/// What a signature covers: the request as it will be sent.
pub struct RequestToSign<'a> {
    pub method: &'a str,
    /// The absolute URL, already percent-encoded as it goes on the wire.
    pub url: &'a str,
    /// The headers to sign (lowercase names), `host` among them.
    pub headers: Vec<(&'a str, &'a str)>,
    pub payload: Payload<'a>,
}

/// What the signature says about the body.
#[derive(Clone, Copy)]
pub enum Payload<'a> {
    /// The exact bytes sent: their SHA-256 is signed.
    Bytes(&'a [u8]),
    /// `UNSIGNED-PAYLOAD`: the body streams through unhashed, and the request says so in
    /// `x-amz-content-sha256` (S3 accepts this; most other services do not).
    Unsigned,
}

/// How a request is signed, beyond the SigV4 defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// Resolve dot segments and encode the (already encoded) path once more. Not for S3.
    pub normalise_and_encode_path_twice: bool,
    /// Sign and send the payload hash as `x-amz-content-sha256`.
    pub payload_hash_header: bool,
}

impl Rules {
    /// S3 is signed as the SDKs sign it: path encoded once, never normalised, and the payload
    /// hash sent as `x-amz-content-sha256`. Every other service gets the SigV4 defaults, except
    /// that an unsigned payload is always announced in `x-amz-content-sha256`.
    pub fn for_request(service: &str, payload: Payload<'_>) -> Self {
        let s3 = service == "s3";
        Rules {
            normalise_and_encode_path_twice: !s3,
            payload_hash_header: s3 || matches!(payload, Payload::Unsigned),
        }
    }
}

/// A request this module leaves to aws-sigv4, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotCovered(pub &'static str);

/// Per-thread buffers, so that a signature allocates little more than its output.
#[derive(Default)]
struct Buffers {
    canonical_request: CanonicalRequest,
    string_to_sign: String,
}

thread_local! {
    static BUFFERS: RefCell<Buffers> = RefCell::new(Buffers::default());
}

/// The headers that carry the signature, in aws-sigv4's order: `x-amz-date`, `authorization`,
/// then `x-amz-content-sha256` and `x-amz-security-token` where they apply.
pub fn sign(
    request: &RequestToSign<'_>,
    scope: &SigningScope,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<Vec<(&'static str, String)>, NotCovered> {
    let rules = Rules::for_request(&scope.service, request.payload);
    let uri: Uri = request.url.parse().map_err(|_| NotCovered("a URL that does not parse"))?;
    let amz_date = AmzDate::of(time).ok_or(NotCovered("a time before 1970 or after 9999"))?;
    let body_hash;
    let payload_hash = match request.payload {
        Payload::Bytes(bytes) => {
            body_hash = sha256_hex(bytes);
            body_hash.as_str()
        }
        Payload::Unsigned => UNSIGNED_PAYLOAD,
    };
    let additions = Additions {
        date_time: amz_date.date_time(),
        session_token: credentials.session_token(),
        payload_hash,
        payload_hash_header: rules.payload_hash_header,
        normalise_and_encode_path_twice: rules.normalise_and_encode_path_twice,
    };
    let with_buffers = |buffers: &mut Buffers| -> Result<String, NotCovered> {
        // Step 1: the canonical request.
        let creq = &mut buffers.canonical_request;
        creq.build(request.method, &uri, &request.headers, &additions)?;
        // Step 2: the string to sign.
        let sts = &mut buffers.string_to_sign;
        sts.clear();
        for part in [ALGORITHM, "\n", amz_date.date_time(), "\n"] {
            sts.push_str(part);
        }
        push_credential_scope(sts, &amz_date, scope);
        sts.push('\n');
        sts.push_str(sha256_hex(creq.as_str().as_bytes()).as_str());
        // Step 3: the signature, with the cached key.
        let key = SigningKeyCache::shared().signing_key(&KeyScope {
            access_key_id: credentials.access_key_id(),
            secret_access_key: credentials.secret_access_key(),
            time,
            date: amz_date.date(),
            region: &scope.region,
            service: &scope.service,
        });
        let signature = calculate_signature(key, sts.as_bytes());
        // Step 4: the authorization header.
        let mut authorization = String::with_capacity(256);
        for part in [ALGORITHM, " Credential=", credentials.access_key_id(), "/"] {
            authorization.push_str(part);
        }
        push_credential_scope(&mut authorization, &amz_date, scope);
        for part in [", SignedHeaders=", creq.signed_headers(), ", Signature=", &signature] {
            authorization.push_str(part);
        }
        Ok(authorization)
    };
    let authorization = BUFFERS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buffers) => {
            let signed = with_buffers(&mut buffers);
            if buffers.canonical_request.capacity() + buffers.string_to_sign.capacity() > MAX_KEPT_BUFFER {
                *buffers = Buffers::default();
            }
            signed
        }
        // Only if signing were ever re-entered on this thread.
        Err(_) => with_buffers(&mut Buffers::default()),
    })?;

    let mut headers = Vec::with_capacity(4);
    headers.push(("x-amz-date", amz_date.date_time().to_string()));
    headers.push(("authorization", authorization));
    if rules.payload_hash_header {
        headers.push(("x-amz-content-sha256", payload_hash.to_string()));
    }
    if let Some(token) = credentials.session_token() {
        headers.push(("x-amz-security-token", token.to_string()));
    }
    Ok(headers)
}

/// `YYYYMMDD/region/service/aws4_request`.
fn push_credential_scope(out: &mut String, amz_date: &AmzDate, scope: &SigningScope) {
    for part in [amz_date.date(), "/", &scope.region, "/", &scope.service, "/aws4_request"] {
        out.push_str(part);
    }
}

/// A SHA-256 digest in lowercase hex.
struct Sha256Hex([u8; 64]);

impl Sha256Hex {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits")
    }
}

fn sha256_hex(bytes: &[u8]) -> Sha256Hex {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut out = [0u8; 64];
    for (i, byte) in digest.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(byte >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(byte & 0xf)];
    }
    Sha256Hex(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_in_lowercase_hex() {
        assert_eq!(
            sha256_hex(b"").as_str(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn s3_and_unsigned_payloads_get_their_rules() {
        let bytes = Payload::Bytes(b"");
        assert_eq!(
            Rules::for_request("s3", bytes),
            Rules { normalise_and_encode_path_twice: false, payload_hash_header: true }
        );
        assert_eq!(
            Rules::for_request("lambda", bytes),
            Rules { normalise_and_encode_path_twice: true, payload_hash_header: false }
        );
        assert_eq!(
            Rules::for_request("lambda", Payload::Unsigned),
            Rules { normalise_and_encode_path_twice: true, payload_hash_header: true }
        );
    }
}
