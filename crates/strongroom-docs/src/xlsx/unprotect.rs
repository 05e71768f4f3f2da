//! Removing sheet and workbook protection, given the password.
//!
//! The password is checked against the stored salted SHA-512 hash before anything is written:
//! Excel enforces the password only in its user interface, so a tool that removed protection
//! without checking would let anyone strip a lock the owner set. The comparison is constant
//! time (`subtle`) so that timing does not leak how much of the hash matched.

use std::io::{Read, Seek, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use quick_xml::events::{BytesStart, Event};
use subtle::ConstantTimeEq as _;

use super::{
    EventBudget, NewPart, Splice, WORKBOOK, attr, find_sheet_part, hash_password, local, open_part, open_xlsx,
    read_part, rewrite, xml_error,
};
use crate::{Error, Result};

/// Largest spin count we are willing to run: Excel writes 100,000; a file asking for billions
/// would make verification a denial of service.
const MAX_SPIN_COUNT: u32 = 10_000_000;

/// Remove the protection of the sheet named `sheet`. `password` must match the stored hash;
/// a sheet protected without a password is unprotected with any (or no) password. Allow-edit
/// ranges and cell styles stay: without sheet protection they have no effect, and keeping them
/// lets the owner protect the sheet again as it was.
pub fn unprotect_sheet<R: Read + Seek, W: Write + Seek>(
    input: R,
    output: W,
    sheet: &str,
    password: Option<&str>,
) -> Result<()> {
    let mut archive = open_xlsx(input)?;
    let part = find_sheet_part(&mut archive, sheet)?;
    // Streamed twice (find, then copy without the element): constant memory for any size.
    let (at, skip_to) = find_protection(
        std::io::BufReader::new(open_part(&mut archive, &part)?),
        b"sheetProtection",
        "",
        password,
    )?;
    let splice = Splice {
        at,
        skip_to,
        fragment: Vec::new(),
    };
    rewrite(&mut archive, output, vec![(part, NewPart::Splice(splice))])
}

/// Remove the workbook (structure/windows) protection. `password` must match the stored hash;
/// a workbook protected without a password is unprotected with any (or no) password.
pub fn unprotect_workbook<R: Read + Seek, W: Write + Seek>(input: R, output: W, password: Option<&str>) -> Result<()> {
    let mut archive = open_xlsx(input)?;
    let xml = read_part(&mut archive, WORKBOOK)?;
    let patched = remove_protection(&xml, b"workbookProtection", "workbook", password)?;
    rewrite(
        &mut archive,
        output,
        vec![(WORKBOOK.to_owned(), NewPart::Bytes(patched))],
    )
}

/// Attribute `{prefix}{Name}` (or `name` when the prefix is empty), as written by Excel.
fn prefixed(e: &BytesStart<'_>, prefix: &str, name: &str) -> Result<Option<String>> {
    let key = if prefix.is_empty() {
        let mut c = name.chars();
        c.next()
            .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
            .unwrap_or_default()
    } else {
        format!("{prefix}{name}")
    };
    attr(e, key.as_bytes())
}

/// Check `password` against the hash attributes of the protection element `e`.
fn verify(e: &BytesStart<'_>, prefix: &str, password: Option<&str>) -> Result<()> {
    let Some(hash) = prefixed(e, prefix, "HashValue")? else {
        // `password` / `workbookPassword`: the pre-2010 16-bit hash.
        if let Some(legacy) = prefixed(e, prefix, "Password")? {
            return verify_legacy(&legacy, password);
        }
        // Protected without a password: nothing to check.
        return Ok(());
    };
    let algorithm = prefixed(e, prefix, "AlgorithmName")?.unwrap_or_default();
    if !algorithm.eq_ignore_ascii_case("SHA-512") {
        return Err(Error::UnsupportedEncryption(format!(
            "protection password hash {algorithm:?} (only SHA-512 is supported)"
        )));
    }
    let malformed = |what: &str| Error::malformed("xlsx protection", what.to_owned());
    let salt = B64
        .decode(prefixed(e, prefix, "SaltValue")?.unwrap_or_default())
        .map_err(|_| malformed("saltValue is not base64"))?;
    let stored = B64
        .decode(hash.trim())
        .map_err(|_| malformed("hashValue is not base64"))?;
    let spin: u32 = prefixed(e, prefix, "SpinCount")?
        .unwrap_or_else(|| "0".to_owned())
        .trim()
        .parse()
        .map_err(|_| malformed("spinCount is not a number"))?;
    if spin > MAX_SPIN_COUNT {
        return Err(Error::UnsupportedEncryption(format!(
            "spin count {spin} is above the limit of {MAX_SPIN_COUNT}"
        )));
    }
    if stored.len() != 64 {
        return Err(malformed("hashValue is not a SHA-512 hash"));
    }
    let password = password.ok_or(Error::WrongPassword)?;
    let computed = hash_password(password, &salt, spin);
    if bool::from(computed.as_slice().ct_eq(stored.as_slice())) {
        Ok(())
    } else {
        Err(Error::WrongPassword)
    }
}

/// Check `password` against a pre-2010 16-bit hash (`password="CC1A"`), still written by
/// older Excel versions and many libraries. The hash is so weak that thousands of other
/// passwords match it too; it is accepted because it is the lock the file carries, and
/// `protect_sheet` never writes it.
fn verify_legacy(stored: &str, password: Option<&str>) -> Result<()> {
    let stored = u16::from_str_radix(stored.trim(), 16)
        .map_err(|_| Error::malformed("xlsx protection", "legacy password hash is not 4 hex digits"))?;
    let password = password.ok_or(Error::WrongPassword)?;
    if bool::from(legacy_hash(password).ct_eq(&stored)) {
        Ok(())
    } else {
        Err(Error::WrongPassword)
    }
}

/// The legacy password hash (ECMA-376 Part 4, 3.3.1.81 `sheetProtection@password`): each
/// character code shifted left by its 1-based position and rotated within 15 bits, all XORed
/// together, then XORed with the length and 0xCE4B. Characters count by their code's low 15
/// bits, as openpyxl writes them (Excel converts to its ANSI code page first, so a password
/// with characters outside Latin-1 written by Excel may not match: it is refused, never
/// wrongly accepted).
pub(super) fn legacy_hash(password: &str) -> u16 {
    let mut hash: u32 = 0;
    let mut len: u32 = 0;
    for (position, c) in password.chars().enumerate() {
        len += 1;
        // Positions above 15 only rotate further; reduce them so the shift cannot overflow.
        let shift = u32::try_from(position % 15).unwrap_or(0) + 1;
        let value = (u32::from(c) & 0x7fff) << shift;
        hash ^= (value & 0x7fff) | (value >> 15);
    }
    ((hash ^ len ^ 0xCE4B) & 0xffff) as u16
}

/// Cut the root's child `element` out of `xml` after verifying `password` against it; every
/// other byte stays. No such element → [`Error::NotProtected`].
fn remove_protection(xml: &[u8], element: &[u8], prefix: &str, password: Option<&str>) -> Result<Vec<u8>> {
    let (at, skip_to) = find_protection(xml, element, prefix, password)?;
    Splice {
        at,
        skip_to,
        fragment: Vec::new(),
    }
    .apply(xml)
}

/// Find the root's child `element` in one streaming pass and verify `password` against it;
/// returns its byte range. No such element → [`Error::NotProtected`].
fn find_protection(
    input: impl std::io::BufRead,
    element: &[u8],
    prefix: &str,
    password: Option<&str>,
) -> Result<(u64, u64)> {
    let (bom, input) = crate::skip_bom(input)?;
    let mut reader = quick_xml::Reader::from_reader(EventBudget::new(input));
    let mut buf = Vec::new();
    let mut skipped = Vec::new();
    let mut depth = 0usize;
    loop {
        let before = bom + reader.buffer_position();
        buf.clear();
        reader.get_mut().next_event();
        let event = reader.read_event_into(&mut buf).map_err(xml_error)?;
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                if depth == 1 && local(e.name().as_ref()) == element {
                    verify(e, prefix, password)?;
                    if matches!(event, Event::Start(_)) {
                        let end = e.name().as_ref().to_vec();
                        reader
                            .read_to_end_into(quick_xml::name::QName(&end), &mut skipped)
                            .map_err(xml_error)?;
                    }
                    return Ok((before, bom + reader.buffer_position()));
                }
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Err(Error::NotProtected);
                }
            }
            Event::Eof => return Err(Error::malformed("xlsx XML", "unexpected end of part")),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_hash_known_values() {
        // Values from the published algorithm (also what openpyxl writes;
        // tests/xlsx_ranges.rs checks against openpyxl itself).
        assert_eq!(legacy_hash("password"), 0x83AF);
        assert_eq!(legacy_hash("x"), 0xCEBA);
        assert_eq!(legacy_hash(""), 0xCE4B);
        // Past 15 characters the rotation wraps instead of overflowing.
        assert_ne!(
            legacy_hash("abcdefghijklmnopqrstu"),
            legacy_hash("abcdefghijklmnopqrst")
        );
    }

    #[test]
    fn removes_only_the_element() {
        let salt = [7u8; 16];
        let hash = B64.encode(hash_password("pw", &salt, 3));
        let xml = format!(
            "<worksheet><sheetData/><sheetProtection algorithmName=\"SHA-512\" hashValue=\"{hash}\" saltValue=\"{}\" spinCount=\"3\" sheet=\"1\"/><pageMargins/></worksheet>",
            B64.encode(salt)
        );
        let out = remove_protection(xml.as_bytes(), b"sheetProtection", "", Some("pw")).unwrap();
        assert_eq!(out, b"<worksheet><sheetData/><pageMargins/></worksheet>");
        assert!(matches!(
            remove_protection(xml.as_bytes(), b"sheetProtection", "", Some("pW")),
            Err(Error::WrongPassword)
        ));
        assert!(matches!(
            remove_protection(xml.as_bytes(), b"sheetProtection", "", None),
            Err(Error::WrongPassword)
        ));
        assert!(matches!(
            remove_protection(b"<worksheet><sheetData/></worksheet>", b"sheetProtection", "", None),
            Err(Error::NotProtected)
        ));
        let nopw = b"<workbook><workbookProtection lockStructure=\"1\"></workbookProtection><sheets/></workbook>";
        assert_eq!(
            remove_protection(nopw, b"workbookProtection", "workbook", None).unwrap(),
            b"<workbook><sheets/></workbook>"
        );
        let legacy = b"<worksheet><sheetProtection password=\"83AF\" sheet=\"1\"/></worksheet>";
        assert!(matches!(
            remove_protection(legacy, b"sheetProtection", "", Some("x")),
            Err(Error::WrongPassword)
        ));
        assert_eq!(
            remove_protection(legacy, b"sheetProtection", "", Some("password")).unwrap(),
            b"<worksheet></worksheet>"
        );
        // A byte order mark before the root shifts every position by three bytes.
        let bom = "\u{feff}<worksheet><sheetProtection sheet=\"1\"/><pageMargins/></worksheet>";
        assert_eq!(
            remove_protection(bom.as_bytes(), b"sheetProtection", "", None).unwrap(),
            "\u{feff}<worksheet><pageMargins/></worksheet>".as_bytes()
        );
        let huge = b"<worksheet><sheetProtection algorithmName=\"SHA-512\" hashValue=\"AA==\" saltValue=\"AA==\" spinCount=\"4000000000\"/></worksheet>";
        assert!(matches!(
            remove_protection(huge, b"sheetProtection", "", Some("x")),
            Err(Error::UnsupportedEncryption(_))
        ));
    }
}
