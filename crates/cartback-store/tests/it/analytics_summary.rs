//! The analytics summary (`cartback_store::analytics::summary`) under the
//! store's own writers: a week of a shop around Amsterdam's spring switch,
//! written day by day as the worker, the order intake and the click
//! redirect write it, with the summary rolled forward between days; then a
//! late write, an erase, a retention pass, a time-zone change and concurrent
//! rollers. After each step every report must equal the definition
//! (`cartback_domain::analyze` over `load_period`'s rows).

use std::sync::{Arc, Barrier};

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use diesel::prelude::*;

use cartback_domain::{
    AnalyticsPeriod, AttributionMode, OrderSource, RecoveryPolicy, Tz, analyze, local_date,
    start_of_local_day,
};
use cartback_store::analytics::summary::{Mark, ensure, read_mark, sealed_until};
use cartback_store::analytics::{load_period, period_report, tenant_report};
use cartback_store::cart_admin::erase_cart;
use cartback_store::carts::{CartKey, CartRelease, CartRow, claim_due_carts, upsert_cart};
use cartback_store::erasure::purge_expired;
use cartback_store::events::{CartEventKind, record_event};
use cartback_store::links::record_click;
use cartback_store::orders::{NewOrder, record_order};
use cartback_store::schema::analytics_days;
use cartback_store::sends::{
    FinishedSend, SendDecision, SendResult, StartSend, list_sends_for_cart, settle, start_send,
};
use cartback_store::tenants::{Tenant, find_tenant, set_policy};
use cartback_store::{Backend, DbConn, StoreError};
use cartback_testing::{TestDatabase, on_both_backends};

use crate::common::*;

const AMSTERDAM: Tz = Tz::Europe__Amsterdam;

fn utc(month: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, d, h, mi, 0).unwrap()
}

fn date(month: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, month, d).unwrap()
}

fn shop_in(conn: &mut DbConn, name: &str, zone: &str) -> Tenant {
    let shop = tenant(conn, name);
    let policy = RecoveryPolicy {
        time_zone: zone.into(),
        ..RecoveryPolicy::default()
    };
    set_policy(conn, &shop.id, &policy, utc(3, 1, 0, 0).naive_utc()).unwrap();
    find_tenant(conn, &shop.id).unwrap().unwrap()
}

/// A cart created at `at`, due for its first email an hour later.
fn new_cart(
    conn: &mut DbConn,
    shop: &Tenant,
    session: &str,
    total: i64,
    at: DateTime<Utc>,
) -> CartRow {
    let mut cart = upsert(shop, session, Some(&format!("{session}@example.com")), at);
    cart.total_minor = total;
    cart.currency = if total % 3 == 0 { "USD" } else { "EUR" }.to_owned();
    cart.next_action_at = at + TimeDelta::hours(1);
    upsert_cart(conn, &cart).unwrap()
}

/// What the worker does at `now`: claims the due carts, sends each its next
/// step (the first one abandons the cart) and settles the batch, scheduling
/// the next step a day later (three steps in all).
fn deliver_due(conn: &mut DbConn, now: DateTime<Utc>) -> usize {
    let lease = now + TimeDelta::minutes(2);
    let claimed = claim_due_carts(conn, "w", now, lease, 100).unwrap();
    let mut finished = Vec::new();
    for cart in &claimed {
        let decide = |row: &CartRow| {
            Ok(Some(SendDecision {
                step: u32::try_from(row.next_step).unwrap(),
                mark_abandoned: true,
            }))
        };
        match start_send(conn, &cart.tenant_id, &cart.id, "w", now, lease, decide).unwrap() {
            StartSend::Ready { send, .. } => finished.push(FinishedSend {
                send_id: send.id,
                result: SendResult::Sent {
                    provider: "file".to_owned(),
                    provider_message_id: None,
                    coupon_code: None,
                },
            }),
            other => panic!("expected a send to deliver: {other:?}"),
        }
    }
    let keys: Vec<CartKey> = claimed.iter().map(CartKey::of).collect();
    settle(conn, "w", now, &finished, &[], &keys, |row| {
        let next_step = u32::try_from(row.next_step).unwrap() + 1;
        Ok(CartRelease {
            status: row.status,
            next_step,
            next_action_at: (next_step < 3).then(|| now + TimeDelta::days(1)),
            quarantine: None,
        })
    })
    .unwrap();
    finished.len()
}

/// The shopper of `session` orders at `now` (recovered when an email went
/// out, converted otherwise).
fn order(conn: &mut DbConn, shop: &Tenant, session: &str, total: i64, now: DateTime<Utc>) {
    let outcome = record_order(
        conn,
        &NewOrder {
            tenant_id: shop.id.clone(),
            order_ref: Some(format!("order-{session}")),
            session_id: Some(session.to_owned()),
            cart_id: None,
            cart_token: None,
            customer_email: None,
            total_minor: Some(total),
            currency: "EUR".to_owned(),
            source: OrderSource::Track,
            attribution_mode: AttributionMode::Sent,
            attribution_window: TimeDelta::days(7),
            now,
        },
    )
    .unwrap();
    assert!(outcome.closed_cart.is_some(), "{session} closed");
}

/// The shopper follows the link of the cart's latest email at `now`.
fn click(conn: &mut DbConn, shop: &Tenant, cart_id: &str, now: DateTime<Utc>) {
    let sends = list_sends_for_cart(conn, &shop.id, cart_id).unwrap();
    let send = sends
        .iter()
        .filter(|s| s.sent_at.is_some())
        .max_by_key(|s| s.sent_at)
        .expect("an email was sent");
    record_click(conn, send, now).unwrap();
}

fn cart_id(conn: &mut DbConn, shop: &Tenant, session: &str) -> String {
    use cartback_store::schema::carts;
    carts::table
        .filter(carts::tenant_id.eq(&shop.id))
        .filter(carts::session_id.eq(session))
        .select(carts::id)
        .first(conn)
        .unwrap()
}

/// Reports at `now` of periods around the week, in `zone`, each held to the
/// definition.
fn check_reports(conn: &mut DbConn, shop: &Tenant, zone: Tz, now: DateTime<Utc>) {
    let mut periods = vec![
        AnalyticsPeriod::local_days(date(3, 24), date(4, 4), zone).unwrap(),
        AnalyticsPeriod::local_days(date(3, 29), date(3, 29), zone).unwrap(),
        AnalyticsPeriod::local_days(date(3, 27), date(3, 31), zone).unwrap(),
    ];
    for days in [1, 2, 5, 30] {
        periods.push(AnalyticsPeriod::last_days(days, now, zone).unwrap());
    }
    for period in &periods {
        let expected = analyze(period, &load_period(conn, &shop.id, period, 3).unwrap());
        let counted = period_report(conn, &shop.id, period, 3).unwrap();
        assert_eq!(counted, expected, "{period:?} at {now}");
    }
}

fn summary_rows(conn: &mut DbConn, shop: &Tenant) -> i64 {
    analytics_days::table
        .filter(analytics_days::tenant_id.eq(&shop.id))
        .count()
        .get_result(conn)
        .unwrap()
}

fn mark(conn: &mut DbConn, shop: &Tenant) -> Mark {
    read_mark(conn, &shop.id).unwrap().expect("a summary")
}

/// A week of the shop, day by day: new carts in the morning, the worker's
/// emails (the carts go abandoned with the first), clicks in the afternoon
/// (on today's and on older emails), orders late in the evening (after
/// local midnight some days); the summary rolled forward every night and
/// every report held to the definition. Returns the last moment.
fn a_week(conn: &mut DbConn, shop: &Tenant) -> DateTime<Utc> {
    let mut now = utc(3, 26, 0, 0);
    for day in 0..8u32 {
        let at = |h, mi| utc(3, 26, h, mi) + TimeDelta::days(i64::from(day));
        for (n, total) in [(0, 4200), (1, 999), (2, 15_000)] {
            new_cart(
                conn,
                shop,
                &format!("d{day}-{n}"),
                total + i64::from(day),
                at(8, 0),
            );
        }
        assert!(deliver_due(conn, at(9, 30)) >= 3);
        let today = cart_id(conn, shop, &format!("d{day}-0"));
        click(conn, shop, &today, at(15, 0));
        if day >= 2 {
            // An email of two days ago, clicked today.
            let older = cart_id(conn, shop, &format!("d{}-1", day - 2));
            click(conn, shop, &older, at(15, 5));
            // Yesterday's first cart orders just before midnight UTC: the
            // next local day in Amsterdam.
            order(conn, shop, &format!("d{}-0", day - 1), 4100, at(23, 30));
        }
        if day == 4 {
            // An order at the instant of an email of its cart: the email is
            // still credited.
            order(conn, shop, "d3-2", 15_003, at(9, 30));
        }
        now = at(23, 50) + TimeDelta::hours(2);
        assert!(ensure(conn, &shop.id, AMSTERDAM, now, Some(date(3, 20))).unwrap());
        let held = mark(conn, shop);
        assert_eq!(held.until, sealed_until(now, AMSTERDAM));
        assert_eq!(held.from, start_of_local_day(date(3, 20), AMSTERDAM));
        check_reports(conn, shop, AMSTERDAM, now);
    }
    assert!(summary_rows(conn, shop) > 40, "the summary is used");
    now
}

fn check_summary_follows_the_writers(db: &TestDatabase) {
    let store = open(db);
    let mut conn = store.conn().unwrap();
    let shop = shop_in(&mut conn, "Amsterdam shop", "Europe/Amsterdam");
    // Another shop's look-alike week must never count.
    let other = shop_in(&mut conn, "Other shop", "Europe/Amsterdam");
    new_cart(&mut conn, &other, "x", 777, utc(3, 27, 8, 0));
    let now = a_week(&mut conn, &shop);

    // Asked twice: nothing changes.
    let before = (mark(&mut conn, &shop), summary_rows(&mut conn, &shop));
    assert!(ensure(&mut conn, &shop.id, AMSTERDAM, now, Some(date(3, 20))).unwrap());
    assert_eq!(
        (mark(&mut conn, &shop), summary_rows(&mut conn, &shop)),
        before
    );
    check_reports(&mut conn, &shop, AMSTERDAM, now);

    // A late write: an abandonment stamped inside the sealed days sets the
    // summary back to its day, and the next roll counts them again.
    let late = utc(3, 29, 12, 0);
    let late_cart = cart_id(&mut conn, &shop, "d2-2");
    record_event(
        &mut conn,
        &shop.id,
        &late_cart,
        CartEventKind::Abandoned,
        None,
        None,
        late,
    )
    .unwrap();
    assert_eq!(
        mark(&mut conn, &shop).until,
        start_of_local_day(date(3, 29), AMSTERDAM)
    );
    check_reports(&mut conn, &shop, AMSTERDAM, now);
    assert!(ensure(&mut conn, &shop.id, AMSTERDAM, now, None).unwrap());
    assert_eq!(mark(&mut conn, &shop).until, sealed_until(now, AMSTERDAM));
    check_reports(&mut conn, &shop, AMSTERDAM, now);

    // A click today on an email of a sealed day: counted live until its day
    // is sealed, then from the summary.
    let clicked = cart_id(&mut conn, &shop, "d1-2");
    click(&mut conn, &shop, &clicked, now - TimeDelta::minutes(1));
    check_reports(&mut conn, &shop, AMSTERDAM, now);
    let tomorrow = now + TimeDelta::days(1);
    assert!(ensure(&mut conn, &shop.id, AMSTERDAM, tomorrow, None).unwrap());
    check_reports(&mut conn, &shop, AMSTERDAM, tomorrow);

    // Erasing a cart changes no fact, and leaves the summary alone.
    let held = mark(&mut conn, &shop);
    let erased = cart_id(&mut conn, &shop, "d0-0");
    erase_cart(&mut conn, &shop.id, &erased, tomorrow)
        .unwrap()
        .unwrap();
    assert_eq!(mark(&mut conn, &shop), held);
    check_reports(&mut conn, &shop, AMSTERDAM, tomorrow);

    // Retention deletes old finished carts and history: the summary forgets
    // the days of what went, and counts them live.
    let purged = purge_expired(&mut conn, utc(3, 28, 12, 0), 500).unwrap();
    assert!(purged.events > 0 && purged.sends > 0, "{purged:?}");
    let after = mark(&mut conn, &shop);
    assert!(after.from > held.from, "{after:?}");
    assert_eq!(after.until, held.until);
    check_reports(&mut conn, &shop, AMSTERDAM, tomorrow);

    // The shop moves to New York: the next report starts the summary over in
    // the new zone.
    let policy = RecoveryPolicy {
        time_zone: "America/New_York".into(),
        ..RecoveryPolicy::default()
    };
    set_policy(&mut conn, &shop.id, &policy, tomorrow.naive_utc()).unwrap();
    let new_york = Tz::America__New_York;
    let (period, report) = tenant_report(&mut conn, &shop.id, tomorrow, |zone| {
        AnalyticsPeriod::last_days(30, tomorrow, zone)
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    })
    .unwrap()
    .unwrap();
    assert_eq!(period.zone(), new_york);
    assert_eq!(
        report,
        analyze(
            &period,
            &load_period(&mut conn, &shop.id, &period, 3).unwrap()
        )
    );
    let moved = mark(&mut conn, &shop);
    assert_eq!(moved.zone, "America/New_York");
    assert_eq!(moved.until, sealed_until(tomorrow, new_york));
    assert_eq!(moved.from, period.start());
    check_reports(&mut conn, &shop, new_york, tomorrow);
    // Amsterdam's periods are still right, counted live.
    check_reports(&mut conn, &shop, AMSTERDAM, tomorrow);
}

on_both_backends!(summary_follows_the_writers, |db: &TestDatabase| {
    check_summary_follows_the_writers(db)
});

fn check_a_summary_right_after_midnight(db: &TestDatabase) {
    let store = open(db);
    let mut conn = store.conn().unwrap();
    let shop = shop_in(&mut conn, "Kathmandu shop", "Asia/Kathmandu");
    let zone = Tz::Asia__Kathmandu;
    // Kathmandu is UTC+5:45: its midnight is 18:15 UTC.
    let cart = new_cart(&mut conn, &shop, "k", 5000, utc(6, 1, 10, 0));
    record_event(
        &mut conn,
        &shop.id,
        &cart.id,
        CartEventKind::Abandoned,
        None,
        None,
        utc(6, 1, 18, 10),
    )
    .unwrap();
    record_event(
        &mut conn,
        &shop.id,
        &cart.id,
        CartEventKind::Abandoned,
        None,
        None,
        utc(6, 1, 18, 20),
    )
    .unwrap();
    // Ten minutes after midnight the day before is not sealed yet; twenty
    // minutes after, it is.
    let early = utc(6, 1, 18, 25);
    assert!(ensure(&mut conn, &shop.id, zone, early, Some(date(5, 1))).unwrap());
    assert_eq!(
        mark(&mut conn, &shop).until,
        start_of_local_day(date(6, 1), zone)
    );
    let later = utc(6, 1, 18, 35);
    assert!(ensure(&mut conn, &shop.id, zone, later, None).unwrap());
    assert_eq!(
        mark(&mut conn, &shop).until,
        start_of_local_day(date(6, 2), zone)
    );
    assert_eq!(local_date(utc(6, 1, 18, 20), zone), date(6, 2));
    let period = AnalyticsPeriod::last_days(2, later, zone).unwrap();
    let report = period_report(&mut conn, &shop.id, &period, 3).unwrap();
    assert_eq!(
        report.daily.iter().map(|d| d.abandoned).collect::<Vec<_>>(),
        [1, 1]
    );
    assert_eq!(
        report,
        analyze(
            &period,
            &load_period(&mut conn, &shop.id, &period, 3).unwrap()
        )
    );
}

on_both_backends!(a_summary_right_after_midnight, |db: &TestDatabase| {
    check_a_summary_right_after_midnight(db)
});

/// Two api replicas roll the same tenant's summary at the same moment, while
/// the worker keeps writing late facts into the days they seal: each roll
/// either waits for a writer or is set back by it, and the reports stay
/// exact.
#[test]
fn concurrent_rollers_and_writers_on_postgres() {
    let db = TestDatabase::new(Backend::Postgres);
    let store = open(&db);
    let shop = {
        let mut conn = store.conn().unwrap();
        let shop = shop_in(&mut conn, "Busy shop", "Europe/Amsterdam");
        a_week(&mut conn, &shop);
        // Start over: no summary, so both rollers find the whole work to do.
        diesel::delete(analytics_days::table)
            .execute(&mut conn)
            .unwrap();
        diesel::delete(cartback_store::schema::analytics_marks::table)
            .execute(&mut conn)
            .unwrap();
        shop
    };
    let now = utc(4, 3, 3, 0);
    let late_cart = {
        let mut conn = store.conn().unwrap();
        cart_id(&mut conn, &shop, "d3-1")
    };
    let start = Arc::new(Barrier::new(3));
    let rollers: Vec<_> = (0..2)
        .map(|_| {
            let (store, start, tenant) = (store.clone(), start.clone(), shop.id.clone());
            std::thread::spawn(move || {
                let mut conn = store.conn().unwrap();
                start.wait();
                let mut done = 0;
                for round in 0..6 {
                    let at = now + TimeDelta::minutes(round);
                    if ensure(&mut conn, &tenant, AMSTERDAM, at, Some(date(3, 20))).unwrap() {
                        done += 1;
                    }
                }
                done
            })
        })
        .collect();
    let writer = {
        let (store, start, tenant) = (store.clone(), start.clone(), shop.id.clone());
        std::thread::spawn(move || {
            let mut conn = store.conn().unwrap();
            start.wait();
            for n in 0..20 {
                let at = utc(3, 27, 10, 0) + TimeDelta::hours(n * 7);
                cartback_store::write_transaction(&mut conn, |conn| {
                    record_event(
                        conn,
                        &tenant,
                        &late_cart,
                        CartEventKind::Abandoned,
                        None,
                        None,
                        at,
                    )
                })
                .unwrap();
            }
        })
    };
    let done: Vec<i32> = rollers.into_iter().map(|r| r.join().unwrap()).collect();
    writer.join().unwrap();
    assert!(
        done.iter().all(|d| *d > 0),
        "each roller finished some rounds: {done:?}"
    );
    let mut conn = store.conn().unwrap();
    check_reports(&mut conn, &shop, AMSTERDAM, now);
    assert!(ensure(&mut conn, &shop.id, AMSTERDAM, now, Some(date(3, 20))).unwrap());
    check_reports(&mut conn, &shop, AMSTERDAM, now);
    assert!(summary_rows(&mut conn, &shop) > 40);
    // Rolled from nothing by two at once, then set back and rolled again: the
    // same rows as one roller makes alone.
    let rows = all_rows(&mut conn);
    diesel::delete(analytics_days::table)
        .execute(&mut conn)
        .unwrap();
    diesel::delete(cartback_store::schema::analytics_marks::table)
        .execute(&mut conn)
        .unwrap();
    assert!(ensure(&mut conn, &shop.id, AMSTERDAM, now, Some(date(3, 20))).unwrap());
    assert_eq!(all_rows(&mut conn), rows);
}

type SummaryRow = (
    String,
    chrono::NaiveDateTime,
    String,
    String,
    chrono::NaiveDateTime,
    i64,
    i64,
    i64,
    i64,
);

fn all_rows(conn: &mut DbConn) -> Vec<SummaryRow> {
    analytics_days::table
        .order((
            analytics_days::tenant_id,
            analytics_days::day_start,
            analytics_days::kind,
            analytics_days::label,
            analytics_days::sealed_start,
        ))
        .load(conn)
        .unwrap()
}
