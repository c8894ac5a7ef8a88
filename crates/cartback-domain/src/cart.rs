//! The cart lifecycle:
//! `active` → `abandoned` → `recovered` | `converted` | `expired`.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::error::InvalidValue;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CartStatus {
    /// Being updated by the shopper.
    Active,
    /// Idle past the policy's delay, with items in it.
    Abandoned,
    /// Ordered after a recovery email, inside the attribution window.
    Recovered,
    /// Ordered without a recovery email to thank for it.
    Converted,
    /// Past the policy's maximum age without an order.
    Expired,
}

impl CartStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            CartStatus::Active => "active",
            CartStatus::Abandoned => "abandoned",
            CartStatus::Recovered => "recovered",
            CartStatus::Converted => "converted",
            CartStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Result<CartStatus, InvalidValue> {
        Ok(match s {
            "active" => CartStatus::Active,
            "abandoned" => CartStatus::Abandoned,
            "recovered" => CartStatus::Recovered,
            "converted" => CartStatus::Converted,
            "expired" => CartStatus::Expired,
            other => {
                return Err(InvalidValue::new(format!("unknown cart status {other:?}")));
            }
        })
    }

    /// Active or abandoned: the shopper may still come back.
    pub fn is_open(&self) -> bool {
        matches!(self, CartStatus::Active | CartStatus::Abandoned)
    }

    pub fn is_terminal(&self) -> bool {
        !self.is_open()
    }
}

/// What a CART_UPDATE does to a cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdateOutcome {
    pub status: CartStatus,
    /// True when a finished cart starts over as a new shopping cycle.
    pub new_cycle: bool,
}

/// Open carts become active again; a finished one starts a new cycle.
///
/// ```
/// use cartback_domain::{on_cart_update, CartStatus};
/// assert_eq!(on_cart_update(CartStatus::Abandoned).status, CartStatus::Active);
/// assert!(on_cart_update(CartStatus::Converted).new_cycle);
/// ```
pub fn on_cart_update(current: CartStatus) -> UpdateOutcome {
    UpdateOutcome {
        status: CartStatus::Active,
        new_cycle: current.is_terminal(),
    }
}

/// Whether an order is credited to recovery emails that were sent, or only to
/// those that were clicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttributionMode {
    Sent,
    Clicked,
}

/// The recovery emails of the cart's current cycle, as far as attribution cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecoveryHistory {
    pub emails_sent: u32,
    pub first_sent_at: Option<DateTime<Utc>>,
    pub last_sent_at: Option<DateTime<Utc>>,
    pub last_clicked_at: Option<DateTime<Utc>>,
}

/// The status an ORDER_COMPLETE gives a cart: `Recovered` when the qualifying touch
/// (the last email sent, or the last click in `Clicked` mode) happened before the
/// order and no longer than `window` before it, `Converted` otherwise. A finished
/// cart keeps its status (None): a cart is never both recovered and converted.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use cartback_domain::{on_order, AttributionMode, CartStatus, RecoveryHistory};
/// let sent = Utc.with_ymd_and_hms(2026, 1, 1, 10, 0, 0).unwrap();
/// let history = RecoveryHistory { emails_sent: 1, first_sent_at: Some(sent), last_sent_at: Some(sent), last_clicked_at: None };
/// let order = sent + TimeDelta::hours(2);
/// assert_eq!(on_order(CartStatus::Abandoned, &history, AttributionMode::Sent, TimeDelta::days(7), order), Some(CartStatus::Recovered));
/// assert_eq!(on_order(CartStatus::Active, &RecoveryHistory::default(), AttributionMode::Sent, TimeDelta::days(7), order), Some(CartStatus::Converted));
/// assert_eq!(on_order(CartStatus::Converted, &history, AttributionMode::Sent, TimeDelta::days(7), order), None);
/// ```
pub fn on_order(
    current: CartStatus,
    history: &RecoveryHistory,
    mode: AttributionMode,
    window: TimeDelta,
    ordered_at: DateTime<Utc>,
) -> Option<CartStatus> {
    if current.is_terminal() {
        return None;
    }
    let touch = match mode {
        AttributionMode::Sent if history.emails_sent > 0 => history.last_sent_at,
        AttributionMode::Sent => None,
        AttributionMode::Clicked => history.last_clicked_at,
    };
    let recovered = touch.is_some_and(|at| at <= ordered_at && ordered_at - at <= window);
    Some(if recovered {
        CartStatus::Recovered
    } else {
        CartStatus::Converted
    })
}
