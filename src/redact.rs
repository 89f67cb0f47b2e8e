//! What `Debug` prints in place of a value that may be a secret (static header values, an
//! AssumeRole external id): the value's presence shows, the value does not.

use std::fmt;

/// Debug-prints as `<redacted>`.
pub struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}
