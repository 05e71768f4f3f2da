//! Master keys: loading (key file text, passphrase), ids, and the keys derived from them.
//!
//! Spec: `docs/formats/at-rest-v1.md` §2. Secret bytes live only in `Zeroizing` buffers and
//! are wiped when dropped; `Debug` never prints them.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hkdf::Hkdf;
use rand::{CryptoRng, RngCore};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// HKDF info strings (frozen, spec §2.2 and §2.3).
pub(crate) mod info {
    pub const KEY_ID: &[u8] = b"strongroom at-rest v1 master key id";
    pub const WRAP_ENC: &[u8] = b"strongroom at-rest v1 key wrap encryption";
    pub const WRAP_MAC: &[u8] = b"strongroom at-rest v1 key wrap mac";
    pub const CHUNK_ENC: &[u8] = b"strongroom at-rest v1 chunk encryption";
    pub const CHUNK_MAC: &[u8] = b"strongroom at-rest v1 chunk mac";
    pub const HEADER_MAC: &[u8] = b"strongroom at-rest v1 header mac";
}

/// Prefix of the key-file text (frozen).
pub const KEY_TEXT_PREFIX: &str = "strongroom-master-key-v1";
/// Prefix of the passphrase-parameter text (frozen).
pub const PASSPHRASE_PARAMS_PREFIX: &str = "strongroom-passphrase-v1";

/// A 32-byte secret.
pub(crate) type Key32 = Zeroizing<[u8; 32]>;

/// HKDF-SHA256 with no salt, as the spec defines it.
pub(crate) fn hkdf32(ikm: &[u8], info: &[u8]) -> Key32 {
    let mut out = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF's 255·32 limit, so expand cannot fail.
    let _ = Hkdf::<Sha256>::new(None, ikm).expand(info, out.as_mut());
    out
}

/// Identifies a master key without revealing it: 16 bytes derived from it by HKDF.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 16]);

impl KeyId {
    /// Lowercase hex, the form used in key files and messages.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.to_hex())
    }
}

/// The instance master key. It wraps every object's data key; it is never stored with data.
#[derive(Clone)]
pub struct MasterKey {
    key: Key32,
    id: KeyId,
    wrap_enc: Key32,
    wrap_mac: Key32,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl MasterKey {
    /// Use 32 given bytes as the master key (e.g. from a hardware module).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let key = Zeroizing::new(bytes);
        let mut id = [0u8; 16];
        let _ = Hkdf::<Sha256>::new(None, key.as_ref()).expand(info::KEY_ID, &mut id);
        MasterKey {
            id: KeyId(id),
            wrap_enc: hkdf32(key.as_ref(), info::WRAP_ENC),
            wrap_mac: hkdf32(key.as_ref(), info::WRAP_MAC),
            key,
        }
    }

    /// A fresh random master key (what `strongroom encryption keygen` writes).
    pub fn generate<R: CryptoRng + RngCore>(rng: &mut R) -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(bytes.as_mut());
        Self::from_bytes(*bytes)
    }

    /// The key's id, written into every header it wraps.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The raw key; only for writing a key file or handing it to a hardware module.
    pub fn expose_bytes(&self) -> &[u8; 32] {
        &self.key
    }

    pub(crate) fn wrap_enc(&self) -> &[u8; 32] {
        &self.wrap_enc
    }

    pub(crate) fn wrap_mac(&self) -> &[u8; 32] {
        &self.wrap_mac
    }

    /// Key-file text: `strongroom-master-key-v1:<id hex>:<base64>` plus a newline. The
    /// result is secret; it is returned in a zeroizing buffer.
    pub fn to_key_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{KEY_TEXT_PREFIX}:{}:{}\n",
            self.id.to_hex(),
            B64.encode(self.key.as_ref())
        ))
    }

    /// Parse key-file text (also the form of `STRONGROOM_ENCRYPTION_KEY`). Surrounding ASCII
    /// whitespace is ignored; the id must match the key, which catches a damaged file.
    pub fn from_key_text(text: &str) -> Result<Self> {
        let text = text.trim_matches([' ', '\t', '\r', '\n']);
        let mut parts = text.split(':');
        if parts.next() != Some(KEY_TEXT_PREFIX) {
            return Err(Error::InvalidKeyText("missing 'strongroom-master-key-v1:' prefix"));
        }
        let id_hex = parts.next().ok_or(Error::InvalidKeyText("missing key id"))?;
        let b64 = parts.next().ok_or(Error::InvalidKeyText("missing key"))?;
        if parts.next().is_some() {
            return Err(Error::InvalidKeyText("too many ':'-separated fields"));
        }
        let mut id = [0u8; 16];
        if id_hex.len() != 32 || id_hex.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(Error::InvalidKeyText("key id must be 32 lowercase hex digits"));
        }
        hex::decode_to_slice(id_hex, &mut id)
            .map_err(|_| Error::InvalidKeyText("key id must be 32 lowercase hex digits"))?;
        let decoded = Zeroizing::new(
            B64.decode(b64)
                .map_err(|_| Error::InvalidKeyText("key is not valid base64"))?,
        );
        let bytes: [u8; 32] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| Error::InvalidKeyText("key must be exactly 32 bytes"))?;
        let key = Self::from_bytes(bytes);
        let mut bytes = bytes;
        zeroize::Zeroize::zeroize(&mut bytes);
        if key.id != KeyId(id) {
            return Err(Error::InvalidKeyText(
                "key id does not match the key (damaged key file?)",
            ));
        }
        Ok(key)
    }

    /// Read a key file. The caller decides where it lives; permissions are its business too.
    pub fn load_key_file(path: &std::path::Path) -> Result<Self> {
        let text = Zeroizing::new(std::fs::read_to_string(path)?);
        Self::from_key_text(&text)
    }

    /// Derive the master key from a passphrase with Argon2id (spec §2.1, item 3).
    /// Deliberately slow (about a second with the defaults): call it once at start-up, off any
    /// async executor.
    pub fn from_passphrase(passphrase: &[u8], params: &PassphraseParams) -> Result<Self> {
        let argon_params =
            argon2::Params::new(params.m_kib, params.t, params.p, Some(32)).map_err(|e| Error::Kdf(e.to_string()))?;
        let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, argon_params);
        let mut out = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passphrase, &params.salt, out.as_mut())
            .map_err(|e| Error::Kdf(e.to_string()))?;
        Ok(Self::from_bytes(*out))
    }
}

/// The non-secret Argon2id parameters and salt for a passphrase-derived master key; kept in
/// the server configuration as text (spec §2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassphraseParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
    /// Salt, 16 to 64 bytes.
    pub salt: Vec<u8>,
}

impl PassphraseParams {
    /// Defaults for a new instance: RFC 9106 second recommendation (64 MiB, 3 passes, 4
    /// lanes) with a fresh 16-byte salt.
    pub fn generate<R: CryptoRng + RngCore>(rng: &mut R) -> Self {
        let mut salt = vec![0u8; 16];
        rng.fill_bytes(&mut salt);
        PassphraseParams {
            m_kib: 65_536,
            t: 3,
            p: 4,
            salt,
        }
    }

    fn check(self) -> Result<Self> {
        let bad = |what| Err(Error::InvalidPassphraseParams(what));
        if !(1..=16).contains(&self.p) {
            return bad("p must be 1..=16");
        }
        if !(1..=100).contains(&self.t) {
            return bad("t must be 1..=100");
        }
        if self.m_kib < 8 * self.p || self.m_kib > 4_194_304 {
            return bad("m must be 8·p..=4194304 KiB");
        }
        if !(16..=64).contains(&self.salt.len()) {
            return bad("salt must be 16..=64 bytes");
        }
        Ok(self)
    }

    /// `strongroom-passphrase-v1:argon2id:m=65536,t=3,p=4:<salt base64>`.
    pub fn to_text(&self) -> String {
        format!(
            "{PASSPHRASE_PARAMS_PREFIX}:argon2id:m={},t={},p={}:{}",
            self.m_kib,
            self.t,
            self.p,
            B64.encode(&self.salt)
        )
    }

    /// Parse the text form, checking the bounds of spec §2.1.
    pub fn from_text(text: &str) -> Result<Self> {
        let bad = Error::InvalidPassphraseParams;
        let text = text.trim_matches([' ', '\t', '\r', '\n']);
        let fields: Vec<&str> = text.split(':').collect();
        let [prefix, alg, costs, salt] = fields.as_slice() else {
            return Err(bad("expected 4 ':'-separated fields"));
        };
        if *prefix != PASSPHRASE_PARAMS_PREFIX || *alg != "argon2id" {
            return Err(bad("expected 'strongroom-passphrase-v1:argon2id:' prefix"));
        }
        let costs: Vec<&str> = costs.split(',').collect();
        let [m, t, p] = costs.as_slice() else {
            return Err(bad("expected m=..,t=..,p=.."));
        };
        let num = |field: &str, name: &str| -> Result<u32> {
            field
                .strip_prefix(name)
                .and_then(|v| v.strip_prefix('='))
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse().ok())
                .ok_or(bad("bad cost field"))
        };
        let salt = B64.decode(salt).map_err(|_| bad("salt is not valid base64"))?;
        PassphraseParams {
            m_kib: num(m, "m")?,
            t: num(t, "t")?,
            p: num(p, "p")?,
            salt,
        }
        .check()
    }
}

/// The passphrase in `text` as it is read from a file or standard input (spec §2.1 item 3):
/// the first line, without its terminator (LF or CR LF). Nothing else is trimmed — spaces and
/// a lone CR are part of the passphrase — so `keygen --passphrase-stdin` and the server's
/// `passphrase_file` always derive the same key from the same text.
pub fn passphrase_line(text: &str) -> &str {
    match text.split_once('\n') {
        Some((line, _)) => line.strip_suffix('\r').unwrap_or(line),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_passphrase_is_the_first_line_without_its_terminator() {
        for (text, want) in [
            ("correct horse battery staple\n", "correct horse battery staple"),
            ("correct horse battery staple\r\n", "correct horse battery staple"),
            ("correct horse battery staple", "correct horse battery staple"),
            (" spaced out \n", " spaced out "),
            ("lone cr\r", "lone cr\r"),
            ("two cr\r\r\n", "two cr\r"),
            ("first\nsecond\n", "first"),
            ("\nsecond", ""),
            ("", ""),
        ] {
            assert_eq!(super::passphrase_line(text), want, "{text:?}");
        }
    }

    use super::*;

    #[test]
    fn key_text_round_trip_and_damage() {
        let k = MasterKey::from_bytes(core::array::from_fn(|i| i as u8));
        let text = k.to_key_text();
        let k2 = MasterKey::from_key_text(&text).unwrap();
        assert_eq!(k.id(), k2.id());
        assert_eq!(k.expose_bytes(), k2.expose_bytes());
        assert!(MasterKey::from_key_text(&format!("  {}  \r\n", text.trim())).is_ok());
        // A changed id, a changed key, a truncated key, extra fields, upper case: rejected.
        let s = text.trim().to_string();
        let b64 = s.rsplit(':').next().unwrap();
        let wrong_id = format!("{KEY_TEXT_PREFIX}:{}:{b64}", "0".repeat(32));
        assert!(matches!(
            MasterKey::from_key_text(&wrong_id),
            Err(Error::InvalidKeyText(_))
        ));
        assert!(MasterKey::from_key_text(&s.replace("AAEC", "AAED")).is_err());
        assert!(MasterKey::from_key_text(&s[..s.len() - 2]).is_err());
        assert!(MasterKey::from_key_text(&format!("{s}:x")).is_err());
        assert!(MasterKey::from_key_text(&s.to_uppercase()).is_err());
        assert!(!format!("{k:?}").contains("AAEC"));
    }

    #[test]
    fn passphrase_params_text() {
        let p = PassphraseParams {
            m_kib: 64,
            t: 1,
            p: 1,
            salt: vec![7; 16],
        };
        assert_eq!(PassphraseParams::from_text(&p.to_text()).unwrap(), p);
        for bad in [
            "strongroom-passphrase-v1:argon2i:m=64,t=1,p=1:BwcHBwcHBwcHBwcHBwcHBw==",
            "strongroom-passphrase-v1:argon2id:m=4,t=1,p=1:BwcHBwcHBwcHBwcHBwcHBw==",
            "strongroom-passphrase-v1:argon2id:m=64,t=1,p=1:Bw==",
            "strongroom-passphrase-v1:argon2id:m=64,t=+1,p=1:BwcHBwcHBwcHBwcHBwcHBw==",
            "strongroom-passphrase-v1:argon2id:m=64,p=1,t=1:BwcHBwcHBwcHBwcHBwcHBw==",
        ] {
            assert!(PassphraseParams::from_text(bad).is_err(), "{bad}");
        }
        let a = MasterKey::from_passphrase(b"correct horse", &p).unwrap();
        let b = MasterKey::from_passphrase(b"correct horse", &p).unwrap();
        let c = MasterKey::from_passphrase(b"wrong horse", &p).unwrap();
        assert_eq!(a.id(), b.id());
        assert_ne!(a.id(), c.id());
    }
}
