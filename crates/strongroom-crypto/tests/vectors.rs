//! Committed test vectors (`tests/vectors/*.txt`): fixed keys, IVs and data keys → exact
//! bytes. The test rebuilds every vector and compares it with the committed file, so any
//! change to the format's bytes fails here. Intermediate values are computed with HKDF and
//! HMAC directly, not through the crate, as a second opinion.
//!
//! Regenerate (only when deliberately changing a vector): `STRONGROOM_WRITE_VECTORS=1 cargo
//! test -p strongroom-crypto --test vectors`.
// Test helpers outside #[test] fns: panicking on a broken expectation is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::fmt::Write as _;
use std::path::PathBuf;

use common::ScriptRng;
use hkdf::Hkdf;
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

/// Passphrase derivation with deliberately cheap (test-only) Argon2id parameters.
fn build_passphrase() -> String {
    let params = PassphraseParams {
        m_kib: 1024,
        t: 2,
        p: 2,
        salt: seq(0xc0, 16),
    };
    let pass = "correct horse battery staple";
    let key = MasterKey::from_passphrase(pass.as_bytes(), &params).unwrap();
    let mut t = String::new();
    writeln!(
        t,
        "# Strongroom passphrase-derived master key vector (cheap parameters: test only)."
    )
    .unwrap();
    writeln!(t, "name: passphrase").unwrap();
    writeln!(t, "passphrase_utf8: {}", hex::encode(pass)).unwrap();
    writeln!(t, "passphrase_params: {}", params.to_text()).unwrap();
    writeln!(t, "master_key: {}", hex::encode(key.expose_bytes())).unwrap();
    writeln!(t, "master_key_id: {}", key.id()).unwrap();
    writeln!(t, "master_key_text: {}", key.to_key_text().trim()).unwrap();
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
    let mut v06 = Vec::new();
    for spec in specs() {
        let (text, stored) = build(&spec);
        if spec.name == "v06-many-chunks" {
            v06 = stored;
        }
        check_or_write(spec.name, &text);
    }
    check_or_write("v08-rewrapped", &build_rewrap(&v06));
    check_or_write("passphrase", &build_passphrase());
}

#[test]
fn committed_vectors_decrypt() {
    // Read the files back as an outsider would: parse the fields, decrypt, compare.
    let mut seen = 0;
    for entry in std::fs::read_dir(dir()).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}: ")))
                .map(str::to_string)
        };
        let Some(ct) = field("ciphertext") else {
            continue;
        };
        let key = MasterKey::from_key_text(&field("master_key_text").unwrap()).unwrap();
        let id = ObjectId(arr(hex::decode(field("object_id").unwrap()).unwrap()));
        let len: usize = field("plaintext_len")
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let plain = common::decrypt(&[key], &id, &hex::decode(ct).unwrap()).unwrap();
        assert_eq!(plain, common::pattern(len));
        seen += 1;
    }
    assert_eq!(seen, 8);
}
