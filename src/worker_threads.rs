//! How many Tokio worker threads the addon runs (see `napi::runtime` for why one is the default).

/// The environment variable that sets another count.
pub const VARIABLE: &str = "PROXY_SIGV4_WORKER_THREADS";
const DEFAULT: usize = 1;
const MAX: usize = 64;

/// The count the variable's value asks for, when it is a whole number from 1 to 64; else one.
pub fn from_setting(setting: Option<&str>) -> usize {
    setting.and_then(|value| value.trim().parse::<usize>().ok()).filter(|n| (1..=MAX).contains(n)).unwrap_or(DEFAULT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_worker_unless_a_valid_count_is_set() {
        assert_eq!(from_setting(None), 1);
        assert_eq!(from_setting(Some("4")), 4);
        assert_eq!(from_setting(Some(" 2 ")), 2);
        for invalid in ["0", "65", "-1", "two", ""] {
            assert_eq!(from_setting(Some(invalid)), 1, "{invalid}");
        }
    }
}
