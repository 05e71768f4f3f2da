//! PDF AES-256 (R6) protection: round trips and refusals.

// Test code: helpers outside #[test] fns may unwrap and index (clippy.toml only covers #[test]).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use strongroom_docs::pdf::{self, PdfPermissions, PdfProtection};
use strongroom_docs::{Error, Format};

fn restricted<'a>() -> PdfProtection<'a> {
    PdfProtection {
        user_password: "user pw",
        owner_password: Some("owner pw"),
        permissions: PdfPermissions {
            print: true,
            copy: false,
            modify: false,
            annotate: false,
        },
    }
}

#[test]
fn round_trip_with_owner_password() {
    let plain = common::pdf_with_text(&["Hello PDF", "Second line"]);
    let enc = pdf::encrypt(&plain, &restricted()).unwrap();
    assert_eq!(strongroom_docs::detect_format(&enc), Format::Pdf);
    assert!(!enc.windows(9).any(|w| w == b"Hello PDF"), "text must not be visible");
    let info = pdf::encryption_info(&enc).unwrap().unwrap();
    assert_eq!(info.revision, 6);
    assert_eq!(info.permissions, restricted().permissions);
    assert_eq!(pdf::encryption_info(&plain).unwrap(), None);

    let dec = pdf::decrypt(&enc, "owner pw").unwrap();
    assert_eq!(pdf::encryption_info(&dec).unwrap(), None);
    let text = common::pdf_text(&dec);
    assert!(text.contains("Hello PDF") && text.contains("Second line"), "{text}");
}

#[test]
fn user_password_removes_protection_only_without_restrictions() {
    let plain = common::pdf_with_text(&["x"]);
    let enc = pdf::encrypt(&plain, &restricted()).unwrap();
    assert!(matches!(
        pdf::decrypt(&enc, "user pw"),
        Err(Error::OwnerPasswordRequired)
    ));
    let open = PdfProtection {
        permissions: PdfPermissions::ALL,
        ..restricted()
    };
    let enc = pdf::encrypt(&plain, &open).unwrap();
    assert!(common::pdf_text(&pdf::decrypt(&enc, "user pw").unwrap()).contains('x'));
}

#[test]
fn wrong_password_and_empty_user_password() {
    let plain = common::pdf_with_text(&["x"]);
    let enc = pdf::encrypt(&plain, &restricted()).unwrap();
    assert!(matches!(pdf::decrypt(&enc, "nope"), Err(Error::WrongPassword)));
    assert!(matches!(pdf::decrypt(&enc, ""), Err(Error::WrongPassword)));

    // Empty user password: anyone opens it, but a wrong password must not lift restrictions.
    let no_user = PdfProtection {
        user_password: "",
        ..restricted()
    };
    let enc = pdf::encrypt(&plain, &no_user).unwrap();
    assert!(matches!(pdf::decrypt(&enc, "wrong"), Err(Error::WrongPassword)));
    assert!(matches!(pdf::decrypt(&enc, ""), Err(Error::OwnerPasswordRequired)));
    assert!(pdf::decrypt(&enc, "owner pw").is_ok());
    assert!(matches!(
        pdf::encrypt(&enc, &restricted()),
        Err(Error::AlreadyProtected)
    ));
}

#[test]
fn refusals() {
    let plain = common::pdf_with_text(&["x"]);
    let enc = pdf::encrypt(&plain, &restricted()).unwrap();
    assert!(matches!(
        pdf::encrypt(&enc, &restricted()),
        Err(Error::AlreadyProtected)
    ));
    assert!(matches!(pdf::decrypt(&plain, "pw"), Err(Error::NotProtected)));
    assert!(matches!(
        pdf::encrypt(&common::docx(&["x"]), &restricted()),
        Err(Error::WrongFormat { found: Format::Zip, .. })
    ));
    let same = PdfProtection {
        owner_password: Some("user pw"),
        ..restricted()
    };
    assert!(matches!(pdf::encrypt(&plain, &same), Err(Error::InvalidOptions(_))));
    let long = "p".repeat(128);
    let too_long = PdfProtection {
        user_password: &long,
        ..restricted()
    };
    // The limit applies after SASLprep and names the password (crate::password).
    assert!(matches!(
        pdf::encrypt(&plain, &too_long),
        Err(Error::UnusablePassword {
            problem: strongroom_docs::password::PasswordProblem::TooLongForPdf,
            ..
        })
    ));
    // Random owner password: restrictions can never be lifted, user password still opens.
    let anon = PdfProtection {
        owner_password: None,
        ..restricted()
    };
    let enc = pdf::encrypt(&plain, &anon).unwrap();
    assert!(matches!(
        pdf::decrypt(&enc, "user pw"),
        Err(Error::OwnerPasswordRequired)
    ));
}

#[test]
fn truncated_pdfs_never_panic() {
    let enc = pdf::encrypt(&common::pdf_with_text(&["x"]), &restricted()).unwrap();
    for cut in (0..enc.len()).step_by(53) {
        let _ = pdf::decrypt(&enc[..cut], "owner pw");
        let _ = pdf::encryption_info(&enc[..cut]);
    }
}

/// A hand-written PDF whose page tree names page `5 0 R`, an object the file does not
/// define (a dangling reference, as in damaged files): objects 1–4 only.
fn pdf_with_dangling_page() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 /MediaBox [0 0 612 792] >>",
        "<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>",
        "<< /Length 44 >>\nstream\nBT /F1 12 Tf 72 712 Td (Hello, fuzz) Tj ET\nendstream",
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// How often `N 0 R` (with no digit before it) occurs in the raw bytes of a PDF. Encryption
/// leaves dictionaries and references readable, so this counts references without a password.
fn raw_references(pdf: &[u8], n: u32) -> usize {
    let pat = format!("{n} 0 R");
    pdf.windows(pat.len())
        .enumerate()
        .filter(|(i, w)| *w == pat.as_bytes() && (*i == 0 || !pdf[i - 1].is_ascii_digit()))
        .count()
}

/// Regression (the `pdf_watermark` fuzz target found this bug in the watermark code; `pdf::encrypt`
/// had it too; see docs/fuzzing.md): lopdf numbers a new object `max_id + 1`, and `max_id` counts only the
/// objects the file defines. A dangling reference to that number (here the page tree's
/// `5 0 R`) was bound to the `/Encrypt` dictionary that `pdf::encrypt` adds, so the protected
/// file listed its own encryption dictionary as a page. New objects must get numbers no
/// reference in the file uses.
#[test]
fn encrypt_dictionary_does_not_capture_a_dangling_reference() {
    let plain = pdf_with_dangling_page();
    let before = lopdf::Document::load_mem(&plain).unwrap();
    assert_eq!(before.max_id, 4);
    assert_eq!(raw_references(&plain, 5), 1);
    let enc = pdf::encrypt(&plain, &restricted()).unwrap();
    let doc = lopdf::Document::load_mem(&enc).unwrap();
    let (encrypt_id, _) = doc.trailer.get(b"Encrypt").unwrap().as_reference().unwrap();
    assert_eq!(
        raw_references(&enc, encrypt_id),
        1,
        "the /Encrypt dictionary {encrypt_id} 0 R is referenced from outside the trailer"
    );
    // And the document still opens and has its real page.
    let back = pdf::decrypt(&enc, "owner pw").unwrap();
    assert!(matches!(pdf::encryption_info(&back), Ok(None)));
}
