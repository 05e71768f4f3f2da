//! Office agile encryption (`office::decrypt_bytes`, `office::is_encrypted`, and
//! `office::encrypt_bytes` on zip inputs).
//!
//! Properties, beyond "no panic":
//! - a successful decryption gives back exactly one of the documents the seeds encrypt (the
//!   password verifier and the data-integrity HMAC must catch every change that matters), and
//!   `is_encrypted` agrees that the input is encrypted;
//! - no damage turns a wrong password into a right one;
//! - whatever `encrypt_bytes` accepts decrypts back byte for byte.
//!
//! Inputs asking for more than a few password-hash rounds are skipped (see
//! `strongroom_fuzz::office_is_cheap`); the seeds use spin count 1.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use strongroom_docs::{Format, detect_format, office};
use strongroom_fuzz::{PASSWORD, office_is_cheap, office_plaintexts};

fuzz_target!(|data: &[u8]| {
    let encrypted = office::is_encrypted(Cursor::new(data));
    if office_is_cheap(data) {
        if let Ok(plain) = office::decrypt_bytes(data, PASSWORD) {
            assert!(
                office_plaintexts().contains(&plain),
                "decrypted to {} bytes that are none of the encrypted documents",
                plain.len()
            );
            assert!(
                matches!(encrypted, Ok(true)),
                "decrypts, but is_encrypted says {encrypted:?}"
            );
            assert!(
                office::decrypt_bytes(data, "wrong").is_err(),
                "a wrong password decrypts"
            );
        }
    }
    if detect_format(data) == Format::Zip {
        assert!(!matches!(encrypted, Ok(true)), "a zip reported as encrypted");
        if let Ok(enc) = office::encrypt_bytes(data, PASSWORD, &office::Options { spin_count: 1 }) {
            assert!(matches!(office::is_encrypted(Cursor::new(&enc)), Ok(true)));
            let back = office::decrypt_bytes(&enc, PASSWORD);
            assert!(
                back.as_deref().ok() == Some(data),
                "encrypt → decrypt changed the document: {:?}",
                back.map(|b| b.len())
            );
        }
    }
});
