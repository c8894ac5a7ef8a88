//! How figures read on a page: counts with thousands separators, rates as
//! percentages, money per currency (never summed across currencies), times in
//! the shop's zone.

use chrono::{DateTime, NaiveDateTime, Utc};

use cartback_domain::{Money, Tz};

/// `12345` → `12,345`.
pub fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A 0..1 rate (the API's 4-decimal figure) as a percentage with one decimal:
/// `0.3333` → `33.3%`.
pub fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

/// `1234.50 EUR` → `€1,234.50`; currencies without a common sign keep their
/// code: `CHF 12.00`.
pub fn money(amount: &Money) -> String {
    let text = amount.to_major_string();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    let mut number = count(whole.parse().unwrap_or(0));
    if let Some(fraction) = fraction {
        number.push('.');
        number.push_str(fraction);
    }
    let code = amount.currency().code();
    let symbol = match code {
        "USD" => Some("$"),
        "EUR" => Some("€"),
        "GBP" => Some("£"),
        "JPY" => Some("¥"),
        "INR" => Some("₹"),
        _ => None,
    };
    match symbol {
        Some(symbol) => format!("{sign}{symbol}{number}"),
        None => format!("{sign}{code} {number}"),
    }
}

/// A stored UTC time in the shop's zone: `6 Dec 2026, 14:05`.
pub fn local_time(at: NaiveDateTime, zone: Tz) -> String {
    DateTime::<Utc>::from_naive_utc_and_offset(at, Utc)
        .with_timezone(&zone)
        .format("%-d %b %Y, %H:%M")
        .to_string()
}

/// Percent-encodes everything but unreserved characters and `/`, for a path
/// in a query string.
pub fn query_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(char::from(byte));
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cartback_domain::Currency;

    fn currency(code: &str) -> Currency {
        Currency::parse(code).unwrap_or(Currency::USD)
    }

    #[test]
    fn figures_read_like_a_dashboard() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(percent(0.3333), "33.3%");
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(percent(1.5), "150.0%");
        assert_eq!(
            money(&Money::from_minor(123450, Currency::EUR)),
            "€1,234.50"
        );
        assert_eq!(money(&Money::from_minor(1200, currency("JPY"))), "¥1,200");
        assert_eq!(money(&Money::from_minor(-500, Currency::USD)), "-$5.00");
        assert_eq!(
            money(&Money::from_minor(1200, currency("CHF"))),
            "CHF 12.00"
        );
        assert_eq!(
            query_escape("/dashboard/carts?page=2&q=a b"),
            "/dashboard/carts%3Fpage%3D2%26q%3Da%20b"
        );
    }

    #[test]
    fn times_are_shown_in_the_shops_zone() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 6)
            .and_then(|d| d.and_hms_opt(13, 5, 0))
            .unwrap_or_default();
        assert_eq!(local_time(at, Tz::Europe__Amsterdam), "6 Dec 2026, 14:05");
    }
}
