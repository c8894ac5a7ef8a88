use thiserror::Error;

/// What can go wrong in the storage layer.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: use sqlite://path or postgres://…")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
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

impl StoreError {
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

pub type StoreResult<T> = Result<T, StoreError>;
