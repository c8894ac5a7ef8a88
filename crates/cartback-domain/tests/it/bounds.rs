//! The scheduler against the extremes of every policy field: a stored policy
//! may predate the bounds, so no value may panic or schedule outside the
//! years 1970 to 9999.

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;

use cartback_domain::bounds::{self, earliest, far_future};
use cartback_domain::{
    CartFacts, CartStatus, QuietHours, RecoveryPolicy, RecoveryStep, SendContext, evaluate,
    evaluate_with, next_send_with,
};

fn extreme_ms(max: u64) -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(max),
        Just(max + 1),
        Just(i64::MAX as u64),
        Just(u64::MAX),
        Just(260_000_000_000_000),
        0..=max,
        any::<u64>(),
    ]
}

fn extreme_u32() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(1),
        Just(bounds::MAX_EMAILS_PER_CART),
        Just(u32::MAX),
        any::<u32>()
    ]
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let (lo, hi) = (earliest().timestamp(), far_future().timestamp());
    prop_oneof![
        Just(earliest()),
        Just(far_future()),
        (lo..=hi).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap()),
    ]
}

fn quiet_hours() -> impl Strategy<Value = Option<QuietHours>> {
    prop_oneof![
        Just(None),
        Just(Some(QuietHours {
            start: "22:00".into(),
            end: "08:00".into()
        })),
        Just(Some(QuietHours {
            start: "00:00".into(),
            end: "23:00".into()
        })),
        Just(Some(QuietHours {
            start: "12:00".into(),
            end: "14:00".into()
        })),
        // Malformed, as an unvalidated row could hold.
        Just(Some(QuietHours {
            start: "00:00".into(),
            end: "00:00".into()
        })),
    ]
}

fn policy() -> impl Strategy<Value = RecoveryPolicy> {
    (
        prop::collection::vec(extreme_ms(bounds::MAX_STEP_DELAY_MS), 0..12),
        extreme_u32(),
        prop_oneof![
            Just(0i64),
            Just(bounds::MAX_AMOUNT_MINOR),
            Just(i64::MAX),
            Just(i64::MIN),
            any::<i64>()
        ],
        extreme_ms(bounds::MAX_EXPIRE_AFTER_MS),
        extreme_ms(bounds::MAX_ATTRIBUTION_WINDOW_MS),
        extreme_ms(bounds::MAX_CUSTOMER_COOLDOWN_MS),
        quiet_hours(),
        prop_oneof![
            Just("UTC"),
            Just("Pacific/Kiritimati"),
            Just("America/New_York"),
            Just("Nowhere/Atall")
        ],
        any::<bool>(),
    )
        .prop_map(
            |(delays, max_emails, min_value, expire, window, cooldown, quiet, zone, consent)| {
                RecoveryPolicy {
                    steps: delays.into_iter().map(RecoveryStep::after).collect(),
                    max_emails_per_cart: max_emails,
                    min_cart_value_minor: min_value,
                    expire_after_ms: expire,
                    attribution_window_ms: window,
                    customer_cooldown_ms: cooldown,
                    quiet_hours: quiet,
                    time_zone: zone.to_owned(),
                    require_consent: consent,
                    ..RecoveryPolicy::default()
                }
            },
        )
}

fn cart() -> impl Strategy<Value = CartFacts> {
    (
        instant(),
        instant(),
        prop_oneof![Just(CartStatus::Active), Just(CartStatus::Abandoned)],
        extreme_u32(),
        0u32..=12,
        any::<i64>(),
    )
        .prop_map(|(a, b, status, items, next_step, total)| CartFacts {
            status,
            item_count: items,
            total_minor: total,
            has_email: true,
            unsubscribed: false,
            deleted: false,
            created_at: a.min(b),
            last_activity_at: a.max(b),
            next_step,
        })
}

fn context() -> impl Strategy<Value = SendContext> {
    (
        proptest::option::of(instant()),
        proptest::option::of(instant()),
        any::<bool>(),
    )
        .prop_map(|(emailed, last_sent, active)| SendContext {
            consent: Some(true),
            customer_recently_emailed_at: emailed,
            cart_last_sent_at: last_sent,
            customer_has_active_sequence: active,
            ..SendContext::default()
        })
}

fn inside(at: DateTime<Utc>) -> bool {
    bounds::in_range(at)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn no_policy_value_panics_or_schedules_past_the_bounds(
        policy in policy(),
        cart in cart(),
        context in context(),
        now in instant(),
    ) {
        if let Ok(send) = next_send_with(&cart, &context, &policy) {
            prop_assert!(inside(send.at) && inside(send.due_at), "{send:?}");
            prop_assert!(send.at < far_future(), "a send at the cap means never: {send:?}");
        }
        for evaluation in [evaluate_with(&cart, &context, &policy, now), evaluate(&cart, &policy, now)] {
            if let Some(wake) = evaluation.wake_at {
                prop_assert!(inside(wake) && wake < far_future(), "{evaluation:?}");
            }
        }
        if let Some(opens) = policy.quiet_until(now) {
            prop_assert!(inside(opens));
        }
        let _ = policy.is_quiet_at(now);
        let _ = policy.problems();
    }

    /// A policy that validates has every field inside its bound.
    #[test]
    fn a_valid_policy_is_inside_every_bound(policy in policy()) {
        if policy.validate().is_ok() {
            prop_assert!(policy.steps.iter().all(|s| s.delay_ms <= bounds::MAX_STEP_DELAY_MS));
            prop_assert!(policy.expire_after_ms <= bounds::MAX_EXPIRE_AFTER_MS);
            prop_assert!(policy.attribution_window_ms <= bounds::MAX_ATTRIBUTION_WINDOW_MS);
            prop_assert!(policy.customer_cooldown_ms <= bounds::MAX_CUSTOMER_COOLDOWN_MS);
            prop_assert!(policy.max_emails_per_cart <= bounds::MAX_EMAILS_PER_CART);
            prop_assert!((0..=bounds::MAX_AMOUNT_MINOR).contains(&policy.min_cart_value_minor));
        }
    }
}

/// The reported case: a 1 s step and an expiry of i64::MAX ms.
#[test]
fn the_reported_policy_schedules_normally() {
    let t0 = DateTime::from_timestamp(1_767_225_600, 0).unwrap(); // 2026-01-01
    let policy = RecoveryPolicy {
        steps: vec![RecoveryStep::after(1000)],
        expire_after_ms: i64::MAX as u64,
        ..RecoveryPolicy::default()
    };
    assert_eq!(
        policy.validate().unwrap_err().field.as_deref(),
        Some("expireAfterMs")
    );
    let cart = CartFacts {
        status: CartStatus::Active,
        item_count: 1,
        total_minor: 100,
        has_email: true,
        unsubscribed: false,
        deleted: false,
        created_at: t0,
        last_activity_at: t0,
        next_step: 0,
    };
    let due = evaluate(&cart, &policy, t0 + TimeDelta::seconds(2));
    assert_eq!(due.send_now, Some(0));
}
