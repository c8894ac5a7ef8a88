//! Seed 002, Retargeting's partner API, called as its documented PHP client
//! calls it (`GET` with the query `["rest_key" => $apiKey]`, dates optional):
//! every answer the seed shows, on both backends, and counts equal to
//! cartback's own over the same interval.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};

use cartback_domain::TenantStatus;
use cartback_store::Backend;
use cartback_store::tenants::set_tenant_status;
use cartback_testing::{execute_raw, on_both_backends};

use crate::harness::{Call, InProcess, Options};

const URL: &str = "/v1/partners-api/shopping-carts";

/// The seed's Guzzle call: `$client->request("GET", $apiURL, ["query" => $registerData])`.
fn partner_call(api: &InProcess, query: &[(&str, String)]) -> (u16, Value) {
    let encoded: Vec<String> = query
        .iter()
        .map(|(name, value)| format!("{name}={}", value.replace('&', "%26")))
        .collect();
    let answer = api.send(Call::new("GET", &format!("{URL}?{}", encoded.join("&"))));
    (answer.status, answer.json())
}

fn error(message: &str) -> Value {
    json!({"status": "error", "message": message})
}

fn abandoned_and_recovered_carts(api: &InProcess, key: &str) {
    for n in 0..3 {
        let session = format!("retargeting-session-{n:04}");
        let (status, body) = api.track(
            key,
            &json!({"event": "CART_UPDATE", "sessionId": session, "customerEmail": "shopper@example.com",
                "items": [{"id": "mug", "name": "Mug", "price": 12.5, "quantity": 2}], "total": 25}),
        );
        assert_eq!(status, 200, "{body}");
        let (status, body) = api.v1(
            "PATCH",
            &format!("/carts/{session}"),
            key,
            Some(&json!({"status": "abandoned"})),
        );
        assert_eq!(status, 200, "{body}");
    }
    // One recovered by hand (a manual order), one ordered through tracking
    // without an email (converted: not recovered).
    let (status, body) = api.v1(
        "PATCH",
        "/carts/retargeting-session-0000",
        key,
        Some(&json!({"status": "recovered"})),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = api.track(
        key,
        &json!({"event": "ORDER_COMPLETE", "sessionId": "retargeting-session-0001", "orderId": "A-1", "total": 25}),
    );
    assert_eq!(status, 200, "{body}");
}

fn the_partner_api_answers_as_documented(backend: Backend) {
    let api = InProcess::with(
        backend,
        &Options {
            auth_cache_ttl: Some(Duration::ZERO),
            ..Options::default()
        },
    );
    let shop = api.tenant("Shop", TimeDelta::hours(1));
    let key = shop.secret.clone();
    abandoned_and_recovered_carts(&api, &key);

    // The seed's example: the REST key alone, the last 30 days.
    let (status, body) = partner_call(&api, &[("rest_key", key.clone())]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"status": "success", "data": {"abandoned": 3, "recovered": 1}})
    );

    // The same figures as cartback's own, over the same interval.
    let now = Utc::now().timestamp() + 1;
    let from = now - 86_400;
    let (_, ours) = api.v1(
        "GET",
        &format!("/stats/carts?date_from={from}&date_to={now}"),
        &key,
        None,
    );
    let (status, theirs) = partner_call(
        &api,
        &[
            ("rest_key", key.clone()),
            ("date_from", from.to_string()),
            ("date_to", now.to_string()),
        ],
    );
    assert_eq!(status, 200, "{theirs}");
    assert_eq!(theirs["data"]["abandoned"], ours["abandoned"]);
    assert_eq!(theirs["data"]["recovered"], ours["recovered"]);
    let (_, report) = api.v1("GET", "/analytics?period=today", &key, None);
    assert_eq!(theirs["data"]["abandoned"], report["summary"]["abandoned"]);
    assert_eq!(theirs["data"]["recovered"], report["summary"]["recovered"]);
    // date_from alone runs to now.
    let (status, body) = partner_call(
        &api,
        &[("rest_key", key.clone()), ("date_from", from.to_string())],
    );
    assert_eq!((status, &body["data"]), (200, &theirs["data"]));
    // An interval before the carts counts nothing.
    let (_, empty) = partner_call(
        &api,
        &[
            ("rest_key", key.clone()),
            ("date_from", (from - 86_400).to_string()),
            ("date_to", from.to_string()),
        ],
    );
    assert_eq!(empty["data"], json!({"abandoned": 0, "recovered": 0}));

    // When the rest_key parameter is invalid.
    for wrong in [
        vec![("rest_key", "sk_not_a_key".to_owned())],
        vec![("rest_key", shop.publishable.clone())],
        vec![("rest_key", "12345".to_owned())],
        vec![],
    ] {
        let (status, body) = partner_call(&api, &wrong);
        assert_eq!(
            (status, body),
            (401, error("Incorrect rest key!")),
            "{wrong:?}"
        );
    }
    // When the interval is greater than 30 days.
    let day = 86_400;
    for query in [
        vec![
            ("date_from", (now - 31 * day).to_string()),
            ("date_to", now.to_string()),
        ],
        vec![("date_from", (now - 31 * day).to_string())],
    ] {
        let mut query = query;
        query.push(("rest_key", key.clone()));
        let (status, body) = partner_call(&api, &query);
        assert_eq!(
            (status, body),
            (422, error("Interval is greater than 30 days"))
        );
    }
    let (status, _) = partner_call(
        &api,
        &[
            ("rest_key", key.clone()),
            ("date_from", (now - 30 * day).to_string()),
            ("date_to", now.to_string()),
        ],
    );
    assert_eq!(status, 200, "exactly 30 days is allowed");
    // When date_from is not provided together with date_to.
    let (status, body) = partner_call(
        &api,
        &[("rest_key", key.clone()), ("date_to", now.to_string())],
    );
    assert_eq!(status, 422);
    assert_eq!(
        body,
        json!({"status": "fail", "data": {"validator": {"date_from": ["The date from field is required when date to is present."]}}})
    );
    // Other bad dates: the same fail shape, naming the parameter.
    for (query, field) in [
        (vec![("date_from", "yesterday".to_owned())], "date_from"),
        (
            vec![("date_from", "-5".to_owned()), ("date_to", "10".to_owned())],
            "date_from",
        ),
        (
            vec![
                ("date_from", from.to_string()),
                ("date_to", "soon".to_owned()),
            ],
            "date_to",
        ),
        (
            vec![
                ("date_from", now.to_string()),
                ("date_to", from.to_string()),
            ],
            "date_to",
        ),
        (vec![("date_from", (now + 3600).to_string())], "date_from"),
    ] {
        let mut query = query;
        query.push(("rest_key", key.clone()));
        let (status, body) = partner_call(&api, &query);
        assert_eq!(status, 422, "{query:?}: {body}");
        assert_eq!(body["status"], "fail");
        let messages = body["data"]["validator"][field]
            .as_array()
            .expect("messages");
        assert_eq!(messages.len(), 1, "{body}");
        assert!(
            messages[0].as_str().unwrap().starts_with("The date "),
            "{body}"
        );
    }

    // When the account is not active (suspended or closed; see docs/compat.md).
    for status in [TenantStatus::Suspended, TenantStatus::Closed] {
        set_tenant_status(
            &mut api.store.conn().unwrap(),
            &shop.id,
            status,
            Utc::now().naive_utc(),
        )
        .unwrap();
        let (code, body) = partner_call(&api, &[("rest_key", key.clone())]);
        assert_eq!((code, body), (403, error("Your account is not active!")));
    }
    set_tenant_status(
        &mut api.store.conn().unwrap(),
        &shop.id,
        TenantStatus::Active,
        Utc::now().naive_utc(),
    )
    .unwrap();
    assert_eq!(partner_call(&api, &[("rest_key", key.clone())]).0, 200);
}

/// When something went wrong: cartback failing (here its orders table is gone
/// from under it) is the seed's `Something went wrong`, with a 500 and
/// nothing of the cause.
fn a_failure_is_something_went_wrong(backend: Backend) {
    let api = InProcess::start(backend);
    let shop = api.tenant("Shop", TimeDelta::hours(1));
    execute_raw(
        &mut api.store.conn().unwrap(),
        "ALTER TABLE orders RENAME TO orders_gone",
        &[],
    )
    .unwrap();
    let (status, body) = partner_call(&api, &[("rest_key", shop.secret.clone())]);
    assert_eq!((status, body), (500, error("Something went wrong")));
}

on_both_backends!(
    the_partner_api_answers_as_documented,
    a_failure_is_something_went_wrong
);
