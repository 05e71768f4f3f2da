//! The revision-6 values of a new `/Encrypt` dictionary (ISO 32000-2, 7.6.4.3.4 and 7.6.4.4.7
//! to 7.6.4.4.9: Algorithms 2.B, 8, 9 and 10), computed from password *bytes*.
//!
//! lopdf computes the same values, but only from a `&str` it runs through its own `saslprep`,
//! which refuses every code point unassigned in Unicode 3.2 (all emoji): see
//! [`crate::password`]. So the bytes [`crate::password::prepare_pdf`] chose are hashed here,
//! and lopdf reads the result back (`EncryptionState::decode`), which checks these values with
//! its own, independent Algorithm 2.A before anything is encrypted with them.

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockEncrypt as _, BlockEncryptMut as _, KeyInit as _, KeyIvInit as _};
use lopdf::{Dictionary, Object, StringFormat};
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use zeroize::Zeroizing;

use crate::{Error, Result};

/// The random inputs of Algorithms 8–10, drawn by the caller (fixed in tests).
pub(crate) struct Salts {
    pub user_validation: [u8; 8],
    pub user_key: [u8; 8],
    pub owner_validation: [u8; 8],
    pub owner_key: [u8; 8],
    /// Bytes 12–15 of the `/Perms` block, which readers ignore.
    pub perms_filler: [u8; 4],
}

/// What goes into the dictionary besides the passwords.
pub(crate) struct Params<'a> {
    pub file_key: &'a [u8; 32],
    /// The 32 bits of `/P` (ISO 32000-2, table 22), reserved bits already set.
    pub permissions: u32,
    pub encrypt_metadata: bool,
    /// Name of the crypt filter declared in `/CF` and used for `/StmF` and `/StrF`.
    pub crypt_filter: &'a [u8],
}

fn internal(what: &str) -> Error {
    Error::Pdf(format!("revision 6 key computation: {what}"))
}

/// Algorithm 2.B: the hash of `password ‖ salt ‖ udata`, hardened by at least 64 rounds of
/// AES-128-CBC and SHA-256/384/512. `udata` is the 48-byte `/U` for the owner values, empty
/// for the user's.
fn hash_2b(password: &[u8], salt: &[u8; 8], udata: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
    let mut k: Zeroizing<Vec<u8>> = Zeroizing::new(
        Sha256::new()
            .chain_update(password)
            .chain_update(salt)
            .chain_update(udata)
            .finalize()
            .to_vec(),
    );
    let mut round: u32 = 0;
    loop {
        // K1 = 64 repetitions of password ‖ K ‖ udata: a multiple of 64 bytes, so of the block.
        let mut k1: Zeroizing<Vec<u8>> =
            Zeroizing::new(Vec::with_capacity(64 * (password.len() + k.len() + udata.len())));
        for _ in 0..64 {
            k1.extend_from_slice(password);
            k1.extend_from_slice(&k);
            k1.extend_from_slice(udata);
        }
        // E = AES-128-CBC(key = K[0..16], IV = K[16..32]) of K1, no padding.
        let (key, rest) = k.split_at(16);
        let iv = rest.get(..16).ok_or_else(|| internal("short hash"))?;
        let len = k1.len();
        let e = cbc::Encryptor::<aes::Aes128>::new_from_slices(key, iv)
            .map_err(|_| internal("AES-128 key"))?
            .encrypt_padded_mut::<NoPadding>(&mut k1, len)
            .map_err(|_| internal("AES-128 block size"))?;
        // The first 16 bytes of E as a number, modulo 3 (256 ≡ 1 mod 3: the sum of the bytes),
        // choose the next hash.
        let selector = e.iter().take(16).map(|&b| u32::from(b)).sum::<u32>() % 3;
        let next = match selector {
            0 => Sha256::digest(e).to_vec(),
            1 => Sha384::digest(e).to_vec(),
            _ => Sha512::digest(e).to_vec(),
        };
        let last = e.last().copied().ok_or_else(|| internal("empty round"))?;
        k = Zeroizing::new(next);
        round += 1;
        // At least 64 rounds, then until E's last byte is no more than the round number − 32.
        if round >= 64 && u32::from(last) <= round - 32 {
            break;
        }
    }
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(k.get(..32).ok_or_else(|| internal("short hash"))?);
    Ok(out)
}

/// Algorithms 8 and 9: the 48-byte `/U` or `/O` (hash, validation salt, key salt) and the
/// 32-byte `/UE` or `/OE` (the file key under AES-256-CBC, zero IV, no padding).
fn password_entries(
    password: &[u8],
    validation_salt: &[u8; 8],
    key_salt: &[u8; 8],
    udata: &[u8],
    file_key: &[u8; 32],
) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut value = hash_2b(password, validation_salt, udata)?.to_vec();
    value.extend_from_slice(validation_salt);
    value.extend_from_slice(key_salt);
    let key = hash_2b(password, key_salt, udata)?;
    let mut wrapped = file_key.to_vec();
    cbc::Encryptor::<aes::Aes256>::new_from_slices(key.as_slice(), &[0u8; 16])
        .map_err(|_| internal("AES-256 key"))?
        .encrypt_padded_mut::<NoPadding>(&mut wrapped, 32)
        .map_err(|_| internal("AES-256 block size"))?;
    Ok((value, wrapped))
}

/// Algorithm 10: `/Perms`, the permissions encrypted under the file key (AES-256-ECB, one
/// block), so that a reader can tell `/P` was not edited.
fn perms(params: &Params<'_>, filler: &[u8; 4]) -> Result<Vec<u8>> {
    let mut block = [0u8; 16];
    let (p, rest) = block.split_at_mut(4);
    p.copy_from_slice(&params.permissions.to_le_bytes());
    // Bytes 4–7: /P extended to 64 bits with ones; 8: EncryptMetadata; 9–11: "adb".
    let mut tail = [
        0xFF,
        0xFF,
        0xFF,
        0xFF,
        if params.encrypt_metadata { b'T' } else { b'F' },
        b'a',
        b'd',
        b'b',
        0,
        0,
        0,
        0,
    ];
    let (_, fill) = tail.split_at_mut(8);
    fill.copy_from_slice(filler);
    rest.copy_from_slice(&tail);
    let cipher = aes::Aes256::new_from_slice(params.file_key).map_err(|_| internal("AES-256 key"))?;
    cipher.encrypt_block((&mut block).into());
    Ok(block.to_vec())
}

/// The complete `/Encrypt` dictionary for the prepared `user` and `owner` password bytes
/// (each at most 127 bytes: [`crate::password::prepare_pdf`] refused longer ones).
pub(crate) fn encrypt_dictionary(user: &[u8], owner: &[u8], params: &Params<'_>, salts: &Salts) -> Result<Dictionary> {
    let (u, ue) = password_entries(user, &salts.user_validation, &salts.user_key, &[], params.file_key)?;
    let (o, oe) = password_entries(owner, &salts.owner_validation, &salts.owner_key, &u, params.file_key)?;
    let perms = perms(params, &salts.perms_filler)?;
    let hex = |b: Vec<u8>| Object::String(b, StringFormat::Hexadecimal);
    let mut filter = Dictionary::new();
    filter.set("Type", Object::Name(b"CryptFilter".to_vec()));
    filter.set("CFM", Object::Name(b"AESV3".to_vec()));
    filter.set("AuthEvent", Object::Name(b"DocOpen".to_vec()));
    filter.set("Length", Object::Integer(32));
    let mut filters = Dictionary::new();
    filters.set(params.crypt_filter.to_vec(), Object::Dictionary(filter));
    let mut dict = Dictionary::new();
    dict.set("Filter", Object::Name(b"Standard".to_vec()));
    dict.set("V", Object::Integer(5));
    dict.set("R", Object::Integer(6));
    dict.set("Length", Object::Integer(256));
    dict.set("CF", Object::Dictionary(filters));
    dict.set("StmF", Object::Name(params.crypt_filter.to_vec()));
    dict.set("StrF", Object::Name(params.crypt_filter.to_vec()));
    dict.set("EncryptMetadata", Object::Boolean(params.encrypt_metadata));
    dict.set("O", hex(o));
    dict.set("U", hex(u));
    dict.set("OE", hex(oe));
    dict.set("UE", hex(ue));
    // /P is a signed 32-bit integer whose bits are the permissions.
    dict.set("P", Object::Integer(i64::from(params.permissions as i32)));
    dict.set("Perms", hex(perms));
    Ok(dict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::encryption::crypt_filters::{Aes256CryptFilter, CryptFilter};
    use lopdf::{EncryptionState, EncryptionVersion, Permissions};
    use std::collections::BTreeMap;
    use std::sync::Arc;

    /// Our Algorithm 2.B against lopdf's, on an ASCII password lopdf accepts: lopdf writes the
    /// dictionary, we recompute its `/U` and `/O` hashes from the salts it chose.
    #[test]
    fn hash_agrees_with_lopdf() {
        let mut filters: BTreeMap<Vec<u8>, Arc<dyn CryptFilter>> = BTreeMap::new();
        filters.insert(b"StdCF".to_vec(), Arc::new(Aes256CryptFilter));
        let state = EncryptionState::try_from(EncryptionVersion::V5 {
            encrypt_metadata: true,
            crypt_filters: filters,
            file_encryption_key: &[7u8; 32],
            stream_filter: b"StdCF".to_vec(),
            string_filter: b"StdCF".to_vec(),
            owner_password: "owner pw",
            user_password: "user pw",
            permissions: Permissions::all(),
        })
        .unwrap();
        let u = state.user_value();
        let o = state.owner_value();
        let salt = |v: &[u8], at: usize| -> [u8; 8] { v[at..at + 8].try_into().unwrap() };
        assert_eq!(hash_2b(b"user pw", &salt(u, 32), &[]).unwrap().as_slice(), &u[..32]);
        assert_eq!(hash_2b(b"owner pw", &salt(o, 32), u).unwrap().as_slice(), &o[..32]);
    }
}
