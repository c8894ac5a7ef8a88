//! Experiments on the recovery flow: who is in which group (a holdout that
//! gets no email, or variants of the flow), and what the groups' carts say
//! about the flow's effect, with honest 95 % intervals. Pure: keys and
//! tallies come in as arguments. docs/experiments.md says what each number
//! means.

mod analysis;
mod assignment;
mod design;
mod distributions;
mod intervals;
mod promotion;

pub use analysis::{
    Comparison, GroupFigures, GroupTally, Lift, POWER, RateLift, RevenueLift, RevenueTally,
    SampleSize, compare, sample_size,
};
pub use assignment::{BUCKETS, GroupShare, MAX_GROUPS, Shopper, TrafficSplit, assignment_bucket};
pub use design::{
    ExperimentDesign, ExperimentGroup, ExperimentKind, GroupReport, MAX_EXPERIMENT_NAME,
    MAX_VARIANT_BODY, MAX_VARIANT_LINE, StepVariant, Variant, VariantCopy, VariantSequence,
    experiment_name, experiment_report, policy_version,
};
pub use distributions::{normal_quantile, t_upper_quantile};
pub use intervals::{
    CONFIDENCE, Interval, SampleMoments, Verdict, newcombe_interval, ratio_interval,
    welch_interval, wilson_interval,
};
pub use promotion::{Promotion, PromotionRefusal, promotion};
