//! The named periods a merchant picks a report by (`today`, `7d`, …, `year`):
//! each one a stretch of the shop's own calendar that ends now.

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;

use crate::analytics::{AnalyticsPeriod, local_date};
use crate::error::InvalidValue;

/// A report period named by a word, counted in the shop's time zone and ending
/// at `now` (today so far is always included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeriodPreset {
    /// Today so far.
    Today,
    /// Today and the 6 whole days before it.
    Last7Days,
    /// Today and the 29 whole days before it.
    Last30Days,
    /// Today and the 89 whole days before it.
    Last90Days,
    /// This calendar month so far.
    Month,
    /// This calendar year so far.
    Year,
}

impl PeriodPreset {
    /// Every preset, shortest first: the order a picker shows them in.
    pub const ALL: [PeriodPreset; 6] = [
        PeriodPreset::Today,
        PeriodPreset::Last7Days,
        PeriodPreset::Last30Days,
        PeriodPreset::Last90Days,
        PeriodPreset::Month,
        PeriodPreset::Year,
    ];

    /// What a report shows when no period is asked for.
    pub const DEFAULT: PeriodPreset = PeriodPreset::Last30Days;

    /// The word of the preset, as a query parameter writes it (`period=7d`).
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodPreset::Today => "today",
            PeriodPreset::Last7Days => "7d",
            PeriodPreset::Last30Days => "30d",
            PeriodPreset::Last90Days => "90d",
            PeriodPreset::Month => "month",
            PeriodPreset::Year => "year",
        }
    }

    /// A short label for a period picker.
    pub fn label(self) -> &'static str {
        match self {
            PeriodPreset::Today => "Today",
            PeriodPreset::Last7Days => "7 days",
            PeriodPreset::Last30Days => "30 days",
            PeriodPreset::Last90Days => "90 days",
            PeriodPreset::Month => "This month",
            PeriodPreset::Year => "This year",
        }
    }

    /// The preset `text` names exactly; the error (at `period`) lists the words.
    ///
    /// ```
    /// use cartback_domain::PeriodPreset;
    /// assert_eq!(PeriodPreset::parse("month"), Ok(PeriodPreset::Month));
    /// let error = PeriodPreset::parse("14d").unwrap_err();
    /// assert_eq!(error.to_string(), "period: must be one of today, 7d, 30d, 90d, month, year");
    /// ```
    pub fn parse(text: &str) -> Result<PeriodPreset, InvalidValue> {
        PeriodPreset::ALL
            .into_iter()
            .find(|preset| preset.as_str() == text)
            .ok_or_else(|| {
                let words: Vec<&str> = PeriodPreset::ALL.iter().map(|p| p.as_str()).collect();
                InvalidValue::new(format!("must be one of {}", words.join(", "))).at("period")
            })
    }

    /// The period the preset covers at `now` in `zone`: from the start of its
    /// first local day to `now`.
    ///
    /// ```
    /// use chrono::{NaiveDate, TimeZone, Utc};
    /// use cartback_domain::{PeriodPreset, Tz};
    /// // 23:30 UTC on 31 March is already 1 April in Amsterdam (CEST, +2).
    /// let now = Utc.with_ymd_and_hms(2026, 3, 31, 23, 30, 0).unwrap();
    /// let month = PeriodPreset::Month.period(now, Tz::Europe__Amsterdam).unwrap();
    /// assert_eq!(month.first_day(), NaiveDate::from_ymd_opt(2026, 4, 1).unwrap());
    /// assert_eq!(month.start(), Utc.with_ymd_and_hms(2026, 3, 31, 22, 0, 0).unwrap());
    /// assert_eq!(month.end(), now);
    /// ```
    pub fn period(self, now: DateTime<Utc>, zone: Tz) -> Result<AnalyticsPeriod, InvalidValue> {
        let today = local_date(now, zone);
        let first = match self {
            PeriodPreset::Today => today,
            PeriodPreset::Last7Days => return AnalyticsPeriod::last_days(7, now, zone),
            PeriodPreset::Last30Days => return AnalyticsPeriod::last_days(30, now, zone),
            PeriodPreset::Last90Days => return AnalyticsPeriod::last_days(90, now, zone),
            // Day 1 of every month and of every year exists: the fallbacks never run.
            PeriodPreset::Month => today.with_day(1).unwrap_or(today),
            PeriodPreset::Year => today.with_ordinal(1).unwrap_or(today),
        };
        AnalyticsPeriod::since(first, now, zone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::tests::{AMSTERDAM, day, utc};
    use chrono::NaiveDate;

    /// (first day, start instant) of `preset` at `now` in `zone`; the end is
    /// always `now` and the last day today.
    fn bounds(preset: PeriodPreset, now: DateTime<Utc>, zone: Tz) -> (NaiveDate, DateTime<Utc>) {
        let period = preset.period(now, zone).unwrap();
        assert_eq!(period.end(), now, "{preset:?}");
        assert_eq!(period.last_day(), local_date(now, zone), "{preset:?}");
        assert_eq!(period.zone(), zone);
        (period.first_day(), period.start())
    }

    #[test]
    fn every_preset_at_a_fixed_now() {
        // 10:00 on Sunday 6 December 2026 in Amsterdam (CET, +1).
        let now = utc(2026, 12, 6, 9, 0);
        let expected = [
            (
                PeriodPreset::Today,
                day(2026, 12, 6),
                utc(2026, 12, 5, 23, 0),
            ),
            (
                PeriodPreset::Last7Days,
                day(2026, 11, 30),
                utc(2026, 11, 29, 23, 0),
            ),
            (
                PeriodPreset::Last30Days,
                day(2026, 11, 7),
                utc(2026, 11, 6, 23, 0),
            ),
            // 90 days back crosses the October switch to winter time: CEST, +2.
            (
                PeriodPreset::Last90Days,
                day(2026, 9, 8),
                utc(2026, 9, 7, 22, 0),
            ),
            (
                PeriodPreset::Month,
                day(2026, 12, 1),
                utc(2026, 11, 30, 23, 0),
            ),
            (
                PeriodPreset::Year,
                day(2026, 1, 1),
                utc(2025, 12, 31, 23, 0),
            ),
        ];
        for (preset, first, start) in expected {
            assert_eq!(bounds(preset, now, AMSTERDAM), (first, start), "{preset:?}");
        }
        let days = |preset: PeriodPreset| preset.period(now, AMSTERDAM).unwrap().days().count();
        assert_eq!(
            PeriodPreset::ALL.map(days),
            [1, 7, 30, 90, 6, 340],
            "today, 7d, 30d, 90d, this month, this year"
        );
    }

    #[test]
    fn presets_follow_the_shops_calendar_near_midnight() {
        // 23:30 UTC on 31 December 2026 is already 2027 in Amsterdam, still
        // 2026 in UTC and in New York.
        let now = utc(2026, 12, 31, 23, 30);
        assert_eq!(
            bounds(PeriodPreset::Year, now, AMSTERDAM),
            (day(2027, 1, 1), utc(2026, 12, 31, 23, 0))
        );
        assert_eq!(
            bounds(PeriodPreset::Today, now, AMSTERDAM),
            (day(2027, 1, 1), utc(2026, 12, 31, 23, 0))
        );
        assert_eq!(
            bounds(PeriodPreset::Year, now, Tz::UTC),
            (day(2026, 1, 1), utc(2026, 1, 1, 0, 0))
        );
        assert_eq!(
            bounds(PeriodPreset::Month, now, Tz::America__New_York),
            (day(2026, 12, 1), utc(2026, 12, 1, 5, 0))
        );
        // The first of the month: `month` and `today` are the same period.
        let first = utc(2026, 4, 1, 7, 0);
        assert_eq!(
            PeriodPreset::Month.period(first, AMSTERDAM),
            PeriodPreset::Today.period(first, AMSTERDAM)
        );
        // A leap year's last day: `year` covers 366 days, the longest period.
        let leap = utc(2028, 12, 31, 12, 0);
        let year = PeriodPreset::Year.period(leap, Tz::UTC).unwrap();
        assert_eq!(year.days().count(), 366);
    }

    #[test]
    fn words_round_trip() {
        for preset in PeriodPreset::ALL {
            assert_eq!(PeriodPreset::parse(preset.as_str()), Ok(preset));
        }
        for wrong in ["", "7D", "week", " today", "14d"] {
            let error = PeriodPreset::parse(wrong).unwrap_err();
            assert_eq!(error.field.as_deref(), Some("period"), "{wrong:?}");
        }
        assert_eq!(PeriodPreset::DEFAULT.as_str(), "30d");
    }
}
