//! One connection type over both backends, picked by the URL scheme.

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::{Connection, PgConnection, SqliteConnection};

use crate::error::{StoreError, StoreResult};

/// A connection to either backend. Common queries run on it directly; the few
/// statements whose dialects differ (upserts, `FOR UPDATE SKIP LOCKED`) match on it.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which backend a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn from_url(url: &str) -> StoreResult<Backend> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite://") || url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }
}

/// The URL with any password removed, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// What diesel's SQLite driver wants: a file path (or `:memory:`), no scheme.
pub(crate) fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// Applied to every pooled connection as it is opened.
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<DbConn, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), diesel::r2d2::Error> {
        if let DbConn::Sqlite(conn) = conn {
            // WAL lets the api read while the worker writes; busy_timeout makes
            // writers from several processes wait for each other instead of failing.
            // The page cache is per connection and the pool multiplies it: 1 MB
            // each keeps a worker under 50 MB (8 MB gave 86 MB, the default 2 MB
            // about 56); the OS page cache holds the rest of the file anyway.
            // Checkpoints are the store's background thread's job; a writer only
            // checkpoints by itself when the WAL outgrows that thread.
            // secure_delete zeroes what a delete or update frees, free pages
            // included: erased personal data must not linger in the file (GDPR
            // art. 17). It costs a write of each page that becomes free.
            conn.batch_execute(&format!(
                "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
                 PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                 PRAGMA secure_delete = ON; \
                 PRAGMA cache_size = -1024; PRAGMA wal_autocheckpoint = {};",
                crate::checkpoint::WRITER_CHECKPOINT_PAGES
            ))
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// Page cache of a connection that only one writer uses (`-KiB`, SQLite's spelling).
const WRITER_CACHE_KIB: u32 = 8 * 1024;

/// A connection outside the pool for one long-lived writer (the SQLite ingest
/// writer): the pool's settings plus an 8 MB page cache. The pool's connections
/// keep 1 MB each because the pool multiplies it; one writer that touches the
/// same index pages batch after batch gains from keeping them, and a cache too
/// small for one batch's dirty pages spills them to the WAL mid-statement.
pub fn open_writer_connection(url: &str) -> StoreResult<DbConn> {
    let backend = Backend::from_url(url)?;
    let target = match backend {
        Backend::Postgres => url,
        Backend::Sqlite => sqlite_path(url),
    };
    let mut conn = DbConn::establish(target)?;
    SqlitePragmas
        .on_acquire(&mut conn)
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    if let DbConn::Sqlite(sqlite) = &mut conn {
        sqlite.batch_execute(&format!("PRAGMA cache_size = -{WRITER_CACHE_KIB};"))?;
    }
    Ok(conn)
}

pub type DbPool = Pool<ConnectionManager<DbConn>>;
pub type PooledConn = PooledConnection<ConnectionManager<DbConn>>;

/// Opens a pool of `size` connections.
pub fn open_pool(url: &str, size: u32) -> StoreResult<DbPool> {
    let backend = Backend::from_url(url)?;
    let manager_url = match backend {
        Backend::Postgres => url.to_owned(),
        Backend::Sqlite => sqlite_path(url).to_owned(),
    };
    let manager = ConnectionManager::<DbConn>::new(manager_url);
    let pool = Pool::builder()
        .max_size(size.max(1))
        .connection_timeout(Duration::from_secs(10))
        .connection_customizer(Box::new(SqlitePragmas))
        .build(manager)?;
    Ok(pool)
}

impl DbConn {
    pub fn backend(&self) -> Backend {
        match self {
            DbConn::Postgres(_) => Backend::Postgres,
            DbConn::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Runs `body` in a write transaction. On SQLite it is `BEGIN IMMEDIATE`, so the
/// write lock is taken up front and concurrent writers (api and worker processes on
/// one file) wait on busy_timeout instead of failing when a read turns into a write.
pub fn write_transaction<T, E, F>(conn: &mut DbConn, body: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?
        }
        DbConn::Postgres(inner) => AnsiTransactionManager::begin_transaction(inner)?,
    }
    match body(conn) {
        Ok(value) => {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => {
            <DbConn as Connection>::TransactionManager::rollback_transaction(conn)?;
            Err(error)
        }
    }
}

/// Inside a [`write_transaction`]: waits until no other transaction holds `key`,
/// and holds it until this one ends, so a check-then-write (a count under a
/// limit, a lookup before an insert) cannot interleave with another one for the
/// same key. PostgreSQL takes a transaction-scoped advisory lock on the key's
/// hash (a collision only serialises two unrelated writers); on SQLite,
/// `BEGIN IMMEDIATE` already serialises every writer, so nothing is needed.
pub fn lock_key(conn: &mut DbConn, key: &str) -> StoreResult<()> {
    use diesel::RunQueryDsl;
    if let DbConn::Postgres(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind::<diesel::sql_types::Text, _>(key)
            .execute(pg)?;
    }
    Ok(())
}
