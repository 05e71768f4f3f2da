//! Header watermarks in Word (.docx) documents, written the way Word's own "Watermark" command
//! writes them, so Word shows, edits and removes them like its own and LibreOffice imports them
//! as a Fontwork watermark.
//!
//! The watermark is a VML WordArt shape (`v:shape` of the text-path type `#_x0000_t136`,
//! rotated, with a semi-transparent fill) in a `w:pict` run of each header part. A header is
//! drawn on every page of its section, so every page gets the watermark, behind the text.
//!
//! - Every header part referenced by a section (default, first-page, even-page) is stamped.
//! - Headers that some page would not have are created: a default header when the first section
//!   has none (later sections without their own inherit it, ECMA-376 Part 1, 17.10.5), and
//!   likewise a first-page header when a section shows a distinct first page (`w:titlePg`) and
//!   an even-page header when the settings ask for distinct odd and even pages. A new header is
//!   a new part with its relationship, its content-type override and a `w:headerReference` in
//!   the section's `w:sectPr`.
//! - The document is patched, not rewritten: header parts, `document.xml`, its relationships and
//!   `[Content_Types].xml` get the new markup spliced in with every other byte kept; every other
//!   zip entry is copied raw (still compressed, byte for byte).
//!
//! Refused: a password-protected document (a Compound File: [`Error::AlreadyProtected`],
//! watermark first, then protect), and anything that is not a Word document, recognised by
//! content. A tiled watermark is not something Word draws in documents, so `tiled` is refused.

use std::io::{Cursor, Read, Seek, Write};

use ab_glyph::{Font, FontRef};
use quick_xml::events::{BytesStart, Event};

use super::TextWatermark;
use crate::font::DEJAVU_SANS;
use crate::{Error, Format, Result, detect_format};

const EXPECTED: &str = "a Word document (.docx)";
/// Largest XML part read into memory; bigger ones are refused as a likely zip bomb.
const MAX_PART: u64 = 256 * 1024 * 1024;
const MAX_TEXT_CHARS: usize = 500;

const NS_W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const NS_R: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const NS_PKG_RELS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
const REL_OFFICE_DOCUMENT: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument";
const REL_HEADER: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/header";
const REL_SETTINGS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings";
const CT_HEADER: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml";

/// The printable area the watermark must fit in, in points: the narrower and shorter of US
/// Letter and A4 less Word's default margins of one inch (A4 width, Letter height). The real
/// page may be bigger; a watermark that fits this fits nearly every page.
const FIT_AREA_PT: (f32, f32) = (451.0, 648.0);

/// Stamp `wm` as a header watermark on every page of the Word document `bytes`.
pub fn stamp(bytes: &[u8], wm: &TextWatermark<'_>) -> Result<Vec<u8>> {
    match detect_format(bytes) {
        Format::Zip => {}
        Format::CompoundFile => return Err(Error::AlreadyProtected),
        found => {
            return Err(Error::WrongFormat {
                expected: EXPECTED,
                found,
            });
        }
    }
    check(wm)?;
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(zip_error)?;
    let main = main_part(&mut archive)?;
    let document = read_part(&mut archive, &main)?.ok_or_else(not_word)?;
    let body = parse_document(&document)?;
    let main_rels_name = rels_name(&main);
    let rels_xml = read_part(&mut archive, &main_rels_name)?;
    let rels = match &rels_xml {
        Some(xml) => parse_rels(xml)?,
        None => Vec::new(),
    };
    let base = main.rsplit_once('/').map(|(dir, _)| dir).unwrap_or("");
    let even_pages = match rels.iter().find(|r| r.kind == REL_SETTINGS && !r.external) {
        Some(r) => match read_part(&mut archive, &resolve(base, &r.target))? {
            Some(settings) => has_on_flag(&settings, b"evenAndOddHeaders")?,
            None => false,
        },
        None => false,
    };

    // Existing headers referenced by any section.
    let mut headers: Vec<String> = Vec::new();
    for section in &body.sections {
        for (_, id) in &section.refs {
            let rel = rels
                .iter()
                .find(|r| &r.id == id && r.kind == REL_HEADER && !r.external)
                .ok_or_else(|| Error::malformed("docx", format!("header relationship {id} not found")))?;
            let part = resolve(base, &rel.target);
            if part == main || part == main_rels_name {
                return Err(Error::malformed(
                    "docx",
                    format!("a header relationship points at {part}"),
                ));
            }
            if !headers.contains(&part) {
                headers.push(part);
            }
        }
    }

    // Header types the first section lacks although some page needs them.
    let first = body.sections.first();
    let has = |t: &str| first.is_some_and(|s| s.refs.iter().any(|(kind, _)| kind == t));
    let mut missing: Vec<&str> = Vec::new();
    if !has("default") {
        missing.push("default");
    }
    if body.sections.iter().any(|s| s.title_page) && !has("first") {
        missing.push("first");
    }
    if even_pages && !has("even") {
        missing.push("even");
    }

    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.map(|n| n.to_ascii_lowercase()))
        .collect::<std::result::Result<_, _>>()
        .map_err(zip_error)?;
    let mut created: Vec<(String, String, String)> = Vec::new(); // (type, rel id, part name)
    let mut n = 1usize;
    for kind in missing {
        let part = loop {
            let candidate = format!("{base}{}header{n}.xml", if base.is_empty() { "" } else { "/" });
            n += 1;
            if !names.contains(&candidate.to_ascii_lowercase()) {
                break candidate;
            }
        };
        let id = fresh_rel_id(&rels, &created);
        created.push((kind.to_owned(), id, part));
    }

    let run = watermark_run(wm)?;
    let mut replaced: Vec<(String, Vec<u8>)> = Vec::new();
    let mut added: Vec<(String, Vec<u8>)> = Vec::new();
    // One budget for all headers together: each may be large, and a crafted file may name
    // many of them.
    let mut budget = MAX_PART;
    for (i, part) in headers.iter().enumerate() {
        let xml = read_part(&mut archive, part)?
            .ok_or_else(|| Error::malformed("docx", format!("missing header part {part}")))?;
        budget = budget
            .checked_sub(xml.len() as u64)
            .ok_or_else(|| Error::malformed("docx", "the header parts together are larger than 256 MiB"))?;
        replaced.push((part.clone(), add_run_to_header(&xml, &numbered(&run, i))?));
    }
    if !created.is_empty() {
        let offset = headers.len();
        for (i, (_, _, part)) in created.iter().enumerate() {
            let run = numbered(&run, offset + i);
            added.push((part.clone(), new_header(&run).into_bytes()));
        }
        let refs: String = created
            .iter()
            .map(|(kind, id, _)| {
                format!("<{{p}}headerReference xmlns:r=\"{NS_R}\" {{p}}type=\"{kind}\" r:id=\"{id}\"/>")
            })
            .collect();
        replaced.push((main.clone(), add_header_refs(&document, &body, &refs)?));
        let new_rels: String = created
            .iter()
            .map(|(_, id, part)| {
                let target = part.strip_prefix(&format!("{base}/")).unwrap_or(part);
                format!(
                    "<Relationship Id=\"{id}\" Type=\"{REL_HEADER}\" Target=\"{}\"/>",
                    quick_xml::escape::escape(target)
                )
            })
            .collect();
        match &rels_xml {
            Some(xml) => replaced.push((main_rels_name.clone(), insert_before_root_end(xml, &new_rels)?)),
            None => added.push((
                main_rels_name.clone(),
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
                     <Relationships xmlns=\"{NS_PKG_RELS}\">{new_rels}</Relationships>"
                )
                .into_bytes(),
            )),
        }
        let types = read_part(&mut archive, "[Content_Types].xml")?
            .ok_or_else(|| Error::malformed("docx", "missing [Content_Types].xml"))?;
        let overrides: String = created
            .iter()
            .map(|(_, _, part)| {
                format!(
                    "<Override PartName=\"/{}\" ContentType=\"{CT_HEADER}\"/>",
                    quick_xml::escape::escape(part.as_str())
                )
            })
            .collect();
        replaced.push((
            "[Content_Types].xml".to_owned(),
            insert_before_root_end(&types, &overrides)?,
        ));
    }
    let mut out = Cursor::new(Vec::with_capacity(bytes.len() + 8192));
    rewrite(&mut archive, &mut out, &replaced, &added)?;
    Ok(out.into_inner())
}

// ---------------------------------------------------------------------------------------------
// Options and the shape

fn check(wm: &TextWatermark<'_>) -> Result<()> {
    if wm.text.trim().is_empty() {
        return Err(Error::InvalidOptions("empty watermark text"));
    }
    if wm.text.chars().count() > MAX_TEXT_CHARS {
        return Err(Error::InvalidOptions("watermark text longer than 500 characters"));
    }
    if wm
        .text
        .chars()
        .any(|c| c.is_control() || matches!(c, '\u{FFFE}' | '\u{FFFF}'))
    {
        return Err(Error::InvalidOptions(
            "watermark text must be one line without control characters",
        ));
    }
    if !(1.0..=500.0).contains(&wm.font_size) {
        return Err(Error::InvalidOptions("font size must be between 1 and 500 points"));
    }
    if !(0.0..=1.0).contains(&wm.opacity) {
        return Err(Error::InvalidOptions("opacity must be between 0 and 1"));
    }
    if wm.rgb.iter().any(|c| !(0.0..=1.0).contains(c)) {
        return Err(Error::InvalidOptions("colour components must be between 0 and 1"));
    }
    if !wm.rotation_deg.is_finite() {
        return Err(Error::InvalidOptions("rotation must be a finite number"));
    }
    if wm.tiled {
        return Err(Error::InvalidOptions(
            "tiled watermarks are not supported in Word documents; use a single watermark",
        ));
    }
    Ok(())
}

/// Length of the text in em, measured with the built-in font's advance widths (readers
/// stretch the text to fill the shape, so this sets the shape's proportions).
fn em_width(text: &str) -> Result<f32> {
    let font = FontRef::try_from_slice(DEJAVU_SANS).map_err(|_| Error::malformed("built-in font", "unreadable"))?;
    let upem = font.units_per_em().unwrap_or(2048.0);
    let width: f32 = text.chars().map(|c| font.h_advance_unscaled(font.glyph_id(c))).sum();
    Ok((width / upem).max(0.5))
}

/// The `w:r` holding the watermark shape; [`SHAPE_NUMBER`] in it stands for a number unique
/// in the document, which makes the shape's id unique.
fn watermark_run(wm: &TextWatermark<'_>) -> Result<String> {
    let em = em_width(wm.text)?;
    let (sin, cos) = wm.rotation_deg.to_radians().sin_cos();
    // Shrink to fit the printable area at this angle, as PDF watermarks do.
    let box_w = em * cos.abs() + sin.abs();
    let box_h = em * sin.abs() + cos.abs();
    let size = wm
        .font_size
        .min(FIT_AREA_PT.0 / box_w)
        .min(FIT_AREA_PT.1 / box_h)
        .max(1.0);
    let (width, height) = (em * size, size);
    // VML turns shapes clockwise; ours is counter-clockwise.
    let rotation = (-wm.rotation_deg).rem_euclid(360.0);
    let [r, g, b] = wm.rgb.map(|c| (c * 255.0).round() as u8);
    let text = quick_xml::escape::escape(wm.text);
    Ok(format!(
        concat!(
            "<w:r xmlns:w=\"{ns_w}\"><w:rPr><w:noProof/></w:rPr>",
            "<w:pict xmlns:v=\"urn:schemas-microsoft-com:vml\" xmlns:o=\"urn:schemas-microsoft-com:office:office\" ",
            "xmlns:w10=\"urn:schemas-microsoft-com:office:word\">",
            "<v:shapetype id=\"_x0000_t136\" coordsize=\"21600,21600\" o:spt=\"136\" adj=\"10800\" ",
            "path=\"m@7,l@8,m@5,21600l@6,21600e\">",
            "<v:formulas><v:f eqn=\"sum #0 0 10800\"/><v:f eqn=\"prod #0 2 1\"/><v:f eqn=\"sum 21600 0 @1\"/>",
            "<v:f eqn=\"sum 0 0 @2\"/><v:f eqn=\"sum 21600 0 @3\"/><v:f eqn=\"if @0 @3 0\"/>",
            "<v:f eqn=\"if @0 21600 @1\"/><v:f eqn=\"if @0 0 @2\"/><v:f eqn=\"if @0 @4 21600\"/>",
            "<v:f eqn=\"mid @5 @6\"/><v:f eqn=\"mid @8 @5\"/><v:f eqn=\"mid @7 @8\"/><v:f eqn=\"mid @6 @7\"/>",
            "<v:f eqn=\"sum @6 0 @5\"/></v:formulas>",
            "<v:path textpathok=\"t\" o:connecttype=\"custom\" o:connectlocs=\"@9,0;@10,10800;@11,21600;@12,10800\" ",
            "o:connectangles=\"270,180,90,0\"/>",
            "<v:textpath on=\"t\" fitshape=\"t\"/>",
            "<v:handles><v:h position=\"#0,bottomRight\" xrange=\"6629,14971\"/></v:handles>",
            "<o:lock v:ext=\"edit\" text=\"t\" shapetype=\"t\"/></v:shapetype>",
            "<v:shape id=\"PowerPlusWaterMarkObject{SHAPE_NUMBER}\" o:spid=\"_x0000_s{SHAPE_NUMBER}\" type=\"#_x0000_t136\" ",
            "style=\"position:absolute;margin-left:0;margin-top:0;width:{width:.1}pt;height:{height:.1}pt;",
            "rotation:{rotation:.1};z-index:-251654144;mso-wrap-edited:f;mso-width-percent:0;mso-height-percent:0;",
            "mso-position-horizontal:center;mso-position-horizontal-relative:margin;",
            "mso-position-vertical:center;mso-position-vertical-relative:margin\" ",
            "o:allowincell=\"f\" fillcolor=\"#{r:02X}{g:02X}{b:02X}\" stroked=\"f\">",
            "<v:fill opacity=\"{opacity:.3}\"/>",
            "<v:textpath style=\"font-family:&quot;Arial&quot;;font-size:1pt\" string=\"{text}\"/>",
            "<w10:wrap anchorx=\"margin\" anchory=\"margin\"/></v:shape></w:pict></w:r>"
        ),
        ns_w = NS_W,
        SHAPE_NUMBER = SHAPE_NUMBER,
        width = width,
        height = height,
        rotation = rotation,
        r = r,
        g = g,
        b = b,
        opacity = wm.opacity,
        text = text,
    ))
}

/// The run with its shape numbered: ids in the range Word uses for its own shapes in headers,
/// one per header part, so they are unique in the document.
fn numbered(run: &str, i: usize) -> String {
    run.replace(SHAPE_NUMBER, &(4097 + i).to_string())
}

/// Stands for the shape number in a run until [`numbered`] fills it in: a NUL, which no XML
/// and no (checked) watermark text can contain, so the user's text is never touched.
const SHAPE_NUMBER: char = '\u{0}';

/// A new header part holding only the watermark.
fn new_header(run: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
         <w:hdr xmlns:w=\"{NS_W}\" xmlns:r=\"{NS_R}\"><w:p>{run}</w:p></w:hdr>"
    )
}

// ---------------------------------------------------------------------------------------------
// Package plumbing

fn not_word() -> Error {
    Error::WrongFormat {
        expected: EXPECTED,
        found: Format::Zip,
    }
}

fn zip_error(e: zip::result::ZipError) -> Error {
    match e {
        zip::result::ZipError::Io(io) => Error::Io(io),
        other => Error::malformed("zip archive", other.to_string()),
    }
}

fn xml_error(e: quick_xml::Error) -> Error {
    Error::malformed("docx XML", e.to_string())
}

/// A part's content, `None` when the archive has no such entry; refused past `MAX_PART`.
fn read_part<R: Read + Seek>(archive: &mut zip::ZipArchive<R>, name: &str) -> Result<Option<Vec<u8>>> {
    let file = match archive.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(zip_error(e)),
    };
    let mut out = Vec::new();
    file.take(MAX_PART + 1).read_to_end(&mut out)?;
    if out.len() as u64 > MAX_PART {
        return Err(Error::malformed("docx", format!("{name} is larger than 256 MiB")));
    }
    Ok(Some(crate::without_bom(out)))
}

/// Local name of a qualified XML name (`w:p` → `p`).
fn local(qname: &[u8]) -> &[u8] {
    qname.rsplit(|b| *b == b':').next().unwrap_or(qname)
}

/// Namespace prefix of a qualified name with its colon (`w:p` → `w:`, `p` → ``).
fn prefix_of(qname: &[u8]) -> String {
    let name = local(qname);
    String::from_utf8_lossy(qname.get(..qname.len() - name.len()).unwrap_or_default()).into_owned()
}

/// Attribute value of `name` (local name) on `e`, unescaped.
fn attr(e: &BytesStart<'_>, name: &[u8]) -> Result<Option<String>> {
    for a in e.attributes() {
        let a = a.map_err(|err| Error::malformed("docx XML", err.to_string()))?;
        if local(a.key.as_ref()) == name {
            let v = a
                .unescape_value()
                .map_err(|err| Error::malformed("docx XML", err.to_string()))?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

/// An OOXML on/off element is on unless its `val` says otherwise (17.17.4 ST_OnOff).
fn is_on(e: &BytesStart<'_>) -> Result<bool> {
    Ok(!matches!(attr(e, b"val")?.as_deref(), Some("0" | "false" | "off")))
}

fn has_on_flag(xml: &[u8], element: &[u8]) -> Result<bool> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    loop {
        match reader.read_event().map_err(xml_error)? {
            Event::Start(e) | Event::Empty(e) if local(e.name().as_ref()) == element => return is_on(&e),
            Event::Eof => return Ok(false),
            _ => {}
        }
    }
}

struct Rel {
    id: String,
    kind: String,
    target: String,
    external: bool,
}

fn parse_rels(xml: &[u8]) -> Result<Vec<Rel>> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut out = Vec::new();
    loop {
        match reader.read_event().map_err(xml_error)? {
            Event::Start(e) | Event::Empty(e) if local(e.name().as_ref()) == b"Relationship" => {
                out.push(Rel {
                    id: attr(&e, b"Id")?.unwrap_or_default(),
                    kind: attr(&e, b"Type")?.unwrap_or_default(),
                    target: attr(&e, b"Target")?.unwrap_or_default(),
                    external: attr(&e, b"TargetMode")?.as_deref() == Some("External"),
                });
            }
            Event::Eof => return Ok(out),
            _ => {}
        }
    }
}

/// The relationships part of `part` (`word/document.xml` → `word/_rels/document.xml.rels`).
fn rels_name(part: &str) -> String {
    match part.rsplit_once('/') {
        Some((dir, file)) => format!("{dir}/_rels/{file}.rels"),
        None => format!("_rels/{part}.rels"),
    }
}

/// A relationship target as a part name: relative to `base` (the source part's folder)
/// unless absolute, with `.` and `..` resolved.
fn resolve(base: &str, target: &str) -> String {
    let mut parts: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        base.split('/').filter(|s| !s.is_empty()).collect()
    };
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

/// The main document part, through the package relationship of type officeDocument.
fn main_part<R: Read + Seek>(archive: &mut zip::ZipArchive<R>) -> Result<String> {
    let rels = read_part(archive, "_rels/.rels")?.ok_or_else(not_word)?;
    let rel = parse_rels(&rels)?
        .into_iter()
        .find(|r| r.kind == REL_OFFICE_DOCUMENT && !r.external)
        .ok_or_else(not_word)?;
    Ok(resolve("", &rel.target))
}

fn fresh_rel_id(rels: &[Rel], created: &[(String, String, String)]) -> String {
    (1u32..)
        .map(|i| format!("rIdSrWm{i}"))
        .find(|id| !rels.iter().any(|r| &r.id == id) && !created.iter().any(|(_, c, _)| c == id))
        .unwrap_or_else(|| "rIdSrWm".to_owned())
}

/// Copy every entry raw except those in `replaced`, which get their new content (deflated) in
/// the same place; then append the `added` parts.
fn rewrite<R: Read + Seek, W: Write + Seek>(
    archive: &mut zip::ZipArchive<R>,
    output: W,
    replaced: &[(String, Vec<u8>)],
    added: &[(String, Vec<u8>)],
) -> Result<()> {
    let mut writer = zip::ZipWriter::new(output);
    let mut modified = zip::DateTime::default();
    for i in 0..archive.len() {
        let file = archive.by_index_raw(i).map_err(zip_error)?;
        let entry_name = file.name().map_err(zip_error)?.into_owned();
        if let Some(t) = file.last_modified() {
            modified = t;
        }
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
    for (name, content) in added {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(modified);
        writer.start_file(name, options).map_err(zip_error)?;
        writer.write_all(content)?;
    }
    writer.finish().map_err(zip_error)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// XML splicing: every byte outside the insertions is kept

fn position(reader: &quick_xml::Reader<&[u8]>) -> Result<usize> {
    usize::try_from(reader.buffer_position()).map_err(|_| Error::malformed("docx XML", "position overflow"))
}

/// `xml` with `(at, remove_to, text)` edits applied (sorted, non-overlapping).
fn splice(xml: &[u8], mut edits: Vec<(usize, usize, String)>) -> Result<Vec<u8>> {
    edits.sort_by_key(|e| e.0);
    let mut out = Vec::with_capacity(xml.len() + edits.iter().map(|e| e.2.len()).sum::<usize>());
    let mut last = 0usize;
    for (at, to, text) in edits {
        let keep = xml
            .get(last..at)
            .ok_or_else(|| Error::malformed("docx XML", "edit out of range"))?;
        out.extend_from_slice(keep);
        out.extend_from_slice(text.as_bytes());
        last = to;
    }
    out.extend_from_slice(xml.get(last..).unwrap_or_default());
    Ok(out)
}

/// A section's properties in `document.xml`.
struct Section {
    /// Byte range of the `w:sectPr` start tag (or of the whole empty element).
    tag: (usize, usize),
    /// The element was written empty (`<w:sectPr/>`).
    empty: bool,
    /// Its qualified name, for the end tag when an empty element is expanded.
    qname: String,
    /// (type, relationship id) of each `w:headerReference`.
    refs: Vec<(String, String)>,
    /// Distinct first-page header and footer (`w:titlePg`).
    title_page: bool,
}

struct Body {
    sections: Vec<Section>,
    /// Where the body's end tag starts, and the body's namespace prefix: a document without any
    /// `w:sectPr` gets one there.
    end: usize,
    prefix: String,
}

/// Find every section of the main document, in document order. Properties inside a tracked
/// change (`w:sectPrChange`) are the old ones and are skipped.
fn parse_document(xml: &[u8]) -> Result<Body> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut depth = 0usize;
    let mut sections: Vec<Section> = Vec::new();
    // Depth at which the sectPr being read was opened.
    let mut in_sect: Option<usize> = None;
    let mut skip_until: Option<usize> = None;
    let mut body: Option<(usize, String)> = None;
    let mut root_checked = false;
    loop {
        let before = position(&reader)?;
        let event = reader.read_event().map_err(xml_error)?;
        let after = position(&reader)?;
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                let qname = e.name();
                let name = local(qname.as_ref());
                let empty = matches!(event, Event::Empty(_));
                if !root_checked {
                    if name != b"document" {
                        return Err(not_word());
                    }
                    root_checked = true;
                }
                if skip_until.is_none() {
                    match (name, in_sect) {
                        (b"sectPrChange", _) if !empty => skip_until = Some(depth),
                        (b"sectPr", None) => {
                            sections.push(Section {
                                tag: (before, after),
                                empty,
                                qname: String::from_utf8_lossy(qname.as_ref()).into_owned(),
                                refs: Vec::new(),
                                title_page: false,
                            });
                            if !empty {
                                in_sect = Some(depth);
                            }
                        }
                        (b"headerReference", Some(d)) if depth == d + 1 => {
                            let kind = attr(e, b"type")?.unwrap_or_else(|| "default".to_owned());
                            let id = attr(e, b"id")?
                                .ok_or_else(|| Error::malformed("docx", "headerReference without r:id"))?;
                            if let Some(s) = sections.last_mut() {
                                s.refs.push((kind, id));
                            }
                        }
                        (b"titlePg", Some(d)) if depth == d + 1 => {
                            let on = is_on(e)?;
                            if let Some(s) = sections.last_mut() {
                                s.title_page = on;
                            }
                        }
                        _ => {}
                    }
                }
                if !empty {
                    depth += 1;
                }
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                if skip_until == Some(depth) {
                    skip_until = None;
                }
                if in_sect == Some(depth) {
                    in_sect = None;
                }
                if local(e.name().as_ref()) == b"body" && depth == 1 && body.is_none() {
                    body = Some((before, prefix_of(e.name().as_ref())));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let (end, prefix) = body.ok_or_else(|| Error::malformed("docx", "the document has no body"))?;
    Ok(Body { sections, end, prefix })
}

/// Put `refs` (markup with `{p}` for the WordprocessingML prefix) first in the first section's
/// properties, or in a new body-level `w:sectPr` when the document has none.
fn add_header_refs(xml: &[u8], body: &Body, refs: &str) -> Result<Vec<u8>> {
    let edit = match body.sections.first() {
        Some(s) => {
            let prefix = prefix_of(s.qname.as_bytes());
            let refs = refs.replace("{p}", &prefix);
            if s.empty {
                let tag = xml
                    .get(s.tag.0..s.tag.1)
                    .ok_or_else(|| Error::malformed("docx XML", "sectPr out of range"))?;
                let open = String::from_utf8_lossy(tag.strip_suffix(b"/>").unwrap_or(tag)).into_owned();
                (s.tag.0, s.tag.1, format!("{open}>{refs}</{}>", s.qname))
            } else {
                (s.tag.1, s.tag.1, refs)
            }
        }
        None => {
            let p = &body.prefix;
            let refs = refs.replace("{p}", p);
            (body.end, body.end, format!("<{p}sectPr>{refs}</{p}sectPr>"))
        }
    };
    splice(xml, vec![edit])
}

/// Insert `run` into the header's first top-level paragraph (at its end, so after any
/// paragraph properties), or in a new paragraph when the header has none.
fn add_run_to_header(xml: &[u8], run: &str) -> Result<Vec<u8>> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut depth = 0usize;
    let mut para: Option<usize> = None;
    loop {
        let before = position(&reader)?;
        let event = reader.read_event().map_err(xml_error)?;
        let after = position(&reader)?;
        match &event {
            Event::Start(e) => {
                if depth == 0 && local(e.name().as_ref()) != b"hdr" {
                    return Err(Error::malformed("docx", "a header part is not a w:hdr"));
                }
                if depth == 1 && para.is_none() && local(e.name().as_ref()) == b"p" {
                    para = Some(depth);
                }
                depth += 1;
            }
            Event::Empty(e) => {
                if depth == 1 && para.is_none() && local(e.name().as_ref()) == b"p" {
                    let qname = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                    let tag = xml
                        .get(before..after)
                        .ok_or_else(|| Error::malformed("docx XML", "paragraph out of range"))?;
                    let open = String::from_utf8_lossy(tag.strip_suffix(b"/>").unwrap_or(tag)).into_owned();
                    return splice(xml, vec![(before, after, format!("{open}>{run}</{qname}>"))]);
                }
                if depth == 0 {
                    if local(e.name().as_ref()) != b"hdr" {
                        return Err(Error::malformed("docx", "a header part is not a w:hdr"));
                    }
                    // `<w:hdr/>`: no content at all.
                    let qname = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                    let tag = xml
                        .get(before..after)
                        .ok_or_else(|| Error::malformed("docx XML", "header out of range"))?;
                    let open = String::from_utf8_lossy(tag.strip_suffix(b"/>").unwrap_or(tag)).into_owned();
                    let p = prefix_of(qname.as_bytes());
                    return splice(
                        xml,
                        vec![(before, after, format!("{open}><{p}p>{run}</{p}p></{qname}>"))],
                    );
                }
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                if para == Some(depth) && depth == 1 {
                    return splice(xml, vec![(before, before, run.to_owned())]);
                }
                if depth == 0 {
                    let p = prefix_of(e.name().as_ref());
                    return splice(xml, vec![(before, before, format!("<{p}p>{run}</{p}p>"))]);
                }
            }
            Event::Eof => return Err(Error::malformed("docx XML", "unexpected end of a header part")),
            _ => {}
        }
    }
}

/// Insert `fragment` just before the root element's end tag.
fn insert_before_root_end(xml: &[u8], fragment: &str) -> Result<Vec<u8>> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut depth = 0usize;
    loop {
        let before = position(&reader)?;
        let event = reader.read_event().map_err(xml_error)?;
        let after = position(&reader)?;
        match &event {
            Event::Start(_) => depth += 1,
            Event::Empty(e) if depth == 0 => {
                let qname = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let tag = xml
                    .get(before..after)
                    .ok_or_else(|| Error::malformed("docx XML", "root out of range"))?;
                let open = String::from_utf8_lossy(tag.strip_suffix(b"/>").unwrap_or(tag)).into_owned();
                return splice(xml, vec![(before, after, format!("{open}>{fragment}</{qname}>"))]);
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return splice(xml, vec![(before, before, fragment.to_owned())]);
                }
            }
            Event::Eof => return Err(Error::malformed("docx XML", "unexpected end of part")),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_targets() {
        assert_eq!(resolve("word", "header1.xml"), "word/header1.xml");
        assert_eq!(resolve("word", "/word/header2.xml"), "word/header2.xml");
        assert_eq!(resolve("word", "../custom/h.xml"), "custom/h.xml");
        assert_eq!(resolve("", "word/document.xml"), "word/document.xml");
        assert_eq!(rels_name("word/document.xml"), "word/_rels/document.xml.rels");
    }

    #[test]
    fn run_goes_into_the_first_paragraph() {
        let hdr = b"<w:hdr xmlns:w=\"x\"><w:p><w:pPr/><w:r><w:t>Head</w:t></w:r></w:p><w:p/></w:hdr>";
        let out = add_run_to_header(hdr, "<RUN/>").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<w:hdr xmlns:w=\"x\"><w:p><w:pPr/><w:r><w:t>Head</w:t></w:r><RUN/></w:p><w:p/></w:hdr>"
        );
        let empty_p = b"<w:hdr xmlns:w=\"x\"><w:p w:rsidR=\"1\"/></w:hdr>";
        assert_eq!(
            String::from_utf8(add_run_to_header(empty_p, "<RUN/>").unwrap()).unwrap(),
            "<w:hdr xmlns:w=\"x\"><w:p w:rsidR=\"1\"><RUN/></w:p></w:hdr>"
        );
        let table_only = b"<hdr><tbl><tr><tc><p/></tc></tr></tbl></hdr>";
        assert_eq!(
            String::from_utf8(add_run_to_header(table_only, "<RUN/>").unwrap()).unwrap(),
            "<hdr><tbl><tr><tc><p/></tc></tr></tbl><p><RUN/></p></hdr>"
        );
        assert!(add_run_to_header(b"<w:hdr/>", "<RUN/>").is_ok());
        assert!(add_run_to_header(b"<w:ftr/>", "<RUN/>").is_err());
        assert!(add_run_to_header(b"<w:ftr><w:p/></w:ftr>", "<RUN/>").is_err());
    }

    #[test]
    fn sections_are_found_and_tracked_changes_skipped() {
        let doc = br#"<w:document xmlns:w="x" xmlns:r="y"><w:body><w:p><w:pPr><w:sectPr><w:headerReference w:type="even" r:id="rId7"/><w:sectPrChange><w:sectPr><w:headerReference r:id="old"/></w:sectPr></w:sectPrChange></w:sectPr></w:pPr></w:p><w:sectPr><w:titlePg/></w:sectPr></w:body></w:document>"#;
        let body = parse_document(doc).unwrap();
        assert_eq!(body.sections.len(), 2);
        assert_eq!(body.sections[0].refs, vec![("even".to_owned(), "rId7".to_owned())]);
        assert!(!body.sections[0].title_page && body.sections[1].title_page);
        let out = add_header_refs(doc, &body, "<{p}headerReference/>").unwrap();
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains("<w:pPr><w:sectPr><w:headerReference/><w:headerReference w:type=\"even\"")
        );

        let bare = b"<w:document xmlns:w=\"x\"><w:body><w:p/></w:body></w:document>";
        let body = parse_document(bare).unwrap();
        let out = add_header_refs(bare, &body, "<{p}headerReference/>").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<w:document xmlns:w=\"x\"><w:body><w:p/><w:sectPr><w:headerReference/></w:sectPr></w:body></w:document>"
        );
        assert!(matches!(parse_document(b"<workbook/>"), Err(Error::WrongFormat { .. })));
    }

    #[test]
    fn braces_in_the_text_are_kept() {
        let wm = TextWatermark {
            text: "Draft {n}",
            ..TextWatermark::default()
        };
        let run = numbered(&watermark_run(&wm).unwrap(), 0);
        assert!(run.contains("string=\"Draft {n}\""), "{run}");
        assert!(
            run.contains("PowerPlusWaterMarkObject4097") && run.contains("_x0000_s4097"),
            "{run}"
        );
        assert!(!run.contains(SHAPE_NUMBER));
    }

    #[test]
    fn text_is_escaped_and_angle_is_clockwise() {
        let wm = TextWatermark {
            text: "R&D <\"draft\">",
            rotation_deg: 45.0,
            ..TextWatermark::default()
        };
        let run = watermark_run(&wm).unwrap();
        assert!(run.contains("string=\"R&amp;D &lt;&quot;draft&quot;&gt;\""), "{run}");
        assert!(run.contains("rotation:315.0;"));
        assert!(run.contains("fillcolor=\"#808080\""));
        assert!(run.contains("<v:fill opacity=\"0.300\"/>"));
    }
}
