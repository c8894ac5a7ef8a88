//! Every 4xx a client can provoke on /api/v1/track, against the real api binary:
//! the right status and code, the failing field named, and nothing written.

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
            .json(&json!({ "policy": policy, "email": {} }))
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

/// `$ref`s of the document resolved, one level at a time.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            resolve(doc, doc.pointer(pointer).unwrap_or(&Value::Null))
        }
        None => schema,
    }
}

/// A value of `schema` with every property present (and every alternative of a
/// `oneOf`/`anyOf` merged in), so that each string field the document declares
/// is a leaf of it. Not necessarily valid: only where the strings sit matters.
fn skeleton(doc: &Value, schema: &Value, depth: usize) -> Value {
    let schema = resolve(doc, schema);
    if depth > 8 {
        return Value::Null;
    }
    let mut merged = serde_json::Map::new();
    let mut other = None;
    for key in ["allOf", "oneOf", "anyOf"] {
        for alternative in schema[key].as_array().into_iter().flatten() {
            match skeleton(doc, alternative, depth + 1) {
                Value::Object(map) => merged.extend(map),
                Value::Null => {}
                value => other = other.or(Some(value)),
            }
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ if schema["properties"].is_object() => vec!["object"],
        _ => vec![],
    };
    let kind = types.iter().copied().find(|t| *t != "null");
    match kind {
        Some("object") => {
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                merged.insert(name.clone(), skeleton(doc, property, depth + 1));
            }
            if schema["additionalProperties"].is_object() {
                merged.insert(
                    "someKey".to_owned(),
                    skeleton(doc, &schema["additionalProperties"], depth + 1),
                );
            }
            Value::Object(merged)
        }
        Some("array") => Value::Array(vec![skeleton(doc, &schema["items"], depth + 1)]),
        Some("string") => json!("x"),
        Some("integer" | "number") => json!(1),
        Some("boolean") => json!(true),
        _ if !merged.is_empty() => Value::Object(merged),
        _ => other.unwrap_or(Value::Null),
    }
}

/// `items[0].name`: how the api names a JSON path in `details`.
fn field_name(path: &[String]) -> String {
    let mut name = String::new();
    for part in path {
        match part.parse::<usize>() {
            Ok(index) => name.push_str(&format!("[{index}]")),
            Err(_) if name.is_empty() => name.push_str(part),
            Err(_) => name.push_str(&format!(".{part}")),
        }
    }
    name
}

/// A refusal in the error envelope: 4xx, `success: false`, a code.
fn assert_refused(what: &str, status: u16, answer: &Value) {
    assert!((400..500).contains(&status), "{what}: {status} {answer}");
    assert_eq!(answer["success"], json!(false), "{what}: {status} {answer}");
    assert!(answer["error"]["code"].is_string(), "{what}: {answer}");
}

/// PostgreSQL cannot store U+0000 in text. Driven by the served /openapi.json,
/// so a new endpoint is swept without touching this test: every string field of
/// every documented JSON body, every path parameter and every query parameter
/// of every operation, with a NUL, is refused in the error envelope (a 422
/// naming the field or parameter, a 404 for a path), never a 5xx.
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
    let secret = tenant.secret.as_str();
    // Real objects, so a path parameter not under test names something that
    // exists and each request reaches as far into its handler as it can.
    let (status, cart) = api.call(
        "PUT",
        "/api/v1/carts",
        secret,
        Some(&json!({"externalId": "order-1", "currency": "USD",
            "items": [{"id": "sku_1", "name": "P", "price": 10, "quantity": 1}]})),
    );
    assert!(status == 201 || status == 200, "{status} {cart}");
    let cart_id = cart["data"]["id"].as_str().unwrap().to_owned();
    let (status, hook) = api.call(
        "POST",
        "/api/v1/webhook-endpoints",
        secret,
        Some(&json!({"url": "https://hooks.example.com/a", "events": ["cart.abandoned"]})),
    );
    assert_eq!(status, 201, "{hook}");
    let hook_id = hook["id"].as_str().unwrap().to_owned();
    let real = |path: &str, name: &str| -> String {
        match name {
            "id" if path.contains("webhook-endpoints") => hook_id.clone(),
            "id" => cart_id.clone(),
            "item_id" => "sku_1".to_owned(),
            "tenant_id" => tenant.id.clone(),
            "name" => "reminder".to_owned(),
            "locale" => "en".to_owned(),
            "email" => "sam@example.com".to_owned(),
            _ => "x".to_owned(),
        }
    };

    let response = api
        .http
        .get(format!("{}/openapi.json", api.base))
        .send()
        .unwrap();
    let doc: Value = response.json().unwrap();
    let (mut operations, mut bodies, mut leaves, mut path_params, mut query_params) =
        (0, 0, 0, 0, 0);
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !["get", "put", "post", "patch", "delete", "options"].contains(&method.as_str()) {
                continue;
            }
            operations += 1;
            let method = method.to_ascii_uppercase();
            let roles = operation["security"].to_string();
            // A route for the browser key only gets that key; every other one
            // the secret key (routes without a key ignore it).
            let key = if roles.contains("publishable") && !roles.contains("secret") {
                tenant.publishable.as_str()
            } else {
                secret
            };
            let parameters: Vec<&Value> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| resolve(&doc, p))
                .collect();
            let fill = |nul_in: Option<&str>| -> String {
                let mut path = template.clone();
                for p in parameters.iter().filter(|p| p["in"] == "path") {
                    let name = p["name"].as_str().unwrap();
                    let value = if nul_in == Some(name) {
                        format!("{}%00x", real(template, name))
                    } else {
                        real(template, name)
                    };
                    path = path.replace(&format!("{{{name}}}"), &value);
                }
                path
            };

            for p in parameters.iter().filter(|p| p["in"] == "path") {
                let name = p["name"].as_str().unwrap();
                let path = fill(Some(name));
                let what = format!("{method} {path}");
                let (status, answer) = api.call(&method, &path, key, None);
                assert_refused(&what, status, &answer);
                assert_eq!(status, 404, "{what}: {answer}");
                path_params += 1;
            }
            for p in parameters.iter().filter(|p| p["in"] == "query") {
                let name = p["name"].as_str().unwrap();
                let path = format!("{}?{name}=a%00", fill(None));
                let what = format!("{method} {path}");
                let (status, answer) = api.call(&method, &path, key, None);
                assert_refused(&what, status, &answer);
                assert_eq!(status, 422, "{what}: {answer}");
                assert_eq!(
                    answer["error"]["details"][0]["field"],
                    json!(name),
                    "{what}"
                );
                query_params += 1;
            }

            let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
            if schema.is_null() {
                continue;
            }
            bodies += 1;
            let body = skeleton(&doc, schema, 0);
            let path = fill(None);
            let mut found = Vec::new();
            string_paths(&body, &mut Vec::new(), &mut found);
            for leaf in &found {
                let bad = with_nul(&body, leaf);
                let field = field_name(leaf);
                let what = format!("{method} {path} {field}");
                let (status, answer) = api.call(&method, &path, key, Some(&bad));
                assert_refused(&what, status, &answer);
                // Open routes (`security: []`, Stripe's intake) judge their
                // own credentials first: the intake's signature is a 400.
                if operation["security"] != json!([]) {
                    assert_eq!(status, 422, "{what}: {answer}");
                    assert_eq!(
                        answer["error"]["details"][0]["field"],
                        json!(field),
                        "{what}"
                    );
                }
                leaves += 1;
            }
            // A NUL inside a key is refused too.
            let mut keyed = body.clone();
            if let Some(map) = keyed.as_object_mut() {
                map.insert("bad\u{0}key".into(), json!(1));
            }
            let (status, answer) = api.call(&method, &path, key, Some(&keyed));
            assert_refused(&format!("{method} {path} key"), status, &answer);
        }
    }
    // The document really was walked: ~60 operations, ~20 JSON bodies.
    assert!(operations > 50, "{operations}");
    assert!(bodies > 15, "{bodies}");
    assert!(leaves > 80, "{leaves}");
    assert!(path_params > 25, "{path_params}");
    assert!(query_params > 10, "{query_params}");

    // A query parameter the document does not declare is named too.
    let (status, answer) = api.call("GET", "/api/v1/webhook-endpoints?x%00=1", secret, None);
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["details"][0]["field"], "x\\u0000");
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
