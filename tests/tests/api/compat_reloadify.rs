//! Seed 004 against the real api and worker: a cart written through the
//! Reloadify route with the shop's own `recovery_url` is emailed by the worker,
//! and the recovery link in that email (`/r/{token}`, which counts the click)
//! sends the shopper to that URL exactly as the shop wrote it; a cart without
//! one goes to the shop's recovery URL with `session_id` and `cart_token`. The
//! link follows a later change of the URL and dies with a soft delete or the
//! seed's irreversible `DELETE`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use cartback_testing::app::{Api, Tenant, create_tenant, spawn_worker_to_outbox};
use cartback_testing::on_both_backends;
use cartback_testing::process::wait_for;
use cartback_testing::{Backend, TestDatabase};

/// The shop's own restore link, as the seed's example writes it.
const SHOP_OWN_URL: &str = "https://example-store.com/cart/recover/8f3k2m?token=rec_tk_a1b2c3";

/// The seed's curl: `curl -X {method} …/api/v2/{path} -H "Authorization:
/// Bearer {token}" [-H "Content-Type: application/json" -d '{body}']`.
fn curl(api: &Api, token: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = api
        .http
        .request(method, format!("{}/api/v2/{path}", api.base))
        .header("Authorization", format!("Bearer {token}"));
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

/// `PUT …/languages/en/shopping_carts` with `cart` as the `shopping_cart`.
fn put_cart(api: &Api, shop: &Tenant, cart: Value) -> (u16, Value) {
    curl(
        api,
        &shop.secret,
        "PUT",
        "languages/en/shopping_carts",
        Some(&json!({ "shopping_cart": cart })),
    )
}

/// The `.eml` files the file provider wrote.
fn emails(outbox: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(outbox)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                .collect()
        })
        .unwrap_or_default()
}

/// The recovery link of the email sent to `to` (quoted-printable undone).
fn recovery_link_to(outbox: &Path, to: &str, base: &str) -> String {
    let source = emails(outbox)
        .iter()
        .map(|path| std::fs::read_to_string(path).unwrap())
        .find(|source| {
            source
                .lines()
                .any(|line| line.trim_end() == format!("To: {to}"))
        })
        .unwrap_or_else(|| panic!("no email to {to}"));
    let text = source
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let prefix = format!("{base}/r/");
    let start = text.find(&prefix).expect("a recovery link");
    text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '<' | '>' | ')'))
        .collect()
}

/// The clicks the native history shows for the cart with the shop's id `cart`
/// (the history is read by cartback's own id, which `GET /api/v1/carts/{id}`
/// gives for the shop's).
fn clicks(api: &Api, shop: &Tenant, cart: &str) -> usize {
    let (status, native) = api.v1("GET", &format!("/carts/{cart}"), &shop.secret, None);
    assert_eq!(status, 200, "{native}");
    let id = native["data"]["id"].as_str().unwrap();
    let (status, history) = api.v1("GET", &format!("/carts/{id}/history"), &shop.secret, None);
    assert_eq!(status, 200, "{history}");
    history["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["kind"] == "clicked")
        .count()
}

fn the_recovery_link_restores_through_the_carts_own_url(backend: Backend) {
    let db = TestDatabase::new(backend);
    // One recovery email a second after the cart's last change; the shop's
    // recovery URL is https://shop.example/cart.
    let shop = create_tenant(&db.url, "1s");
    let api = Api::start(&db.url, &[("CARTBACK_AUTH_CACHE_TTL", "0".to_owned())]);
    let outbox = tempfile::tempdir().unwrap();
    let _worker = spawn_worker_to_outbox(
        &db.url,
        outbox.path(),
        &[
            ("CARTBACK_PUBLIC_URL", api.base.clone()),
            ("CARTBACK_NO_MIGRATE", "true".to_owned()),
        ],
    );

    // The seed's cart with a product and cartback's `email`, and one without
    // a recovery_url.
    let (status, body) = put_cart(
        &api,
        &shop,
        json!({"id": "cart_8f3k2m", "profile_id": "prof_abc123", "currency": "EUR",
               "price": "134.95", "recovery_url": SHOP_OWN_URL, "recovery_token": "rec_tk_a1b2c3",
               "product_ids": ["prod_wool_sweater"], "email": "dana@example.com"}),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = put_cart(
        &api,
        &shop,
        json!({"id": "cart_9g4l3n", "profile_id": "prof_def456", "currency": "EUR",
               "price": "59.00", "product_ids": ["prod_leather_belt"], "email": "sam@example.com"}),
    );
    assert_eq!(status, 201, "{body}");
    wait_for("both recovery emails", Duration::from_secs(60), || {
        emails(outbox.path()).len() >= 2
    });

    let browser = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let follow = |link: &str| -> (u16, Option<String>) {
        let response = browser.get(link).send().unwrap();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        (response.status().as_u16(), location)
    };

    // The cart with its own recovery_url: exactly that URL, the click counted.
    let own = recovery_link_to(outbox.path(), "dana@example.com", &api.base);
    assert_eq!(clicks(&api, &shop, "cart_8f3k2m"), 0);
    assert_eq!(follow(&own), (302, Some(SHOP_OWN_URL.to_owned())));
    assert_eq!(clicks(&api, &shop, "cart_8f3k2m"), 1);
    assert_eq!(clicks(&api, &shop, "cart_9g4l3n"), 0);

    // The cart without one: the shop's recovery URL, as for any cart.
    let shops = recovery_link_to(outbox.path(), "sam@example.com", &api.base);
    let token = shops.rsplit('/').next().unwrap();
    let (status, location) = follow(&shops);
    assert_eq!(status, 302);
    let location = location.unwrap();
    assert!(
        location.starts_with("https://shop.example/cart?session_id="),
        "{location}"
    );
    assert!(
        location.ends_with(&format!("&cart_token={token}")),
        "{location}"
    );
    assert_eq!(clicks(&api, &shop, "cart_9g4l3n"), 1);

    // The shop changes the cart's recovery_url: the same link follows it.
    let moved = "https://example-store.com/cart/recover/8f3k2m?token=rec_tk_d4e5f6";
    let (status, body) = put_cart(
        &api,
        &shop,
        json!({"id": "cart_8f3k2m", "profile_id": "prof_abc123", "recovery_url": moved,
               "recovery_token": "rec_tk_d4e5f6"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(follow(&own), (302, Some(moved.to_owned())));
    assert_eq!(clicks(&api, &shop, "cart_8f3k2m"), 2);

    // Soft-deleted (`deleted: true`), the link leads nowhere; the seed's
    // irreversible DELETE kills the other one for good.
    let (status, body) = put_cart(
        &api,
        &shop,
        json!({"id": "cart_8f3k2m", "profile_id": "prof_abc123", "deleted": true}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(follow(&own), (404, None));
    let (status, body) = curl(
        &api,
        &shop.secret,
        "DELETE",
        "languages/en/shopping_carts/cart_9g4l3n",
        None,
    );
    assert_eq!(status, 204, "{body}");
    assert_eq!(follow(&shops), (404, None));
}

on_both_backends!(the_recovery_link_restores_through_the_carts_own_url);
