//! Analytics and cart counts end to end: the real api and worker on both
//! backends. Carts are tracked, the worker abandons them and sends the recovery
//! emails, orders recover or convert them; the reports count exactly that, in
//! the tenant's time zone, and never another tenant's carts. (Bad queries: in
//! process, crates/cartback-api/tests/it/analytics_api.rs.)

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use cartback_store::carts::find_cart_by_session;
use cartback_store::events::{CartEventKind, record_event};
use cartback_store::{Backend, Store};
use cartback_testing::TestDatabase;
use cartback_testing::app::{Api, Tenant, cart_update, create_tenant, spawn_worker_to_outbox};
use cartback_testing::on_both_backends;
use cartback_testing::process::{Running, wait_for};

fn worker(db: &TestDatabase, tag: &str) -> Running {
    let outbox = std::env::temp_dir().join(format!("cartback-outbox-analytics-{tag}"));
    spawn_worker_to_outbox(
        &db.url,
        &outbox,
        &[("CARTBACK_NO_MIGRATE", "true".to_owned())],
    )
}

fn get(api: &Api, key: &str, path: &str) -> (u16, Value) {
    api.call("GET", path, key, None)
}

/// The tenant's recovery settings with its time zone changed, through the api.
fn set_time_zone(api: &Api, tenant: &Tenant, zone: &str) {
    let (status, body) = api.call(
        "PATCH",
        "/api/v1/settings/recovery",
        &tenant.secret,
        Some(&json!({"policy": {"timeZone": zone}})),
    );
    assert_eq!(status, 200, "{body}");
}

/// Waits until the cart of `session` has had its recovery email.
fn wait_for_email(api: &Api, key: &str, session: &str) {
    wait_for(
        &format!("the recovery email of {session}"),
        Duration::from_secs(30),
        || {
            let (status, history) = get(api, key, &format!("/api/v1/carts/{session}/history"));
            status == 200
                && history["emails"]
                    .as_array()
                    .is_some_and(|emails| emails.iter().any(|e| e["status"] == "sent"))
        },
    );
}

fn wait_for_abandoned(api: &Api, key: &str, session: &str) {
    wait_for(
        &format!("{session} to be abandoned"),
        Duration::from_secs(30),
        || {
            let (status, history) = get(api, key, &format!("/api/v1/carts/{session}/history"));
            status == 200
                && history["events"]
                    .as_array()
                    .is_some_and(|events| events.iter().any(|e| e["kind"] == "abandoned"))
        },
    );
}

fn order(api: &Api, key: &str, session: &str, order_id: &str, total: f64, currency: &str) -> Value {
    let (status, body) = api.track(
        key,
        &json!({
            "event": "ORDER_COMPLETE",
            "sessionId": session,
            "orderId": order_id,
            "total": total,
            "currency": currency,
        }),
    );
    assert_eq!(status, 200, "{body}");
    body
}

fn amount(currency: &str, minor: i64, text: &str) -> Value {
    json!({"currency": currency, "amountMinor": minor, "amount": text})
}

fn sum(rows: &Value, field: &str) -> u64 {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r[field].as_u64().unwrap())
        .sum()
}

/// Two tenants with real traffic: the shop (Europe/Amsterdam) has a recovered
/// USD cart, a recovered EUR cart, an abandoned cart without an address, a
/// converted cart and an unmatched order; the other tenant has one recovered
/// cart. The shop's reports show exactly its own.
fn reports_count_real_traffic(backend: Backend) {
    let db = TestDatabase::new(backend);
    let shop = create_tenant(&db.url, "1s");
    let other = create_tenant(&db.url, "1s");
    let api = Api::start(&db.url, &[]);
    set_time_zone(&api, &shop, "Europe/Amsterdam");
    let key = shop.secret.as_str();

    // Converted: ordered before it could be abandoned.
    assert_eq!(
        api.track(key, &cart_update("sess-4", Some("di@example.com")))
            .0,
        200
    );
    assert_eq!(
        order(&api, key, "sess-4", "A-4", 100.0, "USD")["cartStatus"],
        "converted"
    );
    assert_eq!(
        api.track(key, &cart_update("sess-1", Some("ann@example.com")))
            .0,
        200
    );
    let euro_cart = json!({
        "event": "CART_UPDATE",
        "sessionId": "sess-2",
        "items": [{"id": "mug", "name": "Mug", "price": 45.5, "quantity": 1}],
        "total": 45.50,
        "currency": "EUR",
        "customerEmail": "bo@example.com",
    });
    assert_eq!(api.track(key, &euro_cart).0, 200);
    assert_eq!(api.track(key, &cart_update("sess-3", None)).0, 200);
    let other_key = other.secret.as_str();
    assert_eq!(
        api.track(other_key, &cart_update("sess-1", Some("zed@example.com")))
            .0,
        200
    );

    let _worker = worker(&db, &shop.id);
    for session in ["sess-1", "sess-2"] {
        wait_for_email(&api, key, session);
    }
    wait_for_abandoned(&api, key, "sess-3");
    wait_for_email(&api, other_key, "sess-1");
    assert_eq!(
        order(&api, key, "sess-1", "A-1", 100.0, "USD")["cartStatus"],
        "recovered"
    );
    assert_eq!(
        order(&api, key, "sess-2", "A-2", 45.5, "EUR")["cartStatus"],
        "recovered"
    );
    order(&api, key, "nobody", "A-5", 20.0, "USD");
    assert_eq!(
        order(&api, other_key, "sess-1", "B-1", 100.0, "USD")["cartStatus"],
        "recovered"
    );

    // The last 7 days in Amsterdam.
    let (status, week) = get(&api, key, "/api/v1/analytics?period=7d");
    assert_eq!(status, 200, "{week}");
    assert_eq!(week["success"], true);
    assert_eq!(week["period"]["timeZone"], "Europe/Amsterdam");
    let summary = &week["summary"];
    assert_eq!(summary["abandoned"], 3, "{week}");
    assert_eq!(summary["recovered"], 2, "{week}");
    assert_eq!(summary["converted"], 1, "{week}");
    assert_eq!(summary["recoveryRate"], json!(0.6667));
    assert_eq!(
        summary["abandonedValue"],
        json!([amount("EUR", 4550, "45.50"), amount("USD", 20000, "200.00")])
    );
    assert_eq!(
        summary["recoveredRevenue"],
        json!([amount("EUR", 4550, "45.50"), amount("USD", 10000, "100.00")])
    );
    let daily = &week["daily"];
    assert_eq!(daily.as_array().unwrap().len(), 7);
    assert_eq!(daily[0]["date"], week["period"]["startDate"]);
    assert_eq!(daily[6]["date"], week["period"]["endDate"]);
    assert_eq!(sum(daily, "abandoned"), 3);
    assert_eq!(sum(daily, "recovered"), 2);
    assert_eq!(sum(daily, "converted"), 1);
    for row in daily.as_array().unwrap() {
        for field in ["abandonedValue", "recoveredRevenue"] {
            assert!(row[field].is_array(), "{row}");
        }
    }
    // One step in the policy: both emails went out and both were followed by
    // the order that recovered their cart.
    assert_eq!(
        week["funnel"],
        json!([{"step": 1, "sent": 2, "clicked": 0, "recovered": 2}])
    );

    // The same days asked by date give the same report.
    let by_dates = format!(
        "/api/v1/analytics?startDate={}&endDate={}",
        week["period"]["startDate"].as_str().unwrap(),
        week["period"]["endDate"].as_str().unwrap()
    );
    let (status, same) = get(&api, key, &by_dates);
    assert_eq!(status, 200, "{same}");
    assert_eq!(same["summary"], week["summary"]);
    assert_eq!(same["daily"], week["daily"]);
    assert_eq!(same["funnel"], week["funnel"]);

    // The default is 30 days, and 90 days reach back past the October switch.
    let (status, month) = get(&api, key, "/api/v1/analytics");
    assert_eq!(status, 200, "{month}");
    assert_eq!(month["daily"].as_array().unwrap().len(), 30);
    assert_eq!(month["summary"], week["summary"]);
    let (status, quarter) = get(&api, key, "/api/v1/analytics?period=90d");
    assert_eq!(status, 200, "{quarter}");
    assert_eq!(quarter["daily"].as_array().unwrap().len(), 90);
    assert_eq!(quarter["summary"]["abandoned"], 3);

    // The other tenant sees only its own cart.
    let (status, theirs) = get(&api, other_key, "/api/v1/analytics?period=7d");
    assert_eq!(status, 200, "{theirs}");
    assert_eq!(theirs["period"]["timeZone"], "UTC");
    assert_eq!(
        (
            theirs["summary"]["abandoned"].clone(),
            theirs["summary"]["recovered"].clone(),
            theirs["summary"]["converted"].clone(),
            theirs["summary"]["recoveryRate"].clone(),
        ),
        (json!(1), json!(1), json!(0), json!(1.0))
    );

    // Counts over a unix interval.
    let (status, counts) = get(&api, key, "/api/v1/stats/carts");
    assert_eq!(status, 200, "{counts}");
    assert_eq!(
        (counts["abandoned"].clone(), counts["recovered"].clone()),
        (json!(3), json!(2))
    );
    let (from, to) = (
        counts["dateFrom"].as_i64().unwrap(),
        counts["dateTo"].as_i64().unwrap(),
    );
    assert_eq!(to - from, 30 * 86_400);
    assert!((to - Utc::now().timestamp()).abs() < 60);
    let now = Utc::now().timestamp();
    let (status, recent) = get(
        &api,
        key,
        &format!(
            "/api/v1/stats/carts?date_from={}&date_to={}",
            now - 3600,
            now + 60
        ),
    );
    assert_eq!(status, 200, "{recent}");
    assert_eq!(
        recent,
        json!({"success": true, "abandoned": 3, "recovered": 2, "dateFrom": now - 3600, "dateTo": now + 60})
    );
    let (status, only_from) = get(
        &api,
        key,
        &format!("/api/v1/stats/carts?date_from={}", now - 3600),
    );
    assert_eq!(status, 200, "{only_from}");
    assert_eq!(only_from["abandoned"], 3);
    let (status, earlier) = get(
        &api,
        key,
        &format!(
            "/api/v1/stats/carts?date_from={}&date_to={}",
            now - 10 * 86_400,
            now - 9 * 86_400
        ),
    );
    assert_eq!(status, 200, "{earlier}");
    assert_eq!(
        (earlier["abandoned"].clone(), earlier["recovered"].clone()),
        (json!(0), json!(0))
    );
    let (status, theirs) = get(&api, other_key, "/api/v1/stats/carts");
    assert_eq!(status, 200, "{theirs}");
    assert_eq!(
        (theirs["abandoned"].clone(), theirs["recovered"].clone()),
        (json!(1), json!(1))
    );
}

fn at(d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, d, h, mi, 0).unwrap()
}

/// Abandonments written at fixed instants around the 2026-03-29 switch land on
/// the tenant's local days: 23:30 UTC on the 28th is the 29th in Amsterdam,
/// 22:30 UTC on the 29th is already the 30th.
fn local_days_follow_the_tenant_time_zone(backend: Backend) {
    let db = TestDatabase::new(backend);
    let shop = create_tenant(&db.url, "1h");
    let other = create_tenant(&db.url, "1h");
    let api = Api::start(&db.url, &[]);
    set_time_zone(&api, &shop, "Europe/Amsterdam");
    assert_eq!(api.track(&shop.secret, &cart_update("sess-1", None)).0, 200);
    assert_eq!(
        api.track(&other.secret, &cart_update("sess-1", None)).0,
        200
    );

    let store = Store::open(&db.url, 1).unwrap();
    let mut conn = store.conn().unwrap();
    let cart_of = |conn: &mut cartback_store::DbConn, tenant: &Tenant| {
        find_cart_by_session(conn, &tenant.id, "sess-1")
            .unwrap()
            .unwrap()
            .id
    };
    let (mine, theirs) = (cart_of(&mut conn, &shop), cart_of(&mut conn, &other));
    for when in [
        at(28, 22, 30),
        at(28, 23, 30),
        at(29, 21, 59),
        at(29, 22, 30),
    ] {
        record_event(
            &mut conn,
            &shop.id,
            &mine,
            CartEventKind::Abandoned,
            None,
            None,
            when,
        )
        .unwrap();
    }
    record_event(
        &mut conn,
        &other.id,
        &theirs,
        CartEventKind::Abandoned,
        None,
        None,
        at(29, 10, 0),
    )
    .unwrap();

    let key = shop.secret.as_str();
    let (status, day) = get(
        &api,
        key,
        "/api/v1/analytics?startDate=2026-03-29&endDate=2026-03-29",
    );
    assert_eq!(status, 200, "{day}");
    assert_eq!(
        day["period"],
        json!({
            "start": "2026-03-28T23:00:00.000Z",
            "end": "2026-03-29T22:00:00.000Z",
            "startDate": "2026-03-29",
            "endDate": "2026-03-29",
            "timeZone": "Europe/Amsterdam",
        })
    );
    assert_eq!(day["summary"]["abandoned"], 2);
    assert_eq!(
        day["summary"]["abandonedValue"],
        json!([amount("USD", 20000, "200.00")])
    );
    assert_eq!(day["summary"]["recoveryRate"], json!(0.0));
    assert_eq!(
        day["daily"],
        json!([{
            "date": "2026-03-29", "abandoned": 2, "recovered": 0, "converted": 0,
            "abandonedValue": [amount("USD", 20000, "200.00")], "recoveredRevenue": [],
        }])
    );
    assert_eq!(
        day["funnel"],
        json!([{"step": 1, "sent": 0, "clicked": 0, "recovered": 0}])
    );

    let (status, days) = get(
        &api,
        key,
        "/api/v1/analytics?startDate=2026-03-28&endDate=2026-03-30",
    );
    assert_eq!(status, 200, "{days}");
    let per_day: Vec<(Value, Value)> = days["daily"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["date"].clone(), d["abandoned"].clone()))
        .collect();
    assert_eq!(
        per_day,
        vec![
            (json!("2026-03-28"), json!(1)),
            (json!("2026-03-29"), json!(2)),
            (json!("2026-03-30"), json!(1)),
        ]
    );

    // The same instants as a unix interval: the 29th in Amsterdam.
    let (from, to) = (at(28, 23, 0).timestamp(), at(29, 22, 0).timestamp());
    let (status, counts) = get(
        &api,
        key,
        &format!("/api/v1/stats/carts?date_from={from}&date_to={to}"),
    );
    assert_eq!(status, 200, "{counts}");
    assert_eq!(
        (counts["abandoned"].clone(), counts["recovered"].clone()),
        (json!(2), json!(0))
    );
    let (status, counts) = get(
        &api,
        &other.secret,
        &format!("/api/v1/stats/carts?date_from={from}&date_to={to}"),
    );
    assert_eq!(status, 200, "{counts}");
    assert_eq!(counts["abandoned"], 1);
}

/// Every preset of `period` answers its stretch of the shop's calendar up to
/// now, in the shop's time zone (Pacific/Kiritimati, +14: its today is often
/// another day than UTC's).
fn presets_cover_the_shops_calendar(backend: Backend) {
    use cartback_domain::{PeriodPreset, Tz};
    let db = TestDatabase::new(backend);
    let shop = create_tenant(&db.url, "1h");
    let api = Api::start(&db.url, &[]);
    set_time_zone(&api, &shop, "Pacific/Kiritimati");
    for preset in PeriodPreset::ALL {
        let path = format!("/api/v1/analytics?period={}", preset.as_str());
        let before = Utc::now();
        let (status, body) = get(&api, &shop.secret, &path);
        assert_eq!(status, 200, "{path}: {body}");
        let expected = preset.period(before, Tz::Pacific__Kiritimati).unwrap();
        let period = &body["period"];
        assert_eq!(period["timeZone"], "Pacific/Kiritimati", "{path}");
        // Unless the shop's midnight fell between the two readings of the clock.
        if expected.last_day().to_string() == period["endDate"] {
            assert_eq!(
                period["startDate"],
                expected.first_day().to_string(),
                "{path}"
            );
            let start: DateTime<Utc> = period["start"].as_str().unwrap().parse().unwrap();
            assert_eq!(start, expected.start(), "{path}");
            let days = body["daily"].as_array().unwrap().len();
            assert_eq!(days, expected.days().count(), "{path}");
        }
        let end: DateTime<Utc> = period["end"].as_str().unwrap().parse().unwrap();
        assert!(
            end >= before - chrono::TimeDelta::milliseconds(1),
            "{path}: ends now"
        );
    }
}

on_both_backends!(reports_count_real_traffic);
on_both_backends!(presets_cover_the_shops_calendar);
on_both_backends!(local_days_follow_the_tenant_time_zone);
