#![doc = include_str!("../README.md")]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod cart;
mod currency;
mod decision;
mod email_address;
mod error;
mod item;
mod money;
mod policy;
mod session;

pub use cart::{
    AttributionMode, CartStatus, RecoveryHistory, UpdateOutcome, on_cart_update, on_order,
};
pub use currency::Currency;
pub use decision::{
    CartFacts, Evaluation, NoSendReason, ScheduledSend, evaluate, next_send, retry_delay,
};
pub use email_address::{CustomerName, EmailAddress};
pub use error::InvalidValue;
pub use item::{
    CartItem, MAX_ITEMS_PER_CART, items_total, validate_item_id, validate_item_name, validate_link,
    validate_quantity, validate_unit_price,
};
pub use money::{Money, MoneyError};
pub use policy::{RecoveryPolicy, RecoveryStep};
pub use session::SessionId;
