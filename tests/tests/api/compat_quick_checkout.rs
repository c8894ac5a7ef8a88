//! Seed 003 against the real api: what the in-process tests cannot show. The
//! documented limit of 100 requests a minute per IP address on its routes
//! (the request layer the binary wraps around the app), and the CLI's
//! `tenant suspend` reaching a running api within its key cache's TTL; Stripe's
//! events at the seed's `POST /api/webhooks/stripe`, signed by Stripe's own
//! library, turning carts the worker emailed into recovered ones in the seed's
//! answers and analytics; and the seed's payment link made through a stand-in
//! for Stripe's API.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};

use cartback_testing::app::{Api, create_tenant, master_key, spawn_worker_to_outbox};
use cartback_testing::http_stub::{HttpStub, Reply};
use cartback_testing::on_both_backends;
use cartback_testing::process::{run, wait_for};
use cartback_testing::{Backend, TestDatabase};

use crate::api_webhooks::{form_pairs, sign};

fn seed_client_get(api: &Api, key: &str, path: &str) -> (u16, Value) {
    // The seed's curl: `curl -H "x-api-key: …" http://localhost:3000/api/carts`.
    api.call("GET", path, key, None)
}

fn the_seed_routes_are_limited_per_address(backend: Backend) {
    let db = TestDatabase::new(backend);
    let shop = create_tenant(&db.url, "1h");
    let api = Api::start(&db.url, &[("CARTBACK_AUTH_CACHE_TTL", "200ms".to_owned())]);
    let mut limited = None;
    for n in 1..=101 {
        let path = if n % 2 == 0 {
            "/api/carts"
        } else {
            "/api/analytics"
        };
        let (status, body) = seed_client_get(&api, &shop.secret, path);
        if status == 429 {
            limited = Some((n, body));
            break;
        }
        assert_eq!(status, 200, "request {n}: {body}");
    }
    let (n, body) = limited.expect("the 101st request in a minute is refused");
    assert_eq!(n, 101);
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["code"], "RATE_LIMITED");
    // The native API with the same key is counted per key, not per address.
    assert_eq!(api.v1("GET", "/carts", &shop.secret, None).0, 200);

    // The operator suspends the shop: refused within the cache's TTL.
    let env = [("DATABASE_URL", db.url.clone())];
    run("cartback", &env, &["tenant", "suspend", &shop.id]);
    std::thread::sleep(Duration::from_millis(400));
    let (status, body) = api.v1("GET", "/carts", &shop.secret, None);
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "TENANT_INACTIVE");
    run("cartback", &env, &["tenant", "resume", &shop.id]);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(api.v1("GET", "/carts", &shop.secret, None).0, 200);
}

/// The shop's and its neighbour's Stripe endpoint signing secrets.
const SHOP_WHSEC: &str = "whsec_seed003_shop_endpoint_secret";
const NEIGHBOUR_WHSEC: &str = "whsec_seed003_neighbour_endpoint_secret";

/// Posts `body` to the seed's Stripe URL (with `query`) as Stripe sends it.
fn stripe_posts(api: &Api, query: &str, body: &str, signature: &str) -> (u16, Value) {
    let response = api
        .http
        .post(format!("{}/api/webhooks/stripe{query}", api.base))
        .header("Content-Type", "application/json; charset=utf-8")
        .header(
            "User-Agent",
            "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        )
        .header("Stripe-Signature", signature)
        .body(body.to_owned())
        .send()
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

/// The seed's `POST /api/carts` (two of a 49.99 item), for `email` or no
/// one: the new cart's id.
fn seed_create(api: &Api, key: &str, email: Option<&str>) -> String {
    let mut body = json!({
        "customerName": "John Doe",
        "items": [{"name": "Product Name", "quantity": 2, "price": 49.99}]
    });
    if let Some(email) = email {
        body["customerEmail"] = json!(email);
    }
    let (status, created) = api.call("POST", "/api/carts", key, Some(&body));
    assert_eq!(status, 201, "{created}");
    created["data"]["id"].as_str().unwrap().to_owned()
}

/// A paid Checkout Session for `cart_id` (its `client_reference_id`), 99.98 USD.
fn checkout_completed(event: &str, cart_id: &str, intent: &str) -> String {
    json!({
        "id": event, "object": "event", "api_version": "2024-06-20",
        "created": Utc::now().timestamp(), "livemode": false,
        "type": "checkout.session.completed",
        "data": {"object": {
            "id": format!("cs_test_{event}"), "object": "checkout.session",
            "client_reference_id": cart_id, "payment_status": "paid", "status": "complete",
            "amount_total": 9998, "currency": "usd", "payment_intent": intent,
            "customer_details": {"email": "customer@example.com"}, "metadata": {},
        }},
    })
    .to_string()
}

/// A succeeded PaymentIntent naming `cart_id` in its metadata, 99.98 USD.
fn payment_intent_succeeded(event: &str, cart_id: &str, intent: &str) -> String {
    json!({
        "id": event, "object": "event", "api_version": "2024-06-20",
        "created": Utc::now().timestamp(), "livemode": false,
        "type": "payment_intent.succeeded",
        "data": {"object": {
            "id": intent, "object": "payment_intent", "amount": 9998,
            "amount_received": 9998, "currency": "usd", "status": "succeeded",
            "metadata": {"cart_id": cart_id},
        }},
    })
    .to_string()
}

/// The seed's error envelope with this status and code.
fn assert_refused(answer: &(u16, Value), status: u16, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["success"], false, "{}", answer.1);
    assert_eq!(answer.1["error"]["code"], code, "{}", answer.1);
}

fn message(answer: &(u16, Value)) -> &str {
    answer.1["error"]["message"].as_str().unwrap_or_default()
}

/// The cart's status as the seed's `GET /api/carts/:id` shows it.
fn seed_status(api: &Api, key: &str, cart: &str) -> String {
    let (status, body) = seed_client_get(api, key, &format!("/api/carts/{cart}"));
    assert_eq!(status, 200, "{body}");
    body["data"]["status"].as_str().unwrap().to_owned()
}

/// Whether the cart's native history has an event of `kind`.
fn has_event(api: &Api, key: &str, cart: &str, kind: &str) -> bool {
    let (status, history) = api.v1("GET", &format!("/carts/{cart}/history"), key, None);
    assert_eq!(status, 200, "{history}");
    history["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|event| event["kind"] == kind)
}

/// Seed 003's Stripe webhooks: a shop connected to Stripe natively receives
/// the two events the seed names at `POST /api/webhooks/stripe`, bare while it
/// is the only shop with signing secrets and with `?tenant=` always; carts the
/// worker emailed become recovered in the seed's cart, list and analytics and
/// in the native analytics. A signature under another secret, a replay from
/// ten minutes ago and an ambiguous bare URL are 400; a suspended shop's
/// well-signed event is 403 `TENANT_INACTIVE`, taken when Stripe retries it
/// after the shop is resumed.
fn stripe_events_at_the_seed_url(backend: Backend) {
    let db = TestDatabase::new(backend);
    // One recovery email a second after a cart is abandoned.
    let shop = create_tenant(&db.url, "1s");
    let neighbour = create_tenant(&db.url, "1h");
    let api = Api::start(
        &db.url,
        &[
            ("CARTBACK_MASTER_KEY", master_key()),
            ("CARTBACK_AUTH_CACHE_TTL", "0".to_owned()),
        ],
    );
    let outbox = tempfile::tempdir().unwrap();
    let _worker = spawn_worker_to_outbox(
        &db.url,
        outbox.path(),
        &[("CARTBACK_NO_MIGRATE", "true".to_owned())],
    );
    let key = shop.secret.as_str();
    let named = format!("?tenant={}", shop.id);

    // The shop connects Stripe through the native API: its endpoint's secret.
    let (status, body) = api.v1(
        "PATCH",
        "/integrations/stripe",
        key,
        Some(&json!({"webhookSecrets": [SHOP_WHSEC]})),
    );
    assert_eq!(status, 200, "{body}");

    // Carts recorded through the seed's route: two the worker emails, one it
    // cannot (no address).
    let first = seed_create(&api, key, Some("customer@example.com"));
    let second = seed_create(&api, key, Some("second@example.com"));
    let unaddressed = seed_create(&api, key, None);
    for cart in [&first, &second] {
        wait_for("the cart's recovery email", Duration::from_secs(60), || {
            has_event(&api, key, cart, "sent")
        });
    }

    // Refused, and the cart stays abandoned: signed under another secret, and
    // signed right but replayed ten minutes later.
    let paid = checkout_completed("evt_seed_paid", &first, "pi_seed_first");
    let wrong = stripe_posts(&api, "", &paid, &sign("whsec_not_the_shops", &paid, None));
    assert_refused(&wrong, 400, "BAD_REQUEST");
    assert!(
        message(&wrong).starts_with("invalid Stripe signature"),
        "{}",
        wrong.1
    );
    let ten_minutes_ago = Utc::now().timestamp() - 600;
    let replayed = stripe_posts(
        &api,
        "",
        &paid,
        &sign(SHOP_WHSEC, &paid, Some(ten_minutes_ago)),
    );
    assert_refused(&replayed, 400, "BAD_REQUEST");
    assert!(message(&replayed).contains("tolerance"), "{}", replayed.1);
    assert_eq!(seed_status(&api, key, &first), "abandoned");

    // checkout.session.completed at the seed's bare URL, the shop being the
    // only one with Stripe signing secrets: the emailed cart is recovered.
    let (status, body) = stripe_posts(&api, "", &paid, &sign(SHOP_WHSEC, &paid, None));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["orderId"], &body["duplicate"], &body["cartStatus"]),
        (&json!("pi_seed_first"), &json!(false), &json!("recovered")),
        "{body}"
    );
    assert_eq!(seed_status(&api, key, &first), "recovered");
    // Stripe delivering it again is a repeat, not a second order.
    let (status, body) = stripe_posts(&api, "", &paid, &sign(SHOP_WHSEC, &paid, None));
    assert_eq!((status, &body["duplicate"]), (200, &json!(true)), "{body}");

    // A second shop connects Stripe: the bare URL no longer names a shop.
    let (status, body) = api.v1(
        "PATCH",
        "/integrations/stripe",
        &neighbour.secret,
        Some(&json!({"webhookSecrets": [NEIGHBOUR_WHSEC]})),
    );
    assert_eq!(status, 200, "{body}");
    let intent = payment_intent_succeeded("evt_seed_intent", &second, "pi_seed_second");
    let signed = sign(SHOP_WHSEC, &intent, None);
    let ambiguous = stripe_posts(&api, "", &intent, &signed);
    assert_refused(&ambiguous, 400, "BAD_REQUEST");
    assert!(message(&ambiguous).contains("?tenant="), "{}", ambiguous.1);
    // Named, but the neighbour: its secret did not sign the event.
    let elsewhere = stripe_posts(&api, &format!("?tenant={}", neighbour.id), &intent, &signed);
    assert_refused(&elsewhere, 400, "BAD_REQUEST");
    assert_eq!(seed_status(&api, key, &second), "abandoned");
    // payment_intent.succeeded with the shop in the URL, as docs/compat.md
    // has it set in Stripe's dashboard.
    let (status, body) = stripe_posts(&api, &named, &intent, &signed);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["orderId"], &body["duplicate"], &body["cartStatus"]),
        (&json!("pi_seed_second"), &json!(false), &json!("recovered")),
        "{body}"
    );

    // The seed's list and analytics, and the native analytics, count both.
    let (status, list) = seed_client_get(&api, key, "/api/carts?status=recovered");
    assert_eq!(status, 200, "{list}");
    let mut listed: Vec<&str> = list["data"]["carts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cart| cart["id"].as_str().unwrap())
        .collect();
    listed.sort_unstable();
    let mut expected = [first.as_str(), second.as_str()];
    expected.sort_unstable();
    assert_eq!(listed, expected, "{list}");
    assert_eq!(list["data"]["pagination"]["total"], 2);
    let (status, report) = seed_client_get(&api, key, "/api/analytics?period=7d");
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report["data"]["summary"],
        json!({"totalAbandoned": 3, "totalRecovered": 2, "recoveryRate": 66.67,
               "totalAbandonedValue": 299.94, "totalRecoveredValue": 199.96})
    );
    let days = report["data"]["dailyStats"].as_array().unwrap();
    let recovered: u64 = days.iter().map(|d| d["recovered"].as_u64().unwrap()).sum();
    assert_eq!(recovered, 2, "{report}");
    let (status, native) = api.v1("GET", "/analytics?period=7d", key, None);
    assert_eq!(status, 200, "{native}");
    assert_eq!(
        (
            &native["summary"]["abandoned"],
            &native["summary"]["recovered"]
        ),
        (&json!(3), &json!(2)),
        "{native}"
    );

    // The operator suspends the shop. A well-signed event is refused with
    // 403 (Stripe retries it), a badly signed one learns nothing more than a
    // 400; the seed's routes are refused too.
    let env = [("DATABASE_URL", db.url.clone())];
    run("cartback", &env, &["tenant", "suspend", &shop.id]);
    let late = checkout_completed("evt_seed_late", &unaddressed, "pi_seed_late");
    let suspended = stripe_posts(&api, &named, &late, &sign(SHOP_WHSEC, &late, None));
    assert_refused(&suspended, 403, "TENANT_INACTIVE");
    let forged = stripe_posts(&api, &named, &late, &sign(NEIGHBOUR_WHSEC, &late, None));
    assert_refused(&forged, 400, "BAD_REQUEST");
    for path in ["/api/carts", "/api/analytics"] {
        assert_refused(&seed_client_get(&api, key, path), 403, "TENANT_INACTIVE");
    }
    // Resumed, Stripe's retry (signed anew, as Stripe signs each attempt) is
    // taken: a cart that had no email is converted, not recovered.
    run("cartback", &env, &["tenant", "resume", &shop.id]);
    let (status, body) = stripe_posts(&api, &named, &late, &sign(SHOP_WHSEC, &late, None));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["cartStatus"], "converted", "{body}");
    assert_eq!(seed_status(&api, key, &unaddressed), "converted");
}

/// Seed 003's `POST /api/carts/:id/payment-link`, through a stand-in for
/// Stripe's API: the seed's answer, the link shown as the cart's
/// `paymentLink`, the Checkout Session made for exactly what the cart holds;
/// Stripe refusing is 502 `UPSTREAM_ERROR` in the seed's envelope.
fn the_seed_payment_link(backend: Backend) {
    let db = TestDatabase::new(backend);
    let shop = create_tenant(&db.url, "1h");
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
                    r#"{{"id":"cs_test_seed","object":"checkout.session","url":"https://checkout.stripe.com/c/pay/cs_test_seed","expires_at":{expires}}}"#
                ),
            )
        }
    });
    let api = Api::start(
        &db.url,
        &[
            ("CARTBACK_MASTER_KEY", master_key()),
            ("CARTBACK_AUTH_CACHE_TTL", "0".to_owned()),
            ("CARTBACK_STRIPE_API_BASE", stub.base_url.clone()),
        ],
    );
    let key = shop.secret.as_str();
    let (status, body) = api.v1(
        "PATCH",
        "/integrations/stripe",
        key,
        Some(&json!({"secretKey": "sk_test_seed003"})),
    );
    assert_eq!(status, 200, "{body}");
    let cart = seed_create(&api, key, Some("customer@example.com"));

    let (status, answer) = api.call(
        "POST",
        &format!("/api/carts/{cart}/payment-link"),
        key,
        None,
    );
    assert_eq!(status, 200, "{answer}");
    let expires_at = chrono::DateTime::from_timestamp(expires, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(
        answer,
        json!({"success": true, "data": {
            "paymentLink": "https://checkout.stripe.com/c/pay/cs_test_seed",
            "expiresAt": expires_at,
        }})
    );
    let requests = stub.requests();
    assert_eq!(requests.len(), 1);
    let form = form_pairs(&requests[0].body);
    let value = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("{name} is missing from {form:?}"))
    };
    assert_eq!(value("client_reference_id"), cart);
    assert_eq!(value("customer_email"), "customer@example.com");
    assert_eq!(value("line_items[0][price_data][currency]"), "usd");
    assert_eq!(value("line_items[0][price_data][unit_amount]"), "4999");
    assert_eq!(value("line_items[0][quantity]"), "2");
    assert_eq!(
        value("line_items[0][price_data][product_data][name]"),
        "Product Name"
    );

    // The cart shows its link, in the seed's GET and list.
    let (_, one) = seed_client_get(&api, key, &format!("/api/carts/{cart}"));
    assert_eq!(
        one["data"]["paymentLink"],
        "https://checkout.stripe.com/c/pay/cs_test_seed"
    );
    let (_, list) = seed_client_get(&api, key, "/api/carts");
    assert_eq!(list["data"]["carts"][0]["id"], cart.as_str());
    assert_eq!(
        list["data"]["carts"][0]["paymentLink"],
        "https://checkout.stripe.com/c/pay/cs_test_seed"
    );

    // Stripe refuses: 502 in the seed's envelope, and no link is shown.
    let (status, body) = api.v1(
        "PATCH",
        "/integrations/stripe",
        key,
        Some(&json!({"secretKey": "sk_test_declined"})),
    );
    assert_eq!(status, 200, "{body}");
    let other = seed_create(&api, key, Some("customer@example.com"));
    let refused = api.call(
        "POST",
        &format!("/api/carts/{other}/payment-link"),
        key,
        None,
    );
    assert_refused(&refused, 502, "UPSTREAM_ERROR");
    let (_, one) = seed_client_get(&api, key, &format!("/api/carts/{other}"));
    assert_eq!(one["data"]["paymentLink"], Value::Null);
}

on_both_backends!(stripe_events_at_the_seed_url, the_seed_payment_link);

#[test]
fn the_seed_routes_are_limited_per_address_on_sqlite() {
    the_seed_routes_are_limited_per_address(Backend::Sqlite);
}

#[test]
fn the_seed_routes_are_limited_per_address_on_postgres() {
    the_seed_routes_are_limited_per_address(Backend::Postgres);
}
