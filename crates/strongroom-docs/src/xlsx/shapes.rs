//! Locking the shapes, text boxes, pictures and charts drawn on a sheet.
//!
//! Drawing objects live in a DrawingML part (`xl/drawings/drawingN.xml`) that the sheet points
//! at through its relationships. Each anchored object ends with `<xdr:clientData>`, whose
//! `fLocksWithSheet` (default true) says whether sheet protection locks the object, and a
//! shape or text box (`<xdr:sp>`) has `fLocksText` (default true) for its text. A workbook
//! may have turned either off for some objects; locking writes both as `1` on every object,
//! so that with the sheet's `objects` flag set nothing drawn on the sheet can be moved,
//! resized, deleted or retyped. Every other byte of the drawing stays.

use std::io::{Read, Seek};

use quick_xml::events::{BytesStart, Event};

use super::cells::{position, start_tag_without};
use super::{attr, local, read_part, xml_error};
use crate::{Error, Result};

/// Relationship type of a sheet's DrawingML part.
const DRAWING_REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/drawing";

/// The drawing parts of the sheet stored at `sheet_part`, through its relationships part
/// (`dir/_rels/name.rels`); none if the sheet has no relationships.
pub(super) fn drawing_parts<R: Read + Seek>(archive: &mut zip::ZipArchive<R>, sheet_part: &str) -> Result<Vec<String>> {
    let (dir, name) = sheet_part.rsplit_once('/').unwrap_or(("", sheet_part));
    let rels_part = if dir.is_empty() {
        format!("_rels/{name}.rels")
    } else {
        format!("{dir}/_rels/{name}.rels")
    };
    if archive.index_for_name(&rels_part).is_none() {
        return Ok(Vec::new());
    }
    let rels = read_part(archive, &rels_part)?;
    let mut reader = quick_xml::Reader::from_reader(rels.as_slice());
    let mut out = Vec::new();
    loop {
        match reader.read_event().map_err(xml_error)? {
            Event::Start(e) | Event::Empty(e)
                if local(e.name().as_ref()) == b"Relationship"
                    && attr(&e, b"Type")?.as_deref() == Some(DRAWING_REL) =>
            {
                if attr(&e, b"TargetMode")?.as_deref() == Some("External") {
                    continue;
                }
                let target =
                    attr(&e, b"Target")?.ok_or_else(|| Error::malformed("xlsx", "relationship without Target"))?;
                let part = resolve_from(dir, &target);
                if !out.contains(&part) {
                    out.push(part);
                }
            }
            Event::Eof => return Ok(out),
            _ => {}
        }
    }
}

/// Resolve a relationship target against the directory of its source part (absolute targets
/// start at the package root; `..` is resolved).
pub(super) fn resolve_from(dir: &str, target: &str) -> String {
    let mut parts: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        dir.split('/').filter(|s| !s.is_empty()).collect()
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

/// The drawing `xml` with every object locked with the sheet and every shape's text locked.
/// Returns the number of objects found alongside.
pub(super) fn lock(xml: &[u8]) -> Result<(Vec<u8>, usize)> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut out = Vec::with_capacity(xml.len() + 256);
    let mut copied = 0usize;
    let mut objects = 0usize;
    loop {
        let start = position(&reader)?;
        let event = reader.read_event().map_err(xml_error)?;
        let (e, empty) = match &event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::Eof => break,
            _ => continue,
        };
        let flag: &[u8] = match local(e.name().as_ref()) {
            b"clientData" => {
                objects += 1;
                b"fLocksWithSheet"
            }
            b"sp" => b"fLocksText",
            _ => continue,
        };
        if already_set(e, flag)? {
            continue;
        }
        out.extend_from_slice(xml.get(copied..start).unwrap_or_default());
        out.extend_from_slice(&start_tag_without(e, flag)?);
        out.extend_from_slice(b" ");
        out.extend_from_slice(flag);
        out.extend_from_slice(if empty { b"=\"1\"/>" } else { b"=\"1\">" });
        copied = position(&reader)?;
    }
    out.extend_from_slice(xml.get(copied..).unwrap_or_default());
    Ok((out, objects))
}

/// Whether `flag` is written explicitly as true (`1` or `true`).
fn already_set(e: &BytesStart<'_>, flag: &[u8]) -> Result<bool> {
    Ok(matches!(attr(e, flag)?.as_deref(), Some("1" | "true")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_every_object_and_keeps_the_rest() {
        let xml = br#"<xdr:wsDr xmlns:xdr="x"><xdr:twoCellAnchor><xdr:sp macro="" textlink="" fLocksText="0"><xdr:txBody>t</xdr:txBody></xdr:sp><xdr:clientData fLocksWithSheet="0" fPrintsWithSheet="1"/></xdr:twoCellAnchor><xdr:oneCellAnchor><xdr:pic/><xdr:clientData/></xdr:oneCellAnchor><xdr:absoluteAnchor><xdr:sp fLocksText="1"/><xdr:clientData fLocksWithSheet="1"></xdr:clientData></xdr:absoluteAnchor></xdr:wsDr>"#;
        let (out, objects) = lock(xml).unwrap();
        assert_eq!(objects, 3);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"<xdr:wsDr xmlns:xdr="x"><xdr:twoCellAnchor><xdr:sp macro="" textlink="" fLocksText="1"><xdr:txBody>t</xdr:txBody></xdr:sp><xdr:clientData fPrintsWithSheet="1" fLocksWithSheet="1"/></xdr:twoCellAnchor><xdr:oneCellAnchor><xdr:pic/><xdr:clientData fLocksWithSheet="1"/></xdr:oneCellAnchor><xdr:absoluteAnchor><xdr:sp fLocksText="1"/><xdr:clientData fLocksWithSheet="1"></xdr:clientData></xdr:absoluteAnchor></xdr:wsDr>"#
        );
    }

    #[test]
    fn targets_resolve_from_the_sheet_directory() {
        assert_eq!(
            resolve_from("xl/worksheets", "../drawings/drawing1.xml"),
            "xl/drawings/drawing1.xml"
        );
        assert_eq!(resolve_from("xl/worksheets", "/xl/drawings/d.xml"), "xl/drawings/d.xml");
        assert_eq!(resolve_from("xl/worksheets", "d.xml"), "xl/worksheets/d.xml");
    }
}
