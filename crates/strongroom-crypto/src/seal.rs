//! The key that seals the audit trail's chain head (`docs/formats/audit-chain-v1.md` §5): an
//! Ed25519 key kept outside the database, so that someone who can rewrite the database
//! cannot also re-sign what they rewrote, and an auditor can check the seals with the public
//! key alone.
//!
//! It is either its own key file (`strongroom-audit-seal-key-v1:<base64 seed>`) or derived
//! from the master key by HKDF-SHA256 (info `strongroom audit seal key v1`), so an instance
//! with encryption at rest needs no second secret.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand::RngCore;
use zeroize::Zeroizing;

use crate::MasterKey;
use crate::error::{Error, Result};

/// Prefix of the seal key file's text (frozen).
pub const SEAL_KEY_TEXT_PREFIX: &str = "strongroom-audit-seal-key-v1";

/// HKDF info for the seal key derived from a master key (frozen).
const SEAL_INFO: &[u8] = b"strongroom audit seal key v1";

/// A signing key for audit seals. `Debug` prints only the public key.
pub struct SealKey(SigningKey);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealKey({})", self.public_key_hex())
    }
}

impl SealKey {
    /// A key from its 32-byte seed (RFC 8032 private key).
    pub fn from_seed(seed: &[u8; 32]) -> SealKey {
        SealKey(SigningKey::from_bytes(seed))
    }

    /// A fresh random key.
    pub fn generate() -> SealKey {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(seed.as_mut());
        SealKey::from_seed(&seed)
    }

    /// The key derived from a master key.
    pub fn from_master(master: &MasterKey) -> SealKey {
        let seed = crate::keys::hkdf32(master.expose_bytes(), SEAL_INFO);
        SealKey::from_seed(&seed)
    }

    /// Key-file text: the prefix, `:`, the seed in base64, a newline. Secret.
    pub fn to_key_text(&self) -> Zeroizing<String> {
        let seed = Zeroizing::new(self.0.to_bytes());
        Zeroizing::new(format!("{SEAL_KEY_TEXT_PREFIX}:{}\n", B64.encode(seed.as_ref())))
    }

    /// Parses key-file text (surrounding whitespace ignored).
    pub fn from_key_text(text: &str) -> Result<SealKey> {
        let text = text.trim_matches([' ', '\t', '\r', '\n']);
        let b64 = text
            .strip_prefix(SEAL_KEY_TEXT_PREFIX)
            .and_then(|rest| rest.strip_prefix(':'))
            .ok_or(Error::InvalidKeyText("missing 'strongroom-audit-seal-key-v1:' prefix"))?;
        let decoded = Zeroizing::new(
            B64.decode(b64)
                .map_err(|_| Error::InvalidKeyText("seal key is not valid base64"))?,
        );
        let seed: &[u8; 32] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| Error::InvalidKeyText("seal key must be exactly 32 bytes"))?;
        Ok(SealKey::from_seed(seed))
    }

    /// The public key, 64 lowercase hex digits: what an auditor needs to check seals.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.0.verifying_key().as_bytes())
    }

    /// The Ed25519 signature of `message` (64 bytes).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }
}

/// Whether `signature` is the Ed25519 signature of `message` under `public_key` (strict
/// verification: no malleable or small-order encodings).
pub fn verify_seal_signature(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(public_key) else {
        return false;
    };
    key.verify_strict(message, &Signature::from_bytes(signature)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8032_test_1_and_key_text_round_trip() {
        // RFC 8032 §7.1, TEST 1: empty message.
        let seed: [u8; 32] = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap()
            .try_into()
            .unwrap();
        let key = SealKey::from_seed(&seed);
        assert_eq!(
            key.public_key_hex(),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let sig = key.sign(b"");
        assert_eq!(
            hex::encode(sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        let pk: [u8; 32] = hex::decode(key.public_key_hex()).unwrap().try_into().unwrap();
        assert!(verify_seal_signature(&pk, b"", &sig));
        assert!(!verify_seal_signature(&pk, b"x", &sig));
        let back = SealKey::from_key_text(&key.to_key_text()).unwrap();
        assert_eq!(back.public_key_hex(), key.public_key_hex());
        assert!(SealKey::from_key_text("strongroom-audit-seal-key-v1:AAAA").is_err());
        assert!(SealKey::from_key_text("nonsense").is_err());
    }

    #[test]
    fn derived_from_the_master_key_is_stable_and_distinct() {
        let a = MasterKey::from_bytes([7u8; 32]);
        let b = MasterKey::from_bytes([8u8; 32]);
        assert_eq!(
            SealKey::from_master(&a).public_key_hex(),
            SealKey::from_master(&a).public_key_hex()
        );
        assert_ne!(
            SealKey::from_master(&a).public_key_hex(),
            SealKey::from_master(&b).public_key_hex()
        );
    }
}
