//! Watermarks stamped on PNG and JPEG images: a line of text (the same [`TextWatermark`]
//! options as PDF watermarks) or another picture (a PNG logo with alpha), once in the centre or
//! tiled over the whole image.
//!
//! The format is recognised from the content and the output keeps it: a PNG stays a PNG with
//! its colour type and bit depth (grey stays grey, alpha stays alpha, 16-bit stays 16-bit;
//! palette images come back as RGB(A), because the decoder expands them), a JPEG is re-encoded
//! at quality 90. Only pixels under the watermark change: a PNG is otherwise identical pixel for
//! pixel. The ICC colour profile is kept so colours look the same; other metadata (EXIF with its
//! camera and GPS data, text chunks) is dropped. An EXIF orientation is applied to the pixels
//! first, so the watermark reads upright where the viewer showed the image upright.
//!
//! **Font size.** An image has no physical size, so points are mapped through a reference page:
//! the image's shorter side counts as [`REFERENCE_PAGE_PT`] points (the width of a US Letter
//! page, within 3 % of A4). A 48 pt watermark therefore covers the same share of a photo as of a
//! PDF page, whatever the resolution: 85 px on a 1920×1080 image, 200 px on a 300 dpi scan of a
//! Letter page. As for PDFs, a single watermark is shrunk until it fits in the image; a tiled
//! one until one copy is no longer than the image's longer side.
//!
//! **Text.** Drawn with the built-in DejaVu Sans (see `crate::font`), so Latin, Greek and
//! Cyrillic text needs nothing installed. There is no text shaping: right-to-left scripts
//! (Hebrew, Arabic) are refused rather than drawn backwards, and characters the font lacks
//! (CJK, emoji) are refused rather than drawn as empty boxes.
//!
//! **Untrusted input.** Dimensions and the decoded size are checked against [`Limits`] before
//! any pixel buffer is allocated (a 100-byte PNG can claim 100,000 × 100,000 pixels); corrupt
//! or truncated files are refused with [`Error::Malformed`].

mod composite;

use std::io::Cursor;

use ab_glyph::{Font, FontRef, GlyphId, OutlineCurve, Point, point};
use ab_glyph_rasterizer::Rasterizer;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageError, ImageFormat, ImageReader};

use super::TextWatermark;
use crate::font::DEJAVU_SANS;
use crate::{Error, Result, detect_format};
use composite::{Layer, Paint, Patch, apply};

/// Points the shorter side of an image counts as when a font size in points is turned into
/// pixels (see the module documentation).
pub const REFERENCE_PAGE_PT: f32 = 612.0;
/// JPEG quality of the re-encoded image: visually lossless for photos, about the size of what
/// cameras and phones write.
pub const JPEG_QUALITY: u8 = 90;

const MAX_TEXT_CHARS: usize = 500;
/// Upper bound on copies of a tiled watermark: bounds the work whatever the sizes.
const MAX_TILES: usize = 400;
/// Largest glyph drawn, in pixels per em. Bigger letters would only be cut off by the image
/// edge, and each glyph's raster buffer grows with the square of this.
const MAX_FONT_PX: f32 = 2000.0;
/// Where the centre of a line of text sits above its baseline, in em: about half the height of
/// a capital letter, so the visible letters (not the baseline) are centred.
const TEXT_CENTRE_EM: f32 = 0.35;

/// A picture stamped on an image, such as a company logo: the same options as on a PDF page,
/// with `scale` relative to the stamped image's shorter side.
pub use super::ImageWatermark;

/// What to stamp on an image.
#[derive(Debug, Clone, PartialEq)]
pub enum Mark<'a> {
    /// A line of text in the built-in font.
    Text(TextWatermark<'a>),
    /// A picture.
    Image(ImageWatermark<'a>),
}

/// Bounds on the images accepted, checked before pixels are decoded: a tiny file can claim an
/// enormous size (a "decompression bomb"), and a server must not try to allocate it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest width accepted, in pixels.
    pub max_width: u32,
    /// Largest height accepted, in pixels.
    pub max_height: u32,
    /// Largest decoded image accepted, in bytes (width × height × bytes per pixel). Peak memory
    /// is about twice this (the decoded image plus the encoded output, or a rotated copy when an
    /// EXIF orientation is applied).
    pub max_alloc: u64,
}

impl Default for Limits {
    /// 16,384 pixels a side and 256 MiB decoded: RGB photos up to about 85 megapixels (every
    /// phone and nearly every camera), far above any screenshot or scan.
    fn default() -> Self {
        Limits {
            max_width: 16_384,
            max_height: 16_384,
            max_alloc: 256 * 1024 * 1024,
        }
    }
}

/// A watermark and the limits that input images must respect.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageStamp<'a> {
    /// What to draw.
    pub mark: Mark<'a>,
    /// Bounds on the input image (and on the picture of an image watermark).
    pub limits: Limits,
}

impl<'a> ImageStamp<'a> {
    /// A text watermark with the default [`Limits`].
    pub fn text(wm: TextWatermark<'a>) -> Self {
        ImageStamp {
            mark: Mark::Text(wm),
            limits: Limits::default(),
        }
    }

    /// A picture watermark with the default [`Limits`].
    pub fn image(wm: ImageWatermark<'a>) -> Self {
        ImageStamp {
            mark: Mark::Image(wm),
            limits: Limits::default(),
        }
    }
}

/// The image formats stamped, recognised by their signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// PNG (signature `89 50 4E 47 0D 0A 1A 0A`).
    Png,
    /// JPEG/JFIF/EXIF (starts with an SOI marker followed by another marker: `FF D8 FF`).
    Jpeg,
}

const PNG_MAGIC: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];
const EXPECTED: &str = "a PNG or JPEG image";

/// Recognise a PNG or JPEG from its first bytes; `None` for anything else.
pub fn detect(head: &[u8]) -> Option<ImageKind> {
    if head.starts_with(&PNG_MAGIC) {
        Some(ImageKind::Png)
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageKind::Jpeg)
    } else {
        None
    }
}

impl ImageKind {
    fn what(self) -> &'static str {
        match self {
            ImageKind::Png => "PNG image",
            ImageKind::Jpeg => "JPEG image",
        }
    }

    fn format(self) -> ImageFormat {
        match self {
            ImageKind::Png => ImageFormat::Png,
            ImageKind::Jpeg => ImageFormat::Jpeg,
        }
    }
}

/// Stamp `stamp` on the PNG or JPEG `bytes` and return the image in the same format.
///
/// Options are checked before the image is decoded, and the image's size before its pixels are.
pub fn stamp(bytes: &[u8], stamp: &ImageStamp<'_>) -> Result<Vec<u8>> {
    let kind = detect(bytes).ok_or_else(|| Error::WrongFormat {
        expected: EXPECTED,
        found: detect_format(bytes),
    })?;
    let text = match &stamp.mark {
        Mark::Text(wm) => Some(check_text(wm)?),
        Mark::Image(wm) => {
            check_picture(wm)?;
            None
        }
    };
    let (mut img, icc) = decode(bytes, kind, &stamp.limits)?;
    let (width, height) = (img.width(), img.height());
    let (layer, centres) = match (&stamp.mark, text) {
        (Mark::Text(wm), Some(glyphs)) => text_layer(wm, &glyphs, width, height),
        (Mark::Image(wm), _) => picture_layer(wm, width, height, &stamp.limits)?,
        (Mark::Text(_), None) => return Err(Error::InvalidOptions("text watermark without text")),
    };
    apply(&mut img, &layer, &centres, kind)?;
    encode(&img, kind, icc)
}

// ---------------------------------------------------------------------------------------------
// Decoding and encoding

fn image_error(kind: ImageKind, e: ImageError) -> Error {
    match e {
        ImageError::Limits(l) => Error::malformed(kind.what(), format!("too large to process: {l}")),
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::malformed(kind.what(), "truncated")
        }
        other => Error::malformed(kind.what(), other.to_string()),
    }
}

fn too_large(kind: ImageKind, width: u64, height: u64, limits: &Limits) -> Error {
    Error::malformed(
        kind.what(),
        format!(
            "too large to process: {width}×{height} pixels (the limit is {}×{} pixels and {} MiB decoded)",
            limits.max_width,
            limits.max_height,
            limits.max_alloc / (1024 * 1024)
        ),
    )
}

/// Width and height from a PNG's IHDR chunk, which the PNG specification places first.
fn png_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let ihdr = bytes.get(8..24)?;
    if ihdr.get(4..8)? != b"IHDR" {
        return None;
    }
    let be = |s: Option<&[u8]>| s.and_then(|s| <[u8; 4]>::try_from(s).ok()).map(u32::from_be_bytes);
    Some((be(ihdr.get(8..12))?, be(ihdr.get(12..16))?))
}

/// Decode with limits: the claimed size is checked from the header before any pixel buffer
/// exists. Returns the pixels (EXIF orientation applied) and the ICC profile.
fn decode(bytes: &[u8], kind: ImageKind, limits: &Limits) -> Result<(DynamicImage, Option<Vec<u8>>)> {
    // A PNG's size is readable without a decoder: refuse a bomb before anything is set up.
    if kind == ImageKind::Png
        && let Some((w, h)) = png_dimensions(bytes)
        && (w > limits.max_width || h > limits.max_height)
    {
        return Err(too_large(kind, w.into(), h.into(), limits));
    }
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_width);
    image_limits.max_image_height = Some(limits.max_height);
    image_limits.max_alloc = Some(limits.max_alloc);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.format());
    reader.limits(image_limits);
    let mut decoder = reader.into_decoder().map_err(|e| image_error(kind, e))?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(Error::malformed(kind.what(), "the image has no pixels"));
    }
    if w > limits.max_width || h > limits.max_height || decoder.total_bytes() > limits.max_alloc {
        return Err(too_large(kind, w.into(), h.into(), limits));
    }
    // A broken ICC or EXIF block is no reason to refuse the picture: it is dropped.
    let icc = decoder.icc_profile().ok().flatten();
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| image_error(kind, e))?;
    img.apply_orientation(orientation);
    Ok((img, icc))
}

fn encode(img: &DynamicImage, kind: ImageKind, icc: Option<Vec<u8>>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let (w, h, color) = (img.width(), img.height(), img.color().into());
    let result = match kind {
        ImageKind::Png => {
            let mut enc = PngEncoder::new_with_quality(&mut out, CompressionType::Default, PngFilter::Adaptive);
            if let Some(icc) = icc {
                // An encoder that cannot carry the profile still writes the pixels.
                let _ = enc.set_icc_profile(icc);
            }
            enc.write_image(img.as_bytes(), w, h, color)
        }
        ImageKind::Jpeg => {
            let mut enc = JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
            if let Some(icc) = icc {
                let _ = enc.set_icc_profile(icc);
            }
            enc.write_image(img.as_bytes(), w, h, color)
        }
    };
    result.map_err(|e| Error::Io(std::io::Error::other(format!("encoding the {}: {e}", kind.what()))))?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Options

/// Scripts written right to left, which need bidirectional layout and (Arabic) shaping.
fn is_rtl(c: char) -> bool {
    matches!(u32::from(c), 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF | 0x10800..=0x10FFF | 0x1E800..=0x1EFFF)
}

/// Validate text options and map the text to glyphs of the built-in font.
fn check_text(wm: &TextWatermark<'_>) -> Result<Vec<GlyphId>> {
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
    let font = builtin_font()?;
    wm.text
        .chars()
        .map(|c| {
            if c.is_control() {
                return Err(Error::InvalidOptions(
                    "watermark text must be one line without control characters",
                ));
            }
            if is_rtl(c) {
                return Err(Error::InvalidOptions(
                    "right-to-left scripts are not supported in image watermarks yet",
                ));
            }
            match font.glyph_id(c) {
                GlyphId(0) => Err(Error::InvalidOptions(
                    "the watermark text has characters the built-in font cannot draw",
                )),
                id => Ok(id),
            }
        })
        .collect()
}

fn check_picture(wm: &ImageWatermark<'_>) -> Result<()> {
    if !(0.0..=1.0).contains(&wm.opacity) {
        return Err(Error::InvalidOptions("opacity must be between 0 and 1"));
    }
    if !(0.01..=1.0).contains(&wm.scale) {
        return Err(Error::InvalidOptions("picture scale must be between 0.01 and 1"));
    }
    if detect(wm.png).is_none() {
        return Err(Error::InvalidOptions(
            "the watermark picture must be a PNG or JPEG image",
        ));
    }
    if wm.png.len() > super::MAX_IMAGE_BYTES {
        return Err(Error::malformed("watermark picture", "larger than 20 MiB"));
    }
    Ok(())
}

/// Bounds on the watermark picture itself: the same as on PDF pages (a logo, not a photo),
/// whatever the bounds on the image being stamped.
fn picture_limits(image_limits: &Limits) -> Limits {
    Limits {
        max_width: super::MAX_IMAGE_SIDE.min(image_limits.max_width),
        max_height: super::MAX_IMAGE_SIDE.min(image_limits.max_height),
        max_alloc: (96 * 1024 * 1024).min(image_limits.max_alloc),
    }
}

fn builtin_font() -> Result<FontRef<'static>> {
    FontRef::try_from_slice(DEJAVU_SANS).map_err(|_| Error::malformed("built-in font", "unreadable"))
}

// ---------------------------------------------------------------------------------------------
// Layers: what is drawn, as patches placed relative to a centre point

/// Centre points of a tiled watermark: a brick-wall grid (alternate rows shifted by half a
/// step) turned by `angle` so rows run along the text, with one copy on the image's centre,
/// reaching `reach` beyond every edge so copies cut by the edge fill the borders and corners.
/// Too many copies are spread out rather than leaving part of the image bare.
fn tile_centres(width: u32, height: u32, step: (f32, f32), reach: f32, angle: f32) -> Vec<(i64, i64)> {
    let (w, h) = (width as f32, height as f32);
    let (cx, cy) = (w / 2.0, h / 2.0);
    let (sin, cos) = angle.sin_cos();
    // Every point of the image plus its margin is within this distance of the centre.
    let radius = (cx * cx + cy * cy).sqrt() + reach;
    let (mut du, mut dv) = (step.0.max(1.0), step.1.max(1.0));
    let inside = |x: f32, y: f32| x >= -reach && y >= -reach && x <= w + reach && y <= h + reach;
    let grid = |du: f32, dv: f32| {
        let along = (radius / du).ceil() as i64 + 1;
        let across = (radius / dv).ceil() as i64;
        (-across..=across).flat_map(move |r| {
            let shift = if r % 2 != 0 { du / 2.0 } else { 0.0 };
            (-along..=along).map(move |c| {
                let (u, v) = (c as f32 * du + shift, r as f32 * dv);
                // Along the baseline (cos, -sin) on screen, across it (sin, cos).
                (cx + u * cos + v * sin, cy - u * sin + v * cos)
            })
        })
    };
    // Spread out first by the area estimate, then until the exact count fits.
    let estimate = (w + 2.0 * reach) * (h + 2.0 * reach) / (du * dv);
    if estimate > MAX_TILES as f32 {
        let k = (estimate / MAX_TILES as f32).sqrt();
        du *= k;
        dv *= k;
    }
    while grid(du, dv).filter(|&(x, y)| inside(x, y)).count() > MAX_TILES {
        du *= 1.1;
        dv *= 1.1;
    }
    grid(du, dv)
        .filter(|&(x, y)| inside(x, y))
        .map(|(x, y)| (x.round() as i64, y.round() as i64))
        .collect()
}

fn centre(width: u32, height: u32) -> Vec<(i64, i64)> {
    vec![(i64::from(width / 2), i64::from(height / 2))]
}

/// The text as one patch per visible glyph, rotated by transforming the outlines before they
/// are rasterised (sharper than rotating a bitmap), and the centre points to stamp it at.
fn text_layer(wm: &TextWatermark<'_>, glyphs: &[GlyphId], width: u32, height: u32) -> (Layer, Vec<(i64, i64)>) {
    let layer = |patches| Layer {
        paint: Paint::Solid {
            rgb: wm.rgb,
            opacity: wm.opacity,
        },
        patches,
    };
    let Ok(font) = builtin_font() else {
        return (layer(Vec::new()), Vec::new());
    };
    let upem = font.units_per_em().unwrap_or(2048.0);
    // Pen positions along the baseline, in font units, with kerning.
    let mut pen = 0.0f32;
    let mut placed = Vec::with_capacity(glyphs.len());
    let mut prev: Option<GlyphId> = None;
    for &id in glyphs {
        if let Some(p) = prev {
            pen += font.kern_unscaled(p, id);
        }
        placed.push((id, pen));
        pen += font.h_advance_unscaled(id);
        prev = Some(id);
    }
    let em_width = (pen / upem).max(0.01);

    let (w, h) = (width as f32, height as f32);
    let theta = wm.rotation_deg.to_radians();
    let (sin, cos) = theta.sin_cos();
    let mut size = wm.font_size * w.min(h) / REFERENCE_PAGE_PT;
    if wm.tiled {
        // One copy need not be longer than the image.
        size = size.min(w.max(h) / em_width);
    } else {
        // The rotated box of the line (its length × one em) must fit in 90 % of the image.
        let box_w = em_width * cos.abs() + sin.abs();
        let box_h = em_width * sin.abs() + cos.abs();
        size = size.min(0.9 * w / box_w).min(0.9 * h / box_h);
    }
    let size = size.clamp(1.0, MAX_FONT_PX);
    let s = size / upem;
    let half = em_width * size / 2.0;
    let lift = TEXT_CENTRE_EM * size;
    // Font units (y up) to pixels from the centre (y down), turned counter-clockwise on screen.
    let to_px = |pen: f32, p: Point| {
        let u = (pen + p.x) * s - half;
        let v = p.y * s - lift;
        point(u * cos - v * sin, -(u * sin + v * cos))
    };
    let patches = placed
        .into_iter()
        .filter_map(|(id, pen)| {
            let outline = font.outline(id)?;
            glyph_patch(&outline.curves, |p| to_px(pen, p))
        })
        .collect();
    let centres = if wm.tiled {
        let line = em_width * size;
        tile_centres(width, height, (line + 1.5 * size, 2.5 * size), line.max(size), theta)
    } else {
        centre(width, height)
    };
    (layer(patches), centres)
}

/// Rasterise one glyph's outline, mapped through `map`, into a coverage patch.
fn glyph_patch(curves: &[OutlineCurve], map: impl Fn(Point) -> Point) -> Option<Patch> {
    let curves: Vec<OutlineCurve> = curves
        .iter()
        .map(|c| match *c {
            OutlineCurve::Line(a, b) => OutlineCurve::Line(map(a), map(b)),
            OutlineCurve::Quad(a, b, c) => OutlineCurve::Quad(map(a), map(b), map(c)),
            OutlineCurve::Cubic(a, b, c, d) => OutlineCurve::Cubic(map(a), map(b), map(c), map(d)),
        })
        .collect();
    let points = curves.iter().flat_map(|c| match *c {
        OutlineCurve::Line(a, b) => vec![a, b],
        OutlineCurve::Quad(a, b, c) => vec![a, b, c],
        OutlineCurve::Cubic(a, b, c, d) => vec![a, b, c, d],
    });
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in points {
        x0 = x0.min(p.x);
        y0 = y0.min(p.y);
        x1 = x1.max(p.x);
        y1 = y1.max(p.y);
    }
    if !(x0 <= x1 && y0 <= y1) {
        return None;
    }
    let (x0, y0) = (x0.floor(), y0.floor());
    let width = (x1 - x0).ceil() as usize + 1;
    let height = (y1 - y0).ceil() as usize + 1;
    let offset = point(-x0, -y0);
    let mut r = Rasterizer::new(width, height);
    for c in curves {
        match c {
            OutlineCurve::Line(a, b) => r.draw_line(a + offset, b + offset),
            OutlineCurve::Quad(a, b, c) => r.draw_quad(a + offset, b + offset, c + offset),
            OutlineCurve::Cubic(a, b, c, d) => r.draw_cubic(a + offset, b + offset, c + offset, d + offset),
        }
    }
    let mut data = vec![0u8; width * height];
    r.for_each_pixel(|i, a| {
        if let Some(px) = data.get_mut(i) {
            *px = (a.min(1.0) * 255.0).round() as u8;
        }
    });
    Some(Patch {
        x: x0 as i64,
        y: y0 as i64,
        width,
        height,
        data,
    })
}

/// The picture, premultiplied and scaled, as one patch centred on its point.
fn picture_layer(
    wm: &ImageWatermark<'_>,
    width: u32,
    height: u32,
    limits: &Limits,
) -> Result<(Layer, Vec<(i64, i64)>)> {
    let kind = detect(wm.png).ok_or(Error::InvalidOptions(
        "the watermark picture must be a PNG or JPEG image",
    ))?;
    let (pic, _) = decode(wm.png, kind, &picture_limits(limits)).map_err(|e| match e {
        Error::Malformed { detail, .. } => Error::malformed("watermark picture", detail),
        other => other,
    })?;
    let (pw, ph) = (pic.width() as f32, pic.height() as f32);
    let longest = wm.scale * width.min(height) as f32;
    let k = longest / pw.max(ph);
    let tw = ((pw * k).round() as u32).max(1);
    let th = ((ph * k).round() as u32).max(1);
    // Resizing works on a float copy of (new width × old height) pixels, 16 bytes each.
    let work = u64::from(tw) * u64::from(pic.height().max(th)) * 16
        + u64::from(tw) * u64::from(th) * 4
        // The RGBA copy made below.
        + u64::from(pic.width()) * u64::from(pic.height()) * 4;
    if work > limits.max_alloc {
        return Err(Error::malformed(
            "watermark picture",
            "too large to scale within the memory limit; use a smaller picture or scale",
        ));
    }
    let mut rgba = pic.into_rgba8();
    drop_colour_under_zero_alpha(&mut rgba);
    // Premultiplied before scaling, so transparent pixels do not bleed their colour into the
    // edges (the classic dark fringe around a resized logo).
    for px in rgba.pixels_mut() {
        let a = u16::from(px.0[3]);
        for c in px.0.iter_mut().take(3) {
            *c = ((u16::from(*c) * a + 127) / 255) as u8;
        }
    }
    let scaled = if (tw, th) == rgba.dimensions() {
        rgba
    } else {
        image::imageops::resize(&rgba, tw, th, image::imageops::FilterType::Triangle)
    };
    let patch = Patch {
        x: -i64::from(tw / 2),
        y: -i64::from(th / 2),
        width: tw as usize,
        height: th as usize,
        data: scaled.into_raw(),
    };
    let centres = if wm.tiled {
        let (fw, fh) = (tw as f32, th as f32);
        tile_centres(width, height, (fw * 1.5, fh * 1.5), fw.max(fh), 0.0)
    } else {
        centre(width, height)
    };
    Ok((
        Layer {
            paint: Paint::Premultiplied { opacity: wm.opacity },
            patches: vec![patch],
        },
        centres,
    ))
}

/// Fully transparent pixels carry no colour; clearing it keeps premultiplication exact.
fn drop_colour_under_zero_alpha(img: &mut image::RgbaImage) {
    for px in img.pixels_mut() {
        if px.0[3] == 0 {
            px.0 = [0, 0, 0, 0];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_signature() {
        assert_eq!(detect(&PNG_MAGIC), Some(ImageKind::Png));
        assert_eq!(detect(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(ImageKind::Jpeg));
        assert_eq!(detect(b"%PDF-1.7"), None);
        assert_eq!(detect(b""), None);
    }

    #[test]
    fn text_is_checked() {
        let ok = TextWatermark {
            text: "Vertraulich – Κρυφό – Секрет",
            ..TextWatermark::default()
        };
        assert_eq!(check_text(&ok).unwrap().len(), ok.text.chars().count());
        for text in ["", "  ", "two\nlines", "日本", "שלום", "سلام"] {
            let bad = TextWatermark { text, ..ok.clone() };
            assert!(matches!(check_text(&bad), Err(Error::InvalidOptions(_))), "{text:?}");
        }
    }

    #[test]
    fn glyph_patches_cover_the_text() {
        let wm = TextWatermark {
            text: "HI",
            font_size: 100.0,
            rotation_deg: 0.0,
            ..TextWatermark::default()
        };
        let glyphs = check_text(&wm).unwrap();
        let (layer, centres) = text_layer(&wm, &glyphs, 612, 612);
        assert_eq!(centres, vec![(306, 306)]);
        assert_eq!(layer.patches.len(), 2);
        // Unrotated capitals (0.73 em tall in DejaVu Sans) with the baseline 0.35 em below
        // the centre: from about 38 px above it to 35 px below.
        for p in &layer.patches {
            assert!((-40..=-36).contains(&p.y), "{}", p.y);
            assert!((34..=37).contains(&(p.y + p.height as i64)), "{} {}", p.y, p.height);
            assert!(p.data.iter().filter(|&&c| c == 255).count() > 500);
        }
        // "H" left of the centre, "I" right of it.
        assert!(layer.patches[0].x < 0 && layer.patches[1].x > 0);
    }

    #[test]
    fn tiles_are_capped() {
        let c = tile_centres(10_000, 10_000, (1.0, 1.0), 1.0, 0.3);
        assert!(c.len() <= MAX_TILES && c.len() > MAX_TILES / 3, "{}", c.len());
        // Spread over the whole image, not bunched in a corner, one copy on the centre.
        assert!(c.iter().any(|&(x, y)| x > 9_000 && y > 9_000));
        assert!(c.iter().any(|&(x, y)| x < 1_000 && y < 1_000));
        assert!(c.contains(&(5_000, 5_000)));
        let few = tile_centres(600, 400, (200.0, 100.0), 50.0, 0.0);
        assert!(few.contains(&(300, 200)) && few.contains(&(400, 100)) && few.contains(&(100, 200)));
    }

    #[test]
    fn png_header_dimensions() {
        let mut png = PNG_MAGIC.to_vec();
        png.extend_from_slice(&13u32.to_be_bytes());
        png.extend_from_slice(b"IHDR");
        png.extend_from_slice(&100_000u32.to_be_bytes());
        png.extend_from_slice(&7u32.to_be_bytes());
        assert_eq!(png_dimensions(&png), Some((100_000, 7)));
        assert_eq!(png_dimensions(&PNG_MAGIC), None);
    }
}
