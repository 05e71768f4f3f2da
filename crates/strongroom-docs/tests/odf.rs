//! ODF encryption: round trips, the layout LibreOffice expects, password and integrity checks,
//! and bad input. The independent checks (LibreOffice itself) are in `odf_oracles.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::io::{Cursor, Read};

use strongroom_docs::{Error, Format, detect_format, odf};

fn manifest(bytes: &[u8]) -> String {
    String::from_utf8(common::zip_entry(bytes, "META-INF/manifest.xml")).unwrap()
}

#[test]
fn round_trip_restores_every_stream() {
    let big: Vec<u8> = common::pseudo_random(300_000);
    let plain = common::odt_with(
        &["Hello ODF ✓", "second paragraph"],
        &[
            ("Pictures/big.bin", &big),
            ("empty.xml", b""),
            ("Thumbnails/thumbnail.png", b"PNG"),
        ],
    );
    let enc = odf::encrypt_bytes(&plain, "pässword").unwrap();
    assert_eq!(detect_format(&enc), Format::Odf, "mimetype must stay first and stored");
    assert!(odf::is_encrypted(Cursor::new(&enc)).unwrap());
    assert!(!odf::is_encrypted(Cursor::new(&plain)).unwrap());
    assert!(!enc.windows(9).any(|w| w == b"Hello ODF"), "content must not leak");

    let dec = odf::decrypt_bytes(&enc, "pässword").unwrap();
    let before = common::zip_entries(&plain);
    let after = common::zip_entries(&dec);
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&before), names(&after));
    for ((name, a), (_, b)) in before.iter().zip(after.iter()) {
        if name == "META-INF/manifest.xml" {
            continue;
        }
        assert_eq!(a, b, "{name} differs after the round trip");
    }
    let m = manifest(&dec);
    assert!(!m.contains("encryption-data") && !m.contains("manifest:size"), "{m}");
    assert!(
        m.contains(r#"manifest:full-path="content.xml" manifest:media-type="text/xml""#),
        "{m}"
    );
    assert!(!odf::is_encrypted(Cursor::new(&dec)).unwrap());
}

#[test]
fn layout_is_what_libreoffice_writes() {
    let plain = common::odt_with(&["layout"], &[("styles.xml", b"<styles/>")]);
    let enc = odf::encrypt_bytes(&plain, "pw").unwrap();
    let mut archive = zip::ZipArchive::new(Cursor::new(&enc)).unwrap();
    let first = archive.by_index_raw(0).unwrap();
    assert_eq!(first.name().unwrap(), "mimetype");
    assert_eq!(first.compression(), zip::CompressionMethod::Stored);
    drop(first);
    for name in ["content.xml", "styles.xml"] {
        let f = archive.by_name(name).unwrap();
        assert_eq!(
            f.compression(),
            zip::CompressionMethod::Stored,
            "{name}: encrypted data is stored"
        );
        assert_eq!(f.size() % 16, 0, "{name}: whole AES blocks");
    }
    let m = manifest(&enc);
    for needle in [
        r#"manifest:checksum-type="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0#sha256-1k""#,
        r#"manifest:algorithm-name="http://www.w3.org/2001/04/xmlenc#aes256-cbc""#,
        r#"manifest:start-key-generation-name="http://www.w3.org/2000/09/xmldsig#sha256" manifest:key-size="32""#,
        r#"manifest:key-derivation-name="PBKDF2" manifest:key-size="32" manifest:iteration-count="100000""#,
    ] {
        assert_eq!(m.matches(needle).count(), 2, "{needle} once per stream in {m}");
    }
    // The plaintext size of content.xml is recorded.
    let content_len = common::zip_entry(&plain, "content.xml").len();
    assert!(m.contains(&format!("manifest:size=\"{content_len}\"")), "{m}");
    // Attributes we did not write are kept.
    assert!(m.contains(r#"manifest:version="1.3""#));
}

/// Decrypt `content.xml` by hand from the manifest values with the primitives composed here,
/// so a bug shared by our encrypt and decrypt cannot hide.
#[test]
fn independent_decryption_of_one_stream() {
    use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::NoPadding};
    use base64::Engine as _;
    use sha2::Digest as _;
    let plain = common::odt(&["independent"]);
    let enc = odf::encrypt_bytes(&plain, "pw").unwrap();
    let m = manifest(&enc);
    let attr = |name: &str| -> Vec<u8> {
        let start = m.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        let end = start + m[start..].find('"').unwrap();
        base64::engine::general_purpose::STANDARD
            .decode(&m[start..end])
            .unwrap()
    };
    let (salt, iv, ck) = (
        attr("manifest:salt"),
        attr("manifest:initialisation-vector"),
        attr("manifest:checksum"),
    );
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha1::Sha1>(&sha2::Sha256::digest(b"pw"), &salt, 100_000, &mut key);
    let mut raw = Vec::new();
    zip::ZipArchive::new(Cursor::new(&enc))
        .unwrap()
        .by_name("content.xml")
        .unwrap()
        .read_to_end(&mut raw)
        .unwrap();
    let pt = cbc::Decryptor::<aes::Aes256>::new((&key).into(), iv.as_slice().into())
        .decrypt_padded_mut::<NoPadding>(&mut raw)
        .unwrap()
        .to_vec();
    let pad = *pt.last().unwrap() as usize;
    let deflated = &pt[..pt.len() - pad];
    assert_eq!(sha2::Sha256::digest(&deflated[..deflated.len().min(1024)]).to_vec(), ck);
    let mut xml = Vec::new();
    flate2::read::DeflateDecoder::new(deflated)
        .read_to_end(&mut xml)
        .unwrap();
    assert_eq!(xml, common::zip_entry(&plain, "content.xml"));
}

#[test]
fn wrong_password_and_tampering_are_detected() {
    let big = common::pseudo_random(50_000);
    let plain = common::odt_with(&["tamper"], &[("Pictures/p.bin", &big)]);
    let enc = odf::encrypt_bytes(&plain, "right").unwrap();
    assert!(matches!(odf::decrypt_bytes(&enc, "wrong"), Err(Error::WrongPassword)));
    assert!(matches!(odf::decrypt_bytes(&enc, "Right"), Err(Error::WrongPassword)));

    // Flip a byte late in the big stream (after the checksummed first KiB): the stream is
    // stored, so its data sits verbatim in the file.
    let mut archive = zip::ZipArchive::new(Cursor::new(&enc)).unwrap();
    let f = archive.by_name("Pictures/p.bin").unwrap();
    let at = (f.data_start().unwrap() + f.compressed_size() - 40) as usize;
    drop(f);
    let mut bad = enc.clone();
    bad[at] ^= 0x55;
    // The zip CRC catches it first, or our integrity check does: never plaintext.
    match odf::decrypt_bytes(&bad, "right") {
        Err(Error::IntegrityCheckFailed | Error::Malformed { .. }) => {}
        other => panic!("tampering must be detected, got {other:?}"),
    }
}

/// Found by the robustness properties: a bit flip in the zip directory's copy of the name
/// `mimetype` made it an ordinary clear stream with another name, and decryption "succeeded"
/// with a package that differs from the original. The directory must agree with the sniffed
/// first entry.
#[test]
fn renamed_mimetype_in_the_zip_directory_is_refused() {
    let plain = common::odt(&["x"]);
    let enc = odf::encrypt_bytes(&plain, "pw").unwrap();
    let in_directory = enc.windows(8).rposition(|w| w == b"mimetype").unwrap();
    assert!(in_directory > 100, "the directory entry, not the local header");
    let mut bad = enc.clone();
    bad[in_directory] ^= 1;
    match odf::decrypt_bytes(&bad, "pw") {
        Err(Error::Malformed { detail, .. }) => assert!(detail.contains("mimetype"), "{detail}"),
        other => panic!("a renamed mimetype must be refused, got {other:?}"),
    }
    assert!(matches!(odf::encrypt_bytes(&bad, "pw"), Err(Error::Malformed { .. })));
}

/// Found by the fuzzer: the zip directory gave `mimetype` a size of 0 (and the matching
/// CRC), so the reader saw an empty media type where the sniff saw an ODF one, and decryption
/// "succeeded" with a package whose mimetype differs from the original.
#[test]
fn resized_mimetype_in_the_zip_directory_is_refused() {
    let plain = common::odt(&["x"]);
    let enc = odf::encrypt_bytes(&plain, "pw").unwrap();
    let entry = enc.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    assert_eq!(&enc[entry + 46..entry + 54], b"mimetype", "the first directory entry");
    let mut bad = enc.clone();
    // CRC-32 (16..20), compressed size (20..24), uncompressed size (24..28): an empty entry.
    bad[entry + 16..entry + 28].fill(0);
    match odf::decrypt_bytes(&bad, "pw") {
        Err(Error::Malformed { detail, .. }) => assert!(detail.contains("mimetype"), "{detail}"),
        other => panic!("a resized mimetype must be refused, got {other:?}"),
    }
    assert!(matches!(odf::encrypt_bytes(&bad, "pw"), Err(Error::Malformed { .. })));
}

#[test]
fn refuses_what_it_cannot_do() {
    let plain = common::odt(&["x"]);
    let enc = odf::encrypt_bytes(&plain, "pw").unwrap();
    assert!(matches!(odf::encrypt_bytes(&enc, "pw"), Err(Error::AlreadyProtected)));
    assert!(matches!(odf::decrypt_bytes(&plain, "pw"), Err(Error::NotProtected)));
    assert!(matches!(odf::encrypt_bytes(&plain, ""), Err(Error::InvalidPassword(_))));
    for other in [common::docx(&["x"]), common::pdf_with_text(&["x"]), b"garbage".to_vec()] {
        assert!(matches!(
            odf::encrypt_bytes(&other, "pw"),
            Err(Error::WrongFormat { .. })
        ));
        assert!(matches!(
            odf::decrypt_bytes(&other, "pw"),
            Err(Error::WrongFormat { .. })
        ));
    }
    // Truncated packages: a clear error, never a panic.
    for cut in [enc.len() / 2, enc.len() - 30, 60] {
        assert!(odf::decrypt_bytes(&enc[..cut], "pw").is_err());
        assert!(odf::encrypt_bytes(&plain[..cut.min(plain.len() - 1)], "pw").is_err());
    }
}

#[test]
fn unsupported_schemes_are_named() {
    let plain = common::odt(&["x"]);
    let enc = odf::encrypt_bytes(&plain, "pw").unwrap();
    let m = manifest(&enc);
    let blowfish = m.replace("http://www.w3.org/2001/04/xmlenc#aes256-cbc", "Blowfish CFB");
    let rebuilt = replace_manifest(&enc, &blowfish);
    match odf::decrypt_bytes(&rebuilt, "pw") {
        Err(Error::UnsupportedEncryption(msg)) => assert!(msg.contains("Blowfish"), "{msg}"),
        other => panic!("{other:?}"),
    }
    let argon = m.replace(
        "manifest:key-derivation-name=\"PBKDF2\"",
        "manifest:key-derivation-name=\"urn:argon2id\"",
    );
    assert!(matches!(
        odf::decrypt_bytes(&replace_manifest(&enc, &argon), "pw"),
        Err(Error::UnsupportedEncryption(_))
    ));
    let huge = m.replace(
        "manifest:iteration-count=\"100000\"",
        "manifest:iteration-count=\"4000000000\"",
    );
    assert!(matches!(
        odf::decrypt_bytes(&replace_manifest(&enc, &huge), "pw"),
        Err(Error::UnsupportedEncryption(_))
    ));
}

/// The same package with another manifest.
fn replace_manifest(pkg: &[u8], manifest: &str) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(pkg)).unwrap();
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let f = archive.by_index_raw(i).unwrap();
        if f.name().unwrap() == "META-INF/manifest.xml" {
            drop(f);
            w.start_file("META-INF/manifest.xml", zip::write::SimpleFileOptions::default())
                .unwrap();
            std::io::Write::write_all(&mut w, manifest.as_bytes()).unwrap();
        } else {
            w.raw_copy_file(f).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}
