//! Document protection for Strongroom: password encryption of Office (OOXML), PDF and ODF
//! files, spreadsheet protection and watermarks — a pure library, bytes (or `Read`/`Write`) in, bytes out.
//!
//! It knows nothing of HTTP, databases or async runtimes so that it can be used alone, fuzzed
//! and checked against test vectors. Formats are chosen by content ([`detect_format`]), never
//! by file name, because names are user-controlled and lie.
//!
//! - [`office`]: MS-OFFCRYPTO Agile Encryption (AES-256, SHA-512) of .docx/.xlsx/.pptx, encrypt
//!   and decrypt, with password-verifier and data-integrity checks.
//! - [`pdf`]: PDF AES-256 (revision 6) with user/owner passwords and permissions.
//! - [`odf`]: OpenDocument (.odt/.ods/.odp) AES-256-CBC + PBKDF2 encryption as LibreOffice
//!   reads and writes it, encrypt and decrypt, with the password checksum.
//! - [`password`]: which strings may be passwords, for every format (control and
//!   bidirectional characters refused everywhere; SASLprep for PDF).
//! - [`xlsx`]: workbook and sheet protection written as standard OOXML, and its removal.
//! - [`watermark`]: text and picture watermarks on every page of a PDF (any script of the
//!   built-in DejaVu Sans, embedded as a subset), on PNG/JPEG images, and in the headers of
//!   Word documents.

#![forbid(unsafe_code)]
// Untrusted bytes are parsed here: slicing must be checked, never panic.
#![deny(clippy::indexing_slicing)]

mod error;
mod font;
pub mod odf;
pub mod office;
pub mod password;
pub mod pdf;
pub mod watermark;
pub mod xlsx;

pub use error::{Error, Result};

/// The kind of a document, as recognised from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// A zip archive that is not ODF: OOXML (.docx/.xlsx/.pptx) or some other zip.
    Zip,
    /// An OpenDocument package (zip whose first entry is an uncompressed `mimetype`).
    Odf,
    /// A Compound File Binary container: a password-encrypted OOXML document, or a legacy
    /// binary Office file (.doc/.xls/.ppt).
    CompoundFile,
    /// A PDF document.
    Pdf,
    /// None of the above.
    Unknown,
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::Zip => "a zip archive",
            Format::Odf => "an OpenDocument file",
            Format::CompoundFile => "a compound file (encrypted or legacy Office)",
            Format::Pdf => "a PDF document",
            Format::Unknown => "an unrecognised file",
        })
    }
}

/// Compound File Binary signature (MS-CFB 2.2, `Header Signature`).
pub(crate) const CFB_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
/// Local file header signature of a zip archive.
pub(crate) const ZIP_MAGIC: [u8; 4] = *b"PK\x03\x04";
/// Where an ODF package's media type starts: the data of its first local header, which is the
/// stored entry `mimetype` (30-byte header, 8-byte name, no extra field).
pub(crate) const ODF_MEDIA_TYPE_AT: usize = 38;
/// What every ODF media type starts with.
pub(crate) const ODF_MEDIA_TYPE_PREFIX: &[u8] = b"application/vnd.oasis.opendocument";
/// How far into a file a PDF header may start: readers tolerate leading junk up to 1 KiB.
const PDF_HEADER_WINDOW: usize = 1024;

/// Recognise a document from its first bytes (pass at least the first 1 KiB when available).
///
/// Content, not the file name, decides: an upload called `report.docx` that is really a PDF is
/// treated as a PDF.
pub fn detect_format(head: &[u8]) -> Format {
    if head.starts_with(&CFB_MAGIC) {
        return Format::CompoundFile;
    }
    if head.starts_with(&ZIP_MAGIC) {
        // ODF (ODF 1.2 part 3, 3.3): the first entry is `mimetype`, stored, so its name sits at
        // offset 30 of the first local header and its content follows right after.
        let name = head.get(30..ODF_MEDIA_TYPE_AT);
        let content = head.get(ODF_MEDIA_TYPE_AT..).unwrap_or_default();
        if name == Some(b"mimetype".as_slice()) && content.starts_with(ODF_MEDIA_TYPE_PREFIX) {
            return Format::Odf;
        }
        return Format::Zip;
    }
    let window = head.get(..PDF_HEADER_WINDOW).unwrap_or(head);
    if window.windows(5).any(|w| w == b"%PDF-") {
        return Format::Pdf;
    }
    Format::Unknown
}

/// The UTF-8 byte order mark some writers put before an XML part.
const UTF8_BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// An XML part without its byte order mark. The XML parser skips a BOM without counting it in
/// its byte positions, and parts are patched by those positions, so every part read into
/// memory for patching drops it first (it is optional in UTF-8; the part is rewritten anyway).
pub(crate) fn without_bom(mut xml: Vec<u8>) -> Vec<u8> {
    if xml.starts_with(&UTF8_BOM) {
        xml.drain(..UTF8_BOM.len());
    }
    xml
}

/// For a part streamed through a patch: consume a leading byte order mark, if any, and return
/// its length (to add to the parser's positions) with the rest of the stream.
pub(crate) fn skip_bom<R: std::io::BufRead>(mut input: R) -> std::io::Result<(u64, impl std::io::BufRead)> {
    use std::io::Read as _;
    let mut head: Vec<u8> = Vec::with_capacity(UTF8_BOM.len());
    (&mut input).take(UTF8_BOM.len() as u64).read_to_end(&mut head)?;
    let bom = head == UTF8_BOM;
    let kept = if bom { Vec::new() } else { head };
    Ok((
        if bom { UTF8_BOM.len() as u64 } else { 0 },
        std::io::Cursor::new(kept).chain(input),
    ))
}

/// Read up to `PDF_HEADER_WINDOW` bytes from the start of `input` for [`detect_format`], and
/// rewind it.
pub(crate) fn read_head<R: std::io::Read + std::io::Seek>(input: &mut R) -> Result<Vec<u8>> {
    use std::io::{Read, SeekFrom};
    input.seek(SeekFrom::Start(0))?;
    let mut head = Vec::with_capacity(PDF_HEADER_WINDOW);
    input.by_ref().take(PDF_HEADER_WINDOW as u64).read_to_end(&mut head)?;
    input.seek(SeekFrom::Start(0))?;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_content() {
        assert_eq!(detect_format(&CFB_MAGIC), Format::CompoundFile);
        assert_eq!(detect_format(b"PK\x03\x04rest"), Format::Zip);
        assert_eq!(detect_format(b"%PDF-1.7\n"), Format::Pdf);
        assert_eq!(detect_format(b"junk\n%PDF-2.0"), Format::Pdf);
        assert_eq!(detect_format(b""), Format::Unknown);
        assert_eq!(detect_format(b"hello"), Format::Unknown);
        let mut odf = b"PK\x03\x04".to_vec();
        odf.resize(30, 0);
        odf.extend_from_slice(b"mimetypeapplication/vnd.oasis.opendocument.text");
        assert_eq!(detect_format(&odf), Format::Odf);
    }
}
