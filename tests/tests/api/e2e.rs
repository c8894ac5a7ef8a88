//! End to end with the real binaries: SQLite and PostgreSQL, a real SMTP server
//! (maildev), Retake's client payloads.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use cartback_store::carts::find_cart_by_session;
use cartback_store::sends::{SendStatus, count_sends};
use cartback_store::{Backend, Store};
use cartback_testing::TestDatabase;
use cartback_testing::app::{
    Api, Tenant, cart_update, create_tenant_with, error_fields, spawn_worker,
};
use cartback_testing::http_stub::HttpStub;
use cartback_testing::maildev::Maildev;
use cartback_testing::process::{Running, run, wait_for};

fn create_tenant(db: &TestDatabase, delay: &str) -> Tenant {
    create_tenant_at(db, delay, "https://shop.example/cart?src=email")
}

/// The subjects of these tests' emails name the shop ("E2E shop").
fn create_tenant_at(db: &TestDatabase, delay: &str, recovery_url: &str) -> Tenant {
    create_tenant_with(
        &db.url,
        &[
            "--name",
            "E2E shop",
            "--from",
            "shop@example.com",
            "--recovery-url",
            recovery_url,
            "--delay",
            delay,
        ],
    )
}

fn start_api(db: &TestDatabase) -> Api {
    Api::start(
        &db.url,
        &[("CARTBACK_MAX_BODY_BYTES", (256 * 1024).to_string())],
    )
}

/// A worker sending through maildev; `extra` adds to its environment.
fn worker(db: &TestDatabase, maildev: &Maildev, extra: &[(&str, String)]) -> Running {
    let mut env = maildev.worker_env();
    env.push(("CARTBACK_NO_MIGRATE", "true".to_owned()));
    env.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
    spawn_worker(&db.url, &env)
}

fn parse_time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().expect("scheduledAt string"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

fn cart_status(db: &TestDatabase, tenant: &str, session: &str) -> String {
    let store = Store::open(&db.url, 1).unwrap();
    find_cart_by_session(&mut store.conn().unwrap(), tenant, session)
        .unwrap()
        .map(|c| c.status.as_str().to_owned())
        .unwrap_or_default()
}

/// The email's recovery link redirects to the shop with `session_id` and
/// `cart_token` and counts the click; its one-click unsubscribe link (RFC 8058
/// headers) stops the cart.
fn follow_the_links(
    api: &Api,
    maildev: &Maildev,
    mail: &Value,
    db: &TestDatabase,
    tenant: &Tenant,
) {
    let (tenant_id, publishable) = (tenant.id.as_str(), tenant.publishable.as_str());
    let text = mail["text"].as_str().unwrap();
    let link_after = |prefix: &str| -> String {
        let start = text
            .find(prefix)
            .unwrap_or_else(|| panic!("no {prefix} link in {text}"));
        text[start..]
            .split(|c: char| c.is_whitespace() || c == '>' || c == ')')
            .next()
            .unwrap()
            .to_owned()
    };
    let recover = link_after(&format!("{}/r/", api.base));
    let unsubscribe = link_after(&format!("{}/u/", api.base));
    let source = maildev.source(mail["id"].as_str().unwrap());
    assert!(
        source.contains(&format!("List-Unsubscribe: <{unsubscribe}>")),
        "{source}"
    );
    assert!(source.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));

    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let clicked = client.get(&recover).send().unwrap();
    assert_eq!(clicked.status().as_u16(), 302);
    let location = clicked.headers()["location"].to_str().unwrap().to_owned();
    let token = recover.rsplit('/').next().unwrap();
    assert_eq!(
        location,
        format!("https://shop.example/cart?src=email&session_id=sess-email&cart_token={token}")
    );
    let store = Store::open(&db.url, 1).unwrap();
    let cart = find_cart_by_session(&mut store.conn().unwrap(), tenant_id, "sess-email")
        .unwrap()
        .unwrap();
    let sends =
        cartback_store::sends::list_sends_for_cart(&mut store.conn().unwrap(), tenant_id, &cart.id)
            .unwrap();
    assert_eq!(sends[0].click_count, 1);

    // The storefront rebuilds the cart from the token with its publishable key:
    // items, no personal data; another key's tenant or a bad token is a 404.
    let restored = client
        .get(format!("{}/api/v1/carts/restore/{token}", api.base))
        .header("X-API-Key", publishable)
        .send()
        .unwrap();
    assert_eq!(restored.status().as_u16(), 200);
    let body: Value = restored.json().unwrap();
    assert_eq!(body["sessionId"], json!("sess-email"));
    assert_eq!(body["items"][0]["quantity"], json!(1));
    assert_eq!(body["step"], json!(1));
    assert!(!body.to_string().contains("sam@example.com"), "{body}");
    let unknown = client
        .get(format!(
            "{}/api/v1/carts/restore/{}",
            api.base,
            "A".repeat(43)
        ))
        .header("X-API-Key", publishable)
        .send()
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
    assert_eq!(
        client
            .get(format!("{}/r/not-a-token", api.base))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        404
    );

    // Opening the unsubscribe page changes nothing; the one-click POST does.
    let page = client.get(&unsubscribe).send().unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let page = page.text().unwrap();
    assert!(page.contains("carts you leave at E2E shop"), "{page}");
    let unchanged = find_cart_by_session(&mut store.conn().unwrap(), tenant_id, "sess-email")
        .unwrap()
        .unwrap();
    assert!(unchanged.unsubscribed_at.is_none());
    let done = client
        .post(&unsubscribe)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .unwrap();
    assert_eq!(done.status().as_u16(), 200, "never a redirect");
    let done = done.text().unwrap();
    assert!(done.contains("emails from E2E shop"), "{done}");
    let after = find_cart_by_session(&mut store.conn().unwrap(), tenant_id, "sess-email")
        .unwrap()
        .unwrap();
    assert!(after.unsubscribed_at.is_some());

    // The cart's history tells the story, by session id too.
    let history: Value = client
        .get(format!("{}/api/v1/carts/sess-email/history", api.base))
        .header("X-API-Key", &tenant.secret)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let kinds: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["abandoned", "sent", "clicked", "unsubscribed"],
        "{history}"
    );
    assert_eq!(history["emails"][0]["clicks"], json!(1));
    let refused = client
        .get(format!("{}/api/v1/carts/sess-email/history", api.base))
        .header("X-API-Key", publishable)
        .send()
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    let missing = client
        .get(format!("{}/api/v1/carts/nobody/history", api.base))
        .header("X-API-Key", &tenant.secret)
        .send()
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}

fn recovery_flow(backend: Backend) {
    let db = TestDatabase::new(backend);
    let maildev = Maildev::start();
    let tenant = create_tenant(&db, "700ms");
    let api = start_api(&db);
    let _worker = worker(&db, &maildev, &[("CARTBACK_PUBLIC_URL", api.base.clone())]);

    // 1. CART_UPDATE with an email: exactly one email arrives after the delay.
    let (status, body) = api.track(
        &tenant.secret,
        &cart_update("sess-email", Some("sam@example.com")),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], json!(true));
    assert!(body["cartId"].as_str().unwrap().starts_with("cart_"));
    let scheduled = parse_time(&body["scheduledAt"]);
    assert!(scheduled > Utc::now(), "scheduled in the future");

    // 2. ORDER_COMPLETE before the delay: no email, the cart is converted.
    let (status, _) = api.track(
        &tenant.secret,
        &cart_update("sess-order", Some("olivia@example.com")),
    );
    assert_eq!(status, 200);
    let (status, body) = api.track(
        &tenant.secret,
        &json!({"event": "ORDER_COMPLETE", "sessionId": "sess-order", "orderId": "INV-123", "total": 100.00}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], json!(true));
    assert!(body["message"].as_str().unwrap().contains("cancelled"));

    // 3. No email: abandoned, then a CART_UPDATE with email revives and reschedules.
    let (status, first) = api.track(&tenant.secret, &cart_update("sess-late", None));
    assert_eq!(status, 200);
    assert_eq!(
        first["scheduledAt"],
        Value::Null,
        "no email, nothing can be sent"
    );

    wait_for("the recovery email", Duration::from_secs(20), || {
        maildev.recipients().contains(&"sam@example.com".to_owned())
    });
    let mail = maildev
        .emails()
        .into_iter()
        .find(|m| m["to"][0]["address"] == json!("sam@example.com"))
        .unwrap();
    assert!(mail["subject"].as_str().unwrap().contains("E2E shop"));
    assert!(mail["html"].as_str().unwrap().contains("Product"));
    follow_the_links(&api, &maildev, &mail, &db, &tenant);
    assert_eq!(cart_status(&db, &tenant.id, "sess-email"), "abandoned");

    wait_for(
        "the email-less cart to be abandoned",
        Duration::from_secs(20),
        || cart_status(&db, &tenant.id, "sess-late") == "abandoned",
    );
    let before = Utc::now();
    let (status, revived) = api.track(
        &tenant.secret,
        &cart_update("sess-late", Some("lena@example.com")),
    );
    assert_eq!(status, 200);
    assert_eq!(revived["cartId"], first["cartId"]);
    let rescheduled = parse_time(&revived["scheduledAt"]);
    assert!(
        rescheduled >= before + chrono::TimeDelta::milliseconds(650),
        "measured from the new activity"
    );
    assert_eq!(cart_status(&db, &tenant.id, "sess-late"), "active");
    wait_for("the rescheduled email", Duration::from_secs(20), || {
        maildev
            .recipients()
            .contains(&"lena@example.com".to_owned())
    });

    // The ordered cart never got one, and stays converted.
    std::thread::sleep(Duration::from_millis(800));
    let recipients = maildev.recipients();
    assert!(!recipients.contains(&"olivia@example.com".to_owned()));
    assert_eq!(recipients.len(), 2, "{recipients:?}");
    assert_eq!(cart_status(&db, &tenant.id, "sess-order"), "converted");

    // Bearer works too; an order for an unknown session is recorded with 200.
    let response = api
        .http
        .post(format!("{}/api/v1/track", api.base))
        .bearer_auth(&tenant.secret)
        .json(&json!({"event": "ORDER_COMPLETE", "sessionId": "never-seen", "orderId": 42}))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    // A publishable key may capture carts but not close them.
    let (status, body) = api.track(
        &tenant.publishable,
        &json!({"event": "ORDER_COMPLETE", "sessionId": "sess-email"}),
    );
    assert_eq!(status, 403, "{body}");
}

#[test]
fn recovery_flow_on_sqlite() {
    recovery_flow(Backend::Sqlite);
}

#[test]
fn recovery_flow_on_postgres() {
    recovery_flow(Backend::Postgres);
}

fn seed_due_carts(db: &TestDatabase, api: &Api, tenant: &Tenant, count: usize) {
    for i in 0..count {
        let (status, body) = api.track(
            &tenant.secret,
            &cart_update(&format!("bulk-{i}"), Some(&format!("buyer{i}@example.com"))),
        );
        assert_eq!(status, 200, "{body}");
    }
    let _ = db;
}

fn assert_exactly_once(db: &TestDatabase, maildev: &Maildev, tenant: &Tenant, count: usize) {
    wait_for("every email", Duration::from_secs(120), || {
        maildev.emails().len() >= count
    });
    // Give a duplicate, if any, the time to show up.
    std::thread::sleep(Duration::from_millis(1500));
    let mut recipients = maildev.recipients();
    assert_eq!(recipients.len(), count, "exactly one email per cart");
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), count, "no cart got two");
    let store = Store::open(&db.url, 1).unwrap();
    let sent = count_sends(&mut store.conn().unwrap(), &tenant.id, SendStatus::Sent).unwrap();
    assert_eq!(sent, count as i64);
}

#[test]
fn four_workers_send_each_email_exactly_once() {
    let db = TestDatabase::new(Backend::Postgres);
    let maildev = Maildev::start();
    let tenant = create_tenant(&db, "300ms");
    let api = start_api(&db);
    seed_due_carts(&db, &api, &tenant, 500);
    let workers: Vec<Running> = (0..4)
        .map(|_| worker(&db, &maildev, &[("CARTBACK_BATCH_SIZE", "20".to_owned())]))
        .collect();
    assert_exactly_once(&db, &maildev, &tenant, 500);
    drop(workers);
}

#[test]
fn a_worker_killed_mid_run_loses_and_duplicates_nothing() {
    let db = TestDatabase::new(Backend::Postgres);
    let maildev = Maildev::start();
    let tenant = create_tenant(&db, "300ms");
    let api = start_api(&db);
    seed_due_carts(&db, &api, &tenant, 500);
    // A short lease so the killed worker's claims come back quickly.
    let settings = [
        ("CARTBACK_BATCH_SIZE", "25".to_owned()),
        ("CARTBACK_LEASE", "2s".to_owned()),
    ];
    let steady = worker(&db, &maildev, &settings);
    let mut victim = worker(&db, &maildev, &settings);
    wait_for("sending to be under way", Duration::from_secs(60), || {
        maildev.emails().len() >= 60
    });
    victim.kill_hard();
    let _restarted = worker(&db, &maildev, &settings);
    // The victim's sends in hand are unknown (SMTP cannot be asked twice); every
    // other cart gets its one email; nobody gets two.
    let store = Store::open(&db.url, 1).unwrap();
    let settled = || {
        let mut conn = store.conn().unwrap();
        count_sends(&mut conn, &tenant.id, SendStatus::Sent).unwrap()
            + count_sends(&mut conn, &tenant.id, SendStatus::Unknown).unwrap()
    };
    wait_for("every send to settle", Duration::from_secs(120), || {
        settled() == 500
    });
    std::thread::sleep(Duration::from_millis(500));
    let mut recipients = maildev.recipients();
    let received = recipients.len();
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), received, "no cart got two");
    let mut conn = store.conn().unwrap();
    let sent = count_sends(&mut conn, &tenant.id, SendStatus::Sent).unwrap() as usize;
    let unknown = count_sends(&mut conn, &tenant.id, SendStatus::Unknown).unwrap() as usize;
    assert!(
        sent <= received && received <= sent + unknown,
        "sent {sent}, unknown {unknown}, received {received}"
    );
    assert!(unknown <= 25, "at most the victim's batch: {unknown}");
    drop(steady);
}

#[test]
fn sigterm_stops_a_worker_cleanly() {
    let db = TestDatabase::new(Backend::Sqlite);
    let maildev = Maildev::start();
    create_tenant(&db, "1s");
    let mut worker = worker(&db, &maildev, &[]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(worker.terminate().success());
}

#[test]
fn a_worker_sends_through_an_http_provider() {
    let db = TestDatabase::new(Backend::Sqlite);
    let stub = HttpStub::start();
    let tenant = create_tenant(&db, "200ms");
    let api = start_api(&db);
    let (status, _) = api.track(
        &tenant.secret,
        &cart_update("sess-http", Some("http@example.com")),
    );
    assert_eq!(status, 200);
    let _worker = spawn_worker(
        &db.url,
        &[
            ("CARTBACK_EMAIL_PROVIDER", "resend".to_owned()),
            ("CARTBACK_PROVIDER_API_KEY", "re_e2e_key".to_owned()),
            ("CARTBACK_PROVIDER_BASE_URL", stub.base_url.clone()),
            ("CARTBACK_POLL_INTERVAL", "50ms".to_owned()),
        ],
    );
    wait_for("the provider call", Duration::from_secs(20), || {
        !stub.requests().is_empty()
    });
    std::thread::sleep(Duration::from_millis(500));
    let requests = stub.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/emails")
    );
    assert_eq!(request.header("authorization"), Some("Bearer re_e2e_key"));
    let cart_id = find_cart_by_session(
        &mut Store::open(&db.url, 1).unwrap().conn().unwrap(),
        &tenant.id,
        "sess-http",
    )
    .unwrap()
    .unwrap()
    .id;
    assert_eq!(
        request.header("idempotency-key"),
        Some(format!("{cart_id}:0:0").as_str())
    );
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["to"][0], json!("\"Sam Shopper\" <http@example.com>"));
    let store = Store::open(&db.url, 1).unwrap();
    let sent = count_sends(&mut store.conn().unwrap(), &tenant.id, SendStatus::Sent).unwrap();
    assert_eq!(sent, 1);
}

/// `GET/PUT /api/v1/settings/recovery` and `cartback policy show|set`: defaults,
/// every problem named with its field path, a publishable key refused, changes
/// visible to the CLI and back.
fn recovery_settings(backend: Backend) {
    let db = TestDatabase::new(backend);
    let tenant = create_tenant(&db, "1h");
    let api = start_api(&db);
    let call = |method: reqwest::Method, key: &str, body: Option<Value>| -> (u16, Value) {
        let mut request = api
            .http
            .request(method, format!("{}/api/v1/settings/recovery", api.base))
            .header("X-API-Key", key);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    };
    let (status, current) = call(reqwest::Method::GET, &tenant.secret, None);
    assert_eq!(status, 200, "{current}");
    assert_eq!(current["email"]["design"], json!("minimal"));
    assert_eq!(call(reqwest::Method::GET, &tenant.publishable, None).0, 403);

    let (status, refused) = call(
        reqwest::Method::PUT,
        &tenant.secret,
        Some(json!({
            "policy": {"steps": [{"delayMs": 7200000}, {"delayMs": 3600000}], "timeZone": "Mars/Olympus"},
            "email": {"brandColor": "blue"}
        })),
    );
    assert_eq!(status, 422, "{refused}");
    let fields = error_fields(&refused);
    assert!(
        fields.iter().any(|f| f.starts_with("policy.steps")),
        "{refused}"
    );
    assert!(fields.iter().any(|f| f == "policy.timeZone"), "{refused}");
    assert!(fields.iter().any(|f| f == "email"), "{refused}");
    assert_eq!(
        call(
            reqwest::Method::PUT,
            &tenant.secret,
            Some(json!({"nonsense": 1}))
        )
        .0,
        422
    );

    let (status, saved) = call(
        reqwest::Method::PUT,
        &tenant.secret,
        Some(json!({
            "policy": {
                "steps": [{"delayMs": 3600000}, {"delayMs": 86400000}],
                "maxEmailsPerCart": 2,
                "customerCooldownMs": 604800000,
                "quietHours": {"start": "22:00", "end": "08:00"},
                "timeZone": "Europe/Amsterdam",
                "stepSettings": [{"coupon": {"kind": "generated", "pattern": "SAVE10-{random}"}}]
            },
            "email": {"design": "bold_banner", "brandColor": "#0f766e", "defaultLocale": "nl"}
        })),
    );
    assert_eq!(status, 200, "{saved}");
    // A PUT replaces the whole document: the email part alone is refused …
    let (status, refused) = call(
        reqwest::Method::PUT,
        &tenant.secret,
        Some(json!({"email": {"design": "text_first"}})),
    );
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["details"][0]["field"], json!("policy"));
    // … and a PATCH of it keeps the policy.
    let (status, _) = call(
        reqwest::Method::PATCH,
        &tenant.secret,
        Some(json!({"email": {"design": "text_first"}})),
    );
    assert_eq!(status, 200);
    let env = [("DATABASE_URL", db.url.clone())];
    let shown: Value = serde_json::from_str(&run(
        "cartback",
        &env,
        &["policy", "show", "--tenant", &tenant.id],
    ))
    .unwrap();
    assert_eq!(shown["policy"]["timeZone"], json!("Europe/Amsterdam"));
    assert_eq!(shown["policy"]["maxEmailsPerCart"], json!(2));
    assert_eq!(shown["email"]["design"], json!("text_first"));

    let bad = cartback_testing::process::command(
        "cartback",
        &env,
        &[
            "policy",
            "set",
            "--tenant",
            &tenant.id,
            "--policy",
            r#"{"steps":[]}"#,
        ],
    )
    .output()
    .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("steps"));
    run(
        "cartback",
        &env,
        &[
            "policy",
            "set",
            "--tenant",
            &tenant.id,
            "--policy",
            r#"{"steps":[{"delayMs":1000}],"maxEmailsPerCart":1,"stepSettings":[{"coupon":{"kind":"static","code":"WELCOME10"}}]}"#,
        ],
    );
    // Previews: the saved settings, another language, a tried-out design.
    let preview = |key: &str, body: Value| -> (u16, Value) {
        let response = api
            .http
            .post(format!("{}/api/v1/templates/preview", api.base))
            .header("X-API-Key", key)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    };
    let (status, shown) = preview(&tenant.secret, json!({"step": 1, "locale": "de-DE"}));
    assert_eq!(status, 200, "{shown}");
    assert!(
        shown["text"].as_str().unwrap().contains("Warenkorb"),
        "{shown}"
    );
    assert!(
        shown["text"].as_str().unwrap().contains("WELCOME10"),
        "the step's coupon: {shown}"
    );
    assert_eq!(shown["template"], json!("text_first"));
    let (status, tried) = preview(&tenant.secret, json!({"design": "product_grid", "step": 2}));
    assert_eq!((status, &tried["template"]), (200, &json!("product_grid")));
    assert!(!tried["subject"].as_str().unwrap().is_empty());
    for (body, field) in [
        (json!({"step": 11}), "step"),
        (json!({"locale": "dutch please"}), "locale"),
        (json!({"email": {"brandColor": "blue"}}), "email"),
        (json!({"colour": "red"}), "body"),
    ] {
        let (status, refused) = preview(&tenant.secret, body);
        assert_eq!(status, 422, "{refused}");
        assert_eq!(
            refused["error"]["details"][0]["field"],
            json!(field),
            "{refused}"
        );
    }
    assert_eq!(preview(&tenant.secret, json!({"cartId": "nope"})).0, 404);

    // The tenant's own templates: a template error is a 422 naming the part and
    // the line; a good one is saved, listed, read and removed.
    let template_url = format!("{}/api/v1/templates/winback/nl-NL", api.base);
    let put_template = |body: Value| -> (u16, Value) {
        let response = api
            .http
            .put(&template_url)
            .header("X-API-Key", &tenant.secret)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    };
    let (status, refused) = put_template(json!({
        "subject": "Je mandje",
        "html": "<p>Hoi {{ customer_name }}</p>\n<p>{% if coupon %}Code {{ coupon.code }}</p>\n<a href=\"{{ recovery_url }}\">terug</a>",
        "text": "Hoi {{ customer_name }}: {{ recovery_url }} {{ unsubscribe_url }}"
    }));
    assert_eq!(status, 422, "{refused}");
    assert_eq!(
        refused["error"]["details"][0]["field"],
        json!("html"),
        "{refused}"
    );
    assert!(
        refused["error"]["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("line"),
        "{refused}"
    );
    // Every failing part in one answer: an unknown variable named with its
    // line and the nearest known name, a missing unsubscribe link, a syntax error.
    let (status, refused) = put_template(json!({
        "subject": "Je mandje bij {{ shop_nme }}",
        "html": "<p>Hoi</p>\n<a href=\"{{ recovery_url }}\">terug</a>",
        "text": "Hoi\n{{ recovery_url }} {{ unsubscribe_url }}\n{% for item in items %}"
    }));
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], json!("VALIDATION_ERROR"));
    let details = refused["error"]["details"].as_array().unwrap();
    let fields: Vec<&str> = details
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["subject", "html", "text"], "{refused}");
    assert_eq!(
        details[0]["message"],
        json!("subject line 1, column 18: unknown variable `shop_nme` (did you mean `shop_name`?)")
    );
    assert!(
        details[1]["message"]
            .as_str()
            .unwrap()
            .starts_with("html: the unsubscribe link is missing"),
        "{refused}"
    );
    assert!(
        details[2]["message"]
            .as_str()
            .unwrap()
            .starts_with("text line 3"),
        "{refused}"
    );
    assert_eq!(
        refused["error"]["message"],
        json!("the template has 3 problems (see details)")
    );
    // Both links in the text part too.
    let (status, refused) = put_template(json!({
        "subject": "Je mandje",
        "html": "<a href=\"{{ recovery_url }}\">terug</a> <a href=\"{{ unsubscribe_url }}\">afmelden</a>",
        "text": "Hoi: {{ recovery_url }}"
    }));
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["details"][0]["field"], json!("text"));
    assert_eq!(
        refused["error"]["message"],
        json!(
            "text: the unsubscribe link is missing: every recovery email needs {{ unsubscribe_url }} in its text"
        )
    );
    let (status, saved) = put_template(json!({
        "subject": "Je mandje bij {{ shop_name }}",
        "html": "<p>Hoi {{ customer_name or 'daar' }}</p><a href=\"{{ recovery_url }}\">terug</a> <a href=\"{{ unsubscribe_url }}\">afmelden</a>",
        "text": "Hoi: {{ recovery_url }} {{ unsubscribe_url }}"
    }));
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["use"], json!("custom:winback"));
    let listed: Value = api
        .http
        .get(format!("{}/api/v1/templates", api.base))
        .header("X-API-Key", &tenant.secret)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(listed["templates"][0]["locale"], json!("nl-NL"));
    let bad_name = api
        .http
        .put(format!("{}/api/v1/templates/Bad%20Name/nl", api.base))
        .header("X-API-Key", &tenant.secret)
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(bad_name.status().as_u16(), 422);
    let removed = api
        .http
        .delete(&template_url)
        .header("X-API-Key", &tenant.secret)
        .send()
        .unwrap();
    assert_eq!(removed.status().as_u16(), 200);
    let gone = api
        .http
        .get(&template_url)
        .header("X-API-Key", &tenant.secret)
        .send()
        .unwrap();
    assert_eq!(gone.status().as_u16(), 404);
    assert_eq!(preview(&tenant.publishable, json!({})).0, 403);

    let (_, after) = call(reqwest::Method::GET, &tenant.secret, None);
    assert_eq!(after["policy"]["steps"], json!([{"delayMs": 1000}]));
    assert_eq!(
        after["policy"]["stepSettings"][0]["coupon"]["code"],
        json!("WELCOME10")
    );
    assert_eq!(after["email"]["design"], json!("text_first"));
}

#[test]
fn recovery_settings_on_sqlite() {
    recovery_settings(Backend::Sqlite);
}

#[test]
fn recovery_settings_on_postgres() {
    recovery_settings(Backend::Postgres);
}

/// `/api/v1/suppressions`: add (any case), repeat, refuse bad input with the
/// field named, list with pagination, remove.
fn suppression_list(backend: Backend) {
    let db = TestDatabase::new(backend);
    let tenant = create_tenant(&db, "1h");
    let api = start_api(&db);
    let url = format!("{}/api/v1/suppressions", api.base);
    let send = |method: reqwest::Method, url: &str, key: &str, body: Option<Value>| {
        let mut request = api.http.request(method, url).header("X-API-Key", key);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().unwrap_or(Value::Null))
    };
    use reqwest::Method;
    let add = json!({"email": "Gone@Example.com", "reason": "bounced", "note": "hard bounce"});
    assert_eq!(
        send(Method::POST, &url, &tenant.secret, Some(add.clone())).0,
        201
    );
    let (status, again) = send(Method::POST, &url, &tenant.secret, Some(add));
    assert_eq!((status, &again["added"]), (200, &json!(false)));
    for (body, field) in [
        (json!({"email": "not an address"}), "email"),
        (
            json!({"email": "a@example.com", "reason": "bored"}),
            "reason",
        ),
        (json!({"mail": "a@example.com"}), "body"),
    ] {
        let (status, refused) = send(Method::POST, &url, &tenant.secret, Some(body));
        assert_eq!(status, 422, "{refused}");
        assert_eq!(
            refused["error"]["details"][0]["field"],
            json!(field),
            "{refused}"
        );
    }
    assert_eq!(send(Method::GET, &url, &tenant.publishable, None).0, 403);
    let (status, listed) = send(
        Method::GET,
        &format!("{url}?page=1&per_page=10"),
        &tenant.secret,
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(listed["total"], json!(1));
    assert_eq!(
        listed["suppressions"][0]["email"],
        json!("gone@example.com")
    );
    assert_eq!(listed["suppressions"][0]["reason"], json!("bounced"));
    let (status, bad_page) = send(Method::GET, &format!("{url}?page=x"), &tenant.secret, None);
    assert_eq!(status, 422, "{bad_page}");
    assert_eq!(bad_page["error"]["details"][0]["field"], json!("page"));
    let one = format!("{url}/GONE@example.com");
    assert_eq!(send(Method::DELETE, &one, &tenant.secret, None).0, 200);
    let (status, missing) = send(Method::DELETE, &one, &tenant.secret, None);
    assert_eq!(status, 404);
    assert_eq!(missing["error"]["code"], json!("NOT_FOUND"));
}

#[test]
fn suppression_list_on_sqlite() {
    suppression_list(Backend::Sqlite);
}

#[test]
fn suppression_list_on_postgres() {
    suppression_list(Backend::Postgres);
}

/// The whole sequence with the real binaries and maildev: three steps with their
/// own copy and coupon arrive in order; a one-click unsubscribe after the first
/// email stops the rest, and so does an order.
fn three_step_sequence(backend: Backend) {
    let db = TestDatabase::new(backend);
    let maildev = Maildev::start();
    // The shop's cart page, on loopback, so the click can be followed to the end.
    let shop = HttpStub::start();
    let tenant = create_tenant_at(&db, "1s", &format!("{}/cart?src=email", shop.base_url));
    let env = [("DATABASE_URL", db.url.clone())];
    run(
        "cartback",
        &env,
        &[
            "policy",
            "set",
            "--tenant",
            &tenant.id,
            "--policy",
            r#"{"steps":[{"delayMs":1000},{"delayMs":3000},{"delayMs":5000}],"maxEmailsPerCart":3,
                "stepSettings":[{"coupon":{"kind":"static","code":"STEP1"}},
                                {"coupon":{"kind":"static","code":"STEP2"}},
                                {"coupon":{"kind":"static","code":"STEP3"}}]}"#,
        ],
    );
    let api = start_api(&db);
    let _worker = worker(&db, &maildev, &[("CARTBACK_PUBLIC_URL", api.base.clone())]);
    for (session, email) in [
        ("seq-a", "all@example.com"),
        ("seq-b", "quits@example.com"),
        ("seq-c", "buys@example.com"),
    ] {
        let (status, body) = api.track(&tenant.secret, &cart_update(session, Some(email)));
        assert_eq!(status, 200, "{body}");
    }
    let mails_to = |address: &str| -> Vec<Value> {
        let mut mails: Vec<Value> = maildev
            .emails()
            .into_iter()
            .filter(|m| m["to"][0]["address"] == json!(address))
            .collect();
        mails.sort_by_key(|m| m["date"].as_str().unwrap_or_default().to_owned());
        mails
    };
    wait_for("the first emails", Duration::from_secs(20), || {
        mails_to("quits@example.com").len() == 1 && mails_to("buys@example.com").len() == 1
    });
    // b unsubscribes with one click; c orders.
    let first_b = &mails_to("quits@example.com")[0];
    let text = first_b["text"].as_str().unwrap();
    let start = text.find(&format!("{}/u/", api.base)).unwrap();
    let link: String = text[start..].split_whitespace().next().unwrap().to_owned();
    let done = reqwest::blocking::Client::new()
        .post(&link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .unwrap();
    assert_eq!(done.status().as_u16(), 200);
    let (status, _) = api.track(
        &tenant.secret,
        &json!({"event": "ORDER_COMPLETE", "sessionId": "seq-c", "orderId": "SEQ-1", "total": 100.00}),
    );
    assert_eq!(status, 200);

    wait_for("all three emails to a", Duration::from_secs(30), || {
        mails_to("all@example.com").len() == 3
    });
    let a = mails_to("all@example.com");
    let subjects: Vec<&str> = a.iter().map(|m| m["subject"].as_str().unwrap()).collect();
    assert_eq!(
        subjects
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        3,
        "each step has its own words: {subjects:?}"
    );
    for (mail, code) in a.iter().zip(["STEP1", "STEP2", "STEP3"]) {
        assert!(
            mail["text"].as_str().unwrap().contains(code),
            "{code}: {mail}"
        );
    }
    // The shopper clicks the first email's link in a browser-like client that
    // follows redirects, and lands on the shop's cart page with session_id.
    let text = a[0]["text"].as_str().unwrap();
    let start = text.find(&format!("{}/r/", api.base)).unwrap();
    let link: String = text[start..].split_whitespace().next().unwrap().to_owned();
    let landed = reqwest::blocking::get(&link).unwrap();
    assert_eq!(landed.status().as_u16(), 200);
    let token = link.rsplit('/').next().unwrap();
    let visits: Vec<String> = shop.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        visits,
        [format!(
            "/cart?src=email&session_id=seq-a&cart_token={token}"
        )]
    );
    // a's last step is due 2 s after its second: by now b and c would have had
    // theirs too.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        mails_to("quits@example.com").len(),
        1,
        "unsubscribed after step 1"
    );
    assert_eq!(
        mails_to("buys@example.com").len(),
        1,
        "ordered after step 1"
    );

    // One numbering everywhere (docs/api.md, "Step numbers"): the three
    // emails are 1, 2 and 3 in the history, the timeline and the funnel, and
    // the click on the first email is about step 1.
    let (status, history) = api.v1("GET", "/carts/seq-a/history", &tenant.secret, None);
    assert_eq!(status, 200, "{history}");
    let steps = |entries: &Value, keep: &dyn Fn(&Value) -> bool| -> Vec<Value> {
        entries
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| keep(e))
            .map(|e| e["step"].clone())
            .collect()
    };
    assert_eq!(
        steps(&history["emails"], &|_| true),
        [json!(1), json!(2), json!(3)],
        "{history}"
    );
    assert_eq!(
        steps(&history["events"], &|e| e["kind"] == "clicked"),
        [json!(1)],
        "{history}"
    );
    let (status, timeline) = api.v1("GET", "/carts/seq-a/timeline", &tenant.secret, None);
    assert_eq!(status, 200, "{timeline}");
    let entries = &timeline["data"];
    assert_eq!(
        steps(entries, &|e| e["type"] == "email"),
        [json!(1), json!(2), json!(3)],
        "{timeline}"
    );
    assert_eq!(
        steps(entries, &|e| e["type"] == "event" && e["kind"] == "sent"),
        [json!(1), json!(2), json!(3)],
        "{timeline}"
    );
    let (status, report) = api.v1("GET", "/analytics?period=7d", &tenant.secret, None);
    assert_eq!(status, 200, "{report}");
    let funnel: Vec<(Value, Value)> = report["funnel"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["step"].clone(), s["sent"].clone()))
        .collect();
    assert_eq!(
        funnel,
        [
            (json!(1), json!(3)),
            (json!(2), json!(1)),
            (json!(3), json!(1))
        ],
        "{report}"
    );
}

#[test]
fn three_step_sequence_on_sqlite() {
    three_step_sequence(Backend::Sqlite);
}

#[test]
fn three_step_sequence_on_postgres() {
    three_step_sequence(Backend::Postgres);
}
