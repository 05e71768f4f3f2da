//! Which passwords each format accepts (issue 8): one table, written out as data, of password
//! → expected outcome for PDF, Office and ODF. Accepted passwords must round-trip through our
//! own decryption; refused ones must fail with the named problem, before anything is written.
//! The independent tools' view is in `password_oracles.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use strongroom_docs::password::{PasswordProblem, PasswordRole};
use strongroom_docs::pdf::{self, PdfPermissions, PdfProtection};
use strongroom_docs::{Error, odf, office};

/// Office hashing with fewer rounds: the table is about passwords, not about spin counts.
const FAST: office::Options = office::Options { spin_count: 1_000 };

/// What protecting with a password must do.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    /// Protects, and the password opens the result.
    Accepts,
    /// Refused: a control character, with this code point.
    Control(u32),
    /// Refused: a bidirectional control, with this code point.
    Bidi(u32),
    /// Refused (PDF): a character SASLprep prohibits.
    Prohibited(u32),
    /// Refused (PDF): the SASLprep bidirectional rule.
    BidiRule,
    /// Refused (PDF): SASLprep leaves nothing.
    Emptied,
    /// Refused (PDF): over 127 bytes after SASLprep.
    TooLong,
    /// Refused by the format's own length limit (Office: 255 UTF-16 units).
    Length,
}
use Want::*;

struct Case {
    what: &'static str,
    password: String,
    pdf: Want,
    office: Want,
    odf: Want,
    /// PDF: another spelling that must open the result too (the SASLprep form).
    pdf_also: Option<&'static str>,
}

fn case(what: &'static str, password: impl Into<String>, pdf: Want, office: Want, odf: Want) -> Case {
    Case {
        what,
        password: password.into(),
        pdf,
        office,
        odf,
        pdf_also: None,
    }
}

fn cases() -> Vec<Case> {
    let mut v = vec![
        case("issue 8: emoji", "emoji-🔒-pass-1", Accepts, Accepts, Accepts),
        case("emoji only", "🔒🗝️🔑", Accepts, Accepts, Accepts),
        case(
            "ZWJ emoji sequence",
            "👨\u{200D}👩\u{200D}👧 family",
            Accepts,
            Accepts,
            Accepts,
        ),
        case("Cyrillic and Greek", "пароль-κωδικός", Accepts, Accepts, Accepts),
        case("Hebrew only", "סיסמה", Accepts, Accepts, Accepts),
        case("Han", "密码口令", Accepts, Accepts, Accepts),
        case("spaces inside and around", " pass word ", Accepts, Accepts, Accepts),
        case("tab", "tab\tpass", Control(0x09), Control(0x09), Control(0x09)),
        case("NUL", "nul\0pass", Control(0x00), Control(0x00), Control(0x00)),
        case("CR", "cr\rpass", Control(0x0D), Control(0x0D), Control(0x0D)),
        case("LF", "lf\npass", Control(0x0A), Control(0x0A), Control(0x0A)),
        case("CR LF", "crlf\r\npass", Control(0x0D), Control(0x0D), Control(0x0D)),
        case("DEL", "del\u{7F}", Control(0x7F), Control(0x7F), Control(0x7F)),
        case("C1 NEL", "nel\u{85}x", Control(0x85), Control(0x85), Control(0x85)),
        case(
            "line separator",
            "line\u{2028}sep",
            Control(0x2028),
            Control(0x2028),
            Control(0x2028),
        ),
        case(
            "RLO (U+202E)",
            "abc\u{202E}fed",
            Bidi(0x202E),
            Bidi(0x202E),
            Bidi(0x202E),
        ),
        case("LRM", "lrm\u{200E}x", Bidi(0x200E), Bidi(0x200E), Bidi(0x200E)),
        case(
            "RLI isolate",
            "x\u{2067}y\u{2069}",
            Bidi(0x2067),
            Bidi(0x2067),
            Bidi(0x2067),
        ),
        case(
            "Arabic letter mark",
            "x\u{061C}y",
            Bidi(0x061C),
            Bidi(0x061C),
            Bidi(0x061C),
        ),
        case("private use", "private\u{E000}", Prohibited(0xE000), Accepts, Accepts),
        case(
            "replacement character",
            "bad\u{FFFD}utf8",
            Prohibited(0xFFFD),
            Accepts,
            Accepts,
        ),
        case("tag character", "tag\u{E0041}", Prohibited(0xE0041), Accepts, Accepts),
        case("Hebrew then digits", "סיסמה123", BidiRule, Accepts, Accepts),
        case("Hebrew and Latin", "סיסמה abc סיסמה", BidiRule, Accepts, Accepts),
        case("only soft hyphens", "\u{AD}\u{AD}", Emptied, Accepts, Accepts),
        case("127 ASCII bytes", "a".repeat(127), Accepts, Accepts, Accepts),
        case("128 ASCII bytes", "a".repeat(128), TooLong, Accepts, Accepts),
        case("64 × é = 128 bytes", "é".repeat(64), TooLong, Accepts, Accepts),
        case("32 emoji = 128 bytes", "🔒".repeat(32), TooLong, Accepts, Accepts),
        case("256 characters", "b".repeat(256), TooLong, Length, Accepts),
    ];
    let mapped = [
        ("no-break space (mapped to space)", "nbsp\u{A0}pass", "nbsp pass"),
        ("soft hyphen (mapped to nothing)", "soft\u{AD}hyphen", "softhyphen"),
        ("decomposed é (NFKC composes it)", "caf\u{65}\u{301}", "caf\u{E9}"),
        ("ligature ﬁ (NFKC: fi)", "\u{FB01}nal", "final"),
        ("ideographic space", "全角\u{3000}空白", "全角 空白"),
    ];
    for (what, password, prepared) in mapped {
        v.push(Case {
            pdf_also: Some(prepared),
            ..case(what, password, Accepts, Accepts, Accepts)
        });
    }
    v
}

/// The outcome an error stands for.
fn outcome(e: &Error, which: PasswordRole) -> Want {
    match e {
        Error::UnusablePassword { which: w, problem } => {
            assert_eq!(*w, which, "{e}");
            // The message names the code point and never echoes the password.
            match *problem {
                PasswordProblem::Control(c) => Control(c),
                PasswordProblem::BidiControl(c) => Bidi(c),
                PasswordProblem::ProhibitedInPdf(c, _) => Prohibited(c),
                PasswordProblem::PdfBidiRule => BidiRule,
                PasswordProblem::EmptyAfterPreparation => Emptied,
                PasswordProblem::TooLongForPdf => TooLong,
                other => panic!("unexpected problem {other:?}"),
            }
        }
        Error::InvalidPassword(_) => Length,
        other => panic!("unexpected error {other}"),
    }
}

fn assert_named(e: &Error, want: Want, password: &str) {
    let msg = e.to_string();
    if let Control(c) | Bidi(c) | Prohibited(c) = want {
        assert!(msg.contains(&format!("(U+{c:04X})")), "{msg}");
    }
    if let Control(_) = want {
        assert!(msg.contains("control character"), "{msg}");
    }
    if let Bidi(_) = want {
        assert!(msg.contains("bidirectional control character"), "{msg}");
    }
    assert!(!msg.contains(password), "the message echoes the password: {msg}");
}

#[test]
fn pdf_table() {
    let plain = common::pdf_with_text(&["Password table"]);
    for c in cases() {
        let protection = PdfProtection {
            user_password: &c.password,
            owner_password: Some("owner pass 1"),
            permissions: PdfPermissions::ALL,
        };
        match (pdf::encrypt(&plain, &protection), c.pdf) {
            (Ok(enc), Accepts) => {
                assert_eq!(pdf::encryption_info(&enc).unwrap().unwrap().revision, 6, "{}", c.what);
                let dec = pdf::decrypt(&enc, &c.password).unwrap_or_else(|e| panic!("{}: {e}", c.what));
                assert!(common::pdf_text(&dec).contains("Password table"), "{}", c.what);
                if let Some(other) = c.pdf_also {
                    pdf::decrypt(&enc, other).unwrap_or_else(|e| panic!("{} as {other:?}: {e}", c.what));
                }
                assert!(
                    matches!(pdf::decrypt(&enc, "not it"), Err(Error::WrongPassword)),
                    "{}",
                    c.what
                );
            }
            (Err(e), want) if want != Accepts => {
                assert_eq!(outcome(&e, PasswordRole::Password), want, "{}: {e}", c.what);
                assert_named(&e, want, &c.password);
            }
            (got, want) => panic!("{}: expected {want:?}, got {:?}", c.what, got.map(|_| "a PDF")),
        }
        // The same password as owner password: the same verdict, naming the owner password.
        let as_owner = PdfProtection {
            user_password: "user pass 1",
            owner_password: Some(&c.password),
            permissions: PdfPermissions::NONE,
        };
        match (pdf::encrypt(&plain, &as_owner), c.pdf) {
            (Ok(enc), Accepts) => {
                pdf::decrypt(&enc, &c.password).unwrap_or_else(|e| panic!("{} as owner: {e}", c.what));
                assert!(matches!(
                    pdf::decrypt(&enc, "user pass 1"),
                    Err(Error::OwnerPasswordRequired)
                ));
            }
            (Err(e), want) if want != Accepts => {
                assert_eq!(
                    outcome(&e, PasswordRole::OwnerPassword),
                    want,
                    "{} as owner: {e}",
                    c.what
                );
                assert!(e.to_string().starts_with("owner password "), "{e}");
            }
            (got, want) => panic!("{} as owner: expected {want:?}, got {:?}", c.what, got.map(|_| "a PDF")),
        }
    }
}

#[test]
fn office_table() {
    let plain = common::docx(&["Password table"]);
    for c in cases() {
        match (office::encrypt_bytes(&plain, &c.password, &FAST), c.office) {
            (Ok(enc), Accepts) => {
                assert_eq!(office::decrypt_bytes(&enc, &c.password).unwrap(), plain, "{}", c.what);
                assert!(matches!(
                    office::decrypt_bytes(&enc, "not it"),
                    Err(Error::WrongPassword)
                ));
            }
            (Err(e), want) if want != Accepts => {
                assert_eq!(outcome(&e, PasswordRole::Password), want, "{}: {e}", c.what);
                assert_named(&e, want, &c.password);
            }
            (got, want) => panic!("{}: expected {want:?}, got {:?}", c.what, got.map(|_| "a document")),
        }
    }
}

#[test]
fn odf_table() {
    let plain = common::odt(&["Password table"]);
    for c in cases() {
        match (odf::encrypt_bytes(&plain, &c.password), c.odf) {
            (Ok(enc), Accepts) => {
                let dec = odf::decrypt_bytes(&enc, &c.password).unwrap_or_else(|e| panic!("{}: {e}", c.what));
                assert_eq!(
                    common::zip_entry(&dec, "content.xml"),
                    common::zip_entry(&plain, "content.xml")
                );
                assert!(matches!(odf::decrypt_bytes(&enc, "not it"), Err(Error::WrongPassword)));
            }
            (Err(e), want) if want != Accepts => {
                assert_eq!(outcome(&e, PasswordRole::Password), want, "{}: {e}", c.what);
                assert_named(&e, want, &c.password);
            }
            (got, want) => panic!("{}: expected {want:?}, got {:?}", c.what, got.map(|_| "a document")),
        }
    }
}

/// Office and ODF hash the password as given (no normalisation, as Word and LibreOffice do):
/// the SASLprep spelling that opens a PDF does not open them.
#[test]
fn office_and_odf_do_not_normalise() {
    let enc = office::encrypt_bytes(&common::docx(&["x"]), "nbsp\u{A0}pass", &FAST).unwrap();
    assert!(matches!(
        office::decrypt_bytes(&enc, "nbsp pass"),
        Err(Error::WrongPassword)
    ));
    let enc = odf::encrypt_bytes(&common::odt(&["x"]), "caf\u{65}\u{301}").unwrap();
    assert!(matches!(
        odf::decrypt_bytes(&enc, "caf\u{E9}"),
        Err(Error::WrongPassword)
    ));
}

/// Owner and user password are compared after SASLprep: these two are one PDF password.
#[test]
fn pdf_owner_and_user_must_differ_once_prepared() {
    let plain = common::pdf_with_text(&["x"]);
    let same = PdfProtection {
        user_password: "a\u{A0}b",
        owner_password: Some("a b"),
        permissions: PdfPermissions::NONE,
    };
    assert!(matches!(pdf::encrypt(&plain, &same), Err(Error::InvalidOptions(_))));
}

/// Unprotecting tries any password (files made elsewhere may use characters we would not set):
/// a guess the protect rules would refuse is simply a wrong password, never another error.
#[test]
fn unprotect_accepts_any_password_to_try() {
    let plain = common::pdf_with_text(&["x"]);
    let enc = pdf::encrypt(
        &plain,
        &PdfProtection {
            user_password: "right",
            owner_password: None,
            permissions: PdfPermissions::ALL,
        },
    )
    .unwrap();
    for guess in ["tab\tx", "rlo\u{202E}x", "\u{AD}", "🔒"] {
        assert!(
            matches!(pdf::decrypt(&enc, guess), Err(Error::WrongPassword)),
            "{guess:?}"
        );
    }
    let enc = office::encrypt_bytes(&common::docx(&["x"]), "right", &FAST).unwrap();
    assert!(matches!(
        office::decrypt_bytes(&enc, "tab\tx"),
        Err(Error::WrongPassword)
    ));
}
