//! ODF encryption (`odf::decrypt_bytes`, `odf::is_encrypted`).
//!
//! Properties, beyond "no panic": a successful decryption gives back the streams of one of
//! the documents the seeds encrypt (manifest aside: decryption rewrites it), `is_encrypted`
//! agrees that the input was encrypted, and a wrong password never decrypts.
//!
//! Inputs asking for more than a few PBKDF2 rounds are skipped (see
//! `strongroom_fuzz::odf_is_cheap`); the seeds use 1 round.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use strongroom_docs::odf;
use strongroom_fuzz::{PASSWORD, odf_is_cheap, odf_known_streams, odf_streams};

fuzz_target!(|data: &[u8]| {
    let encrypted = odf::is_encrypted(Cursor::new(data));
    if !odf_is_cheap(data) {
        return;
    }
    if let Ok(plain) = odf::decrypt_bytes(data, PASSWORD) {
        let streams = odf_streams(&plain);
        assert!(
            streams.as_ref().is_some_and(|s| odf_known_streams().contains(s)),
            "decrypted to streams that are none of the encrypted documents: {:?}",
            streams.map(|s| s.into_iter().map(|(n, d)| (n, d.len())).collect::<Vec<_>>())
        );
        assert!(
            matches!(encrypted, Ok(true)),
            "decrypts, but is_encrypted says {encrypted:?}"
        );
        assert!(odf::decrypt_bytes(data, "wrong").is_err(), "a wrong password decrypts");
        assert!(
            matches!(odf::is_encrypted(Cursor::new(&plain)), Ok(false)),
            "decrypted output is still encrypted"
        );
    }
});
