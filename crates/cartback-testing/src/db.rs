//! A database per test, dropped when the test ends, so tests run in parallel and
//! never see each other's rows.
//!
//! SQLite: a file in a fresh temporary directory (the test migrates it, which
//! takes milliseconds). PostgreSQL: a copy of a migrated template database,
//! `CREATE DATABASE … TEMPLATE cartback_tpl_<hash of migrations/postgres>`, made
//! once under an advisory lock by whichever test process comes first; copying
//! takes a fraction of what running every migration per test took. The server is
//! `CARTBACK_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//!
//! `scripts/test.sh` sets `CARTBACK_TEST_RUN` to a fresh id, which goes into the
//! template's name, so concurrent runs never share a template, and drops that
//! run's template at the end. Without it (a bare `cargo test`) the template is
//! named by the migrations' hash alone and kept for the next run: a changed
//! migration gets a new name, so a stale schema is never copied.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};
use sha2::{Digest, Sha256};

pub use cartback_store::Backend;
use cartback_store::ids::random_id;
use cartback_store::{DbConn, StoreResult};

pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The maintenance database tests create and drop their databases through.
pub fn admin_url() -> String {
    std::env::var("CARTBACK_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// A database that exists for the lifetime of the value.
pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// SQLite: an empty file the test migrates (or a binary does on start).
    /// PostgreSQL: already migrated, copied from the run's template.
    pub fn new(backend: Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres => TestDatabase::postgres(),
        }
    }

    pub fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let url = format!("sqlite://{}", dir.path().join("cartback.db").display());
        TestDatabase {
            url,
            backend: Backend::Sqlite,
            pg_name: None,
            _dir: Some(dir),
        }
    }

    pub fn postgres() -> TestDatabase {
        let template = template();
        let name = random_id("cb_test_", 12).to_lowercase();
        let mut conn = admin_connection();
        create_from_template(&mut conn, &name, template);
        TestDatabase {
            url: database_url(&name),
            backend: Backend::Postgres,
            pg_name: Some(name),
            _dir: None,
        }
    }

    /// A database with no tables at all, on either backend: for tests of what
    /// migrating a fresh database does.
    pub fn empty(backend: Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres => {
                let name = random_id("cb_test_", 12).to_lowercase();
                admin_connection()
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .unwrap_or_else(|e| panic!("create database {name}: {e}"));
                TestDatabase {
                    url: database_url(&name),
                    backend: Backend::Postgres,
                    pg_name: Some(name),
                    _dir: None,
                }
            }
        }
    }

    /// PostgreSQL only: terminates every other connection to this database, as
    /// a failover or an operator would. Their next statement fails.
    pub fn terminate_connections(&self) {
        assert!(
            self.pg_name.is_some(),
            "terminate_connections is for PostgreSQL databases"
        );
        let mut conn = PgConnection::establish(&self.url)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.url));
        conn.batch_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .unwrap_or_else(|e| panic!("pg_terminate_backend: {e}"));
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name
            && let Ok(mut conn) = PgConnection::establish(&admin_url())
        {
            let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

fn admin_connection() -> PgConnection {
    let admin = admin_url();
    PgConnection::establish(&admin).unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is needed for this test ({admin}): {e}. Start it or set CARTBACK_TEST_POSTGRES_URL."
        )
    })
}

/// The URL of database `name` on the admin URL's server.
fn database_url(name: &str) -> String {
    let admin = admin_url();
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    format!("{base}/{name}")
}

/// `CREATE DATABASE name TEMPLATE template`. PostgreSQL refuses a copy while
/// anything is connected to the template; nothing is, once it is built, but a
/// build in another run can hold the catalog for a moment, so a refusal is
/// retried briefly.
fn create_from_template(conn: &mut PgConnection, name: &str, template: &str) {
    let mut attempt = 0;
    loop {
        match conn.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}")) {
            Ok(()) => return,
            Err(e) if attempt < 50 && e.to_string().contains("being accessed by other users") => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("create database {name} from {template}: {e}"),
        }
    }
}

/// The migrated template's name, built on first use in this process (and at
/// most once per name across processes).
fn template() -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let name = template_name();
        let mut conn = admin_connection();
        // One builder at a time across every test process on the server; the
        // others wait here, then find the template built.
        conn.batch_execute("SELECT pg_advisory_lock(7210443419)")
            .unwrap_or_else(|e| panic!("advisory lock: {e}"));
        if !database_exists(&mut conn, &name) {
            // Built under a scratch name and renamed at the end, so a build that
            // dies half-way never leaves a half-migrated template behind.
            let scratch = random_id("cb_tpl_build_", 12).to_lowercase();
            conn.batch_execute(&format!("CREATE DATABASE {scratch}"))
                .unwrap_or_else(|e| panic!("create database {scratch}: {e}"));
            {
                // Closed before the rename: PostgreSQL renames no database in use.
                let build = PgConnection::establish(&database_url(&scratch))
                    .unwrap_or_else(|e| panic!("connect to {scratch}: {e}"));
                cartback_store::run_migrations(&mut DbConn::Postgres(build))
                    .unwrap_or_else(|e| panic!("migrate {scratch}: {e}"));
            }
            conn.batch_execute(&format!("ALTER DATABASE {scratch} RENAME TO {name}"))
                .unwrap_or_else(|e| panic!("rename {scratch} to {name}: {e}"));
        }
        conn.batch_execute("SELECT pg_advisory_unlock(7210443419)")
            .unwrap_or_else(|e| panic!("advisory unlock: {e}"));
        name
    })
}

fn database_exists(conn: &mut PgConnection, name: &str) -> bool {
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let found: Found =
        diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
            .bind::<diesel::sql_types::Text, _>(name)
            .get_result(conn)
            .unwrap_or_else(|e| panic!("look up database {name}: {e}"));
    found.n > 0
}

/// `cartback_tpl_<first 16 hex digits of the hash of migrations/postgres>`, plus
/// `_<CARTBACK_TEST_RUN>` when a run id is set.
pub fn template_name() -> String {
    let mut name = format!("cartback_tpl_{}", migrations_hash());
    if let Ok(run) = std::env::var("CARTBACK_TEST_RUN") {
        let run: String = run
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .take(24)
            .collect();
        if !run.is_empty() {
            name = format!("{name}_{run}");
        }
    }
    name
}

fn migrations_hash() -> String {
    let dir = crate::workspace_root().join("migrations/postgres");
    let mut files = Vec::new();
    collect_files(&dir, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no migrations under {}", dir.display());
    let mut hasher = Sha256::new();
    for file in files {
        let relative = file.strip_prefix(&dir).unwrap_or(&file);
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update(
            std::fs::read(&file).unwrap_or_else(|e| panic!("read {}: {e}", file.display())),
        );
        hasher.update([0]);
    }
    hex::encode(hasher.finalize())[..16].to_owned()
}

fn collect_files(dir: &Path, into: &mut Vec<std::path::PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, into);
        } else {
            into.push(path);
        }
    }
}

/// Runs one raw statement written with PostgreSQL's `$n` placeholders on either
/// backend, every parameter bound as text: for tests that write rows no
/// repository function would (corrupt data, values from before a bound).
pub fn execute_raw(conn: &mut DbConn, postgres_sql: &str, params: &[&str]) -> StoreResult<usize> {
    // SQLite spells the numbered parameter `?n`.
    let sql = match conn {
        DbConn::Postgres(_) => postgres_sql.to_owned(),
        DbConn::Sqlite(_) => postgres_sql.replace('$', "?"),
    };
    let mut query = diesel::sql_query(sql).into_boxed();
    for param in params {
        query = query.bind::<diesel::sql_types::Text, _>(param.to_string());
    }
    Ok(query.execute(conn)?)
}

/// One `#[test]` per backend.
///
/// - `on_both_backends!(name, |db: &TestDatabase| { … })`: a module `name` whose
///   `sqlite` and `postgres` tests call the closure with a fresh database.
/// - `on_both_backends!(scenario_a, scenario_b)`: for each `fn scenario(Backend)`
///   in scope, a module of the same name with `sqlite` and `postgres` tests.
/// - `on_both_backends!(async scenario_a, …)`: the same for
///   `async fn scenario(Backend)`, each run on a two-thread tokio runtime.
#[macro_export]
macro_rules! on_both_backends {
    (async $($scenario:ident),+ $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario($crate::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$scenario($crate::Backend::Postgres).await
            }
        }
    )+};
    ($name:ident, |$db:ident : &TestDatabase| $body:block) => {
        mod $name {
            use super::*;
            fn body($db: &$crate::TestDatabase) $body
            #[test]
            fn sqlite() {
                body(&$crate::TestDatabase::new($crate::Backend::Sqlite));
            }
            #[test]
            fn postgres() {
                body(&$crate::TestDatabase::new($crate::Backend::Postgres));
            }
        }
    };
    ($($scenario:ident),+ $(,)?) => {$(
        mod $scenario {
            #[test]
            fn sqlite() {
                super::$scenario($crate::Backend::Sqlite);
            }
            #[test]
            fn postgres() {
                super::$scenario($crate::Backend::Postgres);
            }
        }
    )+};
}
