//! The font of PDF text watermarks: DejaVu Sans, embedded as a subset.
//!
//! The subset holds only the glyphs the watermark uses (typically a few kilobytes instead of
//! the 750 KB font) and is written as a composite font, because that is the only PDF font
//! type that reaches every glyph of a font with more than 256 of them:
//!
//! - a Type0 font with the `Identity-H` encoding, so a shown string is a sequence of 2-byte
//!   CIDs, and each CID is the glyph's id in the subset (`/CIDToGIDMap /Identity`);
//! - a CIDFontType2 (TrueType outlines) descendant with a `/W` array, so every reader places
//!   the glyphs exactly where the layout here computed them;
//! - a `/ToUnicode` CMap, so copying or extracting the watermark gives back the original
//!   text, not glyph numbers.
//!
//! Layout is one glyph per character, left to right, no kerning or ligatures: right for the
//! scripts this accepts (Latin, Greek, Cyrillic, Armenian, Georgian, symbols). Right-to-left
//! scripts need bidirectional reordering and (Arabic) joining, which this does not do, so
//! they are refused rather than drawn backwards or unjoined. A character the font has no
//! glyph for is refused too: a reader would draw an empty box.

use std::collections::BTreeMap;

use lopdf::{Document, Object, ObjectId, Stream, StringFormat, dictionary};
use sha2::{Digest, Sha256};
use ttf_parser::{Face, GlyphId};

use crate::font::DEJAVU_SANS;
use crate::{Error, Result};

/// PostScript name of the built-in font (its `name` table, ID 6).
const POSTSCRIPT_NAME: &str = "DejaVuSans";

/// Why a character cannot be drawn in a PDF watermark, if it cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unsupported {
    /// A control character (tab, line break, …): a watermark is one line of visible text.
    Control,
    /// A right-to-left script (Hebrew, Arabic, …), which would be drawn in the wrong order.
    RightToLeft,
    /// DejaVu Sans has no glyph for it (for example CJK ideographs, Thai, Devanagari, emoji).
    NoGlyph,
}

impl Unsupported {
    /// The library's error for it (a fixed message; [`first_unsupported`] names the character).
    pub(crate) fn error(self) -> Error {
        Error::InvalidOptions(match self {
            Unsupported::Control => "watermark text must not contain control characters (tab, line break)",
            Unsupported::RightToLeft => {
                "right-to-left scripts (Hebrew, Arabic) are not supported in PDF watermarks: \
                 they would be drawn in the wrong order"
            }
            Unsupported::NoGlyph => {
                "watermark text has a character the built-in font (DejaVu Sans) cannot draw \
                 (for example CJK ideographs, Thai, Devanagari or emoji)"
            }
        })
    }
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unsupported::Control => "is a control character",
            Unsupported::RightToLeft => "belongs to a right-to-left script, which PDF watermarks do not support",
            Unsupported::NoGlyph => "is not in the built-in font (DejaVu Sans)",
        })
    }
}

/// Strong right-to-left blocks: Hebrew, Arabic, Syriac, Thaana, NKo, Samaritan, Mandaic and
/// their presentation forms, plus the RTL historic scripts of the SMP.
fn right_to_left(c: char) -> bool {
    matches!(u32::from(c),
        0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF | 0x10800..=0x10FFF | 0x1E800..=0x1EFFF)
}

fn face() -> Result<Face<'static>> {
    Face::parse(DEJAVU_SANS, 0).map_err(|e| Error::Pdf(format!("built-in font: {e}")))
}

fn classify(face: &Face<'_>, c: char) -> Option<(Unsupported, char)> {
    if c.is_control() {
        Some((Unsupported::Control, c))
    } else if right_to_left(c) {
        Some((Unsupported::RightToLeft, c))
    } else if face.glyph_index(c).is_none_or(|g| g.0 == 0) {
        Some((Unsupported::NoGlyph, c))
    } else {
        None
    }
}

/// The first character of `text` that a PDF watermark cannot draw, and why; `None` when all
/// can be drawn. Callers use it to name the character in their own message.
pub fn first_unsupported(text: &str) -> Option<(char, Unsupported)> {
    let face = face().ok()?;
    text.chars().find_map(|c| classify(&face, c)).map(|(why, c)| (c, why))
}

/// A watermark text prepared for the embedded font: what to show and the subset to embed.
#[derive(Debug)]
pub(crate) struct FontText {
    /// The CIDs to show, one per character, as a PDF hex string.
    pub(crate) hex: String,
    /// Advance of the whole text in em, from the same widths the PDF's `/W` array carries.
    pub(crate) em: f32,
    /// Advance width of each CID 0..n in 1/1000 em.
    widths: Vec<i64>,
    /// The character each CID stands for (CID 0, `.notdef`, stands for none).
    unicode: BTreeMap<u16, char>,
    /// The subset TrueType file.
    subset: Vec<u8>,
    /// (ascent, descent, cap height, bbox) in 1/1000 em, for the font descriptor.
    metrics: (i64, i64, i64, [i64; 4]),
}

/// Map `text` to glyphs of the built-in font and build the subset. Refuses (with
/// [`Error::InvalidOptions`]) a character that cannot be drawn; see [`first_unsupported`].
pub(crate) fn prepare(text: &str) -> Result<FontText> {
    let face = face()?;
    let upem = f32::from(face.units_per_em().max(1));
    let scale = |v: f32| (v * 1000.0 / upem).round() as i64;
    let mut remapper = subsetter::GlyphRemapper::new();
    let mut widths: Vec<i64> = vec![scale(f32::from(face.glyph_hor_advance(GlyphId(0)).unwrap_or(0)))];
    let mut unicode = BTreeMap::new();
    let mut hex = String::with_capacity(text.len() * 4 + 2);
    let mut em_thousandths = 0i64;
    hex.push('<');
    for c in text.chars() {
        if let Some((why, _)) = classify(&face, c) {
            return Err(why.error());
        }
        let gid = face.glyph_index(c).ok_or_else(|| Unsupported::NoGlyph.error())?;
        let known = remapper.get(gid.0).is_some();
        let cid = remapper.remap(gid.0);
        if !known {
            widths.push(scale(f32::from(face.glyph_hor_advance(gid).unwrap_or(0))));
            unicode.insert(cid, c);
        }
        em_thousandths += widths.get(usize::from(cid)).copied().unwrap_or(0);
        hex.push_str(&format!("{cid:04X}"));
    }
    hex.push('>');
    let subset = subsetter::subset(DEJAVU_SANS, 0, &remapper)
        .map_err(|e| Error::Pdf(format!("cannot subset the built-in font: {e}")))?;
    let bbox = face.global_bounding_box();
    let metrics = (
        scale(f32::from(face.ascender())),
        scale(f32::from(face.descender())),
        scale(f32::from(face.capital_height().unwrap_or(face.ascender()))),
        [
            scale(f32::from(bbox.x_min)),
            scale(f32::from(bbox.y_min)),
            scale(f32::from(bbox.x_max)),
            scale(f32::from(bbox.y_max)),
        ],
    );
    Ok(FontText {
        hex,
        em: em_thousandths as f32 / 1000.0,
        widths,
        unicode,
        subset,
        metrics,
    })
}

/// Six capital letters derived from the subset's content, as PDF subset names carry
/// (ISO 32000-1 9.6.4): the same glyphs always give the same name, different ones differ.
fn subset_tag(subset: &[u8]) -> String {
    Sha256::digest(subset)
        .iter()
        .take(6)
        .map(|b| char::from(b'A' + b % 26))
        .collect()
}

/// The `/ToUnicode` CMap: each CID to its character in UTF-16BE, in `bfchar` blocks of at
/// most 100 entries (the limit PostScript CMaps impose).
fn to_unicode_cmap(unicode: &BTreeMap<u16, char>) -> Vec<u8> {
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<(&u16, &char)> = unicode.iter().collect();
    for block in entries.chunks(100) {
        s.push_str(&format!("{} beginbfchar\n", block.len()));
        for (cid, c) in block {
            let mut units = [0u16; 2];
            let utf16: String = c.encode_utf16(&mut units).iter().map(|u| format!("{u:04X}")).collect();
            s.push_str(&format!("<{cid:04X}> <{utf16}>\n"));
        }
        s.push_str("endbfchar\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    s.into_bytes()
}

/// Add the font (Type0 → CIDFontType2 → descriptor → subset file, and the CMap) to `doc`,
/// once per document; every page refers to the same object.
pub(crate) fn embed(doc: &mut Document, text: &FontText) -> Result<ObjectId> {
    let name = format!("{}+{POSTSCRIPT_NAME}", subset_tag(&text.subset));
    let mut file = Stream::new(
        dictionary! { "Length1" => i64::try_from(text.subset.len()).unwrap_or(i64::MAX) },
        text.subset.clone(),
    );
    file.compress().map_err(|e| Error::Pdf(e.to_string()))?;
    let file = doc.add_object(file);
    let (ascent, descent, cap, [bx0, by0, bx1, by1]) = text.metrics;
    let descriptor = doc.add_object(dictionary! {
        "Type" => "FontDescriptor",
        "FontName" => Object::Name(name.clone().into_bytes()),
        // Symbolic (bit 3): glyphs are reached by CID, not through a standard encoding.
        "Flags" => 4,
        "FontBBox" => vec![bx0.into(), by0.into(), bx1.into(), by1.into()],
        "ItalicAngle" => 0,
        "Ascent" => ascent,
        "Descent" => descent,
        "CapHeight" => cap,
        "StemV" => 80,
        "FontFile2" => file,
    });
    let widths: Vec<Object> = text.widths.iter().map(|&w| Object::Integer(w)).collect();
    let cid_font = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "CIDFontType2",
        "BaseFont" => Object::Name(name.clone().into_bytes()),
        "CIDSystemInfo" => dictionary! {
            "Registry" => Object::String(b"Adobe".to_vec(), StringFormat::Literal),
            "Ordering" => Object::String(b"Identity".to_vec(), StringFormat::Literal),
            "Supplement" => 0,
        },
        "FontDescriptor" => descriptor,
        "W" => vec![0.into(), Object::Array(widths)],
        "CIDToGIDMap" => "Identity",
    });
    let mut cmap = Stream::new(dictionary! {}, to_unicode_cmap(&text.unicode));
    cmap.compress().map_err(|e| Error::Pdf(e.to_string()))?;
    let cmap = doc.add_object(cmap);
    Ok(doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type0",
        "BaseFont" => Object::Name(name.into_bytes()),
        "Encoding" => "Identity-H",
        "DescendantFonts" => vec![cid_font.into()],
        "ToUnicode" => cmap,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_scripts_and_refuses_what_it_cannot_draw() {
        let t = prepare("Aé Жω").unwrap();
        // `.notdef` is CID 0; five distinct characters follow in order.
        assert_eq!(t.hex, "<00010002000300040005>");
        assert_eq!(t.widths.len(), 6);
        assert_eq!(t.unicode.get(&4), Some(&'Ж'));
        assert!(t.em > 2.0 && t.em < 4.0, "{}", t.em);
        // Repeated characters share one CID.
        assert_eq!(prepare("aa").unwrap().hex, "<00010001>");
        assert_eq!(first_unsupported("ok 日本"), Some(('日', Unsupported::NoGlyph)));
        assert_eq!(first_unsupported("tab\t"), Some(('\t', Unsupported::Control)));
        assert_eq!(first_unsupported("שלום"), Some(('ש', Unsupported::RightToLeft)));
        assert_eq!(first_unsupported("Конфиденциально — Εμπιστευτικό"), None);
        assert!(matches!(prepare("x日"), Err(Error::InvalidOptions(_))));
    }

    #[test]
    fn cmap_maps_cids_to_utf16() {
        let map: BTreeMap<u16, char> = [(1, 'A'), (2, '😀')].into_iter().collect();
        let cmap = String::from_utf8(to_unicode_cmap(&map)).unwrap();
        assert!(
            cmap.contains("2 beginbfchar\n<0001> <0041>\n<0002> <D83DDE00>\nendbfchar"),
            "{cmap}"
        );
        let many: BTreeMap<u16, char> = (1..=150u16).map(|i| (i, 'a')).collect();
        let cmap = String::from_utf8(to_unicode_cmap(&many)).unwrap();
        assert!(cmap.contains("100 beginbfchar") && cmap.contains("50 beginbfchar"));
    }

    #[test]
    fn subset_is_small_and_tagged() {
        let t = prepare("Hello").unwrap();
        assert!(t.subset.len() < 20_000, "{}", t.subset.len());
        let tag = subset_tag(&t.subset);
        assert_eq!(tag.len(), 6);
        assert!(tag.bytes().all(|b| b.is_ascii_uppercase()));
    }
}
