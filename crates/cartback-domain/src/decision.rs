//! Pure decisions: given a cart, its policy and the time, what happens next.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::cart::CartStatus;
use crate::policy::RecoveryPolicy;

/// What the decisions need to know about a cart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartFacts {
    pub status: CartStatus,
    pub item_count: u32,
    pub total_minor: i64,
    pub has_email: bool,
    pub unsubscribed: bool,
    pub deleted: bool,
    pub created_at: DateTime<Utc>,
    pub last_activity_at: DateTime<Utc>,
    /// Index of the next step not yet attempted in this cycle.
    pub next_step: u32,
}

/// Why no (further) recovery email goes to a cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoSendReason {
    Ordered,
    Expired,
    Deleted,
    Empty,
    NoEmail,
    Unsubscribed,
    BelowMinimum,
    Capped,
    SequenceComplete,
}

impl NoSendReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            NoSendReason::Ordered => "ordered",
            NoSendReason::Expired => "expired",
            NoSendReason::Deleted => "deleted",
            NoSendReason::Empty => "empty",
            NoSendReason::NoEmail => "no_email",
            NoSendReason::Unsubscribed => "unsubscribed",
            NoSendReason::BelowMinimum => "below_minimum",
            NoSendReason::Capped => "capped",
            NoSendReason::SequenceComplete => "sequence_complete",
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            NoSendReason::Ordered => "the cart was ordered",
            NoSendReason::Expired => "the cart is past its maximum age",
            NoSendReason::Deleted => "the cart was deleted",
            NoSendReason::Empty => "the cart has no items",
            NoSendReason::NoEmail => "the cart has no email address",
            NoSendReason::Unsubscribed => "the shopper unsubscribed",
            NoSendReason::BelowMinimum => "the cart is below the minimum value",
            NoSendReason::Capped => "the cart has had its maximum number of emails",
            NoSendReason::SequenceComplete => "every step of the sequence was sent",
        }
    }
}

/// The next email of a cart: which step, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledSend {
    pub step: u32,
    pub at: DateTime<Utc>,
}

/// When the cart's next recovery email is due, or why none will be sent. Does not
/// depend on the current time.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use cartback_domain::{next_send, CartFacts, CartStatus, NoSendReason, RecoveryPolicy};
/// let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
/// let mut cart = CartFacts { status: CartStatus::Active, item_count: 1, total_minor: 1000, has_email: true,
///     unsubscribed: false, deleted: false, created_at: t0, last_activity_at: t0, next_step: 0 };
/// let policy = RecoveryPolicy::default();
/// assert_eq!(next_send(&cart, &policy).unwrap().at, t0 + TimeDelta::hours(1));
/// cart.has_email = false;
/// assert_eq!(next_send(&cart, &policy), Err(NoSendReason::NoEmail));
/// ```
pub fn next_send(cart: &CartFacts, policy: &RecoveryPolicy) -> Result<ScheduledSend, NoSendReason> {
    if cart.deleted {
        return Err(NoSendReason::Deleted);
    }
    match cart.status {
        CartStatus::Recovered | CartStatus::Converted => return Err(NoSendReason::Ordered),
        CartStatus::Expired => return Err(NoSendReason::Expired),
        CartStatus::Active | CartStatus::Abandoned => {}
    }
    if cart.item_count == 0 {
        return Err(NoSendReason::Empty);
    }
    if !cart.has_email {
        return Err(NoSendReason::NoEmail);
    }
    if cart.unsubscribed {
        return Err(NoSendReason::Unsubscribed);
    }
    if cart.total_minor < policy.min_cart_value_minor {
        return Err(NoSendReason::BelowMinimum);
    }
    if cart.next_step >= policy.max_emails_per_cart {
        return Err(NoSendReason::Capped);
    }
    let Some(delay) = policy.step_delay(cart.next_step) else {
        return Err(NoSendReason::SequenceComplete);
    };
    let at = cart.last_activity_at + delay;
    if at >= cart.created_at + policy.expire_after() {
        return Err(NoSendReason::Expired);
    }
    Ok(ScheduledSend {
        step: cart.next_step,
        at,
    })
}

/// What to do with a cart at a given moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// A status change to apply now: `Abandoned` or `Expired`.
    pub transition: Option<CartStatus>,
    /// A step to send now.
    pub send_now: Option<u32>,
    /// When to look at the cart again; None when nothing more will happen.
    pub wake_at: Option<DateTime<Utc>>,
    /// Why no email is (or will be) sent, when that is so.
    pub no_send: Option<NoSendReason>,
}

/// Decides, at `now`, whether the cart becomes abandoned or expired, whether an
/// email is due, and when to come back.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use cartback_domain::{evaluate, CartFacts, CartStatus, RecoveryPolicy};
/// let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
/// let cart = CartFacts { status: CartStatus::Active, item_count: 2, total_minor: 5000, has_email: true,
///     unsubscribed: false, deleted: false, created_at: t0, last_activity_at: t0, next_step: 0 };
/// let policy = RecoveryPolicy::default();
/// let early = evaluate(&cart, &policy, t0 + TimeDelta::minutes(10));
/// assert_eq!((early.transition, early.send_now), (None, None));
/// assert_eq!(early.wake_at, Some(t0 + TimeDelta::hours(1)));
/// let due = evaluate(&cart, &policy, t0 + TimeDelta::hours(1));
/// assert_eq!((due.transition, due.send_now), (Some(CartStatus::Abandoned), Some(0)));
/// ```
pub fn evaluate(cart: &CartFacts, policy: &RecoveryPolicy, now: DateTime<Utc>) -> Evaluation {
    let finished = |reason| Evaluation {
        transition: None,
        send_now: None,
        wake_at: None,
        no_send: Some(reason),
    };
    if cart.deleted {
        return finished(NoSendReason::Deleted);
    }
    match cart.status {
        CartStatus::Recovered | CartStatus::Converted => return finished(NoSendReason::Ordered),
        CartStatus::Expired => return finished(NoSendReason::Expired),
        CartStatus::Active | CartStatus::Abandoned => {}
    }
    let expire_at = cart.created_at + policy.expire_after();
    if now >= expire_at {
        return Evaluation {
            transition: Some(CartStatus::Expired),
            send_now: None,
            wake_at: None,
            no_send: Some(NoSendReason::Expired),
        };
    }
    let abandon_at = cart.last_activity_at + policy.abandon_delay();
    let becomes_abandoned =
        cart.status == CartStatus::Active && cart.item_count > 0 && now >= abandon_at;
    let next = next_send(cart, policy);
    let send_now = match next {
        Ok(send) if send.at <= now => Some(send.step),
        _ => None,
    };
    let mut wake_at = expire_at;
    if cart.status == CartStatus::Active && cart.item_count > 0 && abandon_at > now {
        wake_at = wake_at.min(abandon_at);
    }
    if let Ok(send) = next
        && send.at > now
    {
        wake_at = wake_at.min(send.at);
    }
    Evaluation {
        transition: becomes_abandoned.then_some(CartStatus::Abandoned),
        send_now,
        wake_at: Some(wake_at),
        no_send: next.err(),
    }
}

/// How long to wait after the `attempts`-th failed attempt (1-based): `base`
/// doubled per attempt, at most an hour, plus up to 25 % jitter (`jitter_fraction`
/// in [0, 1)). None once `attempts` reaches `max_attempts`: give up.
///
/// ```
/// use chrono::TimeDelta;
/// use cartback_domain::retry_delay;
/// let base = TimeDelta::seconds(30);
/// assert_eq!(retry_delay(1, 5, base, 0.0), Some(TimeDelta::seconds(30)));
/// assert_eq!(retry_delay(3, 5, base, 0.0), Some(TimeDelta::seconds(120)));
/// assert_eq!(retry_delay(5, 5, base, 0.0), None);
/// ```
pub fn retry_delay(
    attempts: u32,
    max_attempts: u32,
    base: TimeDelta,
    jitter_fraction: f64,
) -> Option<TimeDelta> {
    if attempts >= max_attempts {
        return None;
    }
    let cap_ms = TimeDelta::hours(1).num_milliseconds();
    let doublings = attempts.saturating_sub(1).min(40);
    let delay_ms = base
        .num_milliseconds()
        .max(1)
        .saturating_mul(1i64 << doublings)
        .min(cap_ms);
    let jitter = jitter_fraction.clamp(0.0, 1.0) * 0.25;
    // Jitter is the one place a float is fine: it only spreads retries out.
    let jitter_ms = (delay_ms as f64 * jitter) as i64;
    Some(TimeDelta::milliseconds(delay_ms + jitter_ms))
}
