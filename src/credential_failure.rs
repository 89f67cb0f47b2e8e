//! What a failed credential fetch may say, in a response body and in a log line: the kind of
//! failure and, for STS, the AWS error code and request id. Never the source's own message:
//! STS writes the caller's ARN and account id there ("User: arn:aws:iam::123456789012:user/x is
//! not authorized..."), and a credential endpoint that reflects its input could put anything.

use std::error::Error as StdError;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_types::request_id::RequestId;

/// A one-line, secret-free description of why credentials could not be had.
pub fn describe_failure(error: &CredentialsError) -> String {
    let mut text = match error {
        CredentialsError::CredentialsNotLoaded(_) => "no credential source had credentials",
        CredentialsError::ProviderTimedOut(_) => "the credential source timed out",
        CredentialsError::InvalidConfiguration(_) => {
            "the credential source is misconfigured (check the AWS config and credentials files)"
        }
        CredentialsError::ProviderError(_) => "the credential source failed",
        _ => "the credential source failed unexpectedly",
    }
    .to_string();
    if let Some(sts) = sts_failure(error) {
        text.push_str(": ");
        text.push_str(&sts);
    }
    text
}

/// How an STS call failed, when one is in the error's chain.
fn sts_failure(error: &CredentialsError) -> Option<String> {
    let mut next: Option<&(dyn StdError + 'static)> = error.source();
    while let Some(cause) = next {
        if let Some(sdk) = cause.downcast_ref::<SdkError<AssumeRoleError, HttpResponse>>() {
            return Some(describe_sdk_error(sdk));
        }
        if let Some(sdk) = cause.downcast_ref::<SdkError<AssumeRoleWithWebIdentityError, HttpResponse>>() {
            return Some(describe_sdk_error(sdk));
        }
        next = cause.source();
    }
    None
}

/// How an STS call failed: STS's error code and request id, or the kind of transport failure.
pub fn describe_sdk_error<E>(error: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + RequestId,
{
    match error {
        SdkError::ServiceError(context) => {
            let service_error = context.err();
            let code = service_error.code().filter(|c| is_token(c, 64)).unwrap_or("an unrecognised error");
            match service_error.request_id().filter(|id| is_token(id, 128)) {
                Some(id) => format!("STS answered {code} (request id {id})"),
                None => format!("STS answered {code}"),
            }
        }
        SdkError::TimeoutError(_) => "STS did not answer in time".to_string(),
        SdkError::DispatchFailure(_) => "STS could not be reached".to_string(),
        SdkError::ResponseError(_) => "STS sent a response that could not be read".to_string(),
        _ => "the STS request could not be made".to_string(),
    }
}

/// An AWS error code or request id as AWS writes them (`AccessDenied`, a UUID); anything else
/// is not repeated, since it came from whatever answered.
fn is_token(text: &str, max_len: usize) -> bool {
    !text.is_empty()
        && text.len() <= max_len
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sts::error::ErrorMetadata;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn sts_error(code: &str, message: &str) -> CredentialsError {
        let meta = ErrorMetadata::builder()
            .code(code)
            .message(message)
            .custom("aws_request_id", "c6104cbe-af31-11e0-8154-cbc7ccf896c7")
            .build();
        let response = HttpResponse::new(StatusCode::try_from(403).unwrap(), SdkBody::empty());
        CredentialsError::provider_error(SdkError::service_error(AssumeRoleError::generic(meta), response))
    }

    #[test]
    fn names_the_sts_code_and_request_id_but_not_the_message() {
        let error = sts_error(
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: sts:AssumeRole",
        );
        let text = describe_failure(&error);
        assert_eq!(
            text,
            "the credential source failed: STS answered AccessDenied (request id c6104cbe-af31-11e0-8154-cbc7ccf896c7)"
        );
    }

    #[test]
    fn does_not_repeat_a_code_that_is_not_a_code() {
        let text = describe_failure(&sts_error("<secret> AKIDEXAMPLE wJalr", "x"));
        assert!(text.contains("STS answered an unrecognised error"), "{text}");
        assert!(!text.contains("AKIDEXAMPLE"), "{text}");
    }

    #[test]
    fn other_sources_say_only_what_kind_of_failure() {
        let error = CredentialsError::provider_error("token=abc123 reflected by the endpoint");
        assert_eq!(describe_failure(&error), "the credential source failed");
    }
}
