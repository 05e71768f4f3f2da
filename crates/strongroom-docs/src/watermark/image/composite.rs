//! Painting a watermark layer over decoded pixels, in their own colour type and depth, so a
//! PNG keeps its format and every pixel outside the watermark keeps its exact value.

use image::DynamicImage;

use super::ImageKind;
use crate::{Error, Result};

/// What a layer's patches hold.
pub(super) enum Paint {
    /// One-byte coverage per pixel, painted in a solid colour at an opacity.
    Solid { rgb: [f32; 3], opacity: f32 },
    /// Premultiplied RGBA, eight bits per channel, scaled by an opacity.
    Premultiplied { opacity: f32 },
}

/// A rectangle of watermark pixels whose top-left corner is at (`x`, `y`) from a centre point.
pub(super) struct Patch {
    pub(super) x: i64,
    pub(super) y: i64,
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) data: Vec<u8>,
}

pub(super) struct Layer {
    pub(super) paint: Paint,
    pub(super) patches: Vec<Patch>,
}

/// A channel value of a decoded image, as a fraction of full intensity.
trait Channel: Copy {
    fn unit(self) -> f32;
    fn from_unit(v: f32) -> Self;
}

impl Channel for u8 {
    fn unit(self) -> f32 {
        f32::from(self) / 255.0
    }
    fn from_unit(v: f32) -> Self {
        (v.clamp(0.0, 1.0) * 255.0).round() as u8
    }
}

impl Channel for u16 {
    fn unit(self) -> f32 {
        f32::from(self) / 65535.0
    }
    fn from_unit(v: f32) -> Self {
        (v.clamp(0.0, 1.0) * 65535.0).round() as u16
    }
}

/// Grey level of a colour, with the Rec. 709 weights the `image` crate uses for RGB → luma.
fn luma(c: [f32; 3]) -> f32 {
    0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
}

pub(super) fn apply(img: &mut DynamicImage, layer: &Layer, centres: &[(i64, i64)], kind: ImageKind) -> Result<()> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    match img {
        DynamicImage::ImageLuma8(b) => composite::<u8>(b, w, h, 1, layer, centres),
        DynamicImage::ImageLumaA8(b) => composite::<u8>(b, w, h, 2, layer, centres),
        DynamicImage::ImageRgb8(b) => composite::<u8>(b, w, h, 3, layer, centres),
        DynamicImage::ImageRgba8(b) => composite::<u8>(b, w, h, 4, layer, centres),
        DynamicImage::ImageLuma16(b) => composite::<u16>(b, w, h, 1, layer, centres),
        DynamicImage::ImageLumaA16(b) => composite::<u16>(b, w, h, 2, layer, centres),
        DynamicImage::ImageRgb16(b) => composite::<u16>(b, w, h, 3, layer, centres),
        DynamicImage::ImageRgba16(b) => composite::<u16>(b, w, h, 4, layer, centres),
        _ => return Err(Error::malformed(kind.what(), "unsupported pixel format")),
    }
    Ok(())
}

/// Paint `layer` at every centre over `data` (`channels` interleaved samples per pixel, rows
/// of `width` pixels), with the "over" operator on straight (non-premultiplied) alpha.
fn composite<T: Channel>(
    data: &mut [T],
    width: usize,
    height: usize,
    channels: usize,
    layer: &Layer,
    centres: &[(i64, i64)],
) {
    let (iw, ih) = (width as i64, height as i64);
    for &(cx, cy) in centres {
        for p in &layer.patches {
            let (px0, py0) = (cx + p.x, cy + p.y);
            let xs = px0.max(0)..(px0 + p.width as i64).min(iw);
            let ys = py0.max(0)..(py0 + p.height as i64).min(ih);
            for y in ys {
                let sy = (y - py0) as usize;
                let row_start = y as usize * width * channels;
                for x in xs.clone() {
                    let sx = (x - px0) as usize;
                    let src = p.data_at(&layer.paint, sy * p.width + sx);
                    let Some((pc, a)) = src else { continue };
                    let at = row_start + x as usize * channels;
                    if let Some(px) = data.get_mut(at..at + channels) {
                        blend(px, pc, a);
                    }
                }
            }
        }
    }
}

impl Patch {
    /// The premultiplied colour and alpha of pixel `i` of the patch, `None` when transparent.
    fn data_at(&self, paint: &Paint, i: usize) -> Option<([f32; 3], f32)> {
        match *paint {
            Paint::Solid { rgb, opacity } => {
                let cover = *self.data.get(i)?;
                if cover == 0 {
                    return None;
                }
                let a = f32::from(cover) / 255.0 * opacity;
                Some(([rgb[0] * a, rgb[1] * a, rgb[2] * a], a))
            }
            Paint::Premultiplied { opacity } => {
                let px = self.data.get(i * 4..i * 4 + 4)?;
                let [r, g, b, a] = <[u8; 4]>::try_from(px).ok()?;
                if a == 0 {
                    return None;
                }
                let k = opacity / 255.0;
                Some(([f32::from(r) * k, f32::from(g) * k, f32::from(b) * k], f32::from(a) * k))
            }
        }
    }
}

/// Source (premultiplied colour `pc`, alpha `a`) over one destination pixel.
fn blend<T: Channel>(px: &mut [T], pc: [f32; 3], a: f32) {
    if a <= 0.0 {
        return;
    }
    let grey = [luma(pc)];
    let (colour, alpha): (&mut [T], Option<&mut T>) = match px.len() {
        1 | 3 => (px, None),
        _ => match px.split_last_mut() {
            Some((last, rest)) => (rest, Some(last)),
            None => return,
        },
    };
    let src: &[f32] = if colour.len() == 1 { &grey } else { &pc };
    match alpha {
        None => {
            for (d, s) in colour.iter_mut().zip(src) {
                *d = T::from_unit(s + d.unit() * (1.0 - a));
            }
        }
        Some(da_ref) => {
            let da = da_ref.unit();
            let out_a = a + da * (1.0 - a);
            if out_a <= 0.0 {
                return;
            }
            for (d, s) in colour.iter_mut().zip(src) {
                *d = T::from_unit((s + d.unit() * da * (1.0 - a)) / out_a);
            }
            *da_ref = T::from_unit(out_a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blends_over() {
        // Half-transparent white over black, no alpha channel: mid grey.
        let mut px = [0u8, 0, 0];
        blend(&mut px, [0.5, 0.5, 0.5], 0.5);
        assert_eq!(px, [128, 128, 128]);
        // Over a fully transparent pixel: the source colour, un-premultiplied, at its alpha.
        let mut px = [10u8, 20, 30, 0];
        blend(&mut px, [0.25, 0.0, 0.0], 0.25);
        assert_eq!(px, [255, 0, 0, 64]);
        // Grey destination gets the luma of the colour.
        let mut px = [0u16];
        blend(&mut px, [0.0, 1.0, 0.0], 1.0);
        assert_eq!(px, [(0.7152f32 * 65535.0).round() as u16]);
        // Zero alpha leaves the pixel alone.
        let mut px = [1u8, 2];
        blend(&mut px, [1.0, 1.0, 1.0], 0.0);
        assert_eq!(px, [1, 2]);
    }
}
