//! A tenant's recovery policy: when to email, what each email carries, how
//! often, for how long, and when to keep quiet.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::cart::AttributionMode;
use crate::coupon::CouponRule;
use crate::error::InvalidValue;
use crate::quiet_hours::{QuietHours, QuietWindow, parse_time_zone};
use crate::template_choice::TemplateChoice;

const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 24 * HOUR_MS;

/// One email of the sequence, `delay_ms` after the cart's last activity.
/// What the email looks like lives beside it, in [`RecoveryPolicy::step_settings`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryStep {
    pub delay_ms: u64,
}

impl RecoveryStep {
    /// A step `delay_ms` milliseconds after the last activity.
    ///
    /// ```
    /// use cartback_domain::RecoveryStep;
    /// assert_eq!(RecoveryStep::after(3_600_000), RecoveryStep { delay_ms: 3_600_000 });
    /// ```
    pub const fn after(delay_ms: u64) -> RecoveryStep {
        RecoveryStep { delay_ms }
    }
}

/// What the email of one step carries. `None` everywhere means the tenant's
/// default template and no coupon.
///
/// JSON: `{"template": "product_grid", "coupon": {"kind": "static", "code": "WELCOME10"}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StepSettings {
    /// A built-in design (`minimal`, `product_grid`, `bold_banner`,
    /// `text_first`) or `custom:<name>`; see [`TemplateChoice`].
    pub template: Option<String>,
    pub coupon: Option<CouponRule>,
}

static NO_SETTINGS: StepSettings = StepSettings {
    template: None,
    coupon: None,
};

impl StepSettings {
    /// The template choice, parsed; None when the step uses the default.
    ///
    /// ```
    /// use cartback_domain::{StepSettings, TemplateChoice};
    /// let settings = StepSettings { template: Some("text_first".into()), coupon: None };
    /// assert_eq!(settings.template_choice(), Some(Ok(TemplateChoice::Builtin("text_first"))));
    /// assert_eq!(StepSettings::default().template_choice(), None);
    /// ```
    pub fn template_choice(&self) -> Option<Result<TemplateChoice<'_>, InvalidValue>> {
        self.template.as_deref().map(TemplateChoice::parse)
    }

    /// A well-formed template choice and coupon rule; errors name `template` or
    /// `coupon.code` / `coupon.pattern`.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        if let Some(Err(error)) = self.template_choice() {
            return Err(error.at("template"));
        }
        if let Some(coupon) = &self.coupon {
            coupon.validate().map_err(|e| e.within("coupon"))?;
        }
        Ok(())
    }
}

/// Ordered steps plus the limits around them. Every field has a default, so
/// policies stored before a field existed still load.
///
/// ```
/// use cartback_domain::RecoveryPolicy;
/// let policy = RecoveryPolicy::default();
/// assert_eq!(policy.steps.len(), 3);
/// assert_eq!(policy.abandon_delay().num_minutes(), 60);
/// assert_eq!(policy.time_zone, "UTC");
/// assert!(policy.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RecoveryPolicy {
    /// 1 to 10 emails, by strictly increasing delay after the last activity.
    pub steps: Vec<RecoveryStep>,
    /// Template and coupon of each step, indexed like `steps`; may be shorter
    /// (missing entries are the defaults), never longer.
    pub step_settings: Vec<StepSettings>,
    /// At most this many emails per cart and shopping cycle.
    pub max_emails_per_cart: u32,
    /// At most this many recovery emails to one address in any 24 hours, across
    /// all of its carts (a guard against carts captured for someone else's
    /// address); a step over the cap waits until the oldest of them is a day
    /// old. 0 turns the cap off. Default 3.
    pub max_emails_per_address_per_day: u32,
    /// Carts worth less (in minor units) get no email.
    pub min_cart_value_minor: i64,
    /// A cart older than this (from its cycle's creation) expires.
    pub expire_after_ms: u64,
    pub attribution_window_ms: u64,
    pub attribution_mode: AttributionMode,
    /// One sequence per shopper: a cart does not start its sequence when the
    /// shopper's address got any recovery email less than this long before the
    /// first step fell due, or while another of their carts is mid-sequence.
    /// (An email after that moment counts too: the shopper is being emailed.)
    /// 0 (the default) turns the rule off.
    pub customer_cooldown_ms: u64,
    /// A daily window, in `time_zone`, when no email goes out.
    pub quiet_hours: Option<QuietHours>,
    /// The tenant's IANA time zone, for quiet hours. Default `UTC`.
    pub time_zone: String,
    /// Email only carts whose shopper consented (captured with consent true).
    pub require_consent: bool,
}

impl Default for RecoveryPolicy {
    fn default() -> Self {
        RecoveryPolicy {
            steps: vec![
                RecoveryStep::after(HOUR_MS),
                RecoveryStep::after(DAY_MS),
                RecoveryStep::after(3 * DAY_MS),
            ],
            step_settings: Vec::new(),
            max_emails_per_cart: 3,
            max_emails_per_address_per_day: 3,
            min_cart_value_minor: 0,
            expire_after_ms: 30 * DAY_MS,
            attribution_window_ms: 7 * DAY_MS,
            attribution_mode: AttributionMode::Sent,
            customer_cooldown_ms: 0,
            quiet_hours: None,
            time_zone: "UTC".to_owned(),
            require_consent: false,
        }
    }
}

use crate::bounds::{
    MAX_ATTRIBUTION_WINDOW_MS, MAX_CUSTOMER_COOLDOWN_MS, MAX_EMAILS_PER_ADDRESS_PER_DAY,
    MAX_EMAILS_PER_CART, MAX_EXPIRE_AFTER_MS, MAX_STEP_DELAY_MS, check_amount, millis,
};

/// A delay as people say it, with the exact milliseconds the API speaks:
/// `45 minutes (2700000 ms)`.
fn spoken(ms: u64) -> String {
    let units = [
        (DAY_MS, "day"),
        (HOUR_MS, "hour"),
        (60_000, "minute"),
        (1_000, "second"),
    ];
    match units
        .into_iter()
        .find(|(size, _)| ms > 0 && ms.is_multiple_of(*size))
    {
        Some((size, name)) => {
            let count = ms / size;
            let plural = if count == 1 { "" } else { "s" };
            format!("{count} {name}{plural} ({ms} ms)")
        }
        None => format!("{ms} ms"),
    }
}

impl RecoveryPolicy {
    pub const MAX_STEPS: usize = 10;
    /// Longest customer cooldown: 90 days ([`crate::bounds::MAX_CUSTOMER_COOLDOWN_MS`]).
    pub const MAX_CUSTOMER_COOLDOWN_MS: u64 = MAX_CUSTOMER_COOLDOWN_MS;

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

    /// The first problem of the policy, if any; see [`RecoveryPolicy::problems`].
    ///
    /// ```
    /// use cartback_domain::{RecoveryPolicy, RecoveryStep};
    /// let mut policy = RecoveryPolicy::default();
    /// policy.steps[1] = RecoveryStep::after(60_000);
    /// let error = policy.validate().unwrap_err();
    /// assert_eq!(error.field.as_deref(), Some("steps[1].delayMs"));
    /// ```
    pub fn validate(&self) -> Result<(), InvalidValue> {
        match self.problems().into_iter().next() {
            Some(problem) => Err(problem),
            None => Ok(()),
        }
    }

    /// Every problem of the policy, each naming its field: 1 to 10 steps, the
    /// first delay at least 1 ms, each one longer than the one before and none
    /// over 365 days, no more step settings than steps and each well-formed,
    /// 1 to 10 emails per cart, a minimum value from zero to
    /// [`crate::bounds::MAX_AMOUNT_MINOR`], an expiry after the last step and
    /// within 3 years, an attribution window of at most 365 days, a cooldown
    /// of at most 90 days, a real IANA time zone and well-formed quiet hours
    /// that leave at least an hour a day open (see [`crate::bounds`]).
    ///
    /// ```
    /// use cartback_domain::{QuietHours, RecoveryPolicy};
    /// let policy = RecoveryPolicy {
    ///     time_zone: "Europe/Amsterdamm".into(),
    ///     quiet_hours: Some(QuietHours { start: "22:00".into(), end: "25:00".into() }),
    ///     ..RecoveryPolicy::default()
    /// };
    /// let fields: Vec<_> = policy.problems().into_iter().filter_map(|p| p.field).collect();
    /// assert_eq!(fields, ["timeZone", "quietHours.end"]);
    /// ```
    pub fn problems(&self) -> Vec<InvalidValue> {
        let mut problems = Vec::new();
        if self.steps.is_empty() || self.steps.len() > Self::MAX_STEPS {
            problems.push(
                InvalidValue::new(format!(
                    "a policy has 1 to {} steps, got {}",
                    Self::MAX_STEPS,
                    self.steps.len()
                ))
                .at("steps"),
            );
        }
        if self.steps.first().is_some_and(|s| s.delay_ms == 0) {
            problems.push(InvalidValue::new("must be at least 1 ms").at("steps[0].delayMs"));
        }
        for (i, step) in self.steps.iter().enumerate() {
            if step.delay_ms > MAX_STEP_DELAY_MS {
                problems.push(
                    InvalidValue::new(format!("must be at most 365 days ({MAX_STEP_DELAY_MS} ms)"))
                        .at(format!("steps[{i}].delayMs")),
                );
            }
        }
        for (i, pair) in self.steps.windows(2).enumerate() {
            if pair[1].delay_ms <= pair[0].delay_ms {
                problems.push(
                    InvalidValue::new(format!(
                        "must be longer than the previous step's delay, {}: delays increase",
                        spoken(pair[0].delay_ms)
                    ))
                    .at(format!("steps[{}].delayMs", i + 1)),
                );
            }
        }
        if self.step_settings.len() > self.steps.len() {
            problems.push(
                InvalidValue::new(format!(
                    "has {} entries but the policy has {} steps",
                    self.step_settings.len(),
                    self.steps.len()
                ))
                .at("stepSettings"),
            );
        }
        for (i, settings) in self.step_settings.iter().enumerate() {
            if let Err(error) = settings.validate() {
                problems.push(error.within(&format!("stepSettings[{i}]")));
            }
        }
        if self.max_emails_per_cart == 0 || self.max_emails_per_cart > MAX_EMAILS_PER_CART {
            problems.push(
                InvalidValue::new(format!("must be 1 to {MAX_EMAILS_PER_CART}"))
                    .at("maxEmailsPerCart"),
            );
        }
        if self.max_emails_per_address_per_day > MAX_EMAILS_PER_ADDRESS_PER_DAY {
            problems.push(
                InvalidValue::new(format!(
                    "must be 0 (no cap) to {MAX_EMAILS_PER_ADDRESS_PER_DAY}"
                ))
                .at("maxEmailsPerAddressPerDay"),
            );
        }
        if let Err(message) = check_amount(self.min_cart_value_minor) {
            problems.push(InvalidValue::new(message).at("minCartValueMinor"));
        }
        let last = self.steps.last().map_or(0, |s| s.delay_ms);
        if self.expire_after_ms <= last {
            problems.push(
                InvalidValue::new(format!(
                    "must be longer than the last step's delay, {}",
                    spoken(last)
                ))
                .at("expireAfterMs"),
            );
        }
        if self.expire_after_ms > MAX_EXPIRE_AFTER_MS {
            problems.push(
                InvalidValue::new(format!(
                    "must be at most 3 years of 365 days ({MAX_EXPIRE_AFTER_MS} ms)"
                ))
                .at("expireAfterMs"),
            );
        }
        if self.attribution_window_ms > MAX_ATTRIBUTION_WINDOW_MS {
            problems.push(
                InvalidValue::new(format!(
                    "must be at most 365 days ({MAX_ATTRIBUTION_WINDOW_MS} ms)"
                ))
                .at("attributionWindowMs"),
            );
        }
        if self.customer_cooldown_ms > Self::MAX_CUSTOMER_COOLDOWN_MS {
            problems.push(
                InvalidValue::new(format!(
                    "must be at most 90 days ({} ms)",
                    Self::MAX_CUSTOMER_COOLDOWN_MS
                ))
                .at("customerCooldownMs"),
            );
        }
        if let Err(error) = parse_time_zone(&self.time_zone) {
            problems.push(error.at("timeZone"));
        }
        if let Some(Err(error)) = self.quiet_hours.as_ref().map(QuietHours::window) {
            problems.push(error.within("quietHours"));
        }
        problems
    }

    /// The delay of step `step` (0-based), if the policy has it.
    pub fn step_delay(&self, step: u32) -> Option<TimeDelta> {
        self.steps.get(step as usize).map(|s| millis(s.delay_ms))
    }

    /// The most recovery emails one cart gets in a shopping cycle: every step,
    /// or fewer under the per-cart cap. A cart that had this many has nothing
    /// left to send ([`crate::next_send`] says `capped` or `sequence_complete`).
    ///
    /// ```
    /// use cartback_domain::RecoveryPolicy;
    /// let policy = RecoveryPolicy { max_emails_per_cart: 2, ..RecoveryPolicy::default() };
    /// assert_eq!((RecoveryPolicy::default().emails_per_cart(), policy.emails_per_cart()), (3, 2));
    /// ```
    pub fn emails_per_cart(&self) -> u32 {
        u32::try_from(self.steps.len())
            .unwrap_or(u32::MAX)
            .min(self.max_emails_per_cart)
    }

    /// Template and coupon of step `step` (0-based); the defaults when the
    /// policy says nothing about it.
    ///
    /// ```
    /// use cartback_domain::{CouponRule, RecoveryPolicy, StepSettings};
    /// let policy = RecoveryPolicy {
    ///     step_settings: vec![StepSettings::default(), StepSettings {
    ///         template: Some("bold_banner".into()),
    ///         coupon: Some(CouponRule::Static { code: "COMEBACK5".into() }),
    ///     }],
    ///     ..RecoveryPolicy::default()
    /// };
    /// assert_eq!(policy.settings_for(0), &StepSettings::default());
    /// assert_eq!(policy.settings_for(1).template.as_deref(), Some("bold_banner"));
    /// assert_eq!(policy.settings_for(2), &StepSettings::default());
    /// ```
    pub fn settings_for(&self, step: u32) -> &StepSettings {
        self.step_settings
            .get(step as usize)
            .unwrap_or(&NO_SETTINGS)
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

    /// The customer cooldown; None when the rule is off.
    ///
    /// ```
    /// use chrono::TimeDelta;
    /// use cartback_domain::RecoveryPolicy;
    /// assert_eq!(RecoveryPolicy::default().customer_cooldown(), None);
    /// let policy = RecoveryPolicy { customer_cooldown_ms: 86_400_000, ..RecoveryPolicy::default() };
    /// assert_eq!(policy.customer_cooldown(), Some(TimeDelta::days(1)));
    /// ```
    pub fn customer_cooldown(&self) -> Option<TimeDelta> {
        (self.customer_cooldown_ms > 0).then(|| millis(self.customer_cooldown_ms))
    }

    /// The tenant's time zone; UTC when the name is not valid (a validated
    /// policy always has a valid one).
    ///
    /// ```
    /// use cartback_domain::{RecoveryPolicy, Tz};
    /// let policy = RecoveryPolicy { time_zone: "Europe/Amsterdam".into(), ..RecoveryPolicy::default() };
    /// assert_eq!(policy.zone(), Tz::Europe__Amsterdam);
    /// assert_eq!(RecoveryPolicy::default().zone(), Tz::UTC);
    /// ```
    pub fn zone(&self) -> Tz {
        parse_time_zone(&self.time_zone).unwrap_or(Tz::UTC)
    }

    /// The quiet-hours window; None when there is none (or it is malformed,
    /// which validation rules out).
    ///
    /// ```
    /// use cartback_domain::{QuietHours, RecoveryPolicy};
    /// assert!(RecoveryPolicy::default().quiet_window().is_none());
    /// let policy = RecoveryPolicy {
    ///     quiet_hours: Some(QuietHours { start: "21:30".into(), end: "07:00".into() }),
    ///     ..RecoveryPolicy::default()
    /// };
    /// assert_eq!(policy.quiet_window().unwrap().end().to_string(), "07:00:00");
    /// ```
    pub fn quiet_window(&self) -> Option<QuietWindow> {
        self.quiet_hours.as_ref().and_then(|q| q.window().ok())
    }

    /// Whether `at` falls in the tenant's quiet hours.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use cartback_domain::{QuietHours, RecoveryPolicy};
    /// let policy = RecoveryPolicy {
    ///     time_zone: "America/New_York".into(),
    ///     quiet_hours: Some(QuietHours { start: "21:00".into(), end: "09:00".into() }),
    ///     ..RecoveryPolicy::default()
    /// };
    /// // 02:00 UTC is 21:00 in New York in winter: quiet.
    /// assert!(policy.is_quiet_at(Utc.with_ymd_and_hms(2026, 1, 15, 2, 0, 0).unwrap()));
    /// assert!(!policy.is_quiet_at(Utc.with_ymd_and_hms(2026, 1, 15, 14, 0, 0).unwrap()));
    /// ```
    pub fn is_quiet_at(&self, at: DateTime<Utc>) -> bool {
        self.quiet_window()
            .is_some_and(|window| window.contains(self.zone(), at))
    }

    /// When the quiet hours holding `at` end; None when `at` is not quiet.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use cartback_domain::{QuietHours, RecoveryPolicy};
    /// let policy = RecoveryPolicy {
    ///     time_zone: "Europe/Amsterdam".into(),
    ///     quiet_hours: Some(QuietHours { start: "22:00".into(), end: "08:00".into() }),
    ///     ..RecoveryPolicy::default()
    /// };
    /// let night = Utc.with_ymd_and_hms(2026, 7, 1, 23, 0, 0).unwrap(); // 01:00 CEST
    /// assert_eq!(policy.quiet_until(night), Some(Utc.with_ymd_and_hms(2026, 7, 2, 6, 0, 0).unwrap()));
    /// ```
    pub fn quiet_until(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.quiet_window()
            .and_then(|window| window.opens_after(self.zone(), at))
            .map(|opens| opens.min(crate::bounds::far_future()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(policy: &RecoveryPolicy) -> Vec<String> {
        policy
            .problems()
            .into_iter()
            .filter_map(|p| p.field)
            .collect()
    }

    #[test]
    fn validation() {
        let mut policy = RecoveryPolicy::default();
        assert!(policy.validate().is_ok());
        policy.steps.swap(0, 1);
        assert_eq!(fields(&policy), ["steps[1].delayMs"]);
        assert_eq!(
            fields(&RecoveryPolicy {
                steps: vec![],
                ..RecoveryPolicy::default()
            }),
            ["steps"]
        );
        assert_eq!(
            fields(&RecoveryPolicy {
                steps: vec![RecoveryStep::after(1); 11],
                ..RecoveryPolicy::default()
            })[0],
            "steps"
        );
        assert_eq!(
            fields(&RecoveryPolicy {
                steps: vec![RecoveryStep::after(0), RecoveryStep::after(5)],
                ..RecoveryPolicy::default()
            }),
            ["steps[0].delayMs"]
        );
        assert_eq!(
            fields(&RecoveryPolicy {
                max_emails_per_cart: 0,
                min_cart_value_minor: -1,
                expire_after_ms: 1,
                customer_cooldown_ms: 91 * DAY_MS,
                ..RecoveryPolicy::default()
            }),
            [
                "maxEmailsPerCart",
                "minCartValueMinor",
                "expireAfterMs",
                "customerCooldownMs"
            ]
        );
        assert!(
            RecoveryPolicy::with_single_delay(TimeDelta::milliseconds(5))
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn delays_are_spoken_in_messages() {
        assert_eq!(spoken(2_700_000), "45 minutes (2700000 ms)");
        assert_eq!(spoken(DAY_MS), "1 day (86400000 ms)");
        assert_eq!(spoken(1_500), "1500 ms");
        let mut policy = RecoveryPolicy::default();
        policy.steps[1] = RecoveryStep::after(60_000);
        let problem = policy.validate().unwrap_err();
        assert_eq!(
            problem.message,
            "must be longer than the previous step's delay, 1 hour (3600000 ms): delays increase"
        );
    }

    #[test]
    fn step_settings_are_validated_by_path() {
        let policy = RecoveryPolicy {
            step_settings: vec![
                StepSettings {
                    template: Some("custom:spring".into()),
                    coupon: Some(CouponRule::Generated {
                        pattern: "SPRING-{random}".into(),
                    }),
                },
                StepSettings {
                    template: Some("fancy".into()),
                    coupon: None,
                },
                StepSettings {
                    template: None,
                    coupon: Some(CouponRule::Static { code: "".into() }),
                },
            ],
            ..RecoveryPolicy::default()
        };
        assert_eq!(
            fields(&policy),
            ["stepSettings[1].template", "stepSettings[2].coupon.code"]
        );
        let too_many = RecoveryPolicy {
            step_settings: vec![StepSettings::default(); 4],
            ..RecoveryPolicy::default()
        };
        assert_eq!(fields(&too_many), ["stepSettings"]);
    }

    #[test]
    fn quiet_hours_and_zone_are_validated() {
        let with = |start: &str, end: &str, zone: &str| RecoveryPolicy {
            quiet_hours: Some(QuietHours {
                start: start.into(),
                end: end.into(),
            }),
            time_zone: zone.into(),
            ..RecoveryPolicy::default()
        };
        assert!(
            with("22:00", "08:00", "Europe/Amsterdam")
                .validate()
                .is_ok()
        );
        assert!(
            with("12:00", "14:00", "America/New_York")
                .validate()
                .is_ok()
        );
        assert_eq!(fields(&with("08:00", "08:00", "UTC")), ["quietHours"]);
        assert_eq!(fields(&with("8", "08:00", "UTC")), ["quietHours.start"]);
        assert_eq!(fields(&with("22:00", "08:00", "Nowhere")), ["timeZone"]);
        let invalid = with("22:00", "08:00", "Nowhere");
        assert_eq!(invalid.zone(), Tz::UTC);
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
        assert_eq!(partial.time_zone, "UTC");
        let full: RecoveryPolicy = serde_json::from_str(
            r#"{"steps":[{"delayMs":1000}],"stepSettings":[{"template":"minimal",
            "coupon":{"kind":"generated","pattern":"X-{random}"}}],"customerCooldownMs":86400000,
            "quietHours":{"start":"22:00","end":"08:00"},"timeZone":"Europe/Amsterdam",
            "requireConsent":true}"#,
        )
        .unwrap();
        assert!(full.validate().is_ok());
        assert_eq!(full.customer_cooldown(), Some(TimeDelta::days(1)));
        assert!(full.require_consent);
    }
}
