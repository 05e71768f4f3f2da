//! The independent Python decryptor (`tests/oracle/at_rest_decrypt.py`, written from the spec
//! alone with the `cryptography` package) checks the committed vectors (rejecting every
//! negative one with exactly its stated error, in both of the spec's reading orders) and files
//! this crate writes. Skipped loudly when python3 or `cryptography` is missing, unless
//! `STRONGROOM_REQUIRE_ORACLES=1` (as in CI), when that is a failure.
// Test helpers outside #[test] fns: panicking on a broken expectation is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{encrypt, pattern};
use strongroom_crypto::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn oracle() -> PathBuf {
    repo().join("tests/oracle/at_rest_decrypt.py")
}

/// True if the oracle can run; otherwise skip (loudly) or fail, as the environment demands.
fn oracle_available() -> bool {
    let probe = Command::new("python3")
        .args([
            "-c",
            "import cryptography.hazmat.primitives.kdf.argon2, cryptography.hazmat.primitives.kdf.hkdf",
        ])
        .output();
    let ok = matches!(&probe, Ok(o) if o.status.success());
    if !ok {
        let why = match probe {
            Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
            Err(e) => e.to_string(),
        };
        if std::env::var("STRONGROOM_REQUIRE_ORACLES").as_deref() == Ok("1") {
            panic!(
                "STRONGROOM_REQUIRE_ORACLES=1 but the at-rest oracle cannot run (python3 with cryptography >= 44 needed; see .ci/install.d/20-crypto.sh): {why}"
            );
        }
        eprintln!("\n=================================================================");
        eprintln!("SKIP: at-rest oracle (python3 + cryptography >= 44) not available:");
        eprintln!("      {}", why.trim());
        eprintln!("      run .ci/install.d/20-crypto.sh to enable this test");
        eprintln!("=================================================================\n");
    }
    ok
}

#[test]
fn oracle_checks_committed_vectors() {
    if !oracle_available() {
        return;
    }
    let out = Command::new("python3")
        .arg(oracle())
        .arg("vectors")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "oracle rejected vectors:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("40 passed, 0 failed (29 negative)"), "{stdout}");
}

fn run_decrypt(
    dir: &Path,
    key_file: &Path,
    id: &ObjectId,
    stored: &[u8],
    range: Option<(u64, u64)>,
) -> (bool, Vec<u8>, String) {
    let input = dir.join("object.bin");
    let output = dir.join("plain.bin");
    std::fs::write(&input, stored).unwrap();
    let _ = std::fs::remove_file(&output);
    let mut cmd = Command::new("python3");
    cmd.arg(oracle())
        .arg("decrypt")
        .arg("--key-text-file")
        .arg(key_file)
        .arg("--object-id")
        .arg(id.to_string());
    if let Some((a, b)) = range {
        cmd.arg("--range").arg(format!("{a}:{b}"));
    }
    let out = cmd.arg(&input).arg(&output).output().unwrap();
    let plain = std::fs::read(&output).unwrap_or_default();
    (
        out.status.success(),
        plain,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn oracle_decrypts_what_we_write() {
    if !oracle_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let master = MasterKey::generate(&mut rand::rng());
    let key_file = dir.path().join("master.key");
    std::fs::write(&key_file, master.to_key_text().as_bytes()).unwrap();
    let id = ObjectId(rand::random());
    let s = DEFAULT_CHUNK_SIZE as usize;
    for (len, threads) in [(0, 1), (1, 1), (s - 1, 1), (s, 2), (s + 1, 1), (9 * s + 12_345, 2)] {
        let plain = pattern(len);
        let stored = encrypt(&master, id, DEFAULT_CHUNK_SIZE, threads, &plain, len as u64);
        let (ok, got, err) = run_decrypt(dir.path(), &key_file, &id, &stored, None);
        assert!(ok, "oracle failed on {len} bytes: {err}");
        assert!(got == plain, "oracle plaintext differs for {len} bytes");
        if len > 4 * s {
            let (a, b) = (s as u64 - 3, 3 * s as u64 + 5);
            let (ok, got, err) = run_decrypt(dir.path(), &key_file, &id, &stored, Some((a, b)));
            assert!(ok, "{err}");
            assert!(got == plain[a as usize..b as usize], "oracle range read differs");
            // The oracle is a real verifier: it rejects a flipped bit and a wrong id.
            let mut bad = stored.clone();
            bad[HEADER_LEN + s + 64 + 99] ^= 4;
            let (ok, _, err) = run_decrypt(dir.path(), &key_file, &id, &bad, None);
            assert!(!ok && err.contains("rejected: chunk-integrity 1"), "{err}");
            let (ok, _, err) = run_decrypt(dir.path(), &key_file, &ObjectId([0; 16]), &stored, None);
            assert!(!ok && err.contains("rejected: object-id-mismatch"), "{err}");
            // A header alone is a truncated object, not an empty plaintext.
            let (ok, got, err) = run_decrypt(dir.path(), &key_file, &id, &stored[..HEADER_LEN], None);
            assert!(!ok && got.is_empty() && err.contains("rejected: truncated 0"), "{err}");
        }
    }
    // A rewrapped object with a passphrase-derived key.
    let params = PassphraseParams {
        m_kib: 256,
        t: 1,
        p: 1,
        salt: vec![3; 16],
    };
    let new = MasterKey::from_passphrase(b"hunter2 but longer", &params).unwrap();
    let plain = pattern(100_000);
    let stored = encrypt(&master, id, DEFAULT_CHUNK_SIZE, 1, &plain, 5);
    let mut rotated = ObjectHeader::parse(&stored[..HEADER_LEN])
        .unwrap()
        .rewrap(&[master], &new, &mut rand::rng())
        .unwrap()
        .to_vec();
    rotated.extend_from_slice(&stored[HEADER_LEN..]);
    std::fs::write(&key_file, new.to_key_text().as_bytes()).unwrap();
    let (ok, got, err) = run_decrypt(dir.path(), &key_file, &id, &rotated, None);
    assert!(ok && got == plain, "{err}");
}
