//! Independent verifiers of our PDF encryption: qpdf and pdftotext (poppler). SKIP loudly
//! when missing; fail when `STRONGROOM_REQUIRE_ORACLES=1`.

// Test code: helpers outside #[test] fns may unwrap and index (clippy.toml only covers #[test]).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::process::Command;

use strongroom_docs::Error;
use strongroom_docs::pdf::{self, PdfPermissions, PdfProtection};

fn qpdf() -> bool {
    common::oracle_available("qpdf", Command::new("qpdf").arg("--version"))
}

fn pdftotext() -> bool {
    common::oracle_available("pdftotext (poppler-utils)", Command::new("pdftotext").arg("-v"))
}

fn qpdf_code(args: &[&str], file: &std::path::Path) -> i32 {
    Command::new("qpdf")
        .args(args)
        .arg(file)
        .output()
        .unwrap()
        .status
        .code()
        .unwrap_or(-1)
}

#[test]
fn qpdf_reports_r6_aesv3_and_our_permissions() {
    if !qpdf() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plain = common::pdf_with_text(&["Permissions test"]);
    let cases = [
        (
            PdfPermissions {
                print: true,
                copy: false,
                modify: false,
                annotate: false,
            },
            "print",
        ),
        (
            PdfPermissions {
                print: false,
                copy: true,
                modify: true,
                annotate: false,
            },
            "copy+modify",
        ),
        (PdfPermissions::NONE, "none"),
        (PdfPermissions::ALL, "all"),
    ];
    for (perms, label) in cases {
        let enc = pdf::encrypt(
            &plain,
            &PdfProtection {
                user_password: "u-pass",
                owner_password: Some("o-pass"),
                permissions: perms,
            },
        )
        .unwrap();
        let f = common::write_file(dir.path(), &format!("{label}.pdf"), &enc);
        let (ok, out, err) = common::run(
            Command::new("qpdf")
                .args(["--show-encryption", "--password=o-pass"])
                .arg(&f),
        );
        assert!(ok, "{label}: {err}");
        assert!(out.contains("R = 6"), "{label}: {out}");
        assert!(out.contains("Supplied password is owner password"), "{label}: {out}");
        for method in ["stream", "string", "file"] {
            assert!(
                out.contains(&format!("{method} encryption method: AESv3")),
                "{label}: {out}"
            );
        }
        let yes = |b: bool| if b { "allowed" } else { "not allowed" };
        for (line, expected) in [
            ("print low resolution", perms.print),
            ("print high resolution", perms.print),
            ("extract for any purpose", perms.copy),
            ("extract for accessibility", true),
            ("modify other", perms.modify),
            ("modify document assembly", perms.modify),
            ("modify annotations", perms.annotate),
            ("modify forms", perms.annotate),
        ] {
            assert!(
                out.contains(&format!("{line}: {}\n", yes(expected))),
                "{label}/{line}: {out}"
            );
        }
        // The user password opens it too; a wrong one does not (exit 0 = password needed).
        let (ok, out, _) = common::run(
            Command::new("qpdf")
                .args(["--show-encryption", "--password=u-pass"])
                .arg(&f),
        );
        assert!(
            ok && out.contains("Supplied password is user password"),
            "{label}: {out}"
        );
        assert_eq!(
            qpdf_code(&["--requires-password", "--password=wrong"], &f),
            0,
            "{label}"
        );
        assert_eq!(
            qpdf_code(&["--requires-password", "--password=u-pass"], &f),
            3,
            "{label}"
        );
        // Structurally clean: qpdf --check finds no damage (exit 0, no warnings).
        let (ok, out, err) = common::run(Command::new("qpdf").args(["--check", "--password=o-pass"]).arg(&f));
        assert!(ok && !err.contains("WARNING"), "{label}: {out} {err}");
    }
}

#[test]
fn qpdf_decrypts_ours_and_pdftotext_shows_the_text() {
    if !qpdf() || !pdftotext() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plain = common::pdf_with_text(&["Strongroom secret text", "line two"]);
    let enc = pdf::encrypt(
        &plain,
        &PdfProtection {
            user_password: "open me",
            owner_password: Some("own"),
            permissions: PdfPermissions::NONE,
        },
    )
    .unwrap();
    let f = common::write_file(dir.path(), "enc.pdf", &enc);
    // Without the password poppler must not get at the text.
    let (ok, _, _) = common::run(Command::new("pdftotext").arg(&f).arg("-"));
    assert!(!ok, "pdftotext must fail without the password");
    let out = dir.path().join("dec.pdf");
    let (ok, _, err) = common::run(
        Command::new("qpdf")
            .args(["--decrypt", "--password=open me"])
            .arg(&f)
            .arg(&out),
    );
    assert!(ok, "{err}");
    let (ok, text, err) = common::run(Command::new("pdftotext").arg(&out).arg("-"));
    assert!(ok, "{err}");
    assert!(
        text.contains("Strongroom secret text") && text.contains("line two"),
        "{text}"
    );
    // pdftotext with the user password reads our encrypted file directly as well.
    let (ok, text, _) = common::run(Command::new("pdftotext").args(["-upw", "open me"]).arg(&f).arg("-"));
    assert!(ok && text.contains("Strongroom secret text"), "{text}");
}

#[test]
fn we_decrypt_what_qpdf_encrypted() {
    if !qpdf() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = common::write_file(dir.path(), "plain.pdf", &common::pdf_with_text(&["made plain by qpdf"]));
    let enc = dir.path().join("qpdf-enc.pdf");
    let (ok, _, err) = common::run(
        Command::new("qpdf")
            .args(["--encrypt", "usr", "own", "256", "--print=none", "--extract=n", "--"])
            .arg(&src)
            .arg(&enc),
    );
    assert!(ok, "{err}");
    let enc = std::fs::read(enc).unwrap();
    let info = pdf::encryption_info(&enc).unwrap().unwrap();
    assert_eq!(info.revision, 6);
    assert!(!info.permissions.print && !info.permissions.copy && info.permissions.modify);
    assert!(matches!(pdf::decrypt(&enc, "bad"), Err(Error::WrongPassword)));
    assert!(matches!(pdf::decrypt(&enc, "usr"), Err(Error::OwnerPasswordRequired)));
    let dec = pdf::decrypt(&enc, "own").unwrap();
    assert!(common::pdf_text(&dec).contains("made plain by qpdf"));
    assert_eq!(pdf::encryption_info(&dec).unwrap(), None);
}
