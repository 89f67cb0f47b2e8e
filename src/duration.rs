//! Durations written the way Backstage config writes them: `'30s'`, `'1.5 minutes'`, `'500ms'`,
//! ISO 8601 `'PT30S'`, or an object such as `{ seconds: 30 }` or `{ minutes: 1, seconds: 30 }`.

use std::time::Duration;

use serde_json::Value;

/// Parses a config duration; the error says what is accepted.
pub fn parse_duration(value: &Value) -> Result<Duration, String> {
    let millis = match value {
        Value::String(text) => parse_text(text.trim()),
        Value::Object(fields) => fields
            .iter()
            .map(|(unit, amount)| Some(amount.as_f64()? * unit_millis(unit)?))
            .sum::<Option<f64>>()
            .filter(|_| !fields.is_empty()),
        _ => None,
    };
    match millis {
        Some(ms) if ms.is_finite() && ms > 0.0 && ms <= MAX_MILLIS => {
            Ok(Duration::from_millis(ms.round() as u64))
        }
        Some(_) => Err("must be more than 0 and at most 24 hours".to_string()),
        None => Err("must be a duration such as '30s', '2 minutes', 'PT30S' or { seconds: 30 }".to_string()),
    }
}

const MAX_MILLIS: f64 = 24.0 * 3_600_000.0;

fn parse_text(text: &str) -> Option<f64> {
    if let Some(iso) = text.strip_prefix("PT").or_else(|| text.strip_prefix("pt")) {
        return parse_iso_time(iso);
    }
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (amount, unit) = text.split_at(split);
    Some(amount.parse::<f64>().ok()? * unit_millis(unit.trim())?)
}

/// The time part of an ISO 8601 duration: `1H30M`, `30S`, `0.5S`.
fn parse_iso_time(mut text: &str) -> Option<f64> {
    let mut total = 0.0;
    while !text.is_empty() {
        let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let amount: f64 = text[..split].parse().ok()?;
        let unit = match text[split..].chars().next()? {
            'H' | 'h' => 3_600_000.0,
            'M' | 'm' => 60_000.0,
            'S' | 's' => 1_000.0,
            _ => return None,
        };
        total += amount * unit;
        text = &text[split + 1..];
    }
    Some(total)
}

fn unit_millis(unit: &str) -> Option<f64> {
    Some(match unit {
        "ms" | "millisecond" | "milliseconds" => 1.0,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60_000.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600_000.0,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_backstage_forms() {
        let cases = [
            (json!("30s"), 30_000),
            (json!("500ms"), 500),
            (json!("1.5 minutes"), 90_000),
            (json!("2h"), 7_200_000),
            (json!("PT30S"), 30_000),
            (json!("PT1M30S"), 90_000),
            (json!({ "seconds": 30 }), 30_000),
            (json!({ "minutes": 1, "seconds": 30 }), 90_000),
            (json!({ "milliseconds": 250 }), 250),
        ];
        for (value, millis) in cases {
            assert_eq!(parse_duration(&value), Ok(Duration::from_millis(millis)), "{value}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_positive_duration() {
        for value in [
            json!(30),
            json!("30"),
            json!("soon"),
            json!("0s"),
            json!({}),
            json!({ "fortnights": 1 }),
            json!("-1s"),
            json!("25h"),
            json!("PT"),
        ] {
            assert!(parse_duration(&value).is_err(), "{value}");
        }
    }
}
