//! The few places where the SQL text itself differs between backends.

use crate::connection::DbConn;

/// Raw SQL is written with PostgreSQL's `$n` placeholders; SQLite spells the same
/// numbered parameter `?n`.
pub(crate) fn dialect(conn: &DbConn, postgres_sql: &str) -> String {
    match conn {
        DbConn::Postgres(_) => postgres_sql.to_owned(),
        DbConn::Sqlite(_) => postgres_sql.replace('$', "?"),
    }
}
