//! What is decided about a request before its body is read: the route that serves it (chosen
//! once, then handed to `Proxy::handle`), and how its body is taken under that route's limit.

use crate::error::{ErrorKind, ProxyError};
use crate::policy::RoutePolicy;

/// The route a request is served by, chosen once per request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteChoice {
    /// The index of the route in the proxy's route keys.
    Route(usize),
    /// No route matches the path: the answer is 404.
    NoRoute,
    /// The path selects another route once normalised: the answer is 400.
    Refused,
}

/// What the request's head says about its body.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeclaredBody<'a> {
    /// The `content-length` header, as received.
    pub content_length: Option<&'a str>,
    /// A `transfer-encoding` header was received (the body's length is unknown).
    pub chunked: bool,
}

/// How the caller takes the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyPlan {
    /// Read it whole, at most `limit` bytes (a larger one is refused with [`check_body_length`]).
    Read { limit: u64 },
    /// Stream exactly `length` bytes to the upstream, unheld (routes with `unsignedPayload`).
    Stream { length: u64 },
}

/// Decides from the head alone how the body is taken, or refuses it: 413 for a declared length
/// over the limit; on a streaming route, 411 for a body of unknown length, since the upstream is
/// sent exactly `content-length` bytes announced before the first one is read.
pub fn plan_body(policy: &RoutePolicy, declared: DeclaredBody<'_>) -> Result<BodyPlan, ProxyError> {
    let read = BodyPlan::Read { limit: policy.max_request_body_bytes };
    // Node's parser has already refused malformed and conflicting lengths; this is a backstop.
    let length = declared.content_length.map(|value| value.trim().parse::<u64>());
    if !policy.unsigned_payload {
        if let Some(Ok(length)) = length {
            check_body_length(policy, length)?;
        }
        return Ok(read);
    }
    match length {
        None if declared.chunked => Err(length_required()),
        None => Ok(read), // no body: nothing to stream
        Some(Err(_)) => Err(length_required()),
        Some(Ok(length)) => {
            check_body_length(policy, length)?;
            Ok(if length == 0 { read } else { BodyPlan::Stream { length } })
        }
    }
}

/// Refuses a body longer than the route's limit.
pub fn check_body_length(policy: &RoutePolicy, length: u64) -> Result<(), ProxyError> {
    let limit = policy.max_request_body_bytes;
    if length > limit {
        return Err(ProxyError::new(
            ErrorKind::PayloadTooLarge,
            format!("Request body is larger than the limit of {limit} bytes"),
        ));
    }
    Ok(())
}

fn length_required() -> ProxyError {
    ProxyError::new(
        ErrorKind::LengthRequired,
        "This route streams request bodies: send a content-length header (chunked bodies are refused)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(unsigned_payload: bool) -> RoutePolicy {
        RoutePolicy { max_request_body_bytes: 100, unsigned_payload, ..RoutePolicy::default() }
    }

    fn declared(content_length: Option<&str>, chunked: bool) -> DeclaredBody<'_> {
        DeclaredBody { content_length, chunked }
    }

    fn kind(result: Result<BodyPlan, ProxyError>) -> ErrorKind {
        result.expect_err("refused").kind()
    }

    #[test]
    fn a_signed_route_reads_the_body_within_its_limit() {
        let signed = policy(false);
        assert_eq!(plan_body(&signed, declared(Some("100"), false)).unwrap(), BodyPlan::Read { limit: 100 });
        assert_eq!(plan_body(&signed, declared(None, true)).unwrap(), BodyPlan::Read { limit: 100 });
        assert_eq!(kind(plan_body(&signed, declared(Some("101"), false))), ErrorKind::PayloadTooLarge);
        let message = plan_body(&signed, declared(Some("101"), false)).unwrap_err().to_string();
        assert_eq!(message, "Request body is larger than the limit of 100 bytes");
    }

    #[test]
    fn a_streaming_route_needs_the_length_up_front() {
        let streaming = policy(true);
        assert_eq!(
            plan_body(&streaming, declared(Some("7"), false)).unwrap(),
            BodyPlan::Stream { length: 7 }
        );
        assert_eq!(kind(plan_body(&streaming, declared(None, true))), ErrorKind::LengthRequired);
        assert_eq!(kind(plan_body(&streaming, declared(Some("-1"), false))), ErrorKind::LengthRequired);
        assert_eq!(kind(plan_body(&streaming, declared(Some("101"), false))), ErrorKind::PayloadTooLarge);
        // Nothing to stream: taken the buffered way.
        assert_eq!(plan_body(&streaming, declared(None, false)).unwrap(), BodyPlan::Read { limit: 100 });
        assert_eq!(plan_body(&streaming, declared(Some("0"), false)).unwrap(), BodyPlan::Read { limit: 100 });
    }
}
