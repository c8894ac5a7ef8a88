#![doc = include_str!("../README.md")]

pub mod account;
pub mod cart_link;
pub mod checkout;
pub mod event;
pub mod signature;

pub use account::{
    MAX_KEY_LEN, MAX_WEBHOOK_SECRETS, check_secret_key, check_webhook_secret, key_hint,
};
pub use cart_link::{
    CartLink, CartLinkError, MAX_LINK_SECS, MIN_LINK_SECS, cart_checkout, line_items, link_expiry,
};
pub use checkout::{
    CheckoutRequest, CheckoutSession, DEFAULT_BASE_URL, LineItem, StripeClient, StripeError,
    checkout_form,
};
pub use event::{
    CHECKOUT_SESSION_COMPLETED, PAYMENT_INTENT_SUCCEEDED, StripeOrder, parse_order_event,
};
pub use signature::{
    DEFAULT_TOLERANCE_SECS, MAX_HEADER_BYTES, MAX_V1_SIGNATURES, StripeSignature,
    StripeSignatureError, stripe_signature_header, verify_stripe_signature,
};
