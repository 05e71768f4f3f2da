//! Independent verifiers of our Office encryption: msoffcrypto-tool and LibreOffice (UNO).
//! Each test SKIPs loudly when its tool is missing, and fails instead when
//! `STRONGROOM_REQUIRE_ORACLES=1` (as in CI).

// Test code: helpers outside #[test] fns may unwrap and index (clippy.toml only covers #[test]).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use strongroom_docs::Error;
use strongroom_docs::office::{self, Options};

fn msoffcrypto() -> bool {
    // `-h` exits 0 when the tool is installed.
    common::oracle_available("msoffcrypto-tool", Command::new("msoffcrypto-tool").arg("-h"))
}

fn libreoffice() -> bool {
    common::oracle_available(
        "LibreOffice + python3-uno",
        Command::new("/usr/bin/python3").args([
            "-c",
            "import uno, shutil, sys; sys.exit(0 if shutil.which('soffice') else 1)",
        ]),
    )
}

fn lo_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oracle/docs_lo_open.py")
}

/// Run LibreOffice jobs (input, password, filter, output); returns one Ok/Err per job.
fn lo_convert(jobs: &[(&Path, Option<&str>, &str, &Path)]) -> Vec<Result<(), String>> {
    let json = serde_json::Value::Array(
        jobs.iter()
            .map(|(i, pw, filter, o)| serde_json::json!({"in": i, "password": pw, "filter": filter, "out": o}))
            .collect(),
    );
    let mut child = Command::new("/usr/bin/python3")
        .arg(lo_script())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    serde_json::to_writer(child.stdin.take().unwrap(), &json).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "LibreOffice script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    results
        .into_iter()
        .map(|r| {
            if r["ok"].as_bool() == Some(true) {
                Ok(())
            } else {
                Err(r["error"].as_str().unwrap_or("?").to_owned())
            }
        })
        .collect()
}

#[test]
fn msoffcrypto_decrypts_ours_and_rejects_a_wrong_password() {
    if !msoffcrypto() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, plain) in [
        ("a.docx", common::docx(&["Oracle text ✓"])),
        ("b.xlsx", common::xlsx("Sheet1", &["cell"])),
        ("big.docx", common::docx_with(&["big"], 200_000, false)),
    ] {
        let enc = office::encrypt_bytes(&plain, "S3cret pässword", &Options::default()).unwrap();
        let enc_path = common::write_file(dir.path(), &format!("enc-{name}"), &enc);
        let (ok, _, err) = common::run(Command::new("msoffcrypto-tool").arg("-t").arg(&enc_path));
        assert!(ok, "msoffcrypto-tool -t must see {name} as encrypted: {err}");
        let out = dir.path().join(format!("dec-{name}"));
        let (ok, _, err) = common::run(
            Command::new("msoffcrypto-tool")
                .args(["-p", "S3cret pässword"])
                .arg(&enc_path)
                .arg(&out),
        );
        assert!(ok, "msoffcrypto-tool failed on {name}: {err}");
        assert_eq!(std::fs::read(&out).unwrap(), plain, "{name}");

        let wrong = dir.path().join(format!("wrong-{name}"));
        let (ok, _, _) = common::run(
            Command::new("msoffcrypto-tool")
                .args(["-p", "wrong"])
                .arg(&enc_path)
                .arg(&wrong),
        );
        assert!(!ok, "msoffcrypto-tool must reject a wrong password for {name}");
    }
}

#[test]
fn we_decrypt_what_msoffcrypto_encrypted() {
    if !msoffcrypto() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plain = common::docx_with(&["from msoffcrypto"], 9000, false);
    let src = common::write_file(dir.path(), "plain.docx", &plain);
    let enc = dir.path().join("enc.docx");
    let (ok, _, err) = common::run(
        Command::new("msoffcrypto-tool")
            .args(["-e", "-p", "Pa55 wörd"])
            .arg(&src)
            .arg(&enc),
    );
    assert!(ok, "msoffcrypto-tool -e failed: {err}");
    let enc = std::fs::read(enc).unwrap();
    assert_eq!(office::decrypt_bytes(&enc, "Pa55 wörd").unwrap(), plain);
    assert!(matches!(
        office::decrypt_bytes(&enc, "Pa55 word"),
        Err(Error::WrongPassword)
    ));
}

/// msoffcrypto-tool lists the mini-FAT sector as an extra FAT sector in the DIFAT of packages
/// above ~7 MB; the `cfb` crate rejected those files until `office::container` repaired it.
#[test]
fn regression_msoffcrypto_difat_lists_one_sector_too_many() {
    if !msoffcrypto() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plain = common::docx_with(&["big one"], 8 * 1024 * 1024, false);
    let src = common::write_file(dir.path(), "plain.docx", &plain);
    let enc = dir.path().join("enc.docx");
    let (ok, _, err) = common::run(
        Command::new("msoffcrypto-tool")
            .args(["-e", "-p", "pw"])
            .arg(&src)
            .arg(&enc),
    );
    assert!(ok, "msoffcrypto-tool -e failed: {err}");
    let enc = std::fs::read(enc).unwrap();
    assert!(office::is_encrypted(std::io::Cursor::new(&enc)).unwrap());
    assert!(office::decrypt_bytes(&enc, "pw").unwrap() == plain);
    assert!(matches!(office::decrypt_bytes(&enc, "pW"), Err(Error::WrongPassword)));
}

#[test]
fn msoffcrypto_decrypts_the_committed_test_vector() {
    if !msoffcrypto() {
        return;
    }
    let vector = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/agile-tiny.encrypted.docx");
    let plain = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/agile-tiny.docx");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.docx");
    let (ok, _, err) = common::run(
        Command::new("msoffcrypto-tool")
            .args(["-p", "Strongroom"])
            .arg(&vector)
            .arg(&out),
    );
    assert!(ok, "{err}");
    assert_eq!(std::fs::read(out).unwrap(), std::fs::read(plain).unwrap());
}

#[test]
fn libreoffice_opens_our_encrypted_docx_and_xlsx_with_the_password_only() {
    if !libreoffice() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pw = "Lib re Office 7";
    let docx = office::encrypt_bytes(
        &common::docx(&["First paragraph", "Zweiter Absatz äöü"]),
        pw,
        &Options::default(),
    )
    .unwrap();
    let xlsx = office::encrypt_bytes(&common::xlsx("Numbers", &["alpha", "beta"]), pw, &Options::default()).unwrap();
    let docx_path = common::write_file(d, "enc.docx", &docx);
    let xlsx_path = common::write_file(d, "enc.xlsx", &xlsx);
    let (t1, t2, t3, t4) = (d.join("1.txt"), d.join("2.csv"), d.join("3.txt"), d.join("4.txt"));
    let results = lo_convert(&[
        (&docx_path, Some(pw), "Text", &t1),
        (&xlsx_path, Some(pw), "Text - txt - csv (StarCalc)", &t2),
        (&docx_path, Some("not the password"), "Text", &t3),
        (&docx_path, None, "Text", &t4),
    ]);
    assert!(results[0].is_ok(), "docx: {:?}", results[0]);
    let text = std::fs::read_to_string(&t1).unwrap();
    let text = text.trim_start_matches('\u{feff}');
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        ["First paragraph", "Zweiter Absatz äöü"]
    );
    assert!(results[1].is_ok(), "xlsx: {:?}", results[1]);
    let csv = std::fs::read_to_string(&t2).unwrap();
    assert_eq!(csv.lines().collect::<Vec<_>>(), ["alpha", "beta"]);
    assert!(results[2].is_err(), "a wrong password must not open the document");
    assert!(!t3.exists());
    assert!(results[3].is_err(), "no password must not open the document");
}
