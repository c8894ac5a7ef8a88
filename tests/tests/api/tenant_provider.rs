//! A tenant's own email provider: set through the API, sealed at rest, used by the
//! worker instead of the server default, testable, and still working after a
//! master-key rotation.

use std::time::Duration;

use serde_json::{Value, json};

use cartback_store::Backend;
use cartback_testing::TestDatabase;
use cartback_testing::app::{master_key, spawn_worker_to_outbox, tenant_create_json};
use cartback_testing::http_stub::HttpStub;
use cartback_testing::process::{Running, free_port, run, spawn, wait_for};

const SECRET: &str = "re_live_SECRET_4f9a2c71";

fn worker(db: &TestDatabase, outbox: &std::path::Path, keys: &[(&str, String)]) -> Running {
    let mut env = vec![
        ("CARTBACK_EMAIL_PROVIDER", "file".to_owned()),
        // The tenants' providers of these tests are loopback stubs.
        ("CARTBACK_ALLOW_PRIVATE_TARGETS", "true".to_owned()),
    ];
    env.extend(keys.iter().map(|(k, v)| (*k, v.clone())));
    spawn_worker_to_outbox(&db.url, outbox, &env)
}

/// Every byte of the SQLite database files.
fn database_bytes(db: &TestDatabase) -> Vec<u8> {
    let path = db.url.trim_start_matches("sqlite://");
    let mut bytes = std::fs::read(path).unwrap();
    for suffix in ["-wal", "-shm"] {
        bytes.extend(std::fs::read(format!("{path}{suffix}")).unwrap_or_default());
    }
    bytes
}

#[test]
fn a_tenant_sends_through_its_own_sealed_provider() {
    let db = TestDatabase::new(Backend::Sqlite);
    let stub = HttpStub::start();
    let outbox = tempfile::tempdir().unwrap();
    let old_key = master_key();
    let env = [("DATABASE_URL", db.url.clone())];
    let tenant = tenant_create_json(&env, &["--name", "Own provider", "--delay", "200ms"]);
    let secret_key = tenant["secretKey"].as_str().unwrap().to_owned();
    let publishable = tenant["publishableKey"].as_str().unwrap().to_owned();

    let port = free_port();
    let api_env = vec![
        ("DATABASE_URL", db.url.clone()),
        ("CARTBACK_BIND", format!("127.0.0.1:{port}")),
        ("CARTBACK_MASTER_KEY", old_key.clone()),
        // The tenant's provider is a loopback stub.
        ("CARTBACK_ALLOW_PRIVATE_TARGETS", "true".to_owned()),
    ];
    let api = spawn("cartback-api", &api_env, &[]);
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    wait_for("the api", Duration::from_secs(30), || {
        http.get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .is_ok()
    });

    // Set it: validated, answered masked.
    let settings = json!({"provider": "resend", "apiKey": SECRET, "baseUrl": stub.base_url});
    let response = http
        .put(format!("{base}/email-provider"))
        .bearer_auth(&secret_key)
        .json(&settings)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().unwrap();
    assert!(
        !text.contains(SECRET) && text.contains("re_…2c71"),
        "{text}"
    );
    let shown: Value = http
        .get(format!("{base}/email-provider"))
        .bearer_auth(&secret_key)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(shown["emailProvider"]["provider"], "resend");
    assert!(!shown.to_string().contains(SECRET));
    let forbidden = http
        .get(format!("{base}/email-provider"))
        .bearer_auth(&publishable)
        .send()
        .unwrap();
    assert_eq!(forbidden.status().as_u16(), 403);
    for bad in [
        json!({"provider": "pigeon"}),
        json!({"provider": "mailgun", "apiKey": "k", "domain": "bad/dom"}),
        json!({"provider": "resend", "apiKey": ""}),
    ] {
        let response = http
            .put(format!("{base}/email-provider"))
            .bearer_auth(&secret_key)
            .json(&bad)
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 422, "{bad}");
    }
    assert!(
        !database_bytes(&db)
            .windows(SECRET.len())
            .any(|w| w == SECRET.as_bytes()),
        "no plaintext secret in the database"
    );

    // The test endpoint sends a real email through it.
    let tested: Value = http
        .post(format!("{base}/email-provider/test"))
        .bearer_auth(&secret_key)
        .json(&json!({"to": "owner@shop.example"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(tested["delivered"], json!(true), "{tested}");
    assert_eq!(stub.requests().len(), 1);
    assert_eq!(
        stub.requests()[0].header("authorization"),
        Some(format!("Bearer {SECRET}").as_str())
    );

    // The worker uses the tenant's provider, not the server's file outbox.
    let track = |session: &str| {
        let cart = json!({"event": "CART_UPDATE", "sessionId": session, "customerEmail": "buyer@example.com",
                          "items": [{"id": "a", "name": "A", "price": 5, "quantity": 1}], "total": 5});
        assert_eq!(
            http.post(format!("{base}/track"))
                .bearer_auth(&secret_key)
                .json(&cart)
                .send()
                .unwrap()
                .status()
                .as_u16(),
            200
        );
    };
    let first = worker(
        &db,
        outbox.path(),
        &[("CARTBACK_MASTER_KEY", old_key.clone())],
    );
    track("s-1");
    wait_for(
        "the tenant provider's call",
        Duration::from_secs(20),
        || stub.requests().len() == 2,
    );
    drop(first);
    assert_eq!(
        std::fs::read_dir(outbox.path())
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );

    // Rotate: new key current, old key previous; reseal; then only the new key is needed.
    let new_key = master_key();
    let rotated = run(
        "cartback",
        &[
            ("DATABASE_URL", db.url.clone()),
            ("CARTBACK_MASTER_KEY", new_key.clone()),
            ("CARTBACK_PREVIOUS_MASTER_KEYS", old_key.clone()),
        ],
        &["keys", "rotate-master"],
    );
    assert!(rotated.contains("re-sealed 1"), "{rotated}");
    let _second = worker(
        &db,
        outbox.path(),
        &[("CARTBACK_MASTER_KEY", new_key.clone())],
    );
    track("s-2");
    wait_for("a send after rotation", Duration::from_secs(20), || {
        stub.requests().len() == 3
    });

    // Deleting it brings back the server default.
    drop(api);
    let _api = spawn(
        "cartback-api",
        &[
            ("DATABASE_URL", db.url.clone()),
            ("CARTBACK_BIND", format!("127.0.0.1:{port}")),
            ("CARTBACK_MASTER_KEY", new_key),
        ],
        &[],
    );
    wait_for("the api again", Duration::from_secs(30), || {
        http.get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .is_ok()
    });
    assert_eq!(
        http.delete(format!("{base}/email-provider"))
            .bearer_auth(&secret_key)
            .send()
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        http.get(format!("{base}/email-provider"))
            .bearer_auth(&secret_key)
            .send()
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    track("s-3");
    wait_for("the default file provider", Duration::from_secs(20), || {
        std::fs::read_dir(outbox.path())
            .map(|d| d.count())
            .unwrap_or(0)
            == 1
    });
    assert_eq!(stub.requests().len(), 3);
}

/// What the operator may configure but a tenant may not: the server's disk, the
/// server's own AWS credentials, private addresses.
#[test]
fn a_tenant_cannot_borrow_the_servers_disk_credentials_or_network() {
    use cartback_testing::app::{Api, create_tenant};
    let db = TestDatabase::new(cartback_store::Backend::Sqlite);
    let tenant = create_tenant(&db.url, "1h");
    let api = Api::start(
        &db.url,
        &[(
            "CARTBACK_MASTER_KEY",
            cartback_store::crypto::MasterKeys::generate(),
        )],
    );
    let put = |settings: serde_json::Value| {
        let (status, answer) = api.call(
            "PUT",
            "/api/v1/email-provider",
            &tenant.secret,
            Some(&settings),
        );
        (status, answer["error"]["details"][0]["field"].clone())
    };
    assert_eq!(
        put(json!({"provider": "file", "dir": "/etc"})),
        (422, json!("provider"))
    );
    assert_eq!(
        put(json!({"provider": "ses", "region": "eu-west-1"})),
        (422, json!("accessKeyId"))
    );
    assert_eq!(
        put(json!({"provider": "resend", "apiKey": SECRET, "baseUrl": "http://127.0.0.1:9"})),
        (422, json!("baseUrl"))
    );
    assert_eq!(
        put(
            json!({"provider": "ses", "region": "eu-west-1", "accessKeyId": "AKIAEXAMPLE",
                   "secretAccessKey": "secret", "endpointUrl": "http://169.254.169.254/"})
        ),
        (422, json!("endpointUrl"))
    );
    // Names that resolve to loopback, not only literal addresses.
    for base in [
        "http://localhost:9",
        "http://api.localhost:9",
        "http://[::ffff:127.0.0.1]:9",
    ] {
        assert_eq!(
            put(json!({"provider": "resend", "apiKey": SECRET, "baseUrl": base})),
            (422, json!("baseUrl")),
            "{base}"
        );
    }
    for url in ["smtp://localhost:2525", "smtps://u:p@127.0.0.1:465"] {
        assert_eq!(
            put(json!({"provider": "smtp", "url": url})),
            (422, json!("url")),
            "{url}"
        );
    }
    let (status, answer) = api.call(
        "PUT",
        "/api/v1/email-provider",
        &tenant.secret,
        Some(&json!({"provider": "resend", "apiKey": SECRET})),
    );
    assert_eq!(status, 200, "{answer}");
}

/// A provider stored by the operator with a loopback target (the CLI is not
/// held to the guard) cannot be used by the tenant's test send while the api
/// runs without --allow-private-targets: 422 naming the field, nothing reaches
/// the stub, nothing of its answer is echoed.
#[test]
fn the_test_send_refuses_a_loopback_provider_without_the_allow_flag() {
    use cartback_testing::app::{Api, create_tenant};
    use cartback_testing::http_stub::Reply;
    let db = TestDatabase::new(Backend::Sqlite);
    let tenant = create_tenant(&db.url, "1h");
    let key = cartback_store::crypto::MasterKeys::generate();
    let stub = HttpStub::start_with(|_, _| Reply::json(401, r#"{"message":"INTERNAL-ANSWER"}"#));
    let port = stub
        .base_url
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/');
    let settings = json!({"provider": "resend", "apiKey": SECRET,
                          "baseUrl": format!("http://localhost:{port}")});
    run(
        "cartback",
        &[
            ("DATABASE_URL", db.url.clone()),
            ("CARTBACK_MASTER_KEY", key.clone()),
        ],
        &[
            "provider",
            "set",
            "--tenant",
            &tenant.id,
            "--settings",
            &settings.to_string(),
        ],
    );
    let api = Api::start(&db.url, &[("CARTBACK_MASTER_KEY", key.clone())]);
    let (status, answer) = api.call(
        "POST",
        "/api/v1/email-provider/test",
        &tenant.secret,
        Some(&json!({"to": "owner@shop.example"})),
    );
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["code"], "VALIDATION_ERROR");
    assert_eq!(answer["error"]["details"][0]["field"], "baseUrl");
    let text = answer.to_string();
    assert!(text.contains("refused: private address"), "{text}");
    assert!(!text.contains("INTERNAL-ANSWER"), "{text}");
    assert!(stub.requests().is_empty(), "nothing reached the stub");
    drop(api);

    // With the flag the same provider is contacted, and its own error is reported.
    let allowed = Api::start(
        &db.url,
        &[
            ("CARTBACK_MASTER_KEY", key),
            ("CARTBACK_ALLOW_PRIVATE_TARGETS", "true".to_owned()),
        ],
    );
    let (status, answer) = allowed.call(
        "POST",
        "/api/v1/email-provider/test",
        &tenant.secret,
        Some(&json!({"to": "owner@shop.example"})),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["delivered"], json!(false));
    assert_eq!(stub.requests().len(), 1);
}
