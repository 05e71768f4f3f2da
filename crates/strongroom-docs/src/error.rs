//! The one error type of `strongroom-docs`.
//!
//! Every variant names a problem a caller can act on (ask for another password, reject the
//! upload, report corruption); the server maps each to one HTTP status in a single table.

use crate::Format;

/// Everything that can go wrong while protecting or unprotecting a document.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the input, writing the output or using a temporary file failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// The input is a different kind of file than the operation works on (for example a PDF
    /// given to Office encryption, or a legacy binary `.doc`).
    #[error("unsupported input: expected {expected}, found {found}")]
    WrongFormat {
        /// What the operation accepts.
        expected: &'static str,
        /// What the content of the input looks like.
        found: Format,
    },

    /// The input claims to be of the right format but is structurally broken: truncated,
    /// inconsistent lengths, invalid XML, missing parts.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// Which structure is broken (e.g. "EncryptionInfo", "compound file").
        what: &'static str,
        /// A short human-readable description of the defect.
        detail: String,
    },

    /// The document is already password-protected; encrypting it again would hide the
    /// original protection and is refused.
    #[error("the document is already password-protected")]
    AlreadyProtected,

    /// The document is not password-protected, so there is nothing to remove.
    #[error("the document is not password-protected")]
    NotProtected,

    /// The password does not open the document (the password verifier did not match).
    #[error("wrong password")]
    WrongPassword,

    /// The password opens the document but only as a user restricted by permissions; lifting
    /// the protection (and with it the restrictions) needs the owner password.
    #[error("the owner password is required to remove this protection")]
    OwnerPasswordRequired,

    /// The password was right but the encrypted data does not match its integrity code: the
    /// file was modified or corrupted after it was encrypted. No plaintext was released.
    #[error("integrity check failed: the encrypted document was modified or corrupted")]
    IntegrityCheckFailed,

    /// The document uses an encryption scheme or parameter this library does not implement
    /// (for example ECMA-376 Standard encryption, RC4, or a certificate-only key encryptor).
    #[error("unsupported encryption: {0}")]
    UnsupportedEncryption(String),

    /// The password cannot be used (empty, or longer than the format allows).
    #[error("invalid password: {0}")]
    InvalidPassword(&'static str),

    /// The password breaks the password rules of [`crate::password`]: a control or
    /// bidirectional character (every format), or what PDF's SASLprep refuses. The message
    /// names which password and the problem, a character only by its code point, as in
    /// "password contains a control character (U+0009)": never the password.
    #[error("{which} {problem}")]
    UnusablePassword {
        /// The opening (user) password or the owner password.
        which: crate::password::PasswordRole,
        /// What is wrong with it.
        problem: crate::password::PasswordProblem,
    },

    /// A cell range given by the caller is not an A1-style reference (`B2`, `A1:C9`, several
    /// separated by spaces) inside the sheet's 16,384 columns × 1,048,576 rows, or a range's
    /// name is unusable. Carries the offending text so the caller can point at it.
    #[error("invalid cell range: {0}")]
    InvalidRange(String),

    /// An option passed by the caller is out of range.
    #[error("invalid option: {0}")]
    InvalidOptions(&'static str),

    /// The operating system's random number generator failed; nothing was written.
    #[error("random number generator failure")]
    Random,

    /// The PDF library reported an error while reading or writing a PDF.
    #[error("PDF error: {0}")]
    Pdf(String),
}

impl Error {
    /// Shorthand for [`Error::Malformed`].
    pub(crate) fn malformed(what: &'static str, detail: impl Into<String>) -> Self {
        Error::Malformed {
            what,
            detail: detail.into(),
        }
    }
}

/// Result alias used across the crate.
pub type Result<T> = std::result::Result<T, Error>;
