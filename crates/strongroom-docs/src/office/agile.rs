//! The cryptographic core of MS-OFFCRYPTO Agile Encryption: password key derivation
//! (2.3.4.11), IV derivation (2.3.4.12), AES-CBC, and the hashes/HMACs the format allows.
//!
//! Decryption accepts every hash and AES key size the agile schema allows for AES-CBC, because
//! files written by older Office versions (SHA-1, AES-128) must still open; encryption always
//! writes AES-256 + SHA-512.

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, InnerIvInit, KeyInit};
use hmac::{Hmac, Mac};
use sha2::Digest;
use zeroize::{Zeroize, Zeroizing};

use crate::{Error, Result};

/// AES block size: the only `blockSize` accepted for AES in the agile schema.
pub(crate) const AES_BLOCK: usize = 16;

/// Block keys of 2.3.4.13 / 2.3.4.14 — FROZEN by the spec: they domain-separate the keys and
/// IVs derived from one password hash.
pub(crate) const BLOCK_KEY_VERIFIER_INPUT: [u8; 8] = [0xfe, 0xa7, 0xd2, 0x76, 0x3b, 0x4b, 0x9e, 0x79];
pub(crate) const BLOCK_KEY_VERIFIER_VALUE: [u8; 8] = [0xd7, 0xaa, 0x0f, 0x6d, 0x30, 0x61, 0x34, 0x4e];
pub(crate) const BLOCK_KEY_KEY_VALUE: [u8; 8] = [0x14, 0x6e, 0x0b, 0xe7, 0xab, 0xac, 0xd0, 0xd6];
pub(crate) const BLOCK_KEY_HMAC_KEY: [u8; 8] = [0x5f, 0xb2, 0xad, 0x01, 0x0c, 0xb9, 0xe1, 0xf6];
pub(crate) const BLOCK_KEY_HMAC_VALUE: [u8; 8] = [0xa0, 0x67, 0x7f, 0x02, 0xb2, 0x2c, 0x84, 0x33];

/// A hash algorithm allowed by the agile `hashAlgorithm` attribute (the ones we implement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashAlg {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    /// Parse the `hashAlgorithm` attribute value.
    pub(crate) fn from_name(name: &str) -> Result<Self> {
        match name {
            "SHA1" | "SHA-1" => Ok(HashAlg::Sha1),
            "SHA256" => Ok(HashAlg::Sha256),
            "SHA384" => Ok(HashAlg::Sha384),
            "SHA512" => Ok(HashAlg::Sha512),
            other => Err(Error::UnsupportedEncryption(format!("hash algorithm {other:?}"))),
        }
    }

    /// The `hashAlgorithm` attribute value.
    pub(crate) fn name(self) -> &'static str {
        match self {
            HashAlg::Sha1 => "SHA1",
            HashAlg::Sha256 => "SHA256",
            HashAlg::Sha384 => "SHA384",
            HashAlg::Sha512 => "SHA512",
        }
    }

    /// Output length in bytes (`hashSize`).
    pub(crate) fn size(self) -> usize {
        match self {
            HashAlg::Sha1 => 20,
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }

    /// Hash the concatenation of `parts`.
    pub(crate) fn digest(self, parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
        fn run<D: Digest>(parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
            let mut d = D::new();
            for p in parts {
                d.update(p);
            }
            Zeroizing::new(d.finalize().to_vec())
        }
        match self {
            HashAlg::Sha1 => run::<sha1::Sha1>(parts),
            HashAlg::Sha256 => run::<sha2::Sha256>(parts),
            HashAlg::Sha384 => run::<sha2::Sha384>(parts),
            HashAlg::Sha512 => run::<sha2::Sha512>(parts),
        }
    }

    /// The iterated password hash H_n of 2.3.4.11: H_0 = H(salt ‖ password),
    /// H_i = H(LE32(i-1) ‖ H_(i-1)) for `spin_count` rounds. This is the expensive step that
    /// slows down password guessing.
    pub(crate) fn password_hash(self, salt: &[u8], password_utf16le: &[u8], spin_count: u32) -> Zeroizing<Vec<u8>> {
        fn run<D: Digest>(salt: &[u8], pw: &[u8], spin: u32) -> Zeroizing<Vec<u8>> {
            let mut h = D::new().chain_update(salt).chain_update(pw).finalize();
            for i in 0..spin {
                let mut next = D::new().chain_update(i.to_le_bytes()).chain_update(&h).finalize();
                std::mem::swap(&mut h, &mut next);
                wipe(&mut next);
            }
            let out = Zeroizing::new(h.to_vec());
            wipe(&mut h);
            out
        }
        match self {
            HashAlg::Sha1 => run::<sha1::Sha1>(salt, password_utf16le, spin_count),
            HashAlg::Sha256 => run::<sha2::Sha256>(salt, password_utf16le, spin_count),
            HashAlg::Sha384 => run::<sha2::Sha384>(salt, password_utf16le, spin_count),
            HashAlg::Sha512 => run::<sha2::Sha512>(salt, password_utf16le, spin_count),
        }
    }

    /// Start an HMAC (RFC 2104) keyed with `key`, for the data-integrity check (2.3.4.14).
    pub(crate) fn hmac(self, key: &[u8]) -> Result<HmacState> {
        let bad = |_| Error::UnsupportedEncryption("HMAC key length".into());
        Ok(match self {
            HashAlg::Sha1 => HmacState::Sha1(<Hmac<sha1::Sha1> as Mac>::new_from_slice(key).map_err(bad)?),
            HashAlg::Sha256 => HmacState::Sha256(<Hmac<sha2::Sha256> as Mac>::new_from_slice(key).map_err(bad)?),
            HashAlg::Sha384 => HmacState::Sha384(<Hmac<sha2::Sha384> as Mac>::new_from_slice(key).map_err(bad)?),
            HashAlg::Sha512 => HmacState::Sha512(<Hmac<sha2::Sha512> as Mac>::new_from_slice(key).map_err(bad)?),
        })
    }
}

/// A running HMAC over the `EncryptedPackage` stream.
pub(crate) enum HmacState {
    Sha1(Hmac<sha1::Sha1>),
    Sha256(Hmac<sha2::Sha256>),
    Sha384(Hmac<sha2::Sha384>),
    Sha512(Hmac<sha2::Sha512>),
}

impl HmacState {
    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            HmacState::Sha1(m) => m.update(data),
            HmacState::Sha256(m) => m.update(data),
            HmacState::Sha384(m) => m.update(data),
            HmacState::Sha512(m) => m.update(data),
        }
    }

    pub(crate) fn finalize(self) -> Vec<u8> {
        match self {
            HmacState::Sha1(m) => m.finalize().into_bytes().to_vec(),
            HmacState::Sha256(m) => m.finalize().into_bytes().to_vec(),
            HmacState::Sha384(m) => m.finalize().into_bytes().to_vec(),
            HmacState::Sha512(m) => m.finalize().into_bytes().to_vec(),
        }
    }
}

/// Overwrite an intermediate hash with zeros.
fn wipe(bytes: &mut [u8]) {
    bytes.zeroize();
}

/// Truncate or pad (with 0x36, as 2.3.4.11 and 2.3.4.12 require) `bytes` to `len`.
pub(crate) fn fit(bytes: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    out.extend(bytes.iter().copied().take(len));
    out.resize(len, 0x36);
    out
}

/// The key derived from the password hash for one purpose (2.3.4.11 final step):
/// H_final = H(H_n ‖ blockKey), fitted to `key_bytes`.
pub(crate) fn derive_key(
    hash: HashAlg,
    password_hash: &[u8],
    block_key: &[u8],
    key_bytes: usize,
) -> Zeroizing<Vec<u8>> {
    let h = hash.digest(&[password_hash, block_key]);
    fit(&h, key_bytes)
}

/// The IV of 2.3.4.12: the salt itself, or H(salt ‖ blockKey), fitted to the block size.
pub(crate) fn derive_iv(hash: HashAlg, salt: &[u8], block_key: Option<&[u8]>) -> Zeroizing<Vec<u8>> {
    match block_key {
        None => fit(salt, AES_BLOCK),
        Some(k) => fit(&hash.digest(&[salt, k]), AES_BLOCK),
    }
}

/// AES with a 128-, 192- or 256-bit key, used in CBC mode without padding (the format pads
/// by itself and records true lengths).
#[derive(Clone)]
pub(crate) enum Aes {
    A128(aes::Aes128),
    A192(aes::Aes192),
    A256(aes::Aes256),
}

impl Aes {
    pub(crate) fn new(key: &[u8]) -> Result<Self> {
        let bad = |_| Error::UnsupportedEncryption("AES key length".into());
        Ok(match key.len() {
            16 => Aes::A128(aes::Aes128::new_from_slice(key).map_err(bad)?),
            24 => Aes::A192(aes::Aes192::new_from_slice(key).map_err(bad)?),
            32 => Aes::A256(aes::Aes256::new_from_slice(key).map_err(bad)?),
            n => {
                return Err(Error::UnsupportedEncryption(format!("AES key of {n} bytes")));
            }
        })
    }

    /// Encrypt `data` in place with AES-CBC; its length must be a multiple of 16.
    pub(crate) fn encrypt_cbc(&self, iv: &[u8], data: &mut [u8]) -> Result<()> {
        fn run<C>(c: &C, iv: &[u8], data: &mut [u8]) -> Result<()>
        where
            C: aes::cipher::BlockEncrypt + aes::cipher::BlockCipher + Clone,
            cbc::Encryptor<C>: InnerIvInit<Inner = C> + BlockEncryptMut,
        {
            let len = data.len();
            cbc::Encryptor::<C>::inner_iv_slice_init(c.clone(), iv)
                .map_err(|_| Error::malformed("cipher", "IV length"))?
                .encrypt_padded_mut::<NoPadding>(data, len)
                .map_err(|_| Error::malformed("cipher", "data is not a whole number of blocks"))?;
            Ok(())
        }
        match self {
            Aes::A128(c) => run(c, iv, data),
            Aes::A192(c) => run(c, iv, data),
            Aes::A256(c) => run(c, iv, data),
        }
    }

    /// Decrypt `data` in place with AES-CBC; its length must be a multiple of 16.
    pub(crate) fn decrypt_cbc(&self, iv: &[u8], data: &mut [u8]) -> Result<()> {
        fn run<C>(c: &C, iv: &[u8], data: &mut [u8]) -> Result<()>
        where
            C: aes::cipher::BlockDecrypt + aes::cipher::BlockCipher + Clone,
            cbc::Decryptor<C>: InnerIvInit<Inner = C> + BlockDecryptMut,
        {
            cbc::Decryptor::<C>::inner_iv_slice_init(c.clone(), iv)
                .map_err(|_| Error::malformed("cipher", "IV length"))?
                .decrypt_padded_mut::<NoPadding>(data)
                .map_err(|_| Error::malformed("cipher", "data is not a whole number of blocks"))?;
            Ok(())
        }
        match self {
            Aes::A128(c) => run(c, iv, data),
            Aes::A192(c) => run(c, iv, data),
            Aes::A256(c) => run(c, iv, data),
        }
    }

    /// Encrypt a short value (key, verifier, HMAC) after zero-padding it to whole blocks.
    pub(crate) fn encrypt_value(&self, iv: &[u8], value: &[u8]) -> Result<Vec<u8>> {
        let mut buf = value.to_vec();
        buf.resize(round_up(value.len(), AES_BLOCK), 0);
        self.encrypt_cbc(iv, &mut buf)?;
        Ok(buf)
    }

    /// Decrypt a short value and keep its first `len` bytes.
    pub(crate) fn decrypt_value(
        &self,
        iv: &[u8],
        ciphertext: &[u8],
        len: usize,
        what: &'static str,
    ) -> Result<Zeroizing<Vec<u8>>> {
        if !ciphertext.len().is_multiple_of(AES_BLOCK) || ciphertext.len() < len {
            return Err(Error::malformed("EncryptionInfo", format!("{what} has a wrong length")));
        }
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        self.decrypt_cbc(iv, &mut buf)?;
        buf.truncate(len);
        Ok(buf)
    }
}

/// Round `n` up to a multiple of `to` (a power of two here).
pub(crate) fn round_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

/// A password as the format hashes it: UTF-16LE code units, no terminator.
pub(crate) fn utf16le(password: &str) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(password.len() * 2));
    for unit in password.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_truncates_and_pads_with_0x36() {
        assert_eq!(fit(&[1, 2, 3], 2).as_slice(), &[1, 2]);
        assert_eq!(fit(&[1], 3).as_slice(), &[1, 0x36, 0x36]);
    }

    #[test]
    fn cbc_round_trip_and_block_check() {
        let aes = Aes::new(&[7u8; 32]).unwrap();
        let mut data = *b"0123456789abcdef0123456789abcdef";
        aes.encrypt_cbc(&[1u8; 16], &mut data).unwrap();
        assert_ne!(&data, b"0123456789abcdef0123456789abcdef");
        aes.decrypt_cbc(&[1u8; 16], &mut data).unwrap();
        assert_eq!(&data, b"0123456789abcdef0123456789abcdef");
        let mut odd = [0u8; 15];
        assert!(aes.encrypt_cbc(&[1u8; 16], &mut odd).is_err());
        assert!(Aes::new(&[0u8; 20]).is_err());
    }

    #[test]
    fn spin_zero_is_plain_hash() {
        let h = HashAlg::Sha512.password_hash(b"salt", b"pw", 0);
        assert_eq!(h.as_slice(), HashAlg::Sha512.digest(&[b"salt", b"pw"]).as_slice());
        let h1 = HashAlg::Sha512.password_hash(b"salt", b"pw", 1);
        let expect = HashAlg::Sha512.digest(&[&0u32.to_le_bytes(), &h]);
        assert_eq!(h1.as_slice(), expect.as_slice());
    }
}
