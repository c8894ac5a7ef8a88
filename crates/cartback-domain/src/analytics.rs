//! Analytics: what a tenant's carts, orders and recovery emails add up to over a
//! period, with one row per calendar day of the tenant's own time zone.
//!
//! Everything here is arithmetic over facts the caller loaded: abandonment
//! events with the cart's value, orders with their attribution, and sent emails.
//! Amounts are kept per currency and never added across currencies.
//!
//! ```
//! use chrono::{NaiveDate, TimeZone, Utc};
//! use cartback_domain::{
//!     AbandonedFact, AnalyticsInput, AnalyticsPeriod, Currency, Money, OrderAttribution,
//!     OrderFact, Tz, analyze,
//! };
//! let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
//! let period = AnalyticsPeriod::local_days(day(28), day(29), Tz::Europe__Amsterdam).unwrap();
//! let input = AnalyticsInput {
//!     abandoned: vec![AbandonedFact {
//!         // 00:30 on the 29th in Amsterdam.
//!         at: Utc.with_ymd_and_hms(2026, 3, 28, 23, 30, 0).unwrap(),
//!         cart_value: Some(Money::from_minor(5000, Currency::EUR)),
//!     }],
//!     orders: vec![OrderFact {
//!         at: Utc.with_ymd_and_hms(2026, 3, 29, 9, 0, 0).unwrap(),
//!         attribution: OrderAttribution::Recovered,
//!         total: Some(Money::from_minor(5000, Currency::EUR)),
//!     }],
//!     sends: vec![],
//!     steps: 1,
//! };
//! let report = analyze(&period, &input);
//! assert_eq!((report.summary.abandoned, report.summary.recovered), (1, 1));
//! assert_eq!(report.summary.recovery_rate, 1.0);
//! assert_eq!(report.daily.len(), 2);
//! assert_eq!((report.daily[0].abandoned, report.daily[1].abandoned), (0, 1));
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, LocalResult, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::InvalidValue;
use crate::money::Money;

/// The longest period a report covers, in calendar days.
pub const MAX_PERIOD_DAYS: u32 = 366;

/// The version of the IANA time-zone database this build cuts local days with.
/// Counts kept per local day are only good under the rules they were cut with:
/// a store keeping them notes this beside them.
pub const TZDB_VERSION: &str = chrono_tz::IANA_TZDB_VERSION;

/// The longest interval [`count_interval`] accepts, in days (seed: Retargeting's
/// "interval is greater than 30 days").
pub const MAX_COUNT_INTERVAL_DAYS: i64 = 30;

/// The instant `date` begins in `zone`: local midnight, or the first instant of
/// the day when a daylight-saving change skips midnight.
///
/// ```
/// use chrono::{NaiveDate, TimeZone, Utc};
/// use cartback_domain::{Tz, start_of_local_day};
/// let day = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
/// assert_eq!(
///     start_of_local_day(day, Tz::Europe__Amsterdam),
///     Utc.with_ymd_and_hms(2026, 3, 28, 23, 0, 0).unwrap()
/// );
/// ```
pub fn start_of_local_day(date: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let midnight = date.and_time(NaiveTime::MIN);
    match zone.from_local_datetime(&midnight) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.with_timezone(&Utc),
        // Midnight falls into a gap: the day starts where the gap ends, on the
        // first local minute that exists.
        LocalResult::None => (1..=24 * 60)
            .find_map(|minutes| {
                zone.from_local_datetime(&(midnight + TimeDelta::minutes(minutes)))
                    .earliest()
            })
            .map_or_else(|| midnight.and_utc(), |at| at.with_timezone(&Utc)),
    }
}

/// The instants the local day `date` covers in `zone`: from its start
/// (included) to the start of the next day (excluded). A date filter that names
/// a whole day (`2026-12-06`) means these.
///
/// ```
/// use chrono::{NaiveDate, TimeZone, Utc};
/// use cartback_domain::{Tz, local_day_span};
/// let day = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
/// let (start, end) = local_day_span(day, Tz::Europe__Amsterdam);
/// assert_eq!(start, Utc.with_ymd_and_hms(2026, 12, 5, 23, 0, 0).unwrap());
/// assert_eq!(end, Utc.with_ymd_and_hms(2026, 12, 6, 23, 0, 0).unwrap());
/// ```
pub fn local_day_span(date: NaiveDate, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = start_of_local_day(date, zone);
    // The last date chrono knows has no next day: its span runs a day long.
    let end = date.succ_opt().map_or_else(
        || crate::bounds::shift(start, TimeDelta::days(1)),
        |next| start_of_local_day(next, zone),
    );
    (start, end)
}

/// The calendar date `at` falls on in `zone`.
pub fn local_date(at: DateTime<Utc>, zone: Tz) -> NaiveDate {
    at.with_timezone(&zone).date_naive()
}

/// The stretch of time a report covers: the instants `[start, end)` and the
/// calendar days `first_day..=last_day` of `zone` they fall on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnalyticsPeriod {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    first_day: NaiveDate,
    last_day: NaiveDate,
    zone: Tz,
}

fn day_count(first: NaiveDate, last: NaiveDate) -> i64 {
    (last - first).num_days() + 1
}

impl AnalyticsPeriod {
    /// Whole local days, `first` to `last` inclusive: from the start of `first`
    /// to the start of the day after `last`. Errors name `endDate` (before
    /// `startDate`, or more than [`MAX_PERIOD_DAYS`] days).
    ///
    /// ```
    /// use chrono::{NaiveDate, TimeZone, Utc};
    /// use cartback_domain::{AnalyticsPeriod, Tz};
    /// let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
    /// let period = AnalyticsPeriod::local_days(day(29), day(29), Tz::Europe__Amsterdam).unwrap();
    /// // The day the clocks go forward has 23 hours.
    /// assert_eq!((period.end() - period.start()).num_hours(), 23);
    /// assert!(AnalyticsPeriod::local_days(day(29), day(28), Tz::UTC).is_err());
    /// ```
    pub fn local_days(
        first: NaiveDate,
        last: NaiveDate,
        zone: Tz,
    ) -> Result<AnalyticsPeriod, InvalidValue> {
        crate::bounds::check_date(first).map_err(|e| InvalidValue::new(e).at("startDate"))?;
        crate::bounds::check_date(last).map_err(|e| InvalidValue::new(e).at("endDate"))?;
        if last < first {
            return Err(InvalidValue::new("must not be before startDate").at("endDate"));
        }
        if day_count(first, last) > i64::from(MAX_PERIOD_DAYS) {
            return Err(InvalidValue::new(format!(
                "the period may cover at most {MAX_PERIOD_DAYS} days"
            ))
            .at("endDate"));
        }
        let after_last = last
            .succ_opt()
            .ok_or_else(|| InvalidValue::new("is out of range").at("endDate"))?;
        Ok(AnalyticsPeriod {
            start: start_of_local_day(first, zone),
            end: start_of_local_day(after_last, zone),
            first_day: first,
            last_day: last,
            zone,
        })
    }

    /// The last `days` local days up to `now`: today so far and the `days - 1`
    /// whole days before it. `days` must be 1 to [`MAX_PERIOD_DAYS`] (errors
    /// name `period`).
    ///
    /// ```
    /// use chrono::{NaiveDate, TimeZone, Utc};
    /// use cartback_domain::{AnalyticsPeriod, Tz};
    /// let now = Utc.with_ymd_and_hms(2026, 3, 30, 12, 0, 0).unwrap();
    /// let week = AnalyticsPeriod::last_days(7, now, Tz::Europe__Amsterdam).unwrap();
    /// assert_eq!(week.first_day(), NaiveDate::from_ymd_opt(2026, 3, 24).unwrap());
    /// assert_eq!(week.last_day(), NaiveDate::from_ymd_opt(2026, 3, 30).unwrap());
    /// assert_eq!(week.end(), now);
    /// assert_eq!(week.days().count(), 7);
    /// ```
    pub fn last_days(
        days: u32,
        now: DateTime<Utc>,
        zone: Tz,
    ) -> Result<AnalyticsPeriod, InvalidValue> {
        if days == 0 || days > MAX_PERIOD_DAYS {
            return Err(
                InvalidValue::new(format!("must cover 1 to {MAX_PERIOD_DAYS} days")).at("period"),
            );
        }
        let first = local_date(now, zone)
            .checked_sub_days(chrono::Days::new(u64::from(days - 1)))
            .ok_or_else(|| InvalidValue::new("is out of range").at("period"))?;
        AnalyticsPeriod::since(first, now, zone)
    }

    /// From the start of the local day `first` up to `now`. `first` must not
    /// be after today, nor more than [`MAX_PERIOD_DAYS`] days back (errors
    /// name `period`).
    pub(crate) fn since(
        first: NaiveDate,
        now: DateTime<Utc>,
        zone: Tz,
    ) -> Result<AnalyticsPeriod, InvalidValue> {
        let today = local_date(now, zone);
        if first > today || day_count(first, today) > i64::from(MAX_PERIOD_DAYS) {
            return Err(
                InvalidValue::new(format!("must cover 1 to {MAX_PERIOD_DAYS} days")).at("period"),
            );
        }
        Ok(AnalyticsPeriod {
            start: start_of_local_day(first, zone),
            end: now,
            first_day: first,
            last_day: today,
            zone,
        })
    }

    /// The first instant of the period.
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// The first instant after the period.
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    pub fn first_day(&self) -> NaiveDate {
        self.first_day
    }

    pub fn last_day(&self) -> NaiveDate {
        self.last_day
    }

    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The longest length, in seconds and at most a day, of the pieces the
    /// period can be cut into from its start so that no piece holds instants
    /// of two local days: the greatest common divisor of a day's 86,400
    /// seconds and each local midnight's distance from the start. A database
    /// can count facts per piece and each piece still belongs to one day.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use cartback_domain::{AnalyticsPeriod, Tz};
    /// let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
    /// let days = |first, last, zone| AnalyticsPeriod::local_days(first, last, zone).unwrap();
    /// // No clock change: whole days.
    /// assert_eq!(days(day(1, 1), day(1, 31), Tz::Asia__Kathmandu).piece_seconds(), 86_400);
    /// // Amsterdam's spring switch makes a 23-hour day: hours.
    /// assert_eq!(days(day(3, 28), day(3, 30), Tz::Europe__Amsterdam).piece_seconds(), 3_600);
    /// // Lord Howe Island moves its clocks by half an hour.
    /// assert_eq!(days(day(4, 4), day(4, 6), Tz::Australia__Lord_Howe).piece_seconds(), 1_800);
    /// ```
    pub fn piece_seconds(&self) -> i64 {
        self.days().skip(1).fold(86_400, |piece, date| {
            let offset = (start_of_local_day(date, self.zone) - self.start).num_seconds();
            greatest_common_divisor(piece, offset)
        })
    }

    /// Whether `at` lies inside `[start, end)`.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }

    /// Every local day of the period, in order.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let count = usize::try_from(day_count(self.first_day, self.last_day)).unwrap_or(0);
        self.first_day.iter_days().take(count)
    }

    /// The position of `at`'s local day among [`days`](Self::days); None outside
    /// the period.
    pub fn day_index(&self, at: DateTime<Utc>) -> Option<usize> {
        if !self.contains(at) {
            return None;
        }
        let date = local_date(at, self.zone);
        if date < self.first_day || date > self.last_day {
            return None;
        }
        usize::try_from((date - self.first_day).num_days()).ok()
    }
}

fn greatest_common_divisor(a: i64, b: i64) -> i64 {
    let (mut a, mut b) = (a.abs(), b.abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// How an order was attributed when it was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderAttribution {
    /// It closed a cart after a recovery email.
    Recovered,
    /// It closed a cart that had no recovery email to thank.
    Converted,
    /// No cart matched it.
    Unmatched,
    /// Its cart was already closed.
    AlreadyClosed,
}

impl OrderAttribution {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderAttribution::Recovered => "recovered",
            OrderAttribution::Converted => "converted",
            OrderAttribution::Unmatched => "unmatched",
            OrderAttribution::AlreadyClosed => "already_closed",
        }
    }

    pub fn parse(text: &str) -> Result<OrderAttribution, InvalidValue> {
        Ok(match text {
            "recovered" => OrderAttribution::Recovered,
            "converted" => OrderAttribution::Converted,
            "unmatched" => OrderAttribution::Unmatched,
            "already_closed" => OrderAttribution::AlreadyClosed,
            other => {
                let shown: String = other.chars().take(30).collect();
                return Err(InvalidValue::new(format!(
                    "unknown order attribution {shown:?}"
                )));
            }
        })
    }
}

/// A cart went abandoned (one per `abandoned` history event: a cart abandoned
/// again in a later cycle counts again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbandonedFact {
    pub at: DateTime<Utc>,
    /// The cart's total; None when it is not known.
    pub cart_value: Option<Money>,
}

/// An order was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderFact {
    pub at: DateTime<Utc>,
    pub attribution: OrderAttribution,
    /// None when the shop sent no total.
    pub total: Option<Money>,
}

/// A recovery email went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendFact {
    /// 0-based step of the policy, as stored.
    pub step: u32,
    pub sent_at: DateTime<Utc>,
    /// The shopper followed its link at least once.
    pub clicked: bool,
    /// The first order at or after `sent_at` that recovered the cart, if any.
    pub recovered_at: Option<DateTime<Utc>>,
    /// The cart's next email after this one, if any.
    pub next_sent_at: Option<DateTime<Utc>>,
}

impl SendFact {
    /// Whether this was the cart's last email before the order that recovered
    /// it: the email a recovery is credited to.
    pub fn credited_with_recovery(&self) -> bool {
        self.recovered_at.is_some_and(|recovered| {
            recovered >= self.sent_at && self.next_sent_at.is_none_or(|next| next > recovered)
        })
    }
}

/// Everything a report is computed from. Facts outside the period are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnalyticsInput {
    pub abandoned: Vec<AbandonedFact>,
    pub orders: Vec<OrderFact>,
    /// Emails sent in the period.
    pub sends: Vec<SendFact>,
    /// Steps of the tenant's policy: the funnel lists at least these, with zeros.
    pub steps: u32,
}

/// Abandonments counted together, all on one local day: `count` `abandoned`
/// events at `at` or near it, whose known cart values add up to `value` (None
/// when none of them has a value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbandonedTally {
    /// An instant of the group's local day (the group's first, say).
    pub at: DateTime<Utc>,
    pub count: u64,
    pub value: Option<Money>,
}

/// Orders of one attribution and one local day counted together; `total`
/// adds up the known totals (None when none of them has one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderTally {
    /// An instant of the group's local day.
    pub at: DateTime<Utc>,
    pub attribution: OrderAttribution,
    pub count: u64,
    pub total: Option<Money>,
}

/// What a report is computed from when the facts were counted in groups
/// rather than listed ([`analyze_tallies`]). A currency's amounts are in
/// groups of their own: one tally never mixes currencies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnalyticsTallies {
    pub abandoned: Vec<AbandonedTally>,
    pub orders: Vec<OrderTally>,
    /// The emails sent in the period, counted per step (a step may come more
    /// than once; its entries are added up).
    pub funnel: Vec<FunnelStep>,
    /// Steps of the tenant's policy: the funnel lists at least these, with zeros.
    pub steps: u32,
}

/// The totals of a whole period.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Abandonment events.
    pub abandoned: u64,
    /// Orders attributed as recovered.
    pub recovered: u64,
    /// Orders attributed as converted (no recovery email involved).
    pub converted: u64,
    /// `recovered / abandoned`, rounded to 4 decimals; 0 without abandonments.
    /// Orders may recover carts abandoned before the period, so it can exceed 1.
    pub recovery_rate: f64,
    /// The abandoned carts' totals, one amount per currency, by currency code.
    pub abandoned_value: Vec<Money>,
    /// The recovered orders' totals, one amount per currency, by currency code.
    pub recovered_revenue: Vec<Money>,
}

/// The totals of one local day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyStats {
    pub date: NaiveDate,
    pub abandoned: u64,
    pub recovered: u64,
    pub converted: u64,
    pub abandoned_value: Vec<Money>,
    pub recovered_revenue: Vec<Money>,
}

/// What one step of the sequence did with the emails sent in the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunnelStep {
    /// Index of the step in the policy (0 for the first email); the API and
    /// the dashboard show it counted from 1.
    pub step_index: u32,
    pub sent: u64,
    /// Emails whose link was followed at least once.
    pub clicked: u64,
    /// Emails that were their cart's last before the order that recovered it
    /// (the order may come after the period).
    pub recovered: u64,
}

/// A whole report.
#[derive(Debug, Clone, PartialEq)]
pub struct Analytics {
    pub summary: Summary,
    /// One entry per local day of the period, days without activity included.
    pub daily: Vec<DailyStats>,
    /// One entry per step, in step order.
    pub funnel: Vec<FunnelStep>,
}

/// Sums per currency. Totals saturate instead of overflowing (an i64 of minor
/// units is far beyond any shop's revenue).
#[derive(Debug, Clone, Default)]
struct Totals(BTreeMap<&'static str, Money>);

impl Totals {
    fn add(&mut self, amount: Money) {
        let entry = self
            .0
            .entry(amount.currency().code())
            .or_insert_with(|| Money::zero(amount.currency()));
        *entry = Money::from_minor(
            entry.minor().saturating_add(amount.minor()),
            entry.currency(),
        );
    }

    fn into_list(self) -> Vec<Money> {
        self.0.into_values().collect()
    }
}

#[derive(Debug, Clone, Default)]
struct Tally {
    abandoned: u64,
    recovered: u64,
    converted: u64,
    abandoned_value: Totals,
    recovered_revenue: Totals,
}

impl Tally {
    fn abandonments(&mut self, tally: &AbandonedTally) {
        self.abandoned = self.abandoned.saturating_add(tally.count);
        if let Some(value) = tally.value {
            self.abandoned_value.add(value);
        }
    }

    fn orders(&mut self, tally: &OrderTally) {
        match tally.attribution {
            OrderAttribution::Recovered => {
                self.recovered = self.recovered.saturating_add(tally.count);
                if let Some(total) = tally.total {
                    self.recovered_revenue.add(total);
                }
            }
            OrderAttribution::Converted => {
                self.converted = self.converted.saturating_add(tally.count);
            }
            OrderAttribution::Unmatched | OrderAttribution::AlreadyClosed => {}
        }
    }
}

/// `part / whole` rounded to 4 decimals; 0 when `whole` is 0.
pub fn rate(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    // Counts are far below 2^52, where u64 → f64 is exact.
    let ratio = part as f64 / whole as f64;
    (ratio * 10_000.0).round() / 10_000.0
}

/// Computes the report of `period` from `input`: the definition of every
/// figure. Each fact counts as a tally of one (see [`analyze_tallies`]).
pub fn analyze(period: &AnalyticsPeriod, input: &AnalyticsInput) -> Analytics {
    let tallies = AnalyticsTallies {
        abandoned: input
            .abandoned
            .iter()
            .map(|fact| AbandonedTally {
                at: fact.at,
                count: 1,
                value: fact.cart_value,
            })
            .collect(),
        orders: input
            .orders
            .iter()
            .map(|fact| OrderTally {
                at: fact.at,
                attribution: fact.attribution,
                count: 1,
                total: fact.total,
            })
            .collect(),
        funnel: input
            .sends
            .iter()
            .filter(|send| period.contains(send.sent_at))
            .map(|send| FunnelStep {
                step_index: send.step,
                sent: 1,
                clicked: u64::from(send.clicked),
                recovered: u64::from(send.credited_with_recovery()),
            })
            .collect(),
        steps: input.steps,
    };
    analyze_tallies(period, &tallies)
}

/// Computes the report of `period` from facts already counted in groups (a
/// database's `GROUP BY`): the same figures [`analyze`] gives for the facts
/// the groups were counted from, as long as every group lies within one local
/// day. Tallies outside the period are ignored; funnel entries are added up
/// per step.
///
/// ```
/// use chrono::{NaiveDate, TimeZone, Utc};
/// use cartback_domain::{
///     AbandonedTally, AnalyticsPeriod, AnalyticsTallies, Currency, FunnelStep, Money,
///     OrderAttribution, OrderTally, Tz, analyze_tallies,
/// };
/// let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
/// let period = AnalyticsPeriod::local_days(day(28), day(29), Tz::Europe__Amsterdam).unwrap();
/// let tallies = AnalyticsTallies {
///     // Three carts abandoned in the hour from 00:00 on the 29th, Amsterdam time.
///     abandoned: vec![AbandonedTally {
///         at: Utc.with_ymd_and_hms(2026, 3, 28, 23, 0, 0).unwrap(),
///         count: 3,
///         value: Some(Money::from_minor(12_000, Currency::EUR)),
///     }],
///     orders: vec![OrderTally {
///         at: Utc.with_ymd_and_hms(2026, 3, 29, 9, 0, 0).unwrap(),
///         attribution: OrderAttribution::Recovered,
///         count: 1,
///         total: Some(Money::from_minor(5000, Currency::EUR)),
///     }],
///     funnel: vec![FunnelStep { step_index: 0, sent: 3, clicked: 2, recovered: 1 }],
///     steps: 2,
/// };
/// let report = analyze_tallies(&period, &tallies);
/// assert_eq!((report.daily[1].abandoned, report.summary.recovered), (3, 1));
/// assert_eq!(report.summary.recovery_rate, 0.3333);
/// assert_eq!(report.funnel.len(), 2);
/// ```
pub fn analyze_tallies(period: &AnalyticsPeriod, tallies: &AnalyticsTallies) -> Analytics {
    let days: Vec<NaiveDate> = period.days().collect();
    let mut total = Tally::default();
    let mut daily: Vec<Tally> = vec![Tally::default(); days.len()];

    for tally in &tallies.abandoned {
        if let Some(day) = period.day_index(tally.at) {
            total.abandonments(tally);
            daily[day].abandonments(tally);
        }
    }
    for tally in &tallies.orders {
        if let Some(day) = period.day_index(tally.at) {
            total.orders(tally);
            daily[day].orders(tally);
        }
    }

    let mut funnel: BTreeMap<u32, FunnelStep> = (0..tallies.steps)
        .map(|step| (step, funnel_step(step)))
        .collect();
    for counted in &tallies.funnel {
        let entry = funnel
            .entry(counted.step_index)
            .or_insert_with(|| funnel_step(counted.step_index));
        entry.sent = entry.sent.saturating_add(counted.sent);
        entry.clicked = entry.clicked.saturating_add(counted.clicked);
        entry.recovered = entry.recovered.saturating_add(counted.recovered);
    }

    Analytics {
        summary: Summary {
            abandoned: total.abandoned,
            recovered: total.recovered,
            converted: total.converted,
            recovery_rate: rate(total.recovered, total.abandoned),
            abandoned_value: total.abandoned_value.into_list(),
            recovered_revenue: total.recovered_revenue.into_list(),
        },
        daily: days
            .into_iter()
            .zip(daily)
            .map(|(date, tally)| DailyStats {
                date,
                abandoned: tally.abandoned,
                recovered: tally.recovered,
                converted: tally.converted,
                abandoned_value: tally.abandoned_value.into_list(),
                recovered_revenue: tally.recovered_revenue.into_list(),
            })
            .collect(),
        funnel: funnel.into_values().collect(),
    }
}

fn funnel_step(step_index: u32) -> FunnelStep {
    FunnelStep {
        step_index,
        sent: 0,
        clicked: 0,
        recovered: 0,
    }
}

/// The interval a count of abandoned and recovered carts covers, from unix
/// seconds the caller may leave out (the rules of Retargeting's partner API):
///
/// - neither: the last [`MAX_COUNT_INTERVAL_DAYS`] days up to `now`;
/// - `date_from` alone: from it up to `now`;
/// - `date_to` alone: refused, `date_from` is required with it;
/// - `date_from` after `date_to`: refused (named `date_to`; `date_from` when
///   `date_to` defaulted to now);
/// - longer than [`MAX_COUNT_INTERVAL_DAYS`] days: refused, named `date_to` when
///   the caller gave it, else `date_from`.
///
/// The interval is `[from, to)`.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use cartback_domain::count_interval;
/// let now = Utc.with_ymd_and_hms(2026, 3, 30, 12, 0, 0).unwrap();
/// assert_eq!(count_interval(None, None, now).unwrap(), (now - TimeDelta::days(30), now));
/// let error = count_interval(None, Some(now.timestamp()), now).unwrap_err();
/// assert_eq!(error.field.as_deref(), Some("date_from"));
/// ```
pub fn count_interval(
    date_from: Option<i64>,
    date_to: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), InvalidValue> {
    let instant = |seconds: i64, field: &str| {
        if seconds < 0 {
            return Err(
                InvalidValue::new("must be a unix timestamp (seconds since 1970)").at(field),
            );
        }
        crate::bounds::instant_from_seconds(seconds).map_err(|e| InvalidValue::new(e).at(field))
    };
    let longest = TimeDelta::days(MAX_COUNT_INTERVAL_DAYS);
    let (from, to, to_given) = match (date_from, date_to) {
        (None, None) => return Ok((now - longest, now)),
        (None, Some(_)) => {
            return Err(InvalidValue::new("is required when date_to is present").at("date_from"));
        }
        (Some(from), None) => (instant(from, "date_from")?, now, false),
        (Some(from), Some(to)) => (instant(from, "date_from")?, instant(to, "date_to")?, true),
    };
    if from > to {
        return Err(if to_given {
            InvalidValue::new("must not be before date_from").at("date_to")
        } else {
            InvalidValue::new("must not be in the future when date_to is absent").at("date_from")
        });
    }
    if to - from > longest {
        let field = if to_given { "date_to" } else { "date_from" };
        return Err(InvalidValue::new(format!(
            "the interval between date_from and date_to must not exceed {MAX_COUNT_INTERVAL_DAYS} days"
        ))
        .at(field));
    }
    Ok((from, to))
}

/// One amount per currency, ordered by currency code, from any mix of amounts.
pub fn totals_by_currency(amounts: impl IntoIterator<Item = Money>) -> Vec<Money> {
    let mut totals = Totals::default();
    for amount in amounts {
        totals.add(amount);
    }
    totals.into_list()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::currency::Currency;
    use chrono::Timelike;
    use proptest::prelude::*;

    pub(crate) const AMSTERDAM: Tz = Tz::Europe__Amsterdam;

    pub(crate) fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    pub(crate) fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn eur(minor: i64) -> Money {
        Money::from_minor(minor, Currency::EUR)
    }

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    #[test]
    fn local_days_follow_daylight_saving() {
        let spring =
            AnalyticsPeriod::local_days(day(2026, 3, 29), day(2026, 3, 29), AMSTERDAM).unwrap();
        assert_eq!(spring.start(), utc(2026, 3, 28, 23, 0));
        assert_eq!(spring.end(), utc(2026, 3, 29, 22, 0));
        assert_eq!((spring.end() - spring.start()).num_hours(), 23);

        let autumn =
            AnalyticsPeriod::local_days(day(2026, 10, 25), day(2026, 10, 25), AMSTERDAM).unwrap();
        assert_eq!(autumn.start(), utc(2026, 10, 24, 22, 0));
        assert_eq!(autumn.end(), utc(2026, 10, 25, 23, 0));
        assert_eq!((autumn.end() - autumn.start()).num_hours(), 25);
    }

    #[test]
    fn a_day_that_skips_midnight_starts_when_the_gap_ends() {
        // São Paulo moved its clocks from 00:00 to 01:00 on 2018-11-04.
        let zone = Tz::America__Sao_Paulo;
        let start = start_of_local_day(day(2018, 11, 4), zone);
        assert_eq!(start, utc(2018, 11, 4, 3, 0));
        let local = start.with_timezone(&zone);
        assert_eq!((local.date_naive(), local.hour()), (day(2018, 11, 4), 1));
        // The instant before still belongs to the day before.
        assert_eq!(
            local_date(start - TimeDelta::seconds(1), zone),
            day(2018, 11, 3)
        );
    }

    #[test]
    fn periods_are_bounded() {
        let first = day(2026, 1, 1);
        assert!(AnalyticsPeriod::local_days(first, day(2027, 1, 1), Tz::UTC).is_ok()); // 366 days
        let error = AnalyticsPeriod::local_days(first, day(2027, 1, 2), Tz::UTC).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("endDate"));
        let error = AnalyticsPeriod::local_days(first, day(2025, 12, 31), Tz::UTC).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("endDate"));
        let now = utc(2026, 3, 30, 12, 0);
        assert!(AnalyticsPeriod::last_days(0, now, Tz::UTC).is_err());
        assert!(AnalyticsPeriod::last_days(367, now, Tz::UTC).is_err());
        let one = AnalyticsPeriod::last_days(1, now, AMSTERDAM).unwrap();
        assert_eq!(one.start(), utc(2026, 3, 29, 22, 0));
        assert_eq!(one.days().collect::<Vec<_>>(), vec![day(2026, 3, 30)]);
    }

    #[test]
    fn last_days_start_at_local_midnight() {
        // 23:30 UTC on the 29th is already the 30th in Amsterdam (CEST, +2).
        let now = utc(2026, 3, 29, 23, 30);
        let period = AnalyticsPeriod::last_days(2, now, AMSTERDAM).unwrap();
        assert_eq!(period.first_day(), day(2026, 3, 29));
        assert_eq!(period.last_day(), day(2026, 3, 30));
        assert_eq!(period.start(), utc(2026, 3, 28, 23, 0));
        assert_eq!(period.end(), now);
    }

    #[test]
    fn report_around_the_spring_switch() {
        let period =
            AnalyticsPeriod::local_days(day(2026, 3, 28), day(2026, 3, 30), AMSTERDAM).unwrap();
        let input = AnalyticsInput {
            abandoned: vec![
                // 28th 23:00 local.
                AbandonedFact {
                    at: utc(2026, 3, 28, 22, 0),
                    cart_value: Some(eur(1000)),
                },
                // 29th 00:30 local.
                AbandonedFact {
                    at: utc(2026, 3, 28, 23, 30),
                    cart_value: Some(usd(2500)),
                },
                // 29th 23:59 local (CEST).
                AbandonedFact {
                    at: utc(2026, 3, 29, 21, 59),
                    cart_value: Some(eur(300)),
                },
                // 30th 00:30 local.
                AbandonedFact {
                    at: utc(2026, 3, 29, 22, 30),
                    cart_value: None,
                },
                // Before the period (27th 23:59 local) and after it.
                AbandonedFact {
                    at: utc(2026, 3, 27, 22, 59),
                    cart_value: Some(eur(9)),
                },
                AbandonedFact {
                    at: utc(2026, 3, 30, 22, 0),
                    cart_value: Some(eur(9)),
                },
            ],
            orders: vec![
                OrderFact {
                    at: utc(2026, 3, 29, 8, 0),
                    attribution: OrderAttribution::Recovered,
                    total: Some(usd(2500)),
                },
                OrderFact {
                    at: utc(2026, 3, 29, 22, 15),
                    attribution: OrderAttribution::Recovered,
                    total: Some(eur(300)),
                },
                OrderFact {
                    at: utc(2026, 3, 29, 22, 20),
                    attribution: OrderAttribution::Recovered,
                    total: None,
                },
                OrderFact {
                    at: utc(2026, 3, 29, 9, 0),
                    attribution: OrderAttribution::Converted,
                    total: Some(eur(700)),
                },
                OrderFact {
                    at: utc(2026, 3, 29, 9, 0),
                    attribution: OrderAttribution::Unmatched,
                    total: Some(eur(700)),
                },
            ],
            sends: vec![],
            steps: 0,
        };
        let report = analyze(&period, &input);
        let summary = &report.summary;
        assert_eq!(
            (summary.abandoned, summary.recovered, summary.converted),
            (4, 3, 1)
        );
        assert_eq!(summary.recovery_rate, 0.75);
        assert_eq!(summary.abandoned_value, vec![eur(1300), usd(2500)]);
        assert_eq!(summary.recovered_revenue, vec![eur(300), usd(2500)]);

        let rows: Vec<_> = report
            .daily
            .iter()
            .map(|d| (d.date, d.abandoned, d.recovered, d.converted))
            .collect();
        assert_eq!(
            rows,
            vec![
                (day(2026, 3, 28), 1, 0, 0),
                (day(2026, 3, 29), 2, 1, 1),
                (day(2026, 3, 30), 1, 2, 0),
            ]
        );
        assert_eq!(report.daily[1].recovered_revenue, vec![usd(2500)]);
        assert_eq!(report.daily[1].abandoned_value, vec![eur(300), usd(2500)]);
        assert_eq!(report.daily[2].recovered_revenue, vec![eur(300)]);
        assert!(report.daily[2].abandoned_value.is_empty());
        assert!(report.funnel.is_empty());
    }

    #[test]
    fn funnel_credits_the_last_email_before_the_order() {
        let period =
            AnalyticsPeriod::local_days(day(2026, 3, 1), day(2026, 3, 31), Tz::UTC).unwrap();
        let send = |step, sent_at, clicked, recovered_at, next_sent_at| SendFact {
            step,
            sent_at,
            clicked,
            recovered_at,
            next_sent_at,
        };
        let order = utc(2026, 3, 5, 12, 0);
        let input = AnalyticsInput {
            sends: vec![
                // Cart A: steps 0 and 1, then an order: step 1 gets the credit.
                send(
                    0,
                    utc(2026, 3, 2, 10, 0),
                    true,
                    Some(order),
                    Some(utc(2026, 3, 3, 10, 0)),
                ),
                send(1, utc(2026, 3, 3, 10, 0), false, Some(order), None),
                // Cart B: step 0, order, then (a later cycle) another step 0.
                send(
                    0,
                    utc(2026, 3, 4, 10, 0),
                    true,
                    Some(order),
                    Some(utc(2026, 3, 20, 0, 0)),
                ),
                send(0, utc(2026, 3, 20, 0, 0), false, None, None),
                // Cart C: step 0 in the period, step 1 after it, then the order:
                // step 1 is credited, so step 0 is not.
                send(
                    0,
                    utc(2026, 3, 31, 10, 0),
                    false,
                    Some(utc(2026, 4, 3, 0, 0)),
                    Some(utc(2026, 4, 1, 10, 0)),
                ),
                // Sent outside the period: ignored.
                send(2, utc(2026, 4, 2, 0, 0), true, None, None),
            ],
            steps: 3,
            ..AnalyticsInput::default()
        };
        let report = analyze(&period, &input);
        let rows: Vec<_> = report
            .funnel
            .iter()
            .map(|f| (f.step_index, f.sent, f.clicked, f.recovered))
            .collect();
        assert_eq!(rows, vec![(0, 4, 2, 1), (1, 1, 0, 1), (2, 0, 0, 0)]);
    }

    #[test]
    fn rates_round_to_four_decimals() {
        assert_eq!(rate(0, 0), 0.0);
        assert_eq!(rate(5, 0), 0.0);
        assert_eq!(rate(1, 3), 0.3333);
        assert_eq!(rate(2, 3), 0.6667);
        assert_eq!(rate(3, 2), 1.5);
    }

    #[test]
    fn attribution_names_round_trip() {
        for attribution in [
            OrderAttribution::Recovered,
            OrderAttribution::Converted,
            OrderAttribution::Unmatched,
            OrderAttribution::AlreadyClosed,
        ] {
            assert_eq!(
                OrderAttribution::parse(attribution.as_str()),
                Ok(attribution)
            );
        }
        assert!(OrderAttribution::parse("lost").is_err());
    }

    #[test]
    fn totals_never_mix_currencies() {
        let jpy = Currency::parse("JPY").unwrap();
        let list = totals_by_currency([usd(5), eur(1), Money::from_minor(3, jpy), usd(7), eur(2)]);
        assert_eq!(list, vec![eur(3), Money::from_minor(3, jpy), usd(12)]);
        let codes: Vec<_> = list.iter().map(|m| m.currency().code()).collect();
        assert_eq!(codes, ["EUR", "JPY", "USD"]);
    }

    #[test]
    fn count_interval_follows_the_seed_rules() {
        let now = utc(2026, 3, 30, 12, 0);
        let ts = |at: DateTime<Utc>| at.timestamp();
        let field = |r: Result<_, InvalidValue>| r.unwrap_err().field.unwrap();

        assert_eq!(
            count_interval(None, None, now).unwrap(),
            (utc(2026, 2, 28, 12, 0), now)
        );
        let from = utc(2026, 3, 1, 0, 0);
        assert_eq!(
            count_interval(Some(ts(from)), None, now).unwrap(),
            (from, now)
        );
        let to = utc(2026, 3, 31, 0, 0);
        assert_eq!(
            count_interval(Some(ts(from)), Some(ts(to)), now).unwrap(),
            (from, to)
        );
        // Exactly 30 days is fine, a second more is not.
        let to = from + TimeDelta::days(30);
        assert!(count_interval(Some(ts(from)), Some(ts(to)), now).is_ok());
        assert_eq!(
            field(count_interval(Some(ts(from)), Some(ts(to) + 1), now)),
            "date_to"
        );
        assert_eq!(
            field(count_interval(Some(ts(now) - 31 * 86_400), None, now)),
            "date_from"
        );
        assert_eq!(field(count_interval(None, Some(ts(now)), now)), "date_from");
        assert_eq!(
            field(count_interval(Some(ts(to)), Some(ts(from)), now)),
            "date_to"
        );
        assert_eq!(
            field(count_interval(Some(ts(now) + 1), None, now)),
            "date_from"
        );
        assert_eq!(field(count_interval(Some(-1), Some(5), now)), "date_from");
        assert_eq!(
            field(count_interval(Some(0), Some(i64::MAX), now)),
            "date_to"
        );
        // An empty interval is allowed.
        assert_eq!(
            count_interval(Some(ts(now)), Some(ts(now)), now).unwrap(),
            (now, now)
        );
    }

    fn zone() -> impl Strategy<Value = Tz> {
        proptest::sample::select(vec![
            Tz::UTC,
            Tz::Europe__Amsterdam,
            Tz::America__New_York,
            Tz::America__Sao_Paulo,
            Tz::Australia__Lord_Howe,
            Tz::Asia__Kolkata,
            Tz::Pacific__Chatham,
        ])
    }

    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        // 2015..2030.
        (1_420_070_400i64..1_893_456_000).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
    }

    proptest! {
        #[test]
        fn every_instant_of_a_day_belongs_to_it(at in instant(), zone in zone()) {
            let date = local_date(at, zone);
            let start = start_of_local_day(date, zone);
            let next = start_of_local_day(date.succ_opt().unwrap(), zone);
            prop_assert!(start <= at && at < next);
            prop_assert_eq!(local_date(start, zone), date);
            prop_assert_eq!(local_date(start - TimeDelta::seconds(1), zone), date.pred_opt().unwrap());
            let hours = (next - start).num_minutes();
            prop_assert!((22 * 60..=26 * 60).contains(&hours), "{} minutes", hours);
        }

        #[test]
        fn daily_rows_add_up_to_the_summary(
            first in instant(),
            days in 1u32..40,
            zone in zone(),
            abandoned in proptest::collection::vec((0i64..45 * 86_400, 0i64..10_000, any::<bool>()), 0..40),
            orders in proptest::collection::vec((0i64..45 * 86_400, 0i64..10_000, 0u8..4), 0..40),
        ) {
            let first_day = local_date(first, zone);
            let last_day = first_day + TimeDelta::days(i64::from(days) - 1);
            let period = AnalyticsPeriod::local_days(first_day, last_day, zone).unwrap();
            let base = period.start() - TimeDelta::days(2);
            let input = AnalyticsInput {
                abandoned: abandoned.iter().map(|&(offset, minor, euro)| AbandonedFact {
                    at: base + TimeDelta::seconds(offset),
                    cart_value: Some(if euro { eur(minor) } else { usd(minor) }),
                }).collect(),
                orders: orders.iter().map(|&(offset, minor, kind)| OrderFact {
                    at: base + TimeDelta::seconds(offset),
                    attribution: match kind {
                        0 => OrderAttribution::Recovered,
                        1 => OrderAttribution::Converted,
                        2 => OrderAttribution::Unmatched,
                        _ => OrderAttribution::AlreadyClosed,
                    },
                    total: Some(if minor % 2 == 0 { eur(minor) } else { usd(minor) }),
                }).collect(),
                ..AnalyticsInput::default()
            };
            let report = analyze(&period, &input);
            prop_assert_eq!(report.daily.len(), days as usize);
            for (row, date) in report.daily.iter().zip(period.days()) {
                prop_assert_eq!(row.date, date);
            }
            let inside = |at: &DateTime<Utc>| period.start() <= *at && *at < period.end();
            let expected_abandoned = input.abandoned.iter().filter(|f| inside(&f.at)).count() as u64;
            prop_assert_eq!(report.summary.abandoned, expected_abandoned);
            prop_assert_eq!(report.daily.iter().map(|d| d.abandoned).sum::<u64>(), expected_abandoned);
            prop_assert_eq!(report.daily.iter().map(|d| d.recovered).sum::<u64>(), report.summary.recovered);
            prop_assert_eq!(report.daily.iter().map(|d| d.converted).sum::<u64>(), report.summary.converted);
            let daily_revenue = totals_by_currency(report.daily.iter().flat_map(|d| d.recovered_revenue.clone()));
            prop_assert_eq!(daily_revenue, report.summary.recovered_revenue.clone());
            let daily_value = totals_by_currency(report.daily.iter().flat_map(|d| d.abandoned_value.clone()));
            prop_assert_eq!(daily_value, report.summary.abandoned_value.clone());
            prop_assert!(report.summary.recovery_rate >= 0.0);
        }

        #[test]
        fn no_piece_holds_two_days(first in instant(), days in 1u32..60, zone in zone()) {
            let first_day = local_date(first, zone);
            let last_day = first_day + TimeDelta::days(i64::from(days) - 1);
            let period = AnalyticsPeriod::local_days(first_day, last_day, zone).unwrap();
            let piece = period.piece_seconds();
            prop_assert!((1..=86_400).contains(&piece));
            let mut at = period.start();
            while at < period.end() {
                let last = at + TimeDelta::seconds(piece) - TimeDelta::microseconds(1);
                let last = last.min(period.end() - TimeDelta::microseconds(1));
                prop_assert_eq!(period.day_index(at), period.day_index(last), "piece at {}", at);
                at += TimeDelta::seconds(piece);
            }
        }

        #[test]
        fn each_recovery_is_credited_to_one_email(
            gaps in proptest::collection::vec(1i64..100_000, 1..6),
            order_after in 0i64..500_000,
        ) {
            // One cart's emails, in order, and one recovering order.
            let start = utc(2026, 1, 1, 0, 0);
            let mut times = Vec::new();
            let mut at = start;
            for gap in &gaps {
                at += TimeDelta::seconds(*gap);
                times.push(at);
            }
            let order = times[0] + TimeDelta::seconds(order_after);
            let sends: Vec<SendFact> = times.iter().enumerate().map(|(i, &sent_at)| SendFact {
                step: i as u32,
                sent_at,
                clicked: false,
                recovered_at: (order >= sent_at).then_some(order),
                next_sent_at: times.get(i + 1).copied(),
            }).collect();
            let credited: Vec<u32> = sends.iter().filter(|s| s.credited_with_recovery()).map(|s| s.step).collect();
            let last_before = times.iter().rposition(|t| *t <= order).map(|i| i as u32);
            prop_assert_eq!(credited, last_before.into_iter().collect::<Vec<_>>());
        }
    }
}
