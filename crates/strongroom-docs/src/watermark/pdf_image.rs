//! Image watermarks on PDF pages: a PNG or JPEG (a logo, a "COPY" stamp) drawn over every page.
//!
//! The picture is decoded here, with limits, and stored as one image XObject per document that
//! every page shows: a 300-page report grows by one image, not by 300. An alpha channel
//! becomes a soft mask (`/SMask`), so a transparent logo stays transparent; the overall
//! opacity comes from the same `ExtGState` mechanism as text watermarks.
//!
//! Decoding goes through `image::Limits`: a small file that claims to be a 100,000-pixel-wide
//! image (a decompression bomb) is refused before its pixels are allocated.

use std::io::Cursor;

use image::{DynamicImage, ImageError, ImageFormat, Limits};
use lopdf::{Document, Object, ObjectId, Stream, dictionary};

use crate::{Error, Result};

/// Largest watermark image file accepted.
pub const MAX_IMAGE_BYTES: usize = 20 * 1024 * 1024;
/// Largest width and height, in pixels. Far more than a watermark needs; bounds the decoded
/// size to 64 MiB (4096 × 4096 × RGBA).
pub const MAX_IMAGE_SIDE: u32 = 4096;
/// What the decoder may allocate at once: the decoded pixels plus its working buffers.
const MAX_DECODE_ALLOC: u64 = 96 * 1024 * 1024;

/// An image watermark for PDF pages.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageWatermark<'a> {
    /// The picture: PNG (an alpha channel is honoured) or JPEG, recognised by content.
    /// At most [`MAX_IMAGE_BYTES`] and [`MAX_IMAGE_SIDE`] pixels each way.
    pub png: &'a [u8],
    /// Size relative to the visible page (0.01–1): the picture's longer side becomes `scale`
    /// times the page's shorter side, aspect ratio kept (the same rule as image watermarks on
    /// pictures, so one setting looks alike on a PDF and on a photo). It always fits.
    pub scale: f32,
    /// Opacity, 0.0 (invisible) – 1.0 (opaque), multiplied with the image's own alpha.
    pub opacity: f32,
    /// Repeat the image over the whole page instead of once in the centre.
    pub tiled: bool,
}

impl Default for ImageWatermark<'_> {
    fn default() -> Self {
        ImageWatermark {
            png: &[],
            scale: 0.5,
            opacity: 0.3,
            tiled: false,
        }
    }
}

/// A decoded watermark image, ready to be written as XObjects.
#[derive(Debug)]
pub(crate) struct Decoded {
    width: u32,
    height: u32,
    /// `DeviceGray` (1 byte per pixel) rather than `DeviceRGB` (3).
    gray: bool,
    pixels: Vec<u8>,
    /// One byte per pixel, `None` when the image is fully opaque.
    alpha: Option<Vec<u8>>,
}

impl Decoded {
    /// Height over width.
    pub(crate) fn aspect(&self) -> f32 {
        self.height as f32 / self.width.max(1) as f32
    }
}

/// Check the options and decode the image.
pub(crate) fn decode(wm: &ImageWatermark<'_>) -> Result<Decoded> {
    if !(0.01..=1.0).contains(&wm.scale) {
        return Err(Error::InvalidOptions("image scale must be between 0.01 and 1"));
    }
    if !(0.0..=1.0).contains(&wm.opacity) {
        return Err(Error::InvalidOptions("opacity must be between 0 and 1"));
    }
    if wm.png.is_empty() {
        return Err(Error::InvalidOptions("the watermark image is empty"));
    }
    if wm.png.len() > MAX_IMAGE_BYTES {
        return Err(Error::InvalidOptions("the watermark image file is larger than 20 MiB"));
    }
    let format = match image::guess_format(wm.png) {
        Ok(f @ (ImageFormat::Png | ImageFormat::Jpeg)) => f,
        _ => return Err(Error::InvalidOptions("the watermark image must be a PNG or JPEG file")),
    };
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    let mut reader = image::ImageReader::with_format(Cursor::new(wm.png), format);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| match e {
        ImageError::Limits(_) => Error::InvalidOptions("the watermark image is too large: at most 4096 × 4096 pixels"),
        other => Error::malformed("watermark image", other.to_string()),
    })?;
    let (width, height) = (img.width(), img.height());
    if width == 0 || height == 0 {
        return Err(Error::malformed("watermark image", "no pixels"));
    }
    let gray = !img.color().has_color();
    let (pixels, alpha) = match (gray, img.color().has_alpha()) {
        (true, true) => split_alpha(img.into_luma_alpha8().into_raw(), 1),
        (false, true) => split_alpha(img.into_rgba8().into_raw(), 3),
        (true, false) => (img.into_luma8().into_raw(), None),
        (false, false) => (DynamicImage::into_rgb8(img).into_raw(), None),
    };
    Ok(Decoded {
        width,
        height,
        gray,
        pixels,
        alpha,
    })
}

/// Separate interleaved colour+alpha samples; the alpha plane is dropped when fully opaque.
fn split_alpha(raw: Vec<u8>, colour: usize) -> (Vec<u8>, Option<Vec<u8>>) {
    let step = colour + 1;
    let mut pixels = Vec::with_capacity(raw.len() / step * colour);
    let mut alpha = Vec::with_capacity(raw.len() / step);
    for px in raw.chunks_exact(step) {
        let (c, a) = px.split_at(colour);
        pixels.extend_from_slice(c);
        alpha.extend_from_slice(a);
    }
    let opaque = alpha.iter().all(|&a| a == 255);
    (pixels, (!opaque).then_some(alpha))
}

fn image_stream(width: u32, height: u32, colour_space: &str, data: Vec<u8>) -> Result<Stream> {
    let mut s = Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image",
            "Width" => i64::from(width), "Height" => i64::from(height),
            "ColorSpace" => colour_space, "BitsPerComponent" => 8,
            // Smooth when scaled up: a watermark is often a small logo on a large page.
            "Interpolate" => true,
        },
        data,
    );
    s.compress().map_err(|e| Error::Pdf(e.to_string()))?;
    Ok(s)
}

/// Add the image (and its soft mask) to `doc`, once; every page refers to the same object.
pub(crate) fn embed(doc: &mut Document, img: &Decoded) -> Result<ObjectId> {
    let space = if img.gray { "DeviceGray" } else { "DeviceRGB" };
    let mut main = image_stream(img.width, img.height, space, img.pixels.clone())?;
    if let Some(alpha) = &img.alpha {
        let mask = doc.add_object(image_stream(img.width, img.height, "DeviceGray", alpha.clone())?);
        main.dict.set("SMask", Object::Reference(mask));
    }
    Ok(doc.add_object(main))
}

/// Content drawing the image XObject `name` once in the centre of `crop` (or tiled over it),
/// upright on screen for a page turned by `rotate` (0, 90, 180 or 270) degrees.
pub(crate) fn draw(
    wm: &ImageWatermark<'_>,
    aspect: f32,
    crop: [f32; 4],
    rotate: i64,
    name: &str,
    tiles: usize,
) -> String {
    let [x0, y0, x1, y1] = crop;
    let quarter = rotate.rem_euclid(360) / 90;
    let turned = quarter % 2 == 1;
    let longest = wm.scale * (x1 - x0).min(y1 - y0);
    let (w, h) = if aspect <= 1.0 {
        (longest, longest * aspect)
    } else {
        (longest / aspect, longest)
    };
    // Turned counter-clockwise in user space by the page's rotation, it reads upright on screen.
    let (cos, sin) = match quarter {
        1 => (0.0, 1.0),
        2 => (-1.0, 0.0),
        3 => (0.0, -1.0),
        _ => (1.0, 0.0),
    };
    // The image's footprint in user space.
    let (fw, fh) = if turned { (h, w) } else { (w, h) };
    let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let centres: Vec<(f32, f32)> = if wm.tiled {
        // A gap of half the image between neighbours, the grid centred on the page.
        // Columns and rows either side of the centre that reach past the edges.
        // Saturating: a degenerate box (zero width, huge extent) must not overflow.
        let half = |extent: f32, step: f32| ((extent / step / 2.0).ceil() as usize).saturating_add(1);
        let count = |h: usize| h.saturating_mul(2).saturating_add(1);
        let (mut dx, mut dy) = (fw * 1.5, fh * 1.5);
        // Too many: spread them out rather than leave part of the page bare.
        for _ in 0..200 {
            if count(half(x1 - x0, dx)).saturating_mul(count(half(y1 - y0, dy))) <= tiles {
                break;
            }
            dx *= 1.1;
            dy *= 1.1;
        }
        let cols = i32::try_from(half(x1 - x0, dx)).unwrap_or(0);
        let rows = i32::try_from(half(y1 - y0, dy)).unwrap_or(0);
        (-rows..=rows)
            .flat_map(|r| (-cols..=cols).map(move |c| (cx + c as f32 * dx, cy + r as f32 * dy)))
            .take(tiles)
            .collect()
    } else {
        vec![(cx, cy)]
    };
    let mut s = String::new();
    for (px, py) in centres {
        let tx = px - (w / 2.0 * cos - h / 2.0 * sin);
        let ty = py - (w / 2.0 * sin + h / 2.0 * cos);
        s.push_str(&format!(
            "q {:.4} {:.4} {:.4} {:.4} {tx:.3} {ty:.3} cm /{name} Do Q\n",
            w * cos,
            w * sin,
            -h * sin,
            h * cos
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32, rgba: [u8; 4]) -> Vec<u8> {
        let img = image::RgbaImage::from_pixel(w, h, image::Rgba(rgba));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn wm(png: &[u8]) -> ImageWatermark<'_> {
        ImageWatermark {
            png,
            ..ImageWatermark::default()
        }
    }

    #[test]
    fn alpha_becomes_a_mask_only_when_needed() {
        let d = decode(&wm(&png(3, 2, [255, 0, 0, 128]))).unwrap();
        assert_eq!((d.width, d.height, d.gray), (3, 2, false));
        assert_eq!(d.pixels, [255, 0, 0].repeat(6));
        assert_eq!(d.alpha, Some(vec![128; 6]));
        let opaque = decode(&wm(&png(2, 2, [0, 0, 255, 255]))).unwrap();
        assert_eq!(opaque.alpha, None);
    }

    #[test]
    fn grey_stays_grey_and_jpeg_is_read() {
        let grey = image::GrayImage::from_pixel(3, 3, image::Luma([90]));
        let mut out = Cursor::new(Vec::new());
        grey.write_to(&mut out, ImageFormat::Png).unwrap();
        let d = decode(&wm(out.get_ref())).unwrap();
        assert!(d.gray && d.alpha.is_none());
        assert_eq!(d.pixels, vec![90; 9]);
        let rgb = image::RgbImage::from_pixel(16, 8, image::Rgb([200, 30, 30]));
        let mut jpeg = Cursor::new(Vec::new());
        rgb.write_to(&mut jpeg, ImageFormat::Jpeg).unwrap();
        let d = decode(&wm(jpeg.get_ref())).unwrap();
        assert_eq!((d.width, d.height, d.gray, d.alpha.is_none()), (16, 8, false, true));
        assert!(d.pixels.first().is_some_and(|&r| r > 150), "{:?}", &d.pixels[..3]);
        assert!((d.aspect() - 0.5).abs() < 1e-6);
    }

    #[test]
    fn refuses_bad_images_and_options() {
        let good = png(2, 2, [0, 0, 0, 255]);
        assert!(matches!(decode(&wm(b"GIF89a")), Err(Error::InvalidOptions(_))));
        assert!(matches!(decode(&wm(&[])), Err(Error::InvalidOptions(_))));
        assert!(matches!(decode(&wm(&good[..20])), Err(Error::Malformed { .. })));
        for bad in [
            ImageWatermark {
                scale: 0.0,
                ..wm(&good)
            },
            ImageWatermark {
                scale: 1.5,
                ..wm(&good)
            },
            ImageWatermark {
                opacity: -0.1,
                ..wm(&good)
            },
        ] {
            assert!(matches!(decode(&bad), Err(Error::InvalidOptions(_))), "{bad:?}");
        }
    }

    #[test]
    fn centred_and_fitted() {
        // 2:1 image at half the width of a 600 × 800 box: 300 × 150, centred on (300, 400).
        let s = draw(&wm(&[]), 0.5, [0.0, 0.0, 600.0, 800.0], 0, "Im", 400);
        assert_eq!(s, "q 300.0000 0.0000 -0.0000 150.0000 150.000 325.000 cm /Im Do Q\n");
        // Turned page: still 300 × 150 on screen, so turned 90° in user space, and centred.
        let s = draw(&wm(&[]), 0.5, [0.0, 0.0, 600.0, 800.0], 90, "Im", 400);
        assert_eq!(s, "q 0.0000 300.0000 -150.0000 0.0000 375.000 250.000 cm /Im Do Q\n");
        // A tall image: its height is the longer side.
        let s = draw(&wm(&[]), 4.0, [0.0, 0.0, 600.0, 800.0], 0, "Im", 400);
        assert!(
            s.starts_with("q 75.0000 0.0000 -0.0000 300.0000 262.500 250.000 cm"),
            "{s}"
        );
    }

    #[test]
    fn tiles_are_bounded() {
        let tiny = ImageWatermark {
            scale: 0.01,
            tiled: true,
            ..wm(&[])
        };
        let s = draw(&tiny, 1.0, [0.0, 0.0, 600.0, 800.0], 0, "Im", 400);
        let n = s.lines().count();
        assert!((100..=400).contains(&n), "{n}");
    }
}
