//! The shop settings and API keys APIs in process, on SQLite and PostgreSQL:
//! round trips, partial changes, every 422, key creation and revocation (a
//! revoked key gets 401 within the auth cache TTL), the last secret key and
//! another tenant's key. (The settings in a real email from the real worker:
//! the end-to-end crate's `shop_api.rs`.)

use std::time::{Duration, Instant};

use chrono::TimeDelta;
use serde_json::{Value, json};

use cartback_store::Backend;
use cartback_testing::app::{Tenant, cart_update, error_fields};
use cartback_testing::on_both_backends;
use cartback_testing::process::wait_for;

use crate::harness::{InProcess, Options};

/// The auth cache TTL of these tests' api: short, so a revocation shows fast.
const AUTH_TTL: Duration = Duration::from_millis(300);

struct Shop {
    api: InProcess,
    tenant: Tenant,
    other: Tenant,
}

fn shop(backend: Backend) -> Shop {
    let api = InProcess::with(
        backend,
        &Options {
            auth_cache_ttl: Some(AUTH_TTL),
            ..Options::default()
        },
    );
    let tenant = api.tenant("Test shop", TimeDelta::hours(1));
    let other = api.tenant("Test shop", TimeDelta::hours(1));
    Shop { api, tenant, other }
}

impl Shop {
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.api.v1(method, path, &self.tenant.secret, body)
    }

    fn patch_shop(&self, body: Value) -> (u16, Value) {
        self.call("PATCH", "/settings/shop", Some(&body))
    }
}

fn shop_settings_round_trip(backend: Backend) {
    let shop = shop(backend);
    let (status, body) = shop.call("GET", "/settings/shop", None);
    assert_eq!(status, 200, "{body}");
    let settings = &body["shop"];
    assert_eq!(settings["name"], "Test shop");
    assert_eq!(settings["fromEmail"], "shop@example.com");
    assert_eq!(settings["recoveryUrl"], "https://shop.example/cart");
    assert_eq!(settings["replyTo"], Value::Null);
    assert_eq!(settings["timeZone"], "UTC");
    assert_eq!(settings["defaultCurrency"], "USD");
    assert_eq!(settings["defaultLocale"], "en");

    // A partial change: what the body leaves out stays as it is.
    let (status, body) = shop.patch_shop(json!({
        "replyTo": "help@shop.example",
        "timeZone": "Europe/Amsterdam",
        "fromName": "Sam at Test shop",
        "defaultLocale": "nl_nl",
    }));
    assert_eq!(status, 200, "{body}");
    let (_, read) = shop.call("GET", "/settings/shop", None);
    let settings = &read["shop"];
    assert_eq!(settings["replyTo"], "help@shop.example");
    assert_eq!(settings["timeZone"], "Europe/Amsterdam");
    assert_eq!(settings["fromName"], "Sam at Test shop");
    assert_eq!(settings["defaultLocale"], "nl-NL");
    assert_eq!(settings["name"], "Test shop");
    assert_eq!(settings["recoveryUrl"], "https://shop.example/cart");
    assert_eq!(
        body["shop"], read["shop"],
        "the PATCH answers what is stored"
    );

    // One source of truth: the zone is the policy's, the language the email settings'.
    let (status, recovery) = shop.call("GET", "/settings/recovery", None);
    assert_eq!(status, 200, "{recovery}");
    assert_eq!(recovery["policy"]["timeZone"], "Europe/Amsterdam");
    assert_eq!(recovery["email"]["defaultLocale"], "nl-NL");
    let mut policy = recovery["policy"].clone();
    policy["timeZone"] = json!("America/New_York");
    let (status, body) = shop.call(
        "PATCH",
        "/settings/recovery",
        Some(&json!({"policy": policy})),
    );
    assert_eq!(status, 200, "{body}");
    let (_, read) = shop.call("GET", "/settings/shop", None);
    assert_eq!(read["shop"]["timeZone"], "America/New_York");
    // … and the recovery settings keep their steps when the shop changes its zone.
    let steps = body["policy"]["steps"].clone();
    shop.patch_shop(json!({"timeZone": "Asia/Tokyo"}));
    let (_, recovery) = shop.call("GET", "/settings/recovery", None);
    assert_eq!(recovery["policy"]["steps"], steps);
    assert_eq!(recovery["policy"]["timeZone"], "Asia/Tokyo");

    // null clears an optional field; English is stored as no default at all.
    let (status, body) = shop.patch_shop(
        json!({"replyTo": null, "fromName": null, "recoveryUrl": null, "defaultLocale": "en"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["shop"]["replyTo"], Value::Null);
    assert_eq!(body["shop"]["fromName"], Value::Null);
    assert_eq!(body["shop"]["recoveryUrl"], Value::Null);
    let (_, recovery) = shop.call("GET", "/settings/recovery", None);
    assert!(
        recovery["email"].get("defaultLocale").is_none(),
        "{recovery}"
    );

    // Every bad field at once, in one 422; nothing is stored.
    let (status, body) = shop.patch_shop(json!({
        "name": "x".repeat(201),
        "recoveryUrl": format!("https://shop.example/{}", "a".repeat(2048)),
        "fromEmail": "not an address",
        "fromName": "Sam\r\nBcc: someone@evil.example",
        "replyTo": "nobody",
        "timeZone": "Mars/Olympus",
        "defaultCurrency": "EURO",
        "defaultLocale": "dutch please",
        "colour": "blue",
    }));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
    let mut named = error_fields(&body);
    named.sort();
    let mut expected = vec![
        "colour",
        "name",
        "recoveryUrl",
        "fromEmail",
        "fromName",
        "replyTo",
        "timeZone",
        "defaultCurrency",
        "defaultLocale",
    ];
    expected.sort_unstable();
    assert_eq!(named, expected, "{body}");
    let (_, read) = shop.call("GET", "/settings/shop", None);
    assert_eq!(read["shop"]["name"], "Test shop");
    // Required fields cannot be cleared; wrong types and bad links are named.
    let (status, body) = shop.patch_shop(json!({
        "name": null, "fromEmail": null, "timeZone": null, "defaultCurrency": null, "defaultLocale": null,
    }));
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        error_fields(&body),
        [
            "name",
            "fromEmail",
            "timeZone",
            "defaultCurrency",
            "defaultLocale"
        ]
    );
    let (status, body) =
        shop.patch_shop(json!({"name": 7, "recoveryUrl": "javascript:alert(1)", "replyTo": ["a"]}));
    assert_eq!(status, 422, "{body}");
    let mut named = error_fields(&body);
    named.sort();
    assert_eq!(named, ["name", "recoveryUrl", "replyTo"]);
    let (status, body) = shop.patch_shop(json!({"name": "Shop\u{0}"}));
    assert_eq!(
        (status, error_fields(&body)),
        (422, vec!["name".to_owned()])
    );
    for method in ["PATCH", "PUT"] {
        let (status, body) = shop.call(method, "/settings/shop", Some(&json!(["name"])));
        assert_eq!(status, 400, "{method}: {body}");
    }

    // The default currency is what a tracked cart without one gets (after the
    // auth cache forgets the tenant as it was).
    let (status, body) =
        shop.patch_shop(json!({"defaultCurrency": "eur", "name": "  Renamed shop "}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["shop"]["defaultCurrency"], "EUR");
    assert_eq!(body["shop"]["name"], "Renamed shop");
    std::thread::sleep(Duration::from_millis(400));
    let mut cart = cart_update("no-currency", None);
    cart.as_object_mut().unwrap().remove("currency");
    let (status, body) = shop.api.track(&shop.tenant.secret, &cart);
    assert_eq!(status, 200, "{body}");
    let (status, body) = shop.call("GET", "/carts/no-currency", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["currency"], "EUR");

    // The other shop is untouched, and publishable keys may not read settings.
    let (_, theirs) = shop
        .api
        .v1("GET", "/settings/shop", &shop.other.secret, None);
    assert_eq!(theirs["shop"]["name"], "Test shop");
    assert_eq!(theirs["shop"]["defaultCurrency"], "USD");
    let (status, _) = shop
        .api
        .v1("GET", "/settings/shop", &shop.tenant.publishable, None);
    assert_eq!(status, 403);
    let (status, _) = shop
        .api
        .v1("PUT", "/settings/shop", "sk_nonsense", Some(&json!({})));
    assert_eq!(status, 401);
}

fn api_keys_lifecycle(backend: Backend) {
    let shop = shop(backend);
    let (status, body) = shop.call("GET", "/api-keys", None);
    assert_eq!(status, 200, "{body}");
    let keys = body["data"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{body}");
    let secret = keys.iter().find(|k| k["kind"] == "secret").unwrap();
    let publishable = keys.iter().find(|k| k["kind"] == "publishable").unwrap();
    assert!(
        shop.tenant
            .secret
            .starts_with(secret["prefix"].as_str().unwrap())
    );
    assert!(
        shop.tenant
            .publishable
            .starts_with(publishable["prefix"].as_str().unwrap())
    );
    assert_eq!(secret["label"], "default");
    assert_eq!(secret["revokedAt"], Value::Null);
    // This very request used the secret key: its last use is written down.
    assert!(secret["lastUsedAt"].is_string(), "{secret}");
    assert_eq!(publishable["lastUsedAt"], Value::Null);
    assert!(
        !body.to_string().contains(&shop.tenant.secret),
        "secrets are never listed"
    );
    let original_id = secret["id"].as_str().unwrap().to_owned();

    // Created keys are answered in full once, and work at once.
    let (status, body) = shop.call(
        "POST",
        "/api-keys",
        Some(&json!({"kind": "secret", "label": " ERP "})),
    );
    assert_eq!(status, 201, "{body}");
    let erp = body["key"].as_str().unwrap().to_owned();
    assert!(erp.starts_with("sk_"), "{body}");
    assert!(erp.starts_with(body["apiKey"]["prefix"].as_str().unwrap()));
    assert_eq!(body["apiKey"]["label"], "ERP");
    assert_eq!(body["apiKey"]["kind"], "secret");
    let erp_id = body["apiKey"]["id"].as_str().unwrap().to_owned();
    let (status, _) = shop.api.v1("GET", "/settings/shop", &erp, None);
    assert_eq!(status, 200);
    let (status, body) = shop.call("POST", "/api-keys", Some(&json!({"kind": "publishable"})));
    assert_eq!(status, 201, "{body}");
    let pk = body["key"].as_str().unwrap().to_owned();
    assert!(pk.starts_with("pk_"));
    assert_eq!(body["apiKey"]["label"], Value::Null);
    let (status, _) = shop.api.v1("GET", "/api-keys", &pk, None);
    assert_eq!(status, 403, "a publishable key manages no keys");
    let (status, body) = shop.call("GET", "/api-keys", None);
    assert_eq!(status, 200);
    assert_eq!(body["data"].as_array().unwrap().len(), 4);
    assert!(!body.to_string().contains(&erp));

    // Every bad request is a 422 naming its fields.
    for (request, expected) in [
        (json!({}), vec!["kind"]),
        (json!({"kind": "admin"}), vec!["kind"]),
        (json!({"kind": 1, "label": 2}), vec!["kind", "label"]),
        (
            json!({"kind": "secret", "label": "x".repeat(101)}),
            vec!["label"],
        ),
        (
            json!({"kind": "secret", "label": "a\nb", "scope": "all"}),
            vec!["scope", "label"],
        ),
    ] {
        let (status, body) = shop.call("POST", "/api-keys", Some(&request));
        assert_eq!(status, 422, "{request}: {body}");
        assert_eq!(error_fields(&body), expected, "{request}: {body}");
    }
    let (status, _) = shop.call("POST", "/api-keys", Some(&json!("secret")));
    assert_eq!(status, 400);

    // Revoked: refused within the auth cache's TTL.
    let (status, body) = shop.call("DELETE", &format!("/api-keys/{erp_id}"), None);
    assert_eq!(status, 200, "{body}");
    assert!(body["apiKey"]["revokedAt"].is_string(), "{body}");
    let revoked_at = Instant::now();
    wait_for(
        "the revoked key to be refused",
        Duration::from_secs(5),
        || shop.api.v1("GET", "/settings/shop", &erp, None).0 == 401,
    );
    assert!(revoked_at.elapsed() < Duration::from_secs(2));
    let (status, _) = shop.call("DELETE", &format!("/api-keys/{erp_id}"), None);
    assert_eq!(status, 404, "revoked already");
    let (status, _) = shop.call("DELETE", "/api-keys/key_nonexistent", None);
    assert_eq!(status, 404);

    // Another tenant's key is a 404 and stays usable.
    let (_, theirs) = shop.api.v1("GET", "/api-keys", &shop.other.secret, None);
    let their_id = theirs["data"][0]["id"].as_str().unwrap().to_owned();
    let (status, body) = shop.call("DELETE", &format!("/api-keys/{their_id}"), None);
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        shop.api.v1("GET", "/api-keys", &shop.other.secret, None).0,
        200
    );

    // The last active secret key cannot go: 409, and it keeps working.
    let (status, body) = shop.call("DELETE", &format!("/api-keys/{original_id}"), None);
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "CONFLICT");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("last active secret key")
    );
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(shop.call("GET", "/api-keys", None).0, 200);
    // With another secret key made first, it can.
    let (_, body) = shop.call("POST", "/api-keys", Some(&json!({"kind": "secret"})));
    let replacement = body["key"].as_str().unwrap().to_owned();
    let (status, body) = shop.api.v1(
        "DELETE",
        &format!("/api-keys/{original_id}"),
        &replacement,
        None,
    );
    assert_eq!(status, 200, "{body}");
    wait_for(
        "the original key to be refused",
        Duration::from_secs(5),
        || shop.call("GET", "/api-keys", None).0 == 401,
    );
    // Publishable keys are never the last secret: revoking them is fine.
    let (_, listed) = shop.api.v1("GET", "/api-keys", &replacement, None);
    for key in listed["data"].as_array().unwrap() {
        if key["kind"] == "publishable" {
            let (status, body) = shop.api.v1(
                "DELETE",
                &format!("/api-keys/{}", key["id"].as_str().unwrap()),
                &replacement,
                None,
            );
            assert_eq!(status, 200, "{body}");
        }
    }
}

on_both_backends!(shop_settings_round_trip, api_keys_lifecycle);
