//! Random secrets and their stored hashes.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a secret is for; the prefix makes a leaked secret recognisable (secret scanners,
/// log audits) and stops one kind being used as another.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Session,
    Csrf,
    ApiToken,
    Setup,
    /// The secret in an external link's URL.
    Link,
    /// The short-lived session an unlocked link hands out.
    LinkSession,
    /// A password-reset link sent by e-mail.
    Reset,
    /// An invitation (or self-sign-up) link sent by e-mail.
    Invitation,
    /// A sign-in waiting for its second factor (held by the client between the two steps).
    Challenge,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::Session => "srs_",
            Kind::Csrf => "src_",
            Kind::ApiToken => "srt_",
            Kind::Setup => "sru_",
            Kind::Link => "srl_",
            Kind::LinkSession => "srk_",
            Kind::Reset => "srr_",
            Kind::Invitation => "sri_",
            Kind::Challenge => "srf_",
        }
    }
}

/// A fresh secret (prefix + 256 random bits, base64url) and its hash.
pub fn generate(kind: Kind) -> (String, String) {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let secret = format!(
        "{}{}",
        kind.prefix(),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let h = hash(&secret);
    (secret, h)
}

/// The stored form of a secret: lower-case hex SHA-256. (The secret has 256 bits of entropy,
/// so a fast hash is enough; a slow one would only slow every request.)
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Constant-time check that `secret` hashes to `stored`.
pub fn matches(secret: &str, stored: &str) -> bool {
    hash(secret).as_bytes().ct_eq(stored.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_unique_and_verify() {
        let (a, ha) = generate(Kind::ApiToken);
        let (b, _) = generate(Kind::ApiToken);
        assert!(a.starts_with("srt_") && a.len() == 4 + 43);
        assert_ne!(a, b);
        assert!(matches(&a, &ha));
        assert!(!matches(&b, &ha));
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
