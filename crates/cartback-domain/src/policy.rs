//! A tenant's recovery policy: when to email, how often, for how long.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::cart::AttributionMode;
use crate::error::InvalidValue;

const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 24 * HOUR_MS;

/// One email of the sequence, `delay_ms` after the cart's last activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryStep {
    pub delay_ms: u64,
}

/// Ordered steps plus the limits around them.
///
/// ```
/// use cartback_domain::RecoveryPolicy;
/// let policy = RecoveryPolicy::default();
/// assert_eq!(policy.steps.len(), 3);
/// assert_eq!(policy.abandon_delay().num_minutes(), 60);
/// assert!(policy.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RecoveryPolicy {
    pub steps: Vec<RecoveryStep>,
    pub max_emails_per_cart: u32,
    pub min_cart_value_minor: i64,
    pub expire_after_ms: u64,
    pub attribution_window_ms: u64,
    pub attribution_mode: AttributionMode,
}

impl Default for RecoveryPolicy {
    fn default() -> Self {
        RecoveryPolicy {
            steps: vec![
                RecoveryStep { delay_ms: HOUR_MS },
                RecoveryStep { delay_ms: DAY_MS },
                RecoveryStep {
                    delay_ms: 3 * DAY_MS,
                },
            ],
            max_emails_per_cart: 3,
            min_cart_value_minor: 0,
            expire_after_ms: 30 * DAY_MS,
            attribution_window_ms: 7 * DAY_MS,
            attribution_mode: AttributionMode::Sent,
        }
    }
}

fn millis(ms: u64) -> TimeDelta {
    TimeDelta::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX / 1_000_000))
}

impl RecoveryPolicy {
    pub const MAX_STEPS: usize = 10;

    /// One email after `delay`, the other limits as by default (demos and tests).
    pub fn with_single_delay(delay: TimeDelta) -> RecoveryPolicy {
        let delay_ms = u64::try_from(delay.num_milliseconds()).unwrap_or(1).max(1);
        RecoveryPolicy {
            steps: vec![RecoveryStep { delay_ms }],
            max_emails_per_cart: 1,
            expire_after_ms: (30 * DAY_MS).max(delay_ms.saturating_mul(2)),
            ..RecoveryPolicy::default()
        }
    }

    /// 1 to 10 steps with strictly increasing delays, a cap of at least one email,
    /// an expiry after the last step.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        if self.steps.is_empty() || self.steps.len() > Self::MAX_STEPS {
            return Err(InvalidValue::new(format!(
                "a policy has 1 to {} steps",
                Self::MAX_STEPS
            )));
        }
        if self.steps[0].delay_ms == 0 {
            return Err(InvalidValue::new("the first delay must be at least 1 ms"));
        }
        if self
            .steps
            .windows(2)
            .any(|w| w[1].delay_ms <= w[0].delay_ms)
        {
            return Err(InvalidValue::new("step delays must increase"));
        }
        if self.max_emails_per_cart == 0 {
            return Err(InvalidValue::new("at least one email per cart"));
        }
        if self.min_cart_value_minor < 0 {
            return Err(InvalidValue::new(
                "the minimum cart value must not be negative",
            ));
        }
        let last = self.steps.last().map_or(0, |s| s.delay_ms);
        if self.expire_after_ms <= last {
            return Err(InvalidValue::new("carts must expire after the last step"));
        }
        Ok(())
    }

    /// The delay of step `step` (0-based), if the policy has it.
    pub fn step_delay(&self, step: u32) -> Option<TimeDelta> {
        self.steps.get(step as usize).map(|s| millis(s.delay_ms))
    }

    /// How long a cart must be idle to count as abandoned: the first step's delay.
    pub fn abandon_delay(&self) -> TimeDelta {
        self.step_delay(0).unwrap_or(TimeDelta::hours(1))
    }

    pub fn expire_after(&self) -> TimeDelta {
        millis(self.expire_after_ms)
    }

    pub fn attribution_window(&self) -> TimeDelta {
        millis(self.attribution_window_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        let mut policy = RecoveryPolicy::default();
        assert!(policy.validate().is_ok());
        policy.steps.swap(0, 1);
        assert!(policy.validate().is_err());
        assert!(
            RecoveryPolicy {
                steps: vec![],
                ..RecoveryPolicy::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            RecoveryPolicy {
                max_emails_per_cart: 0,
                ..RecoveryPolicy::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            RecoveryPolicy::with_single_delay(TimeDelta::milliseconds(5))
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn serde_round_trip_and_defaults() {
        let policy = RecoveryPolicy::with_single_delay(TimeDelta::seconds(30));
        let text = serde_json::to_string(&policy).unwrap();
        assert_eq!(
            serde_json::from_str::<RecoveryPolicy>(&text).unwrap(),
            policy
        );
        let partial: RecoveryPolicy = serde_json::from_str(r#"{"maxEmailsPerCart": 2}"#).unwrap();
        assert_eq!(partial.steps.len(), 3);
    }
}
