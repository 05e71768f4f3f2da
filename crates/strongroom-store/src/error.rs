//! Errors of the storage layer.

/// Everything that can go wrong while reading or writing metadata and blobs.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row (user, room, folder, file, version, token) does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The change would break a rule of the data: a name taken in the folder, a second Owner,
    /// moving a folder into itself.
    #[error("{0}")]
    Conflict(String),
    /// The request is well-formed but the value is not acceptable (empty name, bad e-mail).
    #[error("{0}")]
    Invalid(String),
    /// The database failed or is unreachable.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// The object store failed or is unreachable.
    #[error("blob store error: {0}")]
    Blob(#[from] object_store::Error),
    /// Reading a local blob file failed.
    #[error("blob file error: {0}")]
    Io(#[from] std::io::Error),
    /// Reading the upload body failed (client went away, body too large).
    #[error("upload interrupted: {0}")]
    Upload(String),
    /// A stored object failed its integrity check (flipped bits, truncation, swapped chunks or
    /// objects) or cannot be opened with the configured master keys.
    #[error("stored data failed its integrity check: {0}")]
    Integrity(String),
    /// Encryption at rest is misconfigured (no key where one is needed).
    #[error("encryption at rest: {0}")]
    Encryption(String),
    /// Stored data is not what the schema allows (corrupt or from a newer version).
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Maps a unique-constraint violation to a readable conflict, any other error unchanged.
    pub(crate) fn unique(e: sqlx::Error, what: &str) -> StoreError {
        if let sqlx::Error::Database(d) = &e
            && d.is_unique_violation()
        {
            return StoreError::Conflict(what.to_string());
        }
        StoreError::Db(e)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// Whether a database error means it cannot be reached or is not answering (the request may
    /// succeed later), not that the request or the data is wrong. Such a failure is a 503: a
    /// signed-in person whose session cannot be read is not signed out.
    pub fn unavailable(&self) -> bool {
        let StoreError::Db(e) = self else { return false };
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(d) => {
                let code = d.code().unwrap_or_default();
                match code.parse::<u32>() {
                    // SQLite gives its extended code: the primary one is its low byte. Busy (5),
                    // locked (6), I/O (10), full (13), cannot open (14).
                    Ok(n) => matches!(n & 0xff, 5 | 6 | 10 | 13 | 14),
                    // PostgreSQL: connection exceptions (08…), out of resources (53…),
                    // shutting down (57P01–57P03), read-only after a failover (25006), a
                    // deadlock or serialization failure (40P01, 40001: try again).
                    Err(_) => {
                        code.starts_with("08")
                            || code.starts_with("53")
                            || code.starts_with("57P")
                            || matches!(code.as_ref(), "25006" | "40P01" | "40001")
                    }
                }
            }
            _ => false,
        }
    }
}
