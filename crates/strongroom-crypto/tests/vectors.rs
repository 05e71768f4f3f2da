//! The committed test vectors (`tests/vectors/*.txt`, file format in
//! `docs/formats/at-rest-v1.md` §9), read as an outsider would: nothing but their fields is
//! used. Positive vectors must decrypt to the stated plaintext, passphrase vectors must derive
//! the stated key, and every negative vector must fail with exactly the stated error in every
//! decryptor of this crate: `error` for those that know the stored length (spec §5.1),
//! `error_streaming` for the streaming ones (§5.2). The files are made by
//! `tests/vectors_generate.rs`.
// Test helpers outside #[test] fns: panicking on a broken expectation is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::io::{Cursor, Read};
use std::path::PathBuf;

use strongroom_crypto::*;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn arr<const N: usize>(v: Vec<u8>) -> [u8; N] {
    v.try_into().unwrap()
}

/// Every committed vector file: (file name, fields; a field may repeat, e.g. `chunk_iv`).
fn read_vectors() -> Vec<(String, Vec<(String, String)>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.is_ascii() && !text.contains('\r'),
                "{}: ASCII with LF",
                path.display()
            );
            let fields = text
                .lines()
                .filter(|l| !l.starts_with('#'))
                .map(|l| {
                    let (k, v) = l
                        .split_once(": ")
                        .unwrap_or_else(|| panic!("{}: bad line {l:?}", path.display()));
                    (k.to_string(), v.to_string())
                })
                .collect();
            (path.file_name().unwrap().to_string_lossy().into_owned(), fields)
        })
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// A decimal field: the integer before the first space (`100 (decimal)`).
fn decimal(fields: &[(String, String)], key: &str) -> u64 {
    field(fields, key).unwrap().split(' ').next().unwrap().parse().unwrap()
}

/// The error's name as the spec (§5.3) and the vector files write it.
fn spec_name(e: &Error) -> String {
    match e {
        Error::NotEncrypted => "not-at-rest-object".into(),
        Error::UnsupportedVersion(_) => "unsupported-version".into(),
        Error::UnsupportedAlgorithm(_) => "unsupported-algorithm".into(),
        Error::UnsupportedFlags(_) => "unsupported-flags".into(),
        Error::InvalidChunkSize(_) => "invalid-chunk-size".into(),
        Error::UnknownMasterKey { .. } => "unknown-master-key".into(),
        Error::HeaderIntegrity => "header-integrity".into(),
        Error::ObjectIdMismatch { .. } => "object-id-mismatch".into(),
        Error::InvalidObjectLength { .. } => "invalid-object-length".into(),
        Error::Truncated { chunks } => format!("truncated {chunks}"),
        Error::DataAfterFinalChunk { index } => format!("data-after-final-chunk {index}"),
        Error::ChunkIntegrity { index } => format!("chunk-integrity {index}"),
        Error::Malformed { index, .. } => format!("malformed {index}"),
        other => format!("(not a spec error: {other:?})"),
    }
}

/// Names of errors that mean "configuration", not "damage": everything else a negative vector
/// names must count as an integrity failure (audited, listed by `storage verify`).
const NOT_DAMAGE: [&str; 5] = [
    "unknown-master-key",
    "unsupported-version",
    "unsupported-algorithm",
    "unsupported-flags",
    "invalid-chunk-size",
];

/// One decryptor's verdict on a damaged object: (which decryptor, spec name of its error,
/// whether the error counts as an integrity failure).
type Verdict = (String, String, bool);

fn verdict(how: String, e: &Error) -> Verdict {
    (how, spec_name(e), e.is_integrity_failure())
}

/// Every decryptor that knows the stored length before it reads records (spec §5.1).
fn length_first_verdicts(keys: &[MasterKey], id: &ObjectId, stored: &[u8]) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    match decrypt_bytes(keys, id, stored) {
        Ok(p) => panic!("decrypt_bytes accepted it ({} bytes)", p.len()),
        Err(e) => verdicts.push(verdict("decrypt_bytes".into(), &e)),
    }
    // The whole plaintext through the random-access path (when the header names a chunk size
    // and the length is valid; otherwise read_range must fail before it reads any record).
    let range = ObjectHeader::parse(&stored[..stored.len().min(HEADER_LEN)])
        .ok()
        .and_then(|h| plain_len(stored.len() as u64, h.chunk_size()).ok())
        .map_or(0..0, |l| 0..l);
    let mut out = Vec::new();
    match read_range(&mut Cursor::new(stored), keys, id, range, &mut out) {
        Ok(n) => panic!("read_range accepted it ({n} bytes)"),
        Err(e) => verdicts.push(verdict("read_range".into(), &e)),
    }
    verdicts
}

/// Every streaming decryptor (spec §5.2): `decrypt_stream`, the `Read` adaptor and the push
/// decryptor, with one and two threads, the push decryptor fed in pieces of several sizes.
fn streaming_verdicts(keys: &[MasterKey], id: &ObjectId, stored: &[u8]) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    for threads in [1, 2] {
        let mut out = Vec::new();
        match decrypt_stream(keys, id, threads, stored, &mut out) {
            Ok(n) => panic!("decrypt_stream ({threads} threads) accepted it ({n} bytes)"),
            Err(e) => verdicts.push(verdict(format!("decrypt_stream, {threads} threads"), &e)),
        }
        let how = format!("Decryptor::read_to_end, {threads} threads");
        match Decryptor::new(stored, keys, id, threads) {
            Err(e) => verdicts.push(verdict(how, &e)),
            Ok(mut d) => {
                let mut sink = Vec::new();
                let e = d.read_to_end(&mut sink).expect_err(&how);
                let inner = Error::from_io(&e).unwrap_or_else(|| panic!("{how}: not a crate error: {e}"));
                verdicts.push(verdict(how, inner));
            }
        }
        for piece in [1, 13, 1000] {
            let result = ObjectHeader::parse(&stored[..stored.len().min(HEADER_LEN)])
                .and_then(|h| h.open(keys, id))
                .and_then(|object_keys| {
                    let mut dec = StreamDecryptor::new(object_keys, threads);
                    let mut out = Vec::new();
                    for bytes in stored[HEADER_LEN..].chunks(piece) {
                        dec.update(bytes, &mut out)?;
                    }
                    dec.finish(&mut out)
                });
            let how = format!("StreamDecryptor, {threads} threads, pieces of {piece}");
            match result {
                Ok(()) => panic!("{how} accepted it"),
                Err(e) => verdicts.push(verdict(how, &e)),
            }
        }
    }
    verdicts
}

#[test]
fn committed_positive_vectors_decrypt() {
    // Read the files back as an outsider would: parse the fields, decrypt, compare.
    let mut seen = 0;
    for (file, fields) in read_vectors() {
        if field(&fields, "error").is_some() {
            continue;
        }
        let Some(ct) = field(&fields, "ciphertext") else {
            continue;
        };
        let key = MasterKey::from_key_text(field(&fields, "master_key_text").unwrap()).unwrap();
        let id = ObjectId(arr(hex::decode(field(&fields, "object_id").unwrap()).unwrap()));
        let len = decimal(&fields, "plaintext_len") as usize;
        let expected = match field(&fields, "plaintext") {
            Some(hex_text) => hex::decode(hex_text).unwrap(),
            None => common::pattern(len),
        };
        assert_eq!(expected.len(), len, "{file}");
        let stored = hex::decode(ct).unwrap();
        let plain = common::decrypt(std::slice::from_ref(&key), &id, &stored).unwrap();
        assert!(plain == expected, "{file}: streaming plaintext");
        let plain = decrypt_bytes(std::slice::from_ref(&key), &id, &stored).unwrap();
        assert!(plain[..] == expected[..], "{file}: decrypt_bytes plaintext");
        seen += 1;
    }
    assert_eq!(seen, 8);
}

#[test]
fn committed_passphrase_vectors_derive_their_keys() {
    let mut keys = Vec::new();
    for (file, fields) in read_vectors() {
        let Some(params) = field(&fields, "passphrase_params") else {
            continue;
        };
        let params = PassphraseParams::from_text(params).unwrap();
        let utf8 = hex::decode(field(&fields, "passphrase_utf8").unwrap()).unwrap();
        let text = String::from_utf8(utf8.clone()).expect("the passphrase is UTF-8");
        match field(&fields, "passphrase_codepoints") {
            Some(points) => {
                let from_points: String = points
                    .split(' ')
                    .map(|p| char::from_u32(u32::from_str_radix(p.strip_prefix("U+").unwrap(), 16).unwrap()).unwrap())
                    .collect();
                assert_eq!(from_points, text, "{file}: code points and UTF-8 agree");
                assert!(!text.is_ascii(), "{file}");
            }
            None => assert!(text.is_ascii(), "{file}: a non-ASCII passphrase lists its code points"),
        }
        let key = MasterKey::from_passphrase(&utf8, &params).unwrap();
        assert_eq!(
            hex::encode(key.expose_bytes()),
            field(&fields, "master_key").unwrap(),
            "{file}"
        );
        assert_eq!(key.id().to_hex(), field(&fields, "master_key_id").unwrap(), "{file}");
        let from_text = MasterKey::from_key_text(field(&fields, "master_key_text").unwrap()).unwrap();
        assert_eq!(from_text.expose_bytes(), key.expose_bytes(), "{file}");
        keys.push((file, text, key.id()));
    }
    assert_eq!(keys.len(), 3);
    // NFC and NFD of the same text: no normalisation, so two different keys.
    let find = |name: &str| keys.iter().find(|(file, _, _)| file == name).unwrap();
    let nfc = find("passphrase-non-ascii-nfc.txt");
    let nfd = find("passphrase-non-ascii-nfd.txt");
    assert_ne!(nfc.1, nfd.1);
    assert_ne!(nfc.2, nfd.2);
}

#[test]
fn committed_negative_vectors_fail_with_the_stated_error() {
    let mut seen = 0;
    for (file, fields) in read_vectors() {
        let Some(error) = field(&fields, "error") else {
            continue;
        };
        let error_streaming = field(&fields, "error_streaming").unwrap();
        let key = MasterKey::from_key_text(field(&fields, "master_key_text").unwrap()).unwrap();
        let keys = std::slice::from_ref(&key);
        let id = ObjectId(arr(hex::decode(field(&fields, "object_id").unwrap()).unwrap()));
        let stored = hex::decode(field(&fields, "ciphertext").unwrap()).unwrap();
        let verdicts = length_first_verdicts(keys, &id, &stored)
            .into_iter()
            .map(|v| (error, v))
            .chain(
                streaming_verdicts(keys, &id, &stored)
                    .into_iter()
                    .map(|v| (error_streaming, v)),
            );
        for (expected, (how, name, integrity)) in verdicts {
            assert_eq!(name, expected, "{file}: {how}");
            assert_eq!(
                integrity,
                !NOT_DAMAGE.contains(&expected),
                "{file}: {how}: integrity failure?"
            );
        }
        seen += 1;
    }
    assert_eq!(seen, 29);
}
