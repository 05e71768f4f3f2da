//! Cell ranges (`A1`, `A1:C9`, `sqref` lists) and per-cell protection (`locked`, `hidden`).
//!
//! Cell protection lives in the cell's style, not in the sheet: a cell points with `s` at an
//! `<xf>` of `cellXfs` in `xl/styles.xml`, and that xf's `<protection locked hidden>` decides
//! whether the cell can be edited and whether its formula is shown once the sheet is
//! protected. Editing the shared xf would change every cell using it, so we append copies of
//! each affected xf with the new protection and repoint only the cells in the ranges.
//!
//! Only `<c>` elements present in the sheet XML are changed: a cell with no element has no
//! style of its own and keeps the default (locked, formula visible).

use quick_xml::events::{BytesStart, Event};

use super::{attr, local, xml_error};
use crate::{Error, Result};

const MAX_COL: u32 = 16_384;
const MAX_ROW: u32 = 1_048_576;
/// Excel refuses workbooks with more cell formats than this.
const MAX_XFS: usize = 64_000;
/// A caller's range list longer than this is a mistake, not a sheet layout.
const MAX_RECTS: usize = 10_000;

/// A rectangle of cells, 1-based and inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rect {
    c1: u32,
    r1: u32,
    c2: u32,
    r2: u32,
}

impl Rect {
    fn contains(&self, col: u32, row: u32) -> bool {
        (self.c1..=self.c2).contains(&col) && (self.r1..=self.r2).contains(&row)
    }

    fn overlaps(&self, other: &Rect) -> bool {
        self.c1 <= other.c2 && other.c1 <= self.c2 && self.r1 <= other.r2 && other.r1 <= self.r2
    }
}

fn col_name(mut col: u32) -> String {
    let mut out = Vec::new();
    while col > 0 {
        let rem = (col - 1) % 26;
        out.push(char::from(b'A' + u8::try_from(rem).unwrap_or(0)));
        col = (col - 1) / 26;
    }
    out.iter().rev().collect()
}

/// `B7` (or `$B$7`) → (column, row), both 1-based; `None` if it is not a reference inside
/// the sheet's bounds.
pub(crate) fn parse_ref(s: &str) -> Option<(u32, u32)> {
    let s = s.trim_start_matches('$');
    let split = s.find(|c: char| !c.is_ascii_alphabetic())?;
    let (letters, rest) = s.split_at(split);
    let digits = rest.strip_prefix('$').unwrap_or(rest);
    if letters.is_empty() || letters.len() > 3 || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let col = letters
        .bytes()
        .fold(0u32, |acc, b| acc * 26 + u32::from(b.to_ascii_uppercase() - b'A') + 1);
    let row: u32 = digits.parse().ok()?;
    ((1..=MAX_COL).contains(&col) && (1..=MAX_ROW).contains(&row)).then_some((col, row))
}

/// Parse a space-separated list of `A1` / `A1:C9` references (the `sqref` syntax). Corners
/// may be given in any order.
pub(crate) fn parse_sqref(s: &str) -> Result<Vec<Rect>> {
    let bad = || Error::InvalidRange(format!("{s:?}: expected A1 or A1:C9, separated by spaces"));
    let mut rects = Vec::new();
    for part in s.split_ascii_whitespace() {
        let (a, b) = part.split_once(':').unwrap_or((part, part));
        let (ca, ra) = parse_ref(a).ok_or_else(bad)?;
        let (cb, rb) = parse_ref(b).ok_or_else(bad)?;
        rects.push(Rect {
            c1: ca.min(cb),
            r1: ra.min(rb),
            c2: ca.max(cb),
            r2: ra.max(rb),
        });
        if rects.len() > MAX_RECTS {
            return Err(Error::InvalidRange(format!("more than {MAX_RECTS} ranges")));
        }
    }
    if rects.is_empty() {
        return Err(bad());
    }
    Ok(rects)
}

/// The canonical `sqref` text for `rects` (upper case, no `$`), as Excel writes it.
pub(crate) fn sqref_text(rects: &[Rect]) -> String {
    rects
        .iter()
        .map(|r| {
            let a = format!("{}{}", col_name(r.c1), r.r1);
            if r.c1 == r.c2 && r.r1 == r.r2 {
                a
            } else {
                format!("{a}:{}{}", col_name(r.c2), r.r2)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Requested protection changes for the cells of some ranges.
pub(crate) struct CellRules {
    /// Cells to lock again (a workbook may have unlocked them), so they cannot be edited when
    /// the sheet is protected.
    pub lock: Vec<Rect>,
    /// Cells to unlock (editable when the sheet is protected).
    pub unlock: Vec<Rect>,
    /// Cells whose formulas are hidden when the sheet is protected.
    pub hide: Vec<Rect>,
}

impl CellRules {
    /// The rules, refusing a cell asked to be both locked and unlocked.
    pub(crate) fn new(lock: Vec<Rect>, unlock: Vec<Rect>, hide: Vec<Rect>) -> Result<Self> {
        if lock.iter().any(|l| unlock.iter().any(|u| l.overlaps(u))) {
            return Err(Error::InvalidRange(
                "a cell cannot be both locked and unlocked: the lock and unlock ranges overlap".to_owned(),
            ));
        }
        Ok(CellRules { lock, unlock, hide })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.lock.is_empty() && self.unlock.is_empty() && self.hide.is_empty()
    }

    /// (locked, hidden) overrides for the cell at (col, row), or `None` if it is in no range.
    fn wanted(&self, col: u32, row: u32) -> Option<(Option<bool>, Option<bool>)> {
        let lock = self.lock.iter().any(|r| r.contains(col, row));
        let unlock = self.unlock.iter().any(|r| r.contains(col, row));
        let hide = self.hide.iter().any(|r| r.contains(col, row));
        let locked = if lock { Some(true) } else { unlock.then_some(false) };
        (locked.is_some() || hide).then_some((locked, hide.then_some(true)))
    }
}

/// One `<c>` start tag to rewrite.
struct CellEdit {
    start: usize,
    end: usize,
    /// `<c` and every attribute except `s`.
    tag: Vec<u8>,
    empty: bool,
    old_xf: usize,
    wanted: (Option<bool>, Option<bool>),
}

pub(super) fn position(reader: &quick_xml::Reader<&[u8]>) -> Result<usize> {
    usize::try_from(reader.buffer_position()).map_err(|_| Error::malformed("xlsx XML", "position overflow"))
}

/// `<name a="v" …` with every attribute but `skip`, values kept in their escaped form.
pub(super) fn start_tag_without(e: &BytesStart<'_>, skip: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(64);
    out.push(b'<');
    out.extend_from_slice(e.name().as_ref());
    for a in e.attributes() {
        let a = a.map_err(|err| Error::malformed("xlsx XML", err.to_string()))?;
        if a.key.as_ref() == skip {
            continue;
        }
        let quote = if a.value.contains(&b'"') { b'\'' } else { b'"' };
        out.push(b' ');
        out.extend_from_slice(a.key.as_ref());
        out.push(b'=');
        out.push(quote);
        out.extend_from_slice(&a.value);
        out.push(quote);
    }
    Ok(out)
}

/// Find the `<c>` elements of `sheet` inside the rules' ranges. Rows and cells without an
/// `r` attribute follow the previous one, as the schema says.
fn find_cells(sheet: &[u8], rules: &CellRules) -> Result<Vec<CellEdit>> {
    let mut reader = quick_xml::Reader::from_reader(sheet);
    let mut path: Vec<Vec<u8>> = Vec::new();
    let (mut row, mut col) = (0u32, 0u32);
    let mut edits = Vec::new();
    loop {
        let before = position(&reader)?;
        let event = reader.read_event().map_err(xml_error)?;
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                let name = local(e.name().as_ref()).to_vec();
                let in_sheet_data = path.len() == 2 && name == b"row" && path.last().is_some_and(|p| p == b"sheetData");
                let in_row = path.len() == 3 && name == b"c" && path.last().is_some_and(|p| p == b"row");
                if in_sheet_data {
                    row = match attr(e, b"r")? {
                        Some(r) => r
                            .parse()
                            .ok()
                            .filter(|r| (1..=MAX_ROW).contains(r))
                            .ok_or_else(|| Error::malformed("xlsx XML", format!("bad row number {r:?}")))?,
                        None => row.saturating_add(1),
                    };
                    col = 0;
                } else if in_row {
                    (col, row) = match attr(e, b"r")? {
                        Some(r) => parse_ref(&r)
                            .ok_or_else(|| Error::malformed("xlsx XML", format!("bad cell reference {r:?}")))?,
                        None => (col.saturating_add(1), row),
                    };
                    if let Some(wanted) = rules.wanted(col, row) {
                        let old_xf = match attr(e, b"s")? {
                            Some(s) => s
                                .parse()
                                .map_err(|_| Error::malformed("xlsx XML", format!("bad style index {s:?}")))?,
                            None => 0,
                        };
                        edits.push(CellEdit {
                            start: before,
                            end: position(&reader)?,
                            tag: start_tag_without(e, b"s")?,
                            empty: matches!(event, Event::Empty(_)),
                            old_xf,
                            wanted,
                        });
                    }
                }
                if matches!(event, Event::Start(_)) {
                    path.push(name);
                }
            }
            Event::End(_) => {
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(edits)
}

/// One `<xf>` of `cellXfs`: its byte span and its current protection.
struct Xf {
    start: usize,
    end: usize,
    locked: bool,
    hidden: bool,
}

/// The `cellXfs` of a styles part.
struct CellXfs {
    /// Span of the `<cellXfs …>` start tag.
    tag_start: usize,
    tag_end: usize,
    /// Where `</cellXfs>` starts: new xfs go here.
    close: usize,
    xfs: Vec<Xf>,
}

fn flag(e: &BytesStart<'_>, name: &[u8], default: bool) -> Result<bool> {
    Ok(match attr(e, name)?.as_deref() {
        Some("1" | "true") => true,
        Some("0" | "false") => false,
        _ => default,
    })
}

fn find_cell_xfs(styles: &[u8]) -> Result<CellXfs> {
    let mut reader = quick_xml::Reader::from_reader(styles);
    let mut depth = 0usize;
    let mut in_cell_xfs = false;
    let mut found: Option<CellXfs> = None;
    loop {
        let before = position(&reader)?;
        let event = reader.read_event().map_err(xml_error)?;
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                let qname = e.name();
                let name = local(qname.as_ref());
                if depth == 1 && name == b"cellXfs" {
                    if matches!(event, Event::Empty(_)) {
                        return Err(Error::malformed("xlsx styles", "empty cellXfs"));
                    }
                    in_cell_xfs = true;
                    found = Some(CellXfs {
                        tag_start: before,
                        tag_end: position(&reader)?,
                        close: 0,
                        xfs: Vec::new(),
                    });
                } else if in_cell_xfs && depth == 2 && name == b"xf" {
                    if let Some(c) = found.as_mut() {
                        c.xfs.push(Xf {
                            start: before,
                            end: position(&reader)?,
                            locked: true,
                            hidden: false,
                        });
                    }
                } else if in_cell_xfs
                    && depth == 3
                    && name == b"protection"
                    && let Some(xf) = found.as_mut().and_then(|c| c.xfs.last_mut())
                {
                    xf.locked = flag(e, b"locked", true)?;
                    xf.hidden = flag(e, b"hidden", false)?;
                }
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                if in_cell_xfs {
                    let qname = e.name();
                    let name = local(qname.as_ref());
                    if depth == 2 && name == b"xf" {
                        let end = position(&reader)?;
                        if let Some(xf) = found.as_mut().and_then(|c| c.xfs.last_mut()) {
                            xf.end = end;
                        }
                    } else if depth == 1 && name == b"cellXfs" {
                        if let Some(c) = found.as_mut() {
                            c.close = before;
                        }
                        in_cell_xfs = false;
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    match found {
        Some(c) if c.close > 0 => Ok(c),
        _ => Err(Error::malformed("xlsx styles", "no cellXfs in the styles part")),
    }
}

/// A copy of the xf at `xml` (its whole element) with `applyProtection="1"` and the given
/// protection; any other child stays, in schema order (`alignment`, `protection`, `extLst`).
fn xf_with_protection(xml: &[u8], locked: bool, hidden: bool) -> Result<Vec<u8>> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut out = Vec::with_capacity(xml.len() + 64);
    let mut prefix = Vec::new();
    let protection = |prefix: &[u8]| {
        let mut p = b"<".to_vec();
        p.extend_from_slice(prefix);
        p.extend_from_slice(
            format!(
                "protection locked=\"{}\" hidden=\"{}\"/>",
                u8::from(locked),
                u8::from(hidden)
            )
            .as_bytes(),
        );
        p
    };
    let mut depth = 0usize;
    let mut inserted = false;
    let mut copy_from = 0usize;
    loop {
        let before = position(&reader)?;
        let event = reader.read_event().map_err(xml_error)?;
        match &event {
            Event::Start(e) | Event::Empty(e) if depth == 0 => {
                let q = e.name();
                let q = q.as_ref();
                prefix = q.get(..q.len() - local(q).len()).unwrap_or_default().to_vec();
                out.extend_from_slice(&start_tag_without(e, b"applyProtection")?);
                out.extend_from_slice(b" applyProtection=\"1\">");
                if matches!(event, Event::Empty(_)) {
                    out.extend_from_slice(&protection(&prefix));
                    out.extend_from_slice(b"</");
                    out.extend_from_slice(q);
                    out.push(b'>');
                    return Ok(out);
                }
                depth = 1;
                copy_from = position(&reader)?;
            }
            Event::Start(e) | Event::Empty(e) => {
                let qname = e.name();
                let name = local(qname.as_ref());
                if depth == 1 && (name == b"protection" || name == b"extLst") {
                    out.extend_from_slice(xml.get(copy_from..before).unwrap_or_default());
                    if !inserted {
                        out.extend_from_slice(&protection(&prefix));
                        inserted = true;
                    }
                    copy_from = before;
                    if name == b"protection" {
                        // Skip the old protection element (empty by schema; a Start is
                        // skipped up to its end below).
                        copy_from = if matches!(event, Event::Empty(_)) {
                            position(&reader)?
                        } else {
                            reader.read_to_end(e.name()).map_err(xml_error)?;
                            position(&reader)?
                        };
                        continue;
                    }
                }
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    out.extend_from_slice(xml.get(copy_from..before).unwrap_or_default());
                    if !inserted {
                        out.extend_from_slice(&protection(&prefix));
                    }
                    out.extend_from_slice(xml.get(before..).unwrap_or_default());
                    return Ok(out);
                }
            }
            Event::Eof => return Err(Error::malformed("xlsx styles", "unterminated xf")),
            _ => {}
        }
    }
}

/// Apply `rules` to `sheet` and `styles`; returns the patched (sheet, styles), or `None` when
/// no existing cell falls in the ranges (nothing to change).
pub(crate) fn apply(sheet: &[u8], styles: &[u8], rules: &CellRules) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
    let edits = find_cells(sheet, rules)?;
    if edits.is_empty() {
        return Ok(None);
    }
    let cell_xfs = find_cell_xfs(styles)?;
    // (old xf, locked, hidden) → new xf index; each combination is appended once.
    let mut added: Vec<((usize, bool, bool), usize)> = Vec::new();
    let mut new_xfs: Vec<u8> = Vec::new();
    let mut new_s = Vec::with_capacity(edits.len());
    for edit in &edits {
        let xf = cell_xfs.xfs.get(edit.old_xf).ok_or_else(|| {
            Error::malformed(
                "xlsx XML",
                format!("cell style {} does not exist in cellXfs", edit.old_xf),
            )
        })?;
        let key = (
            edit.old_xf,
            edit.wanted.0.unwrap_or(xf.locked),
            edit.wanted.1.unwrap_or(xf.hidden),
        );
        let index = match added.iter().find(|(k, _)| *k == key) {
            Some((_, i)) => *i,
            None => {
                let i = cell_xfs.xfs.len() + added.len();
                if i >= MAX_XFS {
                    return Err(Error::InvalidOptions("the workbook would exceed 64,000 cell formats"));
                }
                let src = styles
                    .get(xf.start..xf.end)
                    .ok_or_else(|| Error::malformed("xlsx styles", "xf out of range"))?;
                new_xfs.extend_from_slice(&xf_with_protection(src, key.1, key.2)?);
                added.push((key, i));
                i
            }
        };
        new_s.push(index);
    }

    let mut out_sheet = Vec::with_capacity(sheet.len() + edits.len() * 8);
    let mut at = 0usize;
    for (edit, s) in edits.iter().zip(new_s) {
        out_sheet.extend_from_slice(sheet.get(at..edit.start).unwrap_or_default());
        out_sheet.extend_from_slice(&edit.tag);
        out_sheet.extend_from_slice(format!(" s=\"{s}\"").as_bytes());
        out_sheet.extend_from_slice(if edit.empty { b"/>" } else { b">" });
        at = edit.end;
    }
    out_sheet.extend_from_slice(sheet.get(at..).unwrap_or_default());

    let total = cell_xfs.xfs.len() + added.len();
    let mut reader = quick_xml::Reader::from_reader(
        styles
            .get(cell_xfs.tag_start..cell_xfs.tag_end)
            .ok_or_else(|| Error::malformed("xlsx styles", "cellXfs out of range"))?,
    );
    let tag = match reader.read_event().map_err(xml_error)? {
        Event::Start(e) => start_tag_without(&e, b"count")?,
        _ => return Err(Error::malformed("xlsx styles", "cellXfs start tag")),
    };
    let mut out_styles = Vec::with_capacity(styles.len() + new_xfs.len() + 16);
    out_styles.extend_from_slice(styles.get(..cell_xfs.tag_start).unwrap_or_default());
    out_styles.extend_from_slice(&tag);
    out_styles.extend_from_slice(format!(" count=\"{total}\">").as_bytes());
    out_styles.extend_from_slice(styles.get(cell_xfs.tag_end..cell_xfs.close).unwrap_or_default());
    out_styles.extend_from_slice(&new_xfs);
    out_styles.extend_from_slice(styles.get(cell_xfs.close..).unwrap_or_default());
    Ok(Some((out_sheet, out_styles)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_and_ranges() {
        assert_eq!(parse_ref("A1"), Some((1, 1)));
        assert_eq!(parse_ref("$xfd$1048576"), Some((16_384, 1_048_576)));
        assert_eq!(parse_ref("XFE1"), None);
        assert_eq!(parse_ref("A0"), None);
        assert_eq!(parse_ref("1A"), None);
        assert_eq!(parse_ref("A"), None);
        let r = parse_sqref("c9:a1  D4").unwrap();
        assert_eq!(sqref_text(&r), "A1:C9 D4");
        assert!(parse_sqref("").is_err());
        assert!(parse_sqref("A1:").is_err());
        assert_eq!(col_name(28), "AB");
    }

    #[test]
    fn new_xfs_and_repointed_cells() {
        let sheet = b"<worksheet><sheetData><row r=\"1\"><c r=\"A1\" s=\"1\"><f>1+1</f></c><c t='s' s=\"1\"/><c r=\"C1\"/></row><row><c/><c/></row></sheetData></worksheet>";
        let styles = b"<styleSheet><cellXfs count=\"2\"><xf numFmtId=\"0\"/><xf numFmtId=\"1\" applyProtection=\"0\"><alignment wrapText=\"1\"/><protection hidden=\"0\"/><extLst/></xf></cellXfs></styleSheet>";
        let rules = CellRules::new(Vec::new(), parse_sqref("B1:B2").unwrap(), parse_sqref("A1:B1").unwrap()).unwrap();
        let (s, st) = apply(sheet, styles, &rules).unwrap().unwrap();
        assert_eq!(
            String::from_utf8(s).unwrap(),
            "<worksheet><sheetData><row r=\"1\"><c r=\"A1\" s=\"2\"><f>1+1</f></c><c t=\"s\" s=\"3\"/><c r=\"C1\"/></row><row><c/><c s=\"4\"/></row></sheetData></worksheet>"
        );
        assert_eq!(
            String::from_utf8(st).unwrap(),
            "<styleSheet><cellXfs count=\"5\"><xf numFmtId=\"0\"/><xf numFmtId=\"1\" applyProtection=\"0\"><alignment wrapText=\"1\"/><protection hidden=\"0\"/><extLst/></xf>\
<xf numFmtId=\"1\" applyProtection=\"1\"><alignment wrapText=\"1\"/><protection locked=\"1\" hidden=\"1\"/><extLst/></xf>\
<xf numFmtId=\"1\" applyProtection=\"1\"><alignment wrapText=\"1\"/><protection locked=\"0\" hidden=\"1\"/><extLst/></xf>\
<xf numFmtId=\"0\" applyProtection=\"1\"><protection locked=\"0\" hidden=\"0\"/></xf></cellXfs></styleSheet>"
        );
        let none = CellRules::new(Vec::new(), parse_sqref("Z9").unwrap(), Vec::new()).unwrap();
        assert!(CellRules::new(parse_sqref("A1:C3").unwrap(), parse_sqref("C3:D4").unwrap(), Vec::new()).is_err());
        let relock = CellRules::new(parse_sqref("A1").unwrap(), Vec::new(), Vec::new()).unwrap();
        assert_eq!(relock.wanted(1, 1), Some((Some(true), None)));
        assert_eq!(relock.wanted(2, 1), None);
        assert!(apply(sheet, styles, &none).unwrap().is_none());
        let bad = b"<worksheet><sheetData><row r=\"1\"><c r=\"A1\" s=\"7\"/></row></sheetData></worksheet>";
        assert!(apply(bad, styles, &rules).is_err());
    }
}
