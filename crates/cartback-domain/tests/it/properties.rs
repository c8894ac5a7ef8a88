//! Property tests: money arithmetic is integer arithmetic, and the lifecycle never
//! reaches an impossible state.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;

use cartback_domain::{
    AttributionMode, CartFacts, CartStatus, Currency, MerchantEdit, Money, RecoveryHistory,
    RecoveryPolicy, RecoveryStep, ScheduleChange, evaluate, next_send, on_cart_update,
    on_merchant_edit, on_order,
};

fn currency() -> impl Strategy<Value = Currency> {
    let all: Vec<Currency> = Currency::all().collect();
    proptest::sample::select(all)
}

const BOUND: i64 = 1 << 52;

proptest! {
    #[test]
    fn addition_is_integer_addition(a in -BOUND..BOUND, b in -BOUND..BOUND, c in -BOUND..BOUND, cur in currency()) {
        let (ma, mb, mc) = (Money::from_minor(a, cur), Money::from_minor(b, cur), Money::from_minor(c, cur));
        prop_assert_eq!(ma.checked_add(mb).unwrap().minor(), a + b);
        prop_assert_eq!(ma.checked_add(mb).unwrap(), mb.checked_add(ma).unwrap());
        prop_assert_eq!(
            ma.checked_add(mb).unwrap().checked_add(mc).unwrap(),
            ma.checked_add(mb.checked_add(mc).unwrap()).unwrap()
        );
    }

    #[test]
    fn printing_then_parsing_gives_back_the_amount(minor in any::<i64>(), cur in currency()) {
        let money = Money::from_minor(minor, cur);
        prop_assert_eq!(Money::parse_major(&money.to_major_string(), cur), Ok(money));
    }

    #[test]
    fn multiplication_is_repeated_addition(minor in -1_000_000i64..1_000_000, quantity in 0u32..50, cur in currency()) {
        let unit = Money::from_minor(minor, cur);
        let mut sum = Money::zero(cur);
        for _ in 0..quantity {
            sum = sum.checked_add(unit).unwrap();
        }
        prop_assert_eq!(unit.checked_mul(quantity).unwrap(), sum);
    }

    #[test]
    fn decimal_text_parses_exactly(units in 0i64..1_000_000_000, cents in 0i64..100) {
        let text = format!("{units}.{cents:02}");
        prop_assert_eq!(Money::parse_major(&text, Currency::USD).unwrap().minor(), units * 100 + cents);
    }
}

#[derive(Debug, Clone)]
enum Event {
    Update { items: u32, email: bool },
    Order { sent_before: bool },
    Tick { minutes: i64 },
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (0u32..4, any::<bool>()).prop_map(|(items, email)| Event::Update { items, email }),
        any::<bool>().prop_map(|sent_before| Event::Order { sent_before }),
        (1i64..5000).prop_map(|minutes| Event::Tick { minutes }),
    ]
}

fn policy() -> RecoveryPolicy {
    RecoveryPolicy {
        steps: vec![
            RecoveryStep {
                delay_ms: 3_600_000,
            },
            RecoveryStep {
                delay_ms: 86_400_000,
            },
        ],
        ..RecoveryPolicy::default()
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

proptest! {
    #[test]
    fn the_lifecycle_stays_consistent(events in proptest::collection::vec(event(), 1..40)) {
        let policy = policy();
        let mut now = start();
        let mut cart = CartFacts {
            status: CartStatus::Active, item_count: 1, total_minor: 100, has_email: true,
            unsubscribed: false, deleted: false, created_at: now, last_activity_at: now, next_step: 0,
        };
        let mut emails_sent = 0u32;
        for event in events {
            match event {
                Event::Update { items, email } => {
                    let outcome = on_cart_update(cart.status);
                    prop_assert_eq!(outcome.status, CartStatus::Active);
                    prop_assert_eq!(outcome.new_cycle, cart.status.is_terminal());
                    if outcome.new_cycle {
                        cart.next_step = 0;
                        cart.created_at = now;
                        emails_sent = 0;
                    }
                    cart.status = outcome.status;
                    cart.item_count = items;
                    cart.has_email = email;
                    cart.last_activity_at = now;
                }
                Event::Order { sent_before } => {
                    let history = RecoveryHistory {
                        emails_sent: if sent_before { emails_sent } else { 0 },
                        last_sent_at: (sent_before && emails_sent > 0).then_some(now),
                        ..RecoveryHistory::default()
                    };
                    let before = cart.status;
                    match on_order(cart.status, &history, AttributionMode::Sent, policy.attribution_window(), now) {
                        Some(status) => {
                            prop_assert!(before.is_open());
                            prop_assert!(matches!(status, CartStatus::Recovered | CartStatus::Converted));
                            cart.status = status;
                        }
                        None => prop_assert!(before.is_terminal()),
                    }
                }
                Event::Tick { minutes } => {
                    now += TimeDelta::minutes(minutes);
                    let evaluation = evaluate(&cart, &policy, now);
                    if let Some(wake) = evaluation.wake_at {
                        prop_assert!(wake > now);
                    }
                    if evaluation.send_now.is_some() {
                        prop_assert!(cart.status.is_open());
                        prop_assert!(cart.item_count > 0 && cart.has_email);
                        prop_assert!(cart.next_step < policy.max_emails_per_cart);
                    }
                    if let Some(status) = evaluation.transition {
                        prop_assert!(cart.status.is_open());
                        cart.status = status;
                    }
                    if let Some(step) = evaluation.send_now {
                        prop_assert_eq!(step, cart.next_step);
                        cart.next_step += 1;
                        emails_sent += 1;
                    }
                }
            }
            if let Ok(send) = next_send(&cart, &policy) {
                prop_assert!((send.step as usize) < policy.steps.len());
                prop_assert!(send.at > cart.last_activity_at);
            }
        }
    }
}

fn cart_status() -> impl Strategy<Value = CartStatus> {
    proptest::sample::select(vec![
        CartStatus::Active,
        CartStatus::Abandoned,
        CartStatus::Recovered,
        CartStatus::Converted,
        CartStatus::Expired,
    ])
}

fn merchant_edit() -> impl Strategy<Value = MerchantEdit> {
    (
        cart_status(),
        proptest::option::of(cart_status()),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(current, requested, email_changed, held_by_worker)| MerchantEdit {
                current,
                requested,
                email_changed,
                held_by_worker,
            },
        )
}

proptest! {
    #[test]
    fn a_merchant_never_reopens_a_closed_cart(edit in merchant_edit()) {
        let result = on_merchant_edit(edit);
        if edit.current.is_terminal() {
            let asks_other = edit.requested.is_some_and(|r| r != edit.current);
            prop_assert_eq!(result.is_err(), asks_other);
            if let Ok(change) = result {
                // Nothing happens to a closed cart: no status, no schedule.
                prop_assert_eq!(change.status, edit.current);
                prop_assert_eq!(change.schedule, ScheduleChange::Keep);
                prop_assert!(!change.closes && !change.marks_ordered);
            }
        } else {
            // An open cart may be given any status.
            let change = result.unwrap();
            prop_assert_eq!(change.status, edit.requested.unwrap_or(edit.current));
        }
    }

    #[test]
    fn closing_stops_the_emails_and_only_closing_does(edit in merchant_edit()) {
        if let Ok(change) = on_merchant_edit(edit) {
            prop_assert_eq!(change.closes, edit.current.is_open() && change.status.is_terminal());
            prop_assert_eq!(change.schedule == ScheduleChange::Clear, change.closes);
            // Only an order closes a cart as ordered; expiring it does not.
            prop_assert_eq!(
                change.marks_ordered,
                change.closes && change.status != CartStatus::Expired
            );
        }
    }

    #[test]
    fn the_worker_looks_again_only_at_an_open_cart_it_does_not_hold(edit in merchant_edit()) {
        if let Ok(change) = on_merchant_edit(edit) {
            if change.schedule == ScheduleChange::WakeNow {
                prop_assert!(change.status.is_open());
                prop_assert!(!edit.held_by_worker);
                prop_assert!(edit.email_changed || change.status != edit.current);
            }
            let something_changed = edit.email_changed || change.status != edit.current;
            if change.status.is_open() && !edit.held_by_worker && something_changed {
                prop_assert_eq!(change.schedule, ScheduleChange::WakeNow);
            }
            if !something_changed {
                prop_assert_eq!(change.schedule, ScheduleChange::Keep);
            }
        }
    }
}
