//! Presigned URLs: the signature in the query string (SigV4 query authentication), for a request
//! that someone else makes later, such as an S3 download link or the EKS API server's token.
//! The payload is signed as the SDKs presign it: `UNSIGNED-PAYLOAD` for S3 (the body is not
//! known yet), the hash of an empty body for other services (an EKS token's GetCallerIdentity).

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

use crate::endpoint::SigningScope;
use crate::error::{ErrorKind, ProxyError};
use crate::signing::{caller_headers, settings_for};
use crate::sigv4::{Payload, Rules};

/// The longest a SigV4 presigned URL can be valid (`X-Amz-Expires`); AWS refuses longer ones.
pub const MAX_EXPIRY: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// A request to presign: the headers given are signed, so whoever uses the URL must send them.
pub struct Presign<'a> {
    pub method: &'a str,
    /// Absolute, percent-encoded as it will be sent.
    pub url: &'a str,
    pub headers: Vec<(String, String)>,
    pub expires_in: Duration,
}

/// The URL with the signature in its query, valid for `expires_in` from `time`.
pub fn presigned_url(
    request: &Presign<'_>,
    scope: &SigningScope,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<String, ProxyError> {
    check_expiry(request.expires_in)?;
    let headers = caller_headers(request.url, request.headers.clone())?;
    let identity: Identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&scope.region)
        .name(&scope.service)
        .time(time)
        .settings(query_settings(&scope.service, request.expires_in))
        .build()
        .map_err(|e| ProxyError::internal("could not build signing parameters").with_source(e))?;
    let signable = SignableRequest::new(
        request.method,
        request.url,
        headers.iter().map(|h| (h.name.as_str(), h.sent.as_str())),
        if scope.service == "s3" { SignableBody::UnsignedPayload } else { SignableBody::Bytes(&[]) },
    )
    .map_err(|e| ProxyError::invalid_argument("the request cannot be presigned").with_source(e))?;
    let (instructions, _signature) = sign(signable, &params.into())
        .map_err(|e| ProxyError::invalid_argument("the request cannot be presigned").with_source(e))?
        .into_parts();
    let mut uri_holder = http::Request::new(());
    *uri_holder.uri_mut() = request
        .url
        .parse()
        .map_err(|_| ProxyError::invalid_argument("url is not a valid absolute URL"))?;
    instructions.apply_to_request_http1x(&mut uri_holder);
    Ok(uri_holder.uri().to_string())
}

fn check_expiry(expires_in: Duration) -> Result<(), ProxyError> {
    if expires_in < Duration::from_secs(1) || expires_in > MAX_EXPIRY {
        return Err(ProxyError::new(
            ErrorKind::InvalidArgument,
            format!("expiresIn must be from 1 to {} seconds (7 days)", MAX_EXPIRY.as_secs()),
        ));
    }
    Ok(())
}

/// The proxy's rules for the service (S3's path encoding), with the signature in the query and
/// no payload hash header, which a URL cannot carry.
fn query_settings(service: &str, expires_in: Duration) -> SigningSettings {
    let mut settings = settings_for(Rules::for_request(service, Payload::Bytes(&[])));
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(expires_in);
    settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
    settings
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn presign(url: &str, expires_in: Duration) -> Result<String, ProxyError> {
        let credentials =
            Credentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", None, None, "t");
        let scope = SigningScope { service: "s3".into(), region: "us-east-1".into() };
        let request = Presign { method: "GET", url, headers: vec![], expires_in };
        presigned_url(&request, &scope, &credentials, UNIX_EPOCH + Duration::from_secs(1_369_353_600))
    }

    /// The presigned GET in AWS's S3 documentation ("Authenticating Requests: Using Query
    /// Parameters"), 2013-05-24, one day: a fixed point that every S3 presigner reproduces.
    #[test]
    fn reproduces_the_s3_documentation_example() {
        let url = presign("https://examplebucket.s3.amazonaws.com/test.txt", Duration::from_secs(86_400)).unwrap();
        assert!(url.starts_with("https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"));
        assert!(url.contains("X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"));
        assert!(url.contains("X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"));
        assert!(
            url.ends_with("X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"),
            "{url}"
        );
    }

    #[test]
    fn refuses_expiries_aws_refuses() {
        let url = "https://examplebucket.s3.amazonaws.com/test.txt";
        for seconds in [0, 604_801, 10_000_000] {
            let error = presign(url, Duration::from_secs(seconds)).expect_err("refused");
            assert_eq!(error.kind(), ErrorKind::InvalidArgument);
            assert!(error.to_string().contains("604800"), "{error}");
        }
        assert!(presign(url, MAX_EXPIRY).is_ok());
    }
}
