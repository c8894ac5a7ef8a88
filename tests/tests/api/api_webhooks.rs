//! The webhook-endpoint API, Stripe event intake and payment links, with the real
//! binaries on SQLite and PostgreSQL. Stripe's own library signs the events;
//! a loopback stub stands in for Stripe's API.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use cartback_store::orders::find_order;
use cartback_store::{Backend, Store};
use cartback_testing::TestDatabase;
use cartback_testing::app::{Api, Tenant, create_tenant_with, error_fields, master_key};
use cartback_testing::http_stub::{HttpStub, Reply};
use cartback_testing::on_both_backends;
use cartback_testing::process::free_port;
use cartback_testing::python::run_peer;

on_both_backends!(
    webhook_endpoints,
    stripe_intake,
    hostile_stripe_events,
    payment_links
);

fn create_tenant(db: &TestDatabase, name: &str) -> Tenant {
    create_tenant_with(
        &db.url,
        &[
            "--name",
            name,
            "--recovery-url",
            "https://shop.example/cart",
            "--delay",
            "1h",
        ],
    )
}

/// The api with this master key; keys are resolved fresh (no auth cache), so
/// nothing depends on cache timing.
fn start_api(db: &TestDatabase, master_key: &str, extra: &[(&str, String)]) -> Api {
    let mut env = vec![
        ("CARTBACK_MASTER_KEY", master_key.to_owned()),
        ("CARTBACK_AUTH_CACHE_TTL", "0".to_owned()),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
    Api::start(&db.url, &env)
}

/// Posts a raw body to the Stripe intake as Stripe would.
fn stripe_event(api: &Api, tenant_id: &str, body: &str, signature: Option<&str>) -> (u16, Value) {
    let mut request = api
        .http
        .post(format!(
            "{}/api/v1/integrations/stripe/webhook/{tenant_id}",
            api.base
        ))
        .header("Content-Type", "application/json; charset=utf-8")
        .header(
            "User-Agent",
            "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        )
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("Stripe-Signature", signature);
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

fn track_cart(api: &Api, key: &str, session: &str, items: Value, currency: &str) -> String {
    let (status, body) = api.v1(
        "POST",
        "/track",
        key,
        Some(&json!({
            "event": "CART_UPDATE",
            "sessionId": session,
            "items": items,
            "currency": currency,
            "customerEmail": "sam@example.com",
            "customerName": "Sam Shopper",
        })),
    );
    assert_eq!(status, 200, "{body}");
    body["cartId"].as_str().unwrap().to_owned()
}

fn time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// Create, read, change, rotate and delete endpoints; refuse bad input with
/// every field named; keep tenants apart; secret keys only; private targets only
/// with the server flag; deliveries listed, shown and replayed.
fn webhook_endpoints(backend: Backend) {
    let db = TestDatabase::new(backend);
    let tenant = create_tenant(&db, "Hooks shop");
    let other = create_tenant(&db, "Other shop");
    let key = master_key();
    let api = start_api(&db, &key, &[]);
    let key_a = tenant.secret.as_str();

    // Create: 201, the secret shown this once.
    let (status, created) = api.v1(
        "POST",
        "/webhook-endpoints",
        key_a,
        Some(&json!({
            "url": "https://hooks.example.com/cartback",
            "events": ["cart.abandoned", "cart.converted"],
            "description": "CRM sync",
        })),
    );
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(created["url"], "https://hooks.example.com/cartback");
    assert_eq!(
        created["events"],
        json!(["cart.abandoned", "cart.converted"])
    );
    assert_eq!(created["description"], "CRM sync");
    assert_eq!(created["enabled"], json!(true));
    assert_eq!(created["disabledReason"], Value::Null);
    assert!(time(&created["createdAt"]) <= Utc::now());

    // Never shown again.
    let (status, listed) = api.v1("GET", "/webhook-endpoints", key_a, None);
    assert_eq!(status, 200);
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed["data"][0]["id"], json!(id));
    let (status, shown) = api.v1("GET", &format!("/webhook-endpoints/{id}"), key_a, None);
    assert_eq!(status, 200);
    for answer in [&listed, &shown] {
        let text = answer.to_string();
        assert!(
            !text.contains(&secret) && !text.contains("\"secret\""),
            "{text}"
        );
    }
    assert_eq!(shown["events"], created["events"]);

    // Patch: each field on its own, null clears the description.
    let (status, patched) = api.v1(
        "PATCH",
        &format!("/webhook-endpoints/{id}"),
        key_a,
        Some(&json!({"events": ["*"], "description": null, "enabled": false})),
    );
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["events"], json!(["*"]));
    assert_eq!(patched["description"], Value::Null);
    assert_eq!(patched["enabled"], json!(false));
    assert!(patched["disabledReason"].is_string());
    assert_eq!(patched["url"], created["url"]);
    let (status, patched) = api.v1(
        "PATCH",
        &format!("/webhook-endpoints/{id}"),
        key_a,
        Some(&json!({"enabled": true, "url": "https://hooks.example.com/v2"})),
    );
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["enabled"], json!(true));
    assert_eq!(patched["disabledReason"], Value::Null);
    assert_eq!(patched["url"], "https://hooks.example.com/v2");
    assert_eq!(patched["events"], json!(["*"]));

    // Rotate: a new secret; the old one signs for the overlap (default one day).
    let (status, rotated) = api.v1(
        "POST",
        &format!("/webhook-endpoints/{id}/rotate-secret"),
        key_a,
        None,
    );
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    let overlap = time(&rotated["previousSecretExpiresAt"]) - Utc::now();
    assert!(
        overlap > chrono::TimeDelta::hours(23) && overlap <= chrono::TimeDelta::hours(24),
        "{rotated}"
    );
    let (status, rotated) = api.v1(
        "POST",
        &format!("/webhook-endpoints/{id}/rotate-secret"),
        key_a,
        Some(&json!({"overlapSeconds": 0})),
    );
    assert_eq!(status, 200, "{rotated}");
    assert_ne!(rotated["secret"], json!(new_secret));
    assert_eq!(rotated["previousSecretExpiresAt"], Value::Null);
    let (status, body) = api.v1(
        "POST",
        &format!("/webhook-endpoints/{id}/rotate-secret"),
        key_a,
        Some(&json!({"overlapSeconds": 604_801})),
    );
    assert_eq!(
        (status, error_fields(&body)),
        (422, vec!["overlapSeconds".to_owned()])
    );

    // Bad input: every problem named at once.
    let (status, body) = api.v1(
        "POST",
        "/webhook-endpoints",
        key_a,
        Some(&json!({
            "url": "not a url",
            "events": ["cart.abandoned", "cart.nope", "cart.abandoned"],
            "description": "d".repeat(201),
            "colour": "blue",
        })),
    );
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["success"], json!(false));
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
    let mut named = error_fields(&body);
    named.sort();
    assert_eq!(
        named,
        ["colour", "description", "events[1]", "events[2]", "url"],
        "{body}"
    );
    for bad in [
        json!({"url": "https://hooks.example.com/x", "events": []}),
        json!({"url": "https://hooks.example.com/x"}),
        json!({"url": "ftp://hooks.example.com/x", "events": ["*"]}),
        json!({"events": ["*"]}),
        json!({"url": "https://hooks.example.com/x", "events": ["*"], "enabled": "yes"}),
    ] {
        let (status, body) = api.v1("POST", "/webhook-endpoints", key_a, Some(&bad));
        assert_eq!(status, 422, "{bad} → {body}");
    }
    // Private, loopback and link-local targets need the server flag.
    let private = [
        "http://127.0.0.1:9/x",
        "http://169.254.169.254/",
        "http://localhost/",
        "http://10.1.2.3/hook",
        "http://[::1]:8080/",
    ];
    for url in private {
        let (status, body) = api.v1(
            "POST",
            "/webhook-endpoints",
            key_a,
            Some(&json!({"url": url, "events": ["*"]})),
        );
        assert_eq!(status, 422, "{url}: {body}");
        assert_eq!(error_fields(&body), ["url"]);
        let message = body["error"]["details"][0]["message"].as_str().unwrap();
        assert!(message.contains("--allow-private-targets"), "{message}");
    }
    let (status, _) = api.v1(
        "PATCH",
        &format!("/webhook-endpoints/{id}"),
        key_a,
        Some(&json!({"url": "http://127.0.0.1:9/x"})),
    );
    assert_eq!(status, 422);

    // Another tenant's endpoint does not exist for it, whatever the verb.
    let key_b = other.secret.as_str();
    for (method, path, body) in [
        ("GET", format!("/webhook-endpoints/{id}"), None),
        (
            "PATCH",
            format!("/webhook-endpoints/{id}"),
            Some(json!({"enabled": false})),
        ),
        ("DELETE", format!("/webhook-endpoints/{id}"), None),
        (
            "POST",
            format!("/webhook-endpoints/{id}/rotate-secret"),
            None,
        ),
        ("GET", format!("/webhook-endpoints/{id}/deliveries"), None),
    ] {
        let (status, answer) = api.v1(method, &path, key_b, body.as_ref());
        assert_eq!(status, 404, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["code"], "NOT_FOUND");
    }
    let (_, listed_b) = api.v1("GET", "/webhook-endpoints", key_b, None);
    assert_eq!(listed_b["data"], json!([]));
    let (_, still) = api.v1("GET", &format!("/webhook-endpoints/{id}"), key_a, None);
    assert_eq!(still["enabled"], json!(true), "B's PATCH changed nothing");

    // A publishable key is refused on every route.
    let delivery_path = format!("/webhook-endpoints/{id}/deliveries/msg_x");
    for (method, path) in [
        ("POST", "/webhook-endpoints".to_owned()),
        ("GET", "/webhook-endpoints".to_owned()),
        ("GET", format!("/webhook-endpoints/{id}")),
        ("PATCH", format!("/webhook-endpoints/{id}")),
        ("DELETE", format!("/webhook-endpoints/{id}")),
        ("POST", format!("/webhook-endpoints/{id}/rotate-secret")),
        ("GET", format!("/webhook-endpoints/{id}/deliveries")),
        ("GET", delivery_path.clone()),
        ("POST", format!("{delivery_path}/replay")),
    ] {
        let (status, answer) = api.v1(
            method,
            &path,
            &tenant.publishable,
            Some(&json!({"url": "https://hooks.example.com/x", "events": ["*"]})),
        );
        assert_eq!(status, 403, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["code"], "FORBIDDEN");
    }

    // Deliveries: an order converts a cart, which the endpoint hears about.
    let (status, empty) = api.v1(
        "GET",
        &format!("/webhook-endpoints/{id}/deliveries"),
        key_a,
        None,
    );
    assert_eq!(status, 200, "{empty}");
    assert_eq!(
        (
            &empty["data"],
            &empty["total"],
            &empty["totalPages"],
            &empty["perPage"]
        ),
        (&json!([]), &json!(0), &json!(0), &json!(20))
    );
    track_cart(
        &api,
        key_a,
        "sess-hooks",
        json!([{"id": "sku_1", "name": "Mug", "price": 12.5, "quantity": 1}]),
        "EUR",
    );
    let (status, body) = api.v1(
        "POST",
        "/track",
        key_a,
        Some(&json!({"event": "ORDER_COMPLETE", "sessionId": "sess-hooks", "orderId": "INV-9", "total": 12.5, "currency": "EUR"})),
    );
    assert_eq!(status, 200, "{body}");
    let (status, page) = api.v1(
        "GET",
        &format!("/webhook-endpoints/{id}/deliveries?status=pending&page=1&per_page=5"),
        key_a,
        None,
    );
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], json!(1), "{page}");
    assert_eq!(page["perPage"], json!(5));
    let delivery = &page["data"][0];
    assert_eq!(delivery["event"], "cart.converted");
    assert_eq!(delivery["status"], "pending");
    assert_eq!(delivery["attempts"], json!(0));
    assert!(delivery.get("payload").is_none());
    let delivery_id = delivery["id"].as_str().unwrap().to_owned();
    let (_, none) = api.v1(
        "GET",
        &format!("/webhook-endpoints/{id}/deliveries?status=succeeded"),
        key_a,
        None,
    );
    assert_eq!(none["total"], json!(0));
    let (status, one) = api.v1(
        "GET",
        &format!("/webhook-endpoints/{id}/deliveries/{delivery_id}"),
        key_a,
        None,
    );
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["payload"]["event"], "cart.converted");
    assert_eq!(one["payload"]["data"]["orderId"], "INV-9");
    let (status, body) = api.v1(
        "GET",
        &format!("/webhook-endpoints/{id}/deliveries?status=lost&per_page=101&page=0"),
        key_a,
        None,
    );
    assert_eq!(status, 422, "{body}");
    let mut named = error_fields(&body);
    named.sort();
    assert_eq!(named, ["page", "per_page", "status"]);
    let (status, _) = api.v1(
        "GET",
        &format!("/webhook-endpoints/{id}/deliveries/msg_missing"),
        key_a,
        None,
    );
    assert_eq!(status, 404);
    let (status, _) = api.v1(
        "GET",
        &format!("/webhook-endpoints/{id}/deliveries/{delivery_id}"),
        key_b,
        None,
    );
    assert_eq!(status, 404, "another tenant's delivery");

    // Replay: not while pending, not while disabled, then queued again.
    let replay = format!("/webhook-endpoints/{id}/deliveries/{delivery_id}/replay");
    let (status, body) = api.v1("POST", &replay, key_a, None);
    assert_eq!((status, &body["error"]["code"]), (409, &json!("CONFLICT")));
    let (status, _) = api.v1(
        "PATCH",
        &format!("/webhook-endpoints/{id}"),
        key_a,
        Some(&json!({"enabled": false})),
    );
    assert_eq!(status, 200);
    let (_, cancelled) = api.v1(
        "GET",
        &format!("/webhook-endpoints/{id}/deliveries/{delivery_id}"),
        key_a,
        None,
    );
    assert_eq!(cancelled["status"], "cancelled");
    let (status, body) = api.v1("POST", &replay, key_a, None);
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("enable the endpoint first")
    );
    let (status, body) = api.v1("POST", &replay, key_b, None);
    assert_eq!(status, 404, "{body}");
    api.v1(
        "PATCH",
        &format!("/webhook-endpoints/{id}"),
        key_a,
        Some(&json!({"enabled": true})),
    );
    let (status, replayed) = api.v1("POST", &replay, key_a, None);
    assert_eq!(status, 202, "{replayed}");
    assert_eq!(replayed["id"], json!(delivery_id));
    assert_eq!(replayed["status"], "pending");

    // At most 20 endpoints per tenant.
    for i in 1..20 {
        let (status, body) = api.v1(
            "POST",
            "/webhook-endpoints",
            key_a,
            Some(&json!({"url": format!("https://hooks.example.com/{i}"), "events": ["email.sent"], "enabled": false})),
        );
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["enabled"], json!(false));
    }
    let (status, body) = api.v1(
        "POST",
        "/webhook-endpoints",
        key_a,
        Some(&json!({"url": "https://hooks.example.com/21", "events": ["*"]})),
    );
    assert_eq!((status, &body["error"]["code"]), (409, &json!("CONFLICT")));

    // Delete: 204, then gone with its deliveries.
    let (status, body) = api.v1("DELETE", &format!("/webhook-endpoints/{id}"), key_a, None);
    assert_eq!(status, 204, "{body}");
    let (status, _) = api.v1("GET", &format!("/webhook-endpoints/{id}"), key_a, None);
    assert_eq!(status, 404);
    let (status, _) = api.v1("DELETE", &format!("/webhook-endpoints/{id}"), key_a, None);
    assert_eq!(status, 404);
    let (status, _) = api.v1(
        "GET",
        &format!("/webhook-endpoints/{id}/deliveries/{delivery_id}"),
        key_a,
        None,
    );
    assert_eq!(status, 404);
    drop(api);

    // With the flag, the same private URLs are accepted.
    let open = start_api(
        &db,
        &key,
        &[("CARTBACK_ALLOW_PRIVATE_WEBHOOK_TARGETS", "true".to_owned())],
    );
    for url in private.iter().take(3) {
        let (status, body) = open.v1(
            "POST",
            "/webhook-endpoints",
            key_b,
            Some(&json!({"url": url, "events": ["*"]})),
        );
        assert_eq!(status, 201, "{url}: {body}");
    }
    drop(open);

    // Without a master key no secret can be stored.
    let sealed_off = start_api(&db, "", &[]);
    let (status, body) = sealed_off.v1(
        "POST",
        "/webhook-endpoints",
        key_b,
        Some(&json!({"url": "https://hooks.example.com/x", "events": ["*"]})),
    );
    assert_eq!(
        (status, &body["error"]["code"]),
        (409, &json!("CONFLICT")),
        "{body}"
    );
}

fn checkout_completed(event_id: &str, cart_id: &str, payment_intent: &str, amount: i64) -> String {
    json!({
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": Utc::now().timestamp(),
        "livemode": false,
        "type": "checkout.session.completed",
        "data": {"object": {
            "id": format!("cs_test_{event_id}"),
            "object": "checkout.session",
            "client_reference_id": cart_id,
            "payment_status": "paid",
            "status": "complete",
            "amount_total": amount,
            "currency": "eur",
            "payment_intent": payment_intent,
            "customer_details": {"email": "Sam@Example.com"},
            "metadata": {},
        }},
    })
    .to_string()
}

/// The `Stripe-Signature` header Stripe's own library makes for `body`, at
/// `timestamp` (now when None).
pub(crate) fn sign(secret: &str, body: &str, timestamp: Option<i64>) -> String {
    match timestamp {
        Some(t) => run_peer("stripe_sign.py", &[secret, &t.to_string()], body),
        None => run_peer("stripe_sign.py", &[secret], body),
    }
}

const WHSEC: &str = "whsec_test_4eC39HqLyjWDarjtT1zdp7dc";
const WHSEC_OLD: &str = "whsec_test_previousSecretStillValid";

/// Well signed but hostile events: a NUL in an object id, the payment intent,
/// `client_reference_id` or `metadata.cart_id` (text PostgreSQL cannot store),
/// and negative, absurd or fractional amounts. None is a 5xx, none becomes an
/// order or touches the cart, and a sound event afterwards still does.
fn hostile_stripe_events(backend: Backend) {
    let db = TestDatabase::new(backend);
    let tenant = create_tenant(&db, "Stripe shop");
    let api = start_api(&db, &master_key(), &[]);
    let store = Store::open(&db.url, 1).unwrap();
    let (status, shown) = api.v1(
        "PATCH",
        "/integrations/stripe",
        &tenant.secret,
        Some(&json!({"webhookSecrets": [WHSEC]})),
    );
    assert_eq!(status, 200, "{shown}");
    let cart_id = track_cart(
        &api,
        &tenant.secret,
        "sess-hostile",
        json!([{"id": "sku_1", "name": "Mug", "price": 42, "quantity": 1}]),
        "EUR",
    );
    let cart_status = || {
        let (status, history) = api.v1(
            "GET",
            &format!("/carts/{cart_id}/history"),
            &tenant.secret,
            None,
        );
        assert_eq!(status, 200, "{history}");
        history["status"].as_str().unwrap().to_owned()
    };
    let before = cart_status();

    let event = |n: usize, edit: &dyn Fn(&mut Value)| -> (String, String) {
        let intent = format!("pi_hostile_{n}");
        let mut body: Value = serde_json::from_str(&checkout_completed(
            &format!("evt_h{n}"),
            &cart_id,
            &intent,
            4200,
        ))
        .unwrap();
        edit(&mut body["data"]["object"]);
        (intent, body.to_string())
    };
    let nul = "\u{0}";
    let cases: Vec<(&str, (String, String))> = vec![
        (
            "NUL in the object id",
            event(1, &|o| o["id"] = json!(format!("cs_test_{nul}x"))),
        ),
        (
            "NUL in the payment intent",
            event(2, &|o| o["payment_intent"] = json!(format!("pi_{nul}"))),
        ),
        (
            "NUL in client_reference_id",
            event(3, &|o| {
                o["client_reference_id"] = json!(format!("{cart_id}{nul}"))
            }),
        ),
        (
            "NUL in metadata.cart_id",
            event(4, &|o| {
                o["client_reference_id"] = Value::Null;
                o["metadata"] = json!({"cart_id": format!("{cart_id}{nul}")});
            }),
        ),
        (
            "NUL in the currency",
            event(5, &|o| o["currency"] = json!(format!("eu{nul}"))),
        ),
        (
            "a negative amount",
            event(6, &|o| o["amount_total"] = json!(-4200)),
        ),
        (
            "an absurd amount",
            event(7, &|o| o["amount_total"] = json!(i64::MAX)),
        ),
        (
            "an amount past i64",
            event(8, &|o| o["amount_total"] = json!(u64::MAX)),
        ),
        (
            "a fractional amount",
            event(9, &|o| o["amount_total"] = json!(42.5)),
        ),
        (
            "an amount in exponent form",
            event(10, &|o| o["amount_total"] = json!(1e300)),
        ),
    ];
    for (what, (intent, body)) in &cases {
        let (status, answer) = stripe_event(&api, &tenant.id, body, Some(&sign(WHSEC, body, None)));
        assert!(
            status == 200 || status == 400 || status == 422,
            "{what}: {status} {answer}"
        );
        if status == 200 {
            assert_eq!(answer["ignored"], json!(true), "{what}: {answer}");
        } else {
            assert_eq!(answer["success"], json!(false), "{what}: {answer}");
        }
        let stored = find_order(&mut store.conn().unwrap(), &tenant.id, intent).unwrap();
        assert!(stored.is_none(), "{what}: recorded {stored:?}");
        assert_eq!(cart_status(), before, "{what} changed the cart");
    }

    // The sound event is still the first order of this cart.
    let paid = checkout_completed("evt_sound", &cart_id, "pi_sound", 4200);
    let (status, body) = stripe_event(&api, &tenant.id, &paid, Some(&sign(WHSEC, &paid, None)));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["duplicate"], json!(false), "{body}");
    assert_eq!(body["cartStatus"], "converted", "{body}");
    let recorded = find_order(&mut store.conn().unwrap(), &tenant.id, "pi_sound")
        .unwrap()
        .expect("the sound order is stored");
    assert_eq!(recorded.total_minor, Some(4200));
}

/// Stripe's signed events become orders exactly once; anything unsigned,
/// tampered, stale or for an unknown tenant is refused and changes nothing.
fn stripe_intake(backend: Backend) {
    let db = TestDatabase::new(backend);
    let tenant = create_tenant(&db, "Stripe shop");
    let other = create_tenant(&db, "No Stripe");
    let api = start_api(&db, &master_key(), &[]);
    let store = Store::open(&db.url, 1).unwrap();
    let order =
        |reference: &str| find_order(&mut store.conn().unwrap(), &tenant.id, reference).unwrap();

    // Not connected yet: the answer still says where Stripe should call.
    let (status, shown) = api.v1("GET", "/integrations/stripe", &tenant.secret, None);
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["configured"], json!(false));
    let webhook_url = format!("/api/v1/integrations/stripe/webhook/{}", tenant.id);
    assert_eq!(shown["webhookUrl"], json!(webhook_url));

    let (status, body) = api.v1(
        "PATCH",
        "/integrations/stripe",
        &tenant.secret,
        Some(&json!({
            "secretKey": "pk_test_abcdefgh",
            "webhookSecrets": ["whsec_ok_12345678", "nope"],
            "successUrl": "ftp://shop.example/thanks",
            "linksInEmails": "yes",
        })),
    );
    assert_eq!(status, 422, "{body}");
    let mut named = error_fields(&body);
    named.sort();
    assert_eq!(
        named,
        [
            "linksInEmails",
            "secretKey",
            "successUrl",
            "webhookSecrets[1]"
        ]
    );
    let (status, _) = api.v1(
        "PATCH",
        "/integrations/stripe",
        &tenant.secret,
        Some(&json!({"webhookSecrets": []})),
    );
    assert_eq!(status, 422);

    // Two secrets, as while rolling Stripe's endpoint secret.
    let (status, shown) = api.v1(
        "PATCH",
        "/integrations/stripe",
        &tenant.secret,
        Some(&json!({"webhookSecrets": [WHSEC, WHSEC_OLD], "linksInEmails": true})),
    );
    assert_eq!(status, 200, "{shown}");
    assert!(!shown.to_string().contains("whsec_"), "{shown}");
    assert_eq!(shown["configured"], json!(true));
    assert_eq!(shown["webhookSecrets"], json!(2));
    assert_eq!(shown["secretKey"], Value::Null);
    assert_eq!(shown["linksInEmails"], json!(true));
    let (status, _) = api.v1("GET", "/integrations/stripe", &tenant.publishable, None);
    assert_eq!(status, 403);

    let cart_id = track_cart(
        &api,
        &tenant.secret,
        "sess-stripe",
        json!([{"id": "sku_1", "name": "Mug", "price": 42, "quantity": 1}]),
        "EUR",
    );

    // Refusals first: each leaves no order behind.
    let tampered_body = checkout_completed("evt_tamper", &cart_id, "pi_tamper", 4200);
    let header = sign(WHSEC, &tampered_body, None);
    let (status, body) = stripe_event(
        &api,
        &tenant.id,
        &tampered_body.replace("4200", "1"),
        Some(&header),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "BAD_REQUEST");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid Stripe signature")
    );
    assert!(order("pi_tamper").is_none());

    let wrong = checkout_completed("evt_wrong", &cart_id, "pi_wrong", 4200);
    let (status, _) = stripe_event(
        &api,
        &tenant.id,
        &wrong,
        Some(&sign("whsec_not_the_right_secret", &wrong, None)),
    );
    assert_eq!(status, 400);
    assert!(order("pi_wrong").is_none());

    let stale = checkout_completed("evt_stale", &cart_id, "pi_stale", 4200);
    let ten_minutes_ago = Utc::now().timestamp() - 600;
    let (status, body) = stripe_event(
        &api,
        &tenant.id,
        &stale,
        Some(&sign(WHSEC, &stale, Some(ten_minutes_ago))),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tolerance")
    );
    assert!(order("pi_stale").is_none());

    let unsigned = checkout_completed("evt_unsigned", &cart_id, "pi_unsigned", 4200);
    let (status, body) = stripe_event(&api, &tenant.id, &unsigned, None);
    assert_eq!(status, 400, "{body}");
    assert!(order("pi_unsigned").is_none());

    // The reported attack: 2,000 empty v1 entries over a 1 MiB body. The header
    // alone is refused, before the body is read, the database asked or anything
    // hashed.
    let now = Utc::now().timestamp();
    let hostile = format!("t={now},{}", vec!["v1="; 2000].join(","));
    let padded = format!("{{\"pad\":\"{}\"}}", "x".repeat(1024 * 1024 - 12));
    let (status, body) = stripe_event(&api, &tenant.id, &padded, Some(&hostile));
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too long"),
        "{body}"
    );
    // Short enough, but more v1 entries than any real Stripe header has.
    let nine = format!(
        "t={now},{}",
        vec![format!("v1={}", "0".repeat(64)); 9].join(",")
    );
    let (status, body) = stripe_event(&api, &tenant.id, &unsigned, Some(&nine));
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too many v1"),
        "{body}"
    );
    // Well signed, but bigger than a Stripe event: 413.
    let oversized = checkout_completed("evt_big", &cart_id, "pi_big", 4200).replacen(
        '{',
        &format!("{{\"pad\":\"{}\",", "x".repeat(300 * 1024)),
        1,
    );
    let (status, body) = stripe_event(
        &api,
        &tenant.id,
        &oversized,
        Some(&sign(WHSEC, &oversized, None)),
    );
    assert_eq!(status, 413, "{body}");
    assert!(order("pi_big").is_none());

    // Unknown tenant and tenant without secrets answer alike.
    let anywhere = checkout_completed("evt_where", &cart_id, "pi_where", 4200);
    let header = sign(WHSEC, &anywhere, None);
    let (status, unknown) = stripe_event(&api, "ten_doesnotexist00", &anywhere, Some(&header));
    assert_eq!(status, 400, "{unknown}");
    let (status, unconfigured) = stripe_event(&api, &other.id, &anywhere, Some(&header));
    assert_eq!(status, 400, "{unconfigured}");
    assert_eq!(unknown, unconfigured);
    assert!(order("pi_where").is_none());
    let (status, _) = stripe_event(&api, "../../etc", &anywhere, Some(&header));
    assert_ne!(status, 200);

    // Events that are not orders are acknowledged and ignored.
    let other_event = json!({
        "id": "evt_customer", "object": "event", "type": "customer.created",
        "created": Utc::now().timestamp(), "data": {"object": {"id": "cus_1", "object": "customer"}},
    })
    .to_string();
    let (status, body) = stripe_event(
        &api,
        &tenant.id,
        &other_event,
        Some(&sign(WHSEC, &other_event, None)),
    );
    assert_eq!((status, &body["ignored"]), (200, &json!(true)), "{body}");
    let unpaid = checkout_completed("evt_unpaid", &cart_id, "pi_unpaid", 4200)
        .replace("\"paid\"", "\"unpaid\"");
    let (status, body) = stripe_event(&api, &tenant.id, &unpaid, Some(&sign(WHSEC, &unpaid, None)));
    assert_eq!((status, &body["ignored"]), (200, &json!(true)), "{body}");
    assert!(order("pi_unpaid").is_none());

    // The real thing: recorded against the cart named by client_reference_id.
    let paid = checkout_completed("evt_paid", &cart_id, "pi_3PaidOrder", 4200);
    let (status, body) = stripe_event(&api, &tenant.id, &paid, Some(&sign(WHSEC, &paid, None)));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["received"], json!(true));
    assert_eq!(body["orderId"], "pi_3PaidOrder");
    assert_eq!(body["duplicate"], json!(false));
    assert_eq!(body["cartStatus"], "converted");
    let recorded = order("pi_3PaidOrder").expect("the order is stored");
    assert_eq!(recorded.source.as_str(), "stripe");
    assert_eq!(recorded.cart_id.as_deref(), Some(cart_id.as_str()));
    assert_eq!(recorded.matched_by.map(|by| by.as_str()), Some("cart_id"));
    assert_eq!(recorded.total_minor, Some(4200));
    assert_eq!(recorded.currency, "EUR");
    assert_eq!(recorded.attribution.as_str(), "converted");
    let (_, history) = api.v1(
        "GET",
        &format!("/carts/{cart_id}/history"),
        &tenant.secret,
        None,
    );
    assert_eq!(history["status"], "converted", "{history}");

    // Stripe retries, and the PaymentIntent announces the same payment: both
    // are repeats. The second secret verifies too.
    let (status, body) = stripe_event(&api, &tenant.id, &paid, Some(&sign(WHSEC_OLD, &paid, None)));
    assert_eq!((status, &body["duplicate"]), (200, &json!(true)), "{body}");
    let intent = json!({
        "id": "evt_pi", "object": "event", "type": "payment_intent.succeeded",
        "created": Utc::now().timestamp(),
        "data": {"object": {
            "id": "pi_3PaidOrder", "object": "payment_intent", "amount": 4200,
            "amount_received": 4200, "currency": "eur", "status": "succeeded",
            "metadata": {"cart_id": cart_id},
        }},
    })
    .to_string();
    let (status, body) = stripe_event(&api, &tenant.id, &intent, Some(&sign(WHSEC, &intent, None)));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["duplicate"], json!(true));
    assert_eq!(body["orderId"], "pi_3PaidOrder");
    let (_, history) = api.v1(
        "GET",
        &format!("/carts/{cart_id}/history"),
        &tenant.secret,
        None,
    );
    let closings = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "converted" || e["kind"] == "recovered")
        .count();
    assert_eq!(closings, 1, "{history}");

    // Omitted fields stay; null clears; DELETE forgets everything.
    let (status, shown) = api.v1(
        "PATCH",
        "/integrations/stripe",
        &tenant.secret,
        Some(&json!({"successUrl": "https://shop.example/thanks?cs={CHECKOUT_SESSION_ID}"})),
    );
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["webhookSecrets"], json!(2));
    assert_eq!(shown["linksInEmails"], json!(true));
    assert_eq!(
        shown["successUrl"],
        "https://shop.example/thanks?cs={CHECKOUT_SESSION_ID}"
    );
    let (status, shown) = api.v1(
        "PATCH",
        "/integrations/stripe",
        &tenant.secret,
        Some(&json!({"webhookSecrets": null})),
    );
    assert_eq!((status, &shown["webhookSecrets"]), (200, &json!(0)));
    let again = checkout_completed("evt_after", &cart_id, "pi_after", 100);
    let (status, _) = stripe_event(&api, &tenant.id, &again, Some(&sign(WHSEC, &again, None)));
    assert_eq!(status, 400, "no secrets, no intake");
    let (status, _) = api.v1("DELETE", "/integrations/stripe", &tenant.secret, None);
    assert_eq!(status, 204);
    let (status, _) = api.v1("DELETE", "/integrations/stripe", &tenant.secret, None);
    assert_eq!(status, 404);
    let (_, shown) = api.v1("GET", "/integrations/stripe", &tenant.secret, None);
    assert_eq!(shown["configured"], json!(false));
}

/// Decodes an `application/x-www-form-urlencoded` body.
pub(crate) fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    fn decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 2;
                }
                other => out.push(other),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    }
    std::str::from_utf8(body)
        .unwrap()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

/// A payment link is a Stripe Checkout Session for exactly the cart's items,
/// made with the tenant's own key.
fn payment_links(backend: Backend) {
    let db = TestDatabase::new(backend);
    let tenant = create_tenant(&db, "Link shop");
    let other = create_tenant(&db, "Declined shop");
    let expires = Utc::now().timestamp() + 86_400;
    let stub = HttpStub::start_with(move |request, _| {
        if request
            .header("authorization")
            .is_some_and(|a| a.contains("declined"))
        {
            Reply::json(
                402,
                r#"{"error":{"type":"card_error","code":"x","message":"nope"}}"#,
            )
        } else {
            Reply::json(
                200,
                &format!(
                    r#"{{"id":"cs_test_1","object":"checkout.session","url":"https://checkout.stripe.com/c/pay/cs_test_1","expires_at":{expires}}}"#
                ),
            )
        }
    });
    let api = start_api(
        &db,
        &master_key(),
        &[("CARTBACK_STRIPE_API_BASE", stub.base_url.clone())],
    );
    let cart_id = track_cart(
        &api,
        &tenant.secret,
        "sess-link",
        json!([
            {"id": "sku_mug", "name": "Blue mug", "price": 12.5, "quantity": 2,
             "imageUrl": "https://cdn.shop.example/mug.png"},
            {"id": "sku_tea", "name": "Green tea", "price": 7.25, "quantity": 1},
        ]),
        "EUR",
    );
    let link_path = format!("/carts/{cart_id}/payment-link");

    // Nothing to call Stripe with yet.
    let (status, body) = api.v1("POST", &link_path, &tenant.secret, None);
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("connect Stripe first")
    );
    let (status, shown) = api.v1(
        "PATCH",
        "/integrations/stripe",
        &tenant.secret,
        Some(&json!({"secretKey": "sk_test_123", "successUrl": "https://shop.example/thanks"})),
    );
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["secretKey"], "sk_test_…");
    assert!(stub.requests().is_empty());

    let (status, link) = api.v1("POST", &link_path, &tenant.secret, None);
    assert_eq!(status, 200, "{link}");
    assert_eq!(
        link["paymentLink"],
        "https://checkout.stripe.com/c/pay/cs_test_1"
    );
    assert_eq!(link["checkoutSessionId"], "cs_test_1");
    assert_eq!(time(&link["expiresAt"]).timestamp(), expires);

    let requests = stub.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/v1/checkout/sessions")
    );
    assert_eq!(sent.header("authorization"), Some("Bearer sk_test_123"));
    assert!(
        sent.header("content-type")
            .unwrap()
            .starts_with("application/x-www-form-urlencoded")
    );
    assert!(
        sent.header("idempotency-key")
            .unwrap()
            .starts_with(&format!("paylink-{cart_id}-"))
    );
    let form = form_pairs(&sent.body);
    let value = |key: &str| {
        form.iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("{key} is missing from {form:?}"))
    };
    assert_eq!(value("mode"), "payment");
    assert_eq!(value("client_reference_id"), cart_id);
    assert_eq!(value("customer_email"), "sam@example.com");
    assert_eq!(value("success_url"), "https://shop.example/thanks");
    assert_eq!(value("cancel_url"), "https://shop.example/cart");
    assert_eq!(value("metadata[cart_id]"), cart_id);
    assert_eq!(value("metadata[session_id]"), "sess-link");
    assert_eq!(value("line_items[0][price_data][currency]"), "eur");
    assert_eq!(value("line_items[0][price_data][unit_amount]"), "1250");
    assert_eq!(value("line_items[0][quantity]"), "2");
    assert_eq!(
        value("line_items[0][price_data][product_data][name]"),
        "Blue mug"
    );
    assert_eq!(
        value("line_items[0][price_data][product_data][images][0]"),
        "https://cdn.shop.example/mug.png"
    );
    assert_eq!(value("line_items[1][price_data][unit_amount]"), "725");
    assert_eq!(value("line_items[1][quantity]"), "1");
    let expires_at: i64 = value("expires_at").parse().unwrap();
    let lifetime = expires_at - Utc::now().timestamp();
    assert!((86_300..=86_400).contains(&lifetime), "{lifetime}");
    assert!(!form.iter().any(|(_, v)| v.contains("sk_test")));

    // Bounds, other tenants, publishable keys.
    let (status, body) = api.v1(
        "POST",
        &link_path,
        &tenant.secret,
        Some(&json!({"expiresInSeconds": 60})),
    );
    assert_eq!(
        (status, error_fields(&body)),
        (422, vec!["expiresInSeconds".to_owned()])
    );
    let (status, body) = api.v1("POST", &link_path, &other.secret, None);
    assert_eq!(status, 404, "{body}");
    let (status, _) = api.v1("POST", &link_path, &tenant.publishable, None);
    assert_eq!(status, 403);
    let (status, _) = api.v1(
        "POST",
        "/carts/cart_missing/payment-link",
        &tenant.secret,
        None,
    );
    assert_eq!(status, 404);

    // A shorter life, by session id this time.
    let (status, link) = api.v1(
        "POST",
        "/carts/sess-link/payment-link",
        &tenant.secret,
        Some(&json!({"expiresInSeconds": 1800})),
    );
    assert_eq!(status, 200, "{link}");
    let form = form_pairs(&stub.requests()[1].body);
    let expires_at: i64 = form
        .iter()
        .find(|(k, _)| k == "expires_at")
        .unwrap()
        .1
        .parse()
        .unwrap();
    let lifetime = expires_at - Utc::now().timestamp();
    assert!((1_790..=1_870).contains(&lifetime), "{lifetime}");

    // An empty cart has nothing to pay for.
    let empty = track_cart(&api, &tenant.secret, "sess-empty", json!([]), "EUR");
    let (status, body) = api.v1(
        "POST",
        &format!("/carts/{empty}/payment-link"),
        &tenant.secret,
        None,
    );
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["message"], "the cart is empty");

    // Stripe's refusal is a 502 with its message, never the key.
    let declined = track_cart(
        &api,
        &other.secret,
        "sess-declined",
        json!([{"id": "sku_1", "name": "Mug", "price": 5, "quantity": 1}]),
        "USD",
    );
    let (status, _) = api.v1(
        "PATCH",
        "/integrations/stripe",
        &other.secret,
        Some(&json!({"secretKey": "sk_test_declined_0123456789"})),
    );
    assert_eq!(status, 200);
    let (status, body) = api.v1(
        "POST",
        &format!("/carts/{declined}/payment-link"),
        &other.secret,
        None,
    );
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "UPSTREAM_ERROR");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("nope"), "{message}");
    assert!(!body.to_string().contains("sk_test_declined"), "{body}");

    // Once ordered, no more payment links.
    let (status, _) = api.v1(
        "POST",
        "/track",
        &tenant.secret,
        Some(&json!({"event": "ORDER_COMPLETE", "sessionId": "sess-link", "orderId": "INV-1"})),
    );
    assert_eq!(status, 200);
    let (status, body) = api.v1("POST", &link_path, &tenant.secret, None);
    assert_eq!(status, 409, "{body}");
    assert_eq!(stub.requests().len(), 3, "refused calls never reach Stripe");
    drop(api);

    // Stripe out of reach: 502 as well.
    let unreachable = start_api(
        &db,
        // Another master key cannot open the stored secret key.
        &master_key(),
        &[(
            "CARTBACK_STRIPE_API_BASE",
            format!("http://127.0.0.1:{}", free_port()),
        )],
    );
    let (status, body) = unreachable.v1(
        "POST",
        &format!("/carts/{declined}/payment-link"),
        &other.secret,
        None,
    );
    assert_eq!(
        (status, &body["error"]["code"]),
        (409, &json!("CONFLICT")),
        "{body}"
    );
    let (status, _) = unreachable.v1(
        "PATCH",
        "/integrations/stripe",
        &other.secret,
        Some(&json!({"secretKey": "sk_test_reachable_0123456789"})),
    );
    assert_eq!(status, 200);
    let (status, body) = unreachable.v1(
        "POST",
        &format!("/carts/{declined}/payment-link"),
        &other.secret,
        None,
    );
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "UPSTREAM_ERROR");
}
