//! The signing time as SigV4 writes it: `YYYYMMDDTHHMMSSZ` in UTC, whole seconds.

use std::time::{SystemTime, UNIX_EPOCH};

const SECONDS_PER_DAY: u64 = 86_400;

/// `x-amz-date`'s value, whose first eight bytes are the credential scope's date.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct AmzDate([u8; 16]);

impl AmzDate {
    /// None before 1970 or after 9999, which aws-sigv4 (through the `time` crate) handles or
    /// rejects on its own terms.
    pub(super) fn of(time: SystemTime) -> Option<Self> {
        let seconds = time.duration_since(UNIX_EPOCH).ok()?.as_secs();
        let (year, month, day) = civil_from_days(seconds / SECONDS_PER_DAY);
        if year > 9999 {
            return None;
        }
        let of_day = seconds % SECONDS_PER_DAY;
        let mut out = *b"00000000T000000Z";
        write_digits(&mut out[0..4], year);
        write_digits(&mut out[4..6], month);
        write_digits(&mut out[6..8], day);
        write_digits(&mut out[9..11], of_day / 3600);
        write_digits(&mut out[11..13], of_day / 60 % 60);
        write_digits(&mut out[13..15], of_day % 60);
        Some(AmzDate(out))
    }

    /// `YYYYMMDDTHHMMSSZ`.
    pub(super) fn date_time(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII digits")
    }

    /// `YYYYMMDD`.
    pub(super) fn date(&self) -> &str {
        &self.date_time()[..8]
    }
}

/// Fills `out` with the low decimal digits of `value`, zero-padded.
fn write_digits(out: &mut [u8], mut value: u64) {
    for byte in out.iter_mut().rev() {
        *byte = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// (year, month, day) of a count of days since 1970-01-01, by Howard Hinnant's
/// `civil_from_days` (http://howardhinnant.github.io/date_algorithms.html).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(seconds: u64) -> String {
        AmzDate::of(UNIX_EPOCH + Duration::from_secs(seconds)).unwrap().date_time().to_string()
    }

    #[test]
    fn formats_epoch_leap_days_and_the_last_second_of_a_year() {
        assert_eq!(at(0), "19700101T000000Z");
        assert_eq!(at(1_440_938_160), "20150830T123600Z");
        assert_eq!(at(951_782_400), "20000229T000000Z");
        assert_eq!(at(4_133_980_799), "21001231T235959Z");
        assert_eq!(at(4_107_542_399), "21000228T235959Z");
        assert_eq!(at(253_402_300_799), "99991231T235959Z");
    }

    #[test]
    fn leaves_times_outside_1970_to_9999_alone() {
        assert!(AmzDate::of(UNIX_EPOCH - Duration::from_secs(1)).is_none());
        assert!(AmzDate::of(UNIX_EPOCH + Duration::from_secs(253_402_300_800)).is_none());
    }

    #[test]
    fn drops_fractions_of_a_second() {
        let time = UNIX_EPOCH + Duration::from_millis(1_440_938_160_999);
        assert_eq!(AmzDate::of(time).unwrap().date_time(), "20150830T123600Z");
        assert_eq!(AmzDate::of(time).unwrap().date(), "20150830");
    }
}
