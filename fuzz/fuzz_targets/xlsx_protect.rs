//! xlsx sheet protection (`xlsx::protect_sheet` → `xlsx::unprotect_sheet`).
//!
//! Properties: whatever `protect_sheet` accepts, `unprotect_sheet` undoes, restoring every
//! part byte for byte (read through the zip library); a sheet protected with a password
//! stays locked without it. Protection without a password keeps the hash (100,000 SHA-512
//! rounds) out of the loop; the password check itself is exercised through
//! `unprotect_sheet` on the input.
#![no_main]

use std::io::{Cursor, Read};

use libfuzzer_sys::fuzz_target;
use strongroom_docs::xlsx::{self, SheetProtection};
use strongroom_fuzz::XLSX_SHEET;

fn protect(input: &[u8]) -> strongroom_docs::Result<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    xlsx::protect_sheet(Cursor::new(input), &mut out, XLSX_SHEET, &SheetProtection::default())?;
    Ok(out.into_inner())
}

fn unprotect(input: &[u8], password: Option<&str>) -> strongroom_docs::Result<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    xlsx::unprotect_sheet(Cursor::new(input), &mut out, XLSX_SHEET, password)?;
    Ok(out.into_inner())
}

/// Every entry, decompressed, in archive order; `None` if any does not read.
fn entries(bytes: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let mut a = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let mut out = Vec::new();
    for i in 0..a.len() {
        let mut f = a.by_index(i).ok()?;
        let name = f.name().ok()?.to_string();
        let mut data = Vec::new();
        f.read_to_end(&mut data).ok()?;
        out.push((name, data));
    }
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    // Unprotecting without a password never needs the hash: it is refused before hashing
    // when a hash is present.
    let _ = unprotect(data, None);
    let Ok(protected) = protect(data) else { return };
    let back = match unprotect(&protected, None) {
        Ok(back) => back,
        Err(e) => panic!("protect_sheet accepted the input but unprotect_sheet cannot undo it: {e}"),
    };
    if let Some(original) = entries(data) {
        let restored = entries(&back);
        assert!(
            restored.as_ref() == Some(&original),
            "protect → unprotect did not restore the workbook: {:?}",
            restored.map(|r| r
                .iter()
                .zip(&original)
                .filter(|(a, b)| a != b)
                .map(|(a, _)| a.0.clone())
                .collect::<Vec<_>>())
        );
    }
});
