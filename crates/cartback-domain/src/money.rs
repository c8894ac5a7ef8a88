//! Exact money: an integer count of minor units and its currency.

use std::fmt;

use crate::currency::Currency;

/// Why an amount cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("{0:?} is not a number")]
    Malformed(String),
    #[error("{currency} amounts have at most {exponent} decimals")]
    TooPrecise { currency: Currency, exponent: u32 },
    #[error("amount is out of range")]
    Overflow,
    #[error("cannot combine {left} and {right}")]
    CurrencyMismatch { left: Currency, right: Currency },
    #[error("amount must not be negative")]
    Negative,
}

/// An amount of money, exact: `minor` units of `currency` (cents for USD, yen for
/// JPY, fils for KWD). Arithmetic is checked, never wraps, never rounds.
///
/// ```
/// use cartback_domain::{Currency, Money};
/// let price = Money::parse_major("19.99", Currency::USD).unwrap();
/// assert_eq!(price.minor(), 1999);
/// let two = price.checked_mul(2).unwrap();
/// assert_eq!(two.to_string(), "39.98 USD");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

/// The parts of a JSON number: sign, all significant digits, and the power of ten
/// to divide them by.
struct Decimal<'a> {
    negative: bool,
    integer: &'a str,
    fraction: &'a str,
    exponent: i64,
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Splits `text` following JSON's number grammar exactly:
/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn split_json_number(text: &str) -> Option<Decimal<'_>> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
        None => (rest, None),
    };
    let (integer, fraction) = match mantissa.split_once('.') {
        Some((integer, fraction)) => (integer, Some(fraction)),
        None => (mantissa, None),
    };
    if !all_digits(integer) || (integer.len() > 1 && integer.starts_with('0')) {
        return None;
    }
    if fraction.is_some_and(|f| !all_digits(f)) {
        return None;
    }
    let exponent = match exponent {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if !all_digits(digits) {
                return None;
            }
            // Absurd exponents saturate; they end as Overflow or TooPrecise.
            let magnitude: i64 = digits.parse().unwrap_or(i64::MAX / 4).min(i64::MAX / 4);
            if e.starts_with('-') {
                -magnitude
            } else {
                magnitude
            }
        }
    };
    Some(Decimal {
        negative,
        integer,
        fraction: fraction.unwrap_or(""),
        exponent,
    })
}

impl Money {
    pub fn from_minor(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    pub fn zero(currency: Currency) -> Money {
        Money::from_minor(0, currency)
    }

    /// Parses the exact text of a JSON number given in major units (`"100"`,
    /// `"100.5"`, `"1e2"`) into minor units of `currency`. Decimals beyond the
    /// currency's are accepted only when they are zeros.
    ///
    /// ```
    /// use cartback_domain::{Currency, Money, MoneyError};
    /// let kwd = Currency::parse("KWD").unwrap();
    /// assert_eq!(Money::parse_major("1.5", kwd).unwrap().minor(), 1500);
    /// assert_eq!(Money::parse_major("100.000", Currency::USD).unwrap().minor(), 10000);
    /// assert!(matches!(Money::parse_major("0.001", Currency::USD), Err(MoneyError::TooPrecise { .. })));
    /// ```
    pub fn parse_major(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let malformed = || MoneyError::Malformed(text.chars().take(40).collect());
        let decimal = split_json_number(text).ok_or_else(malformed)?;
        let digits = format!("{}{}", decimal.integer, decimal.fraction);
        // The value is digits × 10^-scale.
        let mut scale = i64::try_from(decimal.fraction.len()).map_err(|_| MoneyError::Overflow)?
            - decimal.exponent;
        let mut significant = digits.trim_start_matches('0');
        while let Some(shorter) = significant.strip_suffix('0') {
            significant = shorter;
            scale -= 1;
        }
        if significant.is_empty() {
            return Ok(Money::zero(currency));
        }
        let shift = i64::from(currency.exponent()) - scale;
        if shift < 0 {
            return Err(MoneyError::TooPrecise {
                currency,
                exponent: currency.exponent(),
            });
        }
        if significant.len() > 19 || shift > 19 {
            return Err(MoneyError::Overflow);
        }
        let value: i128 = significant.parse().map_err(|_| malformed())?;
        let value = value
            .checked_mul(10i128.pow(u32::try_from(shift).map_err(|_| MoneyError::Overflow)?))
            .ok_or(MoneyError::Overflow)?;
        let signed = if decimal.negative { -value } else { value };
        let minor = i64::try_from(signed).map_err(|_| MoneyError::Overflow)?;
        Ok(Money::from_minor(minor, currency))
    }

    pub fn minor(&self) -> i64 {
        self.minor
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn is_negative(&self) -> bool {
        self.minor < 0
    }

    /// Sum of two amounts of the same currency.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            });
        }
        self.minor
            .checked_add(other.minor)
            .map(|minor| Money::from_minor(minor, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    /// This amount `quantity` times.
    pub fn checked_mul(self, quantity: u32) -> Result<Money, MoneyError> {
        self.minor
            .checked_mul(i64::from(quantity))
            .map(|minor| Money::from_minor(minor, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    /// The amount in major units with exactly the currency's decimals: `"100.00"`,
    /// `"100"` for JPY, `"-0.50"`.
    pub fn to_major_string(&self) -> String {
        let exponent = self.currency.exponent() as usize;
        let sign = if self.minor < 0 { "-" } else { "" };
        let digits = self.minor.unsigned_abs().to_string();
        if exponent == 0 {
            return format!("{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = exponent + 1);
        let (integer, fraction) = padded.split_at(padded.len() - exponent);
        format!("{sign}{integer}.{fraction}")
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_major_string(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(text: &str) -> Result<i64, MoneyError> {
        Money::parse_major(text, Currency::USD).map(|m| m.minor())
    }

    #[test]
    fn parses_json_numbers_exactly() {
        assert_eq!(usd("100"), Ok(10000));
        assert_eq!(usd("100.00"), Ok(10000));
        assert_eq!(usd("100.5"), Ok(10050));
        assert_eq!(usd("0.1"), Ok(10));
        assert_eq!(usd("1e2"), Ok(10000));
        assert_eq!(usd("1.5E+1"), Ok(1500));
        assert_eq!(usd("1e-2"), Ok(1));
        assert_eq!(usd("-3.25"), Ok(-325));
        assert_eq!(usd("-0"), Ok(0));
        assert_eq!(usd("0e400"), Ok(0));
        assert_eq!(usd("12.340000000000000000000"), Ok(1234));
    }

    #[test]
    fn rejects_what_json_rejects() {
        for bad in [
            "01", ".5", "5.", "+1", "1e", "--1", "1.2.3", "", " 1", "0x10", "NaN", "1_000",
        ] {
            assert!(matches!(usd(bad), Err(MoneyError::Malformed(_))), "{bad:?}");
        }
    }

    #[test]
    fn precision_and_range() {
        assert!(matches!(usd("0.001"), Err(MoneyError::TooPrecise { .. })));
        assert!(matches!(usd("1e-3"), Err(MoneyError::TooPrecise { .. })));
        assert_eq!(usd("1.0e400"), Err(MoneyError::Overflow));
        assert_eq!(usd("92233720368547758.07"), Ok(i64::MAX));
        assert_eq!(usd("92233720368547758.08"), Err(MoneyError::Overflow));
        let jpy = Currency::parse("JPY").unwrap();
        assert!(matches!(
            Money::parse_major("1.5", jpy),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert_eq!(Money::parse_major("1500", jpy).map(|m| m.minor()), Ok(1500));
    }

    #[test]
    fn formats_with_the_currency_decimals() {
        let kwd = Currency::parse("KWD").unwrap();
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(
            Money::from_minor(10000, Currency::USD).to_major_string(),
            "100.00"
        );
        assert_eq!(
            Money::from_minor(-50, Currency::USD).to_major_string(),
            "-0.50"
        );
        assert_eq!(Money::from_minor(5, kwd).to_major_string(), "0.005");
        assert_eq!(Money::from_minor(1500, jpy).to_string(), "1500 JPY");
        assert_eq!(
            Money::from_minor(i64::MIN, Currency::USD).to_major_string(),
            "-92233720368547758.08"
        );
    }

    #[test]
    fn arithmetic_is_checked() {
        let a = Money::from_minor(10, Currency::USD);
        let b = Money::from_minor(20, Currency::USD);
        assert_eq!(usd("0.1").unwrap() + usd("0.2").unwrap(), 30);
        assert_eq!(a.checked_add(b).map(|m| m.minor()), Ok(30));
        assert!(matches!(
            a.checked_add(Money::from_minor(1, Currency::EUR)),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
        assert_eq!(
            Money::from_minor(i64::MAX, Currency::USD).checked_add(a),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::from_minor(i64::MAX, Currency::USD).checked_mul(2),
            Err(MoneyError::Overflow)
        );
    }
}
