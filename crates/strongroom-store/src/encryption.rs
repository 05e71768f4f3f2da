//! Encryption at rest of document bodies, on top of `strongroom-crypto`'s format
//! (`docs/formats/at-rest-v1.md`). This module holds the master keys and turns the crate's
//! push-style decryptor into an async byte stream.
//!
//! Every version row records how its blob is stored (`enc_key_id`, `enc_object_id`; both
//! NULL for plaintext), so an instance can be part encrypted while a conversion runs. The
//! object id in the row must match the one authenticated in the blob's header: swapping whole
//! blobs between versions is detected like any other tampering.

use crate::error::StoreError;
use serde::Serialize;
use strongroom_crypto::{MasterKey, ObjectId};

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
