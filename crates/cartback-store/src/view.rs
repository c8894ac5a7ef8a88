//! A cart as the world outside sees it. The merchant API answers with
//! [`CartView`]; a webhook's `data` ([`WebhookCart`]) is made from the same view,
//! only renamed and reformatted where Retake's payload differs, so the two
//! cannot drift apart. The types derive their OpenAPI schema: the API's document
//! describes exactly what is serialized.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Number, Value};
use utoipa::ToSchema;

use cartback_domain::{AttributeValue, CartItem, CartStatus, Currency, Money};

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

/// An amount as a JSON number, or null for an unknown currency.
pub fn major_amount(minor: i64, currency: &str) -> Value {
    decimal(minor, currency)
        .as_deref()
        .and_then(decimal_number)
        .map_or(Value::Null, Value::Number)
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
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookLine {
    pub id: String,
    pub name: String,
    pub price: Option<Number>,
    pub price_minor: i64,
    pub quantity: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
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

/// A webhook's `data`: the cart's fields (docs/webhooks.md) and the event's own.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookCart {
    pub cart_id: String,
    pub session_id: Option<String>,
    pub status: CartStatus,
    pub items: Vec<WebhookLine>,
    pub total: Option<Number>,
    pub total_minor: i64,
    pub currency: String,
    pub customer_email: Option<String>,
    pub customer_name: Option<String>,
    pub locale: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub abandoned_at: Option<String>,
    /// The cart's experiment group, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment: Option<CartExperiment>,
    /// Event-specific fields (`step`, `provider`, `orderId`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl WebhookCart {
    pub fn of(view: CartView, extra: Map<String, Value>) -> WebhookCart {
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
            extra,
        }
    }
}

/// Retake's envelope: `{"event", "timestamp", "data"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookPayload<'a> {
    pub event: &'a str,
    pub timestamp: String,
    pub data: WebhookCart,
}

/// The payload of `event` about `cart` at `now`, as the text to sign and send.
pub fn webhook_payload(
    event: &str,
    now: DateTime<Utc>,
    cart: &CartRow,
    extra: Map<String, Value>,
) -> StoreResult<String> {
    let payload = WebhookPayload {
        event,
        timestamp: now.to_rfc3339_opts(SecondsFormat::Millis, true),
        data: WebhookCart::of(CartView::of(cart), extra),
    };
    serde_json::to_string(&payload)
        .map_err(|e| StoreError::Corrupt(format!("webhook payload: {e}")))
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use serde_json::json;

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
                },
                CartItem {
                    id: "sku_2".into(),
                    name: "Spoon".into(),
                    unit_price_minor: 300,
                    quantity: 1,
                    image_url: Some("https://shop.example/spoon.png".into()),
                    url: None,
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
        let mut extra = Map::new();
        extra.insert("step".into(), json!(0));
        extra.insert("provider".into(), json!("smtp"));
        let text = webhook_payload("email.sent", now, &cart(), extra).unwrap();
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
        let data = WebhookCart::of(view, Map::new());
        assert_eq!(data.total, None);
        assert_eq!(data.items[0].price, None);
    }
}
