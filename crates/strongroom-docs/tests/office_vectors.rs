//! Frozen test vectors for our agile encryption (see docs/formats/office-agile.md).
//!
//! `tests/vectors/agile-tiny.txt` holds fixed inputs (password, salts, keys) and every
//! intermediate and output value; `agile-tiny.encryption-info.xml` the exact XML we write;
//! `agile-tiny.encrypted.docx` a frozen container that must keep decrypting. The intermediate
//! values are recomputed here straight from SHA-512/AES/HMAC, independently of the library.
//! Regenerate (only when the format intentionally changes) with
//! `STRONGROOM_REGEN_VECTORS=1 cargo test -p strongroom-docs --test office_vectors`.

// Test code: helpers outside #[test] fns may unwrap and index (clippy.toml only covers #[test]).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::PathBuf;

use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::NoPadding};
use base64::Engine;
use hmac::Mac;
use sha2::{Digest, Sha512};
use strongroom_docs::office::{self, KeyMaterial, Options};

const PASSWORD: &str = "Strongroom";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn material() -> KeyMaterial {
    let seq = |start: u8, out: &mut [u8]| {
        for (i, b) in out.iter_mut().enumerate() {
            *b = start.wrapping_add(i as u8);
        }
    };
    let mut m = KeyMaterial {
        key_data_salt: [0; 16],
        password_salt: [0; 16],
        secret_key: [0; 32],
        verifier_hash_input: [0; 16],
        hmac_key: [0; 64],
    };
    seq(0x00, &mut m.key_data_salt);
    seq(0x10, &mut m.password_salt);
    seq(0x20, &mut m.secret_key);
    seq(0x40, &mut m.verifier_hash_input);
    seq(0x50, &mut m.hmac_key);
    m
}

fn sha512(parts: &[&[u8]]) -> Vec<u8> {
    let mut h = Sha512::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().to_vec()
}

fn aes256_cbc_decrypt(key: &[u8], iv: &[u8], data: &[u8]) -> Vec<u8> {
    let mut buf = data.to_vec();
    cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
        .unwrap()
        .decrypt_padded_mut::<NoPadding>(&mut buf)
        .unwrap();
    buf
}

fn stream(container: &[u8], name: &str) -> Vec<u8> {
    let mut cf = cfb::CompoundFile::open(Cursor::new(container)).unwrap();
    let mut out = Vec::new();
    cf.open_stream(name).unwrap().read_to_end(&mut out).unwrap();
    out
}

fn attr(xml: &str, name: &str, nth: usize) -> Vec<u8> {
    let key = format!(" {name}=\"");
    let start = xml.match_indices(&key).nth(nth).unwrap().0 + key.len();
    let end = start + xml[start..].find('"').unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(&xml[start..end])
        .unwrap()
}

/// Every value of the vector, computed from first principles (MS-OFFCRYPTO 2.3.4.11–15).
fn derive(plain: &[u8], info_xml: &str, package: &[u8]) -> BTreeMap<&'static str, String> {
    let m = material();
    let pw: Vec<u8> = PASSWORD.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut h = sha512(&[&m.password_salt, &pw]);
    for i in 0u32..100_000 {
        h = sha512(&[&i.to_le_bytes(), &h]);
    }
    let key = |bk: [u8; 8]| sha512(&[&h, &bk])[..32].to_vec();
    let k_vi = key([0xfe, 0xa7, 0xd2, 0x76, 0x3b, 0x4b, 0x9e, 0x79]);
    let k_vv = key([0xd7, 0xaa, 0x0f, 0x6d, 0x30, 0x61, 0x34, 0x4e]);
    let k_kv = key([0x14, 0x6e, 0x0b, 0xe7, 0xab, 0xac, 0xd0, 0xd6]);
    let evi = attr(info_xml, "encryptedVerifierHashInput", 0);
    let evv = attr(info_xml, "encryptedVerifierHashValue", 0);
    let ekv = attr(info_xml, "encryptedKeyValue", 0);
    // The XML must decrypt, with the derived keys, to the material we chose.
    assert_eq!(aes256_cbc_decrypt(&k_vi, &m.password_salt, &evi), m.verifier_hash_input);
    assert_eq!(
        aes256_cbc_decrypt(&k_vv, &m.password_salt, &evv),
        sha512(&[&m.verifier_hash_input])
    );
    assert_eq!(aes256_cbc_decrypt(&k_kv, &m.password_salt, &ekv), m.secret_key);
    let iv_hk = sha512(&[&m.key_data_salt, &[0x5f, 0xb2, 0xad, 0x01, 0x0c, 0xb9, 0xe1, 0xf6]])[..16].to_vec();
    let iv_hv = sha512(&[&m.key_data_salt, &[0xa0, 0x67, 0x7f, 0x02, 0xb2, 0x2c, 0x84, 0x33]])[..16].to_vec();
    let ehk = attr(info_xml, "encryptedHmacKey", 0);
    let ehv = attr(info_xml, "encryptedHmacValue", 0);
    assert_eq!(aes256_cbc_decrypt(&m.secret_key, &iv_hk, &ehk), m.hmac_key);
    let mut mac = <hmac::Hmac<Sha512> as Mac>::new_from_slice(&m.hmac_key).unwrap();
    mac.update(package);
    let hmac_value = mac.finalize().into_bytes().to_vec();
    assert_eq!(aes256_cbc_decrypt(&m.secret_key, &iv_hv, &ehv), hmac_value);
    // The package: LE64 size, then segment i under IV = SHA512(keyDataSalt ‖ LE32 i)[..16].
    assert_eq!(&package[..8], &(plain.len() as u64).to_le_bytes());
    let mut dec = Vec::new();
    for (i, seg) in package[8..].chunks(4096).enumerate() {
        let iv = sha512(&[&m.key_data_salt, &(i as u32).to_le_bytes()])[..16].to_vec();
        dec.extend(aes256_cbc_decrypt(&m.secret_key, &iv, seg));
    }
    assert_eq!(&dec[..plain.len()], plain);

    let mut v = BTreeMap::new();
    v.insert("password", PASSWORD.to_owned());
    v.insert("spin_count", "100000".to_owned());
    v.insert("key_data_salt", hex(&m.key_data_salt));
    v.insert("password_salt", hex(&m.password_salt));
    v.insert("secret_key", hex(&m.secret_key));
    v.insert("verifier_hash_input", hex(&m.verifier_hash_input));
    v.insert("hmac_key", hex(&m.hmac_key));
    v.insert("plaintext_sha512", hex(&sha512(&[plain])));
    v.insert("password_hash_h100000", hex(&h));
    v.insert("key_verifier_hash_input", hex(&k_vi));
    v.insert("key_verifier_hash_value", hex(&k_vv));
    v.insert("key_encrypted_key_value", hex(&k_kv));
    v.insert("encrypted_verifier_hash_input", hex(&evi));
    v.insert("encrypted_verifier_hash_value", hex(&evv));
    v.insert("encrypted_key_value", hex(&ekv));
    v.insert("iv_hmac_key", hex(&iv_hk));
    v.insert("iv_hmac_value", hex(&iv_hv));
    v.insert("hmac_value", hex(&hmac_value));
    v.insert("encrypted_hmac_key", hex(&ehk));
    v.insert("encrypted_hmac_value", hex(&ehv));
    v.insert("encrypted_package", hex(package));
    v
}

fn parse_vector(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && l.contains(" = "))
        .map(|l| {
            let (k, v) = l.split_once(" = ").unwrap();
            (k.trim().to_owned(), v.trim().to_owned())
        })
        .collect()
}

#[test]
fn agile_tiny_vector() {
    let plain = common::docx_with(&["Strongroom test vector"], 0, false);
    let mut enc = Vec::new();
    office::encrypt_with_material(
        Cursor::new(&plain),
        &mut enc,
        PASSWORD,
        &Options::default(),
        &material(),
    )
    .unwrap();
    let info = stream(&enc, "/EncryptionInfo");
    assert_eq!(&info[..8], &[4, 0, 4, 0, 0x40, 0, 0, 0]);
    let xml = String::from_utf8(info[8..].to_vec()).unwrap();
    let package = stream(&enc, "/EncryptedPackage");
    let values = derive(&plain, &xml, &package);

    if std::env::var("STRONGROOM_REGEN_VECTORS").is_ok_and(|v| v == "1") {
        let mut text = String::from(
            "# MS-OFFCRYPTO Agile Encryption test vector written by strongroom-docs.\n\
             # Plaintext: agile-tiny.docx. Container: agile-tiny.encrypted.docx.\n\
             # EncryptionInfo stream = 04 00 04 00 40 00 00 00 ++ agile-tiny.encryption-info.xml\n\
             # All values hex except password (UTF-16LE when hashed) and spin_count.\n",
        );
        for (k, v) in &values {
            text.push_str(&format!("{k} = {v}\n"));
        }
        std::fs::write(dir().join("agile-tiny.txt"), text).unwrap();
        std::fs::write(dir().join("agile-tiny.encryption-info.xml"), &xml).unwrap();
        std::fs::write(dir().join("agile-tiny.docx"), &plain).unwrap();
        std::fs::write(dir().join("agile-tiny.encrypted.docx"), &enc).unwrap();
        eprintln!("vectors regenerated");
    }

    let frozen = parse_vector(&std::fs::read_to_string(dir().join("agile-tiny.txt")).unwrap());
    for (k, v) in &values {
        assert_eq!(frozen.get(*k), Some(v), "vector value {k} changed");
    }
    assert_eq!(frozen.len(), values.len());
    assert_eq!(
        std::fs::read_to_string(dir().join("agile-tiny.encryption-info.xml")).unwrap(),
        xml
    );
    assert_eq!(std::fs::read(dir().join("agile-tiny.docx")).unwrap(), plain);
    assert_eq!(unhex(&frozen["encrypted_package"]), package);

    // A container frozen at generation time keeps decrypting, and only with the password.
    let container = std::fs::read(dir().join("agile-tiny.encrypted.docx")).unwrap();
    assert_eq!(office::decrypt_bytes(&container, PASSWORD).unwrap(), plain);
    assert!(office::decrypt_bytes(&container, "strongroom").is_err());
}
