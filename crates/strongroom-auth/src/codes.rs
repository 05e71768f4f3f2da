//! One-time codes people type: backup codes (for a lost phone) and the codes sent by SMS.
//! Both are kept only as hashes; a backup code has 80 random bits, so a fast hash is enough,
//! and an SMS code (six digits, a few minutes, a few tries) is bound to its challenge by the
//! hash's salt.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// How many backup codes a person gets at once.
pub const BACKUP_CODES: usize = 10;

/// A fresh backup code: 16 characters of base32 (lower case, 80 bits) in groups of four,
/// e.g. `k7qz-2m4x-p9ta-wb3c`. Only letters and the digits 2–7, so 0/O and 1/l never mix.
pub fn backup_code() -> Zeroizing<String> {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    let mut code = Zeroizing::new(String::with_capacity(19));
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        code.push(char::from(ALPHABET[usize::from(b & 31)]));
    }
    code
}

/// A backup code as typed, reduced to what counts: its letters and digits, lower case
/// (spaces, dashes and capitals are how people copy it).
pub fn normalize_backup_code(typed: &str) -> String {
    typed
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The stored form of a backup code of a person: SHA-256 over the person's id and the
/// normalised code (so equal codes of two people hash apart).
pub fn backup_code_hash(user_id: &str, typed: &str) -> String {
    salted(&format!("backup-code:{user_id}"), &normalize_backup_code(typed))
}

/// A fresh SMS code: six decimal digits, uniformly drawn.
pub fn sms_code() -> Zeroizing<String> {
    // Rejection sampling keeps every code equally likely (no modulo bias).
    loop {
        let mut b = [0u8; 4];
        rand::fill(&mut b);
        let n = u32::from_le_bytes(b);
        if n < 4_294_000_000 {
            return Zeroizing::new(format!("{:06}", n % 1_000_000));
        }
    }
}

/// The stored form of an SMS code sent for one challenge.
pub fn sms_code_hash(challenge_hash: &str, code: &str) -> String {
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    salted(&format!("sms-code:{challenge_hash}"), &digits)
}

/// Constant-time comparison of two stored hashes.
pub fn same_hash(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

fn salted(salt: &str, value: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0u8]);
    h.update(value.as_bytes());
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_codes_have_their_shape_and_hash_as_typed() {
        let code = backup_code();
        assert_eq!(code.len(), 19);
        assert_eq!(code.matches('-').count(), 3);
        assert!(
            code.chars()
                .all(|c| c == '-' || c.is_ascii_lowercase() || ('2'..='7').contains(&c))
        );
        assert_ne!(*code, *backup_code());
        let typed = code.to_uppercase().replace('-', " ");
        assert_eq!(backup_code_hash("usr_1", &typed), backup_code_hash("usr_1", &code));
        assert_ne!(backup_code_hash("usr_2", &code), backup_code_hash("usr_1", &code));
        // SHA-256("backup-code:u" 0x00 "abcd"), computed apart from this code.
        assert_eq!(
            backup_code_hash("u", "ab-CD"),
            "e35b51df6a7bc2a632152a03d7dc47fb60e5ace97ed783c709ccd88ab62ca688"
        );
    }

    #[test]
    fn sms_codes_are_six_digits() {
        for _ in 0..100 {
            let c = sms_code();
            assert_eq!(c.len(), 6);
            assert!(c.chars().all(|d| d.is_ascii_digit()));
        }
        assert_eq!(sms_code_hash("h", "123 456"), sms_code_hash("h", "123456"));
        assert_ne!(sms_code_hash("g", "123456"), sms_code_hash("h", "123456"));
        assert!(same_hash(&sms_code_hash("h", "1"), &sms_code_hash("h", "1")));
    }
}
