//! Issue 8's passwords checked by the independent tools: qpdf for PDF (emoji, and passwords
//! SASLprep changes), msoffcrypto-tool for Office, LibreOffice for ODF and Office, both ways.
//! SKIPs loudly when a tool is missing; fails instead under `STRONGROOM_REQUIRE_ORACLES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::path::Path;
use std::process::Command;

use strongroom_docs::pdf::{self, PdfPermissions, PdfProtection};
use strongroom_docs::{Error, odf, office};

const EMOJI: &str = "emoji-🔒-pass-1";

fn qpdf() -> bool {
    common::oracle_available("qpdf", Command::new("qpdf").arg("--version"))
}

fn msoffcrypto() -> bool {
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

/// `qpdf --decrypt --password=PW in out`; the text of `out` when it succeeded.
fn qpdf_decrypt(dir: &Path, enc: &Path, password: &str) -> Option<String> {
    let out = dir.join("qpdf-out.pdf");
    let _ = std::fs::remove_file(&out);
    let (ok, _, _) = common::run(
        Command::new("qpdf")
            .arg(format!("--password={password}"))
            .arg("--decrypt")
            .arg(enc)
            .arg(&out),
    );
    ok.then(|| common::pdf_text(&std::fs::read(&out).unwrap()))
}

#[test]
fn qpdf_opens_our_emoji_pdf() {
    if !qpdf() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plain = common::pdf_with_text(&["Emoji protected"]);
    // As user password (nothing restricted) and as owner password of a restricted document.
    for (user, owner, perms, label) in [
        (EMOJI, Some("owner pass 1"), PdfPermissions::ALL, "user"),
        ("user pass 1", Some(EMOJI), PdfPermissions::NONE, "owner"),
    ] {
        let enc = pdf::encrypt(
            &plain,
            &PdfProtection {
                user_password: user,
                owner_password: owner,
                permissions: perms,
            },
        )
        .unwrap();
        let f = common::write_file(dir.path(), &format!("{label}.pdf"), &enc);
        let text = qpdf_decrypt(dir.path(), &f, EMOJI).unwrap_or_else(|| panic!("qpdf cannot open it ({label})"));
        assert!(text.contains("Emoji protected"), "{label}: {text}");
        let (ok, out, err) = common::run(
            Command::new("qpdf")
                .arg("--show-encryption")
                .arg(format!("--password={EMOJI}"))
                .arg(&f),
        );
        assert!(ok, "{label}: {err}");
        assert!(
            out.contains("R = 6") && out.contains(&format!("Supplied password is {label} password")),
            "{label}: {out}"
        );
        assert!(
            qpdf_decrypt(dir.path(), &f, "emoji-pass-1").is_none(),
            "{label}: a wrong password opened it"
        );
    }
}

/// qpdf hashes the bytes it is given, without SASLprep; we write the SASLprep form as PDF 2.0
/// says. So in qpdf a password SASLprep changes is typed in its prepared form (as
/// `docs/protect.md` says), and in Strongroom either form opens the document.
#[test]
fn qpdf_opens_saslprep_mapped_passwords_in_their_prepared_form() {
    if !qpdf() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plain = common::pdf_with_text(&["Mapped password"]);
    for (given, prepared) in [
        ("no\u{A0}break\u{A0}space", "no break space"),
        ("soft\u{AD}hy\u{AD}phen", "softhyphen"),
        ("caf\u{65}\u{301} \u{FB01}n", "caf\u{E9} fin"),
    ] {
        let enc = pdf::encrypt(
            &plain,
            &PdfProtection {
                user_password: given,
                owner_password: None,
                permissions: PdfPermissions::ALL,
            },
        )
        .unwrap();
        let f = common::write_file(dir.path(), "mapped.pdf", &enc);
        let text = qpdf_decrypt(dir.path(), &f, prepared).unwrap_or_else(|| panic!("qpdf: {prepared:?}"));
        assert!(text.contains("Mapped password"), "{text}");
        for password in [given, prepared] {
            let dec = pdf::decrypt(&enc, password).unwrap();
            assert!(common::pdf_text(&dec).contains("Mapped password"));
        }
    }
}

/// What qpdf encrypted with an emoji or a no-break space (hashing the bytes as given) we open
/// with the same password: we try the SASLprep form, then the bytes as given.
#[test]
fn we_decrypt_what_qpdf_encrypted_with_unicode_passwords() {
    if !qpdf() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plain = common::write_file(dir.path(), "plain.pdf", &common::pdf_with_text(&["From qpdf"]));
    for password in [EMOJI, "no\u{A0}break", "tab\tpass"] {
        let enc = dir.path().join("qpdf-enc.pdf");
        let (ok, _, err) = common::run(
            Command::new("qpdf")
                .args(["--encrypt", password, "qpdf owner", "256", "--"])
                .arg(&plain)
                .arg(&enc),
        );
        assert!(ok, "qpdf --encrypt: {err}");
        let enc = std::fs::read(&enc).unwrap();
        let dec = pdf::decrypt(&enc, password).unwrap_or_else(|e| panic!("{password:?}: {e}"));
        assert!(common::pdf_text(&dec).contains("From qpdf"));
        assert!(matches!(pdf::decrypt(&enc, "wrong"), Err(Error::WrongPassword)));
    }
}

#[test]
fn msoffcrypto_round_trips_emoji_passwords() {
    if !msoffcrypto() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Over 4 KiB: msoffcrypto-tool 6.1 writes a wrong data-integrity HMAC for packages that
    // end up in the compound file's mini stream (its own `verify_integrity=True` rejects them).
    let plain = common::docx_with(&["Emoji Office"], 9000, false);
    let ours = common::write_file(
        dir.path(),
        "ours.docx",
        &office::encrypt_bytes(&plain, EMOJI, &office::Options::default()).unwrap(),
    );
    let dec = dir.path().join("dec.docx");
    let (ok, _, err) = common::run(
        Command::new("msoffcrypto-tool")
            .args(["-p", EMOJI])
            .arg(&ours)
            .arg(&dec),
    );
    assert!(ok, "msoffcrypto-tool cannot open ours: {err}");
    assert_eq!(std::fs::read(&dec).unwrap(), plain);
    // msoffcrypto-tool leaves a garbage file on a wrong password: the exit code decides.
    let (ok, _, _) = common::run(
        Command::new("msoffcrypto-tool")
            .args(["-p", "emoji-pass-1"])
            .arg(&ours)
            .arg(dir.path().join("x.docx")),
    );
    assert!(!ok, "a wrong password opened it");

    let src = common::write_file(dir.path(), "plain.docx", &plain);
    let theirs = dir.path().join("theirs.docx");
    let (ok, _, err) = common::run(
        Command::new("msoffcrypto-tool")
            .args(["-e", "-p", EMOJI])
            .arg(&src)
            .arg(&theirs),
    );
    assert!(ok, "msoffcrypto-tool -e: {err}");
    assert_eq!(
        office::decrypt_bytes(&std::fs::read(&theirs).unwrap(), EMOJI).unwrap(),
        plain
    );
}

#[test]
fn libreoffice_opens_our_emoji_odf_and_docx() {
    if !libreoffice() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let odt = common::write_file(
        d,
        "emoji.odt",
        &odf::encrypt_bytes(&common::odt(&["Emoji ODF"]), EMOJI).unwrap(),
    );
    let docx = common::write_file(
        d,
        "emoji.docx",
        &office::encrypt_bytes(&common::docx(&["Emoji DOCX"]), EMOJI, &office::Options::default()).unwrap(),
    );
    let out: Vec<_> = (0..3).map(|i| d.join(format!("out{i}.txt"))).collect();
    let results = common::lo_jobs(
        "docs_lo_open.py",
        serde_json::json!([
            {"in": odt, "password": EMOJI, "filter": "Text", "out": out[0]},
            {"in": docx, "password": EMOJI, "filter": "Text", "out": out[1]},
            {"in": odt, "password": "emoji-pass-1", "filter": "Text", "out": out[2]},
        ]),
    );
    assert!(results[0].is_ok(), "odt: {:?}", results[0]);
    assert!(std::fs::read_to_string(&out[0]).unwrap().contains("Emoji ODF"));
    assert!(results[1].is_ok(), "docx: {:?}", results[1]);
    assert!(std::fs::read_to_string(&out[1]).unwrap().contains("Emoji DOCX"));
    assert!(results[2].is_err(), "a wrong password opened the odt");
    assert!(!out[2].exists());
}
