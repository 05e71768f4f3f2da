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
    assert!(matches!(
        pdf::encrypt(&plain, &too_long),
        Err(Error::InvalidPassword(_))
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
