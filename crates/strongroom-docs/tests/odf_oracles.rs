//! LibreOffice, through UNO, as the independent verifier of our ODF encryption: it opens what
//! we encrypted with the password and only with it, and we decrypt what it encrypted. SKIPs
//! loudly when LibreOffice is missing; fails instead under `STRONGROOM_REQUIRE_ORACLES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use strongroom_docs::{Error, odf};

fn libreoffice() -> bool {
    common::oracle_available(
        "LibreOffice + python3-uno",
        Command::new("/usr/bin/python3").args([
            "-c",
            "import uno, shutil, sys; sys.exit(0 if shutil.which('soffice') else 1)",
        ]),
    )
}

fn text_of(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .trim_start_matches('\u{feff}')
        .to_owned()
}

#[test]
fn libreoffice_opens_our_encrypted_odf_with_the_password_only() {
    if !libreoffice() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pw = "Öffne mich 7";
    // Our own minimal .odt, and a real .ods written (unencrypted) by LibreOffice: it has
    // Configurations2/ directories, a thumbnail, manifest.rdf, settings.xml.
    let lo_plain = d.join("lo-plain.ods");
    let made = common::lo_jobs(
        "docs_lo_store_encrypted.py",
        serde_json::json!([{"kind": "ods", "text": "Zelle aus LibreOffice", "password": null, "out": lo_plain}]),
    );
    assert!(made[0].is_ok(), "{:?}", made[0]);
    let odt = common::write_file(
        d,
        "ours.odt",
        &odf::encrypt_bytes(&common::odt(&["First line ✓", "Second line"]), pw).unwrap(),
    );
    let ods = common::write_file(
        d,
        "ours.ods",
        &odf::encrypt_bytes(&std::fs::read(&lo_plain).unwrap(), pw).unwrap(),
    );
    let out: Vec<PathBuf> = (0..5).map(|i| d.join(format!("out{i}.txt"))).collect();
    let jobs = serde_json::json!([
        {"in": odt, "password": pw, "filter": "Text", "out": out[0]},
        {"in": ods, "password": pw, "filter": "Text - txt - csv (StarCalc)", "out": out[1]},
        {"in": odt, "password": "wrong", "filter": "Text", "out": out[2]},
        {"in": odt, "password": null, "filter": "Text", "out": out[3]},
        {"in": ods, "password": "wrong", "filter": "Text - txt - csv (StarCalc)", "out": out[4]},
    ]);
    let results = common::lo_jobs("docs_lo_open.py", jobs);
    assert!(results[0].is_ok(), "odt with the password: {:?}", results[0]);
    assert_eq!(
        text_of(&out[0]).lines().collect::<Vec<_>>(),
        ["First line ✓", "Second line"]
    );
    assert!(results[1].is_ok(), "ods with the password: {:?}", results[1]);
    assert!(text_of(&out[1]).contains("Zelle aus LibreOffice"));
    for (i, what) in [
        (2, "odt, wrong password"),
        (3, "odt, no password"),
        (4, "ods, wrong password"),
    ] {
        assert!(results[i].is_err(), "{what} must not open");
        assert!(!out[i].exists(), "{what}: nothing exported");
    }
}

#[test]
fn we_decrypt_what_libreoffice_encrypted() {
    if !libreoffice() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pw = "LibreOffice pässword";
    let (odt, ods) = (d.join("lo.odt"), d.join("lo.ods"));
    let made = common::lo_jobs(
        "docs_lo_store_encrypted.py",
        serde_json::json!([
            {"kind": "odt", "text": "Written by LibreOffice", "password": pw, "out": odt},
            {"kind": "ods", "text": "Cell by LibreOffice", "password": pw, "out": ods},
        ]),
    );
    assert!(made.iter().all(Result::is_ok), "{made:?}");
    let odt_bytes = std::fs::read(&odt).unwrap();
    let ods_bytes = std::fs::read(&ods).unwrap();
    assert!(odf::is_encrypted(std::io::Cursor::new(&odt_bytes)).unwrap());
    assert!(matches!(
        odf::decrypt_bytes(&odt_bytes, "wrong"),
        Err(Error::WrongPassword)
    ));

    let plain_odt = odf::decrypt_bytes(&odt_bytes, pw).unwrap();
    let plain_ods = odf::decrypt_bytes(&ods_bytes, pw).unwrap();
    let content = String::from_utf8(common::zip_entry(&plain_odt, "content.xml")).unwrap();
    assert!(content.contains("Written by LibreOffice"), "{content}");
    let content = String::from_utf8(common::zip_entry(&plain_ods, "content.xml")).unwrap();
    assert!(content.contains("Cell by LibreOffice"), "{content}");

    // And LibreOffice opens our decrypted files without a password.
    let (p1, p2) = (
        common::write_file(d, "plain.odt", &plain_odt),
        common::write_file(d, "plain.ods", &plain_ods),
    );
    let (t1, t2) = (d.join("1.txt"), d.join("2.csv"));
    let results = common::lo_jobs(
        "docs_lo_open.py",
        serde_json::json!([
            {"in": p1, "password": null, "filter": "Text", "out": t1},
            {"in": p2, "password": null, "filter": "Text - txt - csv (StarCalc)", "out": t2},
        ]),
    );
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert!(text_of(&t1).contains("Written by LibreOffice"));
    assert!(text_of(&t2).contains("Cell by LibreOffice"));
}
