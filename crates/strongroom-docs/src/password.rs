//! Which strings may be document passwords, decided in one place for every format.
//!
//! A password arrives as a JSON string (API) or a line of standard input (CLI) and may hold
//! any Unicode scalar value, but it is only worth setting if its owner can type it again in
//! Word, LibreOffice, Acrobat or qpdf. So every format refuses, through [`check`]:
//!
//! - **control characters** (general category Cc: U+0000–U+001F, U+007F–U+009F) and the line
//!   and paragraph separators U+2028/U+2029: in a password dialog Tab moves the focus away and
//!   Enter submits, NUL ends the string for C programs (qpdf's argv, among others);
//! - **bidirectional formatting controls** (U+061C, U+200E, U+200F, U+202A–U+202E,
//!   U+2066–U+2069): invisible, they reorder what is displayed, so a password shown or pasted
//!   with them is not the one it looks like (the "Trojan Source" trick).
//!
//! Office (UTF-16LE of the password) and ODF (SHA-256 of its UTF-8) then use the password
//! exactly as given, as Word and LibreOffice do: no normalisation, emoji and every script
//! welcome.
//!
//! PDF (AES-256, revision 6) prepares the password as PDF 2.0 prescribes (ISO 32000-2,
//! 7.6.4.3.3, Algorithm 2.A step a): SASLprep (RFC 4013) with its Normalize and BiDi options,
//! then UTF-8. [`prepare_pdf`] does that with the RFC 3454 tables of the `stringprep` crate and
//! NFKC of `unicode-normalization`:
//!
//! 1. map non-ASCII spaces (U+00A0, U+2000–U+200B, U+3000, …) to U+0020 and delete the
//!    characters "commonly mapped to nothing" (soft hyphen U+00AD, zero-width joiners,
//!    variation selectors, U+FEFF, …);
//! 2. NFKC;
//! 3. refuse what RFC 4013 2.3 prohibits (controls, private use, noncharacters, U+FFF9–U+FFFD,
//!    U+2FF0–U+2FFB, deprecated format characters, tag characters);
//! 4. refuse right-to-left text that also holds left-to-right letters or does not start and
//!    end with a right-to-left character (RFC 3454 6);
//! 5. **allow code points unassigned in Unicode 3.2**, the version RFC 3454 froze (the
//!    "query" rather than the "stored strings" profile, RFC 3454 7). PDF 2.0 asks for the
//!    Normalize and BiDi options only; refusing unassigned code points would refuse every emoji
//!    and every character added since 2002. lopdf's own `saslprep` call refuses them, which is
//!    why issue 8's `emoji-🔒-pass-1` became a 500: this module never hands lopdf a password.
//!
//! Decisions beyond the standard, and why:
//! - A prepared password longer than 127 bytes is **refused**, not truncated as Algorithm 2.A
//!   step b would: a cut can split a UTF-8 sequence, and a reader that truncates before
//!   preparing (or not at all) would derive another key. Every password we write is used whole
//!   by every reader. Opening a document written elsewhere truncates, as the standard says.
//! - A password that preparation empties (only soft hyphens, say) is refused: it would open
//!   the document without any password.
//! - qpdf does not apply SASLprep: it hashes the bytes it is given. A password that preparation
//!   changes (U+00A0 → space, U+00AD removed, NFKC) opens our PDF in qpdf only in its prepared
//!   form, as `docs/protect.md` tells users; readers that follow PDF 2.0 prepare it themselves.
//!
//! Unprotecting accepts any password: it only has to match, and files made elsewhere may use
//! characters we would not set. Errors name the password (user or owner) and the problem by
//! code point, never the password.

use unicode_normalization::UnicodeNormalization as _;
use zeroize::Zeroizing;

use crate::{Error, Result};

/// Longest prepared PDF password, in UTF-8 bytes (ISO 32000-2, Algorithm 2.A step b).
pub const PDF_MAX_BYTES: usize = 127;

/// Which password of a document a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRole {
    /// The password that opens the document (PDF: the user password).
    Password,
    /// PDF: the owner password, which lifts the permissions.
    OwnerPassword,
}

impl std::fmt::Display for PasswordRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PasswordRole::Password => "password",
            PasswordRole::OwnerPassword => "owner password",
        })
    }
}

/// Why a password cannot be set. Characters are held as code points, so that neither the
/// message nor `Debug` prints a piece of the password as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordProblem {
    /// A control character (Cc) or a line/paragraph separator: refused in every format.
    Control(u32),
    /// A bidirectional formatting control: refused in every format.
    BidiControl(u32),
    /// PDF only: a character SASLprep prohibits (RFC 4013 2.3), with what kind it is.
    ProhibitedInPdf(u32, &'static str),
    /// PDF only: right-to-left text mixed with left-to-right letters, or not starting and
    /// ending with a right-to-left character (RFC 3454 6).
    PdfBidiRule,
    /// PDF only: nothing is left once SASLprep has removed the characters it maps to nothing.
    EmptyAfterPreparation,
    /// PDF only: longer than [`PDF_MAX_BYTES`] in UTF-8 after SASLprep.
    TooLongForPdf,
}

impl std::fmt::Display for PasswordProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            PasswordProblem::Control(c) => write!(f, "contains a control character (U+{c:04X})"),
            PasswordProblem::BidiControl(c) => {
                write!(f, "contains a bidirectional control character (U+{c:04X})")
            }
            PasswordProblem::ProhibitedInPdf(c, kind) => write!(
                f,
                "contains {kind} (U+{c:04X}), which a PDF password may not contain (SASLprep, RFC 4013)"
            ),
            PasswordProblem::PdfBidiRule => f.write_str(
                "mixes right-to-left and left-to-right text in a way a PDF password may not \
                 (SASLprep: right-to-left text must hold no left-to-right letters and must start \
                 and end with a right-to-left character)",
            ),
            PasswordProblem::EmptyAfterPreparation => f.write_str(
                "consists only of characters PDF password preparation (SASLprep) removes, so it \
                 would open the document without a password",
            ),
            PasswordProblem::TooLongForPdf => write!(
                f,
                "is longer than {PDF_MAX_BYTES} bytes in UTF-8 after SASLprep, the PDF limit"
            ),
        }
    }
}

fn unusable(which: PasswordRole, problem: PasswordProblem) -> Error {
    Error::UnusablePassword { which, problem }
}

/// The bidirectional formatting controls: the embeddings and overrides (U+202A–U+202E), the
/// isolates (U+2066–U+2069) and the marks (U+061C, U+200E, U+200F).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn is_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// The rules every format shares (see the module documentation): no control characters and
/// no bidirectional controls. Every `encrypt` of this crate calls it; front-ends may call it
/// first to refuse a request before reading the document.
pub fn check(password: &str, which: PasswordRole) -> Result<()> {
    for c in password.chars() {
        if is_control(c) {
            return Err(unusable(which, PasswordProblem::Control(u32::from(c))));
        }
        if is_bidi_control(c) {
            return Err(unusable(which, PasswordProblem::BidiControl(u32::from(c))));
        }
    }
    Ok(())
}

/// What RFC 4013 2.3 prohibits in SASLprep output, named for a message; `None` if allowed.
fn prohibited_in_pdf(c: char) -> Option<PasswordProblem> {
    use stringprep::tables as t;
    let code = u32::from(c);
    if t::ascii_control_character(c) || t::non_ascii_control_character(c) {
        return Some(PasswordProblem::Control(code));
    }
    if is_bidi_control(c) {
        return Some(PasswordProblem::BidiControl(code));
    }
    let kind = if t::non_ascii_space_character(c) {
        "a non-ASCII space"
    } else if t::private_use(c) {
        "a private-use character"
    } else if t::non_character_code_point(c) {
        "a noncharacter"
    } else if t::surrogate_code(c) {
        "a surrogate"
    } else if t::inappropriate_for_plain_text(c) {
        "a character inappropriate for plain text"
    } else if t::inappropriate_for_canonical_representation(c) {
        "an ideographic description character"
    } else if t::change_display_properties_or_deprecated(c) {
        "a deprecated format character"
    } else if t::tagging_character(c) {
        "a tag character"
    } else {
        return None;
    };
    Some(PasswordProblem::ProhibitedInPdf(code, kind))
}

/// SASLprep as PDF 2.0 uses it (see the module documentation), without the shared [`check`]
/// and without the length limit: the prepared UTF-8 string, or the first problem found.
fn saslprep(password: &str) -> std::result::Result<Zeroizing<String>, PasswordProblem> {
    use stringprep::tables as t;
    // RFC 4013 2.1: mapping.
    let mapped: Zeroizing<String> = Zeroizing::new(
        password
            .chars()
            .filter(|&c| !t::commonly_mapped_to_nothing(c))
            .map(|c| if t::non_ascii_space_character(c) { ' ' } else { c })
            .collect(),
    );
    // 2.2: normalisation form KC.
    let prepared: Zeroizing<String> = Zeroizing::new(mapped.nfkc().collect());
    // 2.3: prohibited output.
    if let Some(problem) = prepared.chars().find_map(prohibited_in_pdf) {
        return Err(problem);
    }
    // 2.4: bidirectional text (RFC 3454 6).
    if prepared.chars().any(t::bidi_r_or_al) {
        let ends_rtl = prepared.chars().next().is_some_and(t::bidi_r_or_al)
            && prepared.chars().next_back().is_some_and(t::bidi_r_or_al);
        if prepared.chars().any(t::bidi_l) || !ends_rtl {
            return Err(PasswordProblem::PdfBidiRule);
        }
    }
    // 2.5 (unassigned code points) is deliberately not applied: see the module documentation.
    Ok(prepared)
}

/// Prepare a password for a new PDF (revision 6): [`check`], SASLprep, and the limits. The
/// result is the UTF-8 string whose bytes go into Algorithm 2.B. An empty password stays empty
/// (a PDF anyone may open, restricted only by its permissions); a non-empty one that
/// preparation empties is refused.
pub fn prepare_pdf(password: &str, which: PasswordRole) -> Result<Zeroizing<String>> {
    check(password, which)?;
    let prepared = saslprep(password).map_err(|problem| unusable(which, problem))?;
    if prepared.is_empty() && !password.is_empty() {
        return Err(unusable(which, PasswordProblem::EmptyAfterPreparation));
    }
    if prepared.len() > PDF_MAX_BYTES {
        return Err(unusable(which, PasswordProblem::TooLongForPdf));
    }
    Ok(prepared)
}

/// The byte strings to try when opening a revision-5/6 PDF with `password`, most likely
/// first: its SASLprep form (what the standard and we write), then its plain UTF-8 (what qpdf
/// and other writers that skip SASLprep hash), when that differs. Longer ones are truncated to
/// 127 bytes inside the hash, as Algorithm 2.A says.
pub(crate) fn pdf_candidates(password: &str) -> Vec<Zeroizing<Vec<u8>>> {
    let mut out: Vec<Zeroizing<Vec<u8>>> = Vec::with_capacity(2);
    if let Ok(prepared) = saslprep(password) {
        out.push(Zeroizing::new(prepared.as_bytes().to_vec()));
    }
    if out.first().is_none_or(|p| p.as_slice() != password.as_bytes()) {
        out.push(Zeroizing::new(password.as_bytes().to_vec()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(e: Error) -> PasswordProblem {
        match e {
            Error::UnusablePassword { problem, .. } => problem,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn rfc_4013_examples() {
        // RFC 4013 3, the examples table (lines 1–5; 6 and 7 are errors).
        assert_eq!(*prepare_pdf("I\u{00AD}X", PasswordRole::Password).unwrap(), "IX");
        assert_eq!(*prepare_pdf("user", PasswordRole::Password).unwrap(), "user");
        assert_eq!(*prepare_pdf("USER", PasswordRole::Password).unwrap(), "USER");
        assert_eq!(*prepare_pdf("\u{00AA}", PasswordRole::Password).unwrap(), "a");
        assert_eq!(*prepare_pdf("\u{2168}", PasswordRole::Password).unwrap(), "IX");
        assert_eq!(
            problem(prepare_pdf("\u{0007}", PasswordRole::Password).unwrap_err()),
            PasswordProblem::Control(7)
        );
        assert_eq!(
            problem(prepare_pdf("\u{0627}\u{0031}", PasswordRole::Password).unwrap_err()),
            PasswordProblem::PdfBidiRule
        );
    }

    #[test]
    fn unassigned_in_unicode_3_2_is_allowed() {
        assert!(stringprep::tables::unassigned_code_point('🔒'));
        assert_eq!(
            *prepare_pdf("emoji-🔒-pass-1", PasswordRole::Password).unwrap(),
            "emoji-🔒-pass-1"
        );
    }

    #[test]
    fn messages_name_the_code_point_and_not_the_password() {
        let e = prepare_pdf("secret\tword", PasswordRole::OwnerPassword).unwrap_err();
        assert_eq!(e.to_string(), "owner password contains a control character (U+0009)");
        assert!(!format!("{e:?}").contains("secret"));
    }

    #[test]
    fn candidates_try_the_prepared_form_first() {
        let c = pdf_candidates("a\u{00A0}b");
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].as_slice(), b"a b");
        assert_eq!(c[1].as_slice(), "a\u{00A0}b".as_bytes());
        assert_eq!(pdf_candidates("plain").len(), 1);
        // Not preparable: only the bytes as given.
        assert_eq!(pdf_candidates("tab\t").len(), 1);
    }
}
