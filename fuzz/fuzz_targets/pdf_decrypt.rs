//! PDF inspection and decryption (`pdf::encryption_info`, `pdf::decrypt`).
//!
//! Properties, beyond "no panic" (PDF encryption has no integrity check, so damaged
//! ciphertext may decrypt to other text; that is not asserted):
//! - only a PDF (by content) gets an answer from `encryption_info`;
//! - a successful decryption is a PDF that reads back as unencrypted;
//! - a file whose trailer still points at an `/Encrypt` dictionary is never reported as
//!   unencrypted, and a file without one never as encrypted (as lopdf sees it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use strongroom_docs::{Format, detect_format, pdf};
use strongroom_fuzz::{PASSWORD, pdf_sees_encryption};

fuzz_target!(|data: &[u8]| {
    let is_pdf = detect_format(data) == Format::Pdf;
    let info = pdf::encryption_info(data);
    assert!(
        is_pdf || info.is_err(),
        "encryption_info answered {info:?} for a non-PDF"
    );
    if is_pdf {
        match pdf_sees_encryption(data) {
            Some(true) => assert!(!matches!(info, Ok(None)), "an encrypted file reported as unencrypted"),
            Some(false) => assert!(
                !matches!(info, Ok(Some(_))),
                "no /Encrypt, yet reported encrypted: {info:?}"
            ),
            None => {}
        }
    }
    for password in [PASSWORD, "u", ""] {
        if let Ok(out) = pdf::decrypt(data, password) {
            assert_eq!(detect_format(&out), Format::Pdf);
            let again = pdf::encryption_info(&out);
            assert!(
                matches!(again, Ok(None)),
                "decrypt output is still encrypted or unreadable: {again:?}"
            );
        }
    }
});
