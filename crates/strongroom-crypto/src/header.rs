//! The 160-byte object header: parsing (untrusted), creation, opening and rewrapping.
//!
//! Spec: `docs/formats/at-rest-v1.md` §3.1, §5 steps 1–6 and §6. A parsed [`ObjectHeader`] is
//! unauthenticated; only [`ObjectHeader::open`] turns it into [`ObjectKeys`], so code holding
//! `ObjectKeys` knows the header verified (typestate).

use std::fmt;

use aes::Aes256;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use rand::{CryptoRng, RngCore};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::format::{ALGORITHM_ID, Cursor, FORMAT_VERSION, HEADER_LEN, MAGIC, check_chunk_size, off};
use crate::keys::{Key32, KeyId, MasterKey, hkdf32, info};

/// Names a stored object; authenticated in its header so a blob in the wrong place is caught.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjectId(pub [u8; 16]);

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectId({self})")
    }
}

/// HMAC-SHA256 over the concatenation of `parts`.
///
/// HMAC zero-pads a key shorter than the hash block (RFC 2104 §2), so keying with the 32-byte
/// key padded to 64 bytes is the same function, and infallible: no error path to handle.
pub(crate) fn hmac(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut block = Zeroizing::new([0u8; 64]);
    block.iter_mut().zip(key).for_each(|(b, k)| *b = *k);
    let block: &[u8; 64] = &block;
    let mut mac = <Hmac<Sha256> as KeyInit>::new(block.into());
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Constant-time equality of two tags.
pub(crate) fn tags_equal(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

/// A header parsed from untrusted bytes. Nothing in it is authenticated yet.
#[derive(Clone)]
pub struct ObjectHeader {
    bytes: [u8; HEADER_LEN],
    chunk_size: u32,
    object_id: ObjectId,
    key_id: KeyId,
    wrap_iv: [u8; 16],
    wrapped_key: [u8; 32],
    header_mac: [u8; 32],
    envelope_mac: [u8; 32],
}

impl fmt::Debug for ObjectHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectHeader")
            .field("chunk_size", &self.chunk_size)
            .field("object_id", &self.object_id)
            .field("master_key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl ObjectHeader {
    /// Parse exactly [`HEADER_LEN`] bytes (spec §5 steps 1–2). Fewer bytes: `Truncated`
    /// (or `NotEncrypted` if even the magic differs); more: `InvalidLength`.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let magic_len = bytes.len().min(MAGIC.len());
        if bytes.get(..magic_len) != MAGIC.get(..magic_len) {
            return Err(Error::NotEncrypted);
        }
        let array: [u8; HEADER_LEN] = match bytes.try_into() {
            Ok(a) => a,
            Err(_) if bytes.len() < HEADER_LEN => return Err(Error::Truncated { chunks: 0 }),
            Err(_) => return Err(Error::InvalidLength("header must be exactly 160 bytes")),
        };
        let mut c = Cursor::new(&array);
        if c.array::<8>()? != MAGIC {
            return Err(Error::NotEncrypted);
        }
        let version = c.u16_be()?;
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion(version));
        }
        let alg = c.u8()?;
        if alg != ALGORITHM_ID {
            return Err(Error::UnsupportedAlgorithm(alg));
        }
        let flags = c.u8()?;
        if flags != 0 {
            return Err(Error::UnsupportedFlags(flags));
        }
        let chunk_size = check_chunk_size(c.u32_be()?)?;
        let object_id = ObjectId(c.array()?);
        let header_mac = c.array()?;
        let key_id = KeyId(c.array()?);
        let wrap_iv = c.array()?;
        let wrapped_key = c.array()?;
        let envelope_mac = c.array()?;
        c.finish()?;
        Ok(ObjectHeader {
            bytes: array,
            chunk_size,
            object_id,
            key_id,
            wrap_iv,
            wrapped_key,
            header_mac,
            envelope_mac,
        })
    }

    /// Plaintext bytes per chunk (unauthenticated until opened).
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// The object id written in the header (unauthenticated until opened).
    pub fn object_id(&self) -> ObjectId {
        self.object_id
    }

    /// Which master key wrapped the data key: pick the key to open it with, or find objects
    /// still on a retired key during rotation.
    pub fn master_key_id(&self) -> KeyId {
        self.key_id
    }

    /// The raw header bytes.
    pub fn as_bytes(&self) -> &[u8; HEADER_LEN] {
        &self.bytes
    }

    fn find_key<'k>(&self, keys: &'k [MasterKey]) -> Result<&'k MasterKey> {
        keys.iter()
            .find(|k| k.id() == self.key_id)
            .ok_or(Error::UnknownMasterKey { needed: self.key_id })
    }

    /// Verify the whole header and unwrap the data key (spec §5 steps 3–5), without checking
    /// which object it belongs to. Used by rotation, which rewraps whatever it finds.
    fn verify_and_unwrap(&self, keys: &[MasterKey]) -> Result<Key32> {
        let master = self.find_key(keys)?;
        let signed = self.bytes.get(..off::ENVELOPE_MAC_START).unwrap_or_default();
        if !tags_equal(&hmac(master.wrap_mac(), &[signed]), &self.envelope_mac) {
            return Err(Error::HeaderIntegrity);
        }
        let mut data_key = Zeroizing::new(self.wrapped_key);
        cbc::Decryptor::<Aes256>::new(master.wrap_enc().into(), (&self.wrap_iv).into())
            .decrypt_padded_mut::<NoPadding>(data_key.as_mut())
            .map_err(|_| Error::HeaderIntegrity)?;
        let object_part = self.bytes.get(..off::OBJECT_PART_END).unwrap_or_default();
        let header_mac_key = hkdf32(data_key.as_ref(), info::HEADER_MAC);
        if !tags_equal(&hmac(&header_mac_key, &[object_part]), &self.header_mac) {
            return Err(Error::HeaderIntegrity);
        }
        Ok(data_key)
    }

    /// Authenticate the header with one of `keys` and check it belongs to `expected`; yields
    /// the object's chunk keys (spec §5 steps 3–6).
    pub fn open(&self, keys: &[MasterKey], expected: &ObjectId) -> Result<ObjectKeys> {
        let data_key = self.verify_and_unwrap(keys)?;
        if self.object_id != *expected {
            return Err(Error::ObjectIdMismatch {
                expected: *expected,
                found: self.object_id,
            });
        }
        Ok(ObjectKeys::derive(
            &data_key,
            self.chunk_size,
            self.object_id,
            self.header_mac,
            self.bytes,
        ))
    }

    /// Check the header's MACs with the master key only: a cheap integrity check of every
    /// header during `storage verify` or before rotation.
    pub fn verify(&self, keys: &[MasterKey]) -> Result<()> {
        self.verify_and_unwrap(keys).map(drop)
    }

    /// Rotation (spec §6): verify with one of `old_keys`, and return this header with its data
    /// key wrapped by `new_key`. Bytes 0..64 and every chunk stay the same, so the caller
    /// overwrites only the header (or bytes 64..160) of the stored object.
    pub fn rewrap<R: CryptoRng + RngCore>(
        &self,
        old_keys: &[MasterKey],
        new_key: &MasterKey,
        rng: &mut R,
    ) -> Result<[u8; HEADER_LEN]> {
        let data_key = self.verify_and_unwrap(old_keys)?;
        let mut out = self.bytes;
        let object_part: [u8; off::HEADER_MAC_END] = out
            .get(..off::HEADER_MAC_END)
            .and_then(|s| s.try_into().ok())
            .ok_or(Error::InvalidLength("header"))?;
        write_envelope(&mut out, &object_part, &data_key, new_key, rng)?;
        Ok(out)
    }
}

/// Fill bytes 64..160: key id, wrap IV, wrapped key, envelope MAC.
fn write_envelope<R: CryptoRng + RngCore>(
    out: &mut [u8; HEADER_LEN],
    object_part: &[u8; off::HEADER_MAC_END],
    data_key: &[u8; 32],
    master: &MasterKey,
    rng: &mut R,
) -> Result<()> {
    let mut wrap_iv = [0u8; 16];
    rng.fill_bytes(&mut wrap_iv);
    let mut wrapped = *data_key;
    cbc::Encryptor::<Aes256>::new(master.wrap_enc().into(), (&wrap_iv).into())
        .encrypt_padded_mut::<NoPadding>(&mut wrapped, 32)
        .map_err(|_| Error::InvalidLength("wrap"))?;
    let mut signed = Vec::with_capacity(off::ENVELOPE_MAC_START);
    signed.extend_from_slice(object_part);
    signed.extend_from_slice(&master.id().0);
    signed.extend_from_slice(&wrap_iv);
    signed.extend_from_slice(&wrapped);
    let envelope_mac = hmac(master.wrap_mac(), &[&signed]);
    signed.extend_from_slice(&envelope_mac);
    out.copy_from_slice(&signed);
    Ok(())
}

/// The keys of one object whose header verified (or that we just created): everything needed
/// to encrypt or verify-and-decrypt its chunks. Secrets are wiped on drop.
#[derive(Clone)]
pub struct ObjectKeys {
    pub(crate) chunk_enc: Key32,
    pub(crate) chunk_mac: Key32,
    pub(crate) header_mac: [u8; 32],
    chunk_size: u32,
    object_id: ObjectId,
    header: [u8; HEADER_LEN],
}

impl fmt::Debug for ObjectKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectKeys")
            .field("object_id", &self.object_id)
            .field("chunk_size", &self.chunk_size)
            .finish_non_exhaustive()
    }
}

impl ObjectKeys {
    fn derive(
        data_key: &[u8; 32],
        chunk_size: u32,
        object_id: ObjectId,
        header_mac: [u8; 32],
        header: [u8; HEADER_LEN],
    ) -> Self {
        ObjectKeys {
            chunk_enc: hkdf32(data_key, info::CHUNK_ENC),
            chunk_mac: hkdf32(data_key, info::CHUNK_MAC),
            header_mac,
            chunk_size,
            object_id,
            header,
        }
    }

    /// Start a new object: fresh random data key, header wrapped by `master`. The header
    /// bytes are [`ObjectKeys::header_bytes`]; write them before the first record.
    pub fn create<R: CryptoRng + RngCore>(
        master: &MasterKey,
        object_id: ObjectId,
        chunk_size: u32,
        rng: &mut R,
    ) -> Result<Self> {
        let mut data_key = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(data_key.as_mut());
        Self::create_with_data_key(master, object_id, chunk_size, &data_key, rng)
    }

    /// As [`ObjectKeys::create`] with a given data key: for test vectors only in practice.
    pub fn create_with_data_key<R: CryptoRng + RngCore>(
        master: &MasterKey,
        object_id: ObjectId,
        chunk_size: u32,
        data_key: &[u8; 32],
        rng: &mut R,
    ) -> Result<Self> {
        check_chunk_size(chunk_size)?;
        let mut object_part = [0u8; off::HEADER_MAC_END];
        let mut fields = Vec::with_capacity(off::OBJECT_PART_END);
        fields.extend_from_slice(&MAGIC);
        fields.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
        fields.push(ALGORITHM_ID);
        fields.push(0);
        fields.extend_from_slice(&chunk_size.to_be_bytes());
        fields.extend_from_slice(&object_id.0);
        let header_mac = hmac(&hkdf32(data_key, info::HEADER_MAC), &[&fields]);
        fields.extend_from_slice(&header_mac);
        object_part.copy_from_slice(&fields);
        let mut header = [0u8; HEADER_LEN];
        write_envelope(&mut header, &object_part, data_key, master, rng)?;
        Ok(Self::derive(data_key, chunk_size, object_id, header_mac, header))
    }

    /// Plaintext bytes per chunk.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// The authenticated object id.
    pub fn object_id(&self) -> ObjectId {
        self.object_id
    }

    /// The header these keys belong to (as written, or as read and verified).
    pub fn header_bytes(&self) -> &[u8; HEADER_LEN] {
        &self.header
    }
}
