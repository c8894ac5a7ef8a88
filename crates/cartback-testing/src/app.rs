//! The service as a test drives it: tenants made with the real CLI, the real
//! api and worker binaries, Retake-shaped tracking calls.

use std::time::Duration;

use serde_json::{Value, json};

use crate::process::{Running, free_port, run, spawn, wait_for};

pub struct Tenant {
    pub id: String,
    pub secret: String,
    pub publishable: String,
}

/// `cartback tenant create` with `args` and `--json`, run with `env`: the parsed
/// answer (for tests of the command itself; others want [`create_tenant`]).
pub fn tenant_create_json(env: &[(&str, String)], args: &[&str]) -> Value {
    let mut all = vec!["tenant", "create"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = run("cartback", env, &all);
    serde_json::from_str(out.trim()).expect("tenant json")
}

/// A tenant with one recovery step after `delay` (e.g. "1s"), through `cartback tenant create`.
pub fn create_tenant(database_url: &str, delay: &str) -> Tenant {
    create_tenant_with(
        database_url,
        &[
            "--name",
            "Test shop",
            "--from",
            "shop@example.com",
            "--recovery-url",
            "https://shop.example/cart",
            "--delay",
            delay,
        ],
    )
}

/// A tenant made by `cartback tenant create` with these arguments (name, sender,
/// recovery URL, delay…).
pub fn create_tenant_with(database_url: &str, args: &[&str]) -> Tenant {
    let v = tenant_create_json(&[("DATABASE_URL", database_url.to_owned())], args);
    Tenant {
        id: v["tenantId"].as_str().expect("tenantId").to_owned(),
        secret: v["secretKey"].as_str().expect("secretKey").to_owned(),
        publishable: v["publishableKey"]
            .as_str()
            .expect("publishableKey")
            .to_owned(),
    }
}

/// Starts `cartback-worker` on `database_url` polling every 50 ms, with `env`
/// added (a later entry wins over an earlier one with the same name). Killed
/// when the value drops.
pub fn spawn_worker(database_url: &str, env: &[(&str, String)]) -> Running {
    let mut all = vec![
        ("DATABASE_URL", database_url.to_owned()),
        ("CARTBACK_POLL_INTERVAL", "50ms".to_owned()),
    ];
    all.extend(env.iter().map(|(k, v)| (*k, v.clone())));
    spawn("cartback-worker", &all, &[])
}

pub struct Api {
    pub base: String,
    pub http: reqwest::blocking::Client,
    process: Running,
}

impl Api {
    /// Starts `cartback-api` on a free port with `env` added, and waits for /readyz.
    pub fn start(database_url: &str, env: &[(&str, String)]) -> Api {
        let port = free_port();
        let mut all = vec![
            ("DATABASE_URL", database_url.to_owned()),
            ("CARTBACK_BIND", format!("127.0.0.1:{port}")),
            ("CARTBACK_HTTP_WORKERS", "2".to_owned()),
        ];
        all.extend(env.iter().map(|(k, v)| (*k, v.clone())));
        let api = Api {
            base: format!("http://127.0.0.1:{port}"),
            process: spawn("cartback-api", &all, &[]),
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .expect("client"),
        };
        wait_for("the api to answer /readyz", Duration::from_secs(30), || {
            api.http
                .get(format!("{}/readyz", api.base))
                .send()
                .is_ok_and(|r| r.status().is_success())
        });
        api
    }

    /// SIGKILLs the api: no shutdown, no flush (crash tests).
    pub fn kill_hard(&mut self) {
        self.process.kill_hard();
    }

    /// Calls the api with a key and an optional JSON body: (status, JSON answer or Null).
    pub fn call(&self, method: &str, path: &str, key: &str, body: Option<&Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("X-API-Key", key);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().expect("request");
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    /// [`Api::call`] with `path` under `/api/v1`.
    pub fn v1(&self, method: &str, path: &str, key: &str, body: Option<&Value>) -> (u16, Value) {
        self.call(method, &format!("/api/v1{path}"), key, body)
    }

    /// `POST /api/v1/track`.
    pub fn track(&self, key: &str, body: &Value) -> (u16, Value) {
        self.call("POST", "/api/v1/track", key, Some(body))
    }
}

/// The fields an error answer's `details` name, in order (empty when it names none).
pub fn error_fields(answer: &Value) -> Vec<String> {
    answer["error"]["details"]
        .as_array()
        .map(|details| {
            details
                .iter()
                .map(|d| d["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A new master key, from `cartback keys generate-master`.
pub fn master_key() -> String {
    run("cartback", &[], &["keys", "generate-master"])
        .trim()
        .to_owned()
}

/// Starts `cartback-worker` as [`spawn_worker`] does, sending its emails as
/// `.eml` files into `outbox` (the file provider).
pub fn spawn_worker_to_outbox(
    database_url: &str,
    outbox: &std::path::Path,
    env: &[(&str, String)],
) -> Running {
    let mut all = vec![("CARTBACK_OUTBOX_DIR", outbox.display().to_string())];
    all.extend(env.iter().map(|(k, v)| (*k, v.clone())));
    spawn_worker(database_url, &all)
}

/// A CART_UPDATE with one 100.00 USD item.
pub fn cart_update(session: &str, email: Option<&str>) -> Value {
    let mut body = json!({
        "event": "CART_UPDATE",
        "sessionId": session,
        "items": [{"id": "sku_1", "name": "Product", "price": 100, "quantity": 1}],
        "total": 100.00,
        "currency": "USD",
    });
    if let Some(email) = email {
        body["customerEmail"] = json!(email);
        body["customerName"] = json!("Sam Shopper");
    }
    body
}
