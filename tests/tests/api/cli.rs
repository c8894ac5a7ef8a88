//! The admin command line against a real database: tenants and keys, and a revoked
//! key stops working at the api at once.

use std::time::Duration;

use serde_json::{Value, json};

use cartback_store::Backend;
use cartback_testing::TestDatabase;
use cartback_testing::app::tenant_create_json;
use cartback_testing::process::{command, free_port, run, spawn, wait_for};

fn create_tenant(env: &[(&str, String)], name: &str, from: &str) -> Value {
    tenant_create_json(env, &["--name", name, "--from", from])
}

/// A fresh database and master key, as the provider commands need them.
fn sealed_env(db: &TestDatabase) -> [(&'static str, String); 2] {
    let key = run("cartback", &[], &["keys", "generate-master"])
        .trim()
        .to_owned();
    [
        ("DATABASE_URL", db.url.clone()),
        ("CARTBACK_MASTER_KEY", key),
    ]
}

#[test]
fn keys_can_be_created_listed_and_revoked() {
    let db = TestDatabase::new(Backend::Sqlite);
    let env = [("DATABASE_URL", db.url.clone())];
    assert!(run("cartback", &env, &["migrate"]).contains("up to date"));
    let tenant = create_tenant(&env, "Keys shop", "hi@shop.example");
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
            ("CARTBACK_AUTH_CACHE_TTL", "300ms".to_owned()),
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
    // The api remembers a key for the auth cache's TTL (300 ms here), no longer.
    let revoked_at = std::time::Instant::now();
    wait_for(
        "the revoked key to be refused",
        Duration::from_secs(5),
        || status(&key) == 401,
    );
    assert!(revoked_at.elapsed() < Duration::from_secs(2));
    // Revoking again, or another tenant's key, is an error.
    let output = std::process::Command::new(cartback_testing::process::bin_path("cartback"))
        .args(["key", "revoke", "--tenant", tenant_id, "--key", &key_id])
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(!output.status.success());
}

#[test]
fn provider_commands_set_show_test_and_delete() {
    let db = TestDatabase::new(Backend::Sqlite);
    let stub = cartback_testing::http_stub::HttpStub::start();
    let env = sealed_env(&db);
    let tenant = create_tenant(&env, "CLI shop", "shop@example.com");
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

/// SES settings without keys use AWS's default credential chain of the process:
/// here the AWS_* environment variables, as on a server with an injected role.
#[test]
fn ses_without_stored_keys_uses_the_default_credential_chain() {
    let db = TestDatabase::new(Backend::Sqlite);
    let moto = cartback_testing::moto::Moto::start();
    moto.verify_identity("shop@example.com");
    let env = sealed_env(&db);
    let tenant = create_tenant(&env, "Role shop", "shop@example.com");
    let tenant_id = tenant["tenantId"].as_str().unwrap();
    let settings =
        json!({"provider": "ses", "region": "us-east-1", "endpointUrl": moto.endpoint}).to_string();
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
    assert!(set.contains("\"defaultCredentialChain\":true"), "{set}");

    let test_send = |aws_env: &[(&str, &str)]| {
        let mut command = command(
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
        command
            // Keep the machine's own AWS setup out of the test, and the instance
            // metadata service (unreachable here) from slowing it down.
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/aws-credentials",
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(aws_env.iter().copied());
        command.output().unwrap()
    };
    let without = test_send(&[]);
    assert!(
        !without.status.success(),
        "no credentials anywhere: the send fails"
    );
    assert!(moto.sent_raw_messages().is_empty());

    let with = test_send(&[
        ("AWS_ACCESS_KEY_ID", "AKIDFROMENV"),
        ("AWS_SECRET_ACCESS_KEY", "secret-from-env"),
    ]);
    let stdout = String::from_utf8_lossy(&with.stdout);
    assert!(
        with.status.success() && stdout.contains("delivered through ses"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&with.stderr)
    );
    let raws = moto.sent_raw_messages();
    assert_eq!(raws.len(), 1);
    assert!(raws[0].contains("cartback test email for Role shop"));

    // One key without the other is refused when saving.
    let half =
        json!({"provider": "ses", "region": "us-east-1", "accessKeyId": "AKIDONLY"}).to_string();
    let refused = std::process::Command::new(cartback_testing::process::bin_path("cartback"))
        .args([
            "provider",
            "set",
            "--tenant",
            tenant_id,
            "--settings",
            &half,
        ])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert!(!refused.status.success());
}

/// `cartback backup` copies a live SQLite database while the api ingests: every
/// cart acknowledged before the backup started is in the copy, and SQLite finds
/// the copy sound. Existing files are kept unless `--force`.
#[test]
fn backup_of_a_live_sqlite_database_while_the_api_ingests() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    use cartback_store::backup::check_sqlite_file;
    use cartback_store::carts::find_cart_by_session;
    use cartback_testing::app::{Api, cart_update, create_tenant as create_shop};

    let db = TestDatabase::new(Backend::Sqlite);
    let shop = create_shop(&db.url, "1h");
    let api = Arc::new(Api::start(&db.url, &[]));
    // (session, when its 200 arrived), per acknowledged CART_UPDATE.
    let acked: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let streams: Vec<_> = (0..2)
        .map(|stream| {
            let (api, acked, stop, key) = (
                api.clone(),
                acked.clone(),
                stop.clone(),
                shop.secret.clone(),
            );
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let session = format!("backup-{stream}-{n}");
                    let (status, answer) = api.track(&key, &cart_update(&session, None));
                    assert_eq!(status, 200, "{answer}");
                    acked.lock().unwrap().push((session, Instant::now()));
                    n += 1;
                }
            })
        })
        .collect();
    wait_for("some carts to be ingested", Duration::from_secs(30), || {
        acked.lock().unwrap().len() >= 100
    });

    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("cartback-backup.db");
    let env = [("DATABASE_URL", db.url.clone())];
    let started = Instant::now();
    let before: Vec<String> = acked
        .lock()
        .unwrap()
        .iter()
        .map(|(session, _)| session.clone())
        .collect();
    let printed = run("cartback", &env, &["backup", "--to", to.to_str().unwrap()]);
    let finished = Instant::now();
    assert!(printed.contains("backup written to"), "{printed}");
    // Ingest went on while the backup ran and after it.
    let count_after = |at: Instant| {
        acked
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, when)| *when > at)
            .count()
    };
    wait_for("ingest to go on", Duration::from_secs(30), || {
        count_after(finished) >= 20
    });
    stop.store(true, Ordering::Relaxed);
    for stream in streams {
        stream.join().unwrap();
    }
    assert!(count_after(started) >= 20);

    assert_eq!(
        check_sqlite_file(&to, true).unwrap(),
        Vec::<String>::new(),
        "PRAGMA integrity_check"
    );
    let copy = cartback_store::Store::open(&format!("sqlite://{}", to.display()), 1).unwrap();
    let mut conn = copy.conn().unwrap();
    let missing: Vec<&String> = before
        .iter()
        .filter(|session| {
            find_cart_by_session(&mut conn, &shop.id, session)
                .unwrap()
                .is_none()
        })
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged carts are missing from the backup: {missing:?}",
        missing.len(),
        before.len()
    );
    drop(conn);
    drop(copy);

    // An existing file is kept unless --force.
    let refused = command("cartback", &env, &["backup", "--to", to.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--force"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    run(
        "cartback",
        &env,
        &["backup", "--to", to.to_str().unwrap(), "--force"],
    );
    assert!(check_sqlite_file(&to, false).unwrap().is_empty());
}

/// PostgreSQL is pg_dump's: one error line that says so, and a failing exit.
#[test]
fn backup_of_postgresql_points_at_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("pg.db");
    let output = command(
        "cartback",
        &[(
            "DATABASE_URL",
            "postgres://postgres:secret@127.0.0.1:5432/cartback".to_owned(),
        )],
        &["backup", "--to", to.to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("pg_dump"), "{stderr}");
    assert!(!stderr.contains("secret"), "{stderr}");
    assert!(!to.exists());
}

/// The master key is read from the environment or `--master-key-file`, never
/// from the command line; the file's surrounding whitespace is not part of it.
#[test]
fn the_master_key_comes_from_a_file_or_the_environment_not_argv() {
    let db = TestDatabase::new(Backend::Sqlite);
    let env = [("DATABASE_URL", db.url.clone())];
    let tenant = create_tenant(&env, "Key file shop", "shop@example.com");
    let tenant_id = tenant["tenantId"].as_str().unwrap();
    let key = run("cartback", &[], &["keys", "generate-master"])
        .trim()
        .to_owned();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("master.key");
    std::fs::write(&key_file, format!("  {key}\n\n")).unwrap();
    let key_file = key_file.display().to_string();
    let settings = json!({"provider": "resend", "apiKey": "re_file_key_0123456789"}).to_string();
    run(
        "cartback",
        &env,
        &[
            "--master-key-file",
            &key_file,
            "provider",
            "set",
            "--tenant",
            tenant_id,
            "--settings",
            &settings,
        ],
    );
    // The same key from the environment finds everything current.
    let with_env = [
        ("DATABASE_URL", db.url.clone()),
        ("CARTBACK_MASTER_KEY", key.clone()),
    ];
    let rotated = run("cartback", &with_env, &["keys", "rotate-master"]);
    assert!(rotated.contains("re-sealed 0 provider"), "{rotated}");
    // A new key in the environment, the old one in a file: the row moves over.
    let new_key = run("cartback", &[], &["keys", "generate-master"])
        .trim()
        .to_owned();
    let rotated = run(
        "cartback",
        &[
            ("DATABASE_URL", db.url.clone()),
            ("CARTBACK_MASTER_KEY", new_key.clone()),
        ],
        &[
            "--previous-master-keys-file",
            &key_file,
            "keys",
            "rotate-master",
        ],
    );
    assert!(rotated.contains("re-sealed 1 provider"), "{rotated}");

    // On the command line, a key is refused, and not echoed back.
    let refused = command(
        "cartback",
        &env,
        &["--master-key", &new_key, "keys", "rotate-master"],
    )
    .output()
    .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("not accepted on the command line"),
        "{stderr}"
    );
    assert!(!stderr.contains(&new_key), "{stderr}");
    // Both sources at once is ambiguous.
    let both = command(
        "cartback",
        &with_env,
        &["--master-key-file", &key_file, "keys", "rotate-master"],
    )
    .output()
    .unwrap();
    assert!(!both.status.success());
    assert!(
        String::from_utf8_lossy(&both.stderr).contains("not both"),
        "{}",
        String::from_utf8_lossy(&both.stderr)
    );
}
