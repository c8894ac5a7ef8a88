//! A simulated population of abandoned carts under a holdout experiment,
//! with a true effect chosen in advance: the yardstick for the intervals.
//! Deterministic: every random draw comes from the seed the caller gives.

use crate::currency::Currency;
use crate::experiment::{GroupTally, Shopper, TrafficSplit};
use crate::session::SessionId;

/// A small, fast, reproducible pseudo-random stream (SplitMix64). Not for
/// secrets: for simulations whose every run must replay from its seed.
#[derive(Debug, Clone)]
pub struct SeededRandom {
    state: u64,
}

impl SeededRandom {
    pub fn new(seed: u64) -> SeededRandom {
        SeededRandom { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`, from the top 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in `[low, high]` (`low` when the range is empty).
    pub fn between(&mut self, low: i64, high: i64) -> i64 {
        if high <= low {
            return low;
        }
        // The modulo bias is below width / 2^64: nothing a simulation sees.
        let offset = match high.abs_diff(low).checked_add(1) {
            Some(width) => self.next_u64() % width,
            None => self.next_u64(), // the whole i64 range
        };
        low.wrapping_add_unsigned(offset)
    }
}

/// Abandoned carts split between a holdout (no email) and the recovery
/// emails, where the truth is known: each held-out cart comes back with
/// probability `recovery_without_email`, each emailed one with
/// `recovery_with_email`; an order is worth a whole amount drawn uniformly
/// from `order_value_minor`, less `email_discount_percent` when it came back
/// through an email (its coupon).
///
/// ```
/// use cartback_domain::{compare, Currency, HoldoutPopulation};
/// let population = HoldoutPopulation {
///     carts: 2000, holdout_basis_points: 2000, currency: Currency::EUR,
///     recovery_without_email: 0.05, recovery_with_email: 0.09,
///     order_value_minor: (2000, 8000), email_discount_percent: 10,
/// };
/// let (held_out, emailed) = population.simulate(b"key", "exp_1", 7);
/// assert_eq!(held_out.carts + emailed.carts, 2000);
/// let lift = compare(&held_out, &emailed).conversion.unwrap().absolute;
/// assert!(lift.interval.is_some());
/// assert!((population.true_rate_lift() - 0.04).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct HoldoutPopulation {
    pub carts: u32,
    pub holdout_basis_points: u32,
    pub currency: Currency,
    pub recovery_without_email: f64,
    pub recovery_with_email: f64,
    /// Inclusive range.
    pub order_value_minor: (i64, i64),
    pub email_discount_percent: u32,
}

impl HoldoutPopulation {
    /// The true difference of recovery rates (emailed − held out).
    pub fn true_rate_lift(&self) -> f64 {
        self.recovery_with_email - self.recovery_without_email
    }

    /// The true difference of mean recovered revenue per cart, minor units.
    pub fn true_revenue_lift_minor(&self) -> f64 {
        let (low, high) = self.order_value_minor;
        let values = low..=high.max(low);
        let count = values.clone().count() as f64;
        let full: f64 = values.clone().map(|v| v as f64).sum::<f64>() / count;
        let discounted: f64 = values.map(|v| self.discounted(v) as f64).sum::<f64>() / count;
        self.recovery_with_email * discounted - self.recovery_without_email * full
    }

    fn discounted(&self, value: i64) -> i64 {
        let keep = 100 - i64::from(self.email_discount_percent.min(100));
        value.saturating_mul(keep) / 100
    }

    /// One run: every cart is assigned with the real assignment (its session
    /// id under `key` and `experiment_id`), then comes back or not as the
    /// model says. Returns the tallies of (held out, emailed).
    ///
    /// # Panics
    /// When `holdout_basis_points` is not between 1 and 9999.
    pub fn simulate(&self, key: &[u8], experiment_id: &str, seed: u64) -> (GroupTally, GroupTally) {
        #[expect(
            clippy::expect_used,
            reason = "a simulation's model is the caller's constant"
        )]
        let split = TrafficSplit::holdout(self.holdout_basis_points)
            .expect("holdout share between 1 and 9999 basis points");
        let mut random = SeededRandom::new(seed);
        let mut held_out = GroupTally::default();
        let mut emailed = GroupTally::default();
        for cart in 0..self.carts {
            #[expect(clippy::expect_used, reason = "a short printable id")]
            let session =
                SessionId::parse(&format!("sim-{seed}-{cart}")).expect("a valid session id");
            let holdout = split
                .assign(key, experiment_id, Shopper::Session(&session))
                .holdout;
            let (group, chance) = if holdout {
                (&mut held_out, self.recovery_without_email)
            } else {
                (&mut emailed, self.recovery_with_email)
            };
            let recovered = random.chance(chance).then(|| {
                let value = random.between(self.order_value_minor.0, self.order_value_minor.1);
                if holdout {
                    value
                } else {
                    self.discounted(value)
                }
            });
            group.add_cart(self.currency, recovered);
        }
        (held_out, emailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_replays_the_same_run() {
        let population = HoldoutPopulation {
            carts: 300,
            holdout_basis_points: 5000,
            currency: Currency::USD,
            recovery_without_email: 0.1,
            recovery_with_email: 0.2,
            order_value_minor: (100, 200),
            email_discount_percent: 0,
        };
        assert_eq!(
            population.simulate(b"k", "e", 1),
            population.simulate(b"k", "e", 1)
        );
        assert_ne!(
            population.simulate(b"k", "e", 1),
            population.simulate(b"k", "e", 2)
        );
    }

    #[test]
    fn draws_stay_in_range() {
        let mut random = SeededRandom::new(3);
        for _ in 0..10_000 {
            let u = random.unit();
            assert!((0.0..1.0).contains(&u));
            assert!((5..=9).contains(&random.between(5, 9)));
        }
        assert_eq!(random.between(4, 4), 4);
        assert_eq!(random.between(0, -1), 0);
        // The whole range has no width that fits in 64 bits; it still draws.
        random.between(i64::MIN, i64::MAX);
    }
}
