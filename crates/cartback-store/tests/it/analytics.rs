//! Analytics over a hand-computed fixture around the 2026-03-29 daylight-saving
//! switch in Amsterdam, on both backends.
//!
//! Amsterdam is UTC+1 until 2026-03-29 01:00 UTC and UTC+2 after it, so the local
//! days of the fixture's period are, in UTC:
//!
//! | local day  | from (UTC)       | to (UTC)         | hours |
//! |------------|------------------|------------------|-------|
//! | 2026-03-28 | 03-27 23:00      | 03-28 23:00      | 24    |
//! | 2026-03-29 | 03-28 23:00      | 03-29 22:00      | 23    |
//! | 2026-03-30 | 03-29 22:00      | 03-30 22:00      | 24    |

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use cartback_domain::{
    AnalyticsPeriod, Currency, Money, RecoveryPolicy, Tz, analyze, start_of_local_day,
};
use cartback_store::DbConn;
use cartback_store::analytics::{count_abandoned_recovered, load_period, period_report, summary};
use cartback_store::carts::upsert_cart;
use cartback_store::events::{CartEventKind, record_event};
use cartback_store::schema::{analytics_days, cart_events, orders, recovery_sends};
use cartback_store::tenants::{Tenant, find_tenant, set_policy};
use cartback_testing::TestDatabase;

use crate::common::*;
use cartback_testing::on_both_backends;

fn at(d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, d, h, mi, 0).unwrap()
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::EUR)
}

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

fn cart(conn: &mut DbConn, tenant: &Tenant, session: &str, total: i64, currency: &str) -> String {
    let mut new = upsert(tenant, session, None, at(20, 12, 0));
    new.total_minor = total;
    new.currency = currency.to_owned();
    upsert_cart(conn, &new).unwrap().id
}

/// A history event, recorded as the worker records it (an `abandoned` one
/// keeps the cart's total of that moment).
fn event(conn: &mut DbConn, tenant: &Tenant, cart_id: &str, kind: &str, when: DateTime<Utc>) {
    let kind = CartEventKind::parse(kind).unwrap();
    record_event(conn, &tenant.id, cart_id, kind, None, None, when).unwrap();
}

fn order(
    conn: &mut DbConn,
    tenant: &Tenant,
    order_ref: &str,
    cart_id: Option<&str>,
    attribution: &str,
    total: Option<Money>,
    when: DateTime<Utc>,
) {
    diesel::insert_into(orders::table)
        .values((
            orders::id.eq(format!("ord_{}_{order_ref}", tenant.id)),
            orders::tenant_id.eq(&tenant.id),
            orders::order_ref.eq(order_ref),
            orders::cart_id.eq(cart_id),
            orders::total_minor.eq(total.map(|m| m.minor())),
            orders::currency.eq(total.map_or("EUR", |m| m.currency().code())),
            orders::attribution.eq(attribution),
            orders::created_at.eq(when.naive_utc()),
        ))
        .execute(conn)
        .unwrap();
}

struct Send<'a> {
    cart_id: &'a str,
    cycle: i32,
    step: i32,
    status: &'a str,
    sent_at: Option<DateTime<Utc>>,
    clicks: i32,
}

fn send(conn: &mut DbConn, tenant: &Tenant, s: Send<'_>) {
    let key = format!("{}:{}:{}", s.cart_id, s.cycle, s.step);
    let created = s.sent_at.unwrap_or(at(29, 12, 0)).naive_utc();
    // An email clicked once has its first click stamped some hours after it
    // went out (a later day, often); one clicked more often stands for rows
    // written before the stamp existed.
    let first_click = match (s.sent_at, s.clicks) {
        (Some(sent_at), 1) => Some(sent_at + TimeDelta::hours(7 * i64::from(s.step + 1))),
        _ => None,
    };
    diesel::insert_into(recovery_sends::table)
        .values((
            recovery_sends::id.eq(format!("snd_{key}")),
            recovery_sends::tenant_id.eq(&tenant.id),
            recovery_sends::cart_id.eq(s.cart_id),
            recovery_sends::cycle.eq(s.cycle),
            recovery_sends::step.eq(s.step),
            recovery_sends::status.eq(s.status),
            recovery_sends::attempts.eq(1),
            recovery_sends::idempotency_key.eq(&key),
            recovery_sends::created_at.eq(created),
            recovery_sends::updated_at.eq(created),
            recovery_sends::sent_at.eq(s.sent_at.map(|t| t.naive_utc())),
            recovery_sends::click_count.eq(s.clicks),
            recovery_sends::first_clicked_at.eq(first_click.map(|t| t.naive_utc())),
        ))
        .execute(conn)
        .unwrap();
}

fn sent(cart_id: &str, cycle: i32, step: i32, sent_at: DateTime<Utc>, clicks: i32) -> Send<'_> {
    Send {
        cart_id,
        cycle,
        step,
        status: "sent",
        sent_at: Some(sent_at),
        clicks,
    }
}

/// The fixture's tenant in Amsterdam with its carts, events, orders and sends,
/// and a second tenant with look-alike rows that must never count.
fn fixture(conn: &mut DbConn) -> Tenant {
    let shop = tenant(conn, "Amsterdam shop");
    let policy = RecoveryPolicy {
        time_zone: "Europe/Amsterdam".into(),
        ..RecoveryPolicy::default()
    };
    set_policy(conn, &shop.id, &policy, at(20, 0, 0).naive_utc()).unwrap();
    let shop = find_tenant(conn, &shop.id).unwrap().unwrap();

    let c1 = cart(conn, &shop, "s1", 4000, "EUR");
    let c2 = cart(conn, &shop, "s2", 2500, "USD");
    let c3 = cart(conn, &shop, "s3", 1000, "EUR");
    let c4 = cart(conn, &shop, "s4", 9900, "USD");
    let c5 = cart(conn, &shop, "s5", 700, "EUR");
    let c6 = cart(conn, &shop, "s6", 5000, "EUR");

    // Abandonments.
    event(conn, &shop, &c6, "abandoned", at(27, 22, 30)); // 27th 23:30 local: before
    event(conn, &shop, &c1, "abandoned", at(27, 23, 0)); // 28th 00:00 local: first instant
    event(conn, &shop, &c2, "abandoned", at(28, 23, 30)); // 29th 00:30 local
    event(conn, &shop, &c3, "abandoned", at(29, 21, 59)); // 29th 23:59 local (CEST)
    event(conn, &shop, &c4, "abandoned", at(29, 22, 30)); // 30th 00:30 local
    event(conn, &shop, &c1, "abandoned", at(30, 10, 0)); // 30th: c1's second cycle
    event(conn, &shop, &c5, "abandoned", at(30, 22, 0)); // 31st 00:00 local: after
    // Other kinds never count as abandonments.
    event(conn, &shop, &c2, "sent", at(29, 4, 0));
    event(conn, &shop, &c2, "recovered", at(29, 8, 0));

    // Orders.
    order(
        conn,
        &shop,
        "o1",
        Some(&c2),
        "recovered",
        Some(usd(2500)),
        at(29, 8, 0),
    ); // 29th
    order(
        conn,
        &shop,
        "o2",
        Some(&c3),
        "recovered",
        Some(eur(1000)),
        at(29, 22, 10),
    ); // 30th 00:10
    order(
        conn,
        &shop,
        "o3",
        Some(&c1),
        "recovered",
        Some(eur(3500)),
        at(28, 12, 0),
    ); // 28th
    order(
        conn,
        &shop,
        "o4",
        Some(&c5),
        "converted",
        Some(eur(700)),
        at(30, 9, 0),
    ); // 30th
    order(
        conn,
        &shop,
        "o5",
        None,
        "unmatched",
        Some(eur(1234)),
        at(29, 12, 0),
    );
    order(
        conn,
        &shop,
        "o6",
        Some(&c6),
        "recovered",
        Some(eur(5000)),
        at(27, 22, 59),
    ); // before
    order(
        conn,
        &shop,
        "o7",
        Some(&c2),
        "already_closed",
        Some(usd(100)),
        at(29, 9, 0),
    );
    order(
        conn,
        &shop,
        "o8",
        Some(&c4),
        "recovered",
        Some(usd(9900)),
        at(31, 10, 0),
    ); // after

    // Emails.
    send(conn, &shop, sent(&c1, 0, 0, at(28, 1, 0), 1)); // credited with o3
    send(conn, &shop, sent(&c2, 0, 0, at(29, 0, 30), 0)); // followed by step 1 before o1
    send(conn, &shop, sent(&c2, 0, 1, at(29, 4, 0), 2)); // credited with o1
    send(conn, &shop, sent(&c3, 0, 0, at(29, 21, 0), 0)); // credited with o2
    send(conn, &shop, sent(&c4, 0, 0, at(30, 20, 0), 0)); // credited with o8, after the period
    send(conn, &shop, sent(&c1, 1, 0, at(30, 11, 0), 0)); // o3 came before it
    send(conn, &shop, sent(&c6, 0, 2, at(27, 20, 0), 1)); // before the period
    send(
        conn,
        &shop,
        Send {
            cart_id: &c4,
            cycle: 0,
            step: 1,
            status: "cancelled",
            sent_at: None,
            clicks: 0,
        },
    );

    // Another tenant, same days: none of it counts for the shop.
    let other = tenant(conn, "Other shop");
    let x1 = cart(conn, &other, "s1", 999, "EUR");
    event(conn, &other, &x1, "abandoned", at(29, 10, 0));
    order(
        conn,
        &other,
        "o1",
        Some(&x1),
        "recovered",
        Some(eur(999)),
        at(29, 11, 0),
    );
    order(
        conn,
        &other,
        "o2",
        None,
        "converted",
        Some(usd(50)),
        at(29, 11, 0),
    );
    send(conn, &other, sent(&x1, 0, 0, at(29, 10, 30), 3));

    shop
}

fn check_report(db: &TestDatabase) {
    let store = open(db);
    let mut conn = store.conn().unwrap();
    let shop = fixture(&mut conn);
    let policy = shop.recovery_policy().unwrap();
    let period = AnalyticsPeriod::local_days(day(28), day(30), policy.zone()).unwrap();
    assert_eq!(
        (period.start(), period.end()),
        (at(27, 23, 0), at(30, 22, 0))
    );

    let input = load_period(&mut conn, &shop.id, &period, 3).unwrap();
    assert_eq!(input.abandoned.len(), 5);
    assert_eq!(input.orders.len(), 4, "recovered and converted orders only");
    assert_eq!(input.sends.len(), 6);
    let report = analyze(&period, &input);
    assert_eq!(
        period_report(&mut conn, &shop.id, &period, 3).unwrap(),
        report
    );

    let summary = &report.summary;
    assert_eq!(
        (summary.abandoned, summary.recovered, summary.converted),
        (5, 3, 1)
    );
    assert_eq!(summary.recovery_rate, 0.6);
    assert_eq!(summary.abandoned_value, vec![eur(9000), usd(12400)]);
    assert_eq!(summary.recovered_revenue, vec![eur(4500), usd(2500)]);

    let daily: Vec<_> = report
        .daily
        .iter()
        .map(|d| {
            (
                d.date,
                d.abandoned,
                d.recovered,
                d.converted,
                d.abandoned_value.clone(),
                d.recovered_revenue.clone(),
            )
        })
        .collect();
    assert_eq!(
        daily,
        vec![
            (day(28), 1, 1, 0, vec![eur(4000)], vec![eur(3500)]),
            (
                day(29),
                2,
                1,
                0,
                vec![eur(1000), usd(2500)],
                vec![usd(2500)]
            ),
            (
                day(30),
                2,
                1,
                1,
                vec![eur(4000), usd(9900)],
                vec![eur(1000)]
            ),
        ]
    );

    let funnel: Vec<_> = report
        .funnel
        .iter()
        .map(|f| (f.step_index, f.sent, f.clicked, f.recovered))
        .collect();
    assert_eq!(funnel, vec![(0, 5, 1, 3), (1, 1, 1, 1), (2, 0, 0, 0)]);

    // A one-day period: the 23-hour day of the switch.
    let switch_day = AnalyticsPeriod::local_days(day(29), day(29), policy.zone()).unwrap();
    let input = load_period(&mut conn, &shop.id, &switch_day, 3).unwrap();
    let report = analyze(&switch_day, &input);
    assert_eq!((report.summary.abandoned, report.summary.recovered), (2, 1));
    assert_eq!(
        period_report(&mut conn, &shop.id, &switch_day, 3).unwrap(),
        report
    );
    assert_eq!(report.daily.len(), 1);
}

fn check_counts(db: &TestDatabase) {
    let store = open(db);
    let mut conn = store.conn().unwrap();
    let shop = fixture(&mut conn);
    let count =
        |conn: &mut DbConn, from, to| count_abandoned_recovered(conn, &shop.id, from, to).unwrap();
    // [28th 00:00 UTC, 30th 00:00 UTC): abandoned c2, c3, c4; recovered o3, o1, o2.
    assert_eq!(count(&mut conn, at(28, 0, 0), at(30, 0, 0)), (3, 3));
    // The interval is half-open: an event at `from` counts, one at `to` does not.
    assert_eq!(count(&mut conn, at(28, 23, 30), at(29, 21, 59)), (1, 1));
    assert_eq!(count(&mut conn, at(27, 0, 0), at(28, 23, 30)), (2, 2));
    // Everything, and nothing.
    assert_eq!(count(&mut conn, at(1, 0, 0), at(31, 23, 0)), (7, 5));
    assert_eq!(count(&mut conn, at(29, 0, 0), at(29, 0, 0)), (0, 0));
}

on_both_backends!(report_around_the_spring_switch, |db: &TestDatabase| {
    check_report(db)
});
on_both_backends!(abandoned_and_recovered_counts, |db: &TestDatabase| {
    check_counts(db)
});

/// Days on which some zone of [`ZONES`] moves its clocks in 2026.
const SWITCHES: [(u32, u32); 7] = [
    (3, 8),   // New York forward
    (3, 29),  // Amsterdam forward
    (4, 5),   // Lord Howe and Chatham back
    (9, 27),  // Chatham forward
    (10, 4),  // Lord Howe forward (half an hour)
    (10, 25), // Amsterdam back
    (11, 1),  // New York back
];

const ZONES: [Tz; 7] = [
    Tz::UTC,
    Tz::Europe__Amsterdam,
    Tz::America__New_York,
    Tz::Australia__Lord_Howe,
    Tz::Pacific__Chatham,
    Tz::Asia__Kathmandu,
    Tz::America__Sao_Paulo,
];

fn date(month: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, month, d).unwrap()
}

/// A random instant within four days of a clock change, to the microsecond.
fn near_a_switch(rng: &mut StdRng) -> DateTime<Utc> {
    let (month, d) = SWITCHES[rng.random_range(0..SWITCHES.len())];
    let noon = Utc.from_utc_datetime(&date(month, d).and_hms_opt(12, 0, 0).unwrap());
    noon + TimeDelta::microseconds(rng.random_range(-4 * 86_400_000_000i64..4 * 86_400_000_000))
}

const CURRENCIES: [&str; 4] = ["EUR", "USD", "JPY", "KWD"];
const ATTRIBUTIONS: [&str; 4] = ["recovered", "converted", "unmatched", "already_closed"];

/// A shop's year of varied facts around the clock changes: carts in four
/// currencies whose totals change between abandonments, abandonments with and
/// without a known value, orders of every attribution (some without a total or
/// a cart, some at the same instant), emails of several steps and cycles (sent,
/// failed, cancelled; clicked or not; two at the same instant), and another
/// shop's look-alike facts.
fn varied_facts(conn: &mut DbConn, shop: &Tenant, other: &Tenant, rng: &mut StdRng) {
    for n in 0..80 {
        let tenant = if n % 10 == 9 { other } else { shop };
        let currency = CURRENCIES[rng.random_range(0..CURRENCIES.len())];
        let cart_id = cart(
            conn,
            tenant,
            &format!("v{n}"),
            rng.random_range(0..50_000),
            currency,
        );
        let mut times: Vec<DateTime<Utc>> = (0..rng.random_range(1..6))
            .map(|_| near_a_switch(rng))
            .collect();
        times.sort();
        for (i, &when) in times.iter().enumerate() {
            // The cart changes before it is abandoned again.
            let mut change = upsert(tenant, &format!("v{n}"), None, when - TimeDelta::hours(2));
            change.total_minor = rng.random_range(0..50_000);
            change.currency = currency.to_owned();
            upsert_cart(conn, &change).unwrap();
            event(conn, tenant, &cart_id, "abandoned", when);
            if rng.random_bool(0.3) {
                event(
                    conn,
                    tenant,
                    &cart_id,
                    "clicked",
                    when + TimeDelta::minutes(5),
                );
            }
            let cycle = i32::try_from(i).unwrap();
            let mut sent_at = when;
            for step in 0..rng.random_range(0..4) {
                // Now and then two emails of a cart go out at the same instant.
                if !(step == 1 && rng.random_bool(0.1)) {
                    sent_at += TimeDelta::seconds(rng.random_range(1..40_000));
                }
                let status = match rng.random_range(0..10) {
                    0 => "failed",
                    1 => "cancelled",
                    _ => "sent",
                };
                let sent = (status == "sent").then_some(sent_at);
                let clicks = if rng.random_bool(0.4) {
                    rng.random_range(1..3)
                } else {
                    0
                };
                send(
                    conn,
                    tenant,
                    Send {
                        cart_id: &cart_id,
                        cycle,
                        step,
                        status,
                        sent_at: sent,
                        clicks,
                    },
                );
            }
            if rng.random_bool(0.6) {
                let at = sent_at + TimeDelta::seconds(rng.random_range(-3_600..200_000));
                let attribution = ATTRIBUTIONS[rng.random_range(0..ATTRIBUTIONS.len())];
                let total = rng
                    .random_bool(0.85)
                    .then(|| money(rng.random_range(0..60_000), currency));
                let order_ref = format!("o{n}-{i}");
                order(
                    conn,
                    tenant,
                    &order_ref,
                    Some(&cart_id),
                    attribution,
                    total,
                    at,
                );
                if rng.random_bool(0.2) {
                    // A second order at the same instant.
                    let order_ref = format!("{order_ref}-again");
                    order(
                        conn,
                        tenant,
                        &order_ref,
                        Some(&cart_id),
                        "recovered",
                        total,
                        at,
                    );
                }
            }
        }
    }
    // Orders no cart matched, and abandonments recorded before their value was
    // kept (unknown value).
    for n in 0..15 {
        let when = near_a_switch(rng);
        let total = money(rng.random_range(0..9_000), "EUR");
        order(
            conn,
            shop,
            &format!("u{n}"),
            None,
            "unmatched",
            Some(total),
            when,
        );
        order(
            conn,
            shop,
            &format!("r{n}"),
            None,
            "recovered",
            Some(total),
            when,
        );
    }
    let legacy = cart(conn, shop, "legacy", 777, "EUR");
    for n in 0..5 {
        diesel::insert_into(cart_events::table)
            .values((
                cart_events::id.eq(format!("evt_legacy_{n}")),
                cart_events::tenant_id.eq(&shop.id),
                cart_events::cart_id.eq(&legacy),
                cart_events::kind.eq("abandoned"),
                cart_events::created_at.eq(near_a_switch(rng).naive_utc()),
            ))
            .execute(conn)
            .unwrap();
    }
}

fn money(minor: i64, currency: &str) -> Money {
    Money::from_minor(minor, Currency::parse(currency).unwrap())
}

fn check_counted_report_equals_the_definition(db: &TestDatabase) {
    let store = open(db);
    let mut conn = store.conn().unwrap();
    let shop = tenant(&mut conn, "Shop");
    let other = tenant(&mut conn, "Other shop");
    let mut rng = StdRng::seed_from_u64(17);
    varied_facts(&mut conn, &shop, &other, &mut rng);

    let mut periods = Vec::new();
    for zone in ZONES {
        // Every day of the year the facts lie in, then each week around a
        // change, each switch day alone, and a stretch up to a "now" that is
        // no whole second.
        periods.push(AnalyticsPeriod::local_days(date(3, 1), date(11, 10), zone).unwrap());
        for (month, d) in SWITCHES {
            let day = date(month, d);
            let week = (day - TimeDelta::days(3), day + TimeDelta::days(3));
            periods.push(AnalyticsPeriod::local_days(week.0, week.1, zone).unwrap());
            periods.push(AnalyticsPeriod::local_days(day, day, zone).unwrap());
            let now = Utc.from_utc_datetime(&day.and_hms_micro_opt(9, 41, 7, 123_456).unwrap());
            periods.push(AnalyticsPeriod::last_days(2, now, zone).unwrap());
        }
    }
    let mut facts_seen = 0;
    for period in &periods {
        for steps in [0, 3] {
            let input = load_period(&mut conn, &shop.id, period, steps).unwrap();
            facts_seen += input.abandoned.len() + input.orders.len() + input.sends.len();
            let expected = analyze(period, &input);
            let counted = period_report(&mut conn, &shop.id, period, steps).unwrap();
            assert_eq!(counted, expected, "{period:?}, {steps} steps");
        }
    }
    // The dataset is not empty where it is compared: the whole year holds
    // every kind of fact and of figure.
    let year = &periods[0];
    let whole = period_report(&mut conn, &shop.id, year, 3).unwrap();
    assert!(whole.summary.abandoned > 100 && whole.summary.recovered > 10);
    assert!(whole.summary.abandoned_value.len() == 4 && whole.summary.recovered_revenue.len() >= 3);
    assert!(
        whole
            .funnel
            .iter()
            .all(|step| step.sent > 0 && step.clicked > 0 && step.recovered > 0)
    );
    assert!(facts_seen > 10_000, "{facts_seen} facts compared");

    // The same periods once the shop's summary holds the sealed days of each
    // zone, made at moments inside the year (clicks and credits of sealed
    // days then come after its end), rolled forward from one to the next,
    // and just after midnight. Each zone starts the summary over; periods of
    // the other zones are counted live meanwhile.
    let nows = [
        Utc.with_ymd_and_hms(2026, 3, 9, 12, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 3, 30, 12, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 4, 6, 12, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 10, 26, 5, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 7, 0).unwrap(),
    ];
    // Emails of sealed days clicked, or credited by an order, after the
    // summary's end: the reports must have met some.
    let (mut clicked_after, mut credited_after) = (0, 0);
    for (n, zone) in ZONES.into_iter().enumerate() {
        // Every other zone starts with the latest moment: the summary is then
        // made backwards, a month per transaction, and asked again later for
        // earlier moments (it holds more than they need).
        let mut order = nows.to_vec();
        if n % 2 == 1 {
            order.reverse();
        }
        let mut until = None;
        for now in order {
            assert!(summary::ensure(&mut conn, &shop.id, zone, now, Some(date(3, 1))).unwrap());
            let mark = summary::read_mark(&mut conn, &shop.id).unwrap().unwrap();
            let expected = until.max(Some(summary::sealed_until(now, zone)));
            assert_eq!(Some(mark.until), expected);
            until = expected;
            assert_eq!(mark.from, start_of_local_day(date(3, 1), zone));
            let rows: i64 = analytics_days::table
                .filter(analytics_days::tenant_id.eq(&shop.id))
                .count()
                .get_result(&mut conn)
                .unwrap();
            assert!(rows > 10, "{rows} summary rows in {zone:?} at {now}");
            let until = mark.until.naive_utc();
            clicked_after += recovery_sends::table
                .filter(recovery_sends::tenant_id.eq(&shop.id))
                .filter(recovery_sends::sent_at.lt(until))
                .filter(recovery_sends::first_clicked_at.ge(until))
                .count()
                .get_result::<i64>(&mut conn)
                .unwrap();
            credited_after += orders::table
                .inner_join(
                    recovery_sends::table.on(recovery_sends::cart_id
                        .nullable()
                        .eq(orders::cart_id)
                        .and(recovery_sends::sent_at.lt(until))),
                )
                .filter(orders::tenant_id.eq(&shop.id))
                .filter(orders::attribution.eq("recovered"))
                .filter(orders::created_at.ge(until))
                .count()
                .get_result::<i64>(&mut conn)
                .unwrap();
            let others = periods.iter().filter(|p| p.zone() != zone).step_by(9);
            for period in periods.iter().filter(|p| p.zone() == zone).chain(others) {
                let input = load_period(&mut conn, &shop.id, period, 3).unwrap();
                let expected = analyze(period, &input);
                let counted = period_report(&mut conn, &shop.id, period, 3).unwrap();
                assert_eq!(counted, expected, "{period:?} with a summary at {now}");
            }
        }
    }
    assert!(
        clicked_after > 0 && credited_after > 0,
        "{clicked_after} late clicks, {credited_after} late credits"
    );
}

fn check_abandonment_keeps_the_value_of_its_moment(db: &TestDatabase) {
    let store = open(db);
    let mut conn = store.conn().unwrap();
    let shop = tenant(&mut conn, "Shop");
    let cart_id = cart(&mut conn, &shop, "s1", 4000, "EUR");
    event(&mut conn, &shop, &cart_id, "abandoned", at(28, 10, 0));
    // The shopper comes back and doubles the cart, then leaves again.
    let mut change = upsert(&shop, "s1", None, at(28, 12, 0));
    change.total_minor = 8000;
    change.currency = "EUR".to_owned();
    upsert_cart(&mut conn, &change).unwrap();
    event(&mut conn, &shop, &cart_id, "abandoned", at(28, 14, 0));
    let period = AnalyticsPeriod::local_days(day(28), day(28), Tz::UTC).unwrap();
    let report = period_report(&mut conn, &shop.id, &period, 0).unwrap();
    assert_eq!(report.summary.abandoned, 2);
    assert_eq!(report.summary.abandoned_value, vec![eur(12000)]);
}

on_both_backends!(counted_report_equals_the_definition, |db: &TestDatabase| {
    check_counted_report_equals_the_definition(db)
});
on_both_backends!(
    abandonment_keeps_the_value_of_its_moment,
    |db: &TestDatabase| { check_abandonment_keeps_the_value_of_its_moment(db) }
);
