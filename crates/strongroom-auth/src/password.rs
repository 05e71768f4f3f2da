//! Argon2id password hashing, run off the async runtime (each hash takes tens of ms on purpose).

use crate::AuthError;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

/// Shortest and longest password we accept. The upper bound keeps hashing cost bounded.
pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 1024;

fn hasher() -> Result<Argon2<'static>, AuthError> {
    // OWASP's recommended minimum for Argon2id: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| AuthError::Internal(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Checks a new password against the policy.
pub fn check_policy(pw: &SecretString) -> Result<(), AuthError> {
    let n = pw.expose_secret().chars().count();
    if n < MIN_LEN {
        return Err(AuthError::WeakPassword(format!(
            "a password needs at least {MIN_LEN} characters"
        )));
    }
    if n > MAX_LEN {
        return Err(AuthError::WeakPassword(format!(
            "a password may have at most {MAX_LEN} characters"
        )));
    }
    Ok(())
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=…`).
pub async fn hash(pw: SecretString) -> Result<String, AuthError> {
    check_policy(&pw)?;
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::fill(&mut salt);
        let h = hasher()?
            .hash_password_with_salt(pw.expose_secret().as_bytes(), &salt)
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        Ok(h.to_string())
    })
    .await
    .map_err(|e| AuthError::Internal(e.to_string()))?
}

/// A fixed hash verified when the account does not exist, so a login for an unknown e-mail
/// costs the same time as one for a known e-mail with a wrong password.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c3Ryb25ncm9vbWR1bW15$Wp2rBv0Z2oD4m9t3zH2c7yJmW0n9mQ5y0VnT0qk3F1g";

/// Whether `pw` matches `hash` (`None`: no password set; a dummy hash is checked for timing).
pub async fn verify(hash: Option<String>, pw: SecretString) -> Result<bool, AuthError> {
    let known = hash.is_some();
    let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_string());
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return Ok(false);
        };
        let ok = hasher()?
            .verify_password(pw.expose_secret().as_bytes(), &parsed)
            .is_ok();
        Ok(ok && known)
    })
    .await
    .map_err(|e| AuthError::Internal(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let h = hash(SecretString::from("correct horse battery")).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify(Some(h.clone()), SecretString::from("correct horse battery"))
                .await
                .unwrap()
        );
        assert!(
            !verify(Some(h), SecretString::from("correct horse batterY"))
                .await
                .unwrap()
        );
        assert!(!verify(None, SecretString::from("anything at all")).await.unwrap());
    }

    #[tokio::test]
    async fn policy_rejects_short() {
        assert!(matches!(
            hash(SecretString::from("short")).await,
            Err(AuthError::WeakPassword(_))
        ));
    }
}

#[cfg(test)]
mod dummy {
    #[test]
    fn dummy_hash_parses_so_unknown_users_cost_a_full_verify() {
        assert!(argon2::password_hash::phc::PasswordHash::new(super::DUMMY_HASH).is_ok());
    }
}
