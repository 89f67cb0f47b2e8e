//! SigV4 signatures: the proxy's and the public signer's single way to sign. The fast path is
//! `sigv4`; what it does not cover is signed (or refused) by `aws_sigv4::http_request::sign`.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use http::Uri;

use crate::endpoint::{infer_scope, SigningScope};
use crate::error::{ErrorKind, ProxyError};
use crate::headers::latin1_bytes;
use crate::sigv4::{self, Rules};
pub use crate::sigv4::{Payload, RequestToSign};

/// The headers that carry the signature: `authorization`, `x-amz-date`, and
/// `x-amz-security-token` / `x-amz-content-sha256` where they apply.
pub fn signature_headers(
    request: &RequestToSign<'_>,
    scope: &SigningScope,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<Vec<(&'static str, String)>, ProxyError> {
    match sigv4::sign(request, scope, credentials, time) {
        Ok(headers) => Ok(headers),
        Err(sigv4::NotCovered(_)) => signature_headers_by_aws_sigv4(request, scope, credentials, time),
    }
}

/// The same headers from `aws_sigv4::http_request::sign`, which also says what is wrong with
/// a request that cannot be signed.
fn signature_headers_by_aws_sigv4(
    request: &RequestToSign<'_>,
    scope: &SigningScope,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<Vec<(&'static str, String)>, ProxyError> {
    let identity: Identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&scope.region)
        .name(&scope.service)
        .time(time)
        .settings(settings_for(Rules::for_request(&scope.service, request.payload)))
        .build()
        .map_err(|e| {
            ProxyError::new(ErrorKind::Internal, "could not build signing parameters").with_source(e)
        })?;
    sign_with_aws_sigv4(request, params.into())
}

/// Signs `request` with aws-sigv4 (SigV4 or SigV4A, as `params` say): the headers to add.
fn sign_with_aws_sigv4(
    request: &RequestToSign<'_>,
    params: aws_sigv4::http_request::SigningParams<'_>,
) -> Result<Vec<(&'static str, String)>, ProxyError> {
    let signable = SignableRequest::new(
        request.method,
        request.url,
        request.headers.iter().copied(),
        match request.payload {
            Payload::Bytes(bytes) => SignableBody::Bytes(bytes),
            Payload::Unsigned => SignableBody::UnsignedPayload,
        },
    )
    .map_err(|e| ProxyError::bad_path("the request cannot be signed").with_source(e))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| ProxyError::new(ErrorKind::Internal, "signing failed").with_source(e))?
        .into_parts();
    let (headers, _query) = instructions.into_parts();
    Ok(headers.into_iter().map(|h| (h.name(), h.value().to_string())).collect())
}

/// The region whose STS endpoint a SigV4A signer's AssumeRole uses when nothing names one: a
/// SigV4A signature names a region set, not a region.
pub const SIGV4A_STS_REGION: &str = "us-east-1";

/// The signature headers: SigV4 for `scope`, or SigV4A for the service of `scope` when a
/// region set is given.
pub fn signature_headers_for(
    request: &RequestToSign<'_>,
    scope: &SigningScope,
    sigv4a_region_set: Option<&str>,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<Vec<(&'static str, String)>, ProxyError> {
    match sigv4a_region_set {
        None => signature_headers(request, scope, credentials, time),
        Some(set) => sigv4a_signature_headers(request, &scope.service, set, credentials, time),
    }
}

/// The SigV4A headers (`authorization`, `x-amz-date`, `x-amz-region-set`, and
/// `x-amz-security-token` / `x-amz-content-sha256` where they apply): an ECDSA P-256 signature
/// valid in every region of `region_set`, from aws-sigv4 (the core signs SigV4 only).
fn sigv4a_signature_headers(
    request: &RequestToSign<'_>,
    service: &str,
    region_set: &str,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<Vec<(&'static str, String)>, ProxyError> {
    let identity: Identity = credentials.clone().into();
    let params = aws_sigv4::sign::v4a::SigningParams::builder()
        .identity(&identity)
        .region_set(region_set)
        .name(service)
        .time(time)
        .settings(settings_for(Rules::for_request(service, request.payload)))
        .build()
        .map_err(|e| ProxyError::new(ErrorKind::Internal, "could not build signing parameters").with_source(e))?;
    sign_with_aws_sigv4(request, params.into())
}

/// aws-sigv4's settings for `rules`.
pub fn settings_for(rules: Rules) -> SigningSettings {
    let mut settings = SigningSettings::default();
    if !rules.normalise_and_encode_path_twice {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    if rules.payload_hash_header {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    settings
}

/// A request described by other backend code, to be signed with the proxy's rules.
pub struct RequestDescription {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub service: Option<String>,
    pub region: Option<String>,
    /// Sign with SigV4A for this region set (`*`, or regions joined by commas) instead of SigV4.
    pub sigv4a_region_set: Option<String>,
}

/// Signs a described request with the given credentials, at once.
pub fn sign_description_now(
    description: &RequestDescription,
    credentials: &Credentials,
) -> Result<Vec<(String, String)>, ProxyError> {
    sign_description_with(description, &scope_of(description)?, credentials)
}

fn sign_description_with(
    description: &RequestDescription,
    scope: &SigningScope,
    credentials: &Credentials,
) -> Result<Vec<(String, String)>, ProxyError> {
    let headers = description.headers.clone();
    let region_set = description.sigv4a_region_set.as_deref();
    headers_to_send(&description.method, &description.url, headers, &description.body, scope, region_set, credentials)
}

/// Every header to send: the caller's (names lower-cased), `host`, and the signature headers.
/// All of the caller's headers are signed, since the caller sends them as they are.
pub fn headers_to_send(
    method: &str,
    url: &str,
    headers: Vec<(String, String)>,
    body: &[u8],
    scope: &SigningScope,
    sigv4a_region_set: Option<&str>,
    credentials: &Credentials,
) -> Result<Vec<(String, String)>, ProxyError> {
    let caller = caller_headers(url, headers)?;
    let to_sign = RequestToSign {
        method,
        url,
        headers: caller.iter().map(|h| (h.name.as_str(), h.sent.as_str())).collect(),
        payload: Payload::Bytes(body),
    };
    let added = signature_headers_for(&to_sign, scope, sigv4a_region_set, credentials, SystemTime::now())
        .map_err(|e| as_caller_mistake(e, &caller))?;
    let mut headers: Vec<(String, String)> = caller.into_iter().map(|h| (h.name, h.sent)).collect();
    headers.extend(added.into_iter().map(|(n, v)| (n.to_string(), v)));
    Ok(headers)
}

/// A header other backend code will send: its lower-cased name and the string as given.
pub struct CallerHeader {
    pub name: String,
    pub sent: String,
}

/// The caller's headers with `host` set from `url`. Node sends a header string one byte per
/// character and AWS reads header bytes one character per byte (Latin-1), so the string as given
/// is what AWS signs. A character above U+00FF stands for no byte (Node refuses to send it), so
/// it is refused, not signed wrongly.
pub fn caller_headers(
    url: &str,
    mut headers: Vec<(String, String)>,
) -> Result<Vec<CallerHeader>, ProxyError> {
    for (name, _) in &mut headers {
        name.make_ascii_lowercase();
    }
    refuse_repeated_names(&headers)?;
    headers.retain(|(name, _)| name != "host");
    headers.push(("host".to_string(), authority_of(url)?));
    headers
        .into_iter()
        .map(|(name, sent)| match latin1_bytes(&sent) {
            Some(_) => Ok(CallerHeader { name, sent }),
            None => Err(not_sendable(&name)),
        })
        .collect()
}

/// A header string with a character above U+00FF, which Node cannot send: header strings go out
/// one byte per character. Names the header, never the value.
fn not_sendable(name: &str) -> ProxyError {
    ProxyError::bad_header(format!(
        "header '{name}' has a character above U+00FF: header strings go out one byte per character \
         (Latin-1), as AWS reads them"
    ))
}

/// Signing fails here only on what the caller passed: a header name or value that HTTP does not
/// allow (named, its value left out), or a URL aws-sigv4 cannot read.
fn as_caller_mistake(error: ProxyError, headers: &[CallerHeader]) -> ProxyError {
    let invalid = headers.iter().find(|h| {
        http::HeaderName::from_bytes(h.name.as_bytes()).is_err() || http::HeaderValue::from_str(&h.sent).is_err()
    });
    match invalid {
        Some(header) => ProxyError::bad_header(format!(
            "header '{}' is not a valid header name and value",
            header.name.escape_debug()
        )),
        None => ProxyError::invalid_argument("the request cannot be signed").with_source(error),
    }
}

/// Two names that differ only in case would both be signed, but a record of headers to send can
/// hold only one of them: the request would fail verification, so it is refused instead.
fn refuse_repeated_names(lowercased: &[(String, String)]) -> Result<(), ProxyError> {
    for (i, (name, _)) in lowercased.iter().enumerate() {
        if lowercased[..i].iter().any(|(earlier, _)| earlier == name) {
            return Err(ProxyError::bad_header(format!(
                "header '{name}' is given more than once (names differ only in case); give it once"
            )));
        }
    }
    Ok(())
}

fn authority_of(url: &str) -> Result<String, ProxyError> {
    let uri: Uri =
        url.parse().map_err(|_| ProxyError::invalid_argument("url is not a valid absolute URL"))?;
    Ok(uri.authority().ok_or_else(|| ProxyError::invalid_argument("url needs a host"))?.as_str().to_string())
}

/// The description's signing scope. A SigV4A signature names no region (its region set is in
/// a header), so there the region only picks STS's endpoint: SIGV4A_STS_REGION unless given.
pub fn scope_of(description: &RequestDescription) -> Result<SigningScope, ProxyError> {
    let region = match (&description.region, &description.sigv4a_region_set) {
        (None, Some(_)) => Some(SIGV4A_STS_REGION),
        (region, _) => region.as_deref(),
    };
    scope_for(&description.url, description.service.as_deref(), region)
}

/// The given service and region, each inferred from the host of `url` when not given.
pub fn scope_for(url: &str, service: Option<&str>, region: Option<&str>) -> Result<SigningScope, ProxyError> {
    if let (Some(service), Some(region)) = (service, region) {
        return Ok(SigningScope { service: service.to_string(), region: region.to_string() });
    }
    let authority = authority_of(url)?;
    let inferred = infer_scope(&authority).ok_or_else(|| {
        ProxyError::invalid_argument(format!(
            "cannot infer the AWS service and region from host '{authority}'; pass service and region"
        ))
    })?;
    Ok(SigningScope {
        service: service.map_or(inferred.service, str::to_string),
        region: region.map_or(inferred.region, str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn refuses_a_header_given_twice_in_different_cases() {
        let credentials = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        let scope = SigningScope { service: "execute-api".into(), region: "us-east-1".into() };
        let headers = |names: &[&str]| names.iter().map(|n| (n.to_string(), "v".to_string())).collect();
        let url = "https://abc.execute-api.us-east-1.amazonaws.com/prod";
        let twice = headers_to_send("GET", url, headers(&["X-Thing", "x-thing"]), b"", &scope, None, &credentials);
        let error = twice.expect_err("refused");
        assert_eq!(error.kind(), ErrorKind::BadHeader);
        assert!(error.message_with_causes().contains("x-thing"), "{}", error.message_with_causes());
        let distinct =
            headers_to_send("GET", url, headers(&["X-Thing", "x-other"]), b"", &scope, None, &credentials);
        assert!(distinct.is_ok());
    }

    #[test]
    fn signs_header_strings_as_the_bytes_node_sends() {
        let credentials = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        let scope = SigningScope { service: "s3".into(), region: "us-east-1".into() };
        let url = "https://b.s3.amazonaws.com/k";
        let sign = |value: &str| {
            let headers = vec![("x-amz-meta-name".to_string(), value.to_string())];
            headers_to_send("PUT", url, headers, b"", &scope, None, &credentials)
        };
        // "café" as a string: Node sends the byte E9, which AWS reads as 'é' and signs as such.
        let sent = sign("caf\u{e9}").unwrap();
        assert!(sent.contains(&("x-amz-meta-name".to_string(), "caf\u{e9}".to_string())));
        let authorization = sent.iter().find(|(n, _)| n == "authorization").unwrap().1.clone();
        let to_sign = RequestToSign {
            method: "PUT",
            url,
            headers: vec![("host", "b.s3.amazonaws.com"), ("x-amz-meta-name", "café")],
            payload: Payload::Bytes(b""),
        };
        let time = sent.iter().find(|(n, _)| n == "x-amz-date").unwrap().1.clone();
        let expected = signature_headers(&to_sign, &scope, &credentials, amz_date_time(&time)).unwrap();
        assert_eq!(authorization, expected.iter().find(|(n, _)| *n == "authorization").unwrap().1);
        // '€' is above U+00FF: no byte stands for it, so Node could not send it.
        let error = sign("caf\u{20ac}").expect_err("refused");
        assert_eq!(error.kind(), ErrorKind::BadHeader);
        assert!(error.to_string().contains("'x-amz-meta-name'"), "{error}");
        assert!(!error.to_string().contains("caf"), "{error}");
    }

    /// The time an `x-amz-date` (`YYYYMMDDTHHMMSSZ`) names.
    fn amz_date_time(t: &str) -> SystemTime {
        use aws_smithy_types::date_time::{DateTime, Format};
        let iso =
            format!("{}-{}-{}T{}:{}:{}Z", &t[0..4], &t[4..6], &t[6..8], &t[9..11], &t[11..13], &t[13..15]);
        SystemTime::try_from(DateTime::from_str(&iso, Format::DateTime).unwrap()).unwrap()
    }

    #[test]
    fn callers_mistakes_have_their_own_kinds() {
        let credentials = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        let scope = SigningScope { service: "execute-api".into(), region: "us-east-1".into() };
        let url = "https://abc.execute-api.us-east-1.amazonaws.com/prod";
        for (name, value) in [("x-a", "line\nbreak"), ("x a", "v")] {
            let headers = vec![(name.to_string(), value.to_string())];
            let error = headers_to_send("GET", url, headers, b"", &scope, None, &credentials).expect_err(name);
            assert_eq!(error.kind(), ErrorKind::BadHeader, "{name}");
            assert!(!error.message_with_causes().contains("break"), "{}", error.message_with_causes());
        }
        for url in ["https://example.com/", "/relative", "not a url"] {
            let error = scope_for(url, None, None).expect_err(url);
            assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{url}");
        }
    }

    /// AWS's published SigV4 test suite, "get-vanilla": the one fixed point every signer agrees on.
    #[test]
    fn reproduces_the_aws_get_vanilla_vector() {
        let credentials =
            Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None, None, "test");
        let scope = SigningScope { service: "service".into(), region: "us-east-1".into() };
        let time = UNIX_EPOCH + Duration::from_secs(1_440_938_160); // 2015-08-30T12:36:00Z
        let request = RequestToSign {
            method: "GET",
            url: "https://example.amazonaws.com/",
            headers: vec![("host", "example.amazonaws.com")],
            payload: Payload::Bytes(b""),
        };
        let headers = signature_headers(&request, &scope, &credentials, time).unwrap();
        let authorization = headers.iter().find(|(n, _)| *n == "authorization").unwrap();
        assert_eq!(
            authorization.1,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert!(headers.iter().any(|(n, v)| *n == "x-amz-date" && v == "20150830T123600Z"));
    }

    #[test]
    fn adds_the_session_token_and_s3_payload_hash() {
        let credentials =
            Credentials::new("ASIAEXAMPLE", "secret", Some("session-token".into()), None, "test");
        let scope = SigningScope { service: "s3".into(), region: "us-east-1".into() };
        let request = RequestToSign {
            method: "PUT",
            url: "https://b.s3.amazonaws.com/k",
            headers: vec![("host", "b.s3.amazonaws.com")],
            payload: Payload::Bytes(b"abc"),
        };
        let headers = signature_headers(&request, &scope, &credentials, SystemTime::now()).unwrap();
        let names: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
        assert!(names.contains(&"x-amz-security-token"));
        let sha = headers.iter().find(|(n, _)| *n == "x-amz-content-sha256").unwrap();
        assert_eq!(sha.1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
