//! Promoting a group of an A/B test: which group may become the shop's flow,
//! what the policy becomes, and whether doing so is a deliberate guess. The
//! API and the dashboard both ask this one function, so they refuse alike.

use std::collections::BTreeMap;

use super::analysis::GroupTally;
use super::design::{ExperimentDesign, ExperimentKind, Variant, experiment_report};
use super::intervals::Verdict;
use crate::error::InvalidValue;
use crate::policy::RecoveryPolicy;

/// Why a group cannot be promoted at all (forcing does not help).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromotionRefusal {
    /// A holdout measures the flow as it is; it has no variant to promote.
    #[error("a holdout has no variant to promote: it measures the flow as it is")]
    Holdout,
    #[error("is not a group of this experiment")]
    UnknownGroup,
    /// The group's variant applied to the shop's policy as it is now is not
    /// a valid policy (the policy changed since the experiment was made).
    #[error("its variant no longer fits the policy: {0}")]
    NoLongerFits(InvalidValue),
}

/// What promoting a group would do.
#[derive(Debug, Clone, PartialEq)]
pub struct Promotion<'a> {
    /// The group's variant (empty for the reference group).
    pub variant: &'a Variant,
    /// The recovery policy after the promotion.
    pub policy: RecoveryPolicy,
    /// The group's verdict against the control; None for the control itself.
    pub verdict: Option<Verdict>,
}

impl Promotion<'_> {
    /// Whether promoting needs the caller to insist: the group is not clearly
    /// better than the control (its lift's interval spans zero or lies below
    /// it). Promoting the control ("keep what we have") never does.
    pub fn needs_force(&self) -> bool {
        self.verdict.is_some_and(|v| v != Verdict::Better)
    }
}

/// What promoting `group` of an A/B test would make of `policy`, the shop's
/// policy now, given the groups' tallies.
///
/// ```
/// use std::collections::BTreeMap;
/// use cartback_domain::{
///     ExperimentDesign, ExperimentGroup, PromotionRefusal, RecoveryPolicy, StepVariant, Variant,
///     promotion,
/// };
/// let faster = Variant {
///     sequence: None,
///     steps: vec![StepVariant { step: 0, delay_ms: Some(1_800_000), ..StepVariant::default() }],
/// };
/// let group = |name: &str, variant| ExperimentGroup { name: name.into(), basis_points: 5000, holdout: false, variant };
/// let policy = RecoveryPolicy::default();
/// let design = ExperimentDesign::new(vec![group("a", Variant::default()), group("b", faster)], &policy).unwrap();
/// let plan = promotion(&design, &BTreeMap::new(), "b", &policy).unwrap();
/// assert_eq!(plan.policy.steps[0].delay_ms, 1_800_000);
/// assert!(plan.needs_force()); // no carts yet: no winner
/// assert!(!promotion(&design, &BTreeMap::new(), "a", &policy).unwrap().needs_force());
/// assert_eq!(promotion(&design, &BTreeMap::new(), "c", &policy).unwrap_err(), PromotionRefusal::UnknownGroup);
/// ```
pub fn promotion<'a>(
    design: &'a ExperimentDesign,
    tallies: &BTreeMap<String, GroupTally>,
    group: &str,
    policy: &RecoveryPolicy,
) -> Result<Promotion<'a>, PromotionRefusal> {
    if design.kind() == ExperimentKind::Holdout {
        return Err(PromotionRefusal::Holdout);
    }
    let winner = design.group(group).ok_or(PromotionRefusal::UnknownGroup)?;
    let new_policy = winner.variant.apply(policy);
    new_policy
        .validate()
        .map_err(PromotionRefusal::NoLongerFits)?;
    // The planned lift only sizes samples; the verdict does not depend on it.
    let verdict = experiment_report(design, tallies, 0.02)
        .into_iter()
        .find(|report| report.group == group)
        .map(|report| report.verdict);
    Ok(Promotion {
        variant: &winner.variant,
        policy: new_policy,
        verdict,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Currency, ExperimentGroup, StepVariant};

    fn group(name: &str, holdout: bool, variant: Variant) -> ExperimentGroup {
        ExperimentGroup {
            name: name.into(),
            basis_points: 5000,
            holdout,
            variant,
        }
    }

    fn tally(carts: u64, recovered: u64) -> GroupTally {
        let mut tally = GroupTally::default();
        for i in 0..carts {
            tally.add_cart(Currency::EUR, (i < recovered).then_some(1000));
        }
        tally
    }

    #[test]
    fn a_holdout_has_nothing_to_promote() {
        let policy = RecoveryPolicy::default();
        let design = ExperimentDesign::new(
            vec![
                group("holdout", true, Variant::default()),
                group("emails", false, Variant::default()),
            ],
            &policy,
        )
        .unwrap();
        assert_eq!(
            promotion(&design, &BTreeMap::new(), "emails", &policy).unwrap_err(),
            PromotionRefusal::Holdout
        );
    }

    #[test]
    fn only_a_clear_winner_goes_without_force() {
        let policy = RecoveryPolicy::default();
        let no_coupon = Variant {
            sequence: None,
            steps: vec![StepVariant {
                step: 0,
                no_coupon: true,
                ..StepVariant::default()
            }],
        };
        let design = ExperimentDesign::new(
            vec![
                group("a", false, Variant::default()),
                group("b", false, no_coupon),
            ],
            &policy,
        )
        .unwrap();
        let tallies = |a: (u64, u64), b: (u64, u64)| {
            BTreeMap::from([
                ("a".to_owned(), tally(a.0, a.1)),
                ("b".to_owned(), tally(b.0, b.1)),
            ])
        };
        let clear = tallies((1000, 50), (1000, 150));
        let plan = promotion(&design, &clear, "b", &policy).unwrap();
        assert_eq!(plan.verdict, Some(Verdict::Better));
        assert!(!plan.needs_force());
        let spans_zero = tallies((1000, 50), (1000, 55));
        let plan = promotion(&design, &spans_zero, "b", &policy).unwrap();
        assert_eq!(plan.verdict, Some(Verdict::Inconclusive));
        assert!(plan.needs_force());
        let worse = tallies((1000, 150), (1000, 50));
        assert!(
            promotion(&design, &worse, "b", &policy)
                .unwrap()
                .needs_force()
        );
        // The control is the reference: keeping it needs no insisting.
        let keep = promotion(&design, &worse, "a", &policy).unwrap();
        assert_eq!((keep.verdict, keep.needs_force()), (None, false));
        assert_eq!(keep.policy, policy);
    }

    #[test]
    fn a_variant_that_no_longer_fits_is_refused_by_field() {
        let made_under = RecoveryPolicy::default();
        let later_second_email = Variant {
            sequence: None,
            steps: vec![StepVariant {
                step: 0,
                delay_ms: Some(20 * 3_600_000),
                ..StepVariant::default()
            }],
        };
        let design = ExperimentDesign::new(
            vec![
                group("a", false, Variant::default()),
                group("b", false, later_second_email),
            ],
            &made_under,
        )
        .unwrap();
        // The shop since moved its second email to 10 hours.
        let mut now = made_under.clone();
        now.steps[1].delay_ms = 10 * 3_600_000;
        match promotion(&design, &BTreeMap::new(), "b", &now) {
            Err(PromotionRefusal::NoLongerFits(error)) => {
                assert_eq!(error.field.as_deref(), Some("steps[1].delayMs"));
            }
            other => panic!("{other:?}"),
        }
    }
}
