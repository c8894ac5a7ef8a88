//! Erasure leaves no trace of the shopper in the database files, and retention
//! deletes what is old and finished, on both backends.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::RunQueryDsl;
use diesel::prelude::*;

use cartback_domain::{AttributionMode, OrderSource};
use cartback_store::cart_admin::{CartPatch, PatchOutcome, erase_cart, patch_cart};
use cartback_store::carts::{CartRow, upsert_cart};
use cartback_store::erasure::{erase_customer, flush_erased, purge_expired};
use cartback_store::events::{CartEventKind, record_event};
use cartback_store::orders::{NewOrder, record_order};
use cartback_store::schema::{cart_events, carts, orders, recovery_sends, webhook_deliveries};
use cartback_store::suppressions::{
    SuppressionReason, add_suppression, list_suppressions, suppressed_among,
};
use cartback_store::webhooks::{
    AttemptResult, DeliveryStatus, NewEndpoint, Replay, claim_due_deliveries, create_endpoint,
    finish_attempts, replay_delivery,
};
use cartback_store::{Backend, DbConn, Store};
use cartback_testing::TestDatabase;

use crate::common::*;
use cartback_testing::on_both_backends;

const EMAIL: &str = "Zelda.Quixotic7731@Example.ORG";
const NAME: &str = "Wilhelmina Vantablack";
const SESSION: &str = "sess-zq-99217";

/// Every distinctive string that must not survive an erasure.
fn traces() -> Vec<String> {
    vec![
        EMAIL.to_lowercase(),
        EMAIL.to_owned(),
        NAME.to_owned(),
        "Vantablack".to_owned(),
        SESSION.to_owned(),
    ]
}

fn endpoint(conn: &mut DbConn, tenant_id: &str) -> String {
    create_endpoint(
        conn,
        &NewEndpoint {
            tenant_id,
            url: "https://hooks.example/in",
            description: None,
            events: &["*".to_owned()],
            sealed_secret: "sealed-1",
            enabled: true,
            abandoned_event: cartback_store::webhooks::AbandonedEvent::All,
            now: Utc::now(),
        },
    )
    .unwrap()
    .id
}

/// A cart of the shopper with everything that copies them elsewhere: webhook
/// deliveries (one delivered, the rest pending), a failed send whose provider
/// error quotes the address, history details, and an order.
fn shopper_cart(
    conn: &mut DbConn,
    tenant: &cartback_store::tenants::Tenant,
    session: &str,
    email: &str,
    order_ref: &str,
) -> CartRow {
    let now = Utc::now();
    let mut cart = upsert(tenant, session, Some(email), now);
    cart.customer_name = Some(NAME.to_owned());
    cart.items = vec![item("scarf-monogram", 3900)];
    cart.total_minor = 3900;
    let cart = upsert_cart(conn, &cart).unwrap();
    record_event(
        conn,
        &tenant.id,
        &cart.id,
        CartEventKind::Abandoned,
        None,
        None,
        now,
    )
    .unwrap();
    // One delivery goes out before the erasure.
    let claimed = claim_due_deliveries(conn, "w1", now, now + TimeDelta::minutes(1), 1).unwrap();
    let results: Vec<AttemptResult> = claimed
        .iter()
        .map(|c| AttemptResult {
            delivery_id: c.delivery.id.clone(),
            tenant_id: c.delivery.tenant_id.clone(),
            endpoint_id: c.delivery.endpoint_id.clone(),
            status: DeliveryStatus::Succeeded,
            next_attempt_at: None,
            status_code: Some(200),
            error: None,
            disable_endpoint: None,
        })
        .collect();
    finish_attempts(conn, "w1", &results, now).unwrap();
    let error = format!("550 5.1.1 <{email}>: recipient rejected ({NAME})");
    diesel::insert_into(recovery_sends::table)
        .values((
            recovery_sends::id.eq(format!("snd_{}", cart.id)),
            recovery_sends::tenant_id.eq(&tenant.id),
            recovery_sends::cart_id.eq(&cart.id),
            recovery_sends::cycle.eq(cart.cycle),
            recovery_sends::step.eq(0),
            recovery_sends::status.eq("dead"),
            recovery_sends::attempts.eq(1),
            recovery_sends::idempotency_key.eq(format!("key-{}", cart.id)),
            recovery_sends::last_error.eq(&error),
            recovery_sends::created_at.eq(now.naive_utc()),
            recovery_sends::updated_at.eq(now.naive_utc()),
            recovery_sends::recovery_token_hash.eq(format!("rh-{}", cart.id)),
            recovery_sends::unsubscribe_token_hash.eq(format!("uh-{}", cart.id)),
        ))
        .execute(conn)
        .unwrap();
    record_event(
        conn,
        &tenant.id,
        &cart.id,
        CartEventKind::Failed,
        Some(0),
        Some(&error),
        now,
    )
    .unwrap();
    record_order(
        conn,
        &NewOrder {
            tenant_id: tenant.id.clone(),
            order_ref: Some(order_ref.to_owned()),
            session_id: Some(session.to_owned()),
            cart_id: None,
            cart_token: None,
            customer_email: Some(email.to_owned()),
            total_minor: Some(3900),
            currency: "USD".to_owned(),
            source: OrderSource::Track,
            attribution_mode: AttributionMode::Sent,
            attribution_window: TimeDelta::days(7),
            now,
        },
    )
    .unwrap();
    cart
}

/// Asserts the traces exist before (so the search itself works) or are gone.
fn assert_traces(db: &TestDatabase, store: &Store, present: bool) {
    let bytes = raw_bytes(db, store);
    let text = String::from_utf8_lossy(&bytes).to_lowercase();
    for trace in traces() {
        let found = text.contains(&trace.to_lowercase());
        assert_eq!(
            found,
            present,
            "{trace:?} {} in the raw {:?} data",
            if found { "is still" } else { "is not" },
            db.backend
        );
    }
}

/// SQLite: the database file and its WAL after a truncating checkpoint.
/// PostgreSQL: `pg_dump --data-only` of the test database.
fn raw_bytes(db: &TestDatabase, store: &Store) -> Vec<u8> {
    match db.backend {
        Backend::Sqlite => {
            let mut conn = store.conn().unwrap();
            assert!(flush_erased(&mut conn).unwrap(), "the WAL was not emptied");
            drop(conn);
            let path = db.url.strip_prefix("sqlite://").unwrap();
            let mut bytes = std::fs::read(path).unwrap();
            if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
                bytes.extend(wal);
            }
            bytes
        }
        Backend::Postgres => {
            let out = std::process::Command::new("pg_dump")
                .arg("--data-only")
                .arg(&db.url)
                .output()
                .expect("pg_dump (postgresql-client) is needed for this test");
            assert!(
                out.status.success(),
                "pg_dump: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        }
    }
}

fn deliveries_of(conn: &mut DbConn, cart_id: &str) -> Vec<(String, String, String)> {
    webhook_deliveries::table
        .filter(webhook_deliveries::cart_id.eq(cart_id))
        .select((
            webhook_deliveries::id,
            webhook_deliveries::status,
            webhook_deliveries::payload,
        ))
        .load(conn)
        .unwrap()
}

on_both_backends!(erasing_a_cart_leaves_no_trace, |db: &TestDatabase| {
    let store = open(db);
    let mut conn = store.conn().unwrap();
    let shop = tenant(&mut conn, "shop");
    let hook = endpoint(&mut conn, &shop.id);
    let cart = shopper_cart(&mut conn, &shop, SESSION, EMAIL, "order-1");
    let before = deliveries_of(&mut conn, &cart.id);
    assert!(
        before.len() >= 3,
        "abandoned, failed, converted: {before:?}"
    );
    assert!(before.iter().any(|(_, s, _)| s == "succeeded"));
    assert!(before.iter().any(|(_, s, _)| s == "pending"));
    drop(conn);
    assert_traces(db, &store, true);

    let mut conn = store.conn().unwrap();
    let erased = erase_cart(&mut conn, &shop.id, &cart.id, Utc::now())
        .unwrap()
        .unwrap();
    assert!(erased.erased_at.is_some());
    let after = deliveries_of(&mut conn, &cart.id);
    assert_eq!(after.len(), before.len(), "deliveries stay, scrubbed");
    assert!(
        after.iter().all(|(_, s, _)| s != "pending"),
        "nothing pending goes out: {after:?}"
    );
    for (_, _, payload) in &after {
        let value: serde_json::Value = serde_json::from_str(payload).unwrap();
        assert_eq!(value["data"]["cartId"], cart.id.as_str(), "ids stay");
        assert_eq!(value["data"]["totalMinor"], 3900, "totals stay");
        assert!(value["data"]["customerEmail"].is_null());
        assert_eq!(value["data"]["erased"], true);
        assert!(value["event"].is_string(), "event names stay");
    }
    // A replay sends the scrubbed payload (what is stored), nothing more.
    let (id, _, scrubbed) = after
        .iter()
        .find(|(_, s, _)| s == "succeeded")
        .unwrap()
        .clone();
    match replay_delivery(&mut conn, &shop.id, &hook, &id, Utc::now()).unwrap() {
        Replay::Queued(row) => assert_eq!(row.payload, scrubbed),
        other => panic!("{other:?}"),
    }
    let errors: Vec<Option<String>> = recovery_sends::table
        .filter(recovery_sends::cart_id.eq(&cart.id))
        .select(recovery_sends::last_error)
        .load(&mut conn)
        .unwrap();
    assert_eq!(errors, vec![Some("erased".to_owned())]);
    let order: (Option<String>, Option<i64>) = orders::table
        .filter(orders::order_ref.eq("order-1"))
        .select((orders::customer_email, orders::total_minor))
        .first(&mut conn)
        .unwrap();
    assert_eq!(order, (None, Some(3900)), "the order keeps its total");
    // Erasing twice changes nothing more.
    erase_cart(&mut conn, &shop.id, &cart.id, Utc::now())
        .unwrap()
        .unwrap();
    drop(conn);
    assert_traces(db, &store, false);
});

on_both_backends!(erasing_a_customer_leaves_no_trace, |db: &TestDatabase| {
    let store = open(db);
    let mut conn = store.conn().unwrap();
    let shop = tenant(&mut conn, "shop");
    let other_shop = tenant(&mut conn, "other");
    endpoint(&mut conn, &shop.id);
    let now = Utc::now();
    let first = shopper_cart(&mut conn, &shop, SESSION, EMAIL, "order-1");
    // The same person in another case, on a second cart.
    let second = shopper_cart(
        &mut conn,
        &shop,
        "sess-two",
        &EMAIL.to_uppercase(),
        "order-2",
    );
    // A cart that had the address before it changed: its old delivery quotes it.
    let moved = upsert_cart(&mut conn, &upsert(&shop, "sess-moved", Some(EMAIL), now)).unwrap();
    record_event(
        &mut conn,
        &shop.id,
        &moved.id,
        CartEventKind::Abandoned,
        None,
        None,
        now,
    )
    .unwrap();
    let patched = patch_cart(
        &mut conn,
        &shop.id,
        &moved.id,
        &CartPatch {
            customer_email: Some(Some("someone.else@example.com".to_owned())),
            ..CartPatch::default()
        },
        now,
    )
    .unwrap();
    assert!(matches!(patched, PatchOutcome::Updated(_)));
    // An order that matched no cart, and an unrelated shopper.
    record_order(
        &mut conn,
        &NewOrder {
            tenant_id: shop.id.clone(),
            order_ref: Some("order-lone".to_owned()),
            session_id: None,
            cart_id: None,
            cart_token: None,
            customer_email: Some(EMAIL.to_owned()),
            total_minor: Some(100),
            currency: "USD".to_owned(),
            source: OrderSource::Stripe,
            attribution_mode: AttributionMode::Sent,
            attribution_window: TimeDelta::days(7),
            now,
        },
    )
    .unwrap();
    let bystander = upsert_cart(
        &mut conn,
        &upsert(&shop, "sess-b", Some("bob@example.com"), now),
    )
    .unwrap();
    // The same address at another tenant is another tenant's business.
    let elsewhere =
        upsert_cart(&mut conn, &upsert(&other_shop, "sess-x", Some(EMAIL), now)).unwrap();
    add_suppression(
        &mut conn,
        &shop.id,
        EMAIL,
        SuppressionReason::Unsubscribed,
        Some(&format!("asked by {NAME}")),
        now,
    )
    .unwrap();

    let erased = erase_customer(
        &mut conn,
        &shop.id,
        &format!("  {} ", EMAIL.to_lowercase()),
        now,
    )
    .unwrap();
    assert_eq!(erased.carts, 2);
    assert_eq!(erased.orders, 3, "order-1, order-2 and order-lone");
    let scrubbed =
        deliveries_of(&mut conn, &first.id).len() + deliveries_of(&mut conn, &second.id).len() + 1;
    assert_eq!(erased.deliveries, scrubbed);
    // Still never emailed again, under any case, though only a hash is listed.
    assert_eq!(
        suppressed_among(&mut conn, &shop.id, &[&EMAIL.to_uppercase()]).unwrap(),
        vec![EMAIL.to_lowercase()]
    );
    let (listed, total) = list_suppressions(&mut conn, &shop.id, 0, 10).unwrap();
    assert_eq!(total, 1);
    assert!(listed[0].email.starts_with("hmac-sha256:"), "{listed:?}");
    assert_eq!(
        listed[0].reason.as_str(),
        "unsubscribed",
        "the reason stays"
    );
    assert!(
        suppressed_among(&mut conn, &other_shop.id, &[EMAIL])
            .unwrap()
            .is_empty()
    );
    // Again: nothing left to find, still a success.
    let again = erase_customer(&mut conn, &shop.id, EMAIL, now).unwrap();
    assert_eq!((again.carts, again.orders, again.deliveries), (0, 0, 0));
    let kept: Option<String> = carts::table
        .filter(carts::id.eq(&bystander.id))
        .select(carts::customer_email)
        .first(&mut conn)
        .unwrap();
    assert_eq!(kept.as_deref(), Some("bob@example.com"));
    // The other tenant's copy is the only one left; take it out for the search.
    diesel::delete(carts::table.filter(carts::id.eq(&elsewhere.id)))
        .execute(&mut conn)
        .unwrap();
    drop(conn);
    assert_traces(db, &store, false);
});

fn back_date(conn: &mut DbConn, cart_id: &str, at: DateTime<Utc>) {
    let at = at.naive_utc();
    diesel::update(carts::table.filter(carts::id.eq(cart_id)))
        .set((carts::updated_at.eq(at), carts::created_at.eq(at)))
        .execute(conn)
        .unwrap();
    diesel::update(cart_events::table.filter(cart_events::cart_id.eq(cart_id)))
        .set(cart_events::created_at.eq(at))
        .execute(conn)
        .unwrap();
    diesel::update(webhook_deliveries::table.filter(webhook_deliveries::cart_id.eq(cart_id)))
        .set(webhook_deliveries::created_at.eq(at))
        .execute(conn)
        .unwrap();
    diesel::update(orders::table.filter(orders::cart_id.eq(cart_id)))
        .set(orders::created_at.eq(at))
        .execute(conn)
        .unwrap();
}

on_both_backends!(retention_purges_old_finished_data, |db: &TestDatabase| {
    let store = open(db);
    let mut conn = store.conn().unwrap();
    let shop = tenant(&mut conn, "shop");
    endpoint(&mut conn, &shop.id);
    let now = Utc::now();
    let old = now - TimeDelta::days(40);
    // Three old converted carts (with sends, history, deliveries, orders), one
    // old but still active cart, one recently converted cart.
    let mut purged = Vec::new();
    for n in 0..3 {
        let cart = shopper_cart(
            &mut conn,
            &shop,
            &format!("old-{n}"),
            &format!("old{n}@example.com"),
            &format!("old-order-{n}"),
        );
        back_date(&mut conn, &cart.id, old);
        purged.push(cart.id);
    }
    let recent = shopper_cart(&mut conn, &shop, "recent", "r@example.com", "recent-order");
    let active = upsert_cart(
        &mut conn,
        &upsert(&shop, "active", Some("a@example.com"), now),
    )
    .unwrap();
    record_event(
        &mut conn,
        &shop.id,
        &active.id,
        CartEventKind::Abandoned,
        None,
        None,
        now,
    )
    .unwrap();
    back_date(&mut conn, &active.id, old);
    let pending_before: i64 = webhook_deliveries::table
        .filter(webhook_deliveries::cart_id.eq(&active.id))
        .filter(webhook_deliveries::status.eq("pending"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(pending_before, 1);

    let cutoff = now - TimeDelta::days(30);
    let mut passes = 0;
    let mut total = cartback_store::erasure::PurgeCounts::default();
    loop {
        let counts = purge_expired(&mut conn, cutoff, 2).unwrap();
        passes += 1;
        total.carts += counts.carts;
        total.events += counts.events;
        if !counts.full(2) {
            break;
        }
        assert!(passes < 20, "the purge does not end");
    }
    assert!(passes >= 2, "small batches take several passes");
    assert_eq!(total.carts, 3);
    let left: Vec<String> = carts::table
        .filter(carts::tenant_id.eq(&shop.id))
        .select(carts::id)
        .order(carts::id)
        .load(&mut conn)
        .unwrap();
    let mut expected = vec![active.id.clone(), recent.id.clone()];
    expected.sort();
    assert_eq!(left, expected);
    for id in &purged {
        let sends: i64 = recovery_sends::table
            .filter(recovery_sends::cart_id.eq(id))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(sends, 0);
        assert!(deliveries_of(&mut conn, id).is_empty());
    }
    // The active cart's old history went; its pending delivery stays.
    let active_events: i64 = cart_events::table
        .filter(cart_events::cart_id.eq(&active.id))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(active_events, 0);
    assert_eq!(deliveries_of(&mut conn, &active.id).len(), 1);
    // Orders stay for the revenue figures, unlinked and without address.
    let old_orders: Vec<(Option<String>, Option<String>, Option<i64>)> = orders::table
        .filter(orders::order_ref.like("old-order-%"))
        .select((orders::cart_id, orders::customer_email, orders::total_minor))
        .load(&mut conn)
        .unwrap();
    assert_eq!(old_orders, vec![(None, None, Some(3900)); 3]);
    let recent_order: Option<String> = orders::table
        .filter(orders::order_ref.eq("recent-order"))
        .select(orders::customer_email)
        .first(&mut conn)
        .unwrap();
    assert_eq!(recent_order.as_deref(), Some("r@example.com"));
});

// An erase that commits between the worker taking a send and recording its
// result: the late result brings no personal data back, the erased cart keeps
// its erased state, and it is never taken again.
on_both_backends!(
    erase_between_take_and_settle_writes_nothing_personal,
    |db: &TestDatabase| {
        use cartback_store::carts::{CartRelease, claim_due_carts, find_cart};
        use cartback_store::events::NewCartEvent;
        use cartback_store::sends::{
            FinishedSend, SendDecision, SendResult, StartSend, list_sends_for_cart, settle,
            start_send,
        };
        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Shop");
        let t0 = Utc::now() - TimeDelta::hours(2);
        let mut both = Vec::new();
        for session in ["late-dead", "late-sent"] {
            let mut cart = upsert(&shop, session, Some(EMAIL), t0);
            cart.customer_name = Some(NAME.to_owned());
            both.push(upsert_cart(&mut conn, &cart).unwrap());
        }
        let now = Utc::now();
        let lease = now + TimeDelta::seconds(30);
        assert_eq!(
            claim_due_carts(&mut conn, "w1", now, lease, 10)
                .unwrap()
                .len(),
            2
        );
        let decide = |_: &CartRow| {
            Ok(Some(SendDecision {
                step: 0,
                mark_abandoned: true,
            }))
        };
        let mut sends = Vec::new();
        for cart in &both {
            let StartSend::Ready { send, .. } =
                start_send(&mut conn, &shop.id, &cart.id, "w1", now, lease, decide).unwrap()
            else {
                panic!("expected a send to deliver");
            };
            sends.push(send);
        }
        // The erase commits while both emails are with the provider.
        for cart in &both {
            erase_cart(&mut conn, &shop.id, &cart.id, Utc::now())
                .unwrap()
                .unwrap();
        }
        let error = format!("550 <{EMAIL}> rejected ({NAME})");
        let finished = [
            FinishedSend {
                send_id: sends[0].id.clone(),
                result: SendResult::Dead {
                    error: error.clone(),
                },
            },
            FinishedSend {
                send_id: sends[1].id.clone(),
                result: SendResult::Sent {
                    provider: "smtp".to_owned(),
                    provider_message_id: Some("msg-1".to_owned()),
                    coupon_code: None,
                },
            },
        ];
        let events = [NewCartEvent {
            tenant_id: shop.id.clone(),
            cart_id: both[0].id.clone(),
            kind: CartEventKind::Failed,
            step: Some(0),
            detail: Some(error.clone()),
        }];
        let keys: Vec<_> = both
            .iter()
            .map(cartback_store::carts::CartKey::of)
            .collect();
        // A plan that would reopen the cart and schedule it.
        let held = settle(
            &mut conn,
            "w1",
            Utc::now(),
            &finished,
            &events,
            &keys,
            |_| {
                Ok(CartRelease {
                    status: cartback_domain::CartStatus::Active,
                    next_step: 1,
                    next_action_at: Some(Utc::now()),
                    quarantine: None,
                })
            },
        )
        .unwrap();
        assert_eq!(held, 2);
        for (cart, expected) in both.iter().zip(["dead", "sent"]) {
            let row = find_cart(&mut conn, &shop.id, &cart.id).unwrap().unwrap();
            assert!(row.erased_at.is_some());
            assert_eq!(
                row.status.as_str(),
                "abandoned",
                "the erased cart's status stays"
            );
            assert_eq!(row.next_action_at, None, "never scheduled again");
            assert_eq!(row.locked_by, None);
            assert_eq!(row.customer_email, None);
            let sends = list_sends_for_cart(&mut conn, &shop.id, &cart.id).unwrap();
            assert_eq!(sends[0].status.as_str(), expected);
            assert!(
                sends[0].last_error.as_deref().is_none_or(|e| e == "erased"),
                "{:?}",
                sends[0].last_error
            );
        }
        let details: Vec<Option<String>> = cart_events::table
            .filter(cart_events::cart_id.eq(&both[0].id))
            .select(cart_events::detail)
            .load(&mut *conn)
            .unwrap();
        assert!(
            details.iter().flatten().all(|d| d == "erased"),
            "{details:?}"
        );
        let texts: Vec<Option<String>> = recovery_sends::table
            .select(recovery_sends::last_error)
            .load(&mut *conn)
            .unwrap();
        for text in texts.iter().flatten() {
            for trace in traces() {
                assert!(!text.contains(&trace), "{text}");
            }
        }

        // Claimed again (say, by a stale schedule): the erased cart is never taken.
        diesel::update(carts::table.filter(carts::id.eq(&both[0].id)))
            .set((
                carts::next_action_at.eq(Some(now.naive_utc())),
                carts::customer_email.eq(Some("back@example.com")),
            ))
            .execute(&mut *conn)
            .unwrap();
        let later = Utc::now();
        let claimed =
            claim_due_carts(&mut conn, "w2", later, later + TimeDelta::seconds(30), 10).unwrap();
        assert_eq!(claimed.len(), 1);
        let taken = start_send(
            &mut conn,
            &shop.id,
            &both[0].id,
            "w2",
            later,
            later + TimeDelta::seconds(30),
            |_| {
                Ok(Some(SendDecision {
                    step: 1,
                    mark_abandoned: false,
                }))
            },
        )
        .unwrap();
        assert!(matches!(taken, StartSend::NotDue { .. }), "{taken:?}");
        assert_eq!(
            list_sends_for_cart(&mut conn, &shop.id, &both[0].id)
                .unwrap()
                .len(),
            1
        );
    }
);
