//! Core errors as JavaScript errors with a stable `code`.

use crate::error::ProxyError;

/// Turns a core error into a JS `Error` whose `code` is the stable machine code
/// (e.g. `INVALID_CONFIG`) and whose message is safe to show and log.
pub fn map_error(error: ProxyError) -> napi::Error<String> {
    napi::Error::new(error.kind().code().to_string(), error.message_with_causes())
}
