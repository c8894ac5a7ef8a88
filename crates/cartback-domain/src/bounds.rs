//! The domain's bounds: the largest (and smallest) value every number and date
//! may take, checked where a value enters (settings, tracked carts, orders,
//! Stripe events, the command line), and the saturating time arithmetic that
//! keeps every schedule inside them even for a value stored before a bound
//! existed.
//!
//! Why bounds at all: chrono panics when `DateTime + TimeDelta` leaves its
//! range, PostgreSQL refuses years past 294276, and SQLite compares
//! timestamps as text, so a year of five digits sorts before `2026`. One
//! tenant's absurd delay must never crash or starve the worker of another.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

/// One day in milliseconds.
pub const DAY_MS: u64 = 86_400_000;

/// Longest delay of a recovery step after the cart's last activity: 365 days.
pub const MAX_STEP_DELAY_MS: u64 = 365 * DAY_MS;

/// Longest a cart may live before it expires (`expireAfterMs`): 3 × 365 days.
pub const MAX_EXPIRE_AFTER_MS: u64 = 3 * 365 * DAY_MS;

/// Longest attribution window (`attributionWindowMs`): 365 days.
pub const MAX_ATTRIBUTION_WINDOW_MS: u64 = 365 * DAY_MS;

/// Longest customer cooldown (`customerCooldownMs`): 90 days.
pub const MAX_CUSTOMER_COOLDOWN_MS: u64 = 90 * DAY_MS;

/// Most recovery emails per cart and cycle (`maxEmailsPerCart`): as many as a
/// policy may have steps.
pub const MAX_EMAILS_PER_CART: u32 = 10;

/// Most recovery emails one address may get in 24 hours across all the carts of
/// a tenant (`maxEmailsPerAddressPerDay`); 0 turns the cap off.
pub const MAX_EMAILS_PER_ADDRESS_PER_DAY: u32 = 50;

/// Largest amount in minor units: a unit price, a cart or order total, a
/// minimum cart value, a Stripe amount. 10^14 (a trillion dollars in cents);
/// the sum of 500 lines of 1,000,000 units each is checked money arithmetic
/// (an error, never an overflow), and the sum of 90,000 maximal carts still
/// fits an i64.
pub const MAX_AMOUNT_MINOR: i64 = 100_000_000_000_000;

/// Earliest year of any date the service accepts or stores.
pub const MIN_YEAR: i32 = 1970;

/// Latest year of any date the service accepts or stores: four digits, so
/// timestamps stored as text (SQLite) sort in time order.
pub const MAX_YEAR: i32 = 9999;

/// The earliest instant the service stores: 1970-01-01T00:00:00Z.
pub fn earliest() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
}

/// The latest instant the service stores, 9999-12-31T23:59:59Z. A schedule
/// that saturates here means "never": the worker does not wake up for it.
///
/// ```
/// use cartback_domain::bounds::far_future;
/// assert_eq!(far_future().to_rfc3339(), "9999-12-31T23:59:59+00:00");
/// ```
pub fn far_future() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(MAX_YEAR, 12, 31)
        .and_then(|day| day.and_hms_opt(23, 59, 59))
        .map_or(DateTime::<Utc>::MAX_UTC, |t| t.and_utc())
}

/// Whether `at` lies in the years [`MIN_YEAR`] to [`MAX_YEAR`].
pub fn in_range(at: DateTime<Utc>) -> bool {
    earliest() <= at && at <= far_future()
}

/// `at` moved by `delta`, saturating at [`earliest`] and [`far_future`]: never
/// a panic, never a date outside the stored range. The one way the domain,
/// store, api and worker add a tenant-derived duration to a time.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use cartback_domain::bounds::{far_future, shift};
/// let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
/// assert_eq!(shift(t, TimeDelta::hours(1)), Utc.with_ymd_and_hms(2026, 1, 1, 1, 0, 0).unwrap());
/// assert_eq!(shift(t, TimeDelta::MAX), far_future());
/// assert_eq!(shift(t, TimeDelta::MIN).timestamp(), 0);
/// ```
pub fn shift(at: DateTime<Utc>, delta: TimeDelta) -> DateTime<Utc> {
    let moved = match at.checked_add_signed(delta) {
        Some(moved) => moved,
        None if delta < TimeDelta::zero() => earliest(),
        None => far_future(),
    };
    moved.clamp(earliest(), far_future())
}

/// A duration of `ms` milliseconds, saturating at the largest a `TimeDelta`
/// holds (a stored value larger than any bound still gives a duration, which
/// [`shift`] then saturates).
pub fn millis(ms: u64) -> TimeDelta {
    TimeDelta::try_milliseconds(i64::try_from(ms).unwrap_or(i64::MAX)).unwrap_or(TimeDelta::MAX)
}

/// A date a caller gives (a filter, a report's first or last day) inside the
/// years [`MIN_YEAR`] to [`MAX_YEAR`], else why not.
///
/// ```
/// use chrono::NaiveDate;
/// use cartback_domain::bounds::check_date;
/// assert!(check_date(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()).is_ok());
/// assert!(check_date(NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap()).is_err());
/// assert!(check_date(NaiveDate::from_ymd_opt(1969, 12, 31).unwrap()).is_err());
/// ```
pub fn check_date(date: NaiveDate) -> Result<NaiveDate, String> {
    use chrono::Datelike;
    if (MIN_YEAR..=MAX_YEAR).contains(&date.year()) {
        Ok(date)
    } else {
        Err(year_message())
    }
}

/// An instant a caller gives inside [`earliest`] to [`far_future`], else why
/// not.
pub fn check_instant(at: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if in_range(at) {
        Ok(at)
    } else {
        Err(year_message())
    }
}

/// Unix seconds as an instant inside [`earliest`] to [`far_future`], else why
/// not (never an overflow, whatever the number).
///
/// ```
/// use cartback_domain::bounds::instant_from_seconds;
/// assert_eq!(instant_from_seconds(0).unwrap().timestamp(), 0);
/// assert!(instant_from_seconds(-1).is_err());
/// assert!(instant_from_seconds(i64::MAX).is_err());
/// ```
pub fn instant_from_seconds(seconds: i64) -> Result<DateTime<Utc>, String> {
    DateTime::<Utc>::from_timestamp(seconds, 0)
        .filter(|at| in_range(*at))
        .ok_or_else(year_message)
}

fn year_message() -> String {
    format!("must lie in the years {MIN_YEAR} to {MAX_YEAR}")
}

/// An amount in minor units inside `0..=MAX_AMOUNT_MINOR`, else why not.
pub fn check_amount(minor: i64) -> Result<i64, String> {
    if minor < 0 {
        Err("must not be negative".to_owned())
    } else if minor > MAX_AMOUNT_MINOR {
        Err(format!("must be at most {MAX_AMOUNT_MINOR} minor units"))
    } else {
        Ok(minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_saturates_both_ways() {
        assert_eq!(shift(far_future(), TimeDelta::seconds(1)), far_future());
        assert_eq!(
            shift(DateTime::<Utc>::MAX_UTC, TimeDelta::zero()),
            far_future()
        );
        assert_eq!(shift(earliest(), -TimeDelta::seconds(1)), earliest());
        assert_eq!(millis(u64::MAX), TimeDelta::MAX);
        assert_eq!(millis(1_000), TimeDelta::seconds(1));
    }

    #[test]
    fn far_future_text_sorts_after_today() {
        let stored = far_future().naive_utc().to_string();
        assert!(stored.as_str() > "2026-01-01 00:00:00");
    }
}
