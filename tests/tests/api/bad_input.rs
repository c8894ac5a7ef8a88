//! Every 4xx a client can provoke on /api/v1/track, against the real api binary:
//! the right status and code, the failing field named, and nothing written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{Value, json};

use cartback_store::carts::count_carts;
use cartback_store::{Backend, Store};
use cartback_testing::TestDatabase;
use cartback_testing::process::{free_port, run, spawn, wait_for};

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
    let db = TestDatabase::new(backend);
    let out = run(
        "cartback",
        &[("DATABASE_URL", db.url.clone())],
        &["tenant", "create", "--name", "Shop", "--json"],
    );
    let tenant: Value = serde_json::from_str(out.trim()).unwrap();
    let secret = tenant["secretKey"].as_str().unwrap().to_owned();
    let tenant_id = tenant["tenantId"].as_str().unwrap().to_owned();
    let port = free_port();
    let _api = spawn(
        "cartback-api",
        &[
            ("DATABASE_URL", db.url.clone()),
            ("CARTBACK_BIND", format!("127.0.0.1:{port}")),
            ("CARTBACK_MAX_BODY_BYTES", (256 * 1024).to_string()),
            ("CARTBACK_HTTP_WORKERS", "1".to_owned()),
        ],
        &[],
    );
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_for("the api", Duration::from_secs(30), || {
        http.get(format!("{base}/healthz")).send().is_ok()
    });

    for case in cases() {
        let mut request = http
            .post(format!("{base}/api/v1/track"))
            .header("Content-Type", "application/json");
        match case.key {
            Some("secret") => request = request.header("X-API-Key", &secret),
            Some(other) => request = request.header("X-API-Key", other.as_bytes()),
            None => {}
        }
        request = match &case.body {
            Body::Json(v) => request.body(v.to_string()),
            Body::Raw(text) => request.body(*text),
            Body::Big(size) => request.body(format!("{{\"pad\":\"{}\"}}", "x".repeat(*size))),
        };
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().unwrap_or(Value::Null);
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
    let response = http.get(format!("{base}/api/v1/nope")).send().unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let store = Store::open(&db.url, 1).unwrap();
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
                let response = http
                    .post(format!("{base}/api/v1/track"))
                    .header("X-API-Key", &secret)
                    .body(body.to_string())
                    .send()
                    .unwrap();
                let status = response.status().as_u16();
                assert!(
                    matches!(status, 200 | 400 | 422),
                    "{status} for {path:?} = {value}: {}",
                    response.text().unwrap_or_default()
                );
            }
        }
    }

    // The server is still healthy and the good request works.
    assert!(
        http.get(format!("{base}/healthz"))
            .send()
            .unwrap()
            .status()
            .is_success()
    );
    let response = http
        .post(format!("{base}/api/v1/track"))
        .header("X-API-Key", &secret)
        .json(&good_cart())
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
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
    let db = TestDatabase::new(backend);
    let create = |name: &str| -> (String, String) {
        let out = run(
            "cartback",
            &[("DATABASE_URL", db.url.clone())],
            &["tenant", "create", "--name", name, "--json"],
        );
        let tenant: Value = serde_json::from_str(out.trim()).unwrap();
        (
            tenant["secretKey"].as_str().unwrap().to_owned(),
            tenant["tenantId"].as_str().unwrap().to_owned(),
        )
    };
    let (bad_secret, bad_id) = create("Extreme");
    let (good_secret, good_id) = create("Healthy");
    let port = free_port();
    let _api = spawn(
        "cartback-api",
        &[
            ("DATABASE_URL", db.url.clone()),
            ("CARTBACK_BIND", format!("127.0.0.1:{port}")),
            ("CARTBACK_HTTP_WORKERS", "1".to_owned()),
        ],
        &[],
    );
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_for("the api", Duration::from_secs(30), || {
        http.get(format!("{base}/healthz")).send().is_ok()
    });
    let fields = |body: &Value| -> Vec<String> {
        body["error"]["details"]
            .as_array()
            .map(|details| {
                details
                    .iter()
                    .filter_map(|d| d["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };

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
        let response = http
            .put(format!("{base}/api/v1/settings/recovery"))
            .header("X-API-Key", &bad_secret)
            .json(&json!({ "policy": policy }))
            .send()
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().unwrap();
        assert_eq!(status, 422, "{policy}: {body}");
        assert_eq!(body["error"]["code"], json!("VALIDATION_ERROR"));
        assert!(
            fields(&body).iter().any(|f| f == field),
            "{policy}: expected {field} in {body}"
        );
    }

    // Amounts past the bound are refused by name too.
    let huge_price = with(
        good_cart(),
        &["items", "0", "price"],
        json!(10_000_000_000_000u64),
    );
    let response = http
        .post(format!("{base}/api/v1/track"))
        .header("X-API-Key", &good_secret)
        .json(&huge_price)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let body: Value = response.json().unwrap();
    assert!(
        fields(&body).iter().any(|f| f == "items[0].price"),
        "{body}"
    );

    // A policy written before the bounds existed, straight into the row.
    let store = Store::open(&db.url, 1).unwrap();
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
        let response = http
            .post(format!("{base}/api/v1/track"))
            .header("X-API-Key", secret)
            .json(&good_cart())
            .send()
            .unwrap();
        let status = response.status().as_u16();
        assert_eq!(status, 200, "{}", response.text().unwrap_or_default());
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

/// Every string leaf of `body`, as a path of keys and indexes.
fn string_paths(value: &Value, path: &mut Vec<String>, found: &mut Vec<Vec<String>>) {
    match value {
        Value::String(_) => found.push(path.clone()),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                path.push(index.to_string());
                string_paths(item, path, found);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                path.push(key.clone());
                string_paths(item, path, found);
                path.pop();
            }
        }
        _ => {}
    }
}

fn with_nul(body: &Value, path: &[String]) -> Value {
    let mut body = body.clone();
    let mut target = &mut body;
    for key in path {
        target = match key.parse::<usize>() {
            Ok(index) if target.is_array() => &mut target[index],
            _ => &mut target[key.as_str()],
        };
    }
    let text = target.as_str().unwrap_or_default().to_owned();
    *target = Value::String(format!("{text}\u{0}x"));
    body
}

fn master_key() -> String {
    run("cartback", &[], &["keys", "generate-master"])
        .trim()
        .to_owned()
}

/// PostgreSQL cannot store U+0000 in text: every string of every JSON body, every
/// path id and every query parameter with a NUL is refused at the edge (422 or
/// 404), never a 500 from the database.
#[test]
fn nul_characters_never_reach_the_database_on_postgres() {
    let db = TestDatabase::new(Backend::Postgres);
    let tenant = cartback_testing::app::create_tenant(&db.url, "1h");
    let api = cartback_testing::app::Api::start(
        &db.url,
        &[
            ("CARTBACK_MASTER_KEY", master_key()),
            ("CARTBACK_RATE_LIMIT_KEY_PER_MINUTE", "0".to_owned()),
            ("CARTBACK_RATE_LIMIT_IP_PER_MINUTE", "0".to_owned()),
            ("CARTBACK_AUTH_CACHE_TTL", "0".to_owned()),
        ],
    );
    let key = tenant.secret.as_str();
    // Something to address by id.
    let (status, cart) = api.call(
        "PUT",
        "/api/v1/carts",
        key,
        Some(&json!({"externalId": "order-1", "currency": "USD",
            "items": [{"id": "sku_1", "name": "P", "price": 10, "quantity": 1}]})),
    );
    assert!(status == 201 || status == 200, "{status} {cart}");
    let cart_id = cart["data"]["id"].as_str().unwrap().to_owned();
    let (status, hook) = api.call(
        "POST",
        "/api/v1/webhook-endpoints",
        key,
        Some(&json!({"url": "https://hooks.example.com/a", "events": ["cart.abandoned"]})),
    );
    assert_eq!(status, 201, "{hook}");
    let hook_id = hook["id"].as_str().unwrap().to_owned();

    let item = json!({"id": "sku_2", "name": "Second", "price": 5, "quantity": 1,
        "imageUrl": "https://shop.example/i.png", "url": "https://shop.example/p"});
    let bodies: Vec<(&str, String, Value)> = vec![
        (
            "POST",
            "/api/v1/track".into(),
            json!({
            "event": "CART_UPDATE", "sessionId": "sess-nul", "currency": "USD",
            "customerEmail": "sam@example.com", "customerName": "Sam", "total": 5,
            "items": [item.clone()],
            "customAttributes": {"tier": {"stringValue": "gold"}}}),
        ),
        (
            "POST",
            "/api/v1/public/abandoned-carts".into(),
            json!({
            "sessionId": "sess-nul-public-000001", "email": "sam@example.com", "currency": "USD",
            "items": [item.clone()]}),
        ),
        (
            "PUT",
            "/api/v1/settings/allowed-origins".into(),
            json!({"origins": ["https://shop.example"]}),
        ),
        (
            "PUT",
            "/api/v1/carts".into(),
            json!({
            "externalId": "order-2", "sessionId": "sess-2", "currency": "USD",
            "customerEmail": "sam@example.com", "items": [item.clone()],
            "attributes": {"tier": {"stringValue": "gold"}}}),
        ),
        (
            "PATCH",
            format!("/api/v1/carts/{cart_id}"),
            json!({
            "customerEmail": "sam@example.com", "customerName": "Sam", "locale": "en"}),
        ),
        (
            "POST",
            format!("/api/v1/carts/{cart_id}/items"),
            item.clone(),
        ),
        (
            "POST",
            format!("/api/v1/carts/{cart_id}/payment-link"),
            json!({"note": "x"}),
        ),
        (
            "POST",
            "/api/v1/customers/erase".into(),
            json!({"email": "sam@example.com"}),
        ),
        (
            "POST",
            "/api/v1/templates/preview".into(),
            json!({
            "subject": "Hi", "html": "<p>x</p>", "text": "x", "locale": "en"}),
        ),
        (
            "PUT",
            "/api/v1/templates/reminder/en".into(),
            json!({
            "subject": "Hi", "html": "<p>x</p>", "text": "x"}),
        ),
        (
            "PUT",
            "/api/v1/settings/recovery".into(),
            json!({
            "timezone": "Europe/Paris", "attributionMode": "sent",
            "steps": [{"delay": "1h", "template": "reminder", "coupon": "SAVE10"}]}),
        ),
        (
            "POST",
            "/api/v1/suppressions".into(),
            json!({"email": "sam@example.com", "note": "asked"}),
        ),
        (
            "PUT",
            "/api/v1/email-provider".into(),
            json!({
            "kind": "resend", "apiKey": "re_123", "from": "shop@example.com", "replyTo": "a@example.com"}),
        ),
        (
            "POST",
            "/api/v1/email-provider/test".into(),
            json!({"to": "sam@example.com"}),
        ),
        (
            "POST",
            "/api/v1/webhook-endpoints".into(),
            json!({
            "url": "https://hooks.example.com/b", "events": ["cart.abandoned"], "description": "d"}),
        ),
        (
            "PATCH",
            format!("/api/v1/webhook-endpoints/{hook_id}"),
            json!({
            "url": "https://hooks.example.com/c", "events": ["cart.abandoned"], "description": "d"}),
        ),
        (
            "PUT",
            "/api/v1/integrations/stripe".into(),
            json!({
            "secretKey": "sk_test_1", "webhookSecret": "whsec_1",
            "successUrl": "https://shop.example/ok", "cancelUrl": "https://shop.example/no"}),
        ),
    ];
    let mut swept = 0;
    for (method, path, body) in &bodies {
        let mut leaves = Vec::new();
        string_paths(body, &mut Vec::new(), &mut leaves);
        assert!(!leaves.is_empty(), "{path}");
        for leaf in leaves {
            let bad = with_nul(body, &leaf);
            let key = if path.contains("/public/") {
                tenant.publishable.as_str()
            } else {
                key
            };
            let (status, answer) = api.call(method, path, key, Some(&bad));
            assert!(status < 500, "{method} {path} {leaf:?}: {status} {answer}");
            if !path.contains("/public/") {
                assert_eq!(status, 422, "{method} {path} {leaf:?}: {answer}");
                assert_eq!(answer["error"]["code"], "VALIDATION_ERROR", "{answer}");
                let field = answer["error"]["details"][0]["field"].as_str().unwrap();
                let mut expected = String::new();
                for part in &leaf {
                    match part.parse::<usize>() {
                        Ok(index) => expected.push_str(&format!("[{index}]")),
                        Err(_) if expected.is_empty() => expected.push_str(part),
                        Err(_) => expected.push_str(&format!(".{part}")),
                    }
                }
                assert_eq!(field, expected, "{method} {path}");
            }
            swept += 1;
        }
        // A NUL inside a key is refused too.
        let mut keyed = body.clone();
        if let Some(map) = keyed.as_object_mut() {
            map.insert("bad\u{0}key".into(), json!(1));
        }
        let (status, answer) = api.call(method, path, key, Some(&keyed));
        assert!(status < 500, "{method} {path} key: {status} {answer}");
    }
    assert!(swept > 40, "{swept}");

    let paths = [
        ("GET", "/api/v1/carts/%00".to_owned()),
        ("GET", "/api/v1/carts/a%00b".to_owned()),
        ("PATCH", "/api/v1/carts/%00".to_owned()),
        ("DELETE", "/api/v1/carts/%00".to_owned()),
        ("GET", "/api/v1/carts/%00/history".to_owned()),
        ("GET", "/api/v1/carts/%00/timeline".to_owned()),
        ("GET", "/api/v1/carts/%00/items".to_owned()),
        ("DELETE", format!("/api/v1/carts/{cart_id}/items/%00")),
        ("GET", "/api/v1/carts/restore/%00".to_owned()),
        ("GET", "/api/v1/templates/%00/en".to_owned()),
        ("DELETE", "/api/v1/suppressions/%00".to_owned()),
        ("GET", "/api/v1/webhook-endpoints/%00".to_owned()),
        ("DELETE", "/api/v1/webhook-endpoints/%00".to_owned()),
        (
            "GET",
            format!("/api/v1/webhook-endpoints/{hook_id}/deliveries/%00"),
        ),
        ("POST", "/api/v1/integrations/stripe/webhook/%00".to_owned()),
        ("GET", "/r/%00".to_owned()),
        ("GET", "/u/%00".to_owned()),
    ];
    for (method, path) in paths {
        let (status, answer) = api.call(method, &path, key, None);
        assert_eq!(status, 404, "{method} {path}: {answer}");
        assert_eq!(
            answer["error"]["code"], "NOT_FOUND",
            "{method} {path}: {answer}"
        );
    }
    let queries = [
        ("/api/v1/carts?email=%00", "email"),
        ("/api/v1/carts?status=active&q=a%00", "q"),
        ("/api/v1/analytics?from=%00", "from"),
        ("/api/v1/stats/carts?tz=%00", "tz"),
        ("/api/v1/suppressions?email=%00", "email"),
        ("/api/v1/webhook-endpoints?x%00=1", "x\\u0000"),
    ];
    for (path, field) in queries {
        let (status, answer) = api.call("GET", path, key, None);
        assert_eq!(status, 422, "{path}: {answer}");
        assert_eq!(
            answer["error"]["details"][0]["field"], field,
            "{path}: {answer}"
        );
    }
}

/// 40 parallel calls, one per thread; the statuses and answers.
fn in_parallel(
    api: &cartback_testing::app::Api,
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
    let db = TestDatabase::new(backend);
    let tenant = cartback_testing::app::create_tenant(&db.url, "1h");
    let api = cartback_testing::app::Api::start(
        &db.url,
        &[
            ("CARTBACK_MASTER_KEY", master_key()),
            ("CARTBACK_RATE_LIMIT_KEY_PER_MINUTE", "0".to_owned()),
            ("CARTBACK_HTTP_WORKERS", "4".to_owned()),
            ("CARTBACK_DB_POOL_SIZE", "16".to_owned()),
        ],
    );
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

/// A known path asked with a method it does not serve is a 405 naming the ones it
/// does; an unknown path stays a 404. A client that stalls mid-body gets a 408
/// after `CARTBACK_BODY_READ_TIMEOUT` and its connection closed.
#[test]
fn wrong_methods_and_stalled_bodies() {
    use std::io::{Read, Write};

    let db = TestDatabase::new(Backend::Sqlite);
    let tenant = cartback_testing::app::create_tenant(&db.url, "1h");
    let api = cartback_testing::app::Api::start(
        &db.url,
        &[("CARTBACK_BODY_READ_TIMEOUT", "1s".to_owned())],
    );
    let key = tenant.secret.as_str();
    for (method, path, allow) in [
        ("DELETE", "/api/v1/track", "OPTIONS, POST"),
        ("POST", "/api/v1/carts/abc", "DELETE, GET, PATCH"),
        ("PUT", "/api/v1/suppressions", "GET, POST"),
        ("POST", "/healthz", "GET"),
    ] {
        let response = api
            .http
            .request(method.parse().unwrap(), format!("{}{path}", api.base))
            .header("X-API-Key", key)
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 405, "{method} {path}");
        assert_eq!(
            response.headers()["allow"].to_str().unwrap(),
            allow,
            "{method} {path}"
        );
        let body: Value = response.json().unwrap();
        assert_eq!(body["error"]["code"], "METHOD_NOT_ALLOWED");
    }
    let (status, body) = api.call("GET", "/api/v1/no-such-thing", key, None);
    assert_eq!(status, 404, "{body}");

    let address = api.base.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /api/v1/track HTTP/1.1\r\nHost: {address}\r\nX-API-Key: {key}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"event\":"
    )
    .unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("REQUEST_TIMEOUT"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    // The server is still serving.
    let (status, _) = api.call("GET", "/api/v1/carts", key, None);
    assert_eq!(status, 200);
}

/// Malformed HTTP is the client's fault: answered 400 and not logged as an
/// ERROR at the default log level.
#[test]
fn malformed_http_is_not_an_error_in_the_log() {
    use std::io::{Read, Write};

    let db = TestDatabase::new(Backend::Sqlite);
    let _ = cartback_testing::app::create_tenant(&db.url, "1h");
    let port = free_port();
    let log_path = std::env::temp_dir().join(format!("cartback-malformed-{port}.log"));
    let log = std::fs::File::create(&log_path).unwrap();
    let child = cartback_testing::process::command(
        "cartback-api",
        &[
            ("DATABASE_URL", db.url.clone()),
            ("CARTBACK_BIND", format!("127.0.0.1:{port}")),
            ("CARTBACK_LOG", "info".to_owned()),
        ],
        &[],
    )
    .stdout(std::process::Stdio::null())
    .stderr(log)
    .spawn()
    .unwrap();
    let mut api = cartback_testing::process::Running {
        child,
        name: "cartback-api".into(),
    };
    let http = reqwest::blocking::Client::new();
    wait_for("the api", Duration::from_secs(30), || {
        http.get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .is_ok_and(|r| r.status().is_success())
    });
    for garbage in [
        "GARBAGE\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
        "GET /\0 HTTP/1.1\r\n\r\n",
    ] {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(garbage.as_bytes()).unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 400"), "{garbage:?}: {answer}");
    }
    api.terminate();
    let logged = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_file(&log_path);
    assert!(logged.contains("api listening"), "{logged}");
    assert!(!logged.contains("ERROR"), "{logged}");
}
