//! From two groups' carts to the figures an experiment reports: rates,
//! revenue per cart in each currency, the lift with its interval, the
//! incremental carts and revenue, and how many carts a clear answer needs.

use std::collections::BTreeMap;

use serde::Serialize;

use super::distributions::normal_quantile;
use super::intervals::{
    CONFIDENCE, Interval, SampleMoments, Verdict, newcombe_interval, ratio_interval, welch_interval,
};
use crate::currency::Currency;

/// The power [`sample_size`] plans for: the chance of a significant result
/// when the true lift is the one asked about.
pub const POWER: f64 = 0.8;

/// The recovered revenue of one group's carts in one currency: how many carts
/// are priced in it, and the sum and sum of squares of their recovered
/// amounts (0 for a cart that did not come back), in minor units. Enough for
/// a mean and a variance, and what a database can aggregate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RevenueTally {
    pub carts: u64,
    pub sum_minor: i128,
    pub sum_squares_minor: u128,
}

impl RevenueTally {
    pub fn add(&mut self, recovered_minor: i64) {
        self.carts += 1;
        self.sum_minor += i128::from(recovered_minor);
        self.sum_squares_minor += u128::from(recovered_minor.unsigned_abs()).pow(2);
    }

    /// Adds another tally's carts (two groups counted as one).
    pub fn merge(&mut self, other: &RevenueTally) {
        self.carts += other.carts;
        self.sum_minor += other.sum_minor;
        self.sum_squares_minor = self
            .sum_squares_minor
            .saturating_add(other.sum_squares_minor);
    }

    /// Mean recovered revenue per cart, in minor units; None with no carts.
    pub fn per_cart_minor(&self) -> Option<f64> {
        (self.carts > 0).then(|| self.sum_minor as f64 / self.carts as f64)
    }

    /// Size, mean and sample variance; None with no carts. The variance is
    /// computed from the exact integer `n·Σx² − (Σx)²` while that fits in
    /// 128 bits (always, for realistic shops), so no cancellation creeps in.
    pub fn moments(&self) -> Option<SampleMoments> {
        let mean = self.per_cart_minor()?;
        let n = self.carts;
        if n < 2 {
            return Some(SampleMoments {
                n,
                mean,
                variance: 0.0,
            });
        }
        let exact = u128::from(n)
            .checked_mul(self.sum_squares_minor)
            .zip(
                self.sum_minor
                    .unsigned_abs()
                    .checked_mul(self.sum_minor.unsigned_abs()),
            )
            .map(|(scaled_squares, square_of_sum)| {
                scaled_squares.saturating_sub(square_of_sum) as f64
            });
        let n_f = n as f64;
        let numerator = exact.unwrap_or_else(|| {
            (n_f * self.sum_squares_minor as f64 - (self.sum_minor as f64).powi(2)).max(0.0)
        });
        Some(SampleMoments {
            n,
            mean,
            variance: numerator / (n_f * (n_f - 1.0)),
        })
    }
}

/// One group of an experiment, tallied: its carts, how many were recovered
/// (the shopper ordered within the attribution window, with or without an
/// email), and recovered revenue per currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupTally {
    pub carts: u64,
    pub recovered: u64,
    pub revenue: BTreeMap<Currency, RevenueTally>,
}

impl GroupTally {
    /// Counts one cart priced in `currency`, with the revenue it brought back
    /// when it was recovered.
    pub fn add_cart(&mut self, currency: Currency, recovered_minor: Option<i64>) {
        self.carts += 1;
        if recovered_minor.is_some() {
            self.recovered += 1;
        }
        self.revenue
            .entry(currency)
            .or_default()
            .add(recovered_minor.unwrap_or(0));
    }

    /// Adds another group's carts: several groups counted as one (every
    /// emailed group of a holdout experiment, against the holdout).
    ///
    /// ```
    /// use cartback_domain::{Currency, GroupTally};
    /// let (mut a, mut b) = (GroupTally::default(), GroupTally::default());
    /// a.add_cart(Currency::EUR, Some(500));
    /// b.add_cart(Currency::EUR, None);
    /// b.add_cart(Currency::USD, Some(900));
    /// a.merge(&b);
    /// assert_eq!((a.carts, a.recovered), (3, 2));
    /// assert_eq!(a.revenue[&Currency::EUR].carts, 2);
    /// ```
    pub fn merge(&mut self, other: &GroupTally) {
        self.carts += other.carts;
        self.recovered += other.recovered;
        for (currency, revenue) in &other.revenue {
            self.revenue.entry(*currency).or_default().merge(revenue);
        }
    }

    /// Recovered carts over carts; None with no carts, or with more
    /// recovered than carts (aggregates that disagree: no rate is better
    /// than one above 100 %).
    pub fn conversion_rate(&self) -> Option<f64> {
        (self.carts > 0 && self.recovered <= self.carts)
            .then(|| self.recovered as f64 / self.carts as f64)
    }
}

/// A difference (treatment − control) with its 95 % interval when the data
/// support one, and what it allows one to say.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Lift {
    pub estimate: f64,
    pub interval: Option<Interval>,
    pub verdict: Verdict,
}

impl Lift {
    fn new(estimate: f64, interval: Option<Interval>) -> Lift {
        Lift {
            estimate,
            interval,
            verdict: interval.map_or(Verdict::Inconclusive, |i| i.verdict()),
        }
    }

    fn scaled(self, factor: f64) -> Lift {
        Lift::new(
            self.estimate * factor,
            self.interval.map(|i| i.scaled(factor)),
        )
    }
}

/// The effect on the share of carts recovered.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLift {
    /// Difference of conversion rates as a fraction (0.03 = 3 percentage
    /// points), with Newcombe's hybrid score interval.
    pub absolute: Lift,
    /// Treatment rate over control rate, minus one (0.25 = a quarter more),
    /// with the log (Katz) interval; None when the control group recovered no
    /// cart (no base to be relative to). Its interval is None when the
    /// treatment group recovered none.
    pub relative: Option<Lift>,
    /// Recovered carts the treatment added among its own carts: the
    /// absolute lift times the treatment group's carts.
    pub incremental_recovered_carts: Lift,
}

/// The effect on recovered revenue per cart, in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevenueLift {
    pub currency: Currency,
    pub control_per_cart_minor: Option<f64>,
    pub treatment_per_cart_minor: Option<f64>,
    /// Difference of mean recovered revenue per cart, in minor units, with
    /// Welch's t interval; None when a group has no cart in this currency.
    pub per_cart_minor: Option<Lift>,
    /// Revenue the treatment added among its own carts in this currency:
    /// the per-cart difference times the treatment group's carts.
    pub incremental_revenue_minor: Option<Lift>,
}

/// One group's own figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupFigures {
    pub carts: u64,
    pub recovered: u64,
    pub conversion_rate: Option<f64>,
    /// Mean recovered revenue per cart priced in each currency, minor units.
    pub revenue_per_cart_minor: BTreeMap<Currency, f64>,
}

impl GroupFigures {
    fn of(tally: &GroupTally) -> GroupFigures {
        GroupFigures {
            carts: tally.carts,
            recovered: tally.recovered,
            conversion_rate: tally.conversion_rate(),
            revenue_per_cart_minor: tally
                .revenue
                .iter()
                .filter_map(|(currency, revenue)| Some((*currency, revenue.per_cart_minor()?)))
                .collect(),
        }
    }
}

/// A treatment group measured against a control group (the holdout, or the
/// variant taken as the reference).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    pub control: GroupFigures,
    pub treatment: GroupFigures,
    /// None while either group has no carts.
    pub conversion: Option<RateLift>,
    /// One entry per currency either group has carts in; never summed
    /// across currencies.
    pub revenue: Vec<RevenueLift>,
}

/// Compares `treatment` with `control`. Every figure that the data cannot
/// support is None; no NaN or infinity comes out.
///
/// ```
/// use cartback_domain::{compare, Currency, GroupTally, Verdict};
/// let mut held_out = GroupTally::default();
/// let mut emailed = GroupTally::default();
/// for i in 0..1000 {
///     held_out.add_cart(Currency::EUR, (i % 20 == 0).then_some(5000)); // 5 % come back anyway
///     emailed.add_cart(Currency::EUR, (i % 10 == 0).then_some(5000));  // 10 % with emails
/// }
/// let result = compare(&held_out, &emailed);
/// let lift = result.conversion.unwrap().absolute;
/// assert!((lift.estimate - 0.05).abs() < 1e-12);
/// assert_eq!(lift.verdict, Verdict::Better);
/// let eur = &result.revenue[0];
/// assert!((eur.per_cart_minor.unwrap().estimate - 250.0).abs() < 1e-9);
/// assert!((eur.incremental_revenue_minor.unwrap().estimate - 250_000.0).abs() < 1e-6);
/// ```
pub fn compare(control: &GroupTally, treatment: &GroupTally) -> Comparison {
    let conversion = rate_lift(control, treatment);
    let mut currencies: Vec<Currency> = control
        .revenue
        .keys()
        .chain(treatment.revenue.keys())
        .copied()
        .collect();
    currencies.sort();
    currencies.dedup();
    let revenue = currencies
        .into_iter()
        .map(|currency| {
            let none = RevenueTally::default();
            let c = control.revenue.get(&currency).unwrap_or(&none);
            let t = treatment.revenue.get(&currency).unwrap_or(&none);
            revenue_lift(currency, c, t)
        })
        .collect();
    Comparison {
        control: GroupFigures::of(control),
        treatment: GroupFigures::of(treatment),
        conversion,
        revenue,
    }
}

fn rate_lift(control: &GroupTally, treatment: &GroupTally) -> Option<RateLift> {
    let p0 = control.conversion_rate()?;
    let p1 = treatment.conversion_rate()?;
    let absolute = Lift::new(
        p1 - p0,
        newcombe_interval(
            treatment.recovered,
            treatment.carts,
            control.recovered,
            control.carts,
        ),
    );
    let relative = (control.recovered > 0).then(|| {
        let interval = ratio_interval(
            treatment.recovered,
            treatment.carts,
            control.recovered,
            control.carts,
        )
        .map(|ratio| Interval {
            low: ratio.low - 1.0,
            high: ratio.high - 1.0,
        });
        Lift::new(p1 / p0 - 1.0, interval)
    });
    Some(RateLift {
        absolute,
        relative,
        incremental_recovered_carts: absolute.scaled(treatment.carts as f64),
    })
}

fn revenue_lift(
    currency: Currency,
    control: &RevenueTally,
    treatment: &RevenueTally,
) -> RevenueLift {
    let per_cart = control
        .moments()
        .zip(treatment.moments())
        .map(|(c, t)| Lift::new(t.mean - c.mean, welch_interval(t, c)));
    RevenueLift {
        currency,
        control_per_cart_minor: control.per_cart_minor(),
        treatment_per_cart_minor: treatment.per_cart_minor(),
        per_cart_minor: per_cart,
        incremental_revenue_minor: per_cart.map(|lift| lift.scaled(treatment.carts as f64)),
    }
}

/// Carts per group a two-sided test at 95 % confidence needs to detect a
/// given absolute lift with [`POWER`] (80 %).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SampleSize {
    pub treatment: u64,
    pub control: u64,
}

impl SampleSize {
    /// What is still missing once the groups have these many carts.
    pub fn still_needed(&self, treatment_carts: u64, control_carts: u64) -> SampleSize {
        SampleSize {
            treatment: self.treatment.saturating_sub(treatment_carts),
            control: self.control.saturating_sub(control_carts),
        }
    }
}

/// Carts needed to detect a change of `absolute_lift` (0.02 = two percentage
/// points) from a conversion rate of `baseline_rate`, when the control group
/// gets `control_per_treatment` carts for each treatment cart (a 10 % holdout
/// against 90 % emailed: 1/9). The normal approximation for two independent
/// proportions (Fleiss, without continuity correction), as in statsmodels'
/// `samplesize_proportions_2indep_onetail`. None for a lift of zero, a
/// baseline or target rate outside `[0, 1]`, a ratio that is not positive,
/// or a size past 10^15 carts.
///
/// ```
/// use cartback_domain::sample_size;
/// // From 10 % to 15 % with equal groups: 686 carts in each.
/// let size = sample_size(0.10, 0.05, 1.0).unwrap();
/// assert_eq!((size.treatment, size.control), (686, 686));
/// assert_eq!(size.still_needed(700, 600).control, 86);
/// ```
pub fn sample_size(
    baseline_rate: f64,
    absolute_lift: f64,
    control_per_treatment: f64,
) -> Option<SampleSize> {
    let p0 = baseline_rate;
    let p1 = baseline_rate + absolute_lift;
    let ratio = control_per_treatment;
    let valid = (0.0..=1.0).contains(&p0)
        && (0.0..=1.0).contains(&p1)
        && absolute_lift != 0.0
        && ratio > 0.0
        && ratio.is_finite();
    if !valid {
        return None;
    }
    let z_confidence = normal_quantile(1.0 - (1.0 - CONFIDENCE) / 2.0)?;
    let z_power = normal_quantile(POWER)?;
    let pooled = (p1 + ratio * p0) / (1.0 + ratio);
    let sd_null = (pooled * (1.0 - pooled) * (1.0 + 1.0 / ratio)).sqrt();
    let sd_alternative = (p1 * (1.0 - p1) + p0 * (1.0 - p0) / ratio).sqrt();
    let treatment = ((z_confidence * sd_null + z_power * sd_alternative) / absolute_lift).powi(2);
    let control = treatment * ratio;
    const LIMIT: f64 = 1e15;
    if !(treatment.is_finite() && control.is_finite() && treatment <= LIMIT && control <= LIMIT) {
        return None;
    }
    // Whole carts, rounding up; the tiny slack keeps an exact integer from
    // becoming the next one through rounding noise.
    let whole = |n: f64| (n - 1e-9).ceil().max(1.0) as u64;
    Some(SampleSize {
        treatment: whole(treatment),
        control: whole(control),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_groups_give_no_figures_and_no_nan() {
        let empty = GroupTally::default();
        let result = compare(&empty, &empty);
        assert_eq!(result.conversion, None);
        assert!(result.revenue.is_empty());
        assert_eq!(result.control.conversion_rate, None);
    }

    #[test]
    fn a_currency_only_one_group_has_gets_no_lift() {
        let mut control = GroupTally::default();
        let mut treatment = GroupTally::default();
        control.add_cart(Currency::EUR, None);
        treatment.add_cart(Currency::USD, Some(100));
        let result = compare(&control, &treatment);
        assert_eq!(result.revenue.len(), 2);
        for lift in &result.revenue {
            assert_eq!(lift.per_cart_minor, None);
            assert_eq!(lift.incremental_revenue_minor, None);
        }
        // The rate still compares: 1 of 1 against 0 of 1, far from clear.
        let rate = result.conversion.unwrap();
        assert_eq!(rate.absolute.verdict, Verdict::Inconclusive);
        assert_eq!(rate.relative, None);
    }

    #[test]
    fn inconsistent_counts_give_no_rate() {
        let broken = GroupTally {
            carts: 3,
            recovered: 5,
            revenue: BTreeMap::new(),
        };
        assert_eq!(broken.conversion_rate(), None);
        assert_eq!(compare(&broken, &broken).conversion, None);
    }

    #[test]
    fn variance_from_sums_is_exact() {
        let mut tally = RevenueTally::default();
        for amount in [0, 0, 4500, 4500, 9000] {
            tally.add(amount);
        }
        let moments = tally.moments().unwrap();
        assert_eq!(moments.mean, 3600.0);
        // Σ(x − 3600)² / 4 = (2·3600² + 2·900² + 5400²) / 4
        assert_eq!(moments.variance, 14_175_000.0);
    }

    #[test]
    fn huge_sums_fall_back_to_floating_point_without_panicking() {
        let tally = RevenueTally {
            carts: u64::MAX,
            sum_minor: i128::MAX,
            sum_squares_minor: u128::MAX,
        };
        let moments = tally.moments().unwrap();
        assert!(moments.variance.is_finite() && moments.variance >= 0.0);
    }

    #[test]
    fn sample_size_rejects_what_cannot_be_planned() {
        assert_eq!(sample_size(0.1, 0.0, 1.0), None);
        assert_eq!(sample_size(0.95, 0.1, 1.0), None);
        assert_eq!(sample_size(-0.1, 0.1, 1.0), None);
        assert_eq!(sample_size(0.1, 0.05, 0.0), None);
        assert_eq!(sample_size(0.1, 0.05, f64::NAN), None);
        assert_eq!(sample_size(0.5, 1e-12, 1.0), None);
        // From nothing to something is plannable.
        assert!(sample_size(0.0, 0.01, 1.0).is_some());
    }

    #[test]
    fn a_small_holdout_needs_a_larger_total() {
        let even = sample_size(0.1, 0.03, 1.0).unwrap();
        let tenth = sample_size(0.1, 0.03, 1.0 / 9.0).unwrap();
        assert!(tenth.control < even.control);
        assert!(tenth.treatment + tenth.control > even.treatment + even.control);
    }
}
