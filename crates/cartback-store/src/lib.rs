#![doc = include_str!("../README.md")]

pub mod analytics;
pub mod api_keys;
pub mod backlog;
pub mod backup;
pub mod cart_admin;
pub mod carts;
mod checkpoint;
pub mod columns;
pub mod connection;
pub mod crypto;
pub mod email_providers;
pub mod erasure;
pub mod error;
pub mod events;
pub mod experiments;
pub mod ids;
pub mod languages;
pub mod links;
pub mod migrate;
pub mod orders;
pub mod origins;
pub mod schema;
pub mod sends;
mod sql;
pub mod stripe;
pub mod suppressions;
pub mod templates;
pub mod tenants;
pub mod timeline;
pub mod users;
pub mod view;
pub mod webhooks;

pub use connection::{
    Backend, DbConn, DbPool, PooledConn, lock_key, open_pool, open_writer_connection, redact_url,
    write_transaction,
};
pub use error::{StoreError, StoreResult};
pub use migrate::run_migrations;

/// A pool plus the backend it talks to: what the api and the worker hold.
#[derive(Clone)]
pub struct Store {
    pool: DbPool,
    backend: Backend,
    url: String,
    /// SQLite's WAL checkpoints, off the writers' path; stops with the last clone.
    _checkpointer: Option<std::sync::Arc<checkpoint::Checkpointer>>,
}

impl Store {
    /// Opens a pool on `url` (`sqlite://path` or `postgres://…`). On SQLite it
    /// also starts the background WAL checkpointer (module `checkpoint`).
    pub fn open(url: &str, pool_size: u32) -> StoreResult<Store> {
        let backend = Backend::from_url(url)?;
        let pool = open_pool(url, pool_size)?;
        let path = connection::sqlite_path(url);
        let checkpointer = match backend {
            Backend::Sqlite if !path.contains(":memory:") && !path.starts_with("file:") => {
                let started = checkpoint::Checkpointer::start(path)
                    .map_err(|e| StoreError::Unavailable(format!("checkpoint thread: {e}")))?;
                Some(std::sync::Arc::new(started))
            }
            _ => None,
        };
        Ok(Store {
            pool,
            backend,
            url: url.to_owned(),
            _checkpointer: checkpointer,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection of its own, outside the pool, for one long-lived writer (see
    /// [`open_writer_connection`]). Blocking.
    pub fn writer_connection(&self) -> StoreResult<DbConn> {
        open_writer_connection(&self.url)
    }

    /// A connection from the pool. Blocking: call it off the async executor.
    pub fn conn(&self) -> StoreResult<PooledConn> {
        Ok(self.pool.get()?)
    }

    /// Whether the database answers a trivial query (the api's readiness).
    /// Blocking.
    pub fn ping(&self) -> StoreResult<()> {
        use diesel::RunQueryDsl;
        diesel::sql_query("SELECT 1").execute(&mut *self.conn()?)?;
        Ok(())
    }

    /// Applies pending migrations.
    pub fn migrate(&self) -> StoreResult<Vec<String>> {
        run_migrations(&mut *self.conn()?)
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish()
    }
}
