//! Embedded migrations, one set per backend with identical names.

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::connection::DbConn;
use crate::error::{StoreError, StoreResult};

const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// An arbitrary constant naming cartback's migration advisory lock.
const MIGRATION_LOCK: i64 = 0x6361_7274_6261_636b;

/// Applies every pending migration; returns the names of those applied.
pub fn run_migrations(conn: &mut DbConn) -> StoreResult<Vec<String>> {
    // Several api and worker processes may start at once: only one migrates at a time.
    let applied = match conn {
        DbConn::Postgres(conn) => {
            conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
            let applied = conn
                .run_pending_migrations(POSTGRES)
                .map(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>());
            conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))?;
            applied
        }
        DbConn::Sqlite(conn) => {
            AnsiTransactionManager::begin_transaction_sql(conn, "BEGIN IMMEDIATE")?;
            let applied = conn
                .run_pending_migrations(SQLITE)
                .map(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>());
            if applied.is_ok() {
                AnsiTransactionManager::commit_transaction(conn)?;
            } else {
                AnsiTransactionManager::rollback_transaction(conn)?;
            }
            applied
        }
    };
    applied.map_err(|e| StoreError::Migration(e.to_string()))
}

/// Reverts every applied migration (used by the up → down → up test).
pub fn revert_all(conn: &mut DbConn) -> StoreResult<()> {
    let result = match conn {
        DbConn::Postgres(conn) => conn.revert_all_migrations(POSTGRES).map(|_| ()),
        DbConn::Sqlite(conn) => conn.revert_all_migrations(SQLITE).map(|_| ()),
    };
    result.map_err(|e| StoreError::Migration(e.to_string()))
}
