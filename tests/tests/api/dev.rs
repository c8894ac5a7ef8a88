//! `cartback dev`, the README's run command: one process, SQLite, emails as .eml files.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use cartback_testing::process::{Running, bin_path, free_port};

fn eml_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn dev_writes_a_recovery_email_to_the_outbox_unless_ordered() {
    let workdir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(bin_path("cartback"))
        .arg("dev")
        .current_dir(workdir.path())
        .env_remove("DATABASE_URL")
        .env("CARTBACK_BIND", format!("127.0.0.1:{port}"))
        .env("CARTBACK_DEMO_DELAY", "600ms")
        .env("CARTBACK_POLL_INTERVAL", "50ms")
        .env("CARTBACK_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(workdir.path().join("dev.log")).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _dev = Running {
        child,
        name: "cartback dev".to_owned(),
    };

    // The banner prints the secret key and a ready curl (its command line, then
    // its `-d` line). Keep draining stdout afterwards, as a terminal would.
    let (found, banner) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut secret = None;
        let mut curl = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(key) = line.trim().strip_prefix("secret key") {
                secret = Some(key.trim().to_owned());
            } else if line.contains("curl") && line.contains("/api/v1/track") {
                curl = Some(line);
            } else if let Some(command) = curl.take() {
                let _ = found.send((secret.take(), command, line));
            }
        }
    });
    let (secret, curl, data) = banner.recv_timeout(Duration::from_secs(60)).unwrap();
    let secret = secret.expect("the banner prints the secret key");
    assert!(secret.starts_with("sk_"), "{secret}");
    let url = format!("http://127.0.0.1:{port}/api/v1/track");
    assert!(
        curl.contains(&format!("curl -s {url} -H 'X-API-Key: {secret}'")),
        "the curl calls this api with the printed key: {curl}"
    );
    // The printed body is a cart the api accepts.
    let body: serde_json::Value = data
        .trim()
        .strip_prefix("-d '")
        .and_then(|d| d.strip_suffix('\''))
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_else(|| panic!("the curl's -d line holds JSON: {data}"));
    assert_eq!(body["event"], "CART_UPDATE", "{body}");
    assert!(
        workdir.path().join("cartback.db").exists(),
        "sqlite://cartback.db by default"
    );

    let http = reqwest::blocking::Client::new();
    let track = |body: serde_json::Value| {
        let response = http
            .post(format!("http://127.0.0.1:{port}/api/v1/track"))
            .header("X-API-Key", &secret)
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
    };
    let cart = |session: &str, email: &str| {
        json!({"event": "CART_UPDATE", "sessionId": session, "customerEmail": email,
               "items": [{"id": "sku_1", "name": "Blue mug", "price": 12.50, "quantity": 2}], "total": 25.00})
    };
    // The banner's cart, sent as its curl would, then ordered: it never gets
    // an email, so the outbox below holds only the abandoned cart's.
    track(body.clone());
    track(
        json!({"event": "ORDER_COMPLETE", "sessionId": body["sessionId"], "orderId": "D-1",
                 "total": body["total"]}),
    );
    track(cart("ordered", "paid@example.com"));
    track(
        json!({"event": "ORDER_COMPLETE", "sessionId": "ordered", "orderId": "A-1", "total": 25.00}),
    );
    track(cart("left", "left@example.com"));

    let outbox = workdir.path().join("outbox");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while eml_files(&outbox).is_empty() {
        if std::time::Instant::now() > deadline {
            let log = std::fs::read_to_string(workdir.path().join("dev.log")).unwrap_or_default();
            panic!("no .eml in ./outbox after 60 s; cartback dev logged:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    std::thread::sleep(Duration::from_millis(1000));
    let files = eml_files(&outbox);
    assert_eq!(files.len(), 1, "{files:?}");
    let eml = std::fs::read_to_string(&files[0]).unwrap();
    assert!(eml.contains("left@example.com"));
    assert!(!eml.contains("paid@example.com"));
    assert!(eml.contains("Blue mug"));
    // No --public-url: the links lead to where dev listens, not to the
    // default 127.0.0.1:8080 (the List-Unsubscribe header holds one unencoded).
    assert!(
        eml.contains(&format!("<http://127.0.0.1:{port}/u/")),
        "the email's links use the --bind address: {eml}"
    );
}
