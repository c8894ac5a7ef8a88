//! Seed 003, Quick Checkout Tracker's API, driven by a client written from the
//! seed's own curl/JSON examples (`x-api-key`, the request bodies as shown):
//! every request and answer the seed shows and its error cases, on both
//! backends. A cart marked recovered records an order, so the seed's
//! analytics, the native stats and the `cart.recovered` webhook agree.
//! (The 100-a-minute limit needs the binary's request layer: the end-to-end
//! crate's `compat_quick_checkout.rs`.)

use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};

use cartback_store::Backend;
use cartback_store::crypto::MasterKeys;
use cartback_testing::app::error_fields;
use cartback_testing::{execute_raw, on_both_backends};

use crate::harness::{Call, InProcess, Options};

/// The seed's client: `x-api-key` and JSON, paths relative to `/api`.
struct SeedClient<'a> {
    api: &'a InProcess,
    key: String,
}

impl SeedClient<'_> {
    fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut call = Call::new(method, &format!("/api{path}")).header("x-api-key", &self.key);
        if let Some(body) = body {
            call = call.json(&body);
        }
        let answer = self.api.send(call);
        (answer.status, answer.json())
    }
}

/// The seed's `POST /api/carts` body.
fn seed_cart() -> Value {
    json!({
        "customerEmail": "customer@example.com",
        "customerName": "John Doe",
        "items": [{"name": "Product Name", "quantity": 2, "price": 49.99}]
    })
}

fn assert_error(answer: &(u16, Value), status: u16, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["success"], false, "{}", answer.1);
    assert_eq!(answer.1["error"]["code"], code, "{}", answer.1);
    assert!(answer.1["error"]["message"].is_string(), "{}", answer.1);
}

/// Every field of the seed's cart, as its `GET /api/carts/:id` and list show
/// it, and each line's `name`, `quantity` and `price`.
fn assert_seed_fields(cart: &Value) {
    let shown = cart.as_object().expect("a cart object");
    for field in [
        "id",
        "customerEmail",
        "customerName",
        "items",
        "totalValue",
        "status",
        "abandonedAt",
        "paymentLink",
        "createdAt",
        "updatedAt",
    ] {
        assert!(shown.contains_key(field), "{field} missing: {cart}");
    }
    for item in cart["items"].as_array().expect("items") {
        for field in ["name", "quantity", "price"] {
            assert!(item.get(field).is_some(), "items[].{field} missing: {cart}");
        }
    }
}

fn the_seed_client_works_unchanged(backend: Backend) {
    let api = InProcess::with(
        backend,
        &Options {
            master_key: Some(MasterKeys::generate()),
            ..Options::default()
        },
    );
    let shop = api.tenant("Shop", TimeDelta::hours(1));
    let client = SeedClient {
        api: &api,
        key: shop.secret.clone(),
    };
    let (status, hook) = api.v1(
        "POST",
        "/webhook-endpoints",
        &shop.secret,
        Some(&json!({"url": "https://hooks.example.com/in", "events": ["cart.abandoned", "cart.recovered"]})),
    );
    assert_eq!(status, 201, "{hook}");
    let hook_id = hook["id"]
        .as_str()
        .or(hook["data"]["id"].as_str())
        .expect("endpoint id")
        .to_owned();

    // POST /api/carts: the seed's body and answer.
    let (status, created) = client.send("POST", "/carts", Some(seed_cart()));
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["success"], true);
    let cart = &created["data"];
    let id = cart["id"].as_str().expect("id").to_owned();
    assert_eq!(cart["customerEmail"], "customer@example.com");
    assert_eq!(cart["customerName"], "John Doe");
    assert_eq!(
        cart["items"],
        json!([{"id": "item-1", "name": "Product Name", "quantity": 2, "price": 49.99}])
    );
    assert_eq!(cart["totalValue"], json!(99.98));
    assert_eq!(cart["status"], "abandoned");
    assert!(cart["createdAt"].as_str().unwrap().ends_with('Z'));
    assert!(cart["sessionId"].as_str().unwrap().starts_with("qct_"));

    // GET /api/carts/:id: every field the seed shows.
    let (status, one) = client.send("GET", &format!("/carts/{id}"), None);
    assert_eq!(status, 200, "{one}");
    assert_seed_fields(&one["data"]);
    assert_eq!(one["data"]["paymentLink"], Value::Null);
    assert!(one["data"]["abandonedAt"].is_string());

    // GET /api/carts: the seed's list shape and its defaults.
    for _ in 0..11 {
        assert_eq!(client.send("POST", "/carts", Some(seed_cart())).0, 201);
    }
    let (status, list) = client.send("GET", "/carts", None);
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["success"], true);
    assert_eq!(list["data"]["carts"].as_array().unwrap().len(), 10);
    for cart in list["data"]["carts"].as_array().unwrap() {
        assert_seed_fields(cart);
        assert_eq!(cart["items"][0]["price"], json!(49.99), "{cart}");
    }
    assert_eq!(
        list["data"]["pagination"],
        json!({"page": 1, "limit": 10, "total": 12, "totalPages": 2})
    );
    let (_, page) = client.send("GET", "/carts?status=abandoned&page=3&limit=5", None);
    assert_eq!(
        page["data"]["pagination"],
        json!({"page": 3, "limit": 5, "total": 12, "totalPages": 3})
    );
    assert_eq!(page["data"]["carts"].as_array().unwrap().len(), 2);
    assert_eq!(client.send("GET", "/carts?limit=100", None).0, 200);
    for bad in [
        "/carts?limit=101",
        "/carts?limit=0",
        "/carts?page=0",
        "/carts?status=lost",
        "/carts?limit=ten",
    ] {
        let answer = client.send("GET", bad, None);
        assert_error(&answer, 422, "VALIDATION_ERROR");
        assert_eq!(error_fields(&answer.1).len(), 1, "{bad}: {}", answer.1);
    }

    // PATCH {"status": "recovered"}: an order, counted everywhere.
    let (status, patched) = client.send(
        "PATCH",
        &format!("/carts/{id}"),
        Some(json!({"status": "recovered"})),
    );
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["data"]["status"], "recovered");
    let (_, recovered) = client.send("GET", "/carts?status=recovered", None);
    assert_eq!(recovered["data"]["pagination"]["total"], 1);
    let (_, counts) = api.v1("GET", "/stats/carts", &shop.secret, None);
    assert_eq!(
        (counts["abandoned"].clone(), counts["recovered"].clone()),
        (json!(12), json!(1))
    );
    let (_, native) = api.v1("GET", "/analytics?period=7d", &shop.secret, None);
    assert_eq!(native["summary"]["recovered"], 1);
    let (_, deliveries) = api.v1(
        "GET",
        &format!("/webhook-endpoints/{hook_id}/deliveries"),
        &shop.secret,
        None,
    );
    let events: Vec<&str> = deliveries["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events.iter().filter(|e| **e == "cart.recovered").count(),
        1,
        "{deliveries}"
    );
    assert_eq!(
        events.iter().filter(|e| **e == "cart.abandoned").count(),
        12,
        "{deliveries}"
    );
    // A closed cart is not reopened; the body is checked.
    assert_error(
        &client.send(
            "PATCH",
            &format!("/carts/{id}"),
            Some(json!({"status": "abandoned"})),
        ),
        409,
        "CONFLICT",
    );
    assert_error(
        &client.send(
            "PATCH",
            &format!("/carts/{id}"),
            Some(json!({"status": "found"})),
        ),
        422,
        "VALIDATION_ERROR",
    );
    assert_error(
        &client.send("PATCH", &format!("/carts/{id}"), Some(json!({}))),
        422,
        "VALIDATION_ERROR",
    );
    assert_error(
        &client.send(
            "PATCH",
            &format!("/carts/{id}"),
            Some(json!({"status": "expired", "total": 1})),
        ),
        422,
        "VALIDATION_ERROR",
    );
    let other = list["data"]["carts"][0]["id"].as_str().unwrap().to_owned();
    let (status, expired) = client.send(
        "PATCH",
        &format!("/carts/{other}"),
        Some(json!({"status": "expired"})),
    );
    assert_eq!(
        (status, expired["data"]["status"].clone()),
        (200, json!("expired"))
    );
    let (_, expired_list) = client.send("GET", "/carts?status=expired", None);
    assert_eq!(expired_list["data"]["pagination"]["total"], 1);

    // GET /api/analytics: the seed's summary and daily stats.
    let (status, report) = client.send("GET", "/analytics?period=7d", None);
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["success"], true);
    assert_eq!(
        report["data"]["summary"],
        json!({"totalAbandoned": 12, "totalRecovered": 1, "recoveryRate": 8.33,
               "totalAbandonedValue": 1199.76, "totalRecoveredValue": 99.98})
    );
    let days = report["data"]["dailyStats"].as_array().unwrap();
    assert_eq!(days.len(), 7);
    let today = Utc::now().format("%Y-%m-%d").to_string();
    let last = days.last().unwrap();
    assert_eq!(last["date"], today.as_str());
    assert_eq!(
        (
            last["abandoned"].clone(),
            last["recovered"].clone(),
            last["abandonedValue"].clone(),
            last["recoveredValue"].clone()
        ),
        (json!(12), json!(1), json!(1199.76), json!(99.98))
    );
    assert_eq!(days[0]["abandoned"], 0);
    for period in ["30d", "90d"] {
        assert_eq!(
            client
                .send("GET", &format!("/analytics?period={period}"), None)
                .0,
            200
        );
    }
    let (_, default) = client.send("GET", "/analytics", None);
    assert_eq!(default["data"]["dailyStats"].as_array().unwrap().len(), 30);
    let dated = format!("/analytics?startDate={today}&endDate={today}T23:00:00Z");
    let (status, dated) = client.send("GET", &dated, None);
    assert_eq!(status, 200, "{dated}");
    assert_eq!(dated["data"]["summary"]["totalAbandoned"], 12);
    assert_eq!(dated["data"]["dailyStats"].as_array().unwrap().len(), 1);
    for bad in [
        "/analytics?period=14d".to_owned(),
        format!("/analytics?startDate={today}"),
        "/analytics?startDate=yesterday&endDate=today".to_owned(),
        format!("/analytics?period=7d&startDate={today}&endDate={today}"),
    ] {
        assert_error(&client.send("GET", &bad, None), 422, "VALIDATION_ERROR");
    }

    // DELETE /api/carts/:id, then it is gone.
    let (status, deleted) = client.send("DELETE", &format!("/carts/{other}"), None);
    assert_eq!((status, deleted), (200, json!({"success": true})));
    let gone = client.send("GET", &format!("/carts/{other}"), None);
    assert_error(&gone, 404, "NOT_FOUND");
    assert_eq!(gone.1["error"]["message"], "Cart not found");
    assert_error(
        &client.send("DELETE", &format!("/carts/{other}"), None),
        404,
        "NOT_FOUND",
    );
    assert_error(
        &client.send(
            "PATCH",
            "/carts/cart_missing",
            Some(json!({"status": "recovered"})),
        ),
        404,
        "NOT_FOUND",
    );

    // POST /api/carts/:id/payment-link without Stripe connected.
    assert_error(
        &client.send("POST", &format!("/carts/{id}/payment-link"), None),
        409,
        "CONFLICT",
    );
    let open = list["data"]["carts"][1]["id"].as_str().unwrap().to_owned();
    assert_error(
        &client.send("POST", &format!("/carts/{open}/payment-link"), None),
        409,
        "CONFLICT",
    );
    assert_error(
        &client.send("POST", "/carts/cart_missing/payment-link", None),
        404,
        "NOT_FOUND",
    );
}

fn bad_requests_get_the_seed_envelope(backend: Backend) {
    let api = InProcess::start(backend);
    let shop = api.tenant("Shop", TimeDelta::hours(1));
    let other = api.tenant("Other", TimeDelta::hours(1));
    let client = SeedClient {
        api: &api,
        key: shop.secret.clone(),
    };

    // Missing or invalid API key: 401 UNAUTHORIZED, a publishable key included.
    for key in ["", "sk_wrong", shop.publishable.as_str()] {
        let wrong = SeedClient {
            api: &api,
            key: key.to_owned(),
        };
        for (method, path) in [("GET", "/carts"), ("GET", "/analytics"), ("POST", "/carts")] {
            let body = (method == "POST").then(seed_cart);
            assert_error(&wrong.send(method, path, body), 401, "UNAUTHORIZED");
        }
    }
    // Another shop's cart is not found.
    let (_, created) = SeedClient {
        api: &api,
        key: other.secret.clone(),
    }
    .send("POST", "/carts", Some(seed_cart()));
    let foreign = created["data"]["id"].as_str().unwrap();
    assert_error(
        &client.send("GET", &format!("/carts/{foreign}"), None),
        404,
        "NOT_FOUND",
    );
    assert_error(
        &client.send(
            "PATCH",
            &format!("/carts/{foreign}"),
            Some(json!({"status": "recovered"})),
        ),
        404,
        "NOT_FOUND",
    );

    // Not JSON, not an object: 400 BAD_REQUEST.
    let raw = |body: &str| {
        let answer = api.send(
            Call::new("POST", "/api/carts")
                .header("x-api-key", &shop.secret)
                .header("Content-Type", "application/json")
                .body(body.to_owned()),
        );
        (answer.status, answer.json())
    };
    assert_error(&raw("{\"items\": ["), 400, "BAD_REQUEST");
    assert_error(&raw("[1, 2]"), 400, "BAD_REQUEST");

    // Validation: 422 naming every field.
    for (body, fields) in [
        (json!({}), vec!["items"]),
        (json!({"items": []}), vec!["items"]),
        (json!({"items": "mug"}), vec!["items"]),
        (
            json!({"customerEmail": "not-an-address", "items": [{"name": "Mug", "quantity": 1, "price": 5}]}),
            vec!["customerEmail"],
        ),
        (
            json!({"items": [{"quantity": 0, "price": -1}]}),
            vec!["items[0].name", "items[0].price", "items[0].quantity"],
        ),
        (
            json!({"items": [{"name": "Mug", "quantity": 1, "price": "5"}]}),
            vec!["items[0].price"],
        ),
        (
            json!({"items": [{"name": "Mug", "quantity": 1, "price": 5.001}]}),
            vec!["items[0].price"],
        ),
        (
            json!({"currency": "XYZ", "items": [{"name": "Mug", "quantity": 1, "price": 5}]}),
            vec!["currency"],
        ),
        (
            json!({"items": [{"name": "Mug", "quantity": 1, "price": 5}], "sessionId": "mine"}),
            vec!["sessionId"],
        ),
    ] {
        let answer = client.send("POST", "/carts", Some(body.clone()));
        assert_error(&answer, 422, "VALIDATION_ERROR");
        let mut named = error_fields(&answer.1);
        named.sort();
        assert_eq!(named, fields, "{body}: {}", answer.1);
    }
    // A currency of the shop's choosing, and ids kept when given.
    let (status, yen) = client.send(
        "POST",
        "/carts",
        Some(json!({"currency": "jpy", "items": [{"id": 7, "name": "Tea", "quantity": 3, "price": 500}]})),
    );
    assert_eq!(status, 201, "{yen}");
    assert_eq!(yen["data"]["currency"], "JPY");
    assert_eq!(yen["data"]["totalValue"], json!(1500));
    assert_eq!(yen["data"]["items"][0]["id"], "7");
    assert_eq!(yen["data"]["customerEmail"], Value::Null);

    // Stripe's events need a shop: none has Stripe set up here.
    let answer = api.send(
        Call::new("POST", "/api/webhooks/stripe")
            .header("Stripe-Signature", "t=1,v1=00")
            .json(&json!({"type": "checkout.session.completed"})),
    );
    assert_eq!(answer.status, 400, "{:?}", answer.json());
    assert_eq!(answer.json()["error"]["code"], "BAD_REQUEST");
    let answer = api.send(
        Call::new("POST", &format!("/api/webhooks/stripe?tenant={}", shop.id))
            .header("Stripe-Signature", "t=1,v1=00")
            .json(&json!({"type": "checkout.session.completed"})),
    );
    assert_eq!(
        answer.status,
        400,
        "an unknown or unsigned shop: {:?}",
        answer.json()
    );
}

/// The seed's `INTERNAL_ERROR`: cartback failing (here its orders table is
/// gone from under it) is a 500 in the seed's envelope, naming no cause.
fn a_failure_is_internal_error(backend: Backend) {
    let api = InProcess::start(backend);
    let shop = api.tenant("Shop", TimeDelta::hours(1));
    let client = SeedClient {
        api: &api,
        key: shop.secret.clone(),
    };
    execute_raw(
        &mut api.store.conn().unwrap(),
        "ALTER TABLE orders RENAME TO orders_gone",
        &[],
    )
    .unwrap();
    let answer = client.send("GET", "/analytics", None);
    assert_error(&answer, 500, "INTERNAL_ERROR");
    assert!(!answer.1.to_string().contains("orders"), "{}", answer.1);
}

on_both_backends!(
    the_seed_client_works_unchanged,
    bad_requests_get_the_seed_envelope,
    a_failure_is_internal_error
);
