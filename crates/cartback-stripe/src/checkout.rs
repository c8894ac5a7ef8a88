//! Creating Checkout Sessions, so a recovery email can link straight to payment.

use std::error::Error as StdError;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde::Deserialize;

pub const DEFAULT_BASE_URL: &str = "https://api.stripe.com";
const TIMEOUT: Duration = Duration::from_secs(20);
const ERROR_EXCERPT_CHARS: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// The request did not get an answer (network, TLS, timeout, bad setup).
    #[error("could not reach Stripe: {0}")]
    Transport(String),
    /// Stripe answered with an error.
    #[error("Stripe refused the request (HTTP {status}): {message}")]
    Api {
        status: u16,
        code: Option<String>,
        message: String,
    },
    /// Stripe answered 2xx with something we could not read.
    #[error("unexpected answer from Stripe: {0}")]
    Decode(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRequest {
    pub client_reference_id: String,
    pub customer_email: Option<String>,
    /// ISO 4217; sent lower-case.
    pub currency: String,
    pub line_items: Vec<LineItem>,
    pub success_url: String,
    pub cancel_url: Option<String>,
    pub metadata: Vec<(String, String)>,
    /// Unix seconds; Stripe accepts 30 minutes to 24 hours from now.
    pub expires_at: Option<i64>,
    /// When set, the session lets the customer enter a promotion code (the
    /// code itself must exist in the merchant's Stripe account).
    pub discount_code_hint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineItem {
    pub name: String,
    pub unit_amount_minor: i64,
    pub quantity: u32,
    pub image_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutSession {
    pub id: String,
    pub url: String,
    pub expires_at: Option<i64>,
}

/// A small client for the one Stripe call cartback makes. Cheap to clone.
#[derive(Debug, Clone)]
pub struct StripeClient {
    http: reqwest::Client,
    base_url: String,
}

impl StripeClient {
    /// `base_url` is `DEFAULT_BASE_URL` in production, a mock in tests.
    pub fn new(base_url: &str) -> Result<Self, StripeError> {
        let base_url = base_url.trim().trim_end_matches('/').to_owned();
        reqwest::Url::parse(&base_url)
            .map_err(|e| StripeError::Transport(format!("invalid base URL: {e}")))?;
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(TIMEOUT)
            .user_agent(concat!("cartback-stripe/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| StripeError::Transport(describe(&e)))?;
        Ok(StripeClient { http, base_url })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// POST /v1/checkout/sessions. Pass an idempotency key derived from the
    /// cart so a retried call returns the same session instead of a second one.
    pub async fn create_checkout_session(
        &self,
        secret_key: &str,
        request: &CheckoutRequest,
        idempotency_key: Option<&str>,
    ) -> Result<CheckoutSession, StripeError> {
        let mut auth = HeaderValue::from_str(&format!("Bearer {secret_key}")).map_err(|_| {
            StripeError::Transport("the secret key has characters not allowed in a header".into())
        })?;
        auth.set_sensitive(true);
        let mut builder = self
            .http
            .post(format!("{}/v1/checkout/sessions", self.base_url))
            .header(AUTHORIZATION, auth)
            .form(&checkout_form(request));
        if let Some(key) = idempotency_key {
            let key = HeaderValue::from_str(key).map_err(|_| {
                StripeError::Transport("the idempotency key is not a valid header value".into())
            })?;
            builder = builder.header("Idempotency-Key", key);
        }
        let response = builder
            .send()
            .await
            .map_err(|e| StripeError::Transport(describe(&e)))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| StripeError::Transport(describe(&e)))?;
        if !status.is_success() {
            return Err(api_error(status.as_u16(), &body));
        }
        let session: SessionBody =
            serde_json::from_slice(&body).map_err(|e| StripeError::Decode(e.to_string()))?;
        let url = session
            .url
            .filter(|u| !u.is_empty())
            .ok_or_else(|| StripeError::Decode("the session has no url".into()))?;
        Ok(CheckoutSession {
            id: session.id,
            url,
            expires_at: session.expires_at,
        })
    }
}

/// The form fields in Stripe's bracket notation, in a stable order.
pub fn checkout_form(request: &CheckoutRequest) -> Vec<(String, String)> {
    let mut form: Vec<(String, String)> = Vec::new();
    let mut push = |key: String, value: String| form.push((key, value));
    push("mode".into(), "payment".into());
    push(
        "client_reference_id".into(),
        request.client_reference_id.clone(),
    );
    if let Some(email) = &request.customer_email {
        push("customer_email".into(), email.clone());
    }
    push("success_url".into(), request.success_url.clone());
    if let Some(cancel_url) = &request.cancel_url {
        push("cancel_url".into(), cancel_url.clone());
    }
    if let Some(expires_at) = request.expires_at {
        push("expires_at".into(), expires_at.to_string());
    }
    if request.discount_code_hint.is_some() {
        push("allow_promotion_codes".into(), "true".into());
    }
    for (key, value) in &request.metadata {
        push(format!("metadata[{key}]"), value.clone());
    }
    // The PaymentIntent carries the same metadata, so its own event matches too.
    for (key, value) in &request.metadata {
        push(
            format!("payment_intent_data[metadata][{key}]"),
            value.clone(),
        );
    }
    let currency = request.currency.to_ascii_lowercase();
    for (i, item) in request.line_items.iter().enumerate() {
        let prefix = format!("line_items[{i}]");
        push(format!("{prefix}[quantity]"), item.quantity.to_string());
        push(format!("{prefix}[price_data][currency]"), currency.clone());
        push(
            format!("{prefix}[price_data][unit_amount]"),
            item.unit_amount_minor.to_string(),
        );
        push(
            format!("{prefix}[price_data][product_data][name]"),
            item.name.clone(),
        );
        if let Some(image) = &item.image_url {
            push(
                format!("{prefix}[price_data][product_data][images][0]"),
                image.clone(),
            );
        }
    }
    form
}

#[derive(Deserialize)]
struct SessionBody {
    id: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    expires_at: Option<i64>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

fn api_error(status: u16, body: &[u8]) -> StripeError {
    match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(ErrorEnvelope { error }) => StripeError::Api {
            status,
            message: error
                .message
                .or(error.kind)
                .unwrap_or_else(|| format!("HTTP {status}")),
            code: error.code,
        },
        Err(_) => {
            let excerpt: String = String::from_utf8_lossy(body)
                .chars()
                .take(ERROR_EXCERPT_CHARS)
                .collect();
            StripeError::Api {
                status,
                code: None,
                message: if excerpt.trim().is_empty() {
                    format!("HTTP {status}")
                } else {
                    excerpt.trim().to_owned()
                },
            }
        }
    }
}

/// reqwest's message plus its causes, which say what actually went wrong.
fn describe(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
