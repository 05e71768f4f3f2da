//! Spreadsheet protection written as standard OOXML (ECMA-376 Part 1, 18.2.29
//! `workbookProtection` and 18.3.1.85 `sheetProtection`) that Excel and LibreOffice honour.
//!
//! The workbook is patched, not rewritten: only the XML part that changes is re-compressed;
//! every other part is copied byte for byte (raw, still compressed). Inside the patched part
//! the new element is spliced in at the schema-mandated position and every other byte stays.
//!
//! Passwords are stored as salted, iterated SHA-512 hashes (MS-OFFCRYPTO 2.4.2.4):
//! H0 = SHA-512(salt ‖ UTF-16LE(password)), Hi = SHA-512(H(i-1) ‖ LE32(i-1)), 100,000 rounds.
//!
//! Allow-edit ranges (`protectedRanges`) and per-cell `locked`/`hidden` styles ride along with
//! sheet protection; [`unprotect_sheet`] / [`unprotect_workbook`] remove it given the password.
//!
//! This protection is a lock, not encryption: combine with [`crate::office::encrypt`] to keep
//! content secret.

use std::io::{Read, Seek, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use quick_xml::events::Event;
use rand::TryRngCore as _;
use sha2::{Digest, Sha512};

use crate::{Error, Format, Result, detect_format, read_head};

mod cells;
mod shapes;
mod unprotect;

pub use unprotect::{unprotect_sheet, unprotect_workbook};

/// Rounds of the protection password hash; what Excel writes.
pub const SPIN_COUNT: u32 = 100_000;
/// Largest XML part we patch in memory; bigger ones are refused as a likely zip bomb.
const MAX_PART: u64 = 256 * 1024 * 1024;
const WORKBOOK: &str = "xl/workbook.xml";
const WORKBOOK_RELS: &str = "xl/_rels/workbook.xml.rels";
/// Relationship type of the styles part, whose `cellXfs` carry cell protection.
const STYLES_REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles";
/// Most allow-edit ranges per sheet we write; far above any real use, it bounds the output.
const MAX_EDIT_RANGES: usize = 1_000;
const EXPECTED: &str = "an .xlsx workbook";

/// Elements that must come after `workbookProtection` in `CT_Workbook`.
const AFTER_WORKBOOK_PROTECTION: &[&[u8]] = &[
    b"bookViews",
    b"sheets",
    b"functionGroups",
    b"externalReferences",
    b"definedNames",
    b"calcPr",
    b"oleSize",
    b"customWorkbookViews",
    b"pivotCaches",
    b"smartTagPr",
    b"smartTagTypes",
    b"webPublishing",
    b"fileRecoveryPr",
    b"webPublishObjects",
    b"extLst",
];
/// Elements that must come after `sheetProtection` in `CT_Worksheet`.
const AFTER_SHEET_PROTECTION: &[&[u8]] = &[
    b"protectedRanges",
    b"scenarios",
    b"autoFilter",
    b"sortState",
    b"dataConsolidate",
    b"customSheetViews",
    b"mergeCells",
    b"phoneticPr",
    b"conditionalFormatting",
    b"dataValidations",
    b"hyperlinks",
    b"printOptions",
    b"pageMargins",
    b"pageSetup",
    b"headerFooter",
    b"rowBreaks",
    b"colBreaks",
    b"customProperties",
    b"cellWatches",
    b"ignoredErrors",
    b"smartTags",
    b"drawing",
    b"legacyDrawing",
    b"legacyDrawingHF",
    b"drawingHF",
    b"picture",
    b"oleObjects",
    b"controls",
    b"webPublishItems",
    b"tableParts",
    b"extLst",
];

/// The protection password hash: H0 = SHA-512(salt ‖ UTF-16LE(pw)), then `spin_count` rounds
/// of H = SHA-512(H ‖ LE32(i)) for i = 0, 1, …
pub fn hash_password(password: &str, salt: &[u8], spin_count: u32) -> [u8; 64] {
    let mut h = Sha512::new();
    h.update(salt);
    for unit in password.encode_utf16() {
        h.update(unit.to_le_bytes());
    }
    let mut out: [u8; 64] = h.finalize().into();
    for i in 0..spin_count {
        out = Sha512::new()
            .chain_update(out)
            .chain_update(i.to_le_bytes())
            .finalize()
            .into();
    }
    out
}

/// Attributes `{prefix}AlgorithmName`, `…HashValue`, `…SaltValue`, `…SpinCount` for a fresh
/// salt (prefix "" for sheets, "workbook" for the workbook, camel-cased).
fn password_attrs(password: &str, prefix: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.try_fill_bytes(&mut salt).map_err(|_| Error::Random)?;
    let hash = hash_password(password, &salt, SPIN_COUNT);
    let name = |n: &str| {
        if prefix.is_empty() {
            let mut c = n.chars();
            c.next()
                .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
                .unwrap_or_default()
        } else {
            format!("{prefix}{n}")
        }
    };
    Ok(format!(
        " {}=\"SHA-512\" {}=\"{}\" {}=\"{}\" {}=\"{SPIN_COUNT}\"",
        name("AlgorithmName"),
        name("HashValue"),
        B64.encode(hash),
        name("SaltValue"),
        B64.encode(salt),
        name("SpinCount"),
    ))
}

/// Actions still allowed on a protected sheet. [`Default`] matches Excel's dialog: selecting
/// cells is allowed, everything else is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SheetActions {
    pub select_locked_cells: bool,
    pub select_unlocked_cells: bool,
    pub format_cells: bool,
    pub format_columns: bool,
    pub format_rows: bool,
    pub insert_columns: bool,
    pub insert_rows: bool,
    pub insert_hyperlinks: bool,
    pub delete_columns: bool,
    pub delete_rows: bool,
    pub sort: bool,
    pub auto_filter: bool,
    pub pivot_tables: bool,
    /// Edit objects (shapes, charts, text boxes).
    pub objects: bool,
    pub scenarios: bool,
}

impl Default for SheetActions {
    fn default() -> Self {
        SheetActions {
            select_locked_cells: true,
            select_unlocked_cells: true,
            format_cells: false,
            format_columns: false,
            format_rows: false,
            insert_columns: false,
            insert_rows: false,
            insert_hyperlinks: false,
            delete_columns: false,
            delete_rows: false,
            sort: false,
            auto_filter: false,
            pivot_tables: false,
            objects: false,
            scenarios: false,
        }
    }
}

impl SheetActions {
    /// The `sheetProtection` flags. In OOXML each flag means "this action is LOCKED", so an
    /// allowed action is written as 0; all are written explicitly so no reader default applies.
    fn attrs(&self) -> String {
        let flags = [
            ("objects", self.objects),
            ("scenarios", self.scenarios),
            ("formatCells", self.format_cells),
            ("formatColumns", self.format_columns),
            ("formatRows", self.format_rows),
            ("insertColumns", self.insert_columns),
            ("insertRows", self.insert_rows),
            ("insertHyperlinks", self.insert_hyperlinks),
            ("deleteColumns", self.delete_columns),
            ("deleteRows", self.delete_rows),
            ("selectLockedCells", self.select_locked_cells),
            ("sort", self.sort),
            ("autoFilter", self.auto_filter),
            ("pivotTables", self.pivot_tables),
            ("selectUnlockedCells", self.select_unlocked_cells),
        ];
        flags
            .iter()
            .map(|(name, allowed)| format!(" {name}=\"{}\"", if *allowed { 0 } else { 1 }))
            .collect()
    }
}

/// Sheet protection to apply.
#[derive(Debug, Clone, Copy, Default)]
pub struct SheetProtection<'a> {
    /// Password needed to unprotect; `None` protects without a password.
    pub password: Option<&'a str>,
    /// What users may still do.
    pub allow: SheetActions,
    /// Ranges users may edit while the sheet is protected (Excel's "Allow Edit Ranges"),
    /// each optionally behind its own password.
    pub edit_ranges: &'a [EditRange<'a>],
    /// Ranges (`A1:C9`, several separated by spaces) whose existing cells are unlocked:
    /// editable while the sheet is protected.
    pub unlock: &'a [&'a str],
    /// Ranges whose existing cells show their value but not their formula while the sheet is
    /// protected.
    pub hide_formulas: &'a [&'a str],
    /// Lock every shape, text box, picture and chart drawn on the sheet (and the text of
    /// shapes), even those the workbook had left unlocked. Needs `allow.objects` off.
    pub lock_shapes: bool,
}

/// An allow-edit range (`protectedRange`): cells that stay editable on a protected sheet,
/// without a password or after entering the range's own password.
#[derive(Debug, Clone, Copy)]
pub struct EditRange<'a> {
    /// Title shown in Excel's "Allow Edit Ranges" dialog; unique within the sheet.
    pub name: &'a str,
    /// The cells: `A1:B9`, several separated by spaces.
    pub sqref: &'a str,
    /// Password that unlocks the range; `None` makes it editable by anyone.
    pub password: Option<&'a str>,
}

/// Workbook protection to apply.
#[derive(Debug, Clone, Copy)]
pub struct WorkbookProtection<'a> {
    /// Password needed to unprotect; `None` protects without a password.
    pub password: Option<&'a str>,
    /// Lock the structure: no adding, deleting, renaming, moving, hiding or unhiding sheets.
    pub lock_structure: bool,
    /// Lock the window layout (honoured by older Excel versions).
    pub lock_windows: bool,
}

/// Protect the sheet named `sheet` of the workbook read from `input`, with its allow-edit
/// ranges and per-range cell locking / formula hiding. Everything the caller passed is
/// validated before the archive is read, so bad ranges never produce a half-patched file.
/// Cell protection patches `xl/styles.xml` too (see the `cells` module).
pub fn protect_sheet<R: Read + Seek, W: Write + Seek>(
    input: R,
    output: W,
    sheet: &str,
    protection: &SheetProtection<'_>,
) -> Result<()> {
    // Validate everything the caller gave before touching the archive.
    let ranges = edit_ranges_xml(protection.edit_ranges)?;
    let rules = cells::CellRules {
        unlock: parse_ranges(protection.unlock)?,
        hide: parse_ranges(protection.hide_formulas)?,
    };
    if protection.lock_shapes && protection.allow.objects {
        return Err(Error::InvalidOptions(
            "locking shapes contradicts allowing users to edit objects",
        ));
    }
    let mut archive = open_xlsx(input)?;
    let part = find_sheet_part(&mut archive, sheet)?;
    let mut xml = read_part(&mut archive, &part)?;
    let password = optional_password_attrs(protection.password, "")?;
    let mut replaced = Vec::with_capacity(2);
    if protection.lock_shapes {
        for drawing in shapes::drawing_parts(&mut archive, &part)? {
            let (locked, _) = shapes::lock(&read_part(&mut archive, &drawing)?)?;
            replaced.push((drawing, locked));
        }
    }
    if !rules.is_empty() {
        let styles_part = find_styles_part(&mut archive)?;
        let styles = read_part(&mut archive, &styles_part)?;
        if let Some((sheet_xml, styles_xml)) = cells::apply(&xml, &styles, &rules)? {
            xml = sheet_xml;
            replaced.push((styles_part, styles_xml));
        }
    }
    let attrs = format!("{password} sheet=\"1\"{}", protection.allow.attrs());
    if ranges.is_some() && has_child(&xml, b"protectedRanges")? {
        return Err(Error::InvalidOptions(
            "the sheet already has allow-edit ranges; remove them before adding new ones",
        ));
    }
    let patched = insert_fragment(&xml, b"sheetProtection", AFTER_SHEET_PROTECTION, |p| {
        let mut f = format!("<{p}sheetProtection{attrs}/>");
        if let Some(ranges) = &ranges {
            f.push_str(&format!(
                "<{p}protectedRanges>{}</{p}protectedRanges>",
                ranges.replace("{p}", p)
            ));
        }
        f
    })?;
    replaced.push((part, patched));
    rewrite(&mut archive, output, &replaced)
}

fn optional_password_attrs(password: Option<&str>, prefix: &str) -> Result<String> {
    match password {
        Some(pw) if !pw.is_empty() => password_attrs(pw, prefix),
        Some(_) => Err(Error::InvalidPassword("empty")),
        None => Ok(String::new()),
    }
}

fn parse_ranges(list: &[&str]) -> Result<Vec<cells::Rect>> {
    let mut out = Vec::new();
    for r in list {
        out.extend(cells::parse_sqref(r)?);
    }
    Ok(out)
}

/// The `protectedRange` elements for `ranges` (with `{p}` standing for the namespace prefix),
/// or `None` if there are none. Names must be unique (Excel matches them case-insensitively).
fn edit_ranges_xml(ranges: &[EditRange<'_>]) -> Result<Option<String>> {
    if ranges.is_empty() {
        return Ok(None);
    }
    if ranges.len() > MAX_EDIT_RANGES {
        return Err(Error::InvalidRange(format!(
            "more than {MAX_EDIT_RANGES} allow-edit ranges"
        )));
    }
    let mut out = String::new();
    let mut names: Vec<String> = Vec::with_capacity(ranges.len());
    for r in ranges {
        let name = r.name.trim();
        if name.is_empty() || name.chars().count() > 255 || name.chars().any(char::is_control) {
            return Err(Error::InvalidRange(format!(
                "allow-edit range name {:?}: must be 1 to 255 printable characters",
                r.name
            )));
        }
        let folded = name.to_lowercase();
        if names.contains(&folded) {
            return Err(Error::InvalidRange(format!(
                "allow-edit range name {name:?} is used twice"
            )));
        }
        names.push(folded);
        let sqref = cells::sqref_text(&cells::parse_sqref(r.sqref)?);
        let password = optional_password_attrs(r.password, "")?;
        out.push_str(&format!(
            "<{{p}}protectedRange{password} sqref=\"{sqref}\" name=\"{}\"/>",
            quick_xml::escape::escape(name)
        ));
    }
    Ok(Some(out))
}

/// Is there a child of the root element named `element`?
fn has_child(xml: &[u8], element: &[u8]) -> Result<bool> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut depth = 0usize;
    loop {
        match reader.read_event().map_err(xml_error)? {
            Event::Start(e) => {
                if depth == 1 && local(e.name().as_ref()) == element {
                    return Ok(true);
                }
                depth += 1;
            }
            Event::Empty(e) if depth == 1 && local(e.name().as_ref()) == element => return Ok(true),
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Eof => return Ok(false),
            _ => {}
        }
    }
}

/// The styles part, through the workbook's relationship of type styles.
fn find_styles_part<R: Read + Seek>(archive: &mut zip::ZipArchive<R>) -> Result<String> {
    let rels = read_part(archive, WORKBOOK_RELS)?;
    let mut reader = quick_xml::Reader::from_reader(rels.as_slice());
    loop {
        match reader.read_event().map_err(xml_error)? {
            Event::Start(e) | Event::Empty(e)
                if local(e.name().as_ref()) == b"Relationship" && attr(&e, b"Type")?.as_deref() == Some(STYLES_REL) =>
            {
                let target =
                    attr(&e, b"Target")?.ok_or_else(|| Error::malformed("xlsx", "relationship without Target"))?;
                return Ok(resolve_target(&target));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Err(Error::malformed(
        "xlsx",
        "the workbook has no styles part (cell protection lives in xl/styles.xml); \
         open and save it in Excel or LibreOffice first",
    ))
}

/// Protect the workbook read from `input` (structure and/or windows).
pub fn protect_workbook<R: Read + Seek, W: Write + Seek>(
    input: R,
    output: W,
    protection: &WorkbookProtection<'_>,
) -> Result<()> {
    if !protection.lock_structure && !protection.lock_windows {
        return Err(Error::InvalidOptions(
            "nothing to lock: set lock_structure or lock_windows",
        ));
    }
    let mut archive = open_xlsx(input)?;
    let xml = read_part(&mut archive, WORKBOOK)?;
    let password = optional_password_attrs(protection.password, "workbook")?;
    let attrs = format!(
        "{password} lockStructure=\"{}\" lockWindows=\"{}\"",
        u8::from(protection.lock_structure),
        u8::from(protection.lock_windows)
    );
    let patched = insert_element(&xml, b"workbookProtection", AFTER_WORKBOOK_PROTECTION, &attrs)?;
    rewrite(&mut archive, output, &[(WORKBOOK.to_owned(), patched)])
}

fn zip_error(e: zip::result::ZipError) -> Error {
    match e {
        zip::result::ZipError::Io(io) => Error::Io(io),
        other => Error::malformed("zip archive", other.to_string()),
    }
}

fn open_xlsx<R: Read + Seek>(mut input: R) -> Result<zip::ZipArchive<R>> {
    let head = read_head(&mut input)?;
    match detect_format(&head) {
        Format::Zip => {}
        Format::CompoundFile => return Err(Error::AlreadyProtected),
        found => {
            return Err(Error::WrongFormat {
                expected: EXPECTED,
                found,
            });
        }
    }
    let archive = zip::ZipArchive::new(input).map_err(zip_error)?;
    if archive.index_for_name(WORKBOOK).is_none() {
        return Err(Error::WrongFormat {
            expected: EXPECTED,
            found: Format::Zip,
        });
    }
    Ok(archive)
}

fn read_part<R: Read + Seek>(archive: &mut zip::ZipArchive<R>, name: &str) -> Result<Vec<u8>> {
    let file = archive.by_name(name).map_err(|e| match e {
        zip::result::ZipError::FileNotFound => Error::malformed("xlsx", format!("missing part {name}")),
        other => zip_error(other),
    })?;
    let mut out = Vec::new();
    file.take(MAX_PART + 1).read_to_end(&mut out)?;
    if out.len() as u64 > MAX_PART {
        return Err(Error::malformed("xlsx", format!("{name} is larger than 256 MiB")));
    }
    Ok(out)
}

/// Copy every entry raw except those named in `replaced`, which get their new content
/// (deflated), in the same order.
fn rewrite<R: Read + Seek, W: Write + Seek>(
    archive: &mut zip::ZipArchive<R>,
    output: W,
    replaced: &[(String, Vec<u8>)],
) -> Result<()> {
    let mut writer = zip::ZipWriter::new(output);
    for i in 0..archive.len() {
        let file = archive.by_index_raw(i).map_err(zip_error)?;
        let entry_name = file.name().map_err(zip_error)?.into_owned();
        if let Some((name, content)) = replaced.iter().find(|(n, _)| *n == entry_name) {
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .last_modified_time(file.last_modified().unwrap_or_default());
            drop(file);
            writer.start_file(name, options).map_err(zip_error)?;
            writer.write_all(content)?;
        } else {
            writer.raw_copy_file(file).map_err(zip_error)?;
        }
    }
    writer.finish().map_err(zip_error)?;
    Ok(())
}

/// Local name of a qualified XML name (`x:sheet` → `sheet`).
fn local(qname: &[u8]) -> &[u8] {
    qname.rsplit(|b| *b == b':').next().unwrap_or(qname)
}

/// Attribute value of `name` (local name) on `e`, unescaped.
fn attr(e: &quick_xml::events::BytesStart<'_>, name: &[u8]) -> Result<Option<String>> {
    for a in e.attributes() {
        let a = a.map_err(|err| Error::malformed("xlsx XML", err.to_string()))?;
        if local(a.key.as_ref()) == name {
            let v = a
                .unescape_value()
                .map_err(|err| Error::malformed("xlsx XML", err.to_string()))?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

fn xml_error(e: quick_xml::Error) -> Error {
    Error::malformed("xlsx XML", e.to_string())
}

/// Resolve a sheet name to its part path through `workbook.xml` and its relationships.
fn find_sheet_part<R: Read + Seek>(archive: &mut zip::ZipArchive<R>, sheet: &str) -> Result<String> {
    let wb = read_part(archive, WORKBOOK)?;
    let mut reader = quick_xml::Reader::from_reader(wb.as_slice());
    let mut rel_id = None;
    let mut names = Vec::new();
    loop {
        match reader.read_event().map_err(xml_error)? {
            Event::Start(e) | Event::Empty(e) if local(e.name().as_ref()) == b"sheet" => {
                let name = attr(&e, b"name")?.unwrap_or_default();
                if name == sheet {
                    rel_id = attr(&e, b"id")?;
                    break;
                }
                names.push(name);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let rel_id = rel_id.ok_or_else(|| {
        Error::malformed(
            "xlsx",
            format!("no sheet named {sheet:?} (sheets: {})", names.join(", ")),
        )
    })?;
    let rels = read_part(archive, WORKBOOK_RELS)?;
    let mut reader = quick_xml::Reader::from_reader(rels.as_slice());
    loop {
        match reader.read_event().map_err(xml_error)? {
            Event::Start(e) | Event::Empty(e)
                if local(e.name().as_ref()) == b"Relationship"
                    && attr(&e, b"Id")?.as_deref() == Some(rel_id.as_str()) =>
            {
                let target =
                    attr(&e, b"Target")?.ok_or_else(|| Error::malformed("xlsx", "relationship without Target"))?;
                return Ok(resolve_target(&target));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Err(Error::malformed(
        "xlsx",
        format!("sheet relationship {rel_id} not found"),
    ))
}

/// Targets are relative to `xl/` unless absolute (`/xl/worksheets/…`); `..` is resolved.
fn resolve_target(target: &str) -> String {
    let mut parts: Vec<&str> = if target.starts_with('/') { vec![] } else { vec!["xl"] };
    for seg in target.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// Splice `<{prefix}{element}{attrs}/>` into `xml` as a child of the root element, before the
/// first child that the schema orders after it (or before the root's end tag). Refuses if
/// the element is already there.
fn insert_element(xml: &[u8], element: &[u8], successors: &[&[u8]], attrs: &str) -> Result<Vec<u8>> {
    let element_name = std::str::from_utf8(element).map_err(|_| Error::InvalidOptions("element name is not UTF-8"))?;
    insert_fragment(xml, element, successors, |p| format!("<{p}{element_name}{attrs}/>"))
}

/// Splice the markup `build(prefix)` into `xml` where `element` belongs as a child of the
/// root: before the first child that the schema orders after it (or before the root's end
/// tag). `build` gets the root's namespace prefix (`""` or `"x:"`) so the new elements are in
/// the same namespace. Refuses with [`Error::AlreadyProtected`] if `element` is already there.
fn insert_fragment(
    xml: &[u8],
    element: &[u8],
    successors: &[&[u8]],
    build: impl FnOnce(&str) -> String,
) -> Result<Vec<u8>> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut depth = 0usize;
    let mut prefix: Vec<u8> = Vec::new();
    let mut insert_at = None;
    loop {
        let before =
            usize::try_from(reader.buffer_position()).map_err(|_| Error::malformed("xlsx XML", "position overflow"))?;
        let event = reader.read_event().map_err(xml_error)?;
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                let qname = e.name();
                let name = local(qname.as_ref());
                if depth == 0 {
                    let q = qname.as_ref();
                    prefix = q.get(..q.len() - name.len()).unwrap_or_default().to_vec();
                } else if depth == 1 {
                    if name == element {
                        return Err(Error::AlreadyProtected);
                    }
                    if insert_at.is_none() && successors.contains(&name) {
                        insert_at = Some(before);
                    }
                }
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    if insert_at.is_none() {
                        insert_at = Some(before);
                    }
                    break;
                }
            }
            Event::Eof => return Err(Error::malformed("xlsx XML", "unexpected end of part")),
            _ => {}
        }
    }
    let at = insert_at.ok_or_else(|| Error::malformed("xlsx XML", "no root element"))?;
    let (head, tail) = xml
        .split_at_checked(at)
        .ok_or_else(|| Error::malformed("xlsx XML", "position out of range"))?;
    let prefix = std::str::from_utf8(&prefix).map_err(|_| Error::malformed("xlsx XML", "prefix is not UTF-8"))?;
    let fragment = build(prefix);
    let mut out = Vec::with_capacity(xml.len() + fragment.len());
    out.extend_from_slice(head);
    out.extend_from_slice(fragment.as_bytes());
    out.extend_from_slice(tail);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_in_schema_order_and_keeps_bytes() {
        let xml = b"<?xml version=\"1.0\"?>\n<worksheet xmlns=\"x\"><sheetData><row r=\"1\"/></sheetData>\n<pageMargins left=\"1\"/></worksheet>";
        let out = insert_element(xml, b"sheetProtection", AFTER_SHEET_PROTECTION, " sheet=\"1\"").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<?xml version=\"1.0\"?>\n<worksheet xmlns=\"x\"><sheetData><row r=\"1\"/></sheetData>\n<sheetProtection sheet=\"1\"/><pageMargins left=\"1\"/></worksheet>"
        );
        let bare = b"<x:worksheet xmlns:x=\"x\"><x:sheetData/></x:worksheet>";
        let out = insert_element(bare, b"sheetProtection", AFTER_SHEET_PROTECTION, "").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<x:worksheet xmlns:x=\"x\"><x:sheetData/><x:sheetProtection/></x:worksheet>"
        );
        let again = b"<worksheet><sheetData/><sheetProtection sheet=\"1\"/></worksheet>";
        assert!(matches!(
            insert_element(again, b"sheetProtection", AFTER_SHEET_PROTECTION, ""),
            Err(Error::AlreadyProtected)
        ));
        assert!(insert_element(b"<worksheet><sheetData>", b"a", &[], "").is_err());
    }

    #[test]
    fn hash_definition() {
        // Zero rounds is the plain salted hash; one round appends LE32(0).
        let h0 = hash_password("pw", b"salt", 0);
        let expect0: [u8; 64] = Sha512::new()
            .chain_update(b"salt")
            .chain_update([b'p', 0, b'w', 0])
            .finalize()
            .into();
        assert_eq!(h0, expect0);
        let h1: [u8; 64] = Sha512::new()
            .chain_update(h0)
            .chain_update([0, 0, 0, 0])
            .finalize()
            .into();
        assert_eq!(hash_password("pw", b"salt", 1), h1);
    }

    #[test]
    fn resolves_targets() {
        assert_eq!(resolve_target("worksheets/sheet1.xml"), "xl/worksheets/sheet1.xml");
        assert_eq!(resolve_target("/xl/worksheets/s.xml"), "xl/worksheets/s.xml");
        assert_eq!(resolve_target("../xl/worksheets/s.xml"), "xl/worksheets/s.xml");
    }
}
