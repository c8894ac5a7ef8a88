//! Pure decisions: given a cart, its policy and the time, what happens next.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::bounds::{far_future, shift};
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

/// What the decisions need to know beyond the cart itself: the shopper's
/// consent and standing, and their other carts. The default knows nothing:
/// no consent recorded, not suppressed, no other recovery email.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendContext {
    /// The consent captured with the cart: Some(true) given, Some(false)
    /// refused, None never asked. Only Some(true) passes `require_consent`.
    pub consent: Option<bool>,
    /// The address is on the tenant's suppression list (bounced, complained,
    /// unsubscribed from everything).
    pub suppressed: bool,
    /// The latest recovery email to this shopper's address, from any cart and
    /// any cycle, this one included.
    pub customer_recently_emailed_at: Option<DateTime<Utc>>,
    /// Another cart of this address is open, got at least one email in its
    /// current cycle, and has a step still to come.
    pub customer_has_active_sequence: bool,
    /// This cart's latest recovery email in its current cycle. Keeps the gap
    /// between two emails at least the gap between their step delays, so a
    /// late run never sends two steps back to back.
    pub cart_last_sent_at: Option<DateTime<Utc>>,
    /// The address already got the policy's daily number of recovery emails;
    /// its next may go at this time (see [`address_day_cap_until`]).
    pub address_capped_until: Option<DateTime<Utc>>,
    /// The cart is in an experiment's holdout group: it goes through the same
    /// lifecycle as every other cart but gets no recovery email.
    pub held_out: bool,
}

/// When an address that was sent recovery emails at `sent_at` (any order, any
/// carts) may get another under a cap of `cap` per 24 hours: None when it may
/// now (or `cap` is 0, no cap), else the moment enough of them are a day old.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use cartback_domain::address_day_cap_until;
/// let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
/// let sent = [now - TimeDelta::hours(20), now - TimeDelta::hours(2), now - TimeDelta::hours(30)];
/// // Two in the last day: a cap of 3 lets a third go, a cap of 2 waits 4 hours.
/// assert_eq!(address_day_cap_until(&sent, 3, now), None);
/// assert_eq!(address_day_cap_until(&sent, 2, now), Some(now + TimeDelta::hours(4)));
/// assert_eq!(address_day_cap_until(&sent, 0, now), None);
/// ```
pub fn address_day_cap_until(
    sent_at: &[DateTime<Utc>],
    cap: u32,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if cap == 0 {
        return None;
    }
    let day = TimeDelta::days(1);
    let mut recent: Vec<DateTime<Utc>> = sent_at
        .iter()
        .copied()
        .filter(|&at| shift(at, day) > now)
        .collect();
    let cap = usize::try_from(cap).unwrap_or(usize::MAX);
    if recent.len() < cap {
        return None;
    }
    recent.sort_unstable();
    // Once this many of the oldest are a day old, fewer than `cap` remain.
    let must_age = recent.len() - cap + 1;
    Some(shift(recent[must_age - 1], day))
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
    Suppressed,
    NoConsent,
    BelowMinimum,
    Capped,
    SequenceComplete,
    Cooldown,
    HeldOut,
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
            NoSendReason::Suppressed => "suppressed",
            NoSendReason::NoConsent => "no_consent",
            NoSendReason::BelowMinimum => "below_minimum",
            NoSendReason::Capped => "capped",
            NoSendReason::SequenceComplete => "sequence_complete",
            NoSendReason::Cooldown => "cooldown",
            NoSendReason::HeldOut => "held_out",
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
            NoSendReason::Suppressed => "the address is on the suppression list",
            NoSendReason::NoConsent => {
                "the policy requires consent and the shopper did not give it"
            }
            NoSendReason::BelowMinimum => "the cart is below the minimum value",
            NoSendReason::Capped => "the cart has had its maximum number of emails",
            NoSendReason::SequenceComplete => "every step of the sequence was sent",
            NoSendReason::Cooldown => {
                "the shopper was emailed recently or is in another cart's sequence"
            }
            NoSendReason::HeldOut => "the cart is in an experiment's holdout group",
        }
    }
}

/// Why cartback cannot email this cart's shopper at all, whatever its
/// policy's steps and limits: no address, the shopper unsubscribed, the
/// address is suppressed, or the policy asks for consent the shopper did not
/// give. None when an address may be written to. Deliberate choices (a holdout,
/// the minimum value, the cap) are not about reaching the shopper and are not
/// counted here. [`next_send_with`] and [`left_to_the_shop`] build on it.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use cartback_domain::{unreachable_reason, CartFacts, CartStatus, NoSendReason, RecoveryPolicy, SendContext};
/// let t0 = Utc.with_ymd_and_hms(2026, 12, 6, 12, 0, 0).unwrap();
/// let cart = CartFacts { status: CartStatus::Abandoned, item_count: 1, total_minor: 500, has_email: false,
///     unsubscribed: false, deleted: false, created_at: t0, last_activity_at: t0, next_step: 0 };
/// let policy = RecoveryPolicy::default();
/// assert_eq!(unreachable_reason(&cart, &SendContext::default(), &policy), Some(NoSendReason::NoEmail));
/// let with_email = CartFacts { has_email: true, ..cart };
/// assert_eq!(unreachable_reason(&with_email, &SendContext::default(), &policy), None);
/// let suppressed = SendContext { suppressed: true, ..SendContext::default() };
/// assert_eq!(unreachable_reason(&with_email, &suppressed, &policy), Some(NoSendReason::Suppressed));
/// ```
pub fn unreachable_reason(
    cart: &CartFacts,
    context: &SendContext,
    policy: &RecoveryPolicy,
) -> Option<NoSendReason> {
    if !cart.has_email {
        return Some(NoSendReason::NoEmail);
    }
    if cart.unsubscribed {
        return Some(NoSendReason::Unsubscribed);
    }
    if context.suppressed {
        return Some(NoSendReason::Suppressed);
    }
    if policy.require_consent && context.consent != Some(true) {
        return Some(NoSendReason::NoConsent);
    }
    None
}

/// Whether the shop's own systems may email an abandoned cart's shopper in
/// cartback's place, given why cartback cannot ([`unreachable_reason`]):
/// only when cartback lacks a usable address, because the cart has none or
/// the address bounced (the shop may know a better one). A shopper who
/// unsubscribed or complained, an address the merchant suppressed, or a
/// missing consent the policy asks for is a no to recovery emails from
/// anyone; and a cart cartback can email needs no second sender. This is the
/// meaning of `cart.abandoned` for endpoints that ask for Retake's.
///
/// ```
/// use cartback_domain::{left_to_the_shop, NoSendReason};
/// assert!(left_to_the_shop(Some(NoSendReason::NoEmail), false));
/// assert!(left_to_the_shop(Some(NoSendReason::Suppressed), true));
/// assert!(!left_to_the_shop(Some(NoSendReason::Suppressed), false));
/// assert!(!left_to_the_shop(Some(NoSendReason::Unsubscribed), false));
/// assert!(!left_to_the_shop(Some(NoSendReason::NoConsent), false));
/// assert!(!left_to_the_shop(None, false));
/// ```
pub fn left_to_the_shop(reason: Option<NoSendReason>, address_bounced: bool) -> bool {
    match reason {
        Some(NoSendReason::NoEmail) => true,
        Some(NoSendReason::Suppressed) => address_bounced,
        _ => false,
    }
}

/// Why an email that is due by its delay is held back for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitReason {
    /// The tenant's quiet hours; the email goes when the window ends.
    QuietHours,
    /// The address had the daily number of recovery emails; the email goes
    /// once the oldest of them is a day old.
    AddressDailyCap,
}

impl WaitReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            WaitReason::QuietHours => "quiet_hours",
            WaitReason::AddressDailyCap => "address_daily_cap",
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            WaitReason::QuietHours => "it is quiet hours in the shop's time zone",
            WaitReason::AddressDailyCap => "the address already got the day's most recovery emails",
        }
    }
}

/// The next email of a cart: which step, when its delay is over, and when it
/// goes out (later than `due_at` only when that falls in quiet hours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledSend {
    pub step: u32,
    pub at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

/// When the cart's next recovery email is due, or why none will be sent,
/// knowing nothing about the shopper beyond the cart: [`next_send_with`] and a
/// default [`SendContext`]. Does not depend on the current time.
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
    next_send_with(cart, &SendContext::default(), policy)
}

/// When the cart's next recovery email goes out if nothing changes, or why
/// none will. Does not depend on the current time. The reasons, in the order
/// they are checked: deleted, ordered, expired, empty, held out, no email, unsubscribed,
/// suppressed, no consent, below minimum, capped, sequence complete, cooldown,
/// and expired again when the email would go out after the cart's expiry.
///
/// The email is due `delay` after the last activity (and, from the second
/// step, no sooner after the previous email than the gap between the two
/// delays); it goes out then, or when quiet hours end.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use cartback_domain::{next_send_with, CartFacts, CartStatus, NoSendReason, RecoveryPolicy, SendContext};
/// let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
/// let cart = CartFacts { status: CartStatus::Active, item_count: 1, total_minor: 1000, has_email: true,
///     unsubscribed: false, deleted: false, created_at: t0, last_activity_at: t0, next_step: 0 };
/// let policy = RecoveryPolicy { require_consent: true, customer_cooldown_ms: 86_400_000, ..RecoveryPolicy::default() };
/// let consented = SendContext { consent: Some(true), ..SendContext::default() };
/// assert_eq!(next_send_with(&cart, &consented, &policy).unwrap().at, t0 + TimeDelta::hours(1));
/// assert_eq!(next_send_with(&cart, &SendContext::default(), &policy), Err(NoSendReason::NoConsent));
/// // Another cart of the shopper got an email 2 hours ago: this one sits out.
/// let emailed = SendContext { customer_recently_emailed_at: Some(t0 - TimeDelta::hours(2)), ..consented };
/// assert_eq!(next_send_with(&cart, &emailed, &policy), Err(NoSendReason::Cooldown));
/// ```
pub fn next_send_with(
    cart: &CartFacts,
    context: &SendContext,
    policy: &RecoveryPolicy,
) -> Result<ScheduledSend, NoSendReason> {
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
    if context.held_out {
        return Err(NoSendReason::HeldOut);
    }
    if let Some(reason) = unreachable_reason(cart, context, policy) {
        return Err(reason);
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
    // Saturating arithmetic throughout: a stored policy may predate the bounds.
    let mut due_at = shift(cart.last_activity_at, delay);
    if let (Some(last_sent), Some(previous)) = (
        context.cart_last_sent_at,
        cart.next_step
            .checked_sub(1)
            .and_then(|step| policy.step_delay(step)),
    ) {
        let gap = delay.checked_sub(&previous).unwrap_or(TimeDelta::zero());
        due_at = due_at.max(shift(last_sent, gap));
    }
    let starts_sequence = cart.next_step == 0;
    if starts_sequence
        && let (Some(cooldown), Some(emailed)) = (
            policy.customer_cooldown(),
            context.customer_recently_emailed_at,
        )
        && shift(emailed, cooldown) > due_at
    {
        return Err(NoSendReason::Cooldown);
    }
    let at = match policy.quiet_until(due_at) {
        Some(opens) => opens,
        None => due_at,
    };
    // A send at the far-future cap never happens.
    if at >= shift(cart.created_at, policy.expire_after()) || at >= far_future() {
        return Err(NoSendReason::Expired);
    }
    Ok(ScheduledSend {
        step: cart.next_step,
        at,
        due_at,
    })
}

/// What to do with a cart at a given moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// A status change to apply now: `Abandoned` or `Expired`.
    pub transition: Option<CartStatus>,
    /// A step to send now.
    pub send_now: Option<u32>,
    /// When to look at the cart again; None when nothing more will happen (or
    /// not before the far-future cap, [`crate::bounds::far_future`]).
    pub wake_at: Option<DateTime<Utc>>,
    /// Why no email is (or will be) sent, when that is so.
    pub no_send: Option<NoSendReason>,
    /// Why an email due by its delay is held back until `wake_at`.
    pub waiting: Option<WaitReason>,
}

impl Evaluation {
    /// The outcome in one word, for logs and the dashboard: `send_now`, a
    /// [`WaitReason`] (`quiet_hours`), a [`NoSendReason`] (`cooldown`,
    /// `capped`, ...), or `not_due` while the next step's delay runs. (Once the
    /// email is delivered, the worker records `sent`.)
    ///
    /// ```
    /// use chrono::{TimeDelta, TimeZone, Utc};
    /// use cartback_domain::{evaluate, CartFacts, CartStatus, RecoveryPolicy};
    /// let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
    /// let mut cart = CartFacts { status: CartStatus::Active, item_count: 1, total_minor: 500, has_email: true,
    ///     unsubscribed: false, deleted: false, created_at: t0, last_activity_at: t0, next_step: 0 };
    /// let policy = RecoveryPolicy::default();
    /// assert_eq!(evaluate(&cart, &policy, t0).reason(), "not_due");
    /// assert_eq!(evaluate(&cart, &policy, t0 + TimeDelta::hours(2)).reason(), "send_now");
    /// cart.unsubscribed = true;
    /// assert_eq!(evaluate(&cart, &policy, t0 + TimeDelta::hours(2)).reason(), "unsubscribed");
    /// ```
    pub fn reason(&self) -> &'static str {
        if self.send_now.is_some() {
            "send_now"
        } else if let Some(waiting) = self.waiting {
            waiting.as_str()
        } else if let Some(no_send) = self.no_send {
            no_send.as_str()
        } else {
            "not_due"
        }
    }
}

/// Decides, at `now`, whether the cart becomes abandoned or expired, whether an
/// email is due, and when to come back, knowing nothing about the shopper
/// beyond the cart: [`evaluate_with`] and a default [`SendContext`].
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
    evaluate_with(cart, &SendContext::default(), policy, now)
}

/// Decides, at `now`, whether the cart becomes abandoned or expired, whether an
/// email goes out now, is held back by quiet hours, or will not go at all (and
/// why), and when to look at the cart again.
///
/// An email goes out when [`next_send_with`] has one whose delay is over, it is
/// not quiet hours, and, for the first step, no other cart of the shopper is
/// mid-sequence (with a cooldown set). A cart blocked that way sits out this
/// cycle: `no_send` is `Cooldown`.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use cartback_domain::{evaluate_with, CartFacts, CartStatus, QuietHours, RecoveryPolicy, SendContext, WaitReason};
/// let policy = RecoveryPolicy {
///     time_zone: "Europe/Amsterdam".into(),
///     quiet_hours: Some(QuietHours { start: "22:00".into(), end: "08:00".into() }),
///     ..RecoveryPolicy::default()
/// };
/// // Last activity 21:30 in Amsterdam (CET); the first email is due at 22:30.
/// let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 20, 30, 0).unwrap();
/// let cart = CartFacts { status: CartStatus::Active, item_count: 1, total_minor: 900, has_email: true,
///     unsubscribed: false, deleted: false, created_at: t0, last_activity_at: t0, next_step: 0 };
/// let night = evaluate_with(&cart, &SendContext::default(), &policy, t0 + TimeDelta::hours(1));
/// assert_eq!((night.send_now, night.waiting), (None, Some(WaitReason::QuietHours)));
/// let morning = Utc.with_ymd_and_hms(2026, 1, 2, 7, 0, 0).unwrap(); // 08:00 CET
/// assert_eq!(night.wake_at, Some(morning));
/// assert_eq!(evaluate_with(&cart, &SendContext::default(), &policy, morning).send_now, Some(0));
/// ```
pub fn evaluate_with(
    cart: &CartFacts,
    context: &SendContext,
    policy: &RecoveryPolicy,
    now: DateTime<Utc>,
) -> Evaluation {
    let finished = |reason| Evaluation {
        transition: None,
        send_now: None,
        wake_at: None,
        no_send: Some(reason),
        waiting: None,
    };
    if cart.deleted {
        return finished(NoSendReason::Deleted);
    }
    match cart.status {
        CartStatus::Recovered | CartStatus::Converted => return finished(NoSendReason::Ordered),
        CartStatus::Expired => return finished(NoSendReason::Expired),
        CartStatus::Active | CartStatus::Abandoned => {}
    }
    let expire_at = shift(cart.created_at, policy.expire_after());
    if now >= expire_at {
        return Evaluation {
            transition: Some(CartStatus::Expired),
            ..finished(NoSendReason::Expired)
        };
    }
    let abandon_at = shift(cart.last_activity_at, policy.abandon_delay());
    let becomes_abandoned =
        cart.status == CartStatus::Active && cart.item_count > 0 && now >= abandon_at;
    let mut evaluation = Evaluation {
        transition: becomes_abandoned.then_some(CartStatus::Abandoned),
        send_now: None,
        wake_at: Some(expire_at),
        no_send: None,
        waiting: None,
    };
    let mut wake_at = expire_at;
    if cart.status == CartStatus::Active && cart.item_count > 0 && abandon_at > now {
        wake_at = wake_at.min(abandon_at);
    }
    match next_send_with(cart, context, policy) {
        Err(reason) => evaluation.no_send = Some(reason),
        Ok(send) if send.due_at > now => wake_at = wake_at.min(send.at),
        Ok(send) => {
            let blocked_by_sequence = send.step == 0
                && policy.customer_cooldown().is_some()
                && context.customer_has_active_sequence;
            let capped_until = context.address_capped_until.filter(|&until| until > now);
            if blocked_by_sequence {
                evaluation.no_send = Some(NoSendReason::Cooldown);
            } else if let Some(until) = capped_until {
                if until < expire_at {
                    evaluation.waiting = Some(WaitReason::AddressDailyCap);
                    wake_at = wake_at.min(until);
                } else {
                    evaluation.no_send = Some(NoSendReason::Expired);
                }
            } else if let Some(opens) = policy.quiet_until(now) {
                if opens < expire_at {
                    evaluation.waiting = Some(WaitReason::QuietHours);
                    wake_at = wake_at.min(opens);
                } else {
                    evaluation.no_send = Some(NoSendReason::Expired);
                }
            } else {
                evaluation.send_now = Some(send.step);
            }
        }
    }
    // The far-future cap means "never": no wake-up is stored for it.
    evaluation.wake_at = (wake_at < far_future()).then_some(wake_at);
    evaluation
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
