//! One error type for every failure of the proxy, each kind with one HTTP status and one
//! stable machine code. Messages are written to be shown to callers: they never carry
//! credentials, tokens, header values or bodies.

use std::error::Error as StdError;
use std::fmt;

/// What went wrong, at the granularity a caller can act on.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The configuration is invalid; raised at startup, never per request.
    InvalidConfig,
    /// The request path would leave the target, or is not a valid path.
    BadPath,
    /// A request header cannot be forwarded (e.g. a value with CR/LF).
    BadHeader,
    /// The request method is not a valid HTTP method.
    BadMethod,
    /// A caller of the addon passed an argument it cannot use (a URL without a host, a host whose
    /// AWS service and region cannot be inferred, a value of the wrong type, missing credentials).
    InvalidArgument,
    /// The route does not allow the request method.
    MethodNotAllowed,
    /// The request body is larger than the route allows.
    PayloadTooLarge,
    /// The route streams request bodies, and this one does not declare its length.
    LengthRequired,
    /// No configured route matches the request path.
    RouteNotFound,
    /// The role asked for is not one config allows for this use.
    RoleNotAllowed,
    /// No AWS credentials could be obtained for the route.
    CredentialsUnavailable,
    /// The upstream could not be reached (refused, DNS, TLS, reset before the response).
    UpstreamUnreachable,
    /// The upstream did not send response headers in time.
    UpstreamTimeout,
    /// The upstream's response cannot be passed on safely (ambiguous framing, a protocol switch).
    UpstreamBadResponse,
    /// The caller went away, so the exchange was abandoned.
    Cancelled,
    /// A bug or an impossible state: signing failed on a request we built ourselves.
    Internal,
}

impl ErrorKind {
    /// The HTTP status a proxy answers with for this kind.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::BadPath | ErrorKind::BadHeader | ErrorKind::BadMethod | ErrorKind::InvalidArgument => {
                400
            }
            ErrorKind::RoleNotAllowed => 403,
            ErrorKind::RouteNotFound => 404,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::LengthRequired => 411,
            ErrorKind::PayloadTooLarge => 413,
            // 499 is what proxies log for a client that closed the connection; nobody reads it.
            ErrorKind::Cancelled => 499,
            ErrorKind::UpstreamUnreachable | ErrorKind::UpstreamBadResponse => 502,
            ErrorKind::CredentialsUnavailable => 503,
            ErrorKind::UpstreamTimeout => 504,
            ErrorKind::InvalidConfig | ErrorKind::Internal => 500,
        }
    }

    /// A stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidConfig => "INVALID_CONFIG",
            ErrorKind::BadPath => "BAD_PATH",
            ErrorKind::BadHeader => "BAD_HEADER",
            ErrorKind::BadMethod => "BAD_METHOD",
            ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
            ErrorKind::LengthRequired => "LENGTH_REQUIRED",
            ErrorKind::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ErrorKind::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorKind::RouteNotFound => "ROUTE_NOT_FOUND",
            ErrorKind::RoleNotAllowed => "ROLE_NOT_ALLOWED",
            ErrorKind::CredentialsUnavailable => "CREDENTIALS_UNAVAILABLE",
            ErrorKind::UpstreamUnreachable => "UPSTREAM_UNREACHABLE",
            ErrorKind::UpstreamTimeout => "UPSTREAM_TIMEOUT",
            ErrorKind::UpstreamBadResponse => "UPSTREAM_BAD_RESPONSE",
            ErrorKind::Cancelled => "CANCELLED",
            ErrorKind::Internal => "INTERNAL",
        }
    }

    /// The `name` of the error in Backstage's error JSON. Where `@backstage/errors` has a class
    /// for the status, its name (InputError, NotFoundError, ServiceUnavailableError; 401 and 403
    /// come from Backstage's own AuthenticationError and NotAllowedError). Where it has none,
    /// the name the `http-errors` package gives the status: Express's body parsers raise those,
    /// and Backstage's error middleware passes them through as they are (a JSON body over
    /// `express.json`'s limit answers `PayloadTooLargeError`). A 500 is plain `Error`, as that
    /// middleware answers for any error without a known name.
    pub fn backstage_name(self) -> &'static str {
        match self {
            ErrorKind::BadPath | ErrorKind::BadHeader | ErrorKind::BadMethod | ErrorKind::InvalidArgument => {
                "InputError"
            }
            ErrorKind::RouteNotFound => "NotFoundError",
            ErrorKind::RoleNotAllowed => "NotAllowedError",
            ErrorKind::CredentialsUnavailable => "ServiceUnavailableError",
            ErrorKind::MethodNotAllowed => "MethodNotAllowedError",
            ErrorKind::LengthRequired => "LengthRequiredError",
            ErrorKind::PayloadTooLarge => "PayloadTooLargeError",
            ErrorKind::UpstreamUnreachable | ErrorKind::UpstreamBadResponse => "BadGatewayError",
            ErrorKind::UpstreamTimeout => "GatewayTimeoutError",
            // 499 reaches nobody: the client has gone.
            ErrorKind::Cancelled | ErrorKind::InvalidConfig | ErrorKind::Internal => "Error",
        }
    }
}

/// A failure of the proxy. `Display` is the safe message; `source()` keeps the cause for logs.
pub struct ProxyError {
    kind: ErrorKind,
    message: String,
    /// Headers the error response must carry, e.g. `Allow` with a 405.
    headers: Vec<(&'static str, String)>,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl ProxyError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), headers: Vec::new(), source: None }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Headers the error response must carry.
    pub fn headers(&self) -> &[(&'static str, String)] {
        &self.headers
    }

    pub fn with_source(mut self, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        self.source = Some(source.into());
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message followed by each cause, as "message: cause: cause". Causes come from our own
    /// errors, hyper, rustls and the AWS SDK, none of which print credentials.
    pub fn message_with_causes(&self) -> String {
        let mut text = self.message.clone();
        let mut next: Option<&(dyn StdError + 'static)> = self.source();
        while let Some(cause) = next {
            let cause_text = cause.to_string();
            if !cause_text.is_empty() && !text.ends_with(&cause_text) {
                text.push_str(": ");
                text.push_str(&cause_text);
            }
            next = cause.source();
        }
        text
    }

    pub(crate) fn bad_path(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadPath, message)
    }

    pub(crate) fn bad_header(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadHeader, message)
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    pub(crate) fn invalid_config(route: &str, key: &str, problem: impl fmt::Display) -> Self {
        let at =
            if key.is_empty() { format!("proxysigv4.{route}") } else { format!("proxysigv4.{route}.{key}") };
        Self::new(ErrorKind::InvalidConfig, format!("{at}: {problem}"))
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyError")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("headers", &self.headers)
            .field("source", &self.source)
            .finish()
    }
}

impl StdError for ProxyError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_ref().map(|e| e.as_ref() as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_status_and_code() {
        assert_eq!(ErrorKind::BadPath.http_status(), 400);
        assert_eq!(ErrorKind::CredentialsUnavailable.http_status(), 503);
        assert_eq!(ErrorKind::UpstreamTimeout.code(), "UPSTREAM_TIMEOUT");
        assert_eq!(ErrorKind::UpstreamUnreachable.backstage_name(), "BadGatewayError");
    }

    /// Every name is a class of `@backstage/errors`, the `http-errors` name of its status, or
    /// `Error` for a 500.
    #[test]
    fn backstage_names_are_known_names_of_their_status() {
        use ErrorKind::*;
        let backstage =
            [(400, "InputError"), (403, "NotAllowedError"), (404, "NotFoundError"), (503, "ServiceUnavailableError")];
        let http_errors = [
            (405, "MethodNotAllowedError"),
            (411, "LengthRequiredError"),
            (413, "PayloadTooLargeError"),
            (502, "BadGatewayError"),
            (504, "GatewayTimeoutError"),
        ];
        let kinds = [
            InvalidConfig,
            BadPath,
            BadHeader,
            BadMethod,
            InvalidArgument,
            MethodNotAllowed,
            PayloadTooLarge,
            LengthRequired,
            RouteNotFound,
            RoleNotAllowed,
            CredentialsUnavailable,
            UpstreamUnreachable,
            UpstreamTimeout,
            UpstreamBadResponse,
            Cancelled,
            Internal,
        ];
        for kind in kinds {
            let named = (kind.http_status(), kind.backstage_name());
            let known = backstage.contains(&named)
                || http_errors.contains(&named)
                || (named.1 == "Error" && matches!(named.0, 499 | 500));
            assert!(known, "{kind:?} answers {named:?}");
        }
    }

    #[test]
    fn config_errors_name_route_and_key() {
        let e = ProxyError::invalid_config("/svc", "target", "must be a URL");
        assert_eq!(e.to_string(), "proxysigv4./svc.target: must be a URL");
    }

    #[test]
    fn causes_are_appended_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let e = ProxyError::new(ErrorKind::UpstreamUnreachable, "upstream unreachable").with_source(io);
        assert_eq!(e.message_with_causes(), "upstream unreachable: connection refused");
    }
}
