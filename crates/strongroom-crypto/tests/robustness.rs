//! Property-based robustness tests of the at-rest format parsers.
//!
//! Issue 4 asks for a fuzz target per parser. `cargo fuzz` needs a nightly toolchain, which the
//! build machines do not have, so these proptest properties stand in for the fuzz targets. Each
//! states what the correct answer is, not only "no panic":
//!
//! - `ObjectHeader::parse` never panics, rejects every input that is not exactly
//!   `HEADER_LEN` bytes, and accepts a real header back byte for byte;
//! - every single-bit flip anywhere in a stored object makes decryption fail (Encrypt-then-MAC
//!   over header, key wrap and every chunk), and no plaintext that is not a verified prefix of
//!   the original is ever released;
//! - every truncation, and every extension, of a stored object fails.
//!
//! Raise the case counts locally with `PROPTEST_CASES=…` for a longer fuzzing session.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use proptest::prelude::*;
use proptest::sample::Index;
use strongroom_crypto::*;

const ID: ObjectId = ObjectId([0x5A; 16]);

fn master() -> MasterKey {
    MasterKey::from_bytes([0x42; 32])
}

/// `cases` by default; `PROPTEST_CASES` in the environment overrides it.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        // No regression files in the source tree; a failure prints its minimal input.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Encrypt `plain` with small chunks so that a few hundred bytes span several records.
fn encrypt(plain: &[u8], chunk_size: u32) -> Vec<u8> {
    let mut stored = Vec::new();
    let options = EncryptOptions { chunk_size, threads: 1 };
    encrypt_stream(&master(), ID, options, plain, &mut stored).unwrap();
    stored
}

/// Decrypt through the streaming API with `threads`: `Some(plaintext)`, or `None` when
/// decryption fails — after checking that whatever was released before the error is a prefix
/// of the original plaintext (a violated check is the `Err`).
fn decrypt(stored: &[u8], threads: usize, original: &[u8]) -> std::result::Result<Option<Vec<u8>>, TestCaseError> {
    let mut out = Vec::new();
    match decrypt_stream(&[master()], &ID, threads, stored, &mut out) {
        Ok(n) => {
            prop_assert_eq!(n, out.len() as u64);
            Ok(Some(out))
        }
        Err(e) => {
            prop_assert!(original.starts_with(&out), "released unverified bytes before {:?}", e);
            Ok(None)
        }
    }
}

fn plaintext() -> impl Strategy<Value = (Vec<u8>, u32)> {
    (
        prop::collection::vec(any::<u8>(), 0..600),
        prop_oneof![Just(MIN_CHUNK_SIZE), Just(64u32), Just(1008u32)],
    )
}

proptest! {
    #![proptest_config(config(2048))]

    /// Arbitrary bytes, sometimes behind the magic and version so parsing goes deeper.
    #[test]
    fn header_parse_never_panics_and_wants_exact_length(
        body in prop::collection::vec(any::<u8>(), 0..400),
        prefix in 0usize..4,
    ) {
        let mut bytes = match prefix {
            0 => Vec::new(),
            1 => MAGIC.to_vec(),
            2 => [MAGIC.as_slice(), &FORMAT_VERSION.to_be_bytes(), &[ALGORITHM_ID, 0]].concat(),
            _ => [MAGIC.as_slice(), &FORMAT_VERSION.to_be_bytes(), &[ALGORITHM_ID, 0], &1024u32.to_be_bytes()].concat(),
        };
        bytes.extend_from_slice(&body);
        bytes.truncate(400);
        let parsed = ObjectHeader::parse(&bytes);
        if bytes.len() != HEADER_LEN {
            prop_assert!(parsed.is_err(), "accepted {} bytes", bytes.len());
        }
        if let Ok(h) = parsed {
            prop_assert_eq!(h.as_bytes().as_slice(), bytes.as_slice());
            // Parsing does not authenticate; opening must, and random bytes are never genuine.
            prop_assert!(h.open(&[master()], &h.object_id()).is_err());
        }
    }

    /// A real header parses back exactly; any other length of it is refused.
    #[test]
    fn header_parse_real_header(cut in 0usize..HEADER_LEN, extra in prop::collection::vec(any::<u8>(), 1..32)) {
        let stored = encrypt(b"header", 64);
        let header = &stored[..HEADER_LEN];
        let h = ObjectHeader::parse(header).unwrap();
        prop_assert_eq!(h.as_bytes().as_slice(), header);
        prop_assert_eq!(h.object_id(), ID);
        prop_assert!(ObjectHeader::parse(&header[..cut]).is_err());
        prop_assert!(ObjectHeader::parse(&[header, &extra].concat()).is_err());
    }
}

proptest! {
    #![proptest_config(config(2048))]

    /// The undamaged object decrypts back, and every single-bit flip anywhere is detected.
    #[test]
    fn every_bit_flip_is_detected((plain, chunk) in plaintext(), at in any::<Index>(), bit in 0u8..8, threads in 1usize..3) {
        let stored = encrypt(&plain, chunk);
        prop_assert_eq!(stored.len() as u64, ciphertext_len(plain.len() as u64, chunk).unwrap());
        prop_assert_eq!(decrypt(&stored, threads, &plain)?, Some(plain.clone()));
        let mut damaged = stored.clone();
        let pos = at.index(stored.len());
        damaged[pos] ^= 1 << bit;
        prop_assert!(decrypt(&damaged, threads, &plain)?.is_none(), "flip of bit {} at {} went unnoticed", bit, pos);
        prop_assert!(decrypt_bytes(&[master()], &ID, &damaged).is_err());
    }

    /// Every strict truncation fails, as does any extension.
    #[test]
    fn truncation_and_extension_fail(
        (plain, chunk) in plaintext(),
        at in any::<Index>(),
        extra in prop::collection::vec(any::<u8>(), 1..80),
        threads in 1usize..3,
    ) {
        let stored = encrypt(&plain, chunk);
        let cut = at.index(stored.len());
        prop_assert!(decrypt(&stored[..cut], threads, &plain)?.is_none(), "truncation to {} of {} accepted", cut, stored.len());
        prop_assert!(decrypt_bytes(&[master()], &ID, &stored[..cut]).is_err());
        let longer = [stored.as_slice(), &extra].concat();
        prop_assert!(decrypt(&longer, threads, &plain)?.is_none(), "{} appended bytes accepted", extra.len());
        prop_assert!(decrypt_bytes(&[master()], &ID, &longer).is_err());
    }

    /// Arbitrary bytes behind a genuine header never decrypt and never panic.
    #[test]
    fn garbage_records_fail((plain, chunk) in plaintext(), body in prop::collection::vec(any::<u8>(), 0..600)) {
        let stored = encrypt(&plain, chunk);
        let forged = [&stored[..HEADER_LEN], &body].concat();
        prop_assert!(decrypt(&forged, 1, &[])?.is_none());
        prop_assert!(decrypt_bytes(&[master()], &ID, &body).is_err());
    }
}
