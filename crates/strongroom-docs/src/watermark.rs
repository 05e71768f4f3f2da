//! Text watermarks stamped on PDF pages.
//!
//! Every page gets the watermark as new content drawn over the page, with its own graphics
//! state so nothing the page left behind (an unbalanced `q`, a transformed CTM, a fill colour)
//! can move or hide it: a shared stream holding only `q` is put before the page's content and
//! the watermark stream (which starts with `Q`) after it. The page's own content streams are
//! not modified, so a page whose content is shared, signed-over or compressed stays as it was.
//!
//! The watermark is centred on the visible area (CropBox, else MediaBox, inherited as the PDF
//! specification says) and turned with the page's `/Rotate`, so it reads at the requested
//! angle on screen. Opacity comes from an `ExtGState` (`/ca`, `/CA`).
//!
//! First version: the standard Helvetica font with WinAnsi encoding, so the text must be
//! Latin-1 (ASCII and U+00A0–U+00FF); other characters are refused with
//! [`Error::InvalidOptions`] rather than drawn as garbage. Non-Latin scripts need an embedded
//! font, which is not implemented yet.

pub mod docx;
pub mod image;

use lopdf::{Dictionary, Document, Object, ObjectId, Stream, dictionary};

use crate::{Error, Format, Result, detect_format};

/// A text watermark.
#[derive(Debug, Clone, PartialEq)]
pub struct TextWatermark<'a> {
    /// The text, Latin-1 only (see the module documentation). At most 500 characters.
    pub text: &'a str,
    /// Font size in points (1–500). A single (not tiled) watermark is shrunk if needed so
    /// that it fits the visible area of the page.
    pub font_size: f32,
    /// Fill colour, each component 0.0–1.0.
    pub rgb: [f32; 3],
    /// Opacity, 0.0 (invisible) – 1.0 (opaque).
    pub opacity: f32,
    /// Counter-clockwise angle of the text as seen on screen, in degrees.
    pub rotation_deg: f32,
    /// Repeat the text over the whole page instead of once in the centre.
    pub tiled: bool,
}

impl Default for TextWatermark<'_> {
    fn default() -> Self {
        TextWatermark {
            text: "",
            font_size: 48.0,
            rgb: [0.5, 0.5, 0.5],
            opacity: 0.3,
            rotation_deg: 45.0,
            tiled: false,
        }
    }
}

const MAX_TEXT_CHARS: usize = 500;
/// Upper bound on tiles per page, whatever the sizes: bounds output size and rendering time.
const MAX_TILES: usize = 400;

/// Helvetica advance widths (1/1000 em) for ASCII 0x20..=0x7E, from the standard font metrics
/// every PDF reader carries. Used only to centre and space the text.
const HELVETICA_ASCII: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // ' '../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0-9
    278, 278, 584, 584, 584, 556, 1015, // :;<=>?@
    667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944,
    667, 667, 611, // A-Z
    278, 278, 278, 469, 556, 333, // [\]^_`
    556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722,
    500, 500, 500, // a-z
    334, 260, 334, 584, // {|}~
];

/// Width of one WinAnsi byte; non-ASCII Latin-1 letters are approximated by a typical width
/// (accented letters are as wide as their base letters to within a few percent).
fn char_width(b: u8) -> f32 {
    let w = match b {
        0x20..=0x7E => HELVETICA_ASCII.get(usize::from(b - 0x20)).copied().unwrap_or(556),
        _ => 600,
    };
    f32::from(w) / 1000.0
}

fn to_latin1(text: &str) -> Result<Vec<u8>> {
    text.chars()
        .map(|c| match u32::from(c) {
            v @ (0x20..=0x7E | 0xA0..=0xFF) => u8::try_from(v).map_err(|_| Error::InvalidOptions("text")),
            _ => Err(Error::InvalidOptions(
                "watermark text must be Latin-1 (the standard PDF font); other scripts are not supported yet",
            )),
        })
        .collect()
}

fn check(wm: &TextWatermark<'_>) -> Result<Vec<u8>> {
    if wm.text.trim().is_empty() {
        return Err(Error::InvalidOptions("empty watermark text"));
    }
    if wm.text.chars().count() > MAX_TEXT_CHARS {
        return Err(Error::InvalidOptions("watermark text longer than 500 characters"));
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
    to_latin1(wm.text)
}

fn map_lopdf(e: lopdf::Error) -> Error {
    match e {
        lopdf::Error::Parse(_) | lopdf::Error::Xref(_) => Error::malformed("PDF", e.to_string()),
        other => Error::Pdf(other.to_string()),
    }
}

/// Stamp `wm` on every page of the PDF `bytes`. Refuses an encrypted PDF
/// ([`Error::AlreadyProtected`]: watermark first, then protect).
pub fn pdf(bytes: &[u8], wm: &TextWatermark<'_>) -> Result<Vec<u8>> {
    match detect_format(bytes) {
        Format::Pdf => {}
        found => {
            return Err(Error::WrongFormat {
                expected: "a PDF document",
                found,
            });
        }
    }
    let text = check(wm)?;
    let mut doc = Document::load_mem(bytes).map_err(map_lopdf)?;
    if doc.is_encrypted() || doc.encryption_state.is_some() {
        return Err(Error::AlreadyProtected);
    }
    let pages: Vec<ObjectId> = doc.get_pages().into_values().collect();
    if pages.is_empty() {
        return Err(Error::malformed("PDF", "no pages"));
    }
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
    });
    let gs = doc.add_object(dictionary! {
        "Type" => "ExtGState", "ca" => Object::Real(wm.opacity), "CA" => Object::Real(wm.opacity),
    });
    let open = doc.add_object(Stream::new(Dictionary::new(), b"q\n".to_vec()));
    for page in pages {
        stamp_page(&mut doc, page, wm, &text, font, gs, open)?;
    }
    let mut out = Vec::with_capacity(bytes.len() + 4096);
    doc.save_to(&mut out)?;
    Ok(out)
}

/// An attribute of a page or, failing that, of its nearest ancestor (ISO 32000 7.7.3.4).
fn inherited(doc: &Document, page: ObjectId, key: &[u8]) -> Option<Object> {
    let mut id = page;
    for _ in 0..64 {
        let dict = doc.get_dictionary(id).ok()?;
        if let Ok(v) = dict.get(key) {
            return doc.dereference(v).ok().map(|(_, o)| o.clone());
        }
        id = dict.get(b"Parent").and_then(Object::as_reference).ok()?;
    }
    None
}

/// A rectangle `[x0 y0 x1 y1]`, normalised so x0 < x1 and y0 < y1.
fn rect(doc: &Document, o: &Object) -> Option<[f32; 4]> {
    let a = o.as_array().ok()?;
    let mut v = [0f32; 4];
    for (slot, item) in v.iter_mut().zip(a.iter()) {
        *slot = doc.dereference(item).ok()?.1.as_float().ok()?;
    }
    if a.len() != 4 || v.iter().any(|x| !x.is_finite()) {
        return None;
    }
    Some([v[0].min(v[2]), v[1].min(v[3]), v[0].max(v[2]), v[1].max(v[3])])
}

/// A fresh resource name not in `dict`.
fn fresh_name(dict: &Dictionary, base: &str) -> Vec<u8> {
    (0u32..)
        .map(|i| format!("{base}{i}").into_bytes())
        .find(|n| !dict.has(n))
        .unwrap_or_else(|| base.as_bytes().to_vec())
}

/// The sub-dictionary `key` of `res` as an owned dictionary (resolving a reference).
fn sub_dict(doc: &Document, res: &Dictionary, key: &[u8]) -> Dictionary {
    res.get(key)
        .ok()
        .and_then(|o| doc.dereference(o).ok())
        .and_then(|(_, o)| o.as_dict().ok().cloned())
        .unwrap_or_default()
}

fn stamp_page(
    doc: &mut Document,
    page: ObjectId,
    wm: &TextWatermark<'_>,
    text: &[u8],
    font: ObjectId,
    gs: ObjectId,
    open: ObjectId,
) -> Result<()> {
    let media = inherited(doc, page, b"MediaBox")
        .and_then(|o| rect(doc, &o))
        .unwrap_or([0.0, 0.0, 612.0, 792.0]);
    let crop = inherited(doc, page, b"CropBox")
        .and_then(|o| rect(doc, &o))
        .unwrap_or(media);
    let rotate = inherited(doc, page, b"Rotate")
        .and_then(|o| o.as_i64().ok())
        .unwrap_or(0)
        .rem_euclid(360);

    // The page gets its own resources dictionary (a copy of the effective one plus ours), so
    // resources shared with other pages or inherited from the tree are never modified.
    let mut res = inherited(doc, page, b"Resources")
        .and_then(|o| o.as_dict().ok().cloned())
        .unwrap_or_default();
    let mut fonts = sub_dict(doc, &res, b"Font");
    let mut states = sub_dict(doc, &res, b"ExtGState");
    let font_name = fresh_name(&fonts, "SRWmF");
    let gs_name = fresh_name(&states, "SRWmGS");
    fonts.set(font_name.clone(), Object::Reference(font));
    states.set(gs_name.clone(), Object::Reference(gs));
    res.set("Font", Object::Dictionary(fonts));
    res.set("ExtGState", Object::Dictionary(states));

    let content = draw(wm, text, crop, rotate as f32, &font_name, &gs_name);
    let stamp = doc.add_object(Stream::new(Dictionary::new(), content));

    // /Contents is a stream reference, an array of them, or a reference to such an array.
    let mut contents = match doc.get_dictionary(page).map_err(map_lopdf)?.get(b"Contents") {
        Ok(Object::Array(a)) => a.clone(),
        Ok(r @ Object::Reference(id)) => match doc.get_object(*id) {
            Ok(Object::Array(a)) => a.clone(),
            _ => vec![r.clone()],
        },
        _ => Vec::new(),
    };
    let dict = doc
        .get_object_mut(page)
        .and_then(Object::as_dict_mut)
        .map_err(map_lopdf)?;
    contents.insert(0, Object::Reference(open));
    contents.push(Object::Reference(stamp));
    dict.set("Contents", Object::Array(contents));
    dict.set("Resources", Object::Dictionary(res));
    Ok(())
}

/// A PDF literal string for WinAnsi bytes: `\`, `(` and `)` escaped, non-ASCII as octal.
fn literal(text: &[u8]) -> String {
    let mut s = String::with_capacity(text.len() + 2);
    s.push('(');
    for &b in text {
        match b {
            b'(' | b')' | b'\\' => {
                s.push('\\');
                s.push(char::from(b));
            }
            0x20..=0x7E => s.push(char::from(b)),
            _ => s.push_str(&format!("\\{b:03o}")),
        }
    }
    s.push(')');
    s
}

/// The watermark's content stream: restore the page's graphics state, clip to the visible box,
/// then draw the text once (centred) or tiled, at the on-screen angle.
fn draw(wm: &TextWatermark<'_>, text: &[u8], crop: [f32; 4], page_rotate: f32, font: &[u8], gs: &[u8]) -> Vec<u8> {
    let em = text.iter().map(|&b| char_width(b)).sum::<f32>();
    // Viewers turn the page clockwise by /Rotate; turning the text counter-clockwise by the
    // same amount makes it read at rotation_deg on screen.
    let theta = (wm.rotation_deg + page_rotate).to_radians();
    let (sin, cos) = theta.sin_cos();
    let [x0, y0, x1, y1] = crop;
    // A single watermark is shrunk to fit: the longest segment through the centre at this
    // angle, less a margin. A clipped watermark would be unreadable.
    let size = if wm.tiled {
        wm.font_size
    } else {
        let along = |extent: f32, c: f32| {
            if c.abs() < 1e-6 {
                f32::INFINITY
            } else {
                extent / c.abs()
            }
        };
        let room = along(x1 - x0, cos).min(along(y1 - y0, sin)) * 0.9;
        wm.font_size.min(room / em.max(0.001)).max(1.0)
    };
    let width = em * size;
    let centres: Vec<(f32, f32)> = if wm.tiled {
        // Cover the box plus a margin of one text length, so rotated rows reach the corners.
        let reach = width.max(size);
        let (span_x, span_y) = ((x1 - x0) + 2.0 * reach, (y1 - y0) + 2.0 * reach);
        let (mut dx, mut dy) = (width + 2.0 * size, 3.0 * size);
        let count = |dx: f32, dy: f32| ((span_x / dx).ceil() + 1.0) * ((span_y / dy).ceil() + 1.0);
        let n = count(dx, dy);
        if n > MAX_TILES as f32 {
            // Too many: spread them out rather than leave part of the page bare.
            let k = (n / MAX_TILES as f32).sqrt() * 1.05;
            dx *= k;
            dy *= k;
        }
        let cols = (span_x / dx).ceil() as usize + 1;
        let rows = (span_y / dy).ceil() as usize + 1;
        (0..rows)
            .flat_map(|r| {
                // Alternate rows shift by half a step, like a brick wall.
                let shift = if r % 2 == 1 { dx / 2.0 } else { 0.0 };
                (0..cols).map(move |c| (x0 - reach + shift + c as f32 * dx, y0 - reach + r as f32 * dy))
            })
            .take(MAX_TILES)
            .collect()
    } else {
        vec![((x0 + x1) / 2.0, (y0 + y1) / 2.0)]
    };
    let name = |n: &[u8]| String::from_utf8_lossy(n).into_owned();
    let mut s = format!(
        "Q\nq\n{x0:.3} {y0:.3} {:.3} {:.3} re W n\n/{} gs\n{:.4} {:.4} {:.4} rg\nBT\n/{} {size:.3} Tf\n",
        x1 - x0,
        y1 - y0,
        name(gs),
        wm.rgb[0],
        wm.rgb[1],
        wm.rgb[2],
        name(font),
    );
    let lit = literal(text);
    // Put the text's centre (half its width along the baseline, ~0.35 em above it) on the point.
    let (ox, oy) = (-width / 2.0, -0.35 * size);
    for (cx, cy) in centres {
        let tx = cx + ox * cos - oy * sin;
        let ty = cy + ox * sin + oy * cos;
        s.push_str(&format!(
            "{cos:.5} {sin:.5} {:.5} {cos:.5} {tx:.3} {ty:.3} Tm {lit} Tj\n",
            -sin
        ));
    }
    s.push_str("ET\nQ\n");
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_only() {
        assert_eq!(to_latin1("Aé ÿ").unwrap(), vec![b'A', 0xE9, b' ', 0xFF]);
        assert!(to_latin1("日本").is_err());
        assert!(to_latin1("tab\t").is_err());
    }

    #[test]
    fn literal_escapes() {
        assert_eq!(literal(b"a(b)c\\"), "(a\\(b\\)c\\\\)");
        assert_eq!(literal(&[0xE9]), "(\\351)");
    }

    #[test]
    fn options_are_checked() {
        let ok = TextWatermark {
            text: "CONFIDENTIAL",
            ..TextWatermark::default()
        };
        assert!(check(&ok).is_ok());
        for bad in [
            TextWatermark {
                text: " ",
                ..ok.clone()
            },
            TextWatermark {
                font_size: 0.0,
                ..ok.clone()
            },
            TextWatermark {
                opacity: 1.5,
                ..ok.clone()
            },
            TextWatermark {
                rgb: [0.0, 2.0, 0.0],
                ..ok.clone()
            },
            TextWatermark {
                rotation_deg: f32::NAN,
                ..ok.clone()
            },
        ] {
            assert!(matches!(check(&bad), Err(Error::InvalidOptions(_))), "{bad:?}");
        }
    }

    #[test]
    fn helvetica_widths() {
        assert_eq!(HELVETICA_ASCII.len(), 95);
        assert!((char_width(b' ') - 0.278).abs() < 1e-6);
        assert!((char_width(b'W') - 0.944).abs() < 1e-6);
        assert!((char_width(b'~') - 0.584).abs() < 1e-6);
    }
}
