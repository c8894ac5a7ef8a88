use thiserror::Error;

/// What can go wrong in the storage layer.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: use sqlite://path or postgres://…")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Query(diesel::result::Error),
    #[error("could not connect to the database: {0}")]
    Connection(#[from] diesel::ConnectionError),
    #[error("connection pool: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("secrets: {0}")]
    Crypto(String),
    #[error("not found")]
    NotFound,
    /// No connection could be had; reported to each caller of a shared write.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A write the database refused, as reported to each caller that shared it.
    #[error("the database refused the write: {0}")]
    Rejected(String),
}

impl From<diesel::result::Error> for StoreError {
    /// A stored value its column's type refuses (see [`crate::columns`]) is
    /// corrupt data, not a failed query.
    fn from(error: diesel::result::Error) -> StoreError {
        if let diesel::result::Error::DeserializationError(cause) = &error {
            // diesel wraps a field's error (DeserializeFieldError): look
            // through the chain.
            let mut current: Option<&(dyn std::error::Error + 'static)> = Some(&**cause);
            while let Some(inner) = current {
                if let Some(corrupt) = inner.downcast_ref::<crate::columns::CorruptValue>() {
                    return StoreError::Corrupt(corrupt.to_string());
                }
                current = inner.source();
            }
        }
        StoreError::Query(error)
    }
}

/// What a database says when it is going away or not there yet (a restart, a
/// failover, an operator terminating backends), in lower case. diesel keeps no
/// SQLSTATE for these, so the message is all there is to go on.
const UNAVAILABLE_MESSAGES: &[&str] = &[
    // PostgreSQL 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now.
    "terminating connection",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "server closed the connection",
    "connection to server",
    "no connection to the server",
    "could not receive data from server",
    "could not send data to server",
    // SQLite once busy_timeout ran out.
    "database is locked",
    "database table is locked",
];

impl StoreError {
    /// The database could not be reached or lost the connection mid-request (a
    /// pool timeout, a closed or terminated connection, SQLite busy past its
    /// timeout): not a bug, and worth trying again shortly. The api answers it
    /// with 503 and `Retry-After`; the worker logs it and retries after a pause.
    pub fn is_unavailable(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        match self {
            StoreError::Pool(_) | StoreError::Connection(_) | StoreError::Unavailable(_) => true,
            StoreError::Query(error) => match error {
                Error::DatabaseError(
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                    _,
                ) => true,
                Error::DatabaseError(_, info) => unavailable_message(info.message()),
                // A transaction whose connection died cannot be rolled back either.
                Error::BrokenTransactionManager => true,
                _ => false,
            },
            _ => false,
        }
    }

    /// A unique-constraint violation, which callers often treat as "already there".
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            StoreError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

fn unavailable_message(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    UNAVAILABLE_MESSAGES.iter().any(|m| message.contains(m))
}

pub type StoreResult<T> = Result<T, StoreError>;

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error};

    fn database(kind: DatabaseErrorKind, message: &str) -> StoreError {
        StoreError::Query(Error::DatabaseError(kind, Box::new(message.to_owned())))
    }

    #[test]
    fn lost_connections_and_busy_databases_are_unavailable() {
        assert!(database(DatabaseErrorKind::ClosedConnection, "gone").is_unavailable());
        assert!(database(DatabaseErrorKind::UnableToSendCommand, "no").is_unavailable());
        assert!(
            database(
                DatabaseErrorKind::Unknown,
                "FATAL:  terminating connection due to administrator command"
            )
            .is_unavailable()
        );
        assert!(
            database(
                DatabaseErrorKind::Unknown,
                "server closed the connection unexpectedly"
            )
            .is_unavailable()
        );
        assert!(database(DatabaseErrorKind::Unknown, "database is locked").is_unavailable());
        assert!(StoreError::Unavailable("pool".into()).is_unavailable());
        assert!(StoreError::Query(Error::BrokenTransactionManager).is_unavailable());
    }

    #[test]
    fn bugs_and_refusals_are_not() {
        assert!(!database(DatabaseErrorKind::UniqueViolation, "duplicate key").is_unavailable());
        assert!(!database(DatabaseErrorKind::Unknown, "syntax error at or near").is_unavailable());
        assert!(!StoreError::Query(Error::NotFound).is_unavailable());
        assert!(!StoreError::NotFound.is_unavailable());
        assert!(!StoreError::Rejected("constraint".into()).is_unavailable());
        assert!(!StoreError::Corrupt("bad json".into()).is_unavailable());
    }
}
