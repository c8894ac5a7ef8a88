//! A cart as the world outside sees it. The merchant API answers with
//! [`CartView`]; a webhook's `data` ([`WebhookCart`]) is made from the same view,
//! only renamed and reformatted where Retake's payload differs, so the two
//! cannot drift apart. The types derive their OpenAPI schema: the API's document
//! describes exactly what is serialized.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::Number;
use utoipa::ToSchema;

use cartback_domain::{AttributeValue, CartItem, CartStatus, Currency, MatchedBy, Money};

use crate::carts::CartRow;
use crate::error::{StoreError, StoreResult};

/// The one time format of the API and of webhooks: RFC 3339 in UTC with
/// milliseconds (`2026-03-15T14:22:00.000Z`).
pub fn time(at: NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An amount as decimal text with the currency's decimals (`"12.50"`); None
/// when the currency is not one cartback knows.
pub fn decimal(minor: i64, currency: &str) -> Option<String> {
    let currency = Currency::parse(currency).ok()?;
    Some(Money::from_minor(minor, currency).to_major_string())
}

/// A decimal text as a JSON number (`129.99`), for the payloads that carry
/// amounts as numbers beside their exact `…Minor` integer.
pub fn decimal_number(text: &str) -> Option<Number> {
    text.parse().ok()
}

/// An amount as a JSON number, or None (null) for an unknown currency.
pub fn major_number(minor: i64, currency: &str) -> Option<Number> {
    decimal(minor, currency).as_deref().and_then(decimal_number)
}

/// One line of a stored cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartLine {
    pub id: String,
    pub name: String,
    /// Decimal string with the currency's decimals (`"12.50"`).
    #[schema(required = true, pattern = "^-?[0-9]+(\\.[0-9]+)?$")]
    pub price: Option<String>,
    pub price_minor: i64,
    #[schema(value_type = i64)]
    pub quantity: u32,
    #[schema(required = true)]
    pub image_url: Option<String>,
    #[schema(required = true)]
    pub url: Option<String>,
    /// The product's variant, when the storefront named it apart from the
    /// product id (the public capture's `variantId`).
    #[schema(required = true)]
    pub variant_id: Option<String>,
}

impl CartLine {
    pub fn of(item: &CartItem, currency: &str) -> CartLine {
        CartLine {
            id: item.id.clone(),
            name: item.name.clone(),
            price: decimal(item.unit_price_minor, currency),
            price_minor: item.unit_price_minor,
            quantity: item.quantity,
            image_url: item.image_url.clone(),
            url: item.url.clone(),
            variant_id: item.variant_id.clone(),
        }
    }
}

/// A custom attribute as a cart shows it: `name` and exactly one
/// `<type>Value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartAttribute {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integer_value: Option<i64>,
    /// `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Date)]
    pub date_value: Option<String>,
    /// RFC 3339 in UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub datetime_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boolean_value: Option<bool>,
}

impl CartAttribute {
    pub fn of(name: &str, value: &AttributeValue) -> CartAttribute {
        let mut attribute = CartAttribute {
            name: name.to_owned(),
            string_value: None,
            integer_value: None,
            date_value: None,
            datetime_value: None,
            boolean_value: None,
        };
        match value {
            AttributeValue::String(text) => attribute.string_value = Some(text.clone()),
            AttributeValue::Integer(number) => attribute.integer_value = Some(*number),
            AttributeValue::Date(date) => attribute.date_value = Some(date.clone()),
            AttributeValue::Datetime(at) => attribute.datetime_value = Some(at.clone()),
            AttributeValue::Boolean(flag) => attribute.boolean_value = Some(*flag),
        }
        attribute
    }
}

/// A cart's group in an experiment (docs/experiments.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CartExperiment)]
pub struct CartExperiment {
    pub experiment_id: String,
    pub group: String,
    /// The holdout: the cart gets no recovery email.
    pub held_out: bool,
    /// The recovery policy's version when the cart was assigned.
    pub policy_version: String,
    #[schema(format = DateTime)]
    pub assigned_at: String,
}

impl CartExperiment {
    pub fn of(cart: &CartRow) -> Option<CartExperiment> {
        let assignment = cart.experiment.as_ref()?;
        Some(CartExperiment {
            experiment_id: assignment.experiment_id.clone(),
            group: assignment.group.clone(),
            held_out: assignment.held_out,
            policy_version: assignment.policy_version.clone(),
            assigned_at: assignment
                .assigned_at
                .to_rfc3339_opts(SecondsFormat::Millis, true),
        })
    }
}

/// A cart as the merchant API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Cart)]
pub struct CartView {
    pub id: String,
    /// The shop's own id, from `PUT /api/v1/carts`.
    #[schema(required = true)]
    pub external_id: Option<String>,
    /// Null once erased.
    #[schema(required = true)]
    pub session_id: Option<String>,
    /// `active`, `abandoned`, `recovered`, `converted` or `expired`.
    #[schema(value_type = String)]
    pub status: CartStatus,
    pub items: Vec<CartLine>,
    #[schema(value_type = i64)]
    pub item_count: i32,
    /// Decimal string with the currency's decimals.
    #[schema(required = true, pattern = "^-?[0-9]+(\\.[0-9]+)?$")]
    pub total: Option<String>,
    pub total_minor: i64,
    /// The subtotal the storefront sent beside its total (the public
    /// capture's `subtotalInCents`), as a decimal string; null when it sent none.
    #[schema(required = true, pattern = "^-?[0-9]+(\\.[0-9]+)?$")]
    pub subtotal: Option<String>,
    #[schema(required = true)]
    pub subtotal_minor: Option<i64>,
    pub currency: String,
    #[schema(required = true)]
    pub customer_email: Option<String>,
    #[schema(required = true)]
    pub customer_name: Option<String>,
    #[schema(required = true)]
    pub locale: Option<String>,
    #[schema(required = true)]
    pub consent: Option<bool>,
    pub attributes: Vec<CartAttribute>,
    #[schema(value_type = i64)]
    pub emails_sent: i32,
    #[schema(value_type = i64)]
    pub cycle: i32,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    #[schema(format = DateTime)]
    pub last_activity_at: String,
    #[schema(required = true, format = DateTime)]
    pub abandoned_at: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub ordered_at: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub unsubscribed_at: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub last_email_at: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub next_action_at: Option<String>,
    pub deleted: bool,
    #[schema(required = true, format = DateTime)]
    pub erased_at: Option<String>,
    /// The cart's experiment group; null when it was never assigned one.
    #[schema(required = true)]
    pub experiment: Option<CartExperiment>,
    /// Raised by every change of what this object shows (tracking updates,
    /// merchant changes, the worker's status and schedule changes, orders,
    /// unsubscribes; not the worker's lease alone). The `ETag` is this
    /// number quoted; send it back in `If-Match` to change the cart only if
    /// nobody else did in between.
    pub version: i64,
}

impl CartView {
    pub fn of(cart: &CartRow) -> CartView {
        CartView {
            id: cart.id.clone(),
            external_id: cart.external_id.clone(),
            session_id: cart.erased_at.is_none().then(|| cart.session_id.clone()),
            status: cart.status,
            items: cart
                .items
                .iter()
                .map(|item| CartLine::of(item, &cart.currency))
                .collect(),
            item_count: cart.item_count,
            total: decimal(cart.total_minor, &cart.currency),
            total_minor: cart.total_minor,
            subtotal: cart
                .subtotal_minor
                .and_then(|minor| decimal(minor, &cart.currency)),
            subtotal_minor: cart.subtotal_minor,
            currency: cart.currency.clone(),
            customer_email: cart.customer_email.clone(),
            customer_name: cart.customer_name.clone(),
            locale: cart.locale.clone(),
            consent: cart.consent.map(|c| c != 0),
            attributes: cart
                .attributes
                .iter()
                .map(|(name, value)| CartAttribute::of(name, value))
                .collect(),
            emails_sent: cart.next_step,
            cycle: cart.cycle,
            created_at: time(cart.created_at),
            updated_at: time(cart.updated_at),
            last_activity_at: time(cart.last_activity_at),
            abandoned_at: cart.abandoned_at.map(time),
            ordered_at: cart.ordered_at.map(time),
            unsubscribed_at: cart.unsubscribed_at.map(time),
            last_email_at: cart.last_sent_at.map(time),
            next_action_at: cart.next_action_at.map(time),
            deleted: cart.deleted_at.is_some(),
            erased_at: cart.erased_at.map(time),
            experiment: CartExperiment::of(cart),
            version: cart.version,
        }
    }
}

/// A cart line in a webhook: amounts as JSON numbers, links left out when
/// there are none (Retake's shape).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookLine {
    pub id: String,
    pub name: String,
    #[schema(required = true, value_type = Option<f64>)]
    pub price: Option<Number>,
    pub price_minor: i64,
    #[schema(value_type = i64, minimum = 0)]
    pub quantity: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub image_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub url: Option<String>,
}

impl From<CartLine> for WebhookLine {
    fn from(line: CartLine) -> WebhookLine {
        WebhookLine {
            id: line.id,
            name: line.name,
            price: line.price.as_deref().and_then(decimal_number),
            price_minor: line.price_minor,
            quantity: line.quantity,
            image_url: line.image_url,
            url: line.url,
        }
    }
}

/// The cart's fields in every webhook's `data` (docs/webhooks.md); each event's
/// `data` adds its own fields next to them.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookCart {
    pub cart_id: String,
    /// Null once the cart was erased.
    #[schema(required = true)]
    pub session_id: Option<String>,
    #[schema(value_type = String)]
    pub status: CartStatus,
    pub items: Vec<WebhookLine>,
    #[schema(required = true, value_type = Option<f64>)]
    pub total: Option<Number>,
    pub total_minor: i64,
    pub currency: String,
    #[schema(required = true)]
    pub customer_email: Option<String>,
    #[schema(required = true)]
    pub customer_name: Option<String>,
    #[schema(required = true)]
    pub locale: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    #[schema(required = true, format = DateTime)]
    pub abandoned_at: Option<String>,
    /// The cart's experiment group, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment: Option<CartExperiment>,
}

impl WebhookCart {
    pub fn of(view: CartView) -> WebhookCart {
        WebhookCart {
            cart_id: view.id,
            session_id: view.session_id,
            status: view.status,
            items: view.items.into_iter().map(WebhookLine::from).collect(),
            total: view.total.as_deref().and_then(decimal_number),
            total_minor: view.total_minor,
            currency: view.currency,
            customer_email: view.customer_email,
            customer_name: view.customer_name,
            locale: view.locale,
            created_at: view.created_at,
            updated_at: view.updated_at,
            abandoned_at: view.abandoned_at,
            experiment: view.experiment,
        }
    }
}

// The event's own fields are declared in their names' alphabetical order: the
// payloads were first written from a sorted map, and their bytes stay the same.

/// `data` of `cart.abandoned`, `email.clicked`, `cart.unsubscribed` and
/// `cart.expired`: the cart, and the email's step when the event is about one.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StepData {
    #[serde(flatten)]
    pub cart: WebhookCart,
    /// The email's step, 0-based.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = i64)]
    pub step: Option<i32>,
}

/// `data` of `email.sent`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SentData {
    #[serde(flatten)]
    pub cart: WebhookCart,
    /// The provider that accepted the email (`smtp`, `resend`, `ses`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub provider: Option<String>,
    /// The email's step, 0-based.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = i64)]
    pub step: Option<i32>,
}

/// `data` of `email.failed`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FailedData {
    #[serde(flatten)]
    pub cart: WebhookCart,
    /// The provider's words, never credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub error: Option<String>,
    /// The email's step, 0-based.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = i64)]
    pub step: Option<i32>,
}

/// What `cart.recovered` and `cart.converted` say about the order.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderFields {
    /// Recovery emails sent in the cart's current cycle.
    #[schema(value_type = i64, minimum = 0)]
    pub emails_sent: u32,
    /// The key that matched the order to the cart.
    #[schema(value_type = String, pattern = "^(session|cart_id|cart_token|email)$")]
    pub matched_by: MatchedBy,
    pub order_currency: String,
    pub order_id: String,
    /// Present when the order had a total; null for a currency cartback does not know.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub order_total: Option<Option<Number>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = i64)]
    pub order_total_minor: Option<i64>,
    /// The recovered revenue (`cart.recovered` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub revenue: Option<Option<Number>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = i64)]
    pub revenue_minor: Option<i64>,
}

impl OrderFields {
    /// The fields of an order of `total_minor` in `currency`, with `revenue_minor`
    /// recovered by it.
    pub fn new(
        order_id: &str,
        matched_by: MatchedBy,
        currency: &str,
        total_minor: Option<i64>,
        emails_sent: u32,
        revenue_minor: Option<i64>,
    ) -> OrderFields {
        OrderFields {
            emails_sent,
            matched_by,
            order_currency: currency.to_owned(),
            order_id: order_id.to_owned(),
            order_total: total_minor.map(|minor| major_number(minor, currency)),
            order_total_minor: total_minor,
            revenue: revenue_minor.map(|minor| major_number(minor, currency)),
            revenue_minor,
        }
    }
}

/// `data` of `cart.recovered` and `cart.converted`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OrderData {
    #[serde(flatten)]
    pub cart: WebhookCart,
    #[serde(flatten)]
    pub order: OrderFields,
}

/// A webhook as it is signed and sent (Retake's envelope): `{"event",
/// "timestamp", "data"}`, `data` being the cart and the event's own fields.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "event")]
pub enum WebhookPayload {
    #[serde(rename = "cart.abandoned")]
    CartAbandoned {
        #[schema(format = DateTime)]
        timestamp: String,
        data: StepData,
    },
    #[serde(rename = "email.sent")]
    EmailSent {
        #[schema(format = DateTime)]
        timestamp: String,
        data: SentData,
    },
    #[serde(rename = "email.failed")]
    EmailFailed {
        #[schema(format = DateTime)]
        timestamp: String,
        data: FailedData,
    },
    #[serde(rename = "email.clicked")]
    EmailClicked {
        #[schema(format = DateTime)]
        timestamp: String,
        data: StepData,
    },
    #[serde(rename = "cart.recovered")]
    CartRecovered {
        #[schema(format = DateTime)]
        timestamp: String,
        data: OrderData,
    },
    #[serde(rename = "cart.converted")]
    CartConverted {
        #[schema(format = DateTime)]
        timestamp: String,
        data: OrderData,
    },
    #[serde(rename = "cart.unsubscribed")]
    CartUnsubscribed {
        #[schema(format = DateTime)]
        timestamp: String,
        data: StepData,
    },
    #[serde(rename = "cart.expired")]
    CartExpired {
        #[schema(format = DateTime)]
        timestamp: String,
        data: StepData,
    },
}

/// A webhook to send: which event, with its own fields (its payload is a
/// [`WebhookPayload`] of the same variant).
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookEvent {
    CartAbandoned {
        step: Option<i32>,
    },
    EmailSent {
        provider: Option<String>,
        step: Option<i32>,
    },
    EmailFailed {
        error: Option<String>,
        step: Option<i32>,
    },
    EmailClicked {
        step: Option<i32>,
    },
    CartRecovered(OrderFields),
    CartConverted(OrderFields),
    CartUnsubscribed {
        step: Option<i32>,
    },
    CartExpired {
        step: Option<i32>,
    },
}

impl WebhookEvent {
    /// Its name on the wire, one of [`crate::webhooks::WEBHOOK_EVENTS`].
    pub fn name(&self) -> &'static str {
        match self {
            WebhookEvent::CartAbandoned { .. } => "cart.abandoned",
            WebhookEvent::EmailSent { .. } => "email.sent",
            WebhookEvent::EmailFailed { .. } => "email.failed",
            WebhookEvent::EmailClicked { .. } => "email.clicked",
            WebhookEvent::CartRecovered(_) => "cart.recovered",
            WebhookEvent::CartConverted(_) => "cart.converted",
            WebhookEvent::CartUnsubscribed { .. } => "cart.unsubscribed",
            WebhookEvent::CartExpired { .. } => "cart.expired",
        }
    }

    /// The payload announcing this event about `cart` at `now`.
    pub fn payload(&self, now: DateTime<Utc>, cart: &CartRow) -> WebhookPayload {
        let timestamp = now.to_rfc3339_opts(SecondsFormat::Millis, true);
        let cart = WebhookCart::of(CartView::of(cart));
        let with_step = |step: &Option<i32>| StepData {
            cart: cart.clone(),
            step: *step,
        };
        match self {
            WebhookEvent::CartAbandoned { step } => WebhookPayload::CartAbandoned {
                timestamp,
                data: with_step(step),
            },
            WebhookEvent::EmailClicked { step } => WebhookPayload::EmailClicked {
                timestamp,
                data: with_step(step),
            },
            WebhookEvent::CartUnsubscribed { step } => WebhookPayload::CartUnsubscribed {
                timestamp,
                data: with_step(step),
            },
            WebhookEvent::CartExpired { step } => WebhookPayload::CartExpired {
                timestamp,
                data: with_step(step),
            },
            WebhookEvent::EmailSent { provider, step } => WebhookPayload::EmailSent {
                timestamp,
                data: SentData {
                    cart,
                    provider: provider.clone(),
                    step: *step,
                },
            },
            WebhookEvent::EmailFailed { error, step } => WebhookPayload::EmailFailed {
                timestamp,
                data: FailedData {
                    cart,
                    error: error.clone(),
                    step: *step,
                },
            },
            WebhookEvent::CartRecovered(order) => WebhookPayload::CartRecovered {
                timestamp,
                data: OrderData {
                    cart,
                    order: order.clone(),
                },
            },
            WebhookEvent::CartConverted(order) => WebhookPayload::CartConverted {
                timestamp,
                data: OrderData {
                    cart,
                    order: order.clone(),
                },
            },
        }
    }
}

/// The payload of `event` about `cart` at `now`, as the text to sign and send.
pub fn webhook_payload(
    event: &WebhookEvent,
    now: DateTime<Utc>,
    cart: &CartRow,
) -> StoreResult<String> {
    serde_json::to_string(&event.payload(now, cart))
        .map_err(|e| StoreError::Corrupt(format!("webhook payload: {e}")))
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use serde_json::{Map, Value, json};

    use super::*;

    fn at(hour: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 29)
            .and_then(|d| d.and_hms_milli_opt(hour, 3, 11, 250))
            .unwrap()
    }

    fn cart() -> CartRow {
        CartRow {
            id: "crt_1".into(),
            tenant_id: "ten_1".into(),
            session_id: "sess_91f".into(),
            status: CartStatus::Abandoned,
            items: vec![
                CartItem {
                    id: "sku_1".into(),
                    name: "Blue mug".into(),
                    unit_price_minor: 1250,
                    quantity: 2,
                    image_url: None,
                    url: Some("https://shop.example/mug".into()),
                    variant_id: None,
                },
                CartItem {
                    id: "sku_2".into(),
                    name: "Spoon".into(),
                    unit_price_minor: 300,
                    quantity: 1,
                    image_url: Some("https://shop.example/spoon.png".into()),
                    url: None,
                    variant_id: None,
                },
            ],
            item_count: 3,
            total_minor: 2800,
            currency: "USD".into(),
            customer_email: Some("sam@example.com".into()),
            customer_name: None,
            cycle: 1,
            next_step: 1,
            created_at: at(14),
            updated_at: at(15),
            last_activity_at: at(15),
            abandoned_at: Some(at(16)),
            ordered_at: None,
            deleted_at: None,
            unsubscribed_at: None,
            next_action_at: Some(at(17)),
            locked_by: None,
            locale: Some("en-US".into()),
            consent: Some(1),
            last_sent_at: None,
            external_id: None,
            attributes: [("tier".to_owned(), AttributeValue::Integer(3))]
                .into_iter()
                .collect(),
            erased_at: None,
            quarantined_at: None,
            version: 4,
            experiment_id: None,
            experiment: None,
            subtotal_minor: None,
        }
    }

    #[test]
    fn the_api_shows_amounts_as_text_and_every_field_with_its_nulls() {
        let view = serde_json::to_value(CartView::of(&cart())).unwrap();
        assert_eq!(view["total"], "28.00");
        assert_eq!(view["items"][0]["price"], "12.50");
        assert_eq!(view["items"][0]["imageUrl"], Value::Null);
        assert_eq!(
            view["attributes"],
            json!([{"name": "tier", "integerValue": 3}])
        );
        assert_eq!(view["consent"], true);
        assert_eq!(view["emailsSent"], 1);
        assert_eq!(view["abandonedAt"], "2026-11-29T16:03:11.250Z");
        assert_eq!(view["lastEmailAt"], Value::Null);
        assert_eq!(view["subtotal"], Value::Null);
        let keys: Vec<&str> = view
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        // Every field, null or not (serde_json's map lists them sorted).
        assert_eq!(
            keys,
            [
                "abandonedAt",
                "attributes",
                "consent",
                "createdAt",
                "currency",
                "customerEmail",
                "customerName",
                "cycle",
                "deleted",
                "emailsSent",
                "erasedAt",
                "experiment",
                "externalId",
                "id",
                "itemCount",
                "items",
                "lastActivityAt",
                "lastEmailAt",
                "locale",
                "nextActionAt",
                "orderedAt",
                "sessionId",
                "status",
                "subtotal",
                "subtotalMinor",
                "total",
                "totalMinor",
                "unsubscribedAt",
                "updatedAt",
                "version",
            ]
        );
    }

    /// The webhook's `data` is the view, renamed and reformatted: this is the
    /// whole payload, field for field (docs/webhooks.md).
    #[test]
    fn the_webhook_payload_is_made_from_the_view() {
        let now = at(18).and_utc();
        let sent = WebhookEvent::EmailSent {
            provider: Some("smtp".into()),
            step: Some(0),
        };
        let text = webhook_payload(&sent, now, &cart()).unwrap();
        let payload: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            payload,
            json!({
                "event": "email.sent",
                "timestamp": "2026-11-29T18:03:11.250Z",
                "data": {
                    "cartId": "crt_1",
                    "sessionId": "sess_91f",
                    "status": "abandoned",
                    "items": [
                        {"id": "sku_1", "name": "Blue mug", "price": 12.5, "priceMinor": 1250,
                         "quantity": 2, "url": "https://shop.example/mug"},
                        {"id": "sku_2", "name": "Spoon", "price": 3.0, "priceMinor": 300,
                         "quantity": 1, "imageUrl": "https://shop.example/spoon.png"},
                    ],
                    "total": 28.0,
                    "totalMinor": 2800,
                    "currency": "USD",
                    "customerEmail": "sam@example.com",
                    "customerName": null,
                    "locale": "en-US",
                    "createdAt": "2026-11-29T14:03:11.250Z",
                    "updatedAt": "2026-11-29T15:03:11.250Z",
                    "abandonedAt": "2026-11-29T16:03:11.250Z",
                    "step": 0,
                    "provider": "smtp",
                },
            })
        );
        // Amounts keep the number format of before: `28.0`, not `28`.
        assert!(text.contains(r#""total":28.0,"#), "{text}");
    }

    #[test]
    fn an_unknown_currency_shows_null_amounts() {
        let mut odd = cart();
        odd.currency = "XXX1".into();
        let view = CartView::of(&odd);
        assert_eq!(view.total, None);
        let data = WebhookCart::of(view);
        assert_eq!(data.total, None);
        assert_eq!(data.items[0].price, None);
        let order = OrderFields::new("INV-1", MatchedBy::Email, "XXX1", Some(100), 0, None);
        let text = serde_json::to_string(&order).unwrap();
        assert!(
            text.contains(r#""orderTotal":null,"orderTotalMinor":100"#),
            "{text}"
        );
    }

    /// The payloads were first made by merging a sorted map of the event's
    /// fields into `data`; the typed ones send the same bytes, event by event.
    #[test]
    fn typed_payloads_send_the_bytes_of_the_merged_map() {
        #[derive(Serialize)]
        struct Merged {
            event: &'static str,
            timestamp: String,
            data: MergedData,
        }
        #[derive(Serialize)]
        struct MergedData {
            #[serde(flatten)]
            cart: WebhookCart,
            #[serde(flatten)]
            extra: Map<String, Value>,
        }
        let now = at(18).and_utc();
        let order = |revenue: Option<i64>| {
            OrderFields::new("INV-7", MatchedBy::CartToken, "USD", Some(2800), 2, revenue)
        };
        let order_extra = |revenue: bool| {
            let mut extra = json!({
                "orderId": "INV-7", "matchedBy": "cart_token", "orderCurrency": "USD",
                "orderTotal": 28.0, "orderTotalMinor": 2800, "emailsSent": 2,
            });
            if revenue {
                extra["revenue"] = json!(28.0);
                extra["revenueMinor"] = json!(2800);
            }
            extra
        };
        let cases = [
            (WebhookEvent::CartAbandoned { step: None }, json!({})),
            (
                WebhookEvent::EmailSent {
                    provider: Some("ses".into()),
                    step: Some(1),
                },
                json!({"provider": "ses", "step": 1}),
            ),
            (
                WebhookEvent::EmailFailed {
                    error: Some("550 no".into()),
                    step: Some(2),
                },
                json!({"error": "550 no", "step": 2}),
            ),
            (
                WebhookEvent::EmailClicked { step: Some(0) },
                json!({"step": 0}),
            ),
            (
                WebhookEvent::CartRecovered(order(Some(2800))),
                order_extra(true),
            ),
            (WebhookEvent::CartConverted(order(None)), order_extra(false)),
            (
                WebhookEvent::CartUnsubscribed { step: Some(0) },
                json!({"step": 0}),
            ),
            (WebhookEvent::CartExpired { step: None }, json!({})),
        ];
        for (event, extra) in cases {
            let Value::Object(extra) = extra else {
                unreachable!("the cases are objects")
            };
            let merged = Merged {
                event: event.name(),
                timestamp: now.to_rfc3339_opts(SecondsFormat::Millis, true),
                data: MergedData {
                    cart: WebhookCart::of(CartView::of(&cart())),
                    extra,
                },
            };
            assert_eq!(
                webhook_payload(&event, now, &cart()).unwrap(),
                serde_json::to_string(&merged).unwrap(),
                "{}",
                event.name()
            );
        }
    }
}
