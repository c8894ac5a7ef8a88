//! Throwaway databases for tests: each test gets its own, dropped when it ends, so
//! runs never collide. PostgreSQL is reached through `CARTBACK_TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`).

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

use crate::connection::Backend;
use crate::ids::random_id;

pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

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
        let admin = admin_url();
        let name = random_id("cb_test_", 12).to_lowercase();
        let mut conn = PgConnection::establish(&admin).unwrap_or_else(|e| {
            panic!("PostgreSQL is needed for this test ({admin}): {e}. Start it or set CARTBACK_TEST_POSTGRES_URL.")
        });
        conn.batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("create database {name}: {e}"));
        let base = admin
            .rsplit_once('/')
            .map_or(admin.as_str(), |(base, _)| base);
        TestDatabase {
            url: format!("{base}/{name}"),
            backend: Backend::Postgres,
            pg_name: Some(name),
            _dir: None,
        }
    }
}

impl TestDatabase {
    /// PostgreSQL only: terminates every other connection to this database, as
    /// a failover or an operator would. Their next statement fails.
    pub fn terminate_connections(&self) {
        let Some(_) = &self.pg_name else {
            panic!("terminate_connections is for PostgreSQL databases");
        };
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

/// Runs one raw statement written with PostgreSQL's `$n` placeholders on either
/// backend, every parameter bound as text: for tests that write rows no
/// repository function would (corrupt data, values from before a bound).
pub fn execute_raw(
    conn: &mut crate::DbConn,
    postgres_sql: &str,
    params: &[&str],
) -> crate::StoreResult<usize> {
    use diesel::RunQueryDsl;
    let mut query = diesel::sql_query(crate::sql::dialect(conn, postgres_sql)).into_boxed();
    for param in params {
        query = query.bind::<diesel::sql_types::Text, _>(param.to_string());
    }
    Ok(query.execute(conn)?)
}
