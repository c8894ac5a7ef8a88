//! What an experiment is made of: its groups, their traffic shares and, for an
//! A/B test, what each group changes in the recovery flow; and how a group's
//! variant turns the shop's policy into the one its carts are handled by.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::analysis::{Comparison, GroupTally, SampleSize, compare, sample_size};
use super::assignment::{GroupShare, TrafficSplit};
use super::intervals::Verdict;
use crate::coupon::CouponRule;
use crate::error::InvalidValue;
use crate::policy::{RecoveryPolicy, RecoveryStep, StepSettings};

/// The longest subject, preheader, headline or button text a variant may set.
pub const MAX_VARIANT_LINE: usize = 200;
/// The longest body text a variant may set.
pub const MAX_VARIANT_BODY: usize = 5000;

/// The words of one step's email a variant replaces; None keeps the shop's.
/// They replace the shop's words in whatever language the email is in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct VariantCopy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preheader: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headline: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub button_text: Option<String>,
}

impl VariantCopy {
    fn validate(&self) -> Result<(), InvalidValue> {
        let lines = [
            ("subject", &self.subject),
            ("preheader", &self.preheader),
            ("headline", &self.headline),
            ("buttonText", &self.button_text),
        ];
        for (field, value) in lines {
            let Some(value) = value else { continue };
            if value.trim().is_empty() || value.chars().count() > MAX_VARIANT_LINE {
                return Err(InvalidValue::new(format!(
                    "must be 1 to {MAX_VARIANT_LINE} characters, not blank"
                ))
                .at(field));
            }
            if value.chars().any(char::is_control) {
                return Err(
                    InvalidValue::new("must be one line without control characters").at(field),
                );
            }
        }
        if let Some(body) = &self.body
            && (body.trim().is_empty() || body.chars().count() > MAX_VARIANT_BODY)
        {
            return Err(InvalidValue::new(format!(
                "must be 1 to {MAX_VARIANT_BODY} characters, not blank"
            ))
            .at("body"));
        }
        Ok(())
    }
}

/// What a variant changes in one step of the sequence. Every field left out
/// keeps the shop's setting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct StepVariant {
    /// Which step (0-based) of the sequence the group's carts get.
    pub step: u32,
    /// The step's delay after the cart's last activity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// A design (`minimal`, `product_grid`, …, or `custom:<name>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// A coupon for this step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupon: Option<CouponRule>,
    /// No coupon in this step, whatever the shop's policy offers.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_coupon: bool,
    /// Other words for this step's email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy: Option<VariantCopy>,
}

/// A whole sequence in place of the shop's: its steps and their settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct VariantSequence {
    pub steps: Vec<RecoveryStep>,
    pub step_settings: Vec<StepSettings>,
}

/// What one group of an experiment changes in the recovery flow. The empty
/// variant is the shop's own policy (the reference of an A/B test).
///
/// ```
/// use cartback_domain::{RecoveryPolicy, StepVariant, Variant, VariantCopy};
/// let variant = Variant {
///     sequence: None,
///     steps: vec![StepVariant {
///         step: 0,
///         delay_ms: Some(30 * 60_000),
///         copy: Some(VariantCopy { subject: Some("Still thinking?".into()), ..VariantCopy::default() }),
///         ..StepVariant::default()
///     }],
/// };
/// let policy = variant.apply(&RecoveryPolicy::default());
/// assert_eq!(policy.steps[0].delay_ms, 1_800_000);
/// assert_eq!(variant.copy_for(0).unwrap().subject.as_deref(), Some("Still thinking?"));
/// assert!(variant.copy_for(1).is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Variant {
    /// Replaces the shop's whole sequence (then `steps` change this one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<VariantSequence>,
    /// Changes to single steps, at most one entry per step.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepVariant>,
}

impl Variant {
    pub fn is_empty(&self) -> bool {
        self.sequence.is_none() && self.steps.is_empty()
    }

    /// The policy this variant's carts are handled by: the shop's, with the
    /// sequence replaced and the steps changed. Changes to steps the
    /// sequence does not have are ignored.
    pub fn apply(&self, base: &RecoveryPolicy) -> RecoveryPolicy {
        let mut policy = base.clone();
        if let Some(sequence) = &self.sequence {
            policy.steps = sequence.steps.clone();
            policy.step_settings = sequence.step_settings.clone();
        }
        for change in &self.steps {
            let index = change.step as usize;
            if index >= policy.steps.len() {
                continue;
            }
            if let Some(delay_ms) = change.delay_ms {
                policy.steps[index].delay_ms = delay_ms;
            }
            if change.template.is_some() || change.coupon.is_some() || change.no_coupon {
                if policy.step_settings.len() <= index {
                    policy
                        .step_settings
                        .resize(index + 1, StepSettings::default());
                }
                let settings = &mut policy.step_settings[index];
                if let Some(template) = &change.template {
                    settings.template = Some(template.clone());
                }
                if change.no_coupon {
                    settings.coupon = None;
                } else if let Some(coupon) = &change.coupon {
                    settings.coupon = Some(coupon.clone());
                }
            }
        }
        policy
    }

    /// The words this variant sets for `step`, if any.
    pub fn copy_for(&self, step: u32) -> Option<&VariantCopy> {
        self.steps
            .iter()
            .find(|change| change.step == step)
            .and_then(|change| change.copy.as_ref())
    }

    /// Checks the variant on its own and against `base`, the shop's policy
    /// now: the resulting policy must be valid. Errors name the field
    /// (`steps[0].copy.subject`, `sequence.steps[1].delayMs`).
    pub fn validate(&self, base: &RecoveryPolicy) -> Result<(), InvalidValue> {
        for (i, change) in self.steps.iter().enumerate() {
            let at = format!("steps[{i}]");
            if change.step as usize >= RecoveryPolicy::MAX_STEPS {
                return Err(InvalidValue::new(format!(
                    "must be a step index below {}",
                    RecoveryPolicy::MAX_STEPS
                ))
                .at(format!("{at}.step")));
            }
            if self.steps[..i]
                .iter()
                .any(|other| other.step == change.step)
            {
                return Err(InvalidValue::new("another entry changes the same step")
                    .at(format!("{at}.step")));
            }
            if change.no_coupon && change.coupon.is_some() {
                return Err(InvalidValue::new("cannot be set together with a coupon")
                    .at(format!("{at}.noCoupon")));
            }
            StepSettings {
                template: change.template.clone(),
                coupon: change.coupon.clone(),
            }
            .validate()
            .map_err(|e| e.within(&at))?;
            if let Some(copy) = &change.copy {
                copy.validate()
                    .map_err(|e| e.within(&format!("{at}.copy")))?;
            }
        }
        let steps = self
            .sequence
            .as_ref()
            .map_or(base.steps.len(), |s| s.steps.len());
        if let Some(entry) = self.steps.iter().position(|c| c.step as usize >= steps) {
            return Err(
                InvalidValue::new(format!("the sequence has only {steps} steps"))
                    .at(format!("steps[{entry}].step")),
            );
        }
        if let Some(problem) = self.apply(base).problems().into_iter().next() {
            // The policy's own paths (`steps[1].delayMs`) are the sequence's.
            return Err(if self.sequence.is_some() {
                problem.within("sequence")
            } else {
                problem
            });
        }
        Ok(())
    }
}

/// The longest experiment name, in characters.
pub const MAX_EXPERIMENT_NAME: usize = 100;

/// An experiment's name, trimmed: 1 to [`MAX_EXPERIMENT_NAME`] characters
/// without control characters.
///
/// ```
/// use cartback_domain::experiment_name;
/// assert_eq!(experiment_name("  Spring holdout ").unwrap(), "Spring holdout");
/// assert!(experiment_name(" ").is_err());
/// assert!(experiment_name("a\tb").is_err());
/// ```
pub fn experiment_name(name: &str) -> Result<String, InvalidValue> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_EXPERIMENT_NAME {
        return Err(InvalidValue::new(format!(
            "must be 1 to {MAX_EXPERIMENT_NAME} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(InvalidValue::new("must not contain control characters"));
    }
    Ok(name.to_owned())
}

/// One group of an experiment: its share, whether it is the holdout, and
/// what it changes in the flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExperimentGroup {
    /// `[a-z0-9_-]`, 1 to 32 characters, unique within the experiment.
    pub name: String,
    /// Share of shoppers, in basis points (1000 = 10 %).
    pub basis_points: u32,
    /// A holdout group gets no recovery email.
    #[serde(default)]
    pub holdout: bool,
    #[serde(default, skip_serializing_if = "Variant::is_empty")]
    pub variant: Variant,
}

impl ExperimentGroup {
    pub fn share(&self) -> GroupShare {
        GroupShare {
            name: self.name.clone(),
            basis_points: self.basis_points,
            holdout: self.holdout,
        }
    }
}

/// Whether an experiment holds carts back or compares versions of the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentKind {
    /// One group gets no email; the others are measured against it.
    Holdout,
    /// Every group gets emails; the first group is the reference.
    Ab,
}

impl ExperimentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExperimentKind::Holdout => "holdout",
            ExperimentKind::Ab => "ab",
        }
    }

    pub fn parse(s: &str) -> Option<ExperimentKind> {
        match s {
            "holdout" => Some(ExperimentKind::Holdout),
            "ab" => Some(ExperimentKind::Ab),
            _ => None,
        }
    }
}

/// The groups of an experiment, checked: a valid traffic split, no variant
/// on the holdout (it gets no email to vary), every variant valid against
/// the shop's policy.
///
/// ```
/// use cartback_domain::{ExperimentDesign, ExperimentGroup, ExperimentKind, RecoveryPolicy, Variant};
/// let group = |name: &str, basis_points, holdout| ExperimentGroup {
///     name: name.into(), basis_points, holdout, variant: Variant::default(),
/// };
/// let design = ExperimentDesign::new(
///     vec![group("holdout", 1000, true), group("emails", 9000, false)],
///     &RecoveryPolicy::default(),
/// ).unwrap();
/// assert_eq!(design.kind(), ExperimentKind::Holdout);
/// assert_eq!(design.control().name, "holdout");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExperimentDesign {
    groups: Vec<ExperimentGroup>,
    split: TrafficSplit,
}

impl ExperimentDesign {
    pub fn new(
        groups: Vec<ExperimentGroup>,
        policy: &RecoveryPolicy,
    ) -> Result<ExperimentDesign, InvalidValue> {
        if let Some(problem) = Self::problems(&groups, policy).into_iter().next() {
            return Err(problem);
        }
        let split = TrafficSplit::new(groups.iter().map(ExperimentGroup::share).collect())?;
        Ok(ExperimentDesign { groups, split })
    }

    /// Every problem of these groups that [`ExperimentDesign::new`] would
    /// refuse, so a form can show them all at once: the traffic split's first
    /// problem, then each group's variant's first.
    ///
    /// ```
    /// use cartback_domain::{ExperimentDesign, ExperimentGroup, RecoveryPolicy, StepVariant, Variant};
    /// let late = Variant {
    ///     sequence: None,
    ///     steps: vec![StepVariant { step: 5, ..StepVariant::default() }],
    /// };
    /// let groups = vec![
    ///     ExperimentGroup { name: "A".into(), basis_points: 5000, holdout: false, variant: Variant::default() },
    ///     ExperimentGroup { name: "b".into(), basis_points: 5000, holdout: false, variant: late },
    /// ];
    /// let fields: Vec<_> = ExperimentDesign::problems(&groups, &RecoveryPolicy::default())
    ///     .into_iter()
    ///     .filter_map(|p| p.field)
    ///     .collect();
    /// assert_eq!(fields, ["groups[0].name", "groups[1].variant.steps[0].step"]);
    /// ```
    pub fn problems(groups: &[ExperimentGroup], policy: &RecoveryPolicy) -> Vec<InvalidValue> {
        let mut problems = Vec::new();
        if let Err(problem) = TrafficSplit::new(groups.iter().map(ExperimentGroup::share).collect())
        {
            problems.push(problem);
        }
        for (i, group) in groups.iter().enumerate() {
            let at = format!("groups[{i}].variant");
            if group.holdout && !group.variant.is_empty() {
                problems
                    .push(InvalidValue::new("the holdout gets no email: it has no variant").at(at));
            } else if let Err(problem) = group.variant.validate(policy) {
                problems.push(problem.within(&at));
            }
        }
        problems
    }

    /// The stored groups, trusted (they were checked when the experiment was
    /// made; the shop's policy may have changed since, which only changes
    /// what an empty part of a variant means).
    pub fn stored(groups: Vec<ExperimentGroup>) -> Result<ExperimentDesign, InvalidValue> {
        let split = TrafficSplit::new(groups.iter().map(ExperimentGroup::share).collect())?;
        Ok(ExperimentDesign { groups, split })
    }

    pub fn groups(&self) -> &[ExperimentGroup] {
        &self.groups
    }

    pub fn split(&self) -> &TrafficSplit {
        &self.split
    }

    pub fn kind(&self) -> ExperimentKind {
        if self.groups.iter().any(|g| g.holdout) {
            ExperimentKind::Holdout
        } else {
            ExperimentKind::Ab
        }
    }

    /// The group the others are measured against: the holdout, or else the
    /// first group.
    pub fn control(&self) -> &ExperimentGroup {
        self.groups
            .iter()
            .find(|g| g.holdout)
            .unwrap_or(&self.groups[0])
    }

    pub fn group(&self, name: &str) -> Option<&ExperimentGroup> {
        self.groups.iter().find(|g| g.name == name)
    }
}

/// One group of an experiment measured against the control group.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupReport {
    pub group: String,
    /// [`compare`] of the control's tally and this group's.
    pub comparison: Comparison,
    /// The absolute lift's verdict; inconclusive while either group has no
    /// carts. No winner while it is inconclusive.
    pub verdict: Verdict,
    /// Carts each side needs to detect the planned lift, from the control's
    /// current rate and the two groups' shares; None while the control has
    /// no carts or the lift cannot be planned.
    pub sample_size: Option<SampleSize>,
    /// What is still missing of `sample_size`.
    pub still_needed: Option<SampleSize>,
}

/// Every group but the control against the control ([`ExperimentDesign::control`]),
/// with the sample sizes to detect `detectable_lift` (an absolute lift, 0.02
/// = two percentage points). Groups without a tally count as empty.
///
/// ```
/// use std::collections::BTreeMap;
/// use cartback_domain::{experiment_report, Currency, ExperimentDesign, ExperimentGroup, GroupTally, RecoveryPolicy, Variant, Verdict};
/// let group = |name: &str, holdout| ExperimentGroup { name: name.into(), basis_points: 5000, holdout, variant: Variant::default() };
/// let design = ExperimentDesign::new(vec![group("holdout", true), group("emails", false)], &RecoveryPolicy::default()).unwrap();
/// let mut tallies = BTreeMap::new();
/// let mut held_out = GroupTally::default();
/// held_out.add_cart(Currency::EUR, None);
/// tallies.insert("holdout".to_owned(), held_out);
/// let report = experiment_report(&design, &tallies, 0.02);
/// assert_eq!(report.len(), 1);
/// assert_eq!(report[0].group, "emails");
/// assert_eq!(report[0].verdict, Verdict::Inconclusive); // no emailed cart yet
/// ```
pub fn experiment_report(
    design: &ExperimentDesign,
    tallies: &BTreeMap<String, GroupTally>,
    detectable_lift: f64,
) -> Vec<GroupReport> {
    let empty = GroupTally::default();
    let control = design.control();
    let control_tally = tallies.get(&control.name).unwrap_or(&empty);
    design
        .groups()
        .iter()
        .filter(|group| group.name != control.name)
        .map(|group| {
            let tally = tallies.get(&group.name).unwrap_or(&empty);
            let comparison = compare(control_tally, tally);
            let verdict = comparison
                .conversion
                .map_or(Verdict::Inconclusive, |c| c.absolute.verdict);
            let plan = control_tally.conversion_rate().and_then(|rate| {
                sample_size(
                    rate,
                    detectable_lift,
                    f64::from(control.basis_points) / f64::from(group.basis_points),
                )
            });
            GroupReport {
                group: group.name.clone(),
                comparison,
                verdict,
                still_needed: plan.map(|p| p.still_needed(tally.carts, control_tally.carts)),
                sample_size: plan,
            }
        })
        .collect()
}

/// A short, stable name of a policy's content: the first 8 bytes of the
/// SHA-256 of its JSON, in hex. Recorded with a cart's group, so an analysis
/// can tell carts assigned under different policies apart.
///
/// ```
/// use cartback_domain::{policy_version, RecoveryPolicy};
/// let v = policy_version(&RecoveryPolicy::default());
/// assert_eq!(v.len(), 16);
/// let other = RecoveryPolicy { max_emails_per_cart: 1, ..RecoveryPolicy::default() };
/// assert_ne!(v, policy_version(&other));
/// ```
pub fn policy_version(policy: &RecoveryPolicy) -> String {
    // Serialising a plain struct of strings and numbers cannot fail.
    let json = serde_json::to_vec(policy).unwrap_or_default();
    let digest = Sha256::digest(&json);
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str, basis_points: u32, holdout: bool, variant: Variant) -> ExperimentGroup {
        ExperimentGroup {
            name: name.into(),
            basis_points,
            holdout,
            variant,
        }
    }

    fn subject(step: u32, text: &str) -> Variant {
        Variant {
            sequence: None,
            steps: vec![StepVariant {
                step,
                copy: Some(VariantCopy {
                    subject: Some(text.into()),
                    ..VariantCopy::default()
                }),
                ..StepVariant::default()
            }],
        }
    }

    #[test]
    fn the_holdout_cannot_carry_a_variant() {
        let error = ExperimentDesign::new(
            vec![
                group("holdout", 1000, true, subject(0, "x")),
                group("emails", 9000, false, Variant::default()),
            ],
            &RecoveryPolicy::default(),
        )
        .unwrap_err();
        assert_eq!(error.field.as_deref(), Some("groups[0].variant"));
    }

    #[test]
    fn variant_errors_name_their_field() {
        let policy = RecoveryPolicy::default();
        let field = |variant: Variant| {
            ExperimentDesign::new(
                vec![
                    group("a", 5000, false, Variant::default()),
                    group("b", 5000, false, variant),
                ],
                &policy,
            )
            .unwrap_err()
            .field
            .unwrap()
        };
        assert_eq!(
            field(subject(0, " ")),
            "groups[1].variant.steps[0].copy.subject"
        );
        assert_eq!(
            field(subject(0, "a\nb")),
            "groups[1].variant.steps[0].copy.subject"
        );
        assert_eq!(field(subject(7, "late")), "groups[1].variant.steps[0].step");
        let too_slow = Variant {
            sequence: None,
            steps: vec![StepVariant {
                step: 1,
                delay_ms: Some(1),
                ..StepVariant::default()
            }],
        };
        assert_eq!(field(too_slow), "groups[1].variant.steps[1].delayMs");
        let empty_sequence = Variant {
            sequence: Some(VariantSequence::default()),
            steps: Vec::new(),
        };
        assert_eq!(field(empty_sequence), "groups[1].variant.sequence.steps");
        let both = Variant {
            sequence: None,
            steps: vec![StepVariant {
                step: 0,
                no_coupon: true,
                coupon: Some(CouponRule::Static { code: "X10".into() }),
                ..StepVariant::default()
            }],
        };
        assert_eq!(field(both), "groups[1].variant.steps[0].noCoupon");
    }

    #[test]
    fn a_variant_changes_only_what_it_names() {
        let base = RecoveryPolicy {
            step_settings: vec![StepSettings {
                template: Some("bold_banner".into()),
                coupon: Some(CouponRule::Static {
                    code: "BACK10".into(),
                }),
            }],
            ..RecoveryPolicy::default()
        };
        let variant = Variant {
            sequence: None,
            steps: vec![
                StepVariant {
                    step: 0,
                    no_coupon: true,
                    ..StepVariant::default()
                },
                StepVariant {
                    step: 2,
                    template: Some("text_first".into()),
                    ..StepVariant::default()
                },
            ],
        };
        let policy = variant.apply(&base);
        assert_eq!(policy.settings_for(0).coupon, None);
        assert_eq!(
            policy.settings_for(0).template.as_deref(),
            Some("bold_banner")
        );
        assert_eq!(policy.settings_for(1), &StepSettings::default());
        assert_eq!(
            policy.settings_for(2).template.as_deref(),
            Some("text_first")
        );
        assert_eq!(policy.steps, base.steps);
        assert!(policy.validate().is_ok());
        assert_eq!(Variant::default().apply(&base), base);
    }

    #[test]
    fn a_held_out_cart_is_abandoned_and_expires_without_email() {
        use crate::cart::CartStatus;
        use crate::decision::{CartFacts, NoSendReason, SendContext, evaluate_with};
        use chrono::{TimeDelta, TimeZone, Utc};
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        let cart = CartFacts {
            status: CartStatus::Active,
            item_count: 1,
            total_minor: 1000,
            has_email: true,
            unsubscribed: false,
            deleted: false,
            created_at: t0,
            last_activity_at: t0,
            next_step: 0,
        };
        let policy = RecoveryPolicy::default();
        let held_out = SendContext {
            held_out: true,
            ..SendContext::default()
        };
        let due = evaluate_with(&cart, &held_out, &policy, t0 + TimeDelta::hours(1));
        assert_eq!(due.transition, Some(CartStatus::Abandoned));
        assert_eq!(
            (due.send_now, due.no_send),
            (None, Some(NoSendReason::HeldOut))
        );
        // Same abandonment time as an emailed cart, which gets its email then.
        let emailed = evaluate_with(
            &cart,
            &SendContext::default(),
            &policy,
            t0 + TimeDelta::hours(1),
        );
        assert_eq!(
            (emailed.transition, emailed.send_now),
            (Some(CartStatus::Abandoned), Some(0))
        );
        let abandoned = CartFacts {
            status: CartStatus::Abandoned,
            ..cart
        };
        let late = evaluate_with(&abandoned, &held_out, &policy, t0 + policy.expire_after());
        assert_eq!(late.transition, Some(CartStatus::Expired));
    }

    #[test]
    fn groups_round_trip_through_json() {
        let groups = vec![
            group("a", 5000, false, Variant::default()),
            group("b", 5000, false, subject(0, "Hello")),
        ];
        let json = serde_json::to_string(&groups).unwrap();
        assert_eq!(
            serde_json::from_str::<Vec<ExperimentGroup>>(&json).unwrap(),
            groups
        );
    }
}
