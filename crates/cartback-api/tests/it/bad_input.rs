//! Every 4xx a client can provoke on /api/v1/track, in process: the right
//! status and code, the failing field named, and nothing written; settings
//! past their bounds; limits that hold under concurrent calls. (What needs the
//! real binary, HTTP itself and the request layers, stays in the end-to-end
//! crate's `bad_input.rs`.)

use chrono::TimeDelta;
use serde_json::{Value, json};

use cartback_domain::RecoveryPolicy;
use cartback_store::Backend;
use cartback_store::carts::count_carts;
use cartback_store::crypto::MasterKeys;

use cartback_testing::app::error_fields;

use crate::harness::{Call, InProcess, Options};

fn good_cart() -> Value {
    json!({
        "event": "CART_UPDATE",
        "sessionId": "sess-1",
        "items": [{"id": "sku_1", "name": "Product", "price": 100, "quantity": 1}],
        "total": 100.00,
        "currency": "USD",
        "customerEmail": "sam@example.com"
    })
}

fn with(mut body: Value, path: &[&str], value: Value) -> Value {
    let mut target = &mut body;
    for key in &path[..path.len() - 1] {
        target = if let Ok(index) = key.parse::<usize>() {
            &mut target[index]
        } else {
            &mut target[*key]
        };
    }
    let last = path[path.len() - 1];
    match (last.parse::<usize>(), value == json!("<remove>")) {
        (Ok(index), _) => target[index] = value,
        (Err(_), true) => {
            target.as_object_mut().unwrap().remove(last);
        }
        (Err(_), false) => target[last] = value,
    }
    body
}

enum Body {
    Json(Value),
    Raw(&'static str),
    Big(usize),
}

struct Case {
    name: &'static str,
    key: Option<&'static str>,
    body: Body,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
}

fn cases() -> Vec<Case> {
    let many_items: Vec<Value> = (0..501)
        .map(|i| json!({"id": format!("sku_{i}"), "name": "x", "price": 1, "quantity": 1}))
        .collect();
    let c = |name, body, status, code, field| Case {
        name,
        key: Some("secret"),
        body,
        status,
        code,
        field,
    };
    vec![
        Case {
            name: "no key",
            key: None,
            body: Body::Json(good_cart()),
            status: 401,
            code: "UNAUTHORIZED",
            field: None,
        },
        Case {
            name: "wrong key",
            key: Some("sk_notarealkey"),
            body: Body::Json(good_cart()),
            status: 401,
            code: "UNAUTHORIZED",
            field: None,
        },
        Case {
            name: "garbage key",
            key: Some("ünïcode key"),
            body: Body::Json(good_cart()),
            status: 401,
            code: "UNAUTHORIZED",
            field: None,
        },
        c(
            "malformed json",
            Body::Raw("{\"event\": \"CART_UPDATE\","),
            400,
            "BAD_REQUEST",
            None,
        ),
        c(
            "not an object",
            Body::Raw("[1,2,3]"),
            400,
            "BAD_REQUEST",
            None,
        ),
        c("empty body", Body::Raw(""), 400, "BAD_REQUEST", None),
        c(
            "body over the limit",
            Body::Big(300 * 1024),
            413,
            "PAYLOAD_TOO_LARGE",
            None,
        ),
        c(
            "missing event",
            Body::Json(with(good_cart(), &["event"], json!("<remove>"))),
            422,
            "VALIDATION_ERROR",
            Some("event"),
        ),
        c(
            "unknown event",
            Body::Json(with(good_cart(), &["event"], json!("CART_DELETE"))),
            422,
            "VALIDATION_ERROR",
            Some("event"),
        ),
        c(
            "event not a string",
            Body::Json(with(good_cart(), &["event"], json!(7))),
            422,
            "VALIDATION_ERROR",
            Some("event"),
        ),
        c(
            "missing sessionId",
            Body::Json(with(good_cart(), &["sessionId"], json!("<remove>"))),
            422,
            "VALIDATION_ERROR",
            Some("sessionId"),
        ),
        c(
            "empty sessionId",
            Body::Json(with(good_cart(), &["sessionId"], json!(""))),
            422,
            "VALIDATION_ERROR",
            Some("sessionId"),
        ),
        c(
            "sessionId too long",
            Body::Json(with(good_cart(), &["sessionId"], json!("s".repeat(201)))),
            422,
            "VALIDATION_ERROR",
            Some("sessionId"),
        ),
        c(
            "sessionId with control char",
            Body::Json(with(good_cart(), &["sessionId"], json!("a\nb"))),
            422,
            "VALIDATION_ERROR",
            Some("sessionId"),
        ),
        c(
            "missing items",
            Body::Json(with(good_cart(), &["items"], json!("<remove>"))),
            422,
            "VALIDATION_ERROR",
            Some("items"),
        ),
        c(
            "items not an array",
            Body::Json(with(good_cart(), &["items"], json!({"a": 1}))),
            422,
            "VALIDATION_ERROR",
            Some("items"),
        ),
        c(
            "more than 500 items",
            Body::Json(with(good_cart(), &["items"], Value::Array(many_items))),
            422,
            "VALIDATION_ERROR",
            Some("items"),
        ),
        c(
            "negative price",
            Body::Json(with(good_cart(), &["items", "0", "price"], json!(-1))),
            422,
            "VALIDATION_ERROR",
            Some("items[0].price"),
        ),
        c(
            "price as string",
            Body::Json(with(good_cart(), &["items", "0", "price"], json!("12"))),
            422,
            "VALIDATION_ERROR",
            Some("items[0].price"),
        ),
        c(
            "price too precise",
            Body::Json(with(good_cart(), &["items", "0", "price"], json!(1.005))),
            422,
            "VALIDATION_ERROR",
            Some("items[0].price"),
        ),
        c(
            "zero quantity",
            Body::Json(with(good_cart(), &["items", "0", "quantity"], json!(0))),
            422,
            "VALIDATION_ERROR",
            Some("items[0].quantity"),
        ),
        c(
            "fractional quantity",
            Body::Json(with(good_cart(), &["items", "0", "quantity"], json!(1.5))),
            422,
            "VALIDATION_ERROR",
            Some("items[0].quantity"),
        ),
        c(
            "missing item id",
            Body::Json(with(good_cart(), &["items", "0", "id"], json!("<remove>"))),
            422,
            "VALIDATION_ERROR",
            Some("items[0].id"),
        ),
        c(
            "missing total",
            Body::Json(with(
                with(good_cart(), &["total"], json!("<remove>")),
                &["items"],
                json!("<remove>"),
            )),
            422,
            "VALIDATION_ERROR",
            Some("items"),
        ),
        c(
            "negative total",
            Body::Json(with(good_cart(), &["total"], json!(-5))),
            422,
            "VALIDATION_ERROR",
            Some("total"),
        ),
        c(
            "huge total",
            Body::Json(with(good_cart(), &["total"], json!(1e300))),
            422,
            "VALIDATION_ERROR",
            Some("total"),
        ),
        c(
            "bad currency",
            Body::Json(with(good_cart(), &["currency"], json!("XYZ"))),
            422,
            "VALIDATION_ERROR",
            Some("currency"),
        ),
        c(
            "bad email",
            Body::Json(with(good_cart(), &["customerEmail"], json!("not-an-email"))),
            422,
            "VALIDATION_ERROR",
            Some("customerEmail"),
        ),
        c(
            "email with newline",
            Body::Json(with(
                good_cart(),
                &["customerEmail"],
                json!("a@b.com\r\nBcc: x@y.z"),
            )),
            422,
            "VALIDATION_ERROR",
            Some("customerEmail"),
        ),
        c(
            "name with newline",
            Body::Json(with(
                good_cart(),
                &["customerName"],
                json!("Sam\r\nBcc: x@y.z"),
            )),
            422,
            "VALIDATION_ERROR",
            Some("customerName"),
        ),
        c(
            "locale that is no language tag",
            Body::Json(with(good_cart(), &["locale"], json!("dutch please"))),
            422,
            "VALIDATION_ERROR",
            Some("locale"),
        ),
        c(
            "consent as a string",
            Body::Json(with(good_cart(), &["consent"], json!("yes"))),
            422,
            "VALIDATION_ERROR",
            Some("consent"),
        ),
        c(
            "order with bad total",
            Body::Json(json!({"event": "ORDER_COMPLETE", "sessionId": "sess-1", "total": "lots"})),
            422,
            "VALIDATION_ERROR",
            Some("total"),
        ),
        c(
            "order without session",
            Body::Json(json!({"event": "ORDER_COMPLETE", "orderId": "A1"})),
            422,
            "VALIDATION_ERROR",
            Some("sessionId"),
        ),
    ]
}

fn bad_input_is_refused(backend: Backend) {
    let api = InProcess::with(
        backend,
        &Options {
            max_body_bytes: Some(256 * 1024),
            ..Options::default()
        },
    );
    let tenant = api.tenant_with("Shop", RecoveryPolicy::default());
    let secret = tenant.secret.clone();
    let tenant_id = tenant.id.clone();

    for case in cases() {
        let mut request =
            Call::new("POST", "/api/v1/track").header("Content-Type", "application/json");
        match case.key {
            Some("secret") => request = request.header("X-API-Key", &secret),
            Some(other) => request = request.header("X-API-Key", other),
            None => {}
        }
        request = match &case.body {
            Body::Json(v) => request.body(v.to_string()),
            Body::Raw(text) => request.body(*text),
            Body::Big(size) => request.body(format!("{{\"pad\":\"{}\"}}", "x".repeat(*size))),
        };
        let answer = api.send(request);
        let status = answer.status;
        let body: Value = answer.json();
        assert_eq!(status, case.status, "{}: {body}", case.name);
        assert_eq!(body["success"], json!(false), "{}: {body}", case.name);
        assert_eq!(
            body["error"]["code"],
            json!(case.code),
            "{}: {body}",
            case.name
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{}",
            case.name
        );
        if let Some(field) = case.field {
            let fields: Vec<&str> = body["error"]["details"]
                .as_array()
                .unwrap_or_else(|| panic!("{}: no details in {body}", case.name))
                .iter()
                .filter_map(|d| d["field"].as_str())
                .collect();
            assert!(
                fields.contains(&field),
                "{}: expected {field} in {fields:?}",
                case.name
            );
        }
    }
    // Unknown routes answer in the envelope too, and nothing above was stored.
    let answer = api.send(Call::new("GET", "/api/v1/nope"));
    assert_eq!(answer.status, 404);
    assert_eq!(answer.json()["success"], json!(false));
    let store = &api.store;
    assert_eq!(
        count_carts(&mut store.conn().unwrap(), &tenant_id).unwrap(),
        0
    );

    // A sweep of hostile values through every field of both events: never a 5xx.
    let weird = [
        json!(null),
        json!(true),
        json!(-1),
        json!(0),
        json!(1e300),
        json!(-0.0),
        json!(""),
        json!("x".repeat(5000)),
        json!([]),
        json!({}),
        json!("\u{0}\r\n"),
        json!(12345678901234567890u64),
        json!(0.1),
        json!("🛒"),
        json!([{"id": null}]),
    ];
    let paths: [&[&str]; 10] = [
        &["event"],
        &["sessionId"],
        &["items"],
        &["items", "0"],
        &["items", "0", "id"],
        &["items", "0", "price"],
        &["items", "0", "quantity"],
        &["total"],
        &["currency"],
        &["customerEmail"],
    ];
    for path in paths {
        for value in &weird {
            for event in ["CART_UPDATE", "ORDER_COMPLETE"] {
                let body = with(
                    with(good_cart(), &["event"], json!(event)),
                    path,
                    value.clone(),
                );
                let answer = api.send(
                    Call::new("POST", "/api/v1/track")
                        .header("X-API-Key", &secret)
                        .body(body.to_string()),
                );
                let status = answer.status;
                assert!(
                    matches!(status, 200 | 400 | 422),
                    "{status} for {path:?} = {value}: {}",
                    String::from_utf8_lossy(&answer.body)
                );
            }
        }
    }

    // The server is still healthy and the good request works.
    assert_eq!(api.send(Call::new("GET", "/healthz")).status, 200);
    let (status, _) = api.track(&secret, &good_cart());
    assert_eq!(status, 200);
    assert!(count_carts(&mut store.conn().unwrap(), &tenant_id).unwrap() >= 1);
}

#[test]
fn bad_input_on_sqlite() {
    bad_input_is_refused(Backend::Sqlite);
}

#[test]
fn bad_input_on_postgres() {
    bad_input_is_refused(Backend::Postgres);
}

/// Issue 15: no setting can crash the api or the worker. Extreme recovery
/// settings answer 422 naming the field; a tenant whose stored policy holds
/// such values anyway (written before the bounds) still tracks carts, as does
/// every other tenant, and nothing is scheduled past year 9999.
fn extreme_settings_are_refused_and_tracking_keeps_working(backend: Backend) {
    let api = InProcess::start(backend);
    let create = |name: &str| -> (String, String) {
        let tenant = api.tenant_with(name, RecoveryPolicy::default());
        (tenant.secret, tenant.id)
    };
    let (bad_secret, bad_id) = create("Extreme");
    let (good_secret, good_id) = create("Healthy");

    for (policy, field) in [
        (
            json!({"steps": [{"delayMs": 1000}], "expireAfterMs": 9223372036854775807u64}),
            "policy.expireAfterMs",
        ),
        (
            json!({"steps": [{"delayMs": 260000000000000u64}]}),
            "policy.steps[0].delayMs",
        ),
        (
            json!({"attributionWindowMs": 18446744073709551615u64}),
            "policy.attributionWindowMs",
        ),
        (
            json!({"maxEmailsPerCart": 4294967295u32}),
            "policy.maxEmailsPerCart",
        ),
        (
            json!({"minCartValueMinor": 9223372036854775807i64}),
            "policy.minCartValueMinor",
        ),
    ] {
        let (status, body) = api.v1(
            "PUT",
            "/settings/recovery",
            &bad_secret,
            Some(&json!({ "policy": policy, "email": {} })),
        );
        assert_eq!(status, 422, "{policy}: {body}");
        assert_eq!(body["error"]["code"], json!("VALIDATION_ERROR"));
        assert!(
            error_fields(&body).iter().any(|f| f == field),
            "{policy}: expected {field} in {body}"
        );
    }

    // Amounts past the bound are refused by name too.
    let huge_price = with(
        good_cart(),
        &["items", "0", "price"],
        json!(10_000_000_000_000u64),
    );
    let (status, body) = api.track(&good_secret, &huge_price);
    assert_eq!(status, 422);
    assert!(
        error_fields(&body).iter().any(|f| f == "items[0].price"),
        "{body}"
    );

    // A policy written before the bounds existed, straight into the row.
    let store = &api.store;
    cartback_testing::execute_raw(
        &mut store.conn().unwrap(),
        "UPDATE tenants SET policy = $1 WHERE id = $2",
        &[
            r#"{"steps":[{"delayMs":260000000000000}],"expireAfterMs":9223372036854775807}"#,
            &bad_id,
        ],
    )
    .unwrap();
    for secret in [&bad_secret, &good_secret, &bad_secret] {
        let (status, body) = api.track(secret, &good_cart());
        assert_eq!(status, 200, "{body}");
    }
    let mut conn = store.conn().unwrap();
    for tenant in [&bad_id, &good_id] {
        let cart = cartback_store::carts::find_cart_by_session(&mut conn, tenant, "sess-1")
            .unwrap()
            .unwrap();
        let at = cart.next_action_at.unwrap();
        // Four-digit years: SQLite compares them as text.
        assert_eq!(at.format("%Y").to_string().len(), 4, "stored {at}");
    }
}

#[test]
fn extreme_settings_on_sqlite() {
    extreme_settings_are_refused_and_tracking_keeps_working(Backend::Sqlite);
}

#[test]
fn extreme_settings_on_postgres() {
    extreme_settings_are_refused_and_tracking_keeps_working(Backend::Postgres);
}
/// 40 parallel calls, one per thread; the statuses and answers.
fn in_parallel(
    api: &InProcess,
    method: &'static str,
    path: &'static str,
    key: &str,
    body: impl Fn(usize) -> Value,
) -> Vec<(u16, Value)> {
    let barrier = std::sync::Barrier::new(40);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..40)
            .map(|i| {
                let body = body(i);
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    api.call(method, path, key, Some(&body))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Limits and "created" hold under concurrency: 40 parallel endpoint creations
/// make exactly 20 endpoints, and 40 parallel upserts of one new shop id create
/// it once.
fn races_keep_limits(backend: Backend) {
    let api = InProcess::with(
        backend,
        &Options {
            master_key: Some(MasterKeys::generate()),
            ..Options::default()
        },
    );
    let tenant = api.tenant("Test shop", TimeDelta::hours(1));
    let key = tenant.secret.as_str();
    let answers = in_parallel(
        &api,
        "POST",
        "/api/v1/webhook-endpoints",
        key,
        |i| json!({"url": format!("https://hooks.example.com/{i}"), "events": ["cart.abandoned"]}),
    );
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    let refused = answers.iter().filter(|(s, _)| *s == 409).count();
    // Statuses only: the answers carry signing secrets.
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!((created, refused), (20, 20), "{statuses:?}");
    let (_, list) = api.call("GET", "/api/v1/webhook-endpoints", key, None);
    assert_eq!(list["data"].as_array().unwrap().len(), 20);

    let answers = in_parallel(&api, "PUT", "/api/v1/carts", key, |i| {
        json!({"externalId": "shop-order-1", "currency": "USD",
            "items": [{"id": "sku_1", "name": "P", "price": 10 + i, "quantity": 1}]})
    });
    assert!(
        answers.iter().all(|(s, _)| *s == 200 || *s == 201),
        "{answers:?}"
    );
    let created: Vec<_> = answers
        .iter()
        .filter(|(_, a)| a["created"] == json!(true))
        .collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    assert_eq!(answers.iter().filter(|(s, _)| *s == 201).count(), 1);
    let ids: std::collections::BTreeSet<_> = answers
        .iter()
        .map(|(_, a)| a["data"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
}

#[test]
fn races_keep_limits_on_sqlite() {
    races_keep_limits(Backend::Sqlite);
}

#[test]
fn races_keep_limits_on_postgres() {
    races_keep_limits(Backend::Postgres);
}
