//! The one error type of this crate.
//!
//! Each variant names one thing that went wrong, so that the storage layer can tell an
//! attack or corruption (`is_integrity_failure`) from a configuration problem (wrong key,
//! unsupported version) from plain I/O trouble, and report each differently.

use crate::ObjectId;
use crate::keys::KeyId;

/// Everything that can go wrong while encrypting, decrypting or handling keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes do not start with the at-rest magic: this is not an encrypted object (it may
    /// be a plaintext object of an instance that is only partly encrypted).
    #[error("not a Strongroom at-rest object (bad magic)")]
    NotEncrypted,

    /// The header names a format version this build cannot read.
    #[error("unsupported at-rest format version {0}")]
    UnsupportedVersion(u16),

    /// The header names an algorithm suite this build does not know.
    #[error("unsupported at-rest algorithm id {0}")]
    UnsupportedAlgorithm(u8),

    /// Reserved header flags are set; a newer writer used a feature this reader lacks.
    #[error("unsupported at-rest header flags {0:#04x}")]
    UnsupportedFlags(u8),

    /// The chunk size is not a multiple of 16 in 16..=16 MiB; rejected before any allocation
    /// so a hostile header cannot make a reader allocate gigabytes.
    #[error("invalid chunk size {0}")]
    InvalidChunkSize(u32),

    /// None of the master keys supplied has the key id the object was wrapped with: the key
    /// was rotated away, or the configured key (or passphrase) is wrong.
    #[error("object is wrapped with master key {needed}, which is not loaded")]
    UnknownMasterKey {
        /// The key id written in the object's header.
        needed: KeyId,
    },

    /// The header's envelope MAC or header MAC did not verify: the header was modified.
    #[error("header integrity check failed")]
    HeaderIntegrity,

    /// The header is authentic but belongs to another object: a blob was moved or copied to
    /// the wrong place.
    #[error("object id mismatch: expected {expected}, found {found}")]
    ObjectIdMismatch {
        /// The id the caller asked for.
        expected: ObjectId,
        /// The id authenticated in the header.
        found: ObjectId,
    },

    /// A chunk's MAC did not verify: the chunk was modified, reordered, or taken from another
    /// object. Nothing of this chunk was released.
    #[error("integrity check failed for chunk {index}")]
    ChunkIntegrity {
        /// Zero-based index of the chunk that failed.
        index: u64,
    },

    /// The object ends early (spec §5, *truncated*): inside the header; right after the header
    /// or less than one record's 64 bytes after it (an object always holds at least one record,
    /// even when its plaintext is empty); exactly at a chunk border (the last record present
    /// was written as a non-final one); or, for a streaming reader that cannot check the whole
    /// length first, with fewer than 64 bytes of a record left.
    #[error("object is truncated (after {chunks} complete chunks)")]
    Truncated {
        /// Number of chunks that were complete and verified before the end.
        chunks: u64,
    },

    /// Data follows the chunk that was written as the final one: something was appended.
    #[error("data after the final chunk (index {index})")]
    DataAfterFinalChunk {
        /// Index of the chunk that was written as final.
        index: u64,
    },

    /// A stored object's whole length is not one this format produces (spec §4 and §5 step 7,
    /// *invalid object length*): bytes were cut off inside a record or appended. Rejected
    /// before any record is decrypted, by every reader that knows the length in advance.
    #[error("stored length {len} is not a length this format produces (bytes cut off or appended)")]
    InvalidObjectLength {
        /// The stored length, header included.
        len: u64,
    },

    /// A length handed to the API (a buffer, a record given to the chunk API, a header slice
    /// that is too long) does not fit; the caller's mistake, not a property of stored data.
    #[error("invalid length: {0}")]
    InvalidLength(&'static str),

    /// A requested plaintext range lies outside the object.
    #[error("range {start}..{end} is outside an object of {len} bytes")]
    RangeOutOfBounds {
        /// First requested byte.
        start: u64,
        /// One past the last requested byte.
        end: u64,
        /// Plaintext length of the object.
        len: u64,
    },

    /// A chunk's MAC verified but its contents break the format (spec §5 step 9, *malformed
    /// chunk*): length filler not zero, PKCS#7 padding that disagrees with the record length,
    /// or a record length its position forbids (an empty final chunk after full ones). Only
    /// a faulty writer holding the key can cause it, never tampering without the key.
    #[error("malformed chunk {index}: {what}")]
    Malformed {
        /// Index of the chunk.
        index: u64,
        /// What was wrong.
        what: &'static str,
    },

    /// A key file or the key environment variable does not hold a valid master key.
    #[error("invalid master key text: {0}")]
    InvalidKeyText(&'static str),

    /// Passphrase parameters are malformed or out of the accepted bounds.
    #[error("invalid passphrase parameters: {0}")]
    InvalidPassphraseParams(&'static str),

    /// Argon2id failed (e.g. could not allocate its memory).
    #[error("passphrase key derivation failed: {0}")]
    Kdf(String),

    /// The operating system's random number generator failed.
    #[error("random number generator failed")]
    Randomness,

    /// The API was used out of order (e.g. writing after `finish`).
    #[error("API misuse: {0}")]
    Misuse(&'static str),

    /// Reading or writing the underlying stream failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// True when the error means the stored bytes are not what the writer wrote (corruption or
    /// tampering): the storage layer audits these and `storage verify` lists them.
    pub fn is_integrity_failure(&self) -> bool {
        matches!(
            self,
            Error::HeaderIntegrity
                | Error::ChunkIntegrity { .. }
                | Error::Truncated { .. }
                | Error::DataAfterFinalChunk { .. }
                | Error::InvalidObjectLength { .. }
                | Error::ObjectIdMismatch { .. }
                | Error::NotEncrypted
                | Error::Malformed { .. }
        )
    }

    /// Recover a crate error carried inside an `std::io::Error` (as returned through the
    /// `Read`/`Write` adaptors), so callers can still match on the precise cause.
    pub fn from_io(err: &std::io::Error) -> Option<&Error> {
        err.get_ref().and_then(|inner| inner.downcast_ref::<Error>())
    }

    /// Wrap into an `std::io::Error` for the `Read`/`Write` adaptors; I/O errors pass through.
    pub(crate) fn into_io(self) -> std::io::Error {
        match self {
            Error::Io(e) => e,
            other => std::io::Error::new(std::io::ErrorKind::InvalidData, other),
        }
    }
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;
