//! Independent verifiers of our Office encryption: msoffcrypto-tool and LibreOffice (UNO).
//! Each test SKIPs loudly when its tool is missing, and fails instead when
//! `STRONGROOM_REQUIRE_ORACLES=1` (as in CI).

// Test code: helpers outside #[test] fns may unwrap and index (clippy.toml only covers #[test]).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::path::Path;
use std::process::Command;

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

/// Run LibreOffice jobs (input, password, filter, output); returns one Ok/Err per job.
fn lo_convert(jobs: &[(&Path, Option<&str>, &str, &Path)]) -> Vec<Result<(), String>> {
    let json = serde_json::Value::Array(
        jobs.iter()
            .map(|(i, pw, filter, o)| serde_json::json!({"in": i, "password": pw, "filter": filter, "out": o}))
            .collect(),
    );
    common::lo_jobs("docs_lo_open.py", json)
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

/// PowerPoint too: LibreOffice makes a real two-slide .pptx (from a minimal .odp, so the
/// fixture is a file an office suite wrote), we encrypt it, and LibreOffice opens ours with the
/// password only and renders both slides' text, which `pdftotext` reads back.
#[test]
fn libreoffice_opens_our_encrypted_pptx_with_the_password_only() {
    if !libreoffice() || !common::oracle_available("pdftotext", Command::new("pdftotext").arg("-v")) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let slide = |text: &str| {
        format!(
            r#"<draw:page draw:name="{text}"><draw:frame svg:x="2cm" svg:y="2cm" svg:width="20cm" svg:height="3cm"><draw:text-box><text:p>{text}</text:p></draw:text-box></draw:frame></draw:page>"#
        )
    };
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" office:version="1.3"><office:body><office:presentation>{}{}</office:presentation></office:body></office:document-content>"#,
        slide("Slide one of the board pack"),
        slide("Zweite Folie äöü")
    );
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.presentation"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;
    let odp = common::zip_parts(
        &[
            (
                "mimetype",
                b"application/vnd.oasis.opendocument.presentation".as_slice(),
            ),
            ("content.xml", content.as_bytes()),
            ("META-INF/manifest.xml", manifest.as_bytes()),
        ],
        false,
    );
    let odp_path = common::write_file(d, "deck.odp", &odp);
    let pptx_path = d.join("deck.pptx");
    let made = lo_convert(&[(&odp_path, None, "Impress MS PowerPoint 2007 XML", &pptx_path)]);
    assert!(made[0].is_ok(), "LibreOffice could not make the .pptx: {:?}", made[0]);
    let pptx = std::fs::read(&pptx_path).unwrap();
    assert!(
        common::zip_entries(&pptx)
            .iter()
            .any(|(n, _)| n == "ppt/presentation.xml")
    );

    let pw = "Deck pässword 9";
    let enc = office::encrypt_bytes(&pptx, pw, &Options::default()).unwrap();
    assert_eq!(office::decrypt_bytes(&enc, pw).unwrap(), pptx);
    let enc_path = common::write_file(d, "enc.pptx", &enc);
    let (pdf, wrong) = (d.join("deck.pdf"), d.join("wrong.pdf"));
    let results = lo_convert(&[
        (&enc_path, Some(pw), "impress_pdf_Export", &pdf),
        (&enc_path, Some("not the password"), "impress_pdf_Export", &wrong),
    ]);
    assert!(results[0].is_ok(), "pptx: {:?}", results[0]);
    let (ok, text, err) = common::run(Command::new("pdftotext").arg(&pdf).arg("-"));
    assert!(ok, "{err}");
    assert!(text.contains("Slide one of the board pack"), "{text}");
    assert!(text.contains("Zweite Folie äöü"), "{text}");
    assert!(results[1].is_err(), "a wrong password must not open the presentation");
    assert!(!wrong.exists());
}
