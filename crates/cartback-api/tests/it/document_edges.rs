//! The rules the OpenAPI document states at the edges of its inputs, each
//! checked on its own against the api in process on both backends: what the
//! schema allows is accepted (integral floats for integers, `""` for "none",
//! null for "not set"), what it forbids is a 422 naming the field (padded
//! locales, integer ids past 64 bits, keys outside visible ASCII, …).
//! Schemathesis (`openapi.rs`) explores the same rules at random; these pin
//! each decision down.

use chrono::TimeDelta;
use serde_json::{Value, json};

use cartback_store::Backend;
use cartback_store::crypto::MasterKeys;
use cartback_testing::app::{Tenant, cart_update, error_fields};
use cartback_testing::on_both_backends;

use crate::harness::{InProcess, Options};

struct Shop {
    api: InProcess,
    tenant: Tenant,
}

fn shop(backend: Backend) -> Shop {
    let api = InProcess::with(
        backend,
        &Options {
            master_key: Some(MasterKeys::generate()),
            ..Options::default()
        },
    );
    let tenant = api.tenant("Test shop", TimeDelta::hours(1));
    Shop { api, tenant }
}

impl Shop {
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.api.call(method, path, &self.tenant.secret, body)
    }

    fn ok(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let (status, answer) = self.call(method, path, body);
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {answer}"
        );
        answer
    }

    /// A 422 whose details name `field`.
    fn refused(&self, method: &str, path: &str, body: Option<&Value>, field: &str) {
        let (status, answer) = self.call(method, path, body);
        assert_eq!(status, 422, "{method} {path}: {answer}");
        let named = error_fields(&answer);
        assert!(
            named.iter().any(|named| named == field),
            "{field} not in {named:?}: {answer}"
        );
    }
}

fn carts_take_what_the_document_allows(backend: Backend) {
    let shop = shop(backend);
    // A locale is a tag or "" (none); spaces around it are refused, not trimmed.
    let mut padded = cart_update("sess-edges-1", Some("sam@example.com"));
    padded["locale"] = json!(" en");
    shop.refused("POST", "/api/v1/track", Some(&padded), "locale");
    let mut empty = cart_update("sess-edges-1", Some("sam@example.com"));
    empty["locale"] = json!("");
    // Whole numbers written as floats are integers; ids past 64 bits are not.
    empty["items"] = json!([{"id": 5.0, "name": "Mug", "price": 12.5, "quantity": 2.0}]);
    empty["total"] = json!(25);
    let id = shop.ok("POST", "/api/v1/track", Some(&empty))["cartId"]
        .as_str()
        .unwrap()
        .to_owned();
    let cart = shop.ok("GET", &format!("/api/v1/carts/{id}"), None);
    assert_eq!(cart["data"]["locale"], Value::Null);
    assert_eq!(cart["data"]["items"][0]["id"], "5");
    assert_eq!(cart["data"]["items"][0]["quantity"], 2);
    let mut huge = cart_update("sess-edges-2", None);
    huge["items"][0]["id"] = serde_json::from_str("9223372036854775808").unwrap();
    shop.refused("POST", "/api/v1/track", Some(&huge), "items[0].id");

    // `event` on PUT /carts: left out, null or CART_UPDATE; anything else names it.
    let upsert = |event: Value| {
        json!({"externalId": 7.0, "items": [], "event": event,
               "attributes": [{"name": "tier", "integerValue": 3.0, "stringValue": null}]})
    };
    shop.refused("PUT", "/api/v1/carts", Some(&upsert(json!({}))), "event");
    shop.refused(
        "PUT",
        "/api/v1/carts",
        Some(&upsert(json!("ORDER_COMPLETE"))),
        "event",
    );
    let saved = shop.ok("PUT", "/api/v1/carts", Some(&upsert(json!("CART_UPDATE"))));
    assert_eq!(saved["data"]["externalId"], "7");
    assert_eq!(
        saved["data"]["attributes"],
        json!([{"name": "tier", "integerValue": 3}])
    );
}

on_both_backends!(carts_take_what_the_document_allows);

fn list_filters_as_the_document_writes_them(backend: Backend) {
    let shop = shop(backend);
    shop.refused("GET", "/api/v1/carts?status=", None, "status");
    shop.refused("GET", "/api/v1/carts?locale=%20en", None, "locale");
    shop.refused(
        "GET",
        "/api/v1/carts?created_after=0001-01-01",
        None,
        "created_after",
    );
    // The year as written counts: this one is 1969 in UTC, and still a filter.
    let page = shop.ok(
        "GET",
        "/api/v1/carts?created_after=1970-01-01T00:00:00%2B01:00&locale=",
        None,
    );
    assert_eq!(page["page"], 1);
}

on_both_backends!(list_filters_as_the_document_writes_them);

fn captured_amounts_are_whole_cents(backend: Backend) {
    let shop = shop(backend);
    let body = |cents: Value| {
        json!({"sessionId": "sess_edges_0001", "snapshot": {"currency": "EUR", "items": [
            {"itemId": 1.0, "name": "Pack", "quantity": 1.0, "unitPriceInCents": cents}]}})
    };
    let answer = shop.ok(
        "POST",
        "/api/v1/public/abandoned-carts",
        Some(&body(json!(18900.0))),
    );
    assert_eq!(answer["wasCreated"], true);
    let cart = shop.ok("GET", "/api/v1/carts/sess_edges_0001", None);
    assert_eq!(cart["data"]["items"][0]["priceMinor"], 18900);
    shop.refused(
        "POST",
        "/api/v1/public/abandoned-carts",
        Some(&body(json!(189.5))),
        "snapshot.items[0].unitPriceInCents",
    );
    shop.refused(
        "POST",
        "/api/v1/public/abandoned-carts",
        Some(&body(json!(100_000_000_000_001_i64))),
        "snapshot.items[0].unitPriceInCents",
    );
}

on_both_backends!(captured_amounts_are_whole_cents);

fn settings_read_null_as_not_set(backend: Backend) {
    let shop = shop(backend);
    let saved = shop.ok(
        "PUT",
        "/api/v1/settings/recovery",
        Some(&json!({
            "policy": {"maxEmailsPerCart": 2.0},
            "email": {"design": null, "copy": {"nl": [{"subject": null, "headline": "Hallo"}]}}
        })),
    );
    assert_eq!(saved["policy"]["maxEmailsPerCart"], 2);
    assert_eq!(saved["email"]["design"], "minimal");
    assert_eq!(saved["email"]["copy"]["nl"], json!([{"headline": "Hallo"}]));
    // A step is an object with known fields, not an array.
    shop.refused(
        "PATCH",
        "/api/v1/settings/recovery",
        Some(&json!({"email": {"copy": {"nl": [[null, null]]}}})),
        "email.copy.nl[0]",
    );
    shop.refused(
        "PATCH",
        "/api/v1/settings/recovery",
        Some(&json!({"email": {"copy": {"nl": [{"subjet": "typo"}]}}})),
        "email",
    );
    shop.refused(
        "PATCH",
        "/api/v1/settings/recovery",
        Some(&json!({"policy": [1]})),
        "policy",
    );
    let preview = shop.ok(
        "POST",
        "/api/v1/templates/preview",
        Some(&json!({"step": 2.0, "email": {"copy": null}})),
    );
    assert_eq!(preview["step"], 2);
}

on_both_backends!(settings_read_null_as_not_set);

fn secrets_are_taken_as_sent(backend: Backend) {
    let shop = shop(backend);
    // Keys travel in headers: visible ASCII only, nothing trimmed.
    shop.refused(
        "PUT",
        "/api/v1/email-provider",
        Some(&json!({"provider": "resend", "apiKey": "re_12 34"})),
        "provider",
    );
    shop.refused(
        "PUT",
        "/api/v1/email-provider",
        Some(&json!({"provider": "ses", "region": "EU-WEST-1",
                     "accessKeyId": "AKIAEXAMPLE", "secretAccessKey": "secret"})),
        "provider",
    );
    shop.refused(
        "PUT",
        "/api/v1/integrations/stripe",
        Some(&json!({"secretKey": " sk_test_0123456789"})),
        "secretKey",
    );
    shop.refused(
        "PUT",
        "/api/v1/integrations/stripe",
        Some(&json!({"webhookSecrets": ["whsec_0123456789 "]})),
        "webhookSecrets[0]",
    );
    let saved = shop.ok(
        "PUT",
        "/api/v1/integrations/stripe",
        Some(&json!({"secretKey": "sk_test_0123456789", "successUrl": "https://shop.example/ok"})),
    );
    assert_eq!(saved["successUrl"], "https://shop.example/ok");
}

on_both_backends!(secrets_are_taken_as_sent);

fn urls_and_origins_at_their_limits(backend: Backend) {
    let shop = shop(backend);
    // 2048 characters as given; the stored form gains a `/`.
    let url = format!(
        "https://{}.example",
        "a".repeat(2048 - "https://.example".len())
    );
    assert_eq!(url.len(), 2048);
    let endpoint = shop.ok(
        "POST",
        "/api/v1/webhook-endpoints",
        Some(&json!({"url": url, "events": ["*"]})),
    );
    assert_eq!(endpoint["url"], format!("{url}/"));
    let longer = format!("{url}a");
    shop.refused(
        "POST",
        "/api/v1/webhook-endpoints",
        Some(&json!({"url": longer, "events": ["*"]})),
        "url",
    );
    let origin = format!("https://{}.example", "a".repeat(300));
    shop.refused(
        "PUT",
        "/api/v1/settings/allowed-origins",
        Some(&json!({"allowedOrigins": [origin]})),
        "allowedOrigins[0]",
    );
    let saved = shop.ok(
        "PUT",
        "/api/v1/settings/allowed-origins",
        Some(&json!({"allowedOrigins": ["HTTPS://Shop.Example:443"]})),
    );
    assert_eq!(saved["allowedOrigins"], json!(["https://shop.example"]));
}

on_both_backends!(urls_and_origins_at_their_limits);
