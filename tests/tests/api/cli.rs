//! The admin command line against a real database: tenants and keys, and a revoked
//! key stops working at the api at once.

use std::time::Duration;

use serde_json::{Value, json};

use cartback_store::Backend;
use cartback_testing::app::tenant_create_json;
use cartback_testing::process::{command, free_port, run, spawn, wait_for};
use cartback_testing::{TestDatabase, on_both_backends};

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
    assert!(run("cartback", &env, &["migrate"]).contains("applied"));
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

/// A failing run's standard error: (the exit failed, its text).
fn failure(name: &str, env: &[(&str, String)], args: &[&str]) -> String {
    let output = command(name, env, args).output().unwrap();
    assert!(!output.status.success(), "{name} {args:?} succeeded");
    String::from_utf8(output.stderr).unwrap()
}

// `cartback migrate` says what it did: how many migrations it applied to a fresh
// database, and "up to date" only when there was nothing to apply.
fn migrate_reports(backend: Backend) {
    let db = TestDatabase::empty(backend);
    let env = [("DATABASE_URL", db.url.clone())];
    let first = run("cartback", &env, &["migrate"]);
    assert!(first.starts_with("applied "), "{first}");
    assert!(!first.contains("up to date"), "{first}");
    let count: usize = first
        .trim_start_matches("applied ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let migrations = std::fs::read_dir(cartback_testing::workspace_root().join(match backend {
        Backend::Sqlite => "migrations/sqlite",
        Backend::Postgres => "migrations/postgres",
    }))
    .unwrap()
    .filter(|e| e.as_ref().unwrap().path().is_dir())
    .count();
    assert_eq!(count, migrations, "{first}");
    let second = run("cartback", &env, &["migrate"]);
    assert!(
        second.contains("up to date: no pending migrations"),
        "{second}"
    );
}

on_both_backends!(migrate_reports);

// `key list` has a header and creation dates; revoking a revoked key says so
// and succeeds; an unknown key or another tenant's is still an error.
on_both_backends!(key_list_and_idempotent_revoke, |db: &TestDatabase| {
    let env = [("DATABASE_URL", db.url.clone())];
    let tenant = create_tenant(&env, "Revoke shop", "shop@example.com");
    let tenant_id = tenant["tenantId"].as_str().unwrap();
    let other = create_tenant(&env, "Other shop", "other@example.com");
    let other_id = other["tenantId"].as_str().unwrap();

    let listed = run("cartback", &env, &["key", "list", "--tenant", tenant_id]);
    let mut lines = listed.lines();
    let header = lines.next().unwrap();
    for column in ["ID", "KIND", "PREFIX", "STATE", "CREATED", "LABEL"] {
        assert!(header.contains(column), "{listed}");
    }
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "{listed}");
    assert!(
        rows.iter()
            .all(|row| row.contains(&today) && row.contains("UTC") && row.contains("active")),
        "{listed}"
    );
    let key_id = rows[0].split_whitespace().next().unwrap().to_owned();
    assert!(key_id.starts_with("key_"), "{listed}");

    let revoke =
        |tenant: &str| ["key", "revoke", "--tenant", tenant, "--key", &key_id].map(str::to_owned);
    let args = revoke(tenant_id);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let first = run("cartback", &env, &args);
    assert_eq!(first.trim(), format!("revoked {key_id}"));
    let again = run("cartback", &env, &args);
    assert!(again.contains("already revoked"), "{again}");
    assert!(again.contains(&today), "{again}");
    let listed = run("cartback", &env, &["key", "list", "--tenant", tenant_id]);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(&key_id) && l.contains("revoked")),
        "{listed}"
    );

    let theirs = revoke(other_id);
    let theirs: Vec<&str> = theirs.iter().map(String::as_str).collect();
    let refused = failure("cartback", &env, &theirs);
    assert!(refused.contains("has no key"), "{refused}");
    assert_eq!(refused.trim().lines().count(), 1, "{refused}");
});

/// The master key's id is printed when it is made, and it is the id
/// `rotate-master` reports; standard output holds the key alone.
#[test]
fn generate_master_prints_the_id_rotate_master_reports() {
    let output = command("cartback", &[], &["keys", "generate-master"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let key = String::from_utf8(output.stdout).unwrap();
    assert_eq!(key.trim().lines().count(), 1, "{key}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    let id = stderr
        .split_whitespace()
        .skip_while(|word| *word != "id")
        .nth(1)
        .unwrap_or_else(|| panic!("no key id in {stderr:?}"))
        .to_owned();
    let db = TestDatabase::new(Backend::Sqlite);
    let rotated = run(
        "cartback",
        &[
            ("DATABASE_URL", db.url.clone()),
            ("CARTBACK_MASTER_KEY", key.trim().to_owned()),
        ],
        &["keys", "rotate-master"],
    );
    assert!(
        rotated.trim().ends_with(&format!("master key {id}")),
        "{rotated} / {id}"
    );
}

/// A failure is one line, `error: …`, with the default text logs at info
/// level: not a log record and the same message again.
#[test]
fn a_failure_is_one_error_line() {
    let env = [
        ("DATABASE_URL", "mysql://nowhere/cartback".to_owned()),
        ("CARTBACK_LOG", "info".to_owned()),
        // Keeps the worker's loopback warning out of the way.
        (
            "CARTBACK_PUBLIC_URL",
            "https://cartback.example.com".to_owned(),
        ),
    ];
    for binary in ["cartback-api", "cartback-worker"] {
        let stderr = failure(binary, &env, &[]);
        assert_eq!(stderr.trim().lines().count(), 1, "{binary}: {stderr}");
        assert!(stderr.starts_with("error: "), "{binary}: {stderr}");
    }
    let stderr = failure("cartback", &env, &["tenant", "list"]);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    // JSON logs carry it as one record instead.
    let mut json = env.to_vec();
    json.push(("CARTBACK_LOG_FORMAT", "json".to_owned()));
    let stderr = failure("cartback-worker", &json, &[]);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    let record: Value = serde_json::from_str(stderr.trim()).unwrap();
    assert_eq!(record["level"], "ERROR", "{stderr}");
}

/// What `cartback-worker` on `db` with `env` writes to a pipe in its first
/// second and a half; it must then stop cleanly on SIGTERM.
fn worker_stderr(db: &TestDatabase, env: &[(&str, String)]) -> String {
    let outbox = tempfile::tempdir().unwrap();
    let mut all = vec![
        ("DATABASE_URL", db.url.clone()),
        ("CARTBACK_OUTBOX_DIR", outbox.path().display().to_string()),
    ];
    all.extend(env.iter().cloned());
    let child = command("cartback-worker", &all, &[])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut worker = cartback_testing::process::Running {
        child,
        name: "cartback-worker".to_owned(),
    };
    std::thread::sleep(Duration::from_millis(1500));
    assert!(worker.terminate().success());
    let mut text = String::new();
    std::io::Read::read_to_string(worker.child.stderr.as_mut().unwrap(), &mut text).unwrap();
    text
}

/// Logs are coloured for a person at a terminal only: not into a pipe or a file,
/// and not on a terminal when NO_COLOR is set.
#[test]
fn log_colours_only_on_a_terminal_without_no_color() {
    const ESC: char = '\u{1b}';
    // A log line at warn level: the worker's loopback public-URL warning.
    let db = TestDatabase::new(Backend::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let logged = worker_stderr(&db, &[]);
    assert!(logged.contains("loopback"), "{logged}");
    assert!(!logged.contains(ESC), "colour codes in a pipe: {logged:?}");

    // On a terminal (script(1) gives the worker one), colour unless NO_COLOR.
    let Ok(script) = which("script") else {
        eprintln!("SKIPPED the terminal half: script(1) (util-linux) is not installed");
        return;
    };
    let on_terminal = |no_color: bool| {
        let worker = cartback_testing::process::bin_path("cartback-worker");
        let mut shell = std::process::Command::new(&script);
        shell
            .args([
                "-qec",
                &format!("timeout -s TERM 2 {}", worker.display()),
                "/dev/null",
            ])
            .env_remove("NO_COLOR")
            .env("DATABASE_URL", &db.url)
            .env("CARTBACK_LOG", "warn")
            .env("CARTBACK_OUTBOX_DIR", dir.path())
            .stdin(std::process::Stdio::null());
        if no_color {
            shell.env("NO_COLOR", "1");
        }
        String::from_utf8_lossy(&shell.output().unwrap().stdout).into_owned()
    };
    let coloured = on_terminal(false);
    assert!(
        coloured.contains("loopback") && coloured.contains(ESC),
        "{coloured:?}"
    );
    let plain = on_terminal(true);
    assert!(
        plain.contains("loopback") && !plain.contains(ESC),
        "{plain:?}"
    );
}

fn which(program: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
        .ok_or(())
}

/// The api refuses a non-loopback bind without a public URL (its links would
/// lead to the visitor's own machine), and starts once one is given; the
/// worker warns about a loopback public URL and keeps quiet about a real one.
#[test]
fn the_public_url_must_be_set_beyond_loopback() {
    let db = TestDatabase::new(Backend::Sqlite);
    let port = free_port();
    let env = [
        ("DATABASE_URL", db.url.clone()),
        ("CARTBACK_BIND", format!("0.0.0.0:{port}")),
    ];
    let refused = failure("cartback-api", &env, &[]);
    assert_eq!(refused.trim().lines().count(), 1, "{refused}");
    assert!(
        refused.contains("CARTBACK_PUBLIC_URL") && refused.contains(&format!("0.0.0.0:{port}")),
        "{refused}"
    );
    let refused = failure(
        "cartback-api",
        &[
            ("DATABASE_URL", db.url.clone()),
            ("CARTBACK_PUBLIC_URL", "cartback.example.com".to_owned()),
        ],
        &[],
    );
    assert!(refused.contains("not an absolute http"), "{refused}");

    let mut with_url = env.to_vec();
    with_url.push((
        "CARTBACK_PUBLIC_URL",
        "https://cartback.example.com".to_owned(),
    ));
    let _api = spawn("cartback-api", &with_url, &[]);
    let http = reqwest::blocking::Client::new();
    wait_for("the api on 0.0.0.0", Duration::from_secs(30), || {
        http.get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .is_ok_and(|r| r.status().is_success())
    });

    let warned = worker_stderr(&db, &[]);
    assert!(
        warned.contains("WARN") && warned.contains("CARTBACK_PUBLIC_URL"),
        "{warned}"
    );
    let quiet = worker_stderr(
        &db,
        &[(
            "CARTBACK_PUBLIC_URL",
            "https://cartback.example.com".to_owned(),
        )],
    );
    assert!(!quiet.contains("CARTBACK_PUBLIC_URL"), "{quiet}");
}
