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
    /// Every status, in lifecycle order.
    pub const ALL: [CartStatus; 5] = [
        CartStatus::Active,
        CartStatus::Abandoned,
        CartStatus::Recovered,
        CartStatus::Converted,
        CartStatus::Expired,
    ];

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

/// What a merchant's change of a cart (`PATCH /api/v1/carts/{id}`, the
/// dashboard) asks for, as far as the lifecycle cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MerchantEdit {
    /// The cart's status now.
    pub current: CartStatus,
    /// The status the merchant asks for; None keeps the current one.
    pub requested: Option<CartStatus>,
    /// Whether the change gives the cart another email address.
    pub email_changed: bool,
    /// Whether a worker holds the cart right now (it re-reads the cart and
    /// plans its next wake-up itself when it lets go).
    pub held_by_worker: bool,
}

/// What happens to the cart's schedule (`next_action_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleChange {
    /// Stays as it is.
    Keep,
    /// Cleared: nothing more is planned for the cart.
    Clear,
    /// Due now: the worker decides again with what changed.
    WakeNow,
}

/// What a merchant's change does to the cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MerchantChange {
    pub status: CartStatus,
    pub schedule: ScheduleChange,
    /// The change closes an open cart: its waiting emails are cancelled.
    pub closes: bool,
    /// The cart is closed as ordered (recovered or converted): its order time
    /// is now.
    pub marks_ordered: bool,
}

/// A merchant asked to reopen (or otherwise change the status of) a closed
/// cart, which only the shopper's next tracked update may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the cart is {}: a closed cart is not reopened by hand; the next tracked update starts a new cycle",
    current.as_str()
)]
pub struct ClosedCart {
    pub current: CartStatus,
}

/// The rules of a merchant's status change. A closed cart (recovered,
/// converted, expired) keeps its status: it is not reopened by hand, the next
/// tracked update starts a new cycle instead. Closing an open cart stops its
/// emails (schedule cleared, waiting sends cancelled) and, when it closes as
/// ordered, records the order time. An open cart whose status or address
/// changed is looked at again by the worker at once, unless a worker holds it
/// (that worker plans its next wake-up when it lets go).
///
/// ```
/// use cartback_domain::{on_merchant_edit, CartStatus, MerchantEdit, ScheduleChange};
/// let edit = MerchantEdit { current: CartStatus::Abandoned, requested: Some(CartStatus::Converted), email_changed: false, held_by_worker: false };
/// let change = on_merchant_edit(edit).unwrap();
/// assert_eq!(change.schedule, ScheduleChange::Clear);
/// assert!(change.closes && change.marks_ordered);
/// let reopen = MerchantEdit { current: CartStatus::Expired, requested: Some(CartStatus::Active), ..edit };
/// assert!(on_merchant_edit(reopen).is_err());
/// ```
pub fn on_merchant_edit(edit: MerchantEdit) -> Result<MerchantChange, ClosedCart> {
    let current = edit.current;
    let target = edit.requested.unwrap_or(current);
    if current.is_terminal() && target != current {
        return Err(ClosedCart { current });
    }
    let closes = target.is_terminal() && !current.is_terminal();
    let schedule = if closes {
        ScheduleChange::Clear
    } else if target.is_open() && !edit.held_by_worker && (edit.email_changed || target != current)
    {
        ScheduleChange::WakeNow
    } else {
        ScheduleChange::Keep
    };
    Ok(MerchantChange {
        status: target,
        schedule,
        closes,
        marks_ordered: closes && matches!(target, CartStatus::Recovered | CartStatus::Converted),
    })
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
