//! What the encryption-at-rest tests share: keys, the config that turns encryption on, the
//! blob file an upload makes, damage to it, downloads that may be cut off, and the
//! independent Python decryptor.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::*;
use reqwest::StatusCode;
use std::path::{Path, PathBuf};

pub const CHUNK: usize = 64 * 1024;
pub const HEADER: usize = 160;
pub const RECORD: usize = CHUNK + 64;

pub fn keygen(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let out = std::process::Command::new(BIN)
        .args(["encryption", "keygen", "-o"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    path
}

pub fn enc_toml(key: &Path) -> String {
    format!("[encryption]\nenabled = true\nkey_file = \"{}\"\n", key.display())
}

/// Uploads and returns (file id, the blob file the upload created).
pub async fn upload_blob(srv: &Server, s: &Session, folder: &str, name: &str, body: &[u8]) -> (String, PathBuf) {
    let before = srv.blob_files().unwrap();
    let f = s
        .json(s.upload(folder, name, body.to_vec()).await, StatusCode::CREATED)
        .await;
    let after = srv.blob_files().unwrap();
    let new: Vec<_> = after.into_iter().filter(|p| !before.contains(p)).collect();
    assert_eq!(new.len(), 1, "one new blob per upload");
    (f["id"].as_str().unwrap().to_string(), new[0].clone())
}

pub fn flip(path: &Path, offset: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[offset] ^= 0x01;
    std::fs::write(path, b).unwrap();
}

/// Status and body; a transfer the server cut off (damage found mid-stream) is an `Err`.
pub async fn download(s: &Session, id: &str) -> (StatusCode, Result<Vec<u8>, String>) {
    let r = match s
        .request(reqwest::Method::GET, &format!("/api/v1/files/{id}/content"))
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => return (StatusCode::OK, Err(e.to_string())),
    };
    let status = r.status();
    (status, r.bytes().await.map(|b| b.to_vec()).map_err(|e| e.to_string()))
}

pub fn oracle_decrypts(key: &Path, blob: &Path, expected: &[u8]) {
    let stored = std::fs::read(blob).unwrap();
    let object_id = hex::encode(&stored[16..32]);
    let got = oracle_decrypt(key, blob, &["--object-id", &object_id]).expect("the oracle decrypts our blob");
    if let Some(got) = got {
        assert_eq!(got, expected, "the oracle decrypts our blob to the upload");
    }
}

/// Runs the independent decryptor on `stored` with `which` (`--object-id HEX` or
/// `--secret-name NAME`): `Ok(None)` when the oracle is missing (and not required),
/// `Err(message)` when it rejects the object.
pub fn oracle_decrypt(key: &Path, stored: &Path, which: &[&str]) -> Result<Option<Vec<u8>>, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oracle/at_rest_decrypt.py");
    let have = std::process::Command::new("python3")
        .args(["-c", "import cryptography"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        if std::env::var("STRONGROOM_REQUIRE_ORACLES").is_ok_and(|v| v == "1") {
            panic!("python3 with `cryptography` is required");
        }
        eprintln!("SKIP: python3 `cryptography` missing; the at-rest oracle did not run");
        return Ok(None);
    }
    let out_file = tempfile::NamedTempFile::new().unwrap();
    let out = std::process::Command::new("python3")
        .arg(&script)
        .args(["decrypt", "--key-text-file"])
        .arg(key)
        .args(which)
        .arg(stored)
        .arg(out_file.path())
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(Some(std::fs::read(out_file.path()).unwrap()))
}
