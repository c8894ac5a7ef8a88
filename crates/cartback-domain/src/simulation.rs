//! One shopper's carts, replayed in memory: the reference model of what the
//! store and the worker do with the decisions. Pure: time moves only when told,
//! and every choice is made by [`evaluate_with`].

mod population;

pub use population::{HoldoutPopulation, SeededRandom};

use chrono::{DateTime, TimeDelta, Utc};

use crate::cart::{CartStatus, RecoveryHistory, on_cart_update, on_order};
use crate::decision::{CartFacts, SendContext, evaluate_with};
use crate::policy::RecoveryPolicy;

/// A cart of the simulated shopper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedCart {
    pub facts: CartFacts,
    /// Shopping cycles this cart started after its first (0 at first).
    pub cycle: u32,
    /// The recovery emails of the current cycle.
    pub history: RecoveryHistory,
}

/// A recovery email the simulated worker sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentEmail {
    /// Index of the cart, in the order carts were opened.
    pub cart: usize,
    pub cycle: u32,
    pub step: u32,
    pub at: DateTime<Utc>,
}

/// One shopper (one email address) with any number of carts under one policy,
/// and a worker that looks at every cart at every `wake_at` it was given, the
/// way cartback's worker does, sending what [`evaluate_with`] says to send.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use cartback_domain::{RecoveryPolicy, ShopperSimulation};
/// let policy = RecoveryPolicy { customer_cooldown_ms: 7 * 86_400_000, ..RecoveryPolicy::default() };
/// let mut shopper = ShopperSimulation::new(policy, Some(true), Utc.with_ymd_and_hms(2026, 5, 4, 9, 0, 0).unwrap());
/// let first = shopper.update(0, 2, 4500);   // opens cart 0
/// shopper.advance(TimeDelta::minutes(30));
/// let second = shopper.update(1, 1, 1200);  // opens cart 1
/// shopper.advance(TimeDelta::days(10));
/// // Cart 0 got its whole sequence; cart 1 sat out: one sequence per shopper.
/// assert_eq!(shopper.sent().iter().filter(|e| e.cart == first).count(), 3);
/// assert_eq!(shopper.sent().iter().filter(|e| e.cart == second).count(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct ShopperSimulation {
    policy: RecoveryPolicy,
    now: DateTime<Utc>,
    consent: Option<bool>,
    suppressed: bool,
    carts: Vec<SimulatedCart>,
    sent: Vec<SentEmail>,
}

/// Safety net against a policy that would keep the worker busy forever.
const MAX_WAKES: usize = 100_000;

impl ShopperSimulation {
    pub fn new(
        policy: RecoveryPolicy,
        consent: Option<bool>,
        start: DateTime<Utc>,
    ) -> ShopperSimulation {
        ShopperSimulation {
            policy,
            now: start,
            consent,
            suppressed: false,
            carts: Vec::new(),
            sent: Vec::new(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    pub fn policy(&self) -> &RecoveryPolicy {
        &self.policy
    }

    pub fn carts(&self) -> &[SimulatedCart] {
        &self.carts
    }

    /// Every email sent so far, in the order sent.
    pub fn sent(&self) -> &[SentEmail] {
        &self.sent
    }

    /// Puts the shopper's address on (or off) the suppression list.
    pub fn set_suppressed(&mut self, suppressed: bool) {
        self.suppressed = suppressed;
    }

    /// A CART_UPDATE now: `cart` gets `item_count` items worth `total_minor`.
    /// An index past the last cart opens a new one. Returns the cart's index.
    pub fn update(&mut self, cart: usize, item_count: u32, total_minor: i64) -> usize {
        let now = self.now;
        let Some(existing) = self.carts.get_mut(cart) else {
            self.carts.push(SimulatedCart {
                facts: CartFacts {
                    status: CartStatus::Active,
                    item_count,
                    total_minor,
                    has_email: true,
                    unsubscribed: false,
                    deleted: false,
                    created_at: now,
                    last_activity_at: now,
                    next_step: 0,
                },
                cycle: 0,
                history: RecoveryHistory::default(),
            });
            return self.carts.len() - 1;
        };
        let outcome = on_cart_update(existing.facts.status);
        if outcome.new_cycle {
            existing.cycle += 1;
            existing.history = RecoveryHistory::default();
            existing.facts.next_step = 0;
            existing.facts.created_at = now;
        }
        existing.facts.status = outcome.status;
        existing.facts.item_count = item_count;
        existing.facts.total_minor = total_minor;
        existing.facts.last_activity_at = now;
        cart
    }

    /// An ORDER_COMPLETE for `cart` now. Returns the cart's new status, None
    /// when it was already finished (or does not exist).
    pub fn order(&mut self, cart: usize) -> Option<CartStatus> {
        let now = self.now;
        let policy = &self.policy;
        let cart = self.carts.get_mut(cart)?;
        let status = on_order(
            cart.facts.status,
            &cart.history,
            policy.attribution_mode,
            policy.attribution_window(),
            now,
        )?;
        cart.facts.status = status;
        Some(status)
    }

    /// What the store would tell [`evaluate_with`] about cart `cart` now.
    pub fn context_for(&self, cart: usize) -> SendContext {
        let active_elsewhere = self.carts.iter().enumerate().any(|(i, other)| {
            i != cart
                && other.facts.status.is_open()
                && other.history.emails_sent > 0
                && other.facts.next_step < self.policy.max_emails_per_cart
                && (other.facts.next_step as usize) < self.policy.steps.len()
        });
        SendContext {
            consent: self.consent,
            suppressed: self.suppressed,
            customer_recently_emailed_at: self.sent.iter().map(|e| e.at).max(),
            customer_has_active_sequence: active_elsewhere,
            cart_last_sent_at: self.carts.get(cart).and_then(|c| c.history.last_sent_at),
            address_capped_until: crate::decision::address_day_cap_until(
                &self.sent.iter().map(|e| e.at).collect::<Vec<_>>(),
                self.policy.max_emails_per_address_per_day,
                self.now,
            ),
            // The simulated shopper is in no holdout.
            held_out: false,
        }
    }

    /// Lets `by` pass. The worker wakes at every `wake_at` the evaluations
    /// ask for up to the new time, and once more at it, looking at every cart.
    pub fn advance(&mut self, by: TimeDelta) {
        let target = crate::bounds::shift(self.now, by.max(TimeDelta::zero()));
        for _ in 0..MAX_WAKES {
            self.run_worker();
            match self.next_wake() {
                Some(wake) if wake <= target => self.now = wake,
                _ => break,
            }
        }
        self.now = target;
        self.run_worker();
    }

    /// The earliest time any cart asks to be looked at again.
    pub fn next_wake(&self) -> Option<DateTime<Utc>> {
        (0..self.carts.len())
            .filter_map(|i| {
                evaluate_with(
                    &self.carts[i].facts,
                    &self.context_for(i),
                    &self.policy,
                    self.now,
                )
                .wake_at
            })
            .min()
    }

    /// Looks at every cart now, applying transitions and sending what is due,
    /// until a pass changes nothing.
    fn run_worker(&mut self) {
        for _ in 0..=RecoveryPolicy::MAX_STEPS + 2 {
            let mut acted = false;
            for i in 0..self.carts.len() {
                let context = self.context_for(i);
                let evaluation =
                    evaluate_with(&self.carts[i].facts, &context, &self.policy, self.now);
                let cart = &mut self.carts[i];
                if let Some(status) = evaluation.transition {
                    cart.facts.status = status;
                    acted = true;
                }
                if let Some(step) = evaluation.send_now {
                    cart.facts.next_step = step + 1;
                    cart.history.emails_sent += 1;
                    cart.history.first_sent_at.get_or_insert(self.now);
                    cart.history.last_sent_at = Some(self.now);
                    self.sent.push(SentEmail {
                        cart: i,
                        cycle: cart.cycle,
                        step,
                        at: self.now,
                    });
                    acted = true;
                }
            }
            if !acted {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::quiet_hours::QuietHours;

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 2, 2, 9, 0, 0).unwrap()
    }

    #[test]
    fn one_cart_gets_the_whole_sequence_on_time() {
        let mut shopper = ShopperSimulation::new(RecoveryPolicy::default(), None, start());
        shopper.update(0, 1, 100);
        shopper.advance(TimeDelta::days(40));
        let at: Vec<_> = shopper.sent().iter().map(|e| e.at - start()).collect();
        assert_eq!(
            at,
            [TimeDelta::hours(1), TimeDelta::days(1), TimeDelta::days(3)]
        );
        assert_eq!(shopper.carts()[0].facts.status, CartStatus::Expired);
    }

    #[test]
    fn an_order_stops_the_sequence() {
        let mut shopper = ShopperSimulation::new(RecoveryPolicy::default(), None, start());
        shopper.update(0, 1, 100);
        shopper.advance(TimeDelta::hours(2));
        assert_eq!(shopper.order(0), Some(CartStatus::Recovered));
        shopper.advance(TimeDelta::days(40));
        assert_eq!(shopper.sent().len(), 1);
        assert_eq!(shopper.order(0), None);
    }

    #[test]
    fn quiet_hours_spread_a_night_of_steps_over_mornings() {
        let policy = RecoveryPolicy {
            steps: vec![
                crate::RecoveryStep::after(3_600_000),
                crate::RecoveryStep::after(2 * 3_600_000),
            ],
            quiet_hours: Some(QuietHours {
                start: "20:00".into(),
                end: "08:00".into(),
            }),
            ..RecoveryPolicy::default()
        };
        let evening = Utc.with_ymd_and_hms(2026, 2, 2, 19, 30, 0).unwrap();
        let mut shopper = ShopperSimulation::new(policy, None, evening);
        shopper.update(0, 1, 100);
        shopper.advance(TimeDelta::days(3));
        let at: Vec<_> = shopper.sent().iter().map(|e| e.at).collect();
        let morning = Utc.with_ymd_and_hms(2026, 2, 3, 8, 0, 0).unwrap();
        // Both were due in the night; the second keeps its hour's distance.
        assert_eq!(at, [morning, morning + TimeDelta::hours(1)]);
    }

    #[test]
    fn a_suppressed_shopper_gets_nothing() {
        let mut shopper = ShopperSimulation::new(RecoveryPolicy::default(), None, start());
        shopper.set_suppressed(true);
        shopper.update(0, 1, 100);
        shopper.advance(TimeDelta::days(5));
        assert!(shopper.sent().is_empty());
    }
}
