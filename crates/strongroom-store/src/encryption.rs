//! Encryption at rest of document bodies, on top of `strongroom-crypto`'s format
//! (`docs/formats/at-rest-v1.md`). This module holds the master keys and turns the crate's
//! push-style decryptor into an async byte stream.
//!
//! Every version row records how its blob is stored (`enc_key_id`, `enc_object_id`; both
//! NULL for plaintext), so an instance can be part encrypted while a conversion runs. The
//! object id in the row must match the one authenticated in the blob's header: swapping whole
//! blobs between versions is detected like any other tampering.

use crate::error::StoreError;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use strongroom_crypto::{MasterKey, ObjectId, StreamDecryptor};

/// How one blob is encrypted, as recorded in its version row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BlobEncryption {
    /// Hex id of the master key that wrapped the data key when the blob was written or
    /// last rewrapped.
    pub key_id: String,
    /// Hex of the 16-byte object id bound into the blob's header and every chunk MAC.
    pub object_id: String,
}

/// The master keys this process holds. Never stored in the database or the blob store.
#[derive(Default)]
pub struct KeyRing {
    /// Encrypts new blobs; `None`: new blobs are stored as they are.
    current: Option<MasterKey>,
    /// Every key that may open existing blobs: the current one and retired ones.
    all: Vec<MasterKey>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = self.all.iter().map(|k| k.id().to_hex()).collect();
        f.debug_struct("KeyRing")
            .field("current", &self.current.as_ref().map(|k| k.id().to_hex()))
            .field("ids", &ids)
            .finish()
    }
}

impl KeyRing {
    /// `current` encrypts new blobs (if `encrypt_new`); `retired` keys only open old ones.
    pub fn new(current: Option<MasterKey>, retired: Vec<MasterKey>, encrypt_new: bool) -> KeyRing {
        let mut all: Vec<MasterKey> = current.iter().cloned().collect();
        all.extend(retired);
        KeyRing {
            current: current.filter(|_| encrypt_new),
            all,
        }
    }
    pub fn current(&self) -> Option<&MasterKey> {
        self.current.as_ref()
    }
    pub fn all(&self) -> &[MasterKey] {
        &self.all
    }
    /// Whether a key with this hex id is held.
    pub fn holds(&self, key_id: &str) -> bool {
        self.all.iter().any(|k| k.id().to_hex() == key_id)
    }
}

pub(crate) fn crypto_err(e: strongroom_crypto::Error) -> StoreError {
    if e.is_integrity_failure() {
        StoreError::Integrity(e.to_string())
    } else {
        StoreError::Encryption(e.to_string())
    }
}

pub(crate) fn random_object_id() -> ObjectId {
    ObjectId(*uuid::Uuid::new_v4().as_bytes())
}

pub(crate) fn parse_object_id(hex_id: &str) -> Result<ObjectId, StoreError> {
    let bytes = hex::decode(hex_id).map_err(|_| StoreError::Corrupt("object id is not hex".into()))?;
    let arr: [u8; 16] = bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("object id is not 16 bytes".into()))?;
    Ok(ObjectId(arr))
}

/// Decrypts a stream of stored record bytes. An integrity failure ends the stream with an
/// `InvalidData` error whose message names the failure; nothing of a failed chunk is released.
pub(crate) fn decrypting(
    raw: BoxStream<'static, Result<Bytes, std::io::Error>>,
    dec: StreamDecryptor,
) -> BoxStream<'static, Result<Bytes, std::io::Error>> {
    let fail = |e: strongroom_crypto::Error| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string());
    futures::stream::unfold((raw, Some(dec)), move |(mut raw, dec)| async move {
        let mut dec = dec?;
        loop {
            let mut out = Vec::new();
            match raw.next().await {
                Some(Ok(chunk)) => {
                    if let Err(e) = dec.update(&chunk, &mut out) {
                        return Some((Err(fail(e)), (raw, None)));
                    }
                    if !out.is_empty() {
                        return Some((Ok(Bytes::from(out)), (raw, Some(dec))));
                    }
                }
                Some(Err(e)) => return Some((Err(e), (raw, None))),
                None => {
                    return match dec.finish(&mut out) {
                        Ok(()) if out.is_empty() => None,
                        Ok(()) => Some((Ok(Bytes::from(out)), (raw, None))),
                        Err(e) => Some((Err(fail(e)), (raw, None))),
                    };
                }
            }
        }
    })
    .map_err(|e| e)
    .boxed()
}
