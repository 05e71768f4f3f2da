//! What a use case can answer instead of a result. Front-ends map these to their own terms
//! (the HTTP API in `strongroom-server/src/error.rs`, the CLI to a message and exit code).

use strongroom_auth::AuthError;
use strongroom_core::Denied;
use strongroom_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such item, or one the requester may not see: the two read exactly alike.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The requester sees the item but may not do this; the message says why.
    #[error("{0}")]
    Forbidden(String),
    /// The input is well-formed but not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The change collides with the state of the data.
    #[error("{0}")]
    Conflict(String),
    /// Something this needs is not set up on the instance (outgoing mail).
    #[error("{0} is not configured on this instance")]
    NotConfigured(&'static str),
    /// The sign-in rules do not let this person in from the address the request came from.
    #[error("sign-in from this address is not allowed")]
    AddressDenied,
    /// Too many wrong guesses; try again after this many seconds.
    #[error("too many wrong passwords; try again in {retry_after} s")]
    TooMany { retry_after: u32 },
    /// A password given to open something (a link) is wrong.
    #[error("{0}")]
    WrongPassword(&'static str),
    /// The person (or link) has as many uploads going as the upload limits allow.
    #[error("at most {max} uploads at once: wait for one to finish")]
    TooManyUploads { max: u32 },
    /// The upload does not fit in a storage quota; the message says which.
    #[error("{0}")]
    QuotaExceeded(String),
    /// The input is larger than this use case takes.
    #[error("{0}")]
    TooLarge(String),
    /// A document's format is not one this use case handles.
    #[error("{0}")]
    Unsupported(String),
    /// The document already carries a password.
    #[error("{0}")]
    AlreadyProtected(String),
    /// A stored version failed its integrity check: the server's data is damaged or was
    /// tampered with (logged and audited where it was found).
    #[error("file {file} version {version} failed its integrity check")]
    Integrity { file: String, version: i64 },
    /// A document could not be transformed (protected, watermarked).
    #[error(transparent)]
    Document(#[from] strongroom_docs::Error),
    /// The mail server refused a message or could not be reached; the message says how.
    #[error("the mail could not be sent: {0}")]
    Mail(String),
    /// The SMS provider refused a message or could not be reached; the message says how.
    #[error("the SMS could not be sent: {0}")]
    Sms(String),
    /// A sensitive change needs a second factor given recently: step up with one of these.
    #[error("this change needs a fresh second factor: step up first (POST /api/v1/auth/step-up)")]
    StepUpRequired { methods: Vec<crate::second_factor::Method> },
    /// Something that should not fail did (a worker thread died); logged.
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn forbidden(why: impl Into<String>) -> Error {
        Error::Forbidden(why.into())
    }
    pub fn invalid(why: impl Into<String>) -> Error {
        Error::Invalid(why.into())
    }

    /// Too many attempts, blocked until `until` (ms since the epoch): retry after at least a
    /// second.
    pub fn blocked_until(until: i64, now: i64) -> Error {
        let retry_after = u32::try_from((until - now).max(1000) / 1000).unwrap_or(u32::MAX);
        Error::TooMany { retry_after }
    }

    /// Whether this is the answer for a missing (or hidden) item.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Error::NotFound(_) | Error::Denied(Denied::NotFound) | Error::Store(StoreError::NotFound(_))
        )
    }
}

/// A refusal as every front-end answers it: "not found" reads exactly like a missing id of
/// that kind.
pub fn hidden(d: Denied, what: &'static str) -> Error {
    match d {
        Denied::NotFound => Error::NotFound(what),
        Denied::Forbidden | Denied::EnrolmentRequired => Error::Denied(d),
    }
}
