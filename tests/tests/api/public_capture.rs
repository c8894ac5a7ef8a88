//! Browser-side capture against the real api: the litecommerce-shaped public
//! endpoint with a publishable key (header, Bearer, `?key=`, text/plain bodies),
//! its validation, the publishable-key rule on every merchant route, CORS per
//! tenant, and the tracker script (served, then run under node).

use std::process::Command;

use serde_json::{Value, json};

use cartback_store::carts::find_cart_by_session;
use cartback_store::{Backend, Store};
use cartback_testing::TestDatabase;
use cartback_testing::app::{Api, Tenant, create_tenant, error_fields};

const CAPTURE: &str = "/api/v1/public/abandoned-carts";

fn snapshot_body(session: &str, quantity: u32, email: Option<&str>) -> Value {
    let mut body = json!({
        "sessionId": session,
        "snapshot": {
            "items": [{
                "itemId": "pack", "variantId": "38l", "name": "Trail Pack 38L",
                "quantity": quantity, "unitPriceInCents": 18900,
                "imageUrl": "https://shop.example/pack.jpg"
            }],
            "subtotalInCents": 18900 * quantity,
            "totalInCents": 18900 * quantity,
            "currency": "USD"
        }
    });
    if let Some(email) = email {
        body["email"] = json!(email);
        body["name"] = json!("Dana");
    }
    body
}

/// POST to `path` with the given headers and raw body: (status, headers, JSON or Null).
fn post_raw(
    api: &Api,
    path: &str,
    headers: &[(&str, &str)],
    body: String,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = api.http.post(format!("{}{path}", api.base)).body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().unwrap_or(Value::Null))
}

fn capture(api: &Api, key: &str, body: &Value) -> (u16, Value) {
    let (status, _, answer) = post_raw(
        api,
        CAPTURE,
        &[("X-API-Key", key), ("Content-Type", "application/json")],
        body.to_string(),
    );
    (status, answer)
}

fn stored(db: &TestDatabase, tenant: &Tenant, session: &str) -> cartback_store::carts::CartRow {
    let store = Store::open(&db.url, 1).unwrap();
    find_cart_by_session(&mut store.conn().unwrap(), &tenant.id, session)
        .unwrap()
        .expect("the cart is stored")
}

fn capture_scenario(backend: Backend) {
    let db = TestDatabase::new(backend);
    let tenant = create_tenant(&db.url, "1h");
    let api = Api::start(&db.url, &[]);

    // Created, then updated: one row per session.
    let (status, answer) = capture(
        &api,
        &tenant.publishable,
        &snapshot_body("sess_0001_7f3a9c", 1, None),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"ok": true, "wasCreated": true}));
    let body = snapshot_body("sess_0001_7f3a9c", 2, Some("dana@example.com"));
    let (status, answer) = capture(&api, &tenant.publishable, &body);
    assert_eq!(status, 200, "{answer}");
    // Exactly these two fields: no cart id, no email.
    assert_eq!(answer, json!({"ok": true, "wasCreated": false}));
    let row = stored(&db, &tenant, "sess_0001_7f3a9c");
    assert_eq!(row.total_minor, 37_800);
    assert_eq!(row.currency, "USD");
    assert_eq!(row.customer_email.as_deref(), Some("dana@example.com"));
    assert_eq!(row.customer_name.as_deref(), Some("Dana"));
    assert_eq!(row.status.as_str(), "active");
    let items: Value = serde_json::to_value(&row.items).unwrap();
    // The variant is kept beside the product's id, not folded into it.
    assert_eq!(items[0]["id"], "pack");
    assert_eq!(items[0]["variantId"], "38l");
    assert_eq!(items[0]["unitPriceMinor"], 18_900);
    assert_eq!(items[0]["quantity"], 2);
    // An update without the email keeps it.
    let (status, _) = capture(
        &api,
        &tenant.publishable,
        &snapshot_body("sess_0001_7f3a9c", 3, None),
    );
    assert_eq!(status, 200);
    let row = stored(&db, &tenant, "sess_0001_7f3a9c");
    assert_eq!(row.total_minor, 56_700);
    assert_eq!(row.customer_email.as_deref(), Some("dana@example.com"));

    // Authorization: Bearer works too; so does a secret key from a server.
    let (status, _, answer) = post_raw(
        &api,
        CAPTURE,
        &[("Authorization", &format!("Bearer {}", tenant.publishable))],
        snapshot_body("sess_bearer_7f3a9c", 1, None).to_string(),
    );
    assert_eq!((status, answer["wasCreated"].clone()), (200, json!(true)));
    let (status, _) = capture(
        &api,
        &tenant.secret,
        &snapshot_body("sess_server_7f3a9c", 1, None),
    );
    assert_eq!(status, 200);

    // sendBeacon: text/plain, the key in the query string, no headers.
    let beacon = snapshot_body("sess_beacon_1_7f3a9c", 1, Some("beacon@example.com")).to_string();
    let (status, _, answer) = post_raw(
        &api,
        &format!("{CAPTURE}?key={}", tenant.publishable),
        &[("Content-Type", "text/plain;charset=UTF-8")],
        beacon.clone(),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"ok": true, "wasCreated": true}));
    assert_eq!(
        stored(&db, &tenant, "sess_beacon_1_7f3a9c")
            .customer_email
            .as_deref(),
        Some("beacon@example.com")
    );
    // A secret key never travels in a URL; no key at all is a 401.
    for path in [
        format!("{CAPTURE}?key={}", tenant.secret),
        CAPTURE.to_owned(),
    ] {
        let (status, _, answer) = post_raw(&api, &path, &[], beacon.clone());
        assert_eq!(status, 401, "{path}: {answer}");
        assert_eq!(answer["error"]["code"], "UNAUTHORIZED");
    }
    let (status, _, _) = post_raw(&api, &format!("{CAPTURE}?key=pk_nope"), &[], beacon);
    assert_eq!(status, 401);

    // Amounts are whole cents: a fraction or a string is a 422 naming the
    // field, never a 500 (`18900.0` is whole: document_edges.rs).
    for amount in [json!(189.5), json!("18900")] {
        let mut body = snapshot_body("sess_cents_7f3a9c", 1, None);
        body["snapshot"]["items"][0]["unitPriceInCents"] = amount.clone();
        body["snapshot"]["totalInCents"] = amount.clone();
        let (status, answer) = capture(&api, &tenant.publishable, &body);
        assert_eq!(status, 422, "{amount}: {answer}");
        assert_eq!(answer["success"], false);
        assert_eq!(answer["error"]["code"], "VALIDATION_ERROR");
        assert_eq!(
            error_fields(&answer),
            [
                "snapshot.items[0].unitPriceInCents",
                "snapshot.totalInCents"
            ],
            "{amount}"
        );
    }
    // A fraction written with an exponent is still a fraction (`1.0e2`, a
    // whole 100, is taken: JSON Schema counts it an integer).
    let raw_decimal = r#"{"sessionId":"sess_cents_7f3a9c","snapshot":{"items":[{"name":"A","quantity":1,"unitPriceInCents":1.5e0}]}}"#;
    let (status, _, answer) = post_raw(
        &api,
        CAPTURE,
        &[("X-API-Key", &tenant.publishable)],
        raw_decimal.to_owned(),
    );
    assert_eq!(status, 422, "{answer}");

    // sessionId: 16 to 200 characters with the publishable key (a guessable id
    // would let anyone overwrite a shopper's cart), 8 to 200 with the secret key.
    for (key, session, expected) in [
        (&tenant.publishable, "p".repeat(15), 422),
        (&tenant.publishable, "p".repeat(16), 200),
        (&tenant.publishable, "p".repeat(200), 200),
        (&tenant.publishable, "p".repeat(201), 422),
        (&tenant.secret, "s".repeat(7), 422),
        (&tenant.secret, "s".repeat(8), 200),
        (&tenant.secret, "s".repeat(201), 422),
    ] {
        let (status, answer) = capture(&api, key, &snapshot_body(&session, 1, None));
        assert_eq!(status, expected, "{} characters: {answer}", session.len());
        if expected == 422 {
            assert_eq!(error_fields(&answer), ["sessionId"]);
        }
    }

    // Other bad input: named fields, or a 400 for what is not JSON.
    let (status, answer) = capture(
        &api,
        &tenant.publishable,
        &json!({"sessionId": "sess_bad_input_7f3a9c", "snapshot": {"items": [{"quantity": 1}]}, "email": "nope"}),
    );
    assert_eq!(status, 422);
    assert_eq!(
        error_fields(&answer),
        [
            "snapshot.items[0].name",
            "snapshot.items[0].unitPriceInCents",
            "email"
        ]
    );
    let (status, _, answer) = post_raw(
        &api,
        CAPTURE,
        &[("X-API-Key", &tenant.publishable)],
        "{not json".to_owned(),
    );
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (400, json!("BAD_REQUEST"))
    );
}

#[test]
fn capture_creates_then_updates_on_sqlite() {
    capture_scenario(Backend::Sqlite);
}

#[test]
fn capture_creates_then_updates_on_postgres() {
    capture_scenario(Backend::Postgres);
}

/// Item links as a phisher would send them with the public key, and as the
/// shop's own pages do.
fn linked_items() -> Value {
    json!([
        {"name": "Off-origin", "url": "https://evil.example/login",
         "imageUrl": "https://cdn.evil.example/x.png"},
        {"name": "Allowed origin and recovery host", "url": "https://www.shop.example/p/1",
         "imageUrl": "https://shop.example/img/1.jpg"},
        {"name": "Disguised", "url": "https://shop.example@evil.example/",
         "imageUrl": "http://shop.example/img/2.jpg"},
        {"name": "Allowed http origin", "url": "http://localhost:3000/p/3"},
    ])
}

/// The stored item links of a session's cart: (url, imageUrl) per line.
fn stored_links(
    db: &TestDatabase,
    tenant: &Tenant,
    session: &str,
) -> Vec<(Option<String>, Option<String>)> {
    let items: Value = serde_json::to_value(&stored(db, tenant, session).items).unwrap();
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let text = |field: &str| item[field].as_str().map(str::to_owned);
            (text("url"), text("imageUrl"))
        })
        .collect()
}

fn some(text: &str) -> Option<String> {
    Some(text.to_owned())
}

/// With the publishable key, item links outside the tenant's allowed origins
/// and its recovery URL's host are dropped and reported; the secret key's are
/// kept. Short session ids are refused for pk_ on /track, accepted for sk_.
fn publishable_links_scenario(backend: Backend) {
    let db = TestDatabase::new(backend);
    // Its recovery URL is https://shop.example/cart.
    let tenant = create_tenant(&db.url, "1h");
    let api = Api::start(&db.url, &[]);
    let (status, _) = api.call(
        "PUT",
        "/api/v1/settings/allowed-origins",
        &tenant.secret,
        Some(&json!({"allowedOrigins": ["https://www.shop.example", "http://localhost:3000"]})),
    );
    assert_eq!(status, 200);
    let kept_by_pk = vec![
        (None, None),
        (
            some("https://www.shop.example/p/1"),
            some("https://shop.example/img/1.jpg"),
        ),
        (None, None),
        (some("http://localhost:3000/p/3"), None),
    ];
    let all_kept = vec![
        (
            some("https://evil.example/login"),
            some("https://cdn.evil.example/x.png"),
        ),
        (
            some("https://www.shop.example/p/1"),
            some("https://shop.example/img/1.jpg"),
        ),
        (
            some("https://shop.example@evil.example/"),
            some("http://shop.example/img/2.jpg"),
        ),
        (some("http://localhost:3000/p/3"), None),
    ];
    let dropped = |prefix: &str| {
        vec![
            format!("{prefix}[0].url"),
            format!("{prefix}[0].imageUrl"),
            format!("{prefix}[2].url"),
            format!("{prefix}[2].imageUrl"),
        ]
    };
    let warned = |answer: &Value| -> Vec<String> {
        answer["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap().split(' ').next().unwrap().to_owned())
            .collect()
    };

    // Public capture.
    let capture_body = |session: &str| {
        let items: Vec<Value> = linked_items()
            .as_array()
            .unwrap()
            .iter()
            .map(|item| {
                let mut item = item.clone();
                item["quantity"] = json!(1);
                item["unitPriceInCents"] = json!(500);
                item
            })
            .collect();
        json!({"sessionId": session, "email": "victim@example.com",
               "snapshot": {"items": items, "currency": "USD"}})
    };
    let session = "links_capture_pk_0001";
    let (status, answer) = capture(&api, &tenant.publishable, &capture_body(session));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ok"], true);
    assert_eq!(answer["wasCreated"], true);
    assert_eq!(answer["droppedLinks"], 4, "{answer}");
    assert_eq!(warned(&answer), dropped("snapshot.items"));
    assert_eq!(stored_links(&db, &tenant, session), kept_by_pk);
    let session = "links_capture_sk_0001";
    let (status, answer) = capture(&api, &tenant.secret, &capture_body(session));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"ok": true, "wasCreated": true}));
    assert_eq!(stored_links(&db, &tenant, session), all_kept);

    // /track (Retake's item shape, `productUrl` and `image` spellings included).
    let track_body = |session: &str| {
        let items: Vec<Value> = linked_items()
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let mut item = item.clone();
                item["id"] = json!(format!("sku_{i}"));
                item["price"] = json!(5);
                item["quantity"] = json!(1);
                if i == 1 {
                    let url = item.as_object_mut().unwrap().remove("url").unwrap();
                    item["productUrl"] = url;
                }
                item
            })
            .collect();
        json!({"event": "CART_UPDATE", "sessionId": session, "items": items,
               "customerEmail": "victim@example.com"})
    };
    let session = "links_track_pk_00001";
    let (status, answer) = api.track(&tenant.publishable, &track_body(session));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["success"], true);
    assert!(answer["cartId"].as_str().unwrap().starts_with("cart_"));
    assert!(answer["scheduledAt"].is_string(), "{answer}");
    assert_eq!(answer["droppedLinks"], 4, "{answer}");
    assert_eq!(warned(&answer), dropped("items"));
    assert_eq!(stored_links(&db, &tenant, session), kept_by_pk);
    let session = "links_track_sk_00001";
    let (status, answer) = api.track(&tenant.secret, &track_body(session));
    assert_eq!(status, 200, "{answer}");
    let mut fields: Vec<&String> = answer.as_object().unwrap().keys().collect();
    fields.sort();
    assert_eq!(
        fields,
        ["cartId", "scheduledAt", "success"],
        "Retake's answer"
    );
    assert_eq!(stored_links(&db, &tenant, session), all_kept);

    // Nothing dropped: the answer is exactly what it was.
    let (status, answer) = api.track(
        &tenant.publishable,
        &cartback_testing::app::cart_update("links_track_plain_01", None),
    );
    assert_eq!(status, 200);
    assert!(answer.get("droppedLinks").is_none() && answer.get("warnings").is_none());

    // A short session id: refused for pk_, as before for sk_.
    let short = cartback_testing::app::cart_update("s-123456789abcd", None);
    let (status, answer) = api.track(&tenant.publishable, &short);
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["code"], "VALIDATION_ERROR");
    assert_eq!(error_fields(&answer), ["sessionId"]);
    assert!(stored_opt(&db, &tenant, "s-123456789abcd").is_none());
    let (status, answer) = api.track(&tenant.secret, &short);
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = api.track(
        &tenant.secret,
        &cartback_testing::app::cart_update("1", None),
    );
    assert_eq!(status, 200, "{answer}");
    // Every problem still named at once, the session among them.
    let mut bad = cartback_testing::app::cart_update("short", None);
    bad["currency"] = json!("NOPE");
    let (status, answer) = api.track(&tenant.publishable, &bad);
    assert_eq!(status, 422);
    let mut fields = error_fields(&answer);
    fields.sort();
    assert_eq!(fields, ["currency", "sessionId"], "{answer}");
}

fn stored_opt(
    db: &TestDatabase,
    tenant: &Tenant,
    session: &str,
) -> Option<cartback_store::carts::CartRow> {
    let store = Store::open(&db.url, 1).unwrap();
    find_cart_by_session(&mut store.conn().unwrap(), &tenant.id, session).unwrap()
}

#[test]
fn publishable_links_and_sessions_on_sqlite() {
    publishable_links_scenario(Backend::Sqlite);
}

#[test]
fn publishable_links_and_sessions_on_postgres() {
    publishable_links_scenario(Backend::Postgres);
}

/// Every merchant route (from crates/cartback-api/src/lib.rs), with a body when
/// it takes one. Not here: /track (a publishable key may send CART_UPDATE),
/// /carts/restore/{token} (restoring a cart in the shop is the publishable
/// key's job), the Stripe webhook intake (Stripe's signature, no key) and the
/// public capture endpoint.
const MERCHANT_ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/settings/allowed-origins"),
    ("PUT", "/api/v1/settings/allowed-origins"),
    ("GET", "/api/v1/carts/cart_missing/history"),
    ("GET", "/api/v1/analytics"),
    ("GET", "/api/v1/stats/carts"),
    ("GET", "/api/v1/carts"),
    ("PUT", "/api/v1/carts"),
    ("GET", "/api/v1/carts/cart_missing"),
    ("PATCH", "/api/v1/carts/cart_missing"),
    ("DELETE", "/api/v1/carts/cart_missing"),
    ("POST", "/api/v1/carts/cart_missing/erase"),
    ("GET", "/api/v1/carts/cart_missing/items"),
    ("POST", "/api/v1/carts/cart_missing/items"),
    ("DELETE", "/api/v1/carts/cart_missing/items/sku_1"),
    ("GET", "/api/v1/carts/cart_missing/timeline"),
    ("POST", "/api/v1/templates/preview"),
    ("GET", "/api/v1/templates"),
    ("GET", "/api/v1/templates/mine/en"),
    ("PUT", "/api/v1/templates/mine/en"),
    ("DELETE", "/api/v1/templates/mine/en"),
    ("GET", "/api/v1/settings/recovery"),
    ("PUT", "/api/v1/settings/recovery"),
    ("PATCH", "/api/v1/settings/recovery"),
    ("GET", "/api/v1/settings/shop"),
    ("PUT", "/api/v1/settings/shop"),
    ("PATCH", "/api/v1/settings/shop"),
    ("GET", "/api/v1/settings/languages"),
    ("PUT", "/api/v1/settings/languages"),
    ("GET", "/api/v1/suppressions"),
    ("POST", "/api/v1/suppressions"),
    ("DELETE", "/api/v1/suppressions/someone@example.com"),
    ("PUT", "/api/v1/email-provider"),
    ("GET", "/api/v1/email-provider"),
    ("DELETE", "/api/v1/email-provider"),
    ("POST", "/api/v1/email-provider/test"),
    ("POST", "/api/v1/webhook-endpoints"),
    ("GET", "/api/v1/webhook-endpoints"),
    ("GET", "/api/v1/webhook-endpoints/we_missing"),
    ("PATCH", "/api/v1/webhook-endpoints/we_missing"),
    ("DELETE", "/api/v1/webhook-endpoints/we_missing"),
    ("POST", "/api/v1/webhook-endpoints/we_missing/rotate-secret"),
    ("GET", "/api/v1/webhook-endpoints/we_missing/deliveries"),
    (
        "GET",
        "/api/v1/webhook-endpoints/we_missing/deliveries/wd_missing",
    ),
    (
        "POST",
        "/api/v1/webhook-endpoints/we_missing/deliveries/wd_missing/replay",
    ),
    ("PUT", "/api/v1/integrations/stripe"),
    ("PATCH", "/api/v1/integrations/stripe"),
    ("GET", "/api/v1/integrations/stripe"),
    ("DELETE", "/api/v1/integrations/stripe"),
    ("POST", "/api/v1/carts/cart_missing/payment-link"),
];

/// (status, headers, JSON) of a call with `key` and an `Origin`, `{}` as the body
/// of methods that take one.
fn merchant_call(
    api: &Api,
    method: &str,
    path: &str,
    key: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = api
        .http
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", api.base),
        )
        .header("X-API-Key", key)
        .header("Origin", "https://shop.example");
    if matches!(method, "POST" | "PUT" | "PATCH") {
        request = request
            .header("Content-Type", "application/json")
            .body("{}");
    }
    let response = request.send().expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().unwrap_or(Value::Null))
}

#[test]
fn publishable_keys_are_refused_on_every_merchant_route() {
    let db = TestDatabase::new(Backend::Sqlite);
    let tenant = create_tenant(&db.url, "1h");
    let api = Api::start(&db.url, &[]);
    let (status, _) = api.call(
        "PUT",
        "/api/v1/settings/allowed-origins",
        &tenant.secret,
        Some(&json!({"allowedOrigins": ["https://shop.example"]})),
    );
    assert_eq!(status, 200);
    let mut wrong = Vec::new();
    for (method, path) in MERCHANT_ROUTES {
        let (status, headers, answer) = merchant_call(&api, method, path, &tenant.publishable);
        if status != 403 || answer["error"]["code"] != "FORBIDDEN" {
            wrong.push(format!("{method} {path} with pk: {status} {answer}"));
        }
        // Merchant routes never answer with CORS headers.
        if headers.contains_key("access-control-allow-origin") {
            wrong.push(format!("{method} {path} sent CORS headers"));
        }
        let (status, headers, answer) = merchant_call(&api, method, path, &tenant.secret);
        if status == 401 || status == 403 {
            wrong.push(format!("{method} {path} with sk: {status} {answer}"));
        }
        if headers.contains_key("access-control-allow-origin") {
            wrong.push(format!("{method} {path} sent CORS headers to a secret key"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // What a publishable key may do: CART_UPDATE, and restoring a cart.
    let (status, _) = api.track(
        &tenant.publishable,
        &cartback_testing::app::cart_update("sess_pk_track_7f3a9c", None),
    );
    assert_eq!(status, 200);
    let (status, answer) = api.track(
        &tenant.publishable,
        &json!({"event": "ORDER_COMPLETE", "sessionId": "sess_pk_track_7f3a9c", "total": 1}),
    );
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (403, json!("FORBIDDEN"))
    );
    let (status, _) = api.call(
        "GET",
        "/api/v1/carts/restore/not-a-token",
        &tenant.publishable,
        None,
    );
    assert_eq!(status, 404, "a publishable key may look a token up");
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn cors_scenario(backend: Backend) {
    let db = TestDatabase::new(backend);
    let tenant = create_tenant(&db.url, "1h");
    // No key cache, so a changed list applies to the very next request.
    let api = Api::start(&db.url, &[("CARTBACK_AUTH_CACHE_TTL", "0".to_owned())]);
    let shop = "https://shop.example";
    let body = snapshot_body("sess_cors_1_7f3a9c", 1, None).to_string();
    let from = |origin: &str, key: &str, path: &str| {
        post_raw(
            &api,
            path,
            &[
                ("Origin", origin),
                ("X-API-Key", key),
                ("Content-Type", "text/plain"),
            ],
            body.clone(),
        )
    };

    // An empty list allows no browser; servers (no Origin) are unaffected.
    let (status, _) = api.call(
        "GET",
        "/api/v1/settings/allowed-origins",
        &tenant.secret,
        None,
    );
    assert_eq!(status, 200);
    let (status, headers, answer) = from(shop, &tenant.publishable, CAPTURE);
    assert_eq!(status, 403, "{answer}");
    assert_eq!(answer["success"], false);
    assert_eq!(answer["error"]["code"], "FORBIDDEN");
    assert!(header(&headers, "access-control-allow-origin").is_none());
    let (status, _) = capture(
        &api,
        &tenant.publishable,
        &snapshot_body("sess_cors_0_7f3a9c", 1, None),
    );
    assert_eq!(status, 200);

    // The list: validated, normalised, at most 50.
    let (status, answer) = api.call(
        "PUT",
        "/api/v1/settings/allowed-origins",
        &tenant.secret,
        Some(&json!({"allowedOrigins": ["https://shop.example/cart", "shop.example", "https://ok.example"]})),
    );
    assert_eq!(status, 422, "{answer}");
    assert_eq!(
        error_fields(&answer),
        ["allowedOrigins[0]", "allowedOrigins[1]"]
    );
    let many: Vec<String> = (0..51).map(|n| format!("https://s{n}.example")).collect();
    let (status, answer) = api.call(
        "PUT",
        "/api/v1/settings/allowed-origins",
        &tenant.secret,
        Some(&json!({ "allowedOrigins": many })),
    );
    assert_eq!(status, 422, "{answer}");
    let (status, answer) = api.call(
        "PUT",
        "/api/v1/settings/allowed-origins",
        &tenant.secret,
        Some(&json!({"allowedOrigins": ["HTTPS://Shop.Example:443", "http://localhost:3000"]})),
    );
    assert_eq!(status, 200, "{answer}");
    let listed = json!(["https://shop.example", "http://localhost:3000"]);
    assert_eq!(answer["allowedOrigins"], listed);
    let (_, answer) = api.call(
        "GET",
        "/api/v1/settings/allowed-origins",
        &tenant.secret,
        None,
    );
    assert_eq!(answer, json!({"success": true, "allowedOrigins": listed}));

    // A listed origin is echoed, on the public endpoint and on /track with pk.
    let (status, headers, answer) = from(shop, &tenant.publishable, CAPTURE);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(shop));
    assert!(
        headers
            .get_all("vary")
            .iter()
            .any(|v| v.to_str().unwrap_or_default().contains("Origin"))
    );
    let track_body = cartback_testing::app::cart_update("sess_cors_track_7f3a9c", None).to_string();
    let (status, headers, _) = post_raw(
        &api,
        "/api/v1/track",
        &[
            ("Origin", "http://localhost:3000"),
            ("X-API-Key", &tenant.publishable),
            ("Content-Type", "application/json"),
        ],
        track_body.clone(),
    );
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    // Validation errors carry it too, so the page can read them.
    let (status, headers, _) = post_raw(
        &api,
        CAPTURE,
        &[("Origin", shop), ("X-API-Key", &tenant.publishable)],
        "{}".to_owned(),
    );
    assert_eq!(status, 422);
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(shop));

    // An unlisted origin is refused with the envelope and no CORS headers.
    for path in [CAPTURE, "/api/v1/track"] {
        let (status, headers, answer) = post_raw(
            &api,
            path,
            &[
                ("Origin", "https://evil.example"),
                ("X-API-Key", &tenant.publishable),
                ("Content-Type", "application/json"),
            ],
            if path == CAPTURE {
                body.clone()
            } else {
                track_body.clone()
            },
        );
        assert_eq!(status, 403, "{path}: {answer}");
        assert_eq!(answer["error"]["code"], "FORBIDDEN");
        assert!(header(&headers, "access-control-allow-origin").is_none());
    }
    // /track with a secret key is a server call: no origin check, no CORS headers.
    let (status, headers, _) = post_raw(
        &api,
        "/api/v1/track",
        &[
            ("Origin", "https://evil.example"),
            ("X-API-Key", &tenant.secret),
            ("Content-Type", "application/json"),
        ],
        track_body,
    );
    assert_eq!(status, 200);
    assert!(header(&headers, "access-control-allow-origin").is_none());

    // Preflights: any origin (they carry no key), 204 with the allowed methods and headers.
    for path in [CAPTURE, "/api/v1/track"] {
        let response = api
            .http
            .request(reqwest::Method::OPTIONS, format!("{}{path}", api.base))
            .header("Origin", "https://anywhere.example")
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type, x-api-key")
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 204, "{path}");
        let headers = response.headers();
        assert_eq!(
            header(headers, "access-control-allow-origin"),
            Some("https://anywhere.example")
        );
        assert_eq!(
            header(headers, "access-control-allow-methods"),
            Some("POST, OPTIONS")
        );
        assert_eq!(
            header(headers, "access-control-allow-headers"),
            Some("content-type, x-api-key, authorization")
        );
        assert_eq!(header(headers, "access-control-max-age"), Some("600"));
    }
    // No preflight on merchant routes.
    let response = api
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/v1/settings/recovery", api.base),
        )
        .header("Origin", shop)
        .header("Access-Control-Request-Method", "PUT")
        .send()
        .unwrap();
    assert_ne!(response.status().as_u16(), 204);
    assert!(header(response.headers(), "access-control-allow-origin").is_none());
}

#[test]
fn cors_follows_the_tenant_list_on_sqlite() {
    cors_scenario(Backend::Sqlite);
}

#[test]
fn cors_follows_the_tenant_list_on_postgres() {
    cors_scenario(Backend::Postgres);
}

#[test]
fn the_tracker_script_is_served_and_debounces_under_node() {
    let db = TestDatabase::new(Backend::Sqlite);
    let api = Api::start(&db.url, &[]);
    let response = api
        .http
        .get(format!("{}/tracker.js", api.base))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        header(response.headers(), "content-type"),
        Some("application/javascript; charset=utf-8")
    );
    assert_eq!(
        header(response.headers(), "cache-control"),
        Some("public, max-age=3600")
    );
    let script = response.text().unwrap();
    assert!(script.len() < 4096, "tracker.js is {} bytes", script.len());
    assert!(script.contains("window.cartback") || script.contains("w.cartback"));

    // Run the served script under node with the browser stubbed.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tracker.js");
    std::fs::write(&path, &script).unwrap();
    let harness = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/tracker_harness.js");
    let output = Command::new("node")
        .arg(&harness)
        .arg(&path)
        .output()
        .expect("node is installed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the tracker harness failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("ok debounce: 3 updates -> 1 request with the last cart"));
    assert!(stdout.contains("all tracker checks passed"));

    // What the script sends is what the endpoint takes.
    let sent = stdout
        .lines()
        .find_map(|line| line.strip_prefix("body "))
        .expect("the harness prints the body it saw");
    let tenant = create_tenant(&db.url, "1h");
    let (status, _, answer) = post_raw(
        &api,
        &format!("{CAPTURE}?key={}", tenant.publishable),
        &[("Content-Type", "text/plain;charset=UTF-8")],
        sent.to_owned(),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["wasCreated"], true);
}
