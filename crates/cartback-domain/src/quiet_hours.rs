//! Quiet hours: a daily window of the tenant's local time in which no recovery
//! email goes out. A send that falls due inside it waits until the window ends.

use chrono::{DateTime, LocalResult, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::InvalidValue;

/// Quiet hours as a policy stores them: local wall-clock times `"HH:MM"`. The
/// window runs from `start` (included) to `end` (excluded); `start` after `end`
/// crosses midnight (`22:00`–`08:00`), `start` before `end` stays within one
/// day (`12:00`–`14:00`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuietHours {
    pub start: String,
    pub end: String,
}

/// Parsed quiet hours, ready to be asked about instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietWindow {
    start: NaiveTime,
    end: NaiveTime,
}

/// A time of day written `HH:MM`, 24-hour, both parts two digits.
///
/// ```
/// use chrono::NaiveTime;
/// use cartback_domain::parse_clock_time;
/// assert_eq!(parse_clock_time("08:30"), Ok(NaiveTime::from_hms_opt(8, 30, 0).unwrap()));
/// assert!(parse_clock_time("8:30").is_err());
/// assert!(parse_clock_time("24:00").is_err());
/// ```
pub fn parse_clock_time(text: &str) -> Result<NaiveTime, InvalidValue> {
    let invalid = || {
        let shown: String = text.chars().take(20).collect();
        InvalidValue::new(format!(
            "must be a time of day as HH:MM, 00:00 to 23:59, got {shown:?}"
        ))
    };
    let bytes = text.as_bytes();
    if bytes.len() != 5 || bytes[2] != b':' {
        return Err(invalid());
    }
    let two_digits = |pair: &[u8]| -> Option<u32> {
        match pair {
            [tens @ b'0'..=b'9', ones @ b'0'..=b'9'] => {
                Some(u32::from(tens - b'0') * 10 + u32::from(ones - b'0'))
            }
            _ => None,
        }
    };
    let hour = two_digits(&bytes[..2]).ok_or_else(invalid)?;
    let minute = two_digits(&bytes[3..]).ok_or_else(invalid)?;
    NaiveTime::from_hms_opt(hour, minute, 0).ok_or_else(invalid)
}

/// Every IANA zone name [`parse_time_zone`] knows, for documents and pickers.
pub fn time_zone_names() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|zone| zone.name())
}

/// Parses an IANA time-zone name (`Europe/Amsterdam`, `America/New_York`,
/// `UTC`), exactly as the tz database spells it.
///
/// ```
/// use cartback_domain::parse_time_zone;
/// assert_eq!(parse_time_zone("Europe/Amsterdam").unwrap().name(), "Europe/Amsterdam");
/// assert!(parse_time_zone("Mars/Olympus_Mons").is_err());
/// assert!(parse_time_zone("CEST").is_err());
/// ```
pub fn parse_time_zone(name: &str) -> Result<Tz, InvalidValue> {
    name.parse::<Tz>().map_err(|_| {
        let shown: String = name.chars().take(60).collect();
        InvalidValue::new(format!(
            "unknown time zone {shown:?}; use an IANA name such as Europe/Amsterdam or America/New_York"
        ))
    })
}

impl QuietHours {
    /// Both times well-formed (errors name `start` or `end`), different, and
    /// leaving at least [`QuietWindow::MIN_OPEN`] a day to send in.
    ///
    /// ```
    /// use cartback_domain::QuietHours;
    /// let night = QuietHours { start: "22:00".into(), end: "08:00".into() };
    /// assert!(night.window().is_ok());
    /// let all_day = QuietHours { start: "08:00".into(), end: "08:00".into() };
    /// assert!(all_day.window().is_err());
    /// let typo = QuietHours { start: "22:00".into(), end: "8h".into() };
    /// assert_eq!(typo.window().unwrap_err().field.as_deref(), Some("end"));
    /// ```
    pub fn window(&self) -> Result<QuietWindow, InvalidValue> {
        let start = parse_clock_time(&self.start).map_err(|e| e.at("start"))?;
        let end = parse_clock_time(&self.end).map_err(|e| e.at("end"))?;
        QuietWindow::new(start, end)
    }
}

impl QuietWindow {
    /// The least time of each day outside the window.
    pub const MIN_OPEN: TimeDelta = TimeDelta::hours(1);

    /// A window from `start` to `end`; rejects a window that covers the whole
    /// day (`start == end`) or leaves less than [`QuietWindow::MIN_OPEN`] open.
    pub fn new(start: NaiveTime, end: NaiveTime) -> Result<QuietWindow, InvalidValue> {
        if start == end {
            return Err(InvalidValue::new(
                "start and end must differ: the window would cover the whole day",
            ));
        }
        let window = QuietWindow { start, end };
        if TimeDelta::days(1) - window.length() < Self::MIN_OPEN {
            return Err(InvalidValue::new(
                "the window must leave at least one hour a day to send in",
            ));
        }
        Ok(window)
    }

    pub fn start(&self) -> NaiveTime {
        self.start
    }

    pub fn end(&self) -> NaiveTime {
        self.end
    }

    /// How long the window lasts on a day without a clock change.
    ///
    /// ```
    /// use chrono::{NaiveTime, TimeDelta};
    /// use cartback_domain::QuietWindow;
    /// let at = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
    /// assert_eq!(QuietWindow::new(at(22), at(8)).unwrap().length(), TimeDelta::hours(10));
    /// let half_past_seven = NaiveTime::from_hms_opt(7, 30, 0).unwrap();
    /// assert!(QuietWindow::new(at(8), half_past_seven).is_err()); // 30 min left to send in
    /// ```
    pub fn length(&self) -> TimeDelta {
        let length = self.end - self.start;
        if length < TimeDelta::zero() {
            length + TimeDelta::days(1)
        } else {
            length
        }
    }

    /// Whether a local time of day lies inside the window.
    ///
    /// ```
    /// use chrono::NaiveTime;
    /// use cartback_domain::QuietHours;
    /// let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
    /// let night = QuietHours { start: "22:00".into(), end: "08:00".into() }.window().unwrap();
    /// assert!(night.contains_time(at(23, 0)) && night.contains_time(at(7, 59)));
    /// assert!(!night.contains_time(at(8, 0)) && !night.contains_time(at(21, 59)));
    /// let lunch = QuietHours { start: "12:00".into(), end: "14:00".into() }.window().unwrap();
    /// assert!(lunch.contains_time(at(12, 0)) && !lunch.contains_time(at(14, 0)));
    /// ```
    pub fn contains_time(&self, time: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= time && time < self.end
        } else {
            time >= self.start || time < self.end
        }
    }

    /// Whether the instant `at` falls inside the window, read on the clocks of
    /// `zone`.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use cartback_domain::{parse_time_zone, QuietHours};
    /// let night = QuietHours { start: "22:00".into(), end: "08:00".into() }.window().unwrap();
    /// let at = Utc.with_ymd_and_hms(2026, 7, 1, 5, 0, 0).unwrap();
    /// assert!(night.contains(parse_time_zone("America/New_York").unwrap(), at)); // 01:00 EDT
    /// assert!(!night.contains(parse_time_zone("Asia/Tokyo").unwrap(), at)); // 14:00 JST
    /// ```
    pub fn contains(&self, zone: Tz, at: DateTime<Utc>) -> bool {
        self.contains_time(at.with_timezone(&zone).time())
    }

    /// When the window that holds `at` opens: the first instant after `at`
    /// whose local time is the window's `end` and which is itself outside the
    /// window. None when `at` is outside the window.
    ///
    /// Clock changes: an `end` that does not exist that day (spring forward)
    /// resolves to the first instant after it, the moment the clocks jump; an
    /// `end` that happens twice (autumn) resolves to the earlier instant, or to
    /// the later one when the earlier has already passed.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use cartback_domain::{parse_time_zone, QuietHours};
    /// let amsterdam = parse_time_zone("Europe/Amsterdam").unwrap();
    /// let night = QuietHours { start: "22:00".into(), end: "08:00".into() }.window().unwrap();
    /// // 23:30 in Amsterdam (CET, UTC+1) is quiet; the window opens at 08:00 CET.
    /// let late = Utc.with_ymd_and_hms(2026, 1, 10, 22, 30, 0).unwrap();
    /// assert_eq!(night.opens_after(amsterdam, late), Some(Utc.with_ymd_and_hms(2026, 1, 11, 7, 0, 0).unwrap()));
    /// // On 29 March 2026 clocks jump from 02:00 to 03:00: a 02:30 end becomes 03:00 CEST.
    /// let small_hours = QuietHours { start: "01:00".into(), end: "02:30".into() }.window().unwrap();
    /// let quiet = Utc.with_ymd_and_hms(2026, 3, 29, 0, 30, 0).unwrap(); // 01:30 CET
    /// assert_eq!(small_hours.opens_after(amsterdam, quiet), Some(Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap()));
    /// ```
    pub fn opens_after(&self, zone: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if !self.contains(zone, at) {
            return None;
        }
        let today = at.with_timezone(&zone).date_naive();
        // A valid window opens within two days; a week covers any clock change.
        for day in today.iter_days().take(8) {
            for candidate in instants_of(zone, day.and_time(self.end)) {
                if candidate > at && !self.contains(zone, candidate) {
                    return Some(candidate);
                }
            }
        }
        // Unreachable for a window that leaves time open; never leave a send stuck.
        Some(crate::bounds::shift(at, TimeDelta::days(1)))
    }

    /// `at` itself when it is outside the window, else when the window opens.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use cartback_domain::{QuietHours, Tz};
    /// let lunch = QuietHours { start: "12:00".into(), end: "14:00".into() }.window().unwrap();
    /// let noon = Utc.with_ymd_and_hms(2026, 4, 1, 12, 30, 0).unwrap();
    /// assert_eq!(lunch.postpone(Tz::UTC, noon), Utc.with_ymd_and_hms(2026, 4, 1, 14, 0, 0).unwrap());
    /// let morning = Utc.with_ymd_and_hms(2026, 4, 1, 9, 0, 0).unwrap();
    /// assert_eq!(lunch.postpone(Tz::UTC, morning), morning);
    /// ```
    pub fn postpone(&self, zone: Tz, at: DateTime<Utc>) -> DateTime<Utc> {
        self.opens_after(zone, at).unwrap_or(at)
    }
}

/// The instants at which the clocks of `zone` show `local`, earliest first: one
/// normally, two when the clocks go back, and in a spring-forward gap the
/// instant the clocks jump past it.
fn instants_of(zone: Tz, local: NaiveDateTime) -> Vec<DateTime<Utc>> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(at) => vec![at.with_timezone(&Utc)],
        LocalResult::Ambiguous(earlier, later) => {
            vec![earlier.with_timezone(&Utc), later.with_timezone(&Utc)]
        }
        LocalResult::None => vec![first_instant_showing_at_least(zone, local)],
    }
}

/// The first instant whose local time in `zone` is `local` or later, searched
/// within ±15 hours of `local` read as UTC (every offset is within that). Used
/// for times in a gap, where local time only moves forward around the search.
fn first_instant_showing_at_least(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    // Whole seconds: tz database transitions fall on whole seconds.
    let target = local.and_utc().timestamp();
    let local_of = |seconds: i64| {
        DateTime::from_timestamp(seconds, 0).map_or(i64::MIN, |at| {
            at.with_timezone(&zone).naive_local().and_utc().timestamp()
        })
    };
    const SPAN: i64 = 15 * 3600;
    let (mut before, mut after) = (target - SPAN, target + SPAN);
    // Invariant: local_of(before) < target <= local_of(after).
    while after - before > 1 {
        let middle = before + (after - before) / 2;
        if local_of(middle) >= target {
            after = middle;
        } else {
            before = middle;
        }
    }
    DateTime::from_timestamp(after, 0).unwrap_or_else(|| local.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(start: &str, end: &str) -> QuietWindow {
        QuietHours {
            start: start.into(),
            end: end.into(),
        }
        .window()
        .unwrap()
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    const AMSTERDAM: Tz = chrono_tz::Europe::Amsterdam;
    const NEW_YORK: Tz = chrono_tz::America::New_York;

    #[test]
    fn clock_times() {
        assert!(parse_clock_time("00:00").is_ok());
        assert!(parse_clock_time("23:59").is_ok());
        for bad in [
            "",
            "1:00",
            "12:60",
            "12-00",
            "12:0a",
            "+1:00",
            "12:000",
            "１２:００",
        ] {
            assert!(parse_clock_time(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn window_shapes() {
        assert!(QuietWindow::new(NaiveTime::MIN, NaiveTime::MIN).is_err());
        assert!(window("22:00", "21:00").length() == TimeDelta::hours(23));
        assert!(
            QuietHours {
                start: "22:00".into(),
                end: "21:01".into()
            }
            .window()
            .is_err()
        );
        assert_eq!(window("12:00", "14:00").length(), TimeDelta::hours(2));
    }

    #[test]
    fn time_zones() {
        assert!(parse_time_zone("UTC").is_ok());
        assert!(parse_time_zone("America/Argentina/Buenos_Aires").is_ok());
        assert!(parse_time_zone("europe/amsterdam").is_err());
        assert!(parse_time_zone("").is_err());
    }

    #[test]
    fn same_day_window_opens_at_its_end() {
        let lunch = window("12:00", "14:00");
        // 12:30 CEST = 10:30 UTC.
        assert_eq!(
            lunch.opens_after(AMSTERDAM, utc(2026, 6, 1, 10, 30)),
            Some(utc(2026, 6, 1, 12, 0))
        );
        assert_eq!(lunch.opens_after(AMSTERDAM, utc(2026, 6, 1, 12, 0)), None);
    }

    #[test]
    fn window_across_midnight_before_and_after_midnight() {
        let night = window("22:00", "08:00");
        // 07:00 EST = 12:00 UTC, opens 08:00 EST the same day.
        assert_eq!(
            night.opens_after(NEW_YORK, utc(2026, 1, 5, 12, 0)),
            Some(utc(2026, 1, 5, 13, 0))
        );
        // 23:00 EST on the 5th = 04:00 UTC on the 6th, opens 08:00 EST on the 6th.
        assert_eq!(
            night.opens_after(NEW_YORK, utc(2026, 1, 6, 4, 0)),
            Some(utc(2026, 1, 6, 13, 0))
        );
    }

    #[test]
    fn an_end_in_the_spring_gap_opens_when_the_clocks_jump() {
        // New York, 8 March 2026: 02:00 EST becomes 03:00 EDT at 07:00 UTC.
        let night = window("23:00", "02:15");
        let quiet = utc(2026, 3, 8, 6, 0); // 01:00 EST
        assert_eq!(
            night.opens_after(NEW_YORK, quiet),
            Some(utc(2026, 3, 8, 7, 0))
        );
    }

    #[test]
    fn an_end_that_happens_twice_uses_the_earlier_then_the_later() {
        // Amsterdam, 25 October 2026: 03:00 CEST becomes 02:00 CET at 01:00 UTC,
        // so 02:30 happens at 00:30 UTC and again at 01:30 UTC.
        let night = window("23:00", "02:30");
        let before = utc(2026, 10, 24, 23, 0); // 01:00 CEST
        assert_eq!(
            night.opens_after(AMSTERDAM, before),
            Some(utc(2026, 10, 25, 0, 30))
        );
        // 02:10 CET, after the clocks went back: quiet again until the second 02:30.
        let repeated = utc(2026, 10, 25, 1, 10);
        assert!(night.contains(AMSTERDAM, repeated));
        assert_eq!(
            night.opens_after(AMSTERDAM, repeated),
            Some(utc(2026, 10, 25, 1, 30))
        );
    }

    #[test]
    fn gap_search_finds_the_transition() {
        let local =
            NaiveDateTime::parse_from_str("2026-03-29 02:30:00", "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(
            first_instant_showing_at_least(AMSTERDAM, local),
            utc(2026, 3, 29, 1, 0)
        );
    }
}
