//! The time filters of `GET /api/v1/carts` (`created_*`, `updated_*`,
//! `abandoned_*`): an RFC 3339 time in its own offset, unix seconds, or a date
//! that names a whole day of the shop's time zone.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use cartback_domain::{Tz, bounds, local_day_span};
use cartback_store::cart_admin::{CartFilter, just_before};

use crate::input::fields::exact_date;

/// A time filter as written, before the shop's zone turns a date into instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeFilter {
    /// An instant: an RFC 3339 time or unix seconds.
    At(DateTime<Utc>),
    /// A whole local day (`2026-12-06`).
    Day(NaiveDate),
}

/// Which end of a range a filter is; both ends of a date include that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// `*_after`: later than the time, or from the start of the day.
    After,
    /// `*_before`: earlier than the time, or up to the end of the day.
    Before,
}

pub(crate) type Slot = fn(&mut CartFilter) -> &mut Option<NaiveDateTime>;

/// Every time filter: its parameter, its side and the store filter it sets.
pub(crate) const TIME_FILTERS: [(&str, Side, Slot); 6] = [
    ("created_after", Side::After, |f| &mut f.created_after),
    ("created_before", Side::Before, |f| &mut f.created_before),
    ("updated_after", Side::After, |f| &mut f.updated_after),
    ("updated_before", Side::Before, |f| &mut f.updated_before),
    ("abandoned_after", Side::After, |f| &mut f.abandoned_after),
    ("abandoned_before", Side::Before, |f| {
        &mut f.abandoned_before
    }),
];

const EXPECTED: &str = "must be an RFC 3339 time, a date (YYYY-MM-DD) or unix seconds";

impl TimeFilter {
    /// `2026-03-15T14:22:00+01:00`, `2026-03-15` or unix seconds, written in
    /// the years the service stores (a filter past them would overflow
    /// PostgreSQL's timestamps and sort wrongly as SQLite text); else why not.
    pub(crate) fn parse(text: &str) -> Result<TimeFilter, String> {
        if let Ok(at) = DateTime::parse_from_rfc3339(text) {
            // The date as written, in its own offset.
            bounds::check_date(at.date_naive())?;
            Ok(TimeFilter::At(at.with_timezone(&Utc)))
        } else if let Some(date) = exact_date(text) {
            bounds::check_date(date)?;
            Ok(TimeFilter::Day(date))
        } else if let Ok(seconds) = text.parse::<i64>() {
            bounds::instant_from_seconds(seconds).map(TimeFilter::At)
        } else if plus_sent_as_space(text) {
            Err(format!(
                "{EXPECTED}; the `+` of its offset arrived as a space: a query string must \
                 send it as `%2B` (`{}`)",
                text.replacen(' ', "%2B", 1)
            ))
        } else {
            Err(EXPECTED.to_owned())
        }
    }

    pub(crate) fn is_day(self) -> bool {
        matches!(self, TimeFilter::Day(_))
    }

    /// The store's bound (exclusive) for this filter on `side`, a date read
    /// in `zone`. A time whose offset moves it just outside the stored years
    /// (`1970-01-01T00:00:00+01:00`) is held at the edge: every stored time
    /// lies inside, so the filter means the same.
    pub(crate) fn bound(self, side: Side, zone: Tz) -> NaiveDateTime {
        let at = match (self, side) {
            (TimeFilter::At(at), _) => at,
            (TimeFilter::Day(day), Side::After) => {
                return just_before(clamp(local_day_span(day, zone).0));
            }
            (TimeFilter::Day(day), Side::Before) => local_day_span(day, zone).1,
        };
        clamp(at).naive_utc()
    }
}

/// The time filters of `query` among `names` (a subset of [`TIME_FILTERS`]'s
/// parameters), as written; a bad one is added to `problems`.
pub(crate) fn read_time_filters(
    query: &std::collections::HashMap<String, String>,
    names: &[&str],
    problems: &mut crate::input::Problems,
) -> Vec<(TimeFilter, Side, Slot)> {
    let mut times = Vec::new();
    for (name, side, slot) in TIME_FILTERS {
        if !names.contains(&name) {
            continue;
        }
        if let Some(text) = query.get(name) {
            match TimeFilter::parse(text) {
                Ok(time) => times.push((time, side, slot)),
                Err(message) => problems.add(name, message),
            }
        }
    }
    times
}

/// Sets `times` on `filter`, a date read as a whole day of the shop's zone:
/// its current policy's, as analytics reads it (not the one cached with the key).
pub(crate) fn apply_time_filters(
    conn: &mut cartback_store::DbConn,
    tenant_id: &str,
    times: Vec<(TimeFilter, Side, Slot)>,
    filter: &mut CartFilter,
) -> cartback_store::StoreResult<()> {
    let zone = if times.iter().any(|(time, _, _)| time.is_day()) {
        match cartback_store::tenants::find_tenant(conn, tenant_id)? {
            Some(tenant) => tenant.recovery_policy()?.zone(),
            None => Tz::UTC,
        }
    } else {
        Tz::UTC
    };
    for (time, side, slot) in times {
        *slot(filter) = Some(time.bound(side, zone));
    }
    Ok(())
}

fn clamp(at: DateTime<Utc>) -> DateTime<Utc> {
    at.clamp(bounds::earliest(), bounds::far_future())
}

/// `2026-12-06T10:00:00 01:00`: an RFC 3339 time once the single space is a
/// `+` again (a query string decodes an unencoded `+` as a space).
fn plus_sent_as_space(text: &str) -> bool {
    text.matches(' ').count() == 1
        && DateTime::parse_from_rfc3339(&text.replacen(' ', "+", 1)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn the_three_forms() {
        let at = TimeFilter::parse("2026-12-06T10:00:00+01:00").unwrap();
        assert_eq!(
            at.bound(Side::After, Tz::Asia__Tokyo),
            utc(2026, 12, 6, 9, 0)
        );
        assert_eq!(at.bound(Side::Before, Tz::UTC), utc(2026, 12, 6, 9, 0));
        let seconds = TimeFilter::parse("1765011600").unwrap();
        assert_eq!(seconds.bound(Side::After, Tz::UTC), utc(2025, 12, 6, 9, 0));
        assert!(!seconds.is_day());
        let day = TimeFilter::parse("2026-12-06").unwrap();
        assert!(day.is_day());
        for wrong in [
            "yesterday",
            "2026-12-6",
            "0001-01-01",
            "2026-12-06T10:00:00",
        ] {
            assert!(TimeFilter::parse(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn a_date_is_a_whole_day_of_the_shops_zone() {
        let day = TimeFilter::parse("2026-12-06").unwrap();
        // Amsterdam is at +1 in December: the 6th runs from 23:00 UTC on the
        // 5th to 23:00 UTC on the 6th, both ends of a range including it.
        let zone = Tz::Europe__Amsterdam;
        let after = day.bound(Side::After, zone);
        assert!(after < utc(2026, 12, 5, 23, 0));
        assert!(after > utc(2026, 12, 5, 22, 59));
        assert_eq!(day.bound(Side::Before, zone), utc(2026, 12, 6, 23, 0));
        // In UTC, midnight to midnight.
        assert_eq!(day.bound(Side::Before, Tz::UTC), utc(2026, 12, 7, 0, 0));
        // Where the clocks go forward at midnight the day starts at 01:00.
        let skipped = TimeFilter::parse("2018-11-04").unwrap();
        let after = skipped.bound(Side::After, Tz::America__Sao_Paulo);
        assert!(after < utc(2018, 11, 4, 3, 0) && after > utc(2018, 11, 4, 2, 59));
    }

    #[test]
    fn the_edges_of_the_stored_years_hold() {
        let first = TimeFilter::parse("1970-01-01").unwrap();
        // A day starting before 1970 in UTC is held at the first stored instant.
        let after = first.bound(Side::After, Tz::Europe__Amsterdam);
        assert!(after < bounds::earliest().naive_utc());
        let last = TimeFilter::parse("9999-12-31").unwrap();
        assert_eq!(
            last.bound(Side::Before, Tz::America__Los_Angeles),
            bounds::far_future().naive_utc()
        );
        let early = TimeFilter::parse("1970-01-01T00:00:00+01:00").unwrap();
        assert_eq!(
            early.bound(Side::After, Tz::UTC),
            bounds::earliest().naive_utc()
        );
    }

    #[test]
    fn an_unencoded_plus_is_named() {
        let message = TimeFilter::parse("2026-12-06T10:00:00 01:00").unwrap_err();
        assert!(message.contains("%2B"), "{message}");
        assert!(message.contains("2026-12-06T10:00:00%2B01:00"), "{message}");
        let plain = TimeFilter::parse("next week").unwrap_err();
        assert!(!plain.contains("%2B"), "{plain}");
    }
}
