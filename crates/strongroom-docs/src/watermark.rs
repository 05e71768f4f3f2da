//! Watermarks stamped on PDF pages: text in any script the built-in font covers, an image, or
//! both.
//!
//! Every page gets the watermark as new content drawn over the page, with its own graphics
//! state so nothing the page left behind (an unbalanced `q`, a transformed CTM, a fill colour)
//! can move or hide it: a shared stream holding only `q` is put before the page's content and
//! the watermark stream (which starts with `Q`) after it. The page's own content streams are
//! not modified, so a page whose content is shared, signed-over or compressed stays as it was.
//!
//! The watermark is centred on the visible area (CropBox, else MediaBox, inherited as the PDF
//! specification says) and turned with the page's `/Rotate`, so it reads at the requested
//! angle (an image: upright) on screen. Opacity comes from an `ExtGState` (`/ca`, `/CA`).
//! Fonts and images are stored once per document and shared by all pages.
//!
//! **Text** is always drawn in an embedded subset of DejaVu Sans (`pdf_font`), also when it
//! is plain ASCII. The standard Helvetica needs no embedding but only reaches Latin-1, and
//! each reader substitutes its own look-alike with its own widths; one embedded font gives one
//! code path for every script (a name in Cyrillic next to a date in digits), the same glyphs
//! and widths in every reader (so centring is exact) and a PDF/A-friendly file (all fonts
//! embedded), for a few kilobytes per document. Characters the font cannot draw (CJK, Thai,
//! emoji, …), right-to-left scripts and control characters are refused with
//! [`Error::InvalidOptions`]; [`first_unsupported`] names the character for a caller's message.
//!
//! **Images** ([`ImageWatermark`]): PNG (alpha honoured through a soft mask) or JPEG, decoded
//! with size limits, scaled to a fraction of the visible page and drawn once in the centre or
//! tiled. Where both are given ([`pdf_stamp`]), the image is drawn under the text.

pub mod docx;
pub mod image;
pub mod template;

mod pdf_font;
mod pdf_image;

use lopdf::{Dictionary, Document, Object, ObjectId, Stream, dictionary};

use crate::{Error, Format, Result, detect_format};

pub use pdf_font::{Unsupported, first_unsupported};
pub use pdf_image::{ImageWatermark, MAX_IMAGE_BYTES, MAX_IMAGE_SIDE};

/// A text watermark.
#[derive(Debug, Clone, PartialEq)]
pub struct TextWatermark<'a> {
    /// The text: one line, at most 500 characters, in any left-to-right script DejaVu Sans
    /// covers (Latin, Greek, Cyrillic, Armenian, Georgian, many symbols; see the module
    /// documentation).
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

/// A text watermark, an image watermark or both, stamped in one pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PdfStamp<'a> {
    /// Text drawn over the page (and over the image).
    pub text: Option<TextWatermark<'a>>,
    /// An image drawn over the page.
    pub image: Option<ImageWatermark<'a>>,
}

const MAX_TEXT_CHARS: usize = 500;
/// Upper bound on tiles per page, whatever the sizes: bounds output size and rendering time.
const MAX_TILES: usize = 400;

fn check(wm: &TextWatermark<'_>) -> Result<()> {
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
    Ok(())
}

fn map_lopdf(e: lopdf::Error) -> Error {
    match e {
        lopdf::Error::Parse(_) | lopdf::Error::Xref(_) => Error::malformed("PDF", e.to_string()),
        other => Error::Pdf(other.to_string()),
    }
}

/// Stamp the text watermark `wm` on every page of the PDF `bytes`. Refuses an encrypted PDF
/// ([`Error::AlreadyProtected`]: watermark first, then protect).
pub fn pdf(bytes: &[u8], wm: &TextWatermark<'_>) -> Result<Vec<u8>> {
    pdf_stamp(
        bytes,
        &PdfStamp {
            text: Some(wm.clone()),
            image: None,
        },
    )
}

/// Stamp the image watermark `wm` on every page of the PDF `bytes`; see [`pdf`].
pub fn pdf_image(bytes: &[u8], wm: &ImageWatermark<'_>) -> Result<Vec<u8>> {
    pdf_stamp(
        bytes,
        &PdfStamp {
            text: None,
            image: Some(wm.clone()),
        },
    )
}

/// Stamp a watermark on a document of any kind we stamp, recognised by content: every page of
/// a PDF ([`pdf_stamp`]), a PNG or JPEG picture ([`image::stamp`]: the picture first, then the
/// text on top, as on a PDF page), or the headers of a Word document ([`docx::stamp`]: text
/// only). Anything else is [`Error::WrongFormat`].
pub fn stamp(bytes: &[u8], stamp: &PdfStamp<'_>) -> Result<Vec<u8>> {
    match detect_format(bytes.get(..1024).unwrap_or(bytes)) {
        Format::Pdf => pdf_stamp(bytes, stamp),
        // Any other zip: the Word stamper names what it expected.
        Format::Zip => match (&stamp.text, &stamp.image) {
            (Some(text), None) => docx::stamp(bytes, text),
            _ => Err(Error::InvalidOptions(
                "a Word document takes a text watermark only (no picture)",
            )),
        },
        _ if image::detect(bytes).is_some() => {
            let mut out = match &stamp.image {
                Some(picture) => image::stamp(bytes, &image::ImageStamp::image(picture.clone()))?,
                None => bytes.to_vec(),
            };
            if let Some(text) = &stamp.text {
                out = image::stamp(&out, &image::ImageStamp::text(text.clone()))?;
            }
            Ok(out)
        }
        found => Err(Error::WrongFormat {
            expected: "a PDF document, a PNG or JPEG image, or a Word document (.docx)",
            found,
        }),
    }
}

/// Whether [`stamp`] draws text on `bytes` with the built-in font (PDF pages and pictures), so
/// that [`first_unsupported`] applies; Word documents draw it with the reader's fonts.
pub fn draws_text_itself(bytes: &[u8]) -> bool {
    detect_format(bytes.get(..1024).unwrap_or(bytes)) != Format::Zip
}

/// Stamp a text and/or an image watermark on every page of the PDF `bytes` (at least one must
/// be given). All options are checked, the image decoded and the font subset built before the
/// PDF is parsed, so bad options fail fast. Refuses an encrypted PDF
/// ([`Error::AlreadyProtected`]: watermark first, then protect).
pub fn pdf_stamp(bytes: &[u8], stamp: &PdfStamp<'_>) -> Result<Vec<u8>> {
    match detect_format(bytes) {
        Format::Pdf => {}
        found => {
            return Err(Error::WrongFormat {
                expected: "a PDF document",
                found,
            });
        }
    }
    if stamp.text.is_none() && stamp.image.is_none() {
        return Err(Error::InvalidOptions(
            "nothing to stamp: give a text or an image watermark",
        ));
    }
    let text = match &stamp.text {
        Some(wm) => {
            check(wm)?;
            Some((wm, pdf_font::prepare(wm.text)?))
        }
        None => None,
    };
    let image = match &stamp.image {
        Some(wm) => Some((wm, pdf_image::decode(wm)?)),
        None => None,
    };
    let mut doc = Document::load_mem(bytes).map_err(map_lopdf)?;
    if doc.is_encrypted() || doc.encryption_state.is_some() {
        return Err(Error::AlreadyProtected);
    }
    let pages = real_pages(&doc)?;
    // New objects must not take a number that a dangling reference in a damaged file still
    // uses: that reference (a page in /Kids, say) would then point at our font.
    crate::pdf::reserve_referenced_ids(&mut doc);
    // The watermark adds a handful of objects; lopdf's numbers stop at u32::MAX.
    if doc.max_id > u32::MAX - 4096 {
        return Err(Error::malformed("PDF", "object numbers reach the limit of the format"));
    }
    let gs = |doc: &mut Document, opacity: f32| {
        doc.add_object(dictionary! {
            "Type" => "ExtGState", "ca" => Object::Real(opacity), "CA" => Object::Real(opacity),
        })
    };
    let text = match text {
        Some((wm, shaped)) => {
            let font = pdf_font::embed(&mut doc, &shaped)?;
            let state = gs(&mut doc, wm.opacity);
            Some(TextLayer {
                wm,
                shaped,
                font,
                gs: state,
            })
        }
        None => None,
    };
    let image = match image {
        Some((wm, decoded)) => {
            let xobject = pdf_image::embed(&mut doc, &decoded)?;
            let state = gs(&mut doc, wm.opacity);
            Some(ImageLayer {
                wm,
                aspect: decoded.aspect(),
                xobject,
                gs: state,
            })
        }
        None => None,
    };
    let open = doc.add_object(Stream::new(Dictionary::new(), b"q\n".to_vec()));
    for page in pages {
        stamp_page(&mut doc, page, text.as_ref(), image.as_ref(), open)?;
    }
    let mut out = Vec::with_capacity(bytes.len() + 16 * 1024);
    doc.save_to(&mut out)?;
    Ok(out)
}

/// The pages a reader shows, each once. Readers skip a dangling `/Kids` entry (a reference to
/// an object the file does not define), so it is skipped here too; anything else that is not
/// a page, or a page tree that reaches a node twice (a cycle, or a shared kid), is refused:
/// stamping must not leave a page the reader shows unmarked.
fn real_pages(doc: &Document) -> Result<Vec<ObjectId>> {
    let damaged = |detail: &str| Error::malformed("PDF", detail.to_owned());
    let mut seen = std::collections::BTreeSet::new();
    let root = doc
        .catalog()
        .and_then(|c| c.get(b"Pages"))
        .and_then(Object::as_reference)
        .map_err(|_| damaged("the catalog has no page tree"))?;
    // The walk itself gives the pages, in document order: lopdf's page list can leave out
    // pages a reader shows (it stops after as many kids as the file has objects, and below
    // 256 levels), and every page shown must be stamped.
    let mut stack = vec![root];
    let mut pages = Vec::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            return Err(damaged("the page tree reaches a page or node twice"));
        }
        let Some(object) = doc.objects.get(&id) else {
            // A dangling kid: readers skip it.
            continue;
        };
        let node = object
            .as_dict()
            .map_err(|_| damaged("the page tree holds an object that is not a dictionary"))?;
        if let Ok(kids) = node.get(b"Kids").and_then(Object::as_array) {
            // A node with kids is an inner node whatever its /Type says, as readers treat it.
            for kid in kids.iter().rev() {
                let kid = kid
                    .as_reference()
                    .map_err(|_| damaged("the page tree holds a kid that is not a reference"))?;
                stack.push(kid);
            }
        } else if node.get(b"Type").and_then(Object::as_name).is_ok_and(|t| t == b"Page") {
            pages.push(id);
        } else {
            return Err(damaged("the page tree lists an object that is not a page"));
        }
    }
    if pages.is_empty() {
        return Err(damaged("no pages"));
    }
    Ok(pages)
}

/// A text watermark with its document-wide objects.
struct TextLayer<'w, 'a> {
    wm: &'w TextWatermark<'a>,
    shaped: pdf_font::FontText,
    font: ObjectId,
    gs: ObjectId,
}

/// An image watermark with its document-wide objects.
struct ImageLayer<'w, 'a> {
    wm: &'w ImageWatermark<'a>,
    aspect: f32,
    xobject: ObjectId,
    gs: ObjectId,
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

/// Add `target` to the resource category `key` of `res` under a fresh name, returned.
fn add_resource(doc: &Document, res: &mut Dictionary, key: &str, base: &str, target: ObjectId) -> String {
    let mut category = sub_dict(doc, res, key.as_bytes());
    let name = fresh_name(&category, base);
    category.set(name.clone(), Object::Reference(target));
    res.set(key, Object::Dictionary(category));
    String::from_utf8_lossy(&name).into_owned()
}

fn stamp_page(
    doc: &mut Document,
    page: ObjectId,
    text: Option<&TextLayer<'_, '_>>,
    image: Option<&ImageLayer<'_, '_>>,
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
    let [x0, y0, x1, y1] = crop;
    let mut content = format!("Q\nq\n{x0:.3} {y0:.3} {:.3} {:.3} re W n\n", x1 - x0, y1 - y0);
    if let Some(layer) = image {
        let xobject = add_resource(doc, &mut res, "XObject", "SRWmIm", layer.xobject);
        let gs = add_resource(doc, &mut res, "ExtGState", "SRWmGS", layer.gs);
        content.push_str(&format!("q\n/{gs} gs\n"));
        content.push_str(&pdf_image::draw(
            layer.wm,
            layer.aspect,
            crop,
            rotate,
            &xobject,
            MAX_TILES,
        ));
        content.push_str("Q\n");
    }
    if let Some(layer) = text {
        let font = add_resource(doc, &mut res, "Font", "SRWmF", layer.font);
        let gs = add_resource(doc, &mut res, "ExtGState", "SRWmGS", layer.gs);
        content.push_str(&draw_text(layer.wm, &layer.shaped, crop, rotate as f32, &font, &gs));
    }
    content.push_str("Q\n");
    let mut stamp = Stream::new(Dictionary::new(), content.into_bytes());
    stamp.compress().map_err(map_lopdf)?;
    let stamp = doc.add_object(stamp);

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

/// The text part of the watermark stream, inside the clip to the visible box: draw the text
/// once (centred) or tiled, at the on-screen angle, in its own `q … Q`.
fn draw_text(
    wm: &TextWatermark<'_>,
    shaped: &pdf_font::FontText,
    crop: [f32; 4],
    page_rotate: f32,
    font: &str,
    gs: &str,
) -> String {
    let em = shaped.em;
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
    let mut s = format!(
        "q\n/{gs} gs\n{:.4} {:.4} {:.4} rg\nBT\n/{font} {size:.3} Tf\n",
        wm.rgb[0], wm.rgb[1], wm.rgb[2],
    );
    // Put the text's centre (half its width along the baseline, ~0.35 em above it) on the point.
    let (ox, oy) = (-width / 2.0, -0.35 * size);
    for (cx, cy) in centres {
        let tx = cx + ox * cos - oy * sin;
        let ty = cy + ox * sin + oy * cos;
        s.push_str(&format!(
            "{cos:.5} {sin:.5} {:.5} {cos:.5} {tx:.3} {ty:.3} Tm {} Tj\n",
            -sin, shaped.hex
        ));
    }
    s.push_str("ET\nQ\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn nothing_to_stamp_is_refused() {
        let r = pdf_stamp(b"%PDF-1.7\n", &PdfStamp::default());
        assert!(matches!(r, Err(Error::InvalidOptions(_))));
    }
}
