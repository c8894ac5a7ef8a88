//! The shop settings in a real email from the real worker, on SQLite and
//! PostgreSQL: the reply-to and the recovery URL. (The shop settings and API
//! keys APIs themselves are tested in process: crates/cartback-api/tests/it/shop_api.rs.)

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use cartback_store::Backend;
use cartback_testing::TestDatabase;
use cartback_testing::app::{Api, Tenant, cart_update, create_tenant, spawn_worker_to_outbox};
use cartback_testing::on_both_backends;
use cartback_testing::process::wait_for;

struct Shop {
    _db: TestDatabase,
    db_url: String,
    api: Api,
    tenant: Tenant,
}

fn shop(backend: Backend, delay: &str) -> Shop {
    let db = TestDatabase::new(backend);
    let tenant = create_tenant(&db.url, delay);
    let api = Api::start(&db.url, &[]);
    Shop {
        db_url: db.url.clone(),
        _db: db,
        api,
        tenant,
    }
}

impl Shop {
    fn patch_shop(&self, body: Value) -> (u16, Value) {
        self.api
            .v1("PATCH", "/settings/shop", &self.tenant.secret, Some(&body))
    }
}

/// The `.eml` files the file provider wrote, oldest first.
fn emails(outbox: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(outbox)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The first `/r/` link of an email (quoted-printable soft breaks removed).
fn recovery_link(source: &str, base: &str) -> String {
    let text = source.replace("=\r\n", "").replace("=\n", "");
    let prefix = format!("{base}/r/");
    let start = text.find(&prefix).expect("a recovery link");
    text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '<' | '>' | ')'))
        .collect()
}

fn emails_carry_the_shop_settings(backend: Backend) {
    let shop = shop(backend, "1s");
    let (status, body) = shop.patch_shop(json!({
        "replyTo": "help@shop.example",
        "recoveryUrl": "https://new-shop.example/basket",
    }));
    assert_eq!(status, 200, "{body}");
    let outbox = tempfile::tempdir().unwrap();
    let _worker = spawn_worker_to_outbox(
        &shop.db_url,
        outbox.path(),
        &[
            ("CARTBACK_PUBLIC_URL", shop.api.base.clone()),
            ("CARTBACK_NO_MIGRATE", "true".to_owned()),
        ],
    );
    let (status, body) = shop.api.track(
        &shop.tenant.secret,
        &cart_update("reply-1", Some("ann@example.com")),
    );
    assert_eq!(status, 200, "{body}");
    wait_for("the recovery email", Duration::from_secs(30), || {
        !emails(outbox.path()).is_empty()
    });
    let source = std::fs::read_to_string(&emails(outbox.path())[0]).unwrap();
    assert!(
        source
            .lines()
            .any(|l| l == "Reply-To: help@shop.example\r" || l == "Reply-To: help@shop.example"),
        "{source}"
    );
    let link = recovery_link(&source, &shop.api.base);
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client.get(&link).send().unwrap();
    assert_eq!(response.status().as_u16(), 302, "{link}");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("https://new-shop.example/basket?"),
        "{location}"
    );
}

on_both_backends!(emails_carry_the_shop_settings);
