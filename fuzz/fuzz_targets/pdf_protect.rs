//! PDF protection (`pdf::encrypt`) on arbitrary input.
//!
//! Properties: whatever `encrypt` accepts was not encrypted before, reads back as revision 6
//! with exactly the permissions asked for, has an `/Encrypt` dictionary that nothing but the
//! trailer references, and decrypts with the owner password to an
//! unencrypted PDF with the same number of pages. (Wrong passwords are `pdf_decrypt`'s
//! business; each R6 password check is expensive enough to halve this target's speed.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use strongroom_docs::pdf::{self, PdfPermissions, PdfProtection};
use strongroom_docs::{Format, detect_format};
use strongroom_fuzz::{PASSWORD, pdf_has_dangling_references};

/// How often `N 0 R` (no digit before it) occurs in the raw bytes.
fn raw_references(pdf: &[u8], n: u32) -> usize {
    let pat = format!("{n} 0 R");
    pdf.windows(pat.len())
        .enumerate()
        .filter(|(i, w)| *w == pat.as_bytes() && (*i == 0 || pdf.get(i - 1).is_some_and(|b| !b.is_ascii_digit())))
        .count()
}

fn pages(bytes: &[u8]) -> Option<usize> {
    lopdf::Document::load_mem(bytes).ok().map(|d| d.get_pages().len())
}

fuzz_target!(|data: &[u8]| {
    // The permissions come from the input's length, so every combination is reached without
    // changing the input format.
    let bits = data.len();
    let permissions = PdfPermissions {
        print: bits & 1 != 0,
        copy: bits & 2 != 0,
        modify: bits & 4 != 0,
        annotate: bits & 8 != 0,
    };
    let protection = PdfProtection {
        user_password: "u",
        owner_password: Some(PASSWORD),
        permissions,
    };
    let Ok(out) = pdf::encrypt(data, &protection) else {
        return;
    };
    let before = pdf::encryption_info(data);
    assert!(
        matches!(before, Ok(None)),
        "encrypted a file whose encryption_info is {before:?}"
    );
    assert_eq!(detect_format(&out), Format::Pdf);
    let info = pdf::encryption_info(&out);
    assert!(
        matches!(info, Ok(Some(i)) if i.revision == 6 && i.permissions == permissions),
        "protected output reads back as {info:?}, wanted R6 with {permissions:?}"
    );
    // The /Encrypt dictionary is a new object: no reference in the input may capture it
    // (encryption leaves references readable, so the raw bytes are searched).
    if let Some((id, _)) = lopdf::Document::load_mem(&out)
        .ok()
        .and_then(|d| d.trailer.get(b"Encrypt").and_then(lopdf::Object::as_reference).ok())
    {
        assert_eq!(
            raw_references(&out, id),
            1,
            "the /Encrypt dictionary {id} 0 R is referenced outside the trailer"
        );
    }
    let back = match pdf::decrypt(&out, PASSWORD) {
        Ok(back) => back,
        Err(e) => panic!("the owner password does not decrypt the protected output: {e}"),
    };
    assert!(matches!(pdf::encryption_info(&back), Ok(None)));
    // Inputs with dangling references are left out of the page count: lopdf counts a dangling
    // /Kids entry as a page on loading, but not once it points at a real non-page object.
    if pdf_has_dangling_references(data) {
        return;
    }
    if let Some(n) = pages(data) {
        assert_eq!(pages(&back), Some(n), "protect → decrypt changed the page count");
    }
});
