//! Writes the seed corpora of the fuzz targets: small valid documents (plain and encrypted)
//! built in memory, so that no binary files are committed.
//!
//! Usage: `cargo run --release --example seed-corpus -- [CORPUS_DIR]` (default `corpus`,
//! relative to the current directory). Writes `CORPUS_DIR/TARGET/seed-*`; files already there
//! (what earlier fuzzing found) are kept.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

use strongroom_docs::pdf::{PdfPermissions, PdfProtection};
use strongroom_docs::xlsx::{self, SheetProtection};
use strongroom_fuzz::*;

fn write(dir: &Path, target: &str, seeds: &[Vec<u8>]) -> std::io::Result<()> {
    let d = dir.join(target);
    std::fs::create_dir_all(&d)?;
    for (i, seed) in seeds.iter().enumerate() {
        std::fs::write(d.join(format!("seed-{i:02}")), seed)?;
    }
    println!(
        "{target}: {} seeds, largest {} bytes",
        seeds.len(),
        seeds.iter().map(Vec::len).max().unwrap_or(0)
    );
    Ok(())
}

/// The encrypted seeds must decrypt, or the targets would explore only error paths and their
/// "decrypts to an original" properties would never be exercised.
fn check_seeds(office: &[Vec<u8>], odf: &[Vec<u8>], pdfs: &[Vec<u8>]) -> Result<(), Box<dyn std::error::Error>> {
    for (enc, plain) in office.iter().zip(office_plaintexts()) {
        if &strongroom_docs::office::decrypt_bytes(enc, PASSWORD)? != plain {
            return Err("an Office seed does not decrypt to its plaintext".into());
        }
    }
    for (enc, known) in odf.iter().zip(odf_known_streams()) {
        let plain = strongroom_docs::odf::decrypt_bytes(enc, PASSWORD)?;
        if odf_streams(&plain).as_ref() != Some(known) {
            return Err("an ODF seed does not decrypt to its plaintext".into());
        }
    }
    for enc in pdfs {
        strongroom_docs::pdf::decrypt(enc, PASSWORD)?;
    }
    for seed in at_rest_seeds() {
        let stored = seed.get(AT_REST_CONTROL_LEN..).unwrap_or_default();
        let plain = strongroom_crypto::decrypt_bytes(&[at_rest_master()], &AT_REST_ID, stored)?;
        if plain.as_slice() != at_rest_plaintext(plain.len()).as_slice() {
            return Err("an at-rest seed does not decrypt to its plaintext".into());
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| "corpus".into());

    let plain_pdfs = vec![pdf_with_text(&["Fuzz", "second line"]), pdf_handwritten()];
    let mut encrypted_pdfs = Vec::new();
    for (i, plain) in plain_pdfs.iter().enumerate() {
        let protection = PdfProtection {
            user_password: if i == 0 { "u" } else { "" },
            owner_password: Some(PASSWORD),
            permissions: if i == 0 {
                PdfPermissions::NONE
            } else {
                PdfPermissions::ALL
            },
        };
        encrypted_pdfs.push(strongroom_docs::pdf::encrypt(plain, &protection)?);
    }
    let all_pdfs: Vec<Vec<u8>> = plain_pdfs.iter().chain(&encrypted_pdfs).cloned().collect();

    let office_plain = office_plaintexts().to_vec();
    let office_enc = office_encrypted_seeds();
    let odf_plain = odf_plaintexts();
    let odf_enc = odf_encrypted_seeds();

    let xlsx_plain = vec![
        xlsx(XLSX_SHEET, &["a", "b & c", "ünïcödé"], ""),
        xlsx(
            XLSX_SHEET,
            &["x"],
            r#"<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>"#,
        ),
    ];
    let mut xlsx_seeds = xlsx_plain.clone();
    // An already protected sheet (legacy 16-bit hash: no expensive rounds).
    xlsx_seeds.push(xlsx(
        XLSX_SHEET,
        &["locked"],
        r#"<sheetProtection password="CC1A" sheet="1"/>"#,
    ));
    {
        let mut out = std::io::Cursor::new(Vec::new());
        xlsx::protect_sheet(
            std::io::Cursor::new(&xlsx_plain[0]),
            &mut out,
            XLSX_SHEET,
            &SheetProtection::default(),
        )?;
        xlsx_seeds.push(out.into_inner());
    }

    let mut heads: Vec<Vec<u8>> = vec![
        office_plain[0].clone(),
        odf_plain[0].clone(),
        office_enc[0].get(..1024).unwrap_or_default().to_vec(),
        plain_pdfs[0].clone(),
    ];
    let mut late_pdf = vec![b' '; 1020];
    late_pdf.extend_from_slice(b"%PDF-1.7\n");
    heads.push(late_pdf);

    check_seeds(&office_enc, &odf_enc, &encrypted_pdfs)?;

    write(&dir, "detect_format", &heads)?;
    write(
        &dir,
        "office_decrypt",
        &[office_enc.clone(), office_plain.clone()].concat(),
    )?;
    write(&dir, "odf_decrypt", &[odf_enc, odf_plain].concat())?;
    write(&dir, "pdf_decrypt", &all_pdfs)?;
    write(&dir, "pdf_protect", &all_pdfs)?;
    write(&dir, "pdf_watermark", &all_pdfs)?;
    write(&dir, "xlsx_protect", &xlsx_seeds)?;
    write(&dir, "at_rest_decrypt", &at_rest_seeds())?;
    Ok(())
}
