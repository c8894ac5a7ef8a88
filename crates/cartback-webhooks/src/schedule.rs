//! When to try a delivery again.

use std::fmt;
use std::time::Duration;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    #[error("a retry schedule needs at least one delay")]
    Empty,
    #[error("bad retry delay {0:?}: expected a whole number followed by ms, s, m, h or d")]
    BadDelay(String),
}

/// Delays between attempts. Attempt 1 is immediate; after failed attempt n
/// (1-based) wait `delays[n-1]`; when n > delays.len() the delivery is dead.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
}

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

impl RetrySchedule {
    pub fn new(delays: Vec<Duration>) -> Self {
        RetrySchedule { delays }
    }

    pub fn delays(&self) -> &[Duration] {
        &self.delays
    }

    /// Total attempts = delays.len() + 1.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.delays.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1)
    }

    /// Delay after the given failed attempt number, with jitter: `jitter` in
    /// [0,1) maps to a factor in [0.8, 1.2). None = no attempts left (dead).
    /// Attempt 0 is read as 1, so a caller's off-by-one cannot kill a delivery.
    pub fn delay_after(&self, failed_attempt: u32, jitter: f64) -> Option<Duration> {
        let index = usize::try_from(failed_attempt.saturating_sub(1)).ok()?;
        let base = *self.delays.get(index)?;
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.5
        };
        let factor = 0.8 + 0.4 * jitter;
        Some(Duration::try_from_secs_f64(base.as_secs_f64() * factor).unwrap_or(base))
    }

    /// Parses "5s,30s,2m,10m,1h,1d,250ms" (units ms, s, m, h, d).
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        if text.trim().is_empty() {
            return Err(ScheduleError::Empty);
        }
        let delays = text
            .split(',')
            .map(parse_delay)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RetrySchedule { delays })
    }
}

fn parse_delay(entry: &str) -> Result<Duration, ScheduleError> {
    let trimmed = entry.trim();
    let bad = || ScheduleError::BadDelay(trimmed.to_owned());
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(bad)?;
    let (number, unit) = trimmed.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let seconds_per_unit = match unit {
        "ms" => return Ok(Duration::from_millis(number)),
        "s" => 1,
        "m" => MINUTE,
        "h" => HOUR,
        "d" => DAY,
        _ => return Err(bad()),
    };
    number
        .checked_mul(seconds_per_unit)
        .map(Duration::from_secs)
        .ok_or_else(bad)
}

impl Default for RetrySchedule {
    /// 12 attempts over about 3.2 days.
    fn default() -> Self {
        let s = Duration::from_secs;
        RetrySchedule::new(vec![
            s(5),
            s(MINUTE),
            s(5 * MINUTE),
            s(30 * MINUTE),
            s(HOUR),
            s(2 * HOUR),
            s(4 * HOUR),
            s(8 * HOUR),
            s(12 * HOUR),
            s(DAY),
            s(DAY),
        ])
    }
}

/// The text `parse` reads; sub-millisecond parts are dropped.
impl fmt::Display for RetrySchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, delay) in self.delays.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let millis = delay.as_millis();
            if millis % 1000 != 0 {
                write!(f, "{millis}ms")?;
                continue;
            }
            let secs = delay.as_secs();
            let (value, unit) = if secs == 0 {
                (0, "s")
            } else if secs % DAY == 0 {
                (secs / DAY, "d")
            } else if secs % HOUR == 0 {
                (secs / HOUR, "h")
            } else if secs % MINUTE == 0 {
                (secs / MINUTE, "m")
            } else {
                (secs, "s")
            };
            write!(f, "{value}{unit}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_units() {
        let schedule = RetrySchedule::parse("5s, 30s,2m,10m,1h,1d,250ms").unwrap();
        assert_eq!(
            schedule.delays(),
            [
                Duration::from_secs(5),
                Duration::from_secs(30),
                Duration::from_secs(120),
                Duration::from_secs(600),
                Duration::from_secs(3600),
                Duration::from_secs(86400),
                Duration::from_millis(250),
            ]
        );
        assert_eq!(schedule.max_attempts(), 8);
        assert_eq!(schedule.to_string(), "5s,30s,2m,10m,1h,1d,250ms");
    }

    #[test]
    fn refuses_bad_text() {
        assert_eq!(RetrySchedule::parse(""), Err(ScheduleError::Empty));
        assert_eq!(RetrySchedule::parse("  "), Err(ScheduleError::Empty));
        for bad in [
            "5",
            "s",
            "5x",
            "5s,",
            "-5s",
            "1.5h",
            "5 s",
            "99999999999999999d",
        ] {
            assert!(
                matches!(RetrySchedule::parse(bad), Err(ScheduleError::BadDelay(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn default_is_about_three_days() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.max_attempts(), 12);
        let total: Duration = schedule.delays().iter().sum();
        assert!(total > Duration::from_secs(3 * DAY) && total < Duration::from_secs(4 * DAY));
        assert_eq!(schedule.to_string(), "5s,1m,5m,30m,1h,2h,4h,8h,12h,1d,1d");
        assert_eq!(
            RetrySchedule::parse(&schedule.to_string()).unwrap(),
            schedule
        );
    }

    #[test]
    fn display_round_trips() {
        let schedule = RetrySchedule::new(vec![
            Duration::ZERO,
            Duration::from_millis(1500),
            Duration::from_secs(90),
            Duration::from_secs(2 * DAY),
        ]);
        assert_eq!(schedule.to_string(), "0s,1500ms,90s,2d");
        assert_eq!(
            RetrySchedule::parse(&schedule.to_string()).unwrap(),
            schedule
        );
    }

    #[test]
    fn delay_after_applies_jitter_and_ends() {
        let schedule = RetrySchedule::parse("10s,100s").unwrap();
        assert_eq!(schedule.delay_after(1, 0.5), Some(Duration::from_secs(10)));
        assert_eq!(schedule.delay_after(1, 0.0), Some(Duration::from_secs(8)));
        let high = schedule.delay_after(2, 0.999_999).unwrap();
        assert!(high < Duration::from_secs(120) && high > Duration::from_secs(119));
        assert_eq!(schedule.delay_after(3, 0.5), None);
        assert_eq!(schedule.delay_after(0, 0.5), Some(Duration::from_secs(10)));
        assert_eq!(
            schedule.delay_after(1, f64::NAN),
            Some(Duration::from_secs(10))
        );
        assert_eq!(schedule.delay_after(1, 7.0), Some(Duration::from_secs(12)));
    }
}
