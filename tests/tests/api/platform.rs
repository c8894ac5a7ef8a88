//! What every request goes through, against the real api: rate limits (per IP
//! on the browser routes, per secret key elsewhere), `/metrics`, `X-Request-Id`
//! and the one-line-per-request log in JSON mode.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};

use cartback_store::Backend;
use cartback_testing::TestDatabase;
use cartback_testing::app::{Api, cart_update, create_tenant};
use cartback_testing::process::{Running, command, free_port, wait_for};

const CAPTURE: &str = "/api/v1/public/abandoned-carts";

fn capture_body(session: &str) -> String {
    json!({
        "sessionId": session,
        "snapshot": {"items": [{"itemId": "a", "name": "A", "quantity": 1, "unitPriceInCents": 500}]}
    })
    .to_string()
}

fn header(response: &reqwest::blocking::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[test]
fn rate_limits_answer_429_with_retry_after() {
    let db = TestDatabase::new(Backend::Sqlite);
    let tenant = create_tenant(&db.url, "1h");
    let api = Api::start(
        &db.url,
        &[
            ("CARTBACK_RATE_LIMIT_IP_PER_MINUTE", "5".to_owned()),
            ("CARTBACK_RATE_LIMIT_KEY_PER_MINUTE", "3".to_owned()),
        ],
    );
    let post = |n: usize| {
        api.http
            .post(format!("{}{CAPTURE}", api.base))
            .header("X-API-Key", &tenant.publishable)
            .body(capture_body(&format!("sess_rate_limit_{n}")))
            .send()
            .unwrap()
    };
    for n in 0..5 {
        let response = post(n);
        assert_eq!(response.status().as_u16(), 200, "request {}", n + 1);
        assert_eq!(header(&response, "x-ratelimit-limit").as_deref(), Some("5"));
        assert_eq!(
            header(&response, "x-ratelimit-remaining"),
            Some((4 - n).to_string())
        );
    }
    let sixth = post(5);
    assert_eq!(sixth.status().as_u16(), 429);
    let retry_after: u64 = header(&sixth, "retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert!(header(&sixth, "x-request-id").is_some());
    let answer: Value = sixth.json().unwrap();
    assert_eq!(answer["success"], false);
    assert_eq!(answer["error"]["code"], "RATE_LIMITED");

    // Tracking with the publishable key shares the browser's (IP) budget.
    let (status, answer) = api.track(
        &tenant.publishable,
        &cart_update("sess_rate_limit_pk", None),
    );
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (429, json!("RATE_LIMITED"))
    );

    // A secret key has its own budget, unaffected by the IP's.
    for n in 0..3 {
        let (status, _) = api.track(&tenant.secret, &cart_update(&format!("sess_sk_{n}"), None));
        assert_eq!(status, 200, "secret key request {}", n + 1);
    }
    let (status, answer) = api.call("GET", "/api/v1/settings/recovery", &tenant.secret, None);
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (429, json!("RATE_LIMITED"))
    );

    // Health checks and the script are never limited.
    for path in ["/healthz", "/readyz", "/tracker.js"] {
        let response = api.http.get(format!("{}{path}", api.base)).send().unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
    }
}

fn metrics_scenario(backend: Backend) {
    let db = TestDatabase::new(backend);
    let tenant = create_tenant(&db.url, "1h");
    let api = Api::start(
        &db.url,
        &[("CARTBACK_METRICS_TOKEN", "scrape-me".to_owned())],
    );
    // Some traffic: captures, a 422, a recovery link with a token, a 404.
    for n in 0..3 {
        let response = api
            .http
            .post(format!("{}{CAPTURE}", api.base))
            .header("X-API-Key", &tenant.publishable)
            .body(capture_body(&format!("sess_metrics_run_{n}")))
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
    }
    let (status, _) = api.track(&tenant.secret, &json!({"event": "CART_UPDATE"}));
    assert_eq!(status, 422);
    let _ = api
        .http
        .get(format!("{}/r/secret-looking-token-123", api.base))
        .send()
        .unwrap();
    let _ = api
        .http
        .get(format!("{}/no/such/page", api.base))
        .send()
        .unwrap();

    let scrape = |token: Option<&str>| {
        let mut request = api.http.get(format!("{}/metrics", api.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().unwrap()
    };
    assert_eq!(scrape(None).status().as_u16(), 401);
    assert_eq!(scrape(Some("wrong")).status().as_u16(), 401);
    let response = scrape(Some("scrape-me"));
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        header(&response, "content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().unwrap();
    for line in [
        "# TYPE cartback_http_requests_total counter",
        "cartback_http_requests_total{route=\"/api/v1/public/abandoned-carts\",method=\"POST\",status=\"200\"} 3",
        "cartback_http_requests_total{route=\"/api/v1/track\",method=\"POST\",status=\"422\"} 1",
        "# TYPE cartback_http_request_duration_seconds histogram",
        "cartback_http_request_duration_seconds_count{route=\"/api/v1/public/abandoned-carts\"} 3",
        "cartback_http_request_duration_seconds_bucket{route=\"/api/v1/public/abandoned-carts\",le=\"+Inf\"} 3",
        "# TYPE cartback_ingest_batch_size histogram",
        "cartback_database_up 1",
        "# TYPE cartback_due_sends gauge",
        "cartback_due_sends 0",
        "cartback_queue_lag_seconds 0",
        "# TYPE cartback_sends_total gauge",
        "# TYPE cartback_webhook_deliveries gauge",
        "cartback_webhook_pending 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    // Route labels are patterns: the token and the unknown path never appear.
    assert!(text.contains("route=\"/r/{token}\""), "{text}");
    assert!(text.contains("route=\"unmatched\""), "{text}");
    assert!(!text.contains("secret-looking-token-123"));
    assert!(!text.contains("/no/such/page"));
    // Every captured cart went through a group-commit batch.
    let batched: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("cartback_ingest_batch_size_sum "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(batched, 3);
    // Every sample line is `name{labels} value` with a numeric value.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "bad sample {line:?}");
    }
}

#[test]
fn metrics_are_scraped_on_sqlite() {
    metrics_scenario(Backend::Sqlite);
}

#[test]
fn metrics_are_scraped_on_postgres() {
    metrics_scenario(Backend::Postgres);
}

#[test]
fn every_answer_carries_a_request_id() {
    let db = TestDatabase::new(Backend::Sqlite);
    let api = Api::start(&db.url, &[]);
    let get = |path: &str, id: Option<&str>| {
        let mut request = api.http.get(format!("{}{path}", api.base));
        if let Some(id) = id {
            request = request.header("X-Request-Id", id);
        }
        request.send().unwrap()
    };
    // A sane incoming id is echoed.
    let response = get("/healthz", Some("abc-123_from.the:proxy"));
    assert_eq!(
        header(&response, "x-request-id").as_deref(),
        Some("abc-123_from.the:proxy")
    );
    // None, or a bad one: a fresh id each time, on every kind of answer.
    let too_long = "x".repeat(65);
    let mut seen = Vec::new();
    for (path, id) in [
        ("/healthz", None),
        ("/healthz", Some(too_long.as_str())),
        ("/healthz", Some("has spaces in it")),
        ("/api/v1/carts", None),
        ("/no/such/page", None),
    ] {
        let response = get(path, id);
        let fresh = header(&response, "x-request-id").expect("X-Request-Id");
        assert!(fresh.starts_with("req_") && fresh.len() <= 64, "{fresh}");
        assert!(!seen.contains(&fresh));
        seen.push(fresh);
    }
}

/// Starts the api with its stderr in a file.
fn api_with_log(
    database_url: &str,
    log: &std::path::Path,
    env: &[(&str, String)],
) -> (Running, String) {
    let port = free_port();
    let mut all = vec![
        ("DATABASE_URL", database_url.to_owned()),
        ("CARTBACK_BIND", format!("127.0.0.1:{port}")),
        ("CARTBACK_HTTP_WORKERS", "2".to_owned()),
    ];
    all.extend(env.iter().map(|(k, v)| (*k, v.clone())));
    let child = command("cartback-api", &all, &[])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_for("the api", Duration::from_secs(30), || {
        reqwest::blocking::get(format!("{base}/readyz")).is_ok_and(|r| r.status().is_success())
    });
    (
        Running {
            child,
            name: "cartback-api".to_owned(),
        },
        base,
    )
}

#[test]
fn json_logs_have_one_line_per_request_without_secrets() {
    let db = TestDatabase::new(Backend::Sqlite);
    let tenant = create_tenant(&db.url, "1h");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("api.log");
    let (_api, base) = api_with_log(
        &db.url,
        &log,
        &[
            ("CARTBACK_LOG_FORMAT", "json".to_owned()),
            ("CARTBACK_LOG", "info".to_owned()),
        ],
    );
    let http = reqwest::blocking::Client::new();
    let response = http
        .post(format!("{base}/api/v1/track"))
        .header("X-API-Key", &tenant.secret)
        .header("X-Request-Id", "log-check-1")
        .json(&cart_update("sess_log_1", Some("private@example.com")))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let response = http
        .get(format!("{base}/r/token-that-must-not-be-logged"))
        .header("X-Request-Id", "log-check-2")
        .send()
        .unwrap();
    let link_status = response.status().as_u16();

    let mut lines: Vec<Value> = Vec::new();
    wait_for("the request log lines", Duration::from_secs(10), || {
        let text = std::fs::read_to_string(&log).unwrap();
        lines = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        let ids: Vec<&str> = lines
            .iter()
            .filter_map(|l| l["fields"]["request_id"].as_str())
            .collect();
        ids.contains(&"log-check-1") && ids.contains(&"log-check-2")
    });
    let find = |id: &str| {
        let found: Vec<&Value> = lines
            .iter()
            .filter(|l| l["fields"]["request_id"] == id && l["fields"]["message"] == "request")
            .collect();
        assert_eq!(found.len(), 1, "one line per request: {found:?}");
        found[0].clone()
    };
    let tracked = find("log-check-1");
    assert_eq!(tracked["level"], "INFO");
    assert_eq!(tracked["fields"]["method"], "POST");
    assert_eq!(tracked["fields"]["route"], "/api/v1/track");
    assert_eq!(tracked["fields"]["status"], 200);
    assert!(tracked["fields"]["duration_ms"].as_f64().is_some());
    assert_eq!(tracked["span"]["request_id"], "log-check-1");
    let link = find("log-check-2");
    assert_eq!(link["fields"]["route"], "/r/{token}");
    assert_eq!(link["fields"]["status"], link_status);

    let text = std::fs::read_to_string(&log).unwrap();
    for secret in [
        tenant.secret.as_str(),
        "private@example.com",
        "token-that-must-not-be-logged",
        "Sam Shopper",
    ] {
        assert!(!text.contains(secret), "{secret:?} was logged:\n{text}");
    }
}

#[test]
fn behind_a_trusted_proxy_the_forwarded_client_is_limited() {
    let db = TestDatabase::new(Backend::Sqlite);
    let tenant = create_tenant(&db.url, "1h");
    // The old flag: one proxy, whose right-most X-Forwarded-For entry is the client.
    let api = Api::start(
        &db.url,
        &[
            ("CARTBACK_RATE_LIMIT_IP_PER_MINUTE", "2".to_owned()),
            ("CARTBACK_TRUST_FORWARDED_FOR", "true".to_owned()),
        ],
    );
    let from = |client: &str, n: usize| {
        api.http
            .post(format!("{}{CAPTURE}", api.base))
            .header("X-API-Key", &tenant.publishable)
            // The left entry is the client's own invention: a fresh one each
            // time must not buy a fresh budget.
            .header("X-Forwarded-For", format!("198.51.100.{n}, {client}"))
            .body(capture_body(&format!("sess_behind_proxy_{n}")))
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(from("203.0.113.1", 0), 200);
    assert_eq!(from("203.0.113.1", 1), 200);
    assert_eq!(from("203.0.113.1", 2), 429);
    // Another client behind the same proxy has its own budget.
    assert_eq!(from("203.0.113.2", 3), 200);
}

/// Made-up secret keys cost the address that sends them, not a key window of
/// their own: past a low limit the address gets 429 without a database
/// look-up, while real keys (from it or anywhere else) keep working.
#[test]
fn a_flood_of_made_up_keys_is_refused_per_address_while_a_good_key_works() {
    let db = TestDatabase::new(Backend::Sqlite);
    let tenant = create_tenant(&db.url, "1h");
    let api = Api::start(
        &db.url,
        &[
            (
                "CARTBACK_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE",
                "5".to_owned(),
            ),
            ("CARTBACK_AUTH_CACHE_TTL", "1s".to_owned()),
            // The test client is the proxy: X-Forwarded-For names the clients.
            ("CARTBACK_TRUSTED_PROXIES", "127.0.0.1/32, ::1".to_owned()),
        ],
    );
    let track = |key: &str, client: &str, n: usize| {
        api.http
            .post(format!("{}/api/v1/track", api.base))
            .header("X-API-Key", key)
            .header("X-Forwarded-For", format!("10.{n}.0.1, {client}"))
            .json(&cart_update(&format!("sess_flood_{n}"), None))
            .send()
            .unwrap()
    };
    const ATTACKER: &str = "203.0.113.66";
    const SHOP: &str = "203.0.113.10";
    assert_eq!(track(&tenant.secret, SHOP, 0).status().as_u16(), 200);

    for n in 0..5 {
        let response = track(&format!("sk_madeup{n:04}xxxxxxxxxxxxxxxxxx"), ATTACKER, n);
        assert_eq!(response.status().as_u16(), 401, "made-up key {n}");
    }
    for n in 5..40 {
        let response = track(&format!("sk_madeup{n:04}xxxxxxxxxxxxxxxxxx"), ATTACKER, n);
        assert_eq!(response.status().as_u16(), 429, "made-up key {n}");
        let retry_after: u64 = header(&response, "retry-after")
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry_after));
        let answer: Value = response.json().unwrap();
        assert_eq!(answer["success"], false);
        assert_eq!(answer["error"]["code"], "RATE_LIMITED", "{answer}");
    }
    // No key at all from that address: refused too.
    let keyless = api
        .http
        .get(format!("{}/api/v1/carts", api.base))
        .header("X-Forwarded-For", ATTACKER)
        .send()
        .unwrap();
    assert_eq!(keyless.status().as_u16(), 429);

    // The shop's real key works, counted against its own per-key budget.
    let good = track(&tenant.secret, SHOP, 100);
    assert_eq!(good.status().as_u16(), 200);
    assert_eq!(header(&good, "x-ratelimit-limit").as_deref(), Some("60000"));
    // Another address with a wrong key is only at its first failure.
    assert_eq!(
        track("sk_wrongbutalone", "203.0.113.11", 101)
            .status()
            .as_u16(),
        401
    );
    // A real key works even from the refused address, and still after its
    // cached resolution expired (it is looked up again, junk is not).
    assert_eq!(track(&tenant.secret, ATTACKER, 102).status().as_u16(), 200);
    std::thread::sleep(Duration::from_millis(1_200));
    assert_eq!(track(&tenant.secret, ATTACKER, 103).status().as_u16(), 200);
    assert_eq!(
        track("sk_madeupagainxxxxxxxxxxxxxxx", ATTACKER, 104)
            .status()
            .as_u16(),
        429
    );
}
