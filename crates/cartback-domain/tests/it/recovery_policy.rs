//! Property tests of the recovery policy: caps, orders, one sequence per
//! shopper, quiet hours across clock changes, and policies stored before the
//! newer fields existed.

use std::collections::HashMap;

use chrono::{DateTime, NaiveTime, Offset, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use serde::Serialize;

use cartback_domain::{
    AttributionMode, CartFacts, CartStatus, NoSendReason, QuietHours, RecoveryPolicy, RecoveryStep,
    SendContext, ShopperSimulation, Tz, WaitReason, evaluate, evaluate_with, next_send_with,
    parse_time_zone,
};

const MINUTE_MS: u64 = 60_000;
const HOUR_MS: u64 = 60 * MINUTE_MS;
const DAY_MS: u64 = 24 * HOUR_MS;

const ZONES: [&str; 5] = [
    "UTC",
    "Europe/Amsterdam",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
];

fn clock(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Quiet hours, often with an edge in the small hours where clocks change.
fn quiet_hours() -> impl Strategy<Value = QuietHours> {
    let minute = prop_oneof![0u32..1440, 60u32..240];
    (minute.clone(), minute)
        .prop_map(|(start, end)| QuietHours {
            start: clock(start),
            end: clock(end),
        })
        .prop_filter("a valid window", |q| q.window().is_ok())
}

fn policy() -> impl Strategy<Value = RecoveryPolicy> {
    (
        proptest::collection::btree_set(MINUTE_MS..5 * DAY_MS, 1..5),
        1u32..5,
        prop_oneof![3 => Just(0i64), 1 => 0i64..2000],
        HOUR_MS..10 * DAY_MS,
        prop_oneof![Just(0u64), HOUR_MS..5 * DAY_MS],
        proptest::option::of(quiet_hours()),
        proptest::sample::select(ZONES.to_vec()),
        proptest::bool::weighted(0.25),
        0u32..5,
    )
        .prop_map(
            |(delays, cap, min, expire_extra, cooldown, quiet, zone, consent, daily)| {
                let steps: Vec<RecoveryStep> =
                    delays.into_iter().map(RecoveryStep::after).collect();
                let last = steps.last().map_or(0, |s| s.delay_ms);
                RecoveryPolicy {
                    steps,
                    max_emails_per_cart: cap,
                    min_cart_value_minor: min,
                    expire_after_ms: last + expire_extra,
                    customer_cooldown_ms: cooldown,
                    quiet_hours: quiet,
                    time_zone: zone.to_owned(),
                    require_consent: consent,
                    max_emails_per_address_per_day: daily,
                    ..RecoveryPolicy::default()
                }
            },
        )
}

#[derive(Debug, Clone)]
enum Event {
    Update { cart: usize, items: u32, total: i64 },
    Order { cart: usize },
    Wait { minutes: i64 },
    Suppress(bool),
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => (0usize..3, prop_oneof![1 => Just(0u32), 4 => 1u32..4], 0i64..3000)
            .prop_map(|(cart, items, total)| Event::Update { cart, items, total }),
        1 => (0usize..3).prop_map(|cart| Event::Order { cart }),
        5 => (1i64..4000).prop_map(|minutes| Event::Wait { minutes }),
        1 => prop_oneof![9 => Just(false), 1 => Just(true)].prop_map(Event::Suppress),
    ]
}

/// Any instant of 2026, to the second.
fn instant_2026() -> impl Strategy<Value = DateTime<Utc>> {
    let start = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .unwrap()
        .timestamp();
    (0i64..365 * 86_400).prop_map(move |s| DateTime::from_timestamp(start + s, 0).unwrap())
}

/// What the properties need from a finished simulation.
struct Replay {
    policy: RecoveryPolicy,
    consent: Option<bool>,
    shopper: ShopperSimulation,
    /// Log length when each (cart, cycle) was ordered.
    ordered_at_log: HashMap<(usize, u32), usize>,
    /// Log index ranges during which the address was suppressed.
    suppressed_spans: Vec<(usize, usize)>,
}

fn replay(
    policy: RecoveryPolicy,
    consent: Option<bool>,
    start: DateTime<Utc>,
    events: &[Event],
) -> Replay {
    let mut shopper = ShopperSimulation::new(policy.clone(), consent, start);
    let mut ordered_at_log = HashMap::new();
    let mut suppressed_spans = Vec::new();
    let mut suppressed_since: Option<usize> = None;
    for event in events {
        match *event {
            Event::Update { cart, items, total } => {
                let cart = cart.min(shopper.carts().len());
                shopper.update(cart, items, total);
            }
            Event::Order { cart } => {
                if shopper.order(cart).is_some() {
                    let cycle = shopper.carts()[cart].cycle;
                    ordered_at_log.insert((cart, cycle), shopper.sent().len());
                }
            }
            Event::Wait { minutes } => shopper.advance(TimeDelta::minutes(minutes)),
            Event::Suppress(on) => {
                shopper.set_suppressed(on);
                match (on, suppressed_since) {
                    (true, None) => suppressed_since = Some(shopper.sent().len()),
                    (false, Some(from)) => {
                        suppressed_spans.push((from, shopper.sent().len()));
                        suppressed_since = None;
                    }
                    _ => {}
                }
            }
        }
    }
    shopper.advance(TimeDelta::days(40));
    if let Some(from) = suppressed_since {
        suppressed_spans.push((from, shopper.sent().len()));
    }
    Replay {
        policy,
        consent,
        shopper,
        ordered_at_log,
        suppressed_spans,
    }
}

fn histories() -> impl Strategy<Value = (RecoveryPolicy, Option<bool>, DateTime<Utc>, Vec<Event>)> {
    (
        policy(),
        prop_oneof![3 => Just(Some(true)), 1 => Just(Some(false)), 1 => Just(None)],
        instant_2026(),
        proptest::collection::vec(event(), 1..40),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// (a) No cart gets more emails in a cycle than the cap, and steps go out in
    /// order, at least their delay gap apart.
    #[test]
    fn never_more_emails_than_the_cap((policy, consent, start, events) in histories()) {
        prop_assert!(policy.validate().is_ok());
        let run = replay(policy, consent, start, &events);
        let mut per_cycle: HashMap<(usize, u32), Vec<_>> = HashMap::new();
        for email in run.shopper.sent() {
            per_cycle.entry((email.cart, email.cycle)).or_default().push(*email);
        }
        for emails in per_cycle.values() {
            prop_assert!(emails.len() as u32 <= run.policy.max_emails_per_cart);
            for (i, email) in emails.iter().enumerate() {
                prop_assert_eq!(email.step as usize, i);
            }
            for pair in emails.windows(2) {
                let gap = run.policy.step_delay(pair[1].step).unwrap()
                    - run.policy.step_delay(pair[0].step).unwrap();
                prop_assert!(pair[1].at - pair[0].at >= gap);
            }
        }
    }

    /// (e) However many carts a shopper leaves, their address never gets more
    /// recovery emails in any 24 hours than the daily cap (0: no cap).
    #[test]
    fn never_more_emails_a_day_than_the_address_cap((policy, consent, start, events) in histories()) {
        let run = replay(policy, consent, start, &events);
        let cap = run.policy.max_emails_per_address_per_day as usize;
        if cap > 0 {
            let sent = run.shopper.sent();
            for (i, email) in sent.iter().enumerate() {
                let within_a_day = sent[..=i]
                    .iter()
                    .filter(|e| email.at - e.at < TimeDelta::days(1))
                    .count();
                prop_assert!(within_a_day <= cap, "{within_a_day} emails in a day, cap {cap}: {sent:?}");
            }
        }
    }

    /// (b) Once a cart is ordered, it gets no email until a new cycle; and
    /// consent, suppression and quiet hours always hold.
    #[test]
    fn never_a_send_after_an_order((policy, consent, start, events) in histories()) {
        let run = replay(policy, consent, start, &events);
        for (i, email) in run.shopper.sent().iter().enumerate() {
            if let Some(&ordered) = run.ordered_at_log.get(&(email.cart, email.cycle)) {
                prop_assert!(i < ordered, "email {email:?} after the order");
            }
            if run.policy.require_consent {
                prop_assert_eq!(run.consent, Some(true));
            }
            prop_assert!(!run.suppressed_spans.iter().any(|&(from, to)| from <= i && i < to));
            prop_assert!(!run.policy.is_quiet_at(email.at), "sent in quiet hours: {email:?}");
        }
    }

    /// (c) With a cooldown, a shopper's sequences never overlap, and a new one
    /// starts only a full cooldown after the shopper's previous email.
    #[test]
    fn one_sequence_per_shopper_inside_the_cooldown((policy, consent, start, events) in histories()) {
        let run = replay(policy, consent, start, &events);
        let Some(cooldown) = run.policy.customer_cooldown() else { return Ok(()); };
        let sent = run.shopper.sent();
        let mut spans: HashMap<(usize, u32), (usize, usize)> = HashMap::new();
        for (i, email) in sent.iter().enumerate() {
            if email.step == 0 {
                for earlier in &sent[..i] {
                    prop_assert!(email.at - earlier.at >= cooldown,
                        "{email:?} starts {:?} after {earlier:?}", email.at - earlier.at);
                }
            }
            spans.entry((email.cart, email.cycle)).and_modify(|s| s.1 = i).or_insert((i, i));
        }
        let mut spans: Vec<_> = spans.into_values().collect();
        spans.sort();
        for pair in spans.windows(2) {
            prop_assert!(pair[0].1 < pair[1].0, "sequences overlap: {spans:?}");
        }
    }

    /// Decisions agree with each other for any cart, context and moment.
    #[test]
    fn decisions_are_consistent(
        policy in policy(),
        items in 0u32..3,
        total in 0i64..3000,
        next_step in 0u32..5,
        status in proptest::sample::select(vec![CartStatus::Active, CartStatus::Abandoned, CartStatus::Converted]),
        age_minutes in 0i64..20_000,
        idle_minutes in 0i64..20_000,
        consent in proptest::option::of(any::<bool>()),
        suppressed in any::<bool>(),
        emailed_minutes_ago in proptest::option::of(0i64..20_000),
        active in any::<bool>(),
        capped_minutes in proptest::option::of(-600i64..2_000),
        now in instant_2026(),
    ) {
        let created_at = now - TimeDelta::minutes(age_minutes);
        let cart = CartFacts {
            status, item_count: items, total_minor: total, has_email: true, unsubscribed: false,
            deleted: false, created_at,
            last_activity_at: created_at.max(now - TimeDelta::minutes(idle_minutes)),
            next_step,
        };
        let context = SendContext {
            consent, suppressed,
            customer_recently_emailed_at: emailed_minutes_ago.map(|m| now - TimeDelta::minutes(m)),
            customer_has_active_sequence: active,
            cart_last_sent_at: None,
            address_capped_until: capped_minutes.map(|m| now + TimeDelta::minutes(m)),
            held_out: false,
        };
        let capped = context.address_capped_until.is_some_and(|until| until > now);
        let evaluation = evaluate_with(&cart, &context, &policy, now);
        let next = next_send_with(&cart, &context, &policy);
        if let Some(wake) = evaluation.wake_at {
            prop_assert!(wake > now);
        }
        // Exactly one of: send, wait, a reason not to, or not due yet.
        let outcomes = [evaluation.send_now.is_some(), evaluation.waiting.is_some(), evaluation.no_send.is_some()];
        prop_assert!(outcomes.iter().filter(|o| **o).count() <= 1, "{evaluation:?}");
        if let Some(step) = evaluation.send_now {
            let send = next.unwrap();
            prop_assert_eq!(step, send.step);
            prop_assert!(send.due_at <= now && !policy.is_quiet_at(now));
            prop_assert!(step < policy.max_emails_per_cart && status.is_open());
            prop_assert!(!suppressed && (!policy.require_consent || consent == Some(true)));
            prop_assert!(!capped, "never over the address's daily cap");
        }
        match evaluation.waiting {
            Some(WaitReason::QuietHours) => {
                prop_assert!(policy.is_quiet_at(now));
                prop_assert_eq!(evaluation.wake_at, policy.quiet_until(now));
            }
            Some(WaitReason::AddressDailyCap) => {
                prop_assert!(capped);
                prop_assert!(evaluation.wake_at <= context.address_capped_until);
            }
            None => {}
        }
        if let Err(reason) = next {
            prop_assert!(evaluation.send_now.is_none() && evaluation.waiting.is_none());
            if evaluation.transition != Some(CartStatus::Expired) {
                prop_assert_eq!(evaluation.no_send, Some(reason));
            }
        }
        prop_assert_eq!(evaluation.reason().is_empty(), false);
        // Without a context the decision is the old one.
        let plain = evaluate(&cart, &policy, now);
        prop_assert_eq!(plain, evaluate_with(&cart, &SendContext::default(), &policy, now));
    }
}

// ---------------------------------------------------------------------------
// (d) Quiet hours across the 2026 clock changes.

/// The 2026 clock changes of the two zones, as UTC instants.
fn clock_change() -> impl Strategy<Value = (Tz, DateTime<Utc>)> {
    let changes = vec![
        ("Europe/Amsterdam", (3, 29, 1)),
        ("Europe/Amsterdam", (10, 25, 1)),
        ("America/New_York", (3, 8, 7)),
        ("America/New_York", (11, 1, 6)),
    ];
    proptest::sample::select(changes).prop_map(|(zone, (month, day, hour))| {
        (
            parse_time_zone(zone).unwrap(),
            Utc.with_ymd_and_hms(2026, month, day, hour, 0, 0).unwrap(),
        )
    })
}

fn offset_at(zone: Tz, at: DateTime<Utc>) -> i32 {
    zone.offset_from_utc_datetime(&at.naive_utc())
        .fix()
        .local_minus_utc()
}

/// The wake time is the window's end on the local clock, or, when that end
/// does not exist that day, the instant the clocks jumped over it.
fn is_window_end(zone: Tz, end: NaiveTime, wake: DateTime<Utc>) -> bool {
    let local = wake.with_timezone(&zone);
    if local.time() == end {
        return true;
    }
    let jumped = offset_at(zone, wake - TimeDelta::seconds(1)) < offset_at(zone, wake);
    let end_missing = zone
        .from_local_datetime(&local.date_naive().and_time(end))
        .single()
        .is_none();
    jumped && end_missing
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn quiet_hours_hold_across_clock_changes(
        (zone, change) in clock_change(),
        quiet in quiet_hours(),
        offset_seconds in -2 * 86_400i64..2 * 86_400,
        delay_minutes in 1u64..(30 * 60),
        late_seconds in 0i64..(12 * 3600),
    ) {
        let policy = RecoveryPolicy {
            steps: vec![RecoveryStep::after(delay_minutes * MINUTE_MS)],
            quiet_hours: Some(quiet.clone()),
            time_zone: zone.name().to_owned(),
            ..RecoveryPolicy::default()
        };
        prop_assert!(policy.validate().is_ok());
        let window = quiet.window().unwrap();
        // The email falls due around the clock change, and is looked at on time or late.
        let due = change + TimeDelta::seconds(offset_seconds);
        let activity = due - TimeDelta::minutes(delay_minutes as i64);
        let now = due + TimeDelta::seconds(late_seconds);
        let cart = CartFacts {
            status: CartStatus::Abandoned, item_count: 1, total_minor: 100, has_email: true,
            unsubscribed: false, deleted: false, created_at: activity, last_activity_at: activity,
            next_step: 0,
        };
        let evaluation = evaluate(&cart, &policy, now);
        if evaluation.send_now.is_some() {
            prop_assert!(!window.contains(zone, now), "sent at {} local", now.with_timezone(&zone));
        } else {
            prop_assert_eq!(evaluation.waiting, Some(WaitReason::QuietHours));
            prop_assert!(window.contains(zone, now));
            let wake = evaluation.wake_at.unwrap();
            prop_assert!(wake > now);
            prop_assert!(!window.contains(zone, wake), "woke at {} local", wake.with_timezone(&zone));
            prop_assert!(is_window_end(zone, window.end(), wake),
                "woke at {} local, end {}", wake.with_timezone(&zone), window.end());
            // At that moment the email goes.
            prop_assert_eq!(evaluate(&cart, &policy, wake).send_now, Some(0));
        }
        // The planned time is never inside the window either.
        let planned = next_send_with(&cart, &SendContext::default(), &policy).unwrap();
        prop_assert!(planned.due_at == due && !window.contains(zone, planned.at));
    }
}

// ---------------------------------------------------------------------------
// (e) Policies stored before the newer fields existed.

/// Exactly what `RecoveryPolicy::default()` serialized to before step
/// settings, cooldown, quiet hours, time zone and consent were added.
const OLD_DEFAULT_JSON: &str = r#"{"steps":[{"delayMs":3600000},{"delayMs":86400000},{"delayMs":259200000}],"maxEmailsPerCart":3,"minCartValueMinor":0,"expireAfterMs":2592000000,"attributionWindowMs":604800000,"attributionMode":"sent"}"#;

#[test]
fn the_old_default_policy_still_loads_and_validates() {
    let policy: RecoveryPolicy = serde_json::from_str(OLD_DEFAULT_JSON).unwrap();
    assert_eq!(policy, RecoveryPolicy::default());
    assert!(policy.validate().is_ok());
    assert_eq!(policy.time_zone, "UTC");
    assert_eq!(policy.customer_cooldown(), None);
    assert!(policy.quiet_hours.is_none() && !policy.require_consent);
    assert!(policy.step_settings.is_empty());
}

/// The policy as it was stored before.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct OldPolicy {
    steps: Vec<OldStep>,
    max_emails_per_cart: u32,
    min_cart_value_minor: i64,
    expire_after_ms: u64,
    attribution_window_ms: u64,
    attribution_mode: AttributionMode,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct OldStep {
    delay_ms: u64,
}

/// The old validation rules, verbatim in meaning.
fn old_rules_accept(old: &OldPolicy) -> bool {
    !old.steps.is_empty()
        && old.steps.len() <= 10
        && old.steps[0].delay_ms > 0
        && old.steps.windows(2).all(|w| w[1].delay_ms > w[0].delay_ms)
        && old.max_emails_per_cart > 0
        && old.min_cart_value_minor >= 0
        && old.expire_after_ms > old.steps.last().map_or(0, |s| s.delay_ms)
}

proptest! {
    #[test]
    fn old_policies_load_unchanged_and_validate_as_before(
        delays in proptest::collection::vec(0u64..10 * DAY_MS, 0..12),
        cap in 0u32..5,
        min in -10i64..5000,
        expire in 0u64..40 * DAY_MS,
        window in 0u64..30 * DAY_MS,
        clicked in any::<bool>(),
    ) {
        let old = OldPolicy {
            steps: delays.iter().map(|&delay_ms| OldStep { delay_ms }).collect(),
            max_emails_per_cart: cap,
            min_cart_value_minor: min,
            expire_after_ms: expire,
            attribution_window_ms: window,
            attribution_mode: if clicked { AttributionMode::Clicked } else { AttributionMode::Sent },
        };
        let loaded: RecoveryPolicy = serde_json::from_str(&serde_json::to_string(&old).unwrap()).unwrap();
        prop_assert_eq!(loaded.steps.iter().map(|s| s.delay_ms).collect::<Vec<_>>(), delays);
        prop_assert_eq!((loaded.max_emails_per_cart, loaded.min_cart_value_minor), (cap, min));
        prop_assert_eq!((loaded.expire_after_ms, loaded.attribution_window_ms), (expire, window));
        prop_assert_eq!(loaded.attribution_mode, old.attribution_mode);
        let defaults = RecoveryPolicy::default();
        prop_assert_eq!(&loaded.time_zone, &defaults.time_zone);
        prop_assert_eq!(loaded.customer_cooldown_ms, 0);
        prop_assert!(loaded.quiet_hours.is_none() && !loaded.require_consent);
        prop_assert_eq!(loaded.validate().is_ok(), old_rules_accept(&old));
    }
}

#[test]
fn reasons_have_words() {
    for reason in [
        NoSendReason::Cooldown,
        NoSendReason::NoConsent,
        NoSendReason::Suppressed,
    ] {
        assert!(!reason.describe().is_empty());
        assert_eq!(
            serde_json::to_value(reason).unwrap(),
            serde_json::Value::String(reason.as_str().to_owned())
        );
    }
    assert_eq!(WaitReason::QuietHours.as_str(), "quiet_hours");
}
