//! Strongroom at-rest encryption: chunked Encrypt-then-MAC (AES-256-CBC + HMAC-SHA256) with
//! per-object data keys wrapped by a master key.
//!
//! The byte format is specified in `docs/formats/at-rest-v1.md`; this crate is its reference
//! implementation and knows nothing of HTTP, databases or async runtimes, so it can be used,
//! fuzzed and tested on its own.
//!
//! Layers, from the bottom:
//! - [`MasterKey`] (key file text, passphrase) and [`KeyId`];
//! - [`ObjectHeader`] (parsed, unauthenticated) → [`ObjectHeader::open`] → [`ObjectKeys`]
//!   (authenticated); [`ObjectHeader::rewrap`] for master-key rotation;
//! - chunk API on [`ObjectKeys`]: `encrypt_chunk`, `decrypt_chunk` (+ `_into` variants),
//!   and `encrypt_chunks`/`decrypt_chunks` that spread a batch over threads;
//! - streaming: push cores [`StreamEncryptor`]/[`StreamDecryptor`] for async callers, and
//!   [`Encryptor`] (`Write`) / [`Decryptor`] (`Read`);
//! - sizes and random access: [`ciphertext_len`], [`plain_len`], [`Layout`], [`RangePlan`],
//!   [`ObjectKeys::decrypt_range`], [`read_range`].
//!
//! ```
//! use strongroom_crypto::*;
//! let master = MasterKey::generate(&mut rand::rng());
//! let id = ObjectId([7; 16]);
//! let mut stored = Vec::new();
//! encrypt_stream(&master, id, EncryptOptions::default(), &b"hello"[..], &mut stored)?;
//! assert_eq!(stored.len() as u64, ciphertext_len(5, DEFAULT_CHUNK_SIZE)?);
//! let mut plain = Vec::new();
//! decrypt_stream(&[master], &id, 1, &stored[..], &mut plain)?;
//! assert_eq!(plain, b"hello");
//! # Ok::<(), strongroom_crypto::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(clippy::indexing_slicing)]
#![warn(missing_docs)]

mod chunk;
mod error;
mod format;
mod header;
mod keys;
mod lanes;
mod parallel;
mod range;
mod seal;
mod stream;

pub use chunk::{IV_LEN, TAG_LEN};
pub use error::{Error, Result};
pub use format::{
    ALGORITHM_ID, DEFAULT_CHUNK_SIZE, FORMAT_VERSION, HEADER_LEN, Layout, MAGIC, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE,
    RECORD_OVERHEAD, RangePlan, check_chunk_size, ciphertext_len, plain_len,
};
pub use header::{ObjectHeader, ObjectId, ObjectKeys};
pub use keys::{KEY_TEXT_PREFIX, KeyId, MasterKey, PASSPHRASE_PARAMS_PREFIX, PassphraseParams, passphrase_line};
pub use parallel::available_threads;
pub use range::read_range;
pub use seal::{SEAL_KEY_TEXT_PREFIX, SealKey, verify_seal_signature};
pub use stream::{
    Decryptor, EncryptOptions, Encryptor, StreamDecryptor, StreamEncryptor, decrypt_bytes, decrypt_stream,
    encrypt_bytes, encrypt_stream, read_header,
};
