//! Office agile encryption: round trips, and every refusal the format makes us promise.

// Test code: helpers outside #[test] fns may unwrap and index (clippy.toml only covers #[test]).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::io::{Cursor, Read, Write};

use strongroom_docs::office::{self, Options};
use strongroom_docs::{Error, Format};

fn fast() -> Options {
    // Fewer rounds keep the edge-case tests quick; one test below uses the default.
    Options { spin_count: 1000 }
}

/// Rewrite one stream of a compound file through `edit`.
fn edit_stream(file: &[u8], path: &str, edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut cf = cfb::CompoundFile::open(Cursor::new(file.to_vec())).unwrap();
    let mut data = Vec::new();
    cf.open_stream(path).unwrap().read_to_end(&mut data).unwrap();
    edit(&mut data);
    let mut s = cf.create_stream(path).unwrap();
    s.write_all(&data).unwrap();
    drop(s);
    cf.flush().unwrap();
    cf.into_inner().into_inner()
}

#[test]
fn docx_round_trip_with_default_spin_count() {
    let plain = common::docx(&["Hello, Strongroom", "Zweite Zeile — ünïcödé"]);
    let enc = office::encrypt_bytes(&plain, "correct horse", &Options::default()).unwrap();
    assert_eq!(strongroom_docs::detect_format(&enc), Format::CompoundFile);
    assert!(office::is_encrypted(Cursor::new(&enc)).unwrap());
    assert!(!office::is_encrypted(Cursor::new(&plain)).unwrap());
    let dec = office::decrypt_bytes(&enc, "correct horse").unwrap();
    assert_eq!(dec, plain);
    assert_eq!(common::docx_text(&dec), "Hello, Strongroom\nZweite Zeile — ünïcödé");
}

#[test]
fn two_encryptions_differ() {
    let plain = common::docx(&["same"]);
    let a = office::encrypt_bytes(&plain, "pw", &fast()).unwrap();
    let b = office::encrypt_bytes(&plain, "pw", &fast()).unwrap();
    assert_ne!(a, b, "salts and keys must be fresh for every encryption");
}

#[test]
fn sizes_around_segment_boundaries_round_trip() {
    // Stored filler makes the package size land on and around 4096-byte segment edges.
    for filler in [0usize, 1, 4095, 4096, 4097, 8191, 8192, 70_000] {
        let plain = common::docx_with(&["x"], filler, false);
        let enc = office::encrypt_bytes(&plain, "pw", &fast()).unwrap();
        assert_eq!(office::decrypt_bytes(&enc, "pw").unwrap(), plain, "filler {filler}");
    }
    for exact in [4096usize, 8192] {
        // Pad the zip to an exact multiple by varying filler until the package size fits.
        let base = common::docx_with(&["x"], 1, false).len();
        let plain = common::docx_with(&["x"], exact + 1 - base + exact, false);
        let enc = office::encrypt_bytes(&plain, "pw", &fast()).unwrap();
        assert_eq!(office::decrypt_bytes(&enc, "pw").unwrap(), plain);
    }
}

#[test]
fn xlsx_round_trip_unicode_password() {
    let plain = common::xlsx("Data", &["a", "b"]);
    let pw = "пароль-密码-🔐";
    let enc = office::encrypt_bytes(&plain, pw, &fast()).unwrap();
    assert_eq!(office::decrypt_bytes(&enc, pw).unwrap(), plain);
    assert!(matches!(
        office::decrypt_bytes(&enc, "пароль"),
        Err(Error::WrongPassword)
    ));
}

#[test]
fn wrong_password_is_detected() {
    let enc = office::encrypt_bytes(&common::docx(&["secret"]), "right", &fast()).unwrap();
    for wrong in ["wrong", "Right", "right ", ""] {
        assert!(
            matches!(office::decrypt_bytes(&enc, wrong), Err(Error::WrongPassword)),
            "{wrong:?}"
        );
    }
}

#[test]
fn tampering_is_detected_before_any_plaintext() {
    let plain = common::docx_with(&["secret"], 10_000, false);
    let enc = office::encrypt_bytes(&plain, "pw", &fast()).unwrap();
    let len = {
        let mut cf = cfb::CompoundFile::open(Cursor::new(enc.clone())).unwrap();
        cf.open_stream("/EncryptedPackage").unwrap().len() as usize
    };
    // A flipped bit in the first segment, the last segment, and the size field.
    for pos in [20usize, len - 1, 0] {
        let bad = edit_stream(&enc, "/EncryptedPackage", |d| d[pos] ^= 0x01);
        let mut out = Vec::new();
        let r = office::decrypt(Cursor::new(bad), &mut out, "pw");
        match r {
            Err(Error::IntegrityCheckFailed) => {}
            other => panic!("flip at {pos}: {other:?}"),
        }
        assert!(out.is_empty(), "no plaintext may be released on tampering");
    }
    // Appended or removed trailing bytes are caught too.
    let longer = edit_stream(&enc, "/EncryptedPackage", |d| d.extend_from_slice(&[0; 16]));
    assert!(matches!(
        office::decrypt_bytes(&longer, "pw"),
        Err(Error::IntegrityCheckFailed)
    ));
    let shorter = edit_stream(&enc, "/EncryptedPackage", |d| d.truncate(d.len() - 16));
    assert!(office::decrypt_bytes(&shorter, "pw").is_err());
    // Tampering with the wrapped HMAC value in EncryptionInfo is caught as well.
    let info_bad = edit_stream(&enc, "/EncryptionInfo", |d| {
        let s = String::from_utf8(d.clone()).unwrap_or_default();
        let at = s.find("encryptedHmacValue=\"").unwrap() + 20;
        d[at] = if d[at] == b'A' { b'B' } else { b'A' };
    });
    assert!(matches!(
        office::decrypt_bytes(&info_bad, "pw"),
        Err(Error::IntegrityCheckFailed)
    ));
}

#[test]
fn refuses_bad_inputs_with_clear_errors() {
    let o = fast();
    assert!(matches!(
        office::encrypt_bytes(b"just some text", "pw", &o),
        Err(Error::WrongFormat {
            found: Format::Unknown,
            ..
        })
    ));
    assert!(matches!(
        office::encrypt_bytes(b"%PDF-1.7\n%%EOF", "pw", &o),
        Err(Error::WrongFormat { found: Format::Pdf, .. })
    ));
    let plain = common::docx(&["x"]);
    assert!(matches!(
        office::encrypt_bytes(&plain[..plain.len() / 2], "pw", &o),
        Err(Error::Malformed { .. })
    ));
    let not_ooxml = common::zip_parts(&[("hello.txt", b"hi")], false);
    assert!(matches!(
        office::encrypt_bytes(&not_ooxml, "pw", &o),
        Err(Error::WrongFormat { found: Format::Zip, .. })
    ));
    assert!(matches!(
        office::encrypt_bytes(&plain, "", &o),
        Err(Error::InvalidPassword(_))
    ));
    let long = "x".repeat(256);
    assert!(matches!(
        office::encrypt_bytes(&plain, &long, &o),
        Err(Error::InvalidPassword(_))
    ));
    let too_many = Options { spin_count: 10_000_001 };
    assert!(matches!(
        office::encrypt_bytes(&plain, "pw", &too_many),
        Err(Error::InvalidOptions(_))
    ));

    let enc = office::encrypt_bytes(&plain, "pw", &o).unwrap();
    assert!(matches!(
        office::encrypt_bytes(&enc, "pw", &o),
        Err(Error::AlreadyProtected)
    ));
    assert!(matches!(office::decrypt_bytes(&plain, "pw"), Err(Error::NotProtected)));
    assert!(matches!(
        office::decrypt_bytes(b"%PDF-1.4", "pw"),
        Err(Error::WrongFormat { found: Format::Pdf, .. })
    ));
    // A compound file that is not an encrypted package (think legacy .doc).
    let mut cf = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    cf.create_stream("/WordDocument").unwrap().write_all(b"legacy").unwrap();
    cf.flush().unwrap();
    let legacy = cf.into_inner().into_inner();
    assert!(matches!(
        office::decrypt_bytes(&legacy, "pw"),
        Err(Error::WrongFormat {
            found: Format::CompoundFile,
            ..
        })
    ));
    assert!(matches!(
        office::encrypt_bytes(&legacy, "pw", &o),
        Err(Error::WrongFormat {
            found: Format::CompoundFile,
            ..
        })
    ));
}

#[test]
fn truncated_and_corrupted_containers_never_panic() {
    let enc = office::encrypt_bytes(&common::docx_with(&["x"], 5000, false), "pw", &fast()).unwrap();
    let good = office::decrypt_bytes(&enc, "pw").unwrap();
    for cut in (0..enc.len()).step_by(97) {
        // Cutting only unused slack at the end of the last sector may still decrypt, but then
        // to exactly the original: the integrity check vouches for every byte released.
        if let Ok(out) = office::decrypt_bytes(&enc[..cut], "pw") {
            assert_eq!(out, good, "truncated at {cut}");
        }
    }
    // Scribble over single bytes across the container (header, FAT, directory, streams).
    for pos in (0..enc.len()).step_by(61) {
        let mut bad = enc.clone();
        bad[pos] ^= 0xA5;
        if let Ok(out) = office::decrypt_bytes(&bad, "pw") {
            assert_eq!(out, good, "byte {pos}");
        }
    }
}

#[test]
fn streams_through_files() {
    let dir = tempfile::tempdir().unwrap();
    let plain = common::docx_with(&["big"], 3 * 1024 * 1024 + 123, false);
    let src = common::write_file(dir.path(), "in.docx", &plain);
    let enc_path = dir.path().join("enc.docx");
    office::encrypt(
        std::fs::File::open(&src).unwrap(),
        std::fs::File::create(&enc_path).unwrap(),
        "pw",
        &fast(),
    )
    .unwrap();
    let dec_path = dir.path().join("dec.docx");
    office::decrypt(
        std::fs::File::open(&enc_path).unwrap(),
        std::fs::File::create(&dec_path).unwrap(),
        "pw",
    )
    .unwrap();
    assert_eq!(std::fs::read(dec_path).unwrap(), plain);
}
