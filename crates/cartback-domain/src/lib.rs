#![doc = include_str!("../README.md")]

mod analytics;
mod attributes;
mod attribution;
pub mod bounds;
mod cart;
mod coupon;
mod currency;
mod decision;
mod email_address;
mod error;
pub mod experiment;
mod item;
mod language_ids;
mod locale;
mod money;
pub mod net;
mod origin;
mod period_preset;
mod policy;
mod quiet_hours;
mod session;
mod shop;
mod simulation;
mod template_choice;
mod tenant_status;
mod user_role;

pub use analytics::{
    AbandonedFact, AbandonedTally, Analytics, AnalyticsInput, AnalyticsPeriod, AnalyticsTallies,
    DailyStats, FunnelStep, MAX_COUNT_INTERVAL_DAYS, MAX_PERIOD_DAYS, OrderAttribution, OrderFact,
    OrderTally, SendFact, Summary, TZDB_VERSION, analyze, analyze_tallies, count_interval,
    local_date, local_day_span, rate, start_of_local_day, totals_by_currency,
};
pub use attributes::{
    AttributeValue, Attributes, MAX_ATTRIBUTES, apply_attributes, attributes_to_wire,
    parse_attribute, validate_attribute_name, whole_number,
};
pub use attribution::{CartCandidate, MatchedBy, OrderSource, match_order, recovered_revenue};
pub use cart::{
    AttributionMode, CartStatus, ClosedCart, MerchantChange, MerchantEdit, RecoveryHistory,
    ScheduleChange, UpdateOutcome, on_cart_update, on_merchant_edit, on_order,
};
pub use chrono_tz::Tz;
pub use coupon::{CouponRule, RANDOM_PLACEHOLDER};
pub use currency::Currency;
pub use decision::{
    CartFacts, Evaluation, NoSendReason, ScheduledSend, SendContext, WaitReason,
    address_day_cap_until, evaluate, evaluate_with, left_to_the_shop, next_send, next_send_with,
    retry_delay, unreachable_reason,
};
pub use email_address::{CustomerName, EmailAddress};
pub use error::InvalidValue;
pub use experiment::{
    Comparison, ExperimentDesign, ExperimentGroup, ExperimentKind, GroupFigures, GroupReport,
    GroupShare, GroupTally, Interval, Lift, Promotion, PromotionRefusal, RateLift, RevenueLift,
    RevenueTally, SampleMoments, SampleSize, Shopper, StepVariant, TrafficSplit, Variant,
    VariantCopy, VariantSequence, Verdict, assignment_bucket, compare, experiment_name,
    experiment_report, newcombe_interval, normal_quantile, policy_version, promotion,
    ratio_interval, sample_size, t_upper_quantile, welch_interval, wilson_interval,
};
pub use item::{
    CartItem, MAX_ITEMS_PER_CART, items_total, validate_item_id, validate_item_name, validate_link,
    validate_quantity, validate_unit_price,
};
pub use language_ids::{
    LanguageId, MAX_LANGUAGE_ID_LEN, MAX_LANGUAGE_IDS, locale_of_language, parse_language_ids,
};
pub use locale::parse_locale;
pub use money::{Money, MoneyError};
pub use origin::{MAX_ALLOWED_ORIGINS, MAX_ORIGIN_LEN, normalize_origin, parse_origins_list};
pub use period_preset::PeriodPreset;
pub use policy::{RecoveryPolicy, RecoveryStep, StepSettings};
pub use quiet_hours::{
    QuietHours, QuietWindow, parse_clock_time, parse_time_zone, time_zone_names,
};
pub use session::SessionId;
pub use shop::{
    Edit, MAX_KEY_LABEL_CHARS, MAX_SENDER_NAME_CHARS, MAX_SHOP_NAME_CHARS, SHOP_FIELDS,
    ShopSettings, ShopSettingsEdit, parse_key_label,
};
pub use simulation::{
    HoldoutPopulation, SeededRandom, SentEmail, ShopperSimulation, SimulatedCart,
};
pub use template_choice::{BUILTIN_DESIGNS, CUSTOM_PREFIX, TemplateChoice, parse_template_name};
pub use tenant_status::TenantStatus;
pub use user_role::UserRole;
