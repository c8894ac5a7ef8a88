//! Two-sided 95 % confidence intervals for the comparisons an experiment
//! reports, each a plain function of counts or sums. None where the data
//! cannot support an interval; never NaN.

use serde::Serialize;

use super::distributions::{normal_quantile, t_upper_quantile};

/// The confidence level of every interval cartback reports.
pub const CONFIDENCE: f64 = 0.95;

/// A confidence interval `[low, high]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// What an interval for a difference (treatment − control) allows one to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The whole interval lies above zero.
    Better,
    /// The whole interval lies below zero.
    Worse,
    /// The interval contains zero, or there is none: no winner.
    Inconclusive,
}

impl Interval {
    pub fn contains(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }

    /// Better or Worse only when zero lies outside the interval.
    pub fn verdict(&self) -> Verdict {
        if self.low > 0.0 {
            Verdict::Better
        } else if self.high < 0.0 {
            Verdict::Worse
        } else {
            Verdict::Inconclusive
        }
    }

    pub(crate) fn scaled(self, factor: f64) -> Interval {
        let (a, b) = (self.low * factor, self.high * factor);
        Interval {
            low: a.min(b),
            high: a.max(b),
        }
    }

    /// Self when both ends are finite numbers.
    fn finite(self) -> Option<Interval> {
        (self.low.is_finite() && self.high.is_finite() && self.low <= self.high).then_some(self)
    }
}

/// The two-sided critical value of the normal distribution at [`CONFIDENCE`].
fn z_critical() -> f64 {
    // 0.975 is inside (0, 1), so the quantile exists; the fallback is its value.
    normal_quantile(1.0 - (1.0 - CONFIDENCE) / 2.0).unwrap_or(1.959_963_984_540_054)
}

/// Wilson's score interval for a proportion `successes / trials` (without
/// continuity correction). None with no trials.
///
/// ```
/// use cartback_domain::wilson_interval;
/// let i = wilson_interval(0, 20).unwrap();
/// assert_eq!(i.low, 0.0);
/// assert!((i.high - 0.161_125_1).abs() < 1e-6);
/// ```
pub fn wilson_interval(successes: u64, trials: u64) -> Option<Interval> {
    if trials == 0 || successes > trials {
        return None;
    }
    let n = trials as f64;
    let p = successes as f64 / n;
    let z = z_critical();
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    // At p = 0 or 1 rounding may leave the bound a hair outside [0, 1].
    Interval {
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    }
    .finite()
}

/// Newcombe's hybrid score interval (his "method 10") for the difference of
/// two proportions `p₁ − p₀`, built from each group's Wilson interval. It
/// keeps close to 95 % coverage with small counts and rates near 0 or 1,
/// where the textbook Wald interval fails. None when a group has no trials.
///
/// ```
/// use cartback_domain::newcombe_interval;
/// // 30 of 200 with emails, 20 of 210 without.
/// let i = newcombe_interval(30, 200, 20, 210).unwrap();
/// assert!((i.low - -0.009_056_803).abs() < 1e-8 && (i.high - 0.119_677_829).abs() < 1e-8);
/// ```
pub fn newcombe_interval(
    successes_1: u64,
    trials_1: u64,
    successes_0: u64,
    trials_0: u64,
) -> Option<Interval> {
    let w1 = wilson_interval(successes_1, trials_1)?;
    let w0 = wilson_interval(successes_0, trials_0)?;
    let p1 = successes_1 as f64 / trials_1 as f64;
    let p0 = successes_0 as f64 / trials_0 as f64;
    let difference = p1 - p0;
    let below = ((p1 - w1.low).powi(2) + (w0.high - p0).powi(2)).sqrt();
    let above = ((w1.high - p1).powi(2) + (p0 - w0.low).powi(2)).sqrt();
    Interval {
        low: difference - below,
        high: difference + above,
    }
    .finite()
}

/// The log (Katz) interval for the ratio of two proportions `p₁ / p₀`.
/// None when either group has no successes: the ratio is then zero or
/// unbounded and its logarithm has no standard error.
pub fn ratio_interval(
    successes_1: u64,
    trials_1: u64,
    successes_0: u64,
    trials_0: u64,
) -> Option<Interval> {
    if successes_1 == 0 || successes_0 == 0 || successes_1 > trials_1 || successes_0 > trials_0 {
        return None;
    }
    let (x1, n1, x0, n0) = (
        successes_1 as f64,
        trials_1 as f64,
        successes_0 as f64,
        trials_0 as f64,
    );
    let log_ratio = (x1 / n1).ln() - (x0 / n0).ln();
    // Clamped at zero: with every trial a success the variance is 0 up to rounding.
    let variance = (1.0 / x1 - 1.0 / n1 + 1.0 / x0 - 1.0 / n0).max(0.0);
    let half = z_critical() * variance.sqrt();
    Interval {
        low: (log_ratio - half).exp(),
        high: (log_ratio + half).exp(),
    }
    .finite()
}

/// A sample summarised by its size, mean and (n − 1) variance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleMoments {
    pub n: u64,
    pub mean: f64,
    pub variance: f64,
}

/// Welch's t interval for the difference of means `mean₁ − mean₀`, with
/// unequal variances and the Welch–Satterthwaite degrees of freedom. None
/// when a sample has fewer than two values, or neither varies (no spread to
/// measure uncertainty by; reporting a zero-width interval would claim
/// certainty the data do not give).
///
/// ```
/// use cartback_domain::{welch_interval, SampleMoments};
/// let treated = SampleMoments { n: 200, mean: 675.0, variance: 2_594_849.246_231_156 };
/// let held_out = SampleMoments { n: 210, mean: 285.714_285_714_285_7, variance: 779_220.779_220_779_2 };
/// let i = welch_interval(treated, held_out).unwrap();
/// assert!((i.low - 135.110_149_59).abs() < 1e-6 && (i.high - 643.461_278_98).abs() < 1e-6);
/// ```
pub fn welch_interval(sample_1: SampleMoments, sample_0: SampleMoments) -> Option<Interval> {
    if sample_1.n < 2 || sample_0.n < 2 {
        return None;
    }
    let v1 = sample_1.variance.max(0.0) / sample_1.n as f64;
    let v0 = sample_0.variance.max(0.0) / sample_0.n as f64;
    let variance = v1 + v0;
    if !(variance > 0.0 && variance.is_finite()) {
        return None;
    }
    let df = variance * variance
        / (v1 * v1 / (sample_1.n - 1) as f64 + v0 * v0 / (sample_0.n - 1) as f64);
    let t = t_upper_quantile(df, (1.0 - CONFIDENCE) / 2.0)?;
    let difference = sample_1.mean - sample_0.mean;
    let half = t * variance.sqrt();
    Interval {
        low: difference - half,
        high: difference + half,
    }
    .finite()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_handles_the_extremes() {
        let all = wilson_interval(20, 20).unwrap();
        assert_eq!(all.high, 1.0);
        assert!(all.low > 0.8 && all.low < 0.85);
        assert_eq!(wilson_interval(0, 0), None);
        assert_eq!(wilson_interval(3, 2), None);
    }

    #[test]
    fn newcombe_needs_both_groups() {
        assert_eq!(newcombe_interval(1, 10, 0, 0), None);
        assert_eq!(newcombe_interval(0, 0, 1, 10), None);
        let same = newcombe_interval(0, 10, 0, 10).unwrap();
        assert!(same.low < 0.0 && same.high > 0.0);
        assert_eq!(same.verdict(), Verdict::Inconclusive);
    }

    #[test]
    fn ratio_needs_successes_on_both_sides() {
        assert_eq!(ratio_interval(0, 10, 3, 10), None);
        assert_eq!(ratio_interval(3, 10, 0, 10), None);
        let all = ratio_interval(10, 10, 10, 10).unwrap();
        assert!((all.low - 1.0).abs() < 1e-12 && (all.high - 1.0).abs() < 1e-12);
    }

    #[test]
    fn welch_needs_spread() {
        let flat = SampleMoments {
            n: 50,
            mean: 0.0,
            variance: 0.0,
        };
        assert_eq!(welch_interval(flat, flat), None);
        let one = SampleMoments { n: 1, ..flat };
        let some = SampleMoments {
            variance: 4.0,
            ..flat
        };
        assert_eq!(welch_interval(one, some), None);
        // One flat group: the interval rests on the other's spread alone.
        assert!(welch_interval(flat, some).is_some());
    }

    #[test]
    fn verdict_needs_zero_outside() {
        let v = |low, high| Interval { low, high }.verdict();
        assert_eq!(v(0.01, 0.2), Verdict::Better);
        assert_eq!(v(-0.2, -0.01), Verdict::Worse);
        assert_eq!(v(-0.01, 0.2), Verdict::Inconclusive);
        assert_eq!(v(0.0, 0.2), Verdict::Inconclusive);
    }
}
