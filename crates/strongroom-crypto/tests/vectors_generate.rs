//! Generator of the committed test vectors (`tests/vectors/*.txt`, file format in
//! `docs/formats/at-rest-v1.md` §9): fixed keys, IVs and data keys → exact bytes, and damaged
//! objects with the name of the error every reader must give.
//!
//! `vectors_match_committed_files` rebuilds every file and compares it with the committed one,
//! so any change to the format's bytes fails here. Intermediate values are computed with HKDF
//! and HMAC directly, not through the crate, as a second opinion, and the damaged records that
//! only a faulty writer could make are built from raw AES and HMAC. The expected error of each
//! negative vector is written by hand in `negatives()`, never obtained by running a decryptor.
//! Reading the files back, as an outsider would, is `tests/vectors.rs`.
//!
//! Regenerate (only when deliberately changing a vector): `STRONGROOM_WRITE_VECTORS=1 cargo
//! test -p strongroom-crypto --test vectors_generate`.
// Test helpers outside #[test] fns: panicking on a broken expectation is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::fmt::Write as _;
use std::path::PathBuf;

use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockEncryptMut, KeyIvInit};
use common::ScriptRng;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use strongroom_crypto::*;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn seq(start: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| start.wrapping_add(i as u8)).collect()
}

fn arr<const N: usize>(v: Vec<u8>) -> [u8; N] {
    v.try_into().unwrap()
}

fn hkdf(ikm: &[u8], info: &str, len: usize) -> Vec<u8> {
    let mut out = vec![0; len];
    Hkdf::<Sha256>::new(None, ikm)
        .expand(info.as_bytes(), &mut out)
        .unwrap();
    out
}

struct Spec {
    name: &'static str,
    description: &'static str,
    chunk_size: u32,
    len: usize,
    explicit_plaintext: bool,
}

const MASTER: u8 = 0x00;
const MASTER2: u8 = 0x20;

fn chunk_iv(i: usize) -> [u8; 16] {
    arr(seq(0x80u8.wrapping_add((16 * i) as u8), 16))
}

/// Build one vector's file text, cross-checking the chunk API, the streaming API (one and two
/// threads, multi-lane) and decryption on the way.
fn build(spec: &Spec) -> (String, Vec<u8>) {
    let mk = arr::<32>(seq(MASTER, 32));
    let master = MasterKey::from_bytes(mk);
    let object_id = ObjectId(arr(seq(0xa0, 16)));
    let data_key: [u8; 32] = arr(seq(0x40, 32));
    let wrap_iv: [u8; 16] = arr(seq(0x60, 16));
    let plain = common::pattern(spec.len);
    let s = spec.chunk_size as usize;
    let chunks = spec.len.div_ceil(s).max(1);
    let ivs: Vec<[u8; 16]> = (0..chunks).map(chunk_iv).collect();

    let mut rng = ScriptRng::new(&[&wrap_iv]);
    let keys = ObjectKeys::create_with_data_key(&master, object_id, spec.chunk_size, &data_key, &mut rng).unwrap();
    assert!(rng.used_all());
    let mut stored = keys.header_bytes().to_vec();
    for (i, iv) in ivs.iter().enumerate() {
        let end = ((i + 1) * s).min(spec.len);
        keys.encrypt_chunk(i as u64, i + 1 == chunks, &plain[i * s..end], iv, &mut stored)
            .unwrap();
    }
    assert_eq!(
        stored.len() as u64,
        ciphertext_len(spec.len as u64, spec.chunk_size).unwrap()
    );

    // The streaming encryptor drawing data key, wrap IV and chunk IVs from the RNG in that
    // order must produce the very same bytes, with any thread count.
    for threads in [1, 2, 3] {
        let iv_bytes: Vec<&[u8]> = ivs.iter().map(|iv| iv.as_slice()).collect();
        let mut script: Vec<&[u8]> = vec![&data_key, &wrap_iv];
        script.extend(iv_bytes);
        let rng = ScriptRng::new(&script);
        let opts = EncryptOptions {
            chunk_size: spec.chunk_size,
            threads,
        };
        let mut e = StreamEncryptor::with_rng(&master, object_id, opts, rng).unwrap();
        let mut out = Vec::new();
        for piece in plain.chunks(7) {
            e.update(piece, &mut out).unwrap();
        }
        e.finish(&mut out).unwrap();
        assert_eq!(out, stored, "{} streaming, {threads} threads", spec.name);
    }
    let back = common::decrypt(std::slice::from_ref(&master), &object_id, &stored).unwrap();
    assert_eq!(back, plain);

    let mut t = String::new();
    writeln!(t, "# Strongroom at-rest v1 test vector (docs/formats/at-rest-v1.md).").unwrap();
    writeln!(t, "# Hex unless noted. Intermediate values help implementers debug.").unwrap();
    writeln!(t, "name: {}", spec.name).unwrap();
    writeln!(t, "description: {}", spec.description).unwrap();
    writeln!(t, "master_key: {}", hex::encode(mk)).unwrap();
    writeln!(t, "master_key_text: {}", master.to_key_text().trim()).unwrap();
    writeln!(
        t,
        "master_key_id: {}",
        hex::encode(hkdf(&mk, "strongroom at-rest v1 master key id", 16))
    )
    .unwrap();
    writeln!(
        t,
        "wrap_enc_key: {}",
        hex::encode(hkdf(&mk, "strongroom at-rest v1 key wrap encryption", 32))
    )
    .unwrap();
    writeln!(
        t,
        "wrap_mac_key: {}",
        hex::encode(hkdf(&mk, "strongroom at-rest v1 key wrap mac", 32))
    )
    .unwrap();
    writeln!(t, "object_id: {}", hex::encode(object_id.0)).unwrap();
    writeln!(t, "chunk_size: {} (decimal)", spec.chunk_size).unwrap();
    writeln!(t, "data_key: {}", hex::encode(data_key)).unwrap();
    writeln!(
        t,
        "chunk_enc_key: {}",
        hex::encode(hkdf(&data_key, "strongroom at-rest v1 chunk encryption", 32))
    )
    .unwrap();
    writeln!(
        t,
        "chunk_mac_key: {}",
        hex::encode(hkdf(&data_key, "strongroom at-rest v1 chunk mac", 32))
    )
    .unwrap();
    writeln!(
        t,
        "header_mac_key: {}",
        hex::encode(hkdf(&data_key, "strongroom at-rest v1 header mac", 32))
    )
    .unwrap();
    writeln!(t, "wrap_iv: {}", hex::encode(wrap_iv)).unwrap();
    for iv in &ivs {
        writeln!(t, "chunk_iv: {}", hex::encode(iv)).unwrap();
    }
    writeln!(t, "plaintext_len: {} (decimal)", spec.len).unwrap();
    if spec.explicit_plaintext {
        writeln!(t, "plaintext: {}", hex::encode(&plain)).unwrap();
    } else {
        writeln!(t, "plaintext_pattern: byte i is (7*i + 3) mod 256").unwrap();
    }
    writeln!(t, "header: {}", hex::encode(&stored[..HEADER_LEN])).unwrap();
    writeln!(t, "ciphertext: {}", hex::encode(&stored)).unwrap();
    (t, stored)
}

/// The v06 object moved to a second master key: only bytes 64..160 differ.
fn build_rewrap(stored: &[u8]) -> String {
    let old = MasterKey::from_bytes(arr(seq(MASTER, 32)));
    let new = MasterKey::from_bytes(arr(seq(MASTER2, 32)));
    let wrap_iv: [u8; 16] = arr(seq(0x90, 16));
    let header = ObjectHeader::parse(&stored[..HEADER_LEN]).unwrap();
    let rewrapped = header
        .rewrap(std::slice::from_ref(&old), &new, &mut ScriptRng::new(&[&wrap_iv]))
        .unwrap();
    assert_eq!(rewrapped[..64], stored[..64]);
    let mut out = rewrapped.to_vec();
    out.extend_from_slice(&stored[HEADER_LEN..]);
    let object_id = ObjectId(arr(seq(0xa0, 16)));
    assert_eq!(
        common::decrypt(std::slice::from_ref(&new), &object_id, &out).unwrap(),
        common::pattern(100)
    );
    assert!(matches!(
        common::decrypt(&[old], &object_id, &out),
        Err(Error::UnknownMasterKey { .. })
    ));
    let mut t = String::new();
    writeln!(
        t,
        "# Strongroom at-rest v1 rotation vector: v06-many-chunks rewrapped to a new master key."
    )
    .unwrap();
    writeln!(t, "name: v08-rewrapped").unwrap();
    writeln!(
        t,
        "description: v06 after rotation; bytes 0..64 and all records unchanged"
    )
    .unwrap();
    writeln!(t, "old_master_key: {}", hex::encode(old_bytes())).unwrap();
    writeln!(t, "master_key: {}", hex::encode(new.expose_bytes())).unwrap();
    writeln!(t, "master_key_text: {}", new.to_key_text().trim()).unwrap();
    writeln!(t, "object_id: {}", hex::encode(object_id.0)).unwrap();
    writeln!(t, "wrap_iv: {}", hex::encode(wrap_iv)).unwrap();
    writeln!(t, "plaintext_len: 100 (decimal)").unwrap();
    writeln!(t, "plaintext: {}", hex::encode(common::pattern(100))).unwrap();
    writeln!(t, "ciphertext: {}", hex::encode(&out)).unwrap();
    t
}

fn old_bytes() -> Vec<u8> {
    seq(MASTER, 32)
}

/// A passphrase vector: name, description, the passphrase.
struct PassphraseSpec {
    name: &'static str,
    description: &'static str,
    passphrase: &'static str,
}

fn passphrase_specs() -> Vec<PassphraseSpec> {
    vec![
        PassphraseSpec {
            name: "passphrase",
            description: "ASCII passphrase",
            passphrase: "correct horse battery staple",
        },
        // Two- three- and four-byte UTF-8 sequences, and precomposed letters (NFC) ...
        PassphraseSpec {
            name: "passphrase-non-ascii-nfc",
            description: "non-ASCII passphrase in NFC (precomposed letters); the KDF input is its UTF-8 bytes",
            passphrase: "Gr\u{fc}\u{df}e aus K\u{f6}ln, \u{6771}\u{4eac}: caf\u{e9} \u{1f511}",
        },
        // ... and the same text decomposed (NFD): it looks the same and gives another key,
        // because no normalisation is applied (spec §2.1).
        PassphraseSpec {
            name: "passphrase-non-ascii-nfd",
            description: "the same text in NFD (letter + combining mark): not normalised, so a different key",
            passphrase: "Gru\u{308}\u{df}e aus Ko\u{308}ln, \u{6771}\u{4eac}: cafe\u{301} \u{1f511}",
        },
    ]
}

/// Passphrase derivation with deliberately cheap (test-only) Argon2id parameters.
fn build_passphrase(spec: &PassphraseSpec) -> String {
    let params = PassphraseParams {
        m_kib: 1024,
        t: 2,
        p: 2,
        salt: seq(0xc0, 16),
    };
    let pass = spec.passphrase;
    let key = MasterKey::from_passphrase(pass.as_bytes(), &params).unwrap();
    let mut t = String::new();
    writeln!(
        t,
        "# Strongroom passphrase-derived master key vector (cheap parameters: test only)."
    )
    .unwrap();
    writeln!(t, "name: {}", spec.name).unwrap();
    writeln!(t, "description: {}", spec.description).unwrap();
    if !pass.is_ascii() {
        let points: Vec<String> = pass.chars().map(|c| format!("U+{:04X}", u32::from(c))).collect();
        writeln!(t, "passphrase_codepoints: {}", points.join(" ")).unwrap();
    }
    writeln!(t, "passphrase_utf8: {}", hex::encode(pass)).unwrap();
    writeln!(t, "passphrase_params: {}", params.to_text()).unwrap();
    writeln!(t, "master_key: {}", hex::encode(key.expose_bytes())).unwrap();
    writeln!(t, "master_key_id: {}", key.id()).unwrap();
    writeln!(t, "master_key_text: {}", key.to_key_text().trim()).unwrap();
    t
}

/// The keys of the vectors' objects computed from the primitives (not through the crate), to
/// forge records only a faulty writer holding the data key could write.
struct RawKeys {
    chunk_enc: [u8; 32],
    chunk_mac: [u8; 32],
    header_mac: [u8; 32],
}

fn raw_keys(header: &[u8]) -> RawKeys {
    let data_key = seq(0x40, 32);
    RawKeys {
        chunk_enc: arr(hkdf(&data_key, "strongroom at-rest v1 chunk encryption", 32)),
        chunk_mac: arr(hkdf(&data_key, "strongroom at-rest v1 chunk mac", 32)),
        header_mac: arr(header[32..64].to_vec()),
    }
}

/// `IV ‖ CBC-Enc(KE, IV, blocks) ‖ filler ‖ HMAC(KM, HM ‖ BE64(i) ‖ F ‖ IV ‖ C ‖ filler)`, with
/// the padded blocks and the filler given as they are (no checks: that is the point).
fn raw_record(keys: &RawKeys, index: u64, is_final: bool, iv: &[u8; 16], blocks: &[u8], filler: &[u8]) -> Vec<u8> {
    let mut c = blocks.to_vec();
    let len = c.len();
    cbc::Encryptor::<aes::Aes256>::new((&keys.chunk_enc).into(), iv.into())
        .encrypt_padded_mut::<NoPadding>(&mut c, len)
        .unwrap();
    let mut record = [&iv[..], &c, filler].concat();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&keys.chunk_mac).unwrap();
    mac.update(&keys.header_mac);
    mac.update(&index.to_be_bytes());
    mac.update(&[u8::from(is_final)]);
    mac.update(&record);
    record.extend_from_slice(&mac.finalize().into_bytes());
    record
}

/// An object like the vectors' (same master key, data key, wrap IV and chunk IVs) but named
/// `object_id`.
fn object_with_id(object_id: ObjectId, chunk_size: u32, len: usize) -> Vec<u8> {
    let master = MasterKey::from_bytes(arr(seq(MASTER, 32)));
    let mut rng = ScriptRng::new(&[&seq(0x60, 16)]);
    let keys = ObjectKeys::create_with_data_key(&master, object_id, chunk_size, &arr(seq(0x40, 32)), &mut rng).unwrap();
    let plain = common::pattern(len);
    let s = chunk_size as usize;
    let chunks = len.div_ceil(s).max(1);
    let mut stored = keys.header_bytes().to_vec();
    for i in 0..chunks {
        let end = ((i + 1) * s).min(len);
        keys.encrypt_chunk(i as u64, i + 1 == chunks, &plain[i * s..end], &chunk_iv(i), &mut stored)
            .unwrap();
    }
    stored
}

/// One damaged object and the error a reader must give (spec §5.3 names).
struct Negative {
    name: &'static str,
    description: &'static str,
    /// The object id the reader is told to expect.
    object_id: [u8; 16],
    stored: Vec<u8>,
    /// What a reader that knows the stored length gives (spec §5.1).
    error: &'static str,
    /// What a streaming reader gives (spec §5.2).
    error_streaming: &'static str,
}

const OTHER_ID: u8 = 0xb0;

/// The negative vectors, from the committed positive objects `v01`, `v04` and `v06` (chunk
/// size 32, so records of R = 96 bytes; v06 holds records 0–2 of 96 bytes at 160, 256 and
/// 352, and the final record 3 of 68 bytes at 448..516). Expected errors are written here by
/// hand from the spec; the `committed_*` test checks the decryptors against them.
fn negatives(v01: &[u8], v04: &[u8], v06: &[u8]) -> Vec<Negative> {
    const H: usize = HEADER_LEN;
    const R: usize = 96;
    let id = arr::<16>(seq(0xa0, 16));
    let rec = |i: usize| H + i * R..(H + (i + 1) * R).min(v06.len());
    let flip = |at: usize, bit: u8| {
        let mut t = v06.to_vec();
        t[at] ^= bit;
        t
    };
    let other = object_with_id(ObjectId(arr(seq(OTHER_ID, 16))), 32, 100);
    // Same data key, IV and plaintext: record 0 differs from v06's only in its tag, which
    // binds the header MAC and so the object id.
    assert_eq!(other[H..H + 48], v06[H..H + 48]);
    assert_ne!(other[H + 48..rec(1).start], v06[H + 48..rec(1).start]);
    let keys = raw_keys(&v06[..H]);
    // The raw record builder agrees with the crate on a correct record (v02's).
    let mut one = vec![3u8];
    one.extend([15u8; 15]);
    let v02_record = raw_record(&keys, 0, true, &chunk_iv(0), &one, &[0]);
    let v02 = object_with_id(ObjectId(id), 32, 1);
    assert_eq!(v02[H..], v02_record[..], "raw record builder");

    let n = |name, description, stored, error, error_streaming| Negative {
        name,
        description,
        object_id: id,
        stored,
        error,
        error_streaming,
    };
    vec![
        n(
            "n01-header-only",
            "v01-empty's header without its record: not an empty plaintext, a truncated object",
            v01[..H].to_vec(),
            "truncated 0",
            "truncated 0",
        ),
        n(
            "n02-cut-in-header",
            "v06 cut to its first 100 bytes",
            v06[..100].to_vec(),
            "truncated 0",
            "truncated 0",
        ),
        n(
            "n03-cut-inside-record-short",
            "v06 cut 40 bytes into record 1: an invalid length; a streaming reader sees a record cut short",
            v06[..H + R + 40].to_vec(),
            "invalid-object-length",
            "truncated 1",
        ),
        n(
            "n04-cut-inside-record",
            "v06 cut 80 bytes into record 1: a valid length, so record 1 is read as a final record of 16 bytes",
            v06[..H + R + 80].to_vec(),
            "chunk-integrity 1",
            "chunk-integrity 1",
        ),
        n(
            "n05-cut-last-byte",
            "v06 without its last byte",
            v06[..v06.len() - 1].to_vec(),
            "chunk-integrity 3",
            "chunk-integrity 3",
        ),
        n(
            "n06-last-record-dropped",
            "v06 without its final record: ends at a chunk border after 3 chunks",
            v06[..rec(3).start].to_vec(),
            "truncated 3",
            "truncated 3",
        ),
        n(
            "n07-records-swapped",
            "v06 with records 0 and 1 swapped",
            [&v06[..H], &v06[rec(1)], &v06[rec(0)], &v06[rec(2).start..]].concat(),
            "chunk-integrity 0",
            "chunk-integrity 0",
        ),
        n(
            "n08-record-from-other-object",
            "v06 with record 1 taken from object b0b1..bf, which has the same data key, IVs and plaintext",
            [&v06[..rec(1).start], &other[rec(1)], &v06[rec(2).start..]].concat(),
            "chunk-integrity 1",
            "chunk-integrity 1",
        ),
        n(
            "n09-other-objects-blob",
            "the whole object b0b1..bf read where object a0a1..af is expected",
            other.clone(),
            "object-id-mismatch",
            "object-id-mismatch",
        ),
        n(
            "n10-flip-magic",
            "v06, bit 0 of byte 1 flipped",
            flip(1, 0x01),
            "not-at-rest-object",
            "not-at-rest-object",
        ),
        n(
            "n11-flip-version",
            "v06, bit 1 of byte 9 flipped: version 3",
            flip(9, 0x02),
            "unsupported-version",
            "unsupported-version",
        ),
        n(
            "n12-flip-algorithm",
            "v06, bit 1 of byte 10 flipped: algorithm 3",
            flip(10, 0x02),
            "unsupported-algorithm",
            "unsupported-algorithm",
        ),
        n(
            "n13-flip-flags",
            "v06, bit 0 of byte 11 flipped: flags 0x01",
            flip(11, 0x01),
            "unsupported-flags",
            "unsupported-flags",
        ),
        n(
            "n14-flip-chunk-size",
            "v06, bit 0 of byte 15 flipped: chunk size 33",
            flip(15, 0x01),
            "invalid-chunk-size",
            "invalid-chunk-size",
        ),
        n(
            "n15-flip-object-id",
            "v06, bit 0 of byte 16 (object id) flipped",
            flip(16, 0x01),
            "header-integrity",
            "header-integrity",
        ),
        n(
            "n16-flip-header-mac",
            "v06, bit 3 of byte 40 (header MAC) flipped",
            flip(40, 0x08),
            "header-integrity",
            "header-integrity",
        ),
        n(
            "n17-flip-key-id",
            "v06, bit 0 of byte 64 (master key id) flipped",
            flip(64, 0x01),
            "unknown-master-key",
            "unknown-master-key",
        ),
        n(
            "n18-flip-wrapped-key",
            "v06, bit 7 of byte 100 (wrapped data key) flipped",
            flip(100, 0x80),
            "header-integrity",
            "header-integrity",
        ),
        n(
            "n19-flip-envelope-mac",
            "v06, bit 0 of byte 159 (envelope MAC) flipped",
            flip(159, 0x01),
            "header-integrity",
            "header-integrity",
        ),
        n(
            "n20-flip-record-iv",
            "v06, bit 0 of the first byte of record 0 (its IV) flipped",
            flip(rec(0).start, 0x01),
            "chunk-integrity 0",
            "chunk-integrity 0",
        ),
        n(
            "n21-flip-record-ciphertext",
            "v06, bit 2 of byte 21 of record 1 (ciphertext) flipped",
            flip(rec(1).start + 21, 0x04),
            "chunk-integrity 1",
            "chunk-integrity 1",
        ),
        n(
            "n22-flip-filler",
            "v06, bit 0 of byte 33 of record 3 (length filler) flipped",
            flip(rec(3).start + 33, 0x01),
            "chunk-integrity 3",
            "chunk-integrity 3",
        ),
        n(
            "n23-flip-tag",
            "v06, bit 7 of the last byte of record 2 (its MAC) flipped",
            flip(rec(2).end - 1, 0x80),
            "chunk-integrity 2",
            "chunk-integrity 2",
        ),
        n(
            "n24-trailing-byte",
            "v06 followed by one zero byte: a valid length, so the final record is read one byte longer",
            [v06, &[0u8][..]].concat(),
            "chunk-integrity 3",
            "chunk-integrity 3",
        ),
        n(
            "n25-trailing-byte-after-full-chunk",
            "v04 (one full final chunk) followed by one zero byte: an invalid length; a streaming reader sees its final record followed by data",
            [v04, &[0u8][..]].concat(),
            "invalid-object-length",
            "data-after-final-chunk 0",
        ),
        n(
            "n26-trailing-record",
            "v04 followed by a copy of its own record: record 0 is no longer in the final position",
            [v04, &v04[H..]].concat(),
            "data-after-final-chunk 0",
            "data-after-final-chunk 0",
        ),
        n(
            "n27-malformed-padding",
            "faulty writer: one chunk of 1 byte whose padding bytes are 0e, not 0f; the MAC is right",
            [
                &v06[..H],
                &raw_record(&keys, 0, true, &chunk_iv(0), &[&[3u8][..], &[14u8; 15]].concat(), &[0]),
            ]
            .concat(),
            "malformed 0",
            "malformed 0",
        ),
        n(
            "n28-malformed-filler",
            "faulty writer: one chunk of 1 byte whose length filler is 01, not 00; the MAC is right",
            [&v06[..H], &raw_record(&keys, 0, true, &chunk_iv(0), &one, &[1])].concat(),
            "malformed 0",
            "malformed 0",
        ),
        n(
            "n29-empty-final-chunk-after-full",
            "faulty writer: a full chunk 0 and an empty final chunk 1, both MACs right: an invalid length; a streaming reader verifies the empty record, then refuses it",
            [
                &v04[..H],
                &raw_record(
                    &keys,
                    0,
                    false,
                    &chunk_iv(0),
                    &[&common::pattern(32)[..], &[16u8; 16][..]].concat(),
                    &[],
                ),
                &raw_record(&keys, 1, true, &chunk_iv(1), &[16u8; 16], &[]),
            ]
            .concat(),
            "invalid-object-length",
            "malformed 1",
        ),
    ]
}

fn build_negative(neg: &Negative) -> String {
    let master = MasterKey::from_bytes(arr(seq(MASTER, 32)));
    let mut t = String::new();
    writeln!(
        t,
        "# Strongroom at-rest v1 negative test vector (docs/formats/at-rest-v1.md section 9): decryption must fail."
    )
    .unwrap();
    writeln!(t, "name: {}", neg.name).unwrap();
    writeln!(t, "description: {}", neg.description).unwrap();
    writeln!(t, "master_key_text: {}", master.to_key_text().trim()).unwrap();
    writeln!(t, "object_id: {}", hex::encode(neg.object_id)).unwrap();
    writeln!(t, "ciphertext: {}", hex::encode(&neg.stored)).unwrap();
    writeln!(t, "error: {}", neg.error).unwrap();
    writeln!(t, "error_streaming: {}", neg.error_streaming).unwrap();
    t
}

fn specs() -> Vec<Spec> {
    let small = |name, description, len| Spec {
        name,
        description,
        chunk_size: 32,
        len,
        explicit_plaintext: true,
    };
    vec![
        small("v01-empty", "empty object: one empty final chunk", 0),
        small("v02-one-byte", "one byte", 1),
        small("v03-chunk-minus-one", "chunk size 32, 31 bytes", 31),
        small("v04-chunk", "exactly one full chunk, which is final", 32),
        small("v05-chunk-plus-one", "one full chunk and a final chunk of 1 byte", 33),
        small("v06-many-chunks", "four chunks, the last of 4 bytes", 100),
        Spec {
            name: "v07-default-chunk",
            description: "default chunk size 65536, 65553 bytes: a full chunk and 17 bytes",
            chunk_size: DEFAULT_CHUNK_SIZE,
            len: 65_553,
            explicit_plaintext: false,
        },
    ]
}

fn check_or_write(name: &str, text: &str) {
    let path = dir().join(format!("{name}.txt"));
    if std::env::var("STRONGROOM_WRITE_VECTORS").as_deref() == Ok("1") {
        std::fs::write(&path, text).unwrap();
    } else {
        let committed = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (set STRONGROOM_WRITE_VECTORS=1 to create)", path.display()));
        assert!(committed == text, "{name}: bytes differ from the committed vector");
    }
}

#[test]
fn vectors_match_committed_files() {
    let mut objects = std::collections::HashMap::new();
    for spec in specs() {
        let (text, stored) = build(&spec);
        objects.insert(spec.name, stored);
        check_or_write(spec.name, &text);
    }
    check_or_write("v08-rewrapped", &build_rewrap(&objects["v06-many-chunks"]));
    for spec in passphrase_specs() {
        check_or_write(spec.name, &build_passphrase(&spec));
    }
    let negatives = negatives(
        &objects["v01-empty"],
        &objects["v04-chunk"],
        &objects["v06-many-chunks"],
    );
    for neg in &negatives {
        check_or_write(neg.name, &build_negative(neg));
    }
    // No stale files: every committed file is one of the vectors built here.
    let built = objects.len() + 1 + passphrase_specs().len() + negatives.len();
    let committed = std::fs::read_dir(dir())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "txt"))
        .count();
    assert_eq!(committed, built, "a committed vector file is not built by this test");
}
