//! Every synchronous entry point runs inside [`guarded`]: a panic there would otherwise unwind
//! into Node's C frames, which aborts the whole backend. It becomes a JS error with code
//! `INTERNAL` and a message that names only the entry point (a panic's own text may quote data).

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::error::to_js_error;
use crate::error::ProxyError;

/// Runs `body` for the entry point `name` (as JavaScript calls it, e.g. `Signer.sign`), turning
/// its error, or a panic, into a JS error with a stable code.
pub fn guarded<T>(
    name: &'static str,
    body: impl FnOnce() -> Result<T, ProxyError>,
) -> napi::Result<T, String> {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        test_panic::provoke_if_asked(name);
        body()
    }));
    match outcome {
        Ok(result) => result.map_err(to_js_error),
        Err(_) => Err(to_js_error(ProxyError::internal(format!("{name} failed unexpectedly")))),
    }
}

/// Debug builds only: `PROXY_SIGV4_TEST_PANIC=<entry point>` makes that entry point panic, so
/// tests can show the panic is caught. Release builds do not contain it.
#[cfg(debug_assertions)]
mod test_panic {
    pub fn provoke_if_asked(name: &str) {
        if std::env::var_os("PROXY_SIGV4_TEST_PANIC").is_some_and(|asked| asked == name) {
            panic!("PROXY_SIGV4_TEST_PANIC: {name}");
        }
    }
}

#[cfg(not(debug_assertions))]
mod test_panic {
    #[inline(always)]
    pub fn provoke_if_asked(_name: &str) {}
}
