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
/// Largest part we stream through an edit: far above any real sheet (Excel's own limits give
/// a few GiB at most), it stops a zip bomb from keeping us busy for hours.
const MAX_STREAMED_PART: u64 = 16 * 1024 * 1024 * 1024;
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
    // The same rules as the passwords that open a document: a Tab, NUL or bidi control could
    // not be typed again in Excel's dialog.
    crate::password::check(password, crate::password::PasswordRole::Password)?;
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
    /// Ranges whose existing cells are locked again (cells are locked unless their format
    /// says otherwise; a workbook may have unlocked some). Must not overlap `unlock`.
    pub lock: &'a [&'a str],
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
    let rules = cells::CellRules::new(
        parse_ranges(protection.lock)?,
        parse_ranges(protection.unlock)?,
        parse_ranges(protection.hide_formulas)?,
    )?;
    if protection.lock_shapes && protection.allow.objects {
        return Err(Error::InvalidOptions(
            "locking shapes contradicts allowing users to edit objects",
        ));
    }
    let mut archive = open_xlsx(input)?;
    let part = find_sheet_part(&mut archive, sheet)?;
    let password = optional_password_attrs(protection.password, "")?;
    let mut replaced = Vec::with_capacity(3);
    if protection.lock_shapes {
        for drawing in shapes::drawing_parts(&mut archive, &part)? {
            let (locked, _) = shapes::lock(&read_part(&mut archive, &drawing)?)?;
            replaced.push((drawing, NewPart::Bytes(locked)));
        }
    }
    // Cell rules rewrite cells all over the sheet, so that sheet is patched in memory (up to
    // MAX_PART). Without them only one element is spliced in, and the sheet streams through:
    // a sheet of any size is protected in constant memory.
    let sheet_xml = if rules.is_empty() {
        None
    } else {
        let mut xml = read_part(&mut archive, &part)?;
        let styles_part = find_styles_part(&mut archive)?;
        let styles = read_part(&mut archive, &styles_part)?;
        if let Some((sheet_xml, styles_xml)) = cells::apply(&xml, &styles, &rules)? {
            xml = sheet_xml;
            replaced.push((styles_part, NewPart::Bytes(styles_xml)));
        }
        Some(xml)
    };
    let point = match &sheet_xml {
        Some(xml) => find_insert_point(xml.as_slice(), b"sheetProtection", AFTER_SHEET_PROTECTION)?,
        None => find_insert_point(
            std::io::BufReader::new(open_part(&mut archive, &part)?),
            b"sheetProtection",
            AFTER_SHEET_PROTECTION,
        )?,
    };
    if ranges.is_some() && point.has_protected_ranges {
        return Err(Error::InvalidOptions(
            "the sheet already has allow-edit ranges; remove them before adding new ones",
        ));
    }
    let p = point.prefix.as_str();
    let attrs = format!("{password} sheet=\"1\"{}", protection.allow.attrs());
    let mut fragment = format!("<{p}sheetProtection{attrs}/>");
    if let Some(ranges) = &ranges {
        fragment.push_str(&format!(
            "<{p}protectedRanges>{}</{p}protectedRanges>",
            ranges.replace("{p}", p)
        ));
    }
    let splice = Splice {
        at: point.at,
        skip_to: point.at,
        fragment: fragment.into_bytes(),
    };
    let new_sheet = match sheet_xml {
        Some(xml) => NewPart::Bytes(splice.apply(&xml)?),
        None => NewPart::Splice(splice),
    };
    replaced.push((part, new_sheet));
    rewrite(&mut archive, output, replaced)
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
    rewrite(
        &mut archive,
        output,
        vec![(WORKBOOK.to_owned(), NewPart::Bytes(patched))],
    )
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
    Ok(crate::without_bom(out))
}

/// New content for a part of the workbook.
pub(super) enum NewPart {
    /// The whole new part.
    Bytes(Vec<u8>),
    /// The old part with one edit, streamed from the archive (constant memory).
    Splice(Splice),
}

/// Replace bytes `at..skip_to` of a part with `fragment` (an insertion when they are equal,
/// a removal when `fragment` is empty).
pub(super) struct Splice {
    pub(super) at: u64,
    pub(super) skip_to: u64,
    pub(super) fragment: Vec<u8>,
}

impl Splice {
    /// The edit applied to a part held in memory.
    pub(super) fn apply(&self, xml: &[u8]) -> Result<Vec<u8>> {
        let range = |n: u64| usize::try_from(n).ok().filter(|n| *n <= xml.len());
        let (Some(at), Some(skip_to)) = (range(self.at), range(self.skip_to)) else {
            return Err(Error::malformed("xlsx XML", "edit position out of range"));
        };
        let mut out = Vec::with_capacity(xml.len() + self.fragment.len());
        out.extend_from_slice(xml.get(..at).unwrap_or_default());
        out.extend_from_slice(&self.fragment);
        out.extend_from_slice(xml.get(skip_to..).unwrap_or_default());
        Ok(out)
    }

    /// Stream `part` through the edit into `out`. Reading to the end lets the zip reader
    /// check the part's CRC-32.
    fn stream(&self, mut part: impl Read, out: &mut impl Write) -> Result<()> {
        let copied = std::io::copy(&mut (&mut part).take(self.at), out)?;
        let skipped = std::io::copy(&mut (&mut part).take(self.skip_to - self.at), &mut std::io::sink())?;
        if copied != self.at || skipped != self.skip_to - self.at {
            return Err(Error::malformed("xlsx", "a part ended before the edit position"));
        }
        out.write_all(&self.fragment)?;
        std::io::copy(&mut part, out)?;
        Ok(())
    }
}

/// Copy every entry raw (still compressed) except those named in `replaced`, which get their
/// new content (deflated), in the same order.
fn rewrite<R: Read + Seek, W: Write + Seek>(
    archive: &mut zip::ZipArchive<R>,
    output: W,
    replaced: Vec<(String, NewPart)>,
) -> Result<()> {
    // A crafted workbook can make one part play two roles (a "drawing" that is the sheet);
    // one edit would silently win over the other.
    for (i, (name, _)) in replaced.iter().enumerate() {
        if replaced.iter().skip(i + 1).any(|(other, _)| other == name) {
            return Err(Error::malformed(
                "xlsx",
                format!("{name} is referenced in two different roles"),
            ));
        }
    }
    let mut writer = zip::ZipWriter::new(output);
    for i in 0..archive.len() {
        let file = archive.by_index_raw(i).map_err(zip_error)?;
        let entry_name = file.name().map_err(zip_error)?.into_owned();
        let Some((name, content)) = replaced.iter().find(|(n, _)| *n == entry_name) else {
            writer.raw_copy_file(file).map_err(zip_error)?;
            continue;
        };
        let size = match content {
            NewPart::Bytes(b) => b.len() as u64,
            NewPart::Splice(s) => file.size() + s.fragment.len() as u64,
        };
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(file.last_modified().unwrap_or_default())
            // Zip64 sizes for parts of 4 GiB and more.
            .large_file(size >= u64::from(u32::MAX));
        drop(file);
        writer.start_file(name, options).map_err(zip_error)?;
        match content {
            NewPart::Bytes(bytes) => writer.write_all(bytes)?,
            NewPart::Splice(splice) => splice.stream(open_part(archive, name)?, &mut writer)?,
        }
    }
    writer.finish().map_err(zip_error)?;
    Ok(())
}

/// A part, decompressed as it is read, capped at `MAX_STREAMED_PART` bytes.
pub(super) fn open_part<'a, R: Read + Seek>(archive: &'a mut zip::ZipArchive<R>, name: &str) -> Result<impl Read + 'a> {
    let file = archive.by_name(name).map_err(|e| match e {
        zip::result::ZipError::FileNotFound => Error::malformed("xlsx", format!("missing part {name}")),
        other => zip_error(other),
    })?;
    if file.size() > MAX_STREAMED_PART {
        return Err(Error::malformed(
            "xlsx",
            format!("{name} is larger than {} GiB", MAX_STREAMED_PART >> 30),
        ));
    }
    Ok(file.take(MAX_STREAMED_PART + 1))
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

/// Targets of the workbook's relationships are relative to `xl/` unless absolute.
fn resolve_target(target: &str) -> String {
    shapes::resolve_from("xl", target)
}

/// Splice `<{prefix}{element}{attrs}/>` into `xml` as a child of the root element, before the
/// first child that the schema orders after it (or before the root's end tag). Refuses if
/// the element is already there.
fn insert_element(xml: &[u8], element: &[u8], successors: &[&[u8]], attrs: &str) -> Result<Vec<u8>> {
    let element_name = std::str::from_utf8(element).map_err(|_| Error::InvalidOptions("element name is not UTF-8"))?;
    let point = find_insert_point(xml, element, successors)?;
    Splice {
        at: point.at,
        skip_to: point.at,
        fragment: format!("<{}{element_name}{attrs}/>", point.prefix).into_bytes(),
    }
    .apply(xml)
}

/// Most bytes one XML event (a tag, or a text node) may span in a streamed part. The parser
/// holds an event whole, so without this bound a crafted part (one 10 GiB text node deflates
/// to 10 MB) would be buffered whole, streaming or not.
const MAX_EVENT: u64 = 64 * 1024 * 1024;

/// A reader that fails once more than [`MAX_EVENT`] bytes are consumed since the last
/// [`EventBudget::next_event`]: streamed parts stay in bounded memory whatever they hold.
pub(super) struct EventBudget<R> {
    inner: R,
    used: u64,
}

impl<R: std::io::BufRead> EventBudget<R> {
    pub(super) fn new(inner: R) -> Self {
        EventBudget { inner, used: 0 }
    }

    /// Call between events: the next event gets the whole budget.
    pub(super) fn next_event(&mut self) {
        self.used = 0;
    }
}

impl<R: std::io::BufRead> Read for EventBudget<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let available = std::io::BufRead::fill_buf(self)?;
            let n = available.len().min(out.len());
            if let (Some(dst), Some(src)) = (out.get_mut(..n), available.get(..n)) {
                dst.copy_from_slice(src);
            }
            n
        };
        std::io::BufRead::consume(self, n);
        Ok(n)
    }
}

impl<R: std::io::BufRead> std::io::BufRead for EventBudget<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.used > MAX_EVENT {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "a single XML tag or text is larger than 64 MiB",
            ));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        self.used += n as u64;
        self.inner.consume(n);
    }
}

/// Where a new child `element` of the root belongs in a part.
struct InsertPoint {
    /// Byte offset: before the first child that the schema orders after `element`, or before
    /// the root's end tag.
    at: u64,
    /// The root's namespace prefix (`""` or `"x:"`), for new elements in its namespace.
    prefix: String,
    /// Whether the root already has a `protectedRanges` child.
    has_protected_ranges: bool,
}

/// Find where `element` goes, in one streaming pass over the part (memory bounded by the
/// largest single tag). Refuses with [`Error::AlreadyProtected`] if `element` is already
/// there.
fn find_insert_point(input: impl std::io::BufRead, element: &[u8], successors: &[&[u8]]) -> Result<InsertPoint> {
    let (bom, input) = crate::skip_bom(input)?;
    let mut reader = quick_xml::Reader::from_reader(EventBudget::new(input));
    let mut buf = Vec::new();
    let mut depth = 0usize;
    let mut prefix: Vec<u8> = Vec::new();
    let mut insert_at = None;
    let mut has_protected_ranges = false;
    loop {
        let before = bom + reader.buffer_position();
        if before > MAX_STREAMED_PART {
            return Err(Error::malformed("xlsx", "a part is too large"));
        }
        buf.clear();
        reader.get_mut().next_event();
        let event = reader.read_event_into(&mut buf).map_err(xml_error)?;
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
                    has_protected_ranges |= name == b"protectedRanges";
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
                    let prefix =
                        String::from_utf8(prefix).map_err(|_| Error::malformed("xlsx XML", "prefix is not UTF-8"))?;
                    return Ok(InsertPoint {
                        at: insert_at.unwrap_or(before),
                        prefix,
                        has_protected_ranges,
                    });
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

    /// Parts written with a UTF-8 byte order mark: the parser skips it without counting it,
    /// so every position must be shifted by its three bytes.
    #[test]
    fn byte_order_mark_is_counted() {
        let xml = "\u{feff}<worksheet><sheetData/><pageMargins/></worksheet>".as_bytes();
        let out = insert_element(xml, b"sheetProtection", AFTER_SHEET_PROTECTION, "").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\u{feff}<worksheet><sheetData/><sheetProtection/><pageMargins/></worksheet>"
        );
        let streamed = find_insert_point(
            std::io::BufReader::with_capacity(2, xml),
            b"sheetProtection",
            &[b"pageMargins"],
        )
        .unwrap();
        assert_eq!(streamed.at, 3 + "<worksheet><sheetData/>".len() as u64);
    }

    /// A streamed part is read in bounded memory even when one text node is enormous.
    #[test]
    fn one_huge_event_is_refused() {
        use std::io::Read as _;
        let huge = std::io::Cursor::new(b"<worksheet><sheetData>".to_vec())
            .chain(std::io::repeat(b'a').take(MAX_EVENT + 1024))
            .chain(std::io::Cursor::new(b"</sheetData></worksheet>".to_vec()));
        let err = find_insert_point(
            std::io::BufReader::new(huge),
            b"sheetProtection",
            AFTER_SHEET_PROTECTION,
        );
        assert!(
            matches!(err, Err(Error::Malformed { .. }) | Err(Error::Io(_))),
            "{:?}",
            err.map(|p| p.at)
        );
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
