//! The merchant dashboard in a real headless browser, on both backends: the
//! real api and worker, users made with the real CLI, traffic through
//! `/api/v1/track`; then tests/browser/dashboard.spec.mjs drives Debian's
//! chromium through playwright-core (installed by scripts/test-deps.sh) and
//! checks what a merchant sees against the JSON API. Screenshots land in
//! target/screenshots/.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use cartback_store::Backend;
use cartback_testing::TestDatabase;
use cartback_testing::app::{Api, Tenant, cart_update, create_tenant};
use cartback_testing::maildev::Maildev;
use cartback_testing::process::{Running, command, run, spawn, wait_for};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// `cartback user create … --password-stdin`, the password on standard input.
fn create_user(database_url: &str, tenant: &str, email: &str, role: &str, password: &str) {
    let mut child = command(
        "cartback",
        &[("DATABASE_URL", database_url.to_owned())],
        &[
            "user",
            "create",
            "--tenant",
            tenant,
            "--email",
            email,
            "--role",
            role,
            "--password-stdin",
        ],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn cartback user create");
    writeln!(child.stdin.take().expect("stdin"), "{password}").expect("write the password");
    let output = child.wait_with_output().expect("wait");
    assert!(
        output.status.success(),
        "cartback user create: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn worker(db: &TestDatabase, api: &Api, outbox: &Path) -> Running {
    spawn(
        "cartback-worker",
        &[
            ("DATABASE_URL", db.url.clone()),
            ("CARTBACK_POLL_INTERVAL", "50ms".to_owned()),
            ("CARTBACK_NO_MIGRATE", "true".to_owned()),
            ("CARTBACK_OUTBOX_DIR", outbox.display().to_string()),
            ("CARTBACK_PUBLIC_URL", api.base.clone()),
        ],
        &[],
    )
}

fn history(api: &Api, key: &str, session: &str) -> Value {
    let (status, body) = api.call(
        "GET",
        &format!("/api/v1/carts/{session}/history"),
        key,
        None,
    );
    if status == 200 { body } else { Value::Null }
}

fn wait_for_email(api: &Api, key: &str, session: &str) {
    wait_for(
        &format!("the recovery email of {session}"),
        Duration::from_secs(30),
        || {
            history(api, key, session)["emails"]
                .as_array()
                .is_some_and(|emails| emails.iter().any(|e| e["status"] == "sent"))
        },
    );
}

fn order(api: &Api, key: &str, session: &str, id: &str, total: f64, currency: &str) -> Value {
    let (status, body) = api.track(
        key,
        &json!({"event": "ORDER_COMPLETE", "sessionId": session, "orderId": id, "total": total, "currency": currency}),
    );
    assert_eq!(status, 200, "{body}");
    body
}

/// Follows the recovery link of the first email in `outbox` (a click counts).
fn click_first_email(api: &Api, outbox: &Path) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(outbox)
        .expect("outbox")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    let source = std::fs::read_to_string(&files[0]).expect("email");
    // Quoted-printable soft line breaks would cut the link.
    let text = source.replace("=\r\n", "").replace("=\n", "");
    let prefix = format!("{}/r/", api.base);
    let start = text.find(&prefix).expect("a recovery link");
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '<' | '>' | ')'))
        .collect();
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let status = client.get(&link).send().unwrap().status().as_u16();
    assert_eq!(status, 302, "{link}");
}

fn cart_id(api: &Api, tenant: &Tenant, session: &str) -> String {
    let (status, body) = api.call(
        "GET",
        &format!("/api/v1/carts/{session}"),
        &tenant.secret,
        None,
    );
    assert_eq!(status, 200, "{body}");
    let id = body["data"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no cart id in {body}"));
    id.to_owned()
}

/// The browser tools `scripts/test-deps.sh` installs.
fn browser_tools(root: &Path) -> PathBuf {
    let tools = root.join(".tools/browser");
    assert!(
        tools.join("node_modules/playwright-core").exists(),
        "playwright-core is missing: run scripts/test-deps.sh"
    );
    tools
}

fn backend_label(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// Runs `tests/browser/{spec}` with `config` in `CARTBACK_BROWSER` and
/// fails with its output unless every check passed.
fn run_browser_spec(root: &Path, spec: &str, config: &Value) {
    // Screenshots and axe-core judge the HTML, which is the same on both
    // backends: the SQLite run takes them (see tests/browser/common.mjs).
    let mut config = config.clone();
    config["visualChecks"] = Value::Bool(config["label"] == "sqlite");
    let output = Command::new("node")
        .arg(root.join("tests/browser").join(spec))
        .env("CARTBACK_BROWSER", config.to_string())
        .stdin(Stdio::null())
        .output()
        .expect("node (Node.js is needed for the browser test)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the browser checks failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("browser checks passed"), "{stdout}");
}

/// A shop's owner and viewer (email, password), made with the real CLI; the
/// email is `{prefix}owner-{backend}@{domain}`.
fn owner_and_viewer(
    db_url: &str,
    shop_id: &str,
    prefix: &str,
    domain: &str,
    label: &str,
) -> ((String, &'static str), (String, &'static str)) {
    let owner = (
        format!("{prefix}owner-{label}@{domain}"),
        "correct horse battery",
    );
    let viewer = (
        format!("{prefix}viewer-{label}@{domain}"),
        "viewer password 1",
    );
    create_user(db_url, shop_id, &owner.0, "owner", owner.1);
    create_user(db_url, shop_id, &viewer.0, "viewer", viewer.1);
    (owner, viewer)
}

fn dashboard_in_a_browser(backend: Backend) {
    let root = workspace();
    let tools = browser_tools(&root);
    let label = backend_label(backend);
    let db = TestDatabase::new(backend);
    let shop = create_tenant(&db.url, "1s");
    let other = create_tenant(&db.url, "1s");
    let (owner, viewer) = owner_and_viewer(&db.url, &shop.id, "", "shop.example", label);
    let stranger = (
        format!("owner-{label}@other.example"),
        "stranger password 1",
    );
    create_user(&db.url, &other.id, &stranger.0, "owner", stranger.1);
    // `user list` shows them, without their passwords.
    let listed = run(
        "cartback",
        &[("DATABASE_URL", db.url.clone())],
        &["user", "list", "--tenant", &shop.id, "--json"],
    );
    let listed: Value = serde_json::from_str(listed.trim()).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert!(!listed.to_string().contains("argon2"));

    let api = Api::start(&db.url, &[]);
    let key = shop.secret.as_str();
    // Converted (ordered before it was abandoned), two carts recovered in two
    // currencies, one abandoned without an address; the other shop has one.
    assert_eq!(
        api.track(key, &cart_update("sess-4", Some("di@example.com")))
            .0,
        200
    );
    order(&api, key, "sess-4", "A-4", 100.0, "USD");
    assert_eq!(
        api.track(key, &cart_update("sess-1", Some("ann@example.com")))
            .0,
        200
    );
    let euro_cart = json!({
        "event": "CART_UPDATE",
        "sessionId": "sess-2",
        "items": [{"id": "mug", "name": "Mug", "price": 45.5, "quantity": 1}],
        "total": 45.50,
        "currency": "EUR",
        "customerEmail": "bo@example.com",
    });
    assert_eq!(api.track(key, &euro_cart).0, 200);
    assert_eq!(api.track(key, &cart_update("sess-3", None)).0, 200);
    assert_eq!(
        api.track(
            &other.secret,
            &cart_update("sess-9", Some("zed@example.com"))
        )
        .0,
        200
    );
    let outbox = tempfile::tempdir().unwrap();
    {
        let _worker = worker(&db, &api, outbox.path());
        wait_for_email(&api, key, "sess-1");
        wait_for_email(&api, key, "sess-2");
        wait_for("sess-3 to be abandoned", Duration::from_secs(30), || {
            history(&api, key, "sess-3")["events"]
                .as_array()
                .is_some_and(|events| events.iter().any(|e| e["kind"] == "abandoned"))
        });
    }
    click_first_email(&api, outbox.path());
    assert_eq!(
        order(&api, key, "sess-1", "A-1", 100.0, "USD")["cartStatus"],
        "recovered"
    );
    assert_eq!(
        order(&api, key, "sess-2", "A-2", 45.5, "EUR")["cartStatus"],
        "recovered"
    );

    let screenshots = root.join("target/screenshots");
    // The README's picture comes from one backend's run, and only when asked
    // (CARTBACK_UPDATE_DOCS_IMAGES=1), so a test run leaves the tree clean.
    let refresh_docs = std::env::var_os("CARTBACK_UPDATE_DOCS_IMAGES").is_some();
    let docs_image = (backend == Backend::Sqlite && refresh_docs).then(|| {
        root.join("docs/images/dashboard-overview.png")
            .display()
            .to_string()
    });
    if docs_image.is_some() {
        std::fs::create_dir_all(root.join("docs/images")).unwrap();
    }
    let config = json!({
        "base": api.base,
        "secretKey": shop.secret,
        "label": label,
        "toolsDir": tools.display().to_string(),
        "chromium": std::env::var("CARTBACK_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()),
        "screenshots": screenshots.display().to_string(),
        "docsImage": docs_image,
        "owner": {"email": owner.0, "password": owner.1},
        "viewer": {"email": viewer.0, "password": viewer.1},
        "stranger": {"email": stranger.0, "password": stranger.1},
        "shopCartId": cart_id(&api, &shop, "sess-1"),
        "strangerCartId": cart_id(&api, &other, "sess-9"),
    });
    run_browser_spec(&root, "dashboard.spec.mjs", &config);
}

/// The Recovery and Emails pages (tests/browser/recovery.spec.mjs): the policy
/// changed in the page and read back from the API, errors beside their fields,
/// previews following edits, a custom template, a test send through the shop's
/// own provider (maildev) and a viewer refused.
fn recovery_and_emails_in_a_browser(backend: Backend) {
    let root = workspace();
    let tools = browser_tools(&root);
    let label = backend_label(backend);
    let db = TestDatabase::new(backend);
    let shop = create_tenant(&db.url, "1h");
    let (owner, viewer) = owner_and_viewer(&db.url, &shop.id, "", "recovery.example", label);
    let master_key = run("cartback", &[], &["keys", "generate-master"])
        .trim()
        .to_owned();
    let maildev = Maildev::start();
    let api = Api::start(
        &db.url,
        &[
            ("CARTBACK_MASTER_KEY", master_key),
            // The shop's provider is maildev on loopback.
            ("CARTBACK_ALLOW_PRIVATE_TARGETS", "true".to_owned()),
        ],
    );
    // The default sequence of three emails (the test tenant starts with one):
    // null resets the policy to its defaults.
    let (status, body) = api.v1(
        "PATCH",
        "/settings/recovery",
        &shop.secret,
        Some(&json!({"policy": null})),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = api.v1(
        "PUT",
        "/email-provider",
        &shop.secret,
        Some(&json!({"provider": "smtp", "url": maildev.smtp_url()})),
    );
    assert_eq!(status, 200, "{body}");
    let config = json!({
        "base": api.base,
        "secretKey": shop.secret,
        "label": label,
        "toolsDir": tools.display().to_string(),
        "chromium": std::env::var("CARTBACK_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()),
        "screenshots": root.join("target/screenshots").display().to_string(),
        "owner": {"email": owner.0, "password": owner.1},
        "viewer": {"email": viewer.0, "password": viewer.1},
        "testTo": "merchant@recovery.example",
    });
    run_browser_spec(&root, "recovery.spec.mjs", &config);
    // The test sends went through the shop's own provider.
    let subjects: Vec<String> = maildev
        .emails()
        .iter()
        .filter_map(|email| email["subject"].as_str().map(str::to_owned))
        .collect();
    assert!(
        subjects
            .iter()
            .any(|s| s == "[Test] Still thinking it over?"),
        "{subjects:?}"
    );
    assert!(
        subjects
            .iter()
            .any(|s| s.starts_with("[Test] ") && s != "[Test] Still thinking it over?"),
        "the branding's test: {subjects:?}"
    );
}

#[test]
fn recovery_and_emails_in_a_browser_on_sqlite() {
    recovery_and_emails_in_a_browser(Backend::Sqlite);
}

#[test]
fn recovery_and_emails_in_a_browser_on_postgres() {
    recovery_and_emails_in_a_browser(Backend::Postgres);
}

#[test]
fn dashboard_in_a_browser_on_sqlite() {
    dashboard_in_a_browser(Backend::Sqlite);
}

#[test]
fn dashboard_in_a_browser_on_postgres() {
    dashboard_in_a_browser(Backend::Postgres);
}

/// The Sending and Developers pages (tests/browser/developers.spec.mjs): the
/// shop settings change the next real email, the email provider is changed in
/// the page (Resend, SMTP at maildev, back to the default) and its test send
/// arrives in maildev, keys are made and revoked (the revoked key gets 401
/// within the auth cache's TTL), origins are edited, Stripe's secrets are set,
/// replaced and removed, and a viewer changes nothing.
fn settings_pages_in_a_browser(backend: Backend) {
    let root = workspace();
    let tools = browser_tools(&root);
    let label = backend_label(backend);
    let db = TestDatabase::new(backend);
    let shop = create_tenant(&db.url, "1s");
    let (owner, viewer) = owner_and_viewer(&db.url, &shop.id, "dev-", "shop.example", label);
    let master_key = run("cartback", &[], &["keys", "generate-master"])
        .trim()
        .to_owned();
    // The shop's own SMTP relay, which wants a password that needs encoding.
    let smtp_password = "s3cret pass:1@";
    let maildev = Maildev::start_with_auth("shop", smtp_password);
    let api = Api::start(
        &db.url,
        &[
            ("CARTBACK_AUTH_CACHE_TTL", "300ms".to_owned()),
            ("CARTBACK_MASTER_KEY", master_key.clone()),
            // maildev is on loopback.
            ("CARTBACK_ALLOW_PRIVATE_TARGETS", "true".to_owned()),
        ],
    );
    let outbox = tempfile::tempdir().unwrap();
    let _worker = cartback_testing::app::spawn_worker(
        &db.url,
        &[
            ("CARTBACK_NO_MIGRATE", "true".to_owned()),
            ("CARTBACK_OUTBOX_DIR", outbox.path().display().to_string()),
            ("CARTBACK_PUBLIC_URL", api.base.clone()),
            ("CARTBACK_MASTER_KEY", master_key),
            ("CARTBACK_ALLOW_PRIVATE_TARGETS", "true".to_owned()),
        ],
    );
    let test_to = format!("merchant-{label}@shop.example");
    let config = json!({
        "base": api.base,
        "secretKey": shop.secret,
        "label": label,
        "toolsDir": tools.display().to_string(),
        "chromium": std::env::var("CARTBACK_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()),
        "screenshots": root.join("target/screenshots").display().to_string(),
        "outbox": outbox.path().display().to_string(),
        "testTo": test_to,
        "smtp": {"host": "127.0.0.1", "port": maildev.smtp_port, "user": "shop", "password": smtp_password},
        "owner": {"email": owner.0, "password": owner.1},
        "viewer": {"email": viewer.0, "password": viewer.1},
    });
    run_browser_spec(&root, "developers.spec.mjs", &config);
    // Both test sends went through the shop's own relay, signed in with the
    // password typed once (the second save left it empty).
    let tests: Vec<String> = maildev
        .emails()
        .iter()
        .filter(|email| {
            email["subject"]
                .as_str()
                .is_some_and(|s| s.starts_with("cartback test email for "))
        })
        .flat_map(|email| {
            email["to"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|to| to["address"].as_str().map(str::to_owned))
        })
        .collect();
    assert!(tests.contains(&test_to), "{tests:?}");
    assert!(tests.contains(&format!("again-{test_to}")), "{tests:?}");
}

#[test]
fn settings_pages_in_a_browser_on_sqlite() {
    settings_pages_in_a_browser(Backend::Sqlite);
}

#[test]
fn settings_pages_in_a_browser_on_postgres() {
    settings_pages_in_a_browser(Backend::Postgres);
}

/// The Carts, Webhooks and Suppressions pages (tests/browser/carts.spec.mjs):
/// carts tracked through the api and emailed by the worker, a webhook
/// endpoint whose deliveries fail (its host does not resolve), then a
/// merchant finds a cart by email, reads its timeline and email preview,
/// stops a cart's recovery and erases another, adds an endpoint and a
/// suppression; a viewer is refused every change.
fn carts_pages_in_a_browser(backend: Backend) {
    let root = workspace();
    let tools = browser_tools(&root);
    let label = backend_label(backend);
    let db = TestDatabase::new(backend);
    let shop = create_tenant(&db.url, "1s");
    let (owner, viewer) = owner_and_viewer(&db.url, &shop.id, "carts-", "shop.example", label);
    let master_key = run("cartback", &[], &["keys", "generate-master"])
        .trim()
        .to_owned();
    // Stripe, played by a stub that answers every Checkout Session request.
    let stripe = cartback_testing::http_stub::HttpStub::start_with(|_, _| {
        cartback_testing::http_stub::Reply::json(
            200,
            r#"{"id":"cs_test_dash","object":"checkout.session","url":"https://checkout.stripe.com/c/pay/cs_test_dash","expires_at":4102444800}"#,
        )
    });
    let api = Api::start(
        &db.url,
        &[
            ("CARTBACK_MASTER_KEY", master_key.clone()),
            ("CARTBACK_STRIPE_API_BASE", stripe.base_url.clone()),
        ],
    );
    let key = shop.secret.as_str();
    let (status, body) = api.v1(
        "PUT",
        "/integrations/stripe",
        key,
        Some(&json!({"secretKey": "sk_test_dashboard"})),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = api.v1(
        "POST",
        "/webhook-endpoints",
        key,
        Some(&json!({"url": "https://hooks.invalid/cartback", "events": ["*"], "description": "CRM"})),
    );
    assert_eq!(status, 201, "{body}");
    for (session, email) in [
        ("sess-ann", "ann@example.com"),
        ("sess-bo", "bo@example.com"),
        ("sess-cy", "cy@example.com"),
    ] {
        assert_eq!(api.track(key, &cart_update(session, Some(email))).0, 200);
    }
    let outbox = tempfile::tempdir().unwrap();
    {
        let _worker = cartback_testing::app::spawn_worker(
            &db.url,
            &[
                ("CARTBACK_NO_MIGRATE", "true".to_owned()),
                ("CARTBACK_OUTBOX_DIR", outbox.path().display().to_string()),
                ("CARTBACK_PUBLIC_URL", api.base.clone()),
                ("CARTBACK_MASTER_KEY", master_key),
            ],
        );
        for session in ["sess-ann", "sess-bo", "sess-cy"] {
            wait_for_email(&api, key, session);
        }
        // A finished attempt: a claimed one counts its attempt before its answer.
        wait_for("a failed webhook attempt", Duration::from_secs(30), || {
            let (_, endpoints) = api.v1("GET", "/webhook-endpoints", key, None);
            let Some(id) = endpoints["data"][0]["id"].as_str() else {
                return false;
            };
            let (_, deliveries) = api.v1(
                "GET",
                &format!("/webhook-endpoints/{id}/deliveries"),
                key,
                None,
            );
            deliveries["data"]
                .as_array()
                .is_some_and(|list| list.iter().any(|d| d["lastError"].is_string()))
        });
    }
    let config = json!({
        "base": api.base,
        "secretKey": shop.secret,
        "label": label,
        "toolsDir": tools.display().to_string(),
        "chromium": std::env::var("CARTBACK_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()),
        "screenshots": root.join("target/screenshots").display().to_string(),
        "owner": {"email": owner.0, "password": owner.1},
        "viewer": {"email": viewer.0, "password": viewer.1},
        "annCartId": cart_id(&api, &shop, "sess-ann"),
        "boCartId": cart_id(&api, &shop, "sess-bo"),
        "cyCartId": cart_id(&api, &shop, "sess-cy"),
    });
    run_browser_spec(&root, "carts.spec.mjs", &config);
    // The page's button asked Stripe once, for exactly the cart, with the key.
    let asked = stripe.requests();
    assert_eq!(asked.len(), 1, "{asked:?}");
    let form = String::from_utf8_lossy(&asked[0].body).to_string();
    assert!(form.contains("client_reference_id="), "{form}");
    assert!(
        asked[0]
            .header("authorization")
            .is_some_and(|a| a.contains("sk_test_dashboard"))
    );
}

#[test]
fn carts_pages_in_a_browser_on_sqlite() {
    carts_pages_in_a_browser(Backend::Sqlite);
}

#[test]
fn carts_pages_in_a_browser_on_postgres() {
    carts_pages_in_a_browser(Backend::Postgres);
}

/// The Experiments page (tests/browser/experiments.spec.mjs): a 50 % holdout
/// run through the api and the worker over eight shoppers, one held-out
/// shopper orders, the experiment stops; then the merchant reads its figures
/// and lift chart against the API, makes a new holdout and starts it; a
/// viewer reads but is refused every change.
fn experiments_in_a_browser(backend: Backend) {
    let root = workspace();
    let tools = browser_tools(&root);
    let label = backend_label(backend);
    let db = TestDatabase::new(backend);
    let shop = create_tenant(&db.url, "700ms");
    let (owner, viewer) = owner_and_viewer(&db.url, &shop.id, "exp-", "shop.example", label);
    let api = Api::start(&db.url, &[]);
    let key = shop.secret.as_str();
    let (status, created) = api.v1(
        "POST",
        "/experiments",
        key,
        Some(&json!({"name": "Spring holdout", "groups": [
            {"name": "holdout", "basisPoints": 5000, "holdout": true},
            {"name": "emails", "basisPoints": 5000}
        ]})),
    );
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        api.v1("POST", &format!("/experiments/{id}/start"), key, None)
            .0,
        200
    );
    let sessions: Vec<String> = (0..16).map(|i| format!("sess-exp-{i}")).collect();
    for (i, session) in sessions.iter().enumerate() {
        let email = format!("shopper{i}@example.com");
        assert_eq!(api.track(key, &cart_update(session, Some(&email))).0, 200);
    }
    let outbox = tempfile::tempdir().unwrap();
    {
        let _worker = worker(&db, &api, outbox.path());
        wait_for("every cart assigned", Duration::from_secs(30), || {
            sessions.iter().all(|session| {
                let id = cart_id(&api, &shop, session);
                let (_, cart) = api.v1("GET", &format!("/carts/{id}"), key, None);
                !cart["data"]["experiment"].is_null()
            })
        });
    }
    let held_out = sessions
        .iter()
        .find(|session| {
            let id = cart_id(&api, &shop, session);
            let (_, cart) = api.v1("GET", &format!("/carts/{id}"), key, None);
            cart["data"]["experiment"]["heldOut"] == json!(true)
        })
        .expect("a held-out shopper among sixteen (a 1 in 65,536 chance of none)");
    order(&api, key, held_out, "EXP-1", 100.0, "USD");
    assert_eq!(
        api.v1("POST", &format!("/experiments/{id}/stop"), key, None)
            .0,
        200
    );
    let config = json!({
        "base": api.base,
        "secretKey": shop.secret,
        "label": label,
        "toolsDir": tools.display().to_string(),
        "chromium": std::env::var("CARTBACK_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()),
        "screenshots": root.join("target/screenshots").display().to_string(),
        "owner": {"email": owner.0, "password": owner.1},
        "viewer": {"email": viewer.0, "password": viewer.1},
        "experimentId": id,
    });
    run_browser_spec(&root, "experiments.spec.mjs", &config);
}

#[test]
fn experiments_in_a_browser_on_sqlite() {
    experiments_in_a_browser(Backend::Sqlite);
}

#[test]
fn experiments_in_a_browser_on_postgres() {
    experiments_in_a_browser(Backend::Postgres);
}
