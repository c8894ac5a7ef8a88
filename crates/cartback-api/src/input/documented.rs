//! The shapes of request bodies and queries that several routes share, as
//! the OpenAPI document shows them. Nothing builds these types: the
//! handlers read requests field by field ([`crate::input`]), and
//! schemathesis holds the document and the handlers together (valid data
//! accepted, invalid data refused). Shapes only one route reads live in
//! that route's `request` module.

#![expect(
    dead_code,
    reason = "schema-only types: the document describes them, nothing builds them"
)]

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

/// A key the shop may send as a string (1–200 characters, no control
/// characters) or as an integer (within 64 bits; larger ids go as strings).
#[derive(Serialize)]
pub struct StringOrInteger;

impl utoipa::PartialSchema for StringOrInteger {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::input::shapes::string_or_integer().into()
    }
}

impl ToSchema for StringOrInteger {}

/// A typed custom attribute: `name` and exactly one `<type>Value`. In a
/// request, an entry with only a name removes that attribute.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attribute {
    /// 1–64 letters, digits, `_`, `-` or `.`.
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_.-]+$")]
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 1000)]
    pub string_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integer_value: Option<i64>,
    /// `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Date)]
    pub date_value: Option<String>,
    /// RFC 3339; shown in UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub datetime_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boolean_value: Option<bool>,
}

/// One cart line as `/api/v1/track` takes it (also `POST /api/v1/carts/{id}/items`).
/// Other fields are ignored.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrackItem {
    /// 1–200 characters.
    pub id: StringOrInteger,
    /// Up to 500 characters, no control characters.
    #[schema(max_length = 500, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    pub name: Option<String>,
    /// Unit price in major units (`12.5`), ≥ 0, no more decimals than the currency
    /// has, at most 100000000000000 minor units (`cartback_domain::bounds::MAX_AMOUNT_MINOR`).
    #[schema(minimum = 0, maximum = 100_000_000_000_000_i64)]
    pub price: f64,
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub quantity: i64,
    /// An http(s) URL (`image` is accepted too). With a publishable key it is
    /// kept only when it points at an allowed origin or the recovery URL's host.
    #[schema(
        max_length = 2048,
        pattern = "^https?://[^/\\s\\u0000-\\u001F\\u007F-\\u009F][^\\s\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub image_url: Option<String>,
    /// An http(s) URL (`productUrl` is accepted too). With a publishable key it
    /// is kept only when it points at an allowed origin or the recovery URL's host.
    #[schema(
        max_length = 2048,
        pattern = "^https?://[^/\\s\\u0000-\\u001F\\u007F-\\u009F][^\\s\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub url: Option<String>,
}

/// `CART_UPDATE`: upserts the session's cart.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartUpdate {
    /// 1–200 characters, no control characters; at least 16 with a
    /// publishable key (a random id, so no one can guess another shopper's).
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub session_id: String,
    #[schema(max_items = 500)]
    pub items: Vec<TrackItem>,
    /// The cart's value in major units, ≥ 0; the sum of the items when left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = f64, minimum = 0, maximum = 100_000_000_000_000_i64)]
    pub total: Option<f64>,
    #[schema(schema_with = crate::input::shapes::optional_currency)]
    pub currency: Option<String>,
    /// Without it (or null or `""`) the cart is tracked but not emailed.
    #[schema(schema_with = crate::input::shapes::optional_email)]
    pub customer_email: Option<String>,
    /// No control characters; blank means none.
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    pub customer_name: Option<String>,
    /// BCP 47 tag (`nl-NL`), normalised; `""` means none.
    #[schema(max_length = 35, pattern = "^([A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*)?$")]
    pub locale: Option<String>,
    /// The shopper's answer to the shop's consent question.
    pub consent: Option<bool>,
}

/// `status` values a PATCH may set.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CartStatus {
    Active,
    Abandoned,
    Recovered,
    Converted,
    Expired,
}

/// `cartback_domain::PeriodPreset`: in the shop's time zone, each up to now.
#[derive(Serialize, ToSchema)]
pub enum AnalyticsPreset {
    #[serde(rename = "today")]
    Today,
    #[serde(rename = "7d")]
    Days7,
    #[serde(rename = "30d")]
    Days30,
    #[serde(rename = "90d")]
    Days90,
    #[serde(rename = "month")]
    Month,
    #[serde(rename = "year")]
    Year,
}

/// Either `period` or both dates; other parameters are ignored.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsQuery {
    /// Up to now in the shop's time zone: `today`; the last 7, 30 or 90
    /// local days (today included); this calendar `month` or `year` so
    /// far. Default `30d`.
    #[param(inline)]
    pub period: Option<AnalyticsPreset>,
    /// First local day, `YYYY-MM-DD` in the years 1970 to 9999; needs
    /// `endDate`, and no `period`.
    #[param(rename = "startDate", format = Date, pattern = "^(19[7-9][0-9]|[2-9][0-9]{3})-")]
    pub start_date: Option<String>,
    /// Last local day, included: not before `startDate`, at most 366 days
    /// after it.
    #[param(rename = "endDate", format = Date, pattern = "^(19[7-9][0-9]|[2-9][0-9]{3})-")]
    pub end_date: Option<String>,
}

/// The built-in designs.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Design {
    Minimal,
    ProductGrid,
    BoldBanner,
    TextFirst,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryStep {
    /// After the cart's last activity; at most 365 days
    /// (`cartback_domain::bounds::MAX_STEP_DELAY_MS`).
    #[schema(minimum = 1, maximum = 31_536_000_000_u64)]
    pub delay_ms: u64,
}

/// A step's coupon, by `kind`.
#[derive(Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum CouponRule {
    /// The same code in every email: 1–64 of `A-Z 0-9 - _`.
    Static {
        #[schema(max_length = 64, pattern = "^[A-Z0-9_-]+$")]
        code: String,
    },
    /// `pattern` with `{random}` (exactly once) replaced per cart; the rest
    /// `A-Z 0-9 - _`, 64 characters at most.
    Generated {
        #[schema(max_length = 64, pattern = "^[A-Z0-9_-]*\\{random\\}[A-Z0-9_-]*$")]
        pattern: String,
    },
}

#[derive(Serialize, ToSchema)]
pub struct StepSettings {
    /// `minimal`, `product_grid`, `bold_banner`, `text_first` or `custom:{name}`.
    #[schema(
        pattern = "^(minimal|product_grid|bold_banner|text_first|custom:[A-Za-z0-9_-]{1,64})$"
    )]
    pub template: Option<String>,
    pub coupon: Option<CouponRule>,
}

/// The merchant's words for one step; each optional (null is the same as
/// left out: the built-in text).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepCopy {
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

/// Email settings to store or preview: every field optional, unknown ones refused.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmailSettingsInput {
    /// Null is the same as left out (`minimal`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub design: Option<Design>,
    /// An absolute http(s) URL, at most 2048 characters.
    #[schema(schema_with = crate::input::shapes::logo_url)]
    pub logo_url: Option<String>,
    /// `#rgb` or `#rrggbb`.
    #[schema(pattern = "^\\s*#([0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})\\s*$")]
    pub brand_color: Option<String>,
    /// Up to 200 characters, no control characters.
    #[schema(schema_with = crate::input::shapes::short_text)]
    pub button_text: Option<String>,
    /// Up to 200 characters, no control characters.
    #[schema(schema_with = crate::input::shapes::short_text)]
    pub sender_name: Option<String>,
    /// Up to 500 characters; line breaks allowed.
    #[schema(schema_with = crate::input::shapes::address_text)]
    pub footer_address: Option<String>,
    pub default_locale: Option<String>,
    /// Locale → one entry per step; at most 50 locales of 10 steps.
    #[schema(schema_with = crate::input::shapes::copy)]
    pub copy: Option<BTreeMap<String, Vec<StepCopy>>>,
}

/// A Stripe event, verified against `Stripe-Signature`.
#[derive(Serialize, ToSchema)]
pub struct StripeEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}
