//! Durations as a merchant types them: an amount and a unit, stored by the
//! policy in milliseconds.

use maud::{Markup, html};

/// `(value, one, many, milliseconds)`, largest first.
const UNITS: [(&str, &str, &str, u64); 4] = [
    ("days", "day", "days", 86_400_000),
    ("hours", "hour", "hours", 3_600_000),
    ("minutes", "minute", "minutes", 60_000),
    ("seconds", "second", "seconds", 1_000),
];

/// Policies written through the API may hold delays in milliseconds that no
/// larger unit divides; the form then offers this unit too.
const MILLISECONDS: (&str, &str, &str, u64) = ("ms", "millisecond", "milliseconds", 1);

fn unit(name: &str) -> Option<(&'static str, &'static str, &'static str, u64)> {
    UNITS
        .into_iter()
        .chain([MILLISECONDS])
        .find(|(value, ..)| *value == name)
}

/// A duration as typed: both parts text, so a bad value is shown back as it was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Duration {
    pub amount: String,
    pub unit: String,
}

impl Duration {
    /// The largest unit that divides `ms` (0 reads as `0 days`).
    pub fn of_ms(ms: u64) -> Duration {
        if ms == 0 {
            return Duration {
                amount: "0".to_owned(),
                unit: "days".to_owned(),
            };
        }
        let (name, _, _, size) = UNITS
            .into_iter()
            .find(|(.., size)| ms.is_multiple_of(*size))
            .unwrap_or(MILLISECONDS);
        Duration {
            amount: (ms / size).to_string(),
            unit: name.to_owned(),
        }
    }

    /// Milliseconds, or what to tell the merchant.
    pub fn to_ms(&self) -> Result<u64, &'static str> {
        let amount: u64 = self
            .amount
            .trim()
            .parse()
            .map_err(|_| "Enter a whole number.")?;
        let (.., size) = unit(&self.unit).ok_or("Pick a unit.")?;
        amount.checked_mul(size).ok_or("That is far too long.")
    }

    /// Twice as long (the next step's suggestion), in the same words when valid.
    pub fn doubled(&self) -> Duration {
        match self.to_ms() {
            Ok(ms) if ms > 0 => Duration::of_ms(ms.saturating_mul(2)),
            _ => Duration::of_ms(3_600_000),
        }
    }

    /// `1 hour`, `3 days`; as typed when it does not read.
    pub fn describe(&self) -> String {
        match (self.amount.trim().parse::<u64>(), unit(&self.unit)) {
            (Ok(1), Some((_, one, ..))) => format!("1 {one}"),
            (Ok(amount), Some((_, _, many, _))) => format!("{amount} {many}"),
            _ => format!("{} {}", self.amount, self.unit),
        }
    }

    /// The unit picker's options, this duration's unit selected.
    pub fn unit_options(&self) -> Markup {
        let with_ms = self.unit == MILLISECONDS.0;
        html! {
            @for (value, _, many, _) in UNITS.into_iter().rev() {
                option value=(value) selected[self.unit == value] { (many) }
            }
            @if with_ms {
                option value=(MILLISECONDS.0) selected { (MILLISECONDS.2) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_their_largest_unit_and_back() {
        for (ms, amount, unit) in [
            (3_600_000, "1", "hours"),
            (86_400_000, "1", "days"),
            (90 * 60_000, "90", "minutes"),
            (1_000, "1", "seconds"),
            (200, "200", "ms"),
            (0, "0", "days"),
        ] {
            let duration = Duration::of_ms(ms);
            assert_eq!(
                (duration.amount.as_str(), duration.unit.as_str()),
                (amount, unit)
            );
            assert_eq!(duration.to_ms(), Ok(ms));
        }
        assert_eq!(Duration::of_ms(3_600_000).describe(), "1 hour");
        assert_eq!(Duration::of_ms(259_200_000).describe(), "3 days");
        assert_eq!(Duration::of_ms(3_600_000).doubled().describe(), "2 hours");
        let bad = |amount: &str, unit: &str| {
            Duration {
                amount: amount.into(),
                unit: unit.into(),
            }
            .to_ms()
        };
        assert!(bad("1.5", "hours").is_err());
        assert!(bad("-1", "hours").is_err());
        assert!(bad("1", "weeks").is_err());
        assert!(bad(&u64::MAX.to_string(), "days").is_err());
    }
}
