//! The order facts cartback takes from a verified Stripe event.

use serde::Deserialize;
use serde_json::{Map, Value};

pub const CHECKOUT_SESSION_COMPLETED: &str = "checkout.session.completed";
pub const PAYMENT_INTENT_SUCCEEDED: &str = "payment_intent.succeeded";

/// An order seen in a Stripe event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeOrder {
    /// `evt_...`, for de-duplicating Stripe's retries.
    pub event_id: String,
    pub event_type: String,
    /// `cs_...` or `pi_...`, used as the order reference.
    pub object_id: String,
    pub client_reference_id: Option<String>,
    /// `metadata.cart_id`
    pub metadata_cart_id: Option<String>,
    /// `metadata.session_id`
    pub metadata_session_id: Option<String>,
    /// `customer_details.email`, else `customer_email`, else `receipt_email`.
    pub email: Option<String>,
    /// `amount_total` (checkout session), or `amount_received` else `amount`
    /// (payment intent), in minor units.
    pub amount_minor: Option<i64>,
    /// Upper-case ISO 4217 code.
    pub currency: Option<String>,
    /// The event's `created`, unix seconds.
    pub created: Option<i64>,
    /// The PaymentIntent behind the purchase: the object itself for
    /// `payment_intent.succeeded`, the session's `payment_intent` otherwise.
    pub payment_intent_id: Option<String>,
}

impl StripeOrder {
    /// One reference per purchase: a Checkout Session and its PaymentIntent both
    /// announce the same payment, so both name it by the PaymentIntent and the
    /// second one is a repeat.
    pub fn order_ref(&self) -> &str {
        self.payment_intent_id.as_deref().unwrap_or(&self.object_id)
    }
}

#[derive(Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    #[serde(default)]
    created: Option<i64>,
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    object: Value,
}

/// The fields of a Checkout Session or a PaymentIntent that we read; both
/// share the names, and absent ones stay None.
#[derive(Deserialize)]
struct OrderObject {
    id: String,
    #[serde(default)]
    client_reference_id: Option<String>,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
    #[serde(default)]
    customer_details: Option<CustomerDetails>,
    #[serde(default)]
    customer_email: Option<String>,
    #[serde(default)]
    receipt_email: Option<String>,
    #[serde(default)]
    amount_total: Option<i64>,
    #[serde(default)]
    amount_received: Option<i64>,
    #[serde(default)]
    amount: Option<i64>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    payment_status: Option<String>,
    /// An id, or the expanded object.
    #[serde(default)]
    payment_intent: Option<Value>,
}

#[derive(Deserialize)]
struct CustomerDetails {
    #[serde(default)]
    email: Option<String>,
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// Parses a verified Stripe event body.
///
/// Only `checkout.session.completed` and `payment_intent.succeeded` give an
/// order; other types give `Ok(None)`. A completed Checkout Session counts only
/// when its `payment_status` is `paid` or `no_payment_required`: with a delayed
/// payment method (bank debits, vouchers) the session completes `unpaid` and the
/// money may never come, so that is not an order yet.
pub fn parse_order_event(payload: &[u8]) -> Result<Option<StripeOrder>, serde_json::Error> {
    let envelope: Envelope = serde_json::from_slice(payload)?;
    let is_session = match envelope.event_type.as_str() {
        CHECKOUT_SESSION_COMPLETED => true,
        PAYMENT_INTENT_SUCCEEDED => false,
        _ => return Ok(None),
    };
    let object: OrderObject = serde_json::from_value(envelope.data.object)?;
    if is_session
        && !matches!(
            object.payment_status.as_deref(),
            Some("paid" | "no_payment_required")
        )
    {
        return Ok(None);
    }
    let metadata = |key: &str| {
        non_empty(
            object
                .metadata
                .as_ref()
                .and_then(|m| m.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned),
        )
    };
    let metadata_cart_id = metadata("cart_id");
    let metadata_session_id = metadata("session_id");
    let email = non_empty(object.customer_details.and_then(|d| d.email))
        .or(non_empty(object.customer_email))
        .or(non_empty(object.receipt_email));
    let payment_intent_id = if is_session {
        match &object.payment_intent {
            Some(Value::String(id)) => non_empty(Some(id.clone())),
            Some(Value::Object(expanded)) => expanded
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            _ => None,
        }
    } else {
        Some(object.id.clone())
    };
    let amount_minor = if is_session {
        object.amount_total
    } else {
        object.amount_received.or(object.amount)
    };
    Ok(Some(StripeOrder {
        event_id: envelope.id,
        event_type: envelope.event_type,
        object_id: object.id,
        client_reference_id: non_empty(object.client_reference_id),
        metadata_cart_id,
        metadata_session_id,
        email,
        amount_minor,
        currency: non_empty(object.currency).map(|c| c.to_ascii_uppercase()),
        created: envelope.created,
        payment_intent_id,
    }))
}
