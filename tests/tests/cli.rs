//! The admin command line against a real database: tenants and keys, and a revoked
//! key stops working at the api at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{Value, json};

use cartback_e2e::process::{free_port, run, spawn, wait_for};
use cartback_store::Backend;
use cartback_store::testing::TestDatabase;

#[test]
fn keys_can_be_created_listed_and_revoked() {
    let db = TestDatabase::new(Backend::Sqlite);
    let env = [("DATABASE_URL", db.url.clone())];
    assert!(run("cartback", &env, &["migrate"]).contains("up to date"));
    let tenant: Value = serde_json::from_str(
        run(
            "cartback",
            &env,
            &[
                "tenant",
                "create",
                "--name",
                "Keys shop",
                "--from",
                "hi@shop.example",
                "--json",
            ],
        )
        .trim(),
    )
    .unwrap();
    let tenant_id = tenant["tenantId"].as_str().unwrap();
    assert!(tenant["secretKey"].as_str().unwrap().starts_with("sk_"));
    assert!(
        tenant["publishableKey"]
            .as_str()
            .unwrap()
            .starts_with("pk_")
    );

    let created: Value = serde_json::from_str(
        run(
            "cartback",
            &env,
            &[
                "key", "create", "--tenant", tenant_id, "--label", "ci", "--json",
            ],
        )
        .trim(),
    )
    .unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    let key_id = created["keyId"].as_str().unwrap().to_owned();

    let listed: Value = serde_json::from_str(
        run(
            "cartback",
            &env,
            &["key", "list", "--tenant", tenant_id, "--json"],
        )
        .trim(),
    )
    .unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert!(
        listed
            .iter()
            .all(|k| k.get("key").is_none() && k["prefix"].as_str().unwrap().len() == 10),
        "secrets are never listed"
    );
    let tenants = run("cartback", &env, &["tenant", "list"]);
    assert!(tenants.contains("Keys shop") && tenants.contains(tenant_id));

    let port = free_port();
    let _api = spawn(
        "cartback-api",
        &[
            ("DATABASE_URL", db.url.clone()),
            ("CARTBACK_BIND", format!("127.0.0.1:{port}")),
        ],
        &["--no-migrate"],
    );
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/api/v1/track");
    wait_for("the api", Duration::from_secs(30), || {
        http.get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .is_ok()
    });
    let order = json!({"event": "ORDER_COMPLETE", "sessionId": "s-1"});
    let status = |key: &str| {
        http.post(&url)
            .bearer_auth(key)
            .json(&order)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(status(&key), 200);

    run(
        "cartback",
        &env,
        &["key", "revoke", "--tenant", tenant_id, "--key", &key_id],
    );
    assert_eq!(status(&key), 401);
    // Revoking again, or another tenant's key, is an error.
    let output = std::process::Command::new(cartback_e2e::process::bin_path("cartback"))
        .args(["key", "revoke", "--tenant", tenant_id, "--key", &key_id])
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(!output.status.success());
}

#[test]
fn provider_commands_set_show_test_and_delete() {
    let db = TestDatabase::new(Backend::Sqlite);
    let stub = cartback_e2e::http_stub::HttpStub::start();
    let key = run("cartback", &[], &["keys", "generate-master"])
        .trim()
        .to_owned();
    let env = [
        ("DATABASE_URL", db.url.clone()),
        ("CARTBACK_MASTER_KEY", key),
    ];
    let tenant: Value = serde_json::from_str(
        run(
            "cartback",
            &env,
            &["tenant", "create", "--name", "CLI shop", "--json"],
        )
        .trim(),
    )
    .unwrap();
    let tenant_id = tenant["tenantId"].as_str().unwrap();
    let settings = json!({"provider": "sendgrid", "apiKey": "SG.cli_secret_value_123", "baseUrl": stub.base_url}).to_string();
    let set = run(
        "cartback",
        &env,
        &[
            "provider",
            "set",
            "--tenant",
            tenant_id,
            "--settings",
            &settings,
        ],
    );
    assert!(
        set.contains("SG.…_123") && !set.contains("cli_secret"),
        "{set}"
    );
    let shown = run(
        "cartback",
        &env,
        &["provider", "show", "--tenant", tenant_id],
    );
    assert!(
        shown.contains("sendgrid") && !shown.contains("cli_secret"),
        "{shown}"
    );
    let tested = run(
        "cartback",
        &env,
        &[
            "provider",
            "test",
            "--tenant",
            tenant_id,
            "--to",
            "me@shop.example",
        ],
    );
    assert!(tested.contains("delivered through sendgrid"), "{tested}");
    let requests = stub.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v3/mail/send");
    assert_eq!(
        requests[0].header("authorization"),
        Some("Bearer SG.cli_secret_value_123")
    );
    run(
        "cartback",
        &env,
        &["provider", "delete", "--tenant", tenant_id],
    );
    assert!(
        run(
            "cartback",
            &env,
            &["provider", "show", "--tenant", tenant_id]
        )
        .contains("server default")
    );
}
