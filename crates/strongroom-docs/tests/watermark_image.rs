//! Watermarks on PNG and JPEG images. Python Pillow is the independent oracle: it opens our
//! output and checks size, mode and pixels against the input (unchanged far from a single
//! watermark, changed towards the watermark colour under it, corners covered when tiled). It
//! SKIPs loudly when missing (fails under `STRONGROOM_REQUIRE_ORACLES=1`); install it with
//! `.ci/install.d/35-images.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::io::Cursor;
use std::process::Command;

use image::{DynamicImage, GenericImageView, ImageFormat};
use strongroom_docs::Error;
use strongroom_docs::watermark::TextWatermark;
use strongroom_docs::watermark::image::{self as wimage, ImageStamp, ImageWatermark, Limits};

// ---------------------------------------------------------------------------------------------
// Test images, made here so no binaries are committed

/// A busy but smooth RGB picture: gradients plus a checker, so changes are easy to see and
/// JPEG stays well-behaved.
fn picture(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        let checker = if (x / 40 + y / 40) % 2 == 0 { 30 } else { 0 };
        image::Rgb([
            (40 + x * 150 / w) as u8 + checker,
            (60 + y * 140 / h) as u8,
            (200 - (x + y) * 100 / (w + h)) as u8,
        ])
    })
}

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn png(img: DynamicImage) -> Vec<u8> {
    encode(&img, ImageFormat::Png)
}

fn decode(bytes: &[u8]) -> DynamicImage {
    image::load_from_memory(bytes).unwrap()
}

fn text(text: &str, rgb: [f32; 3], rotation_deg: f32, tiled: bool) -> ImageStamp<'_> {
    ImageStamp::text(TextWatermark {
        text,
        font_size: 48.0,
        rgb,
        opacity: 0.6,
        rotation_deg,
        tiled,
    })
}

/// A 200×200 logo: an opaque red disc on a fully transparent background.
fn red_disc() -> Vec<u8> {
    png(DynamicImage::ImageRgba8(image::RgbaImage::from_fn(200, 200, |x, y| {
        let (dx, dy) = (x as i32 - 100, y as i32 - 100);
        if dx * dx + dy * dy < 90 * 90 {
            image::Rgba([255, 0, 0, 255])
        } else {
            image::Rgba([0, 255, 0, 0])
        }
    })))
}

// ---------------------------------------------------------------------------------------------
// The Pillow oracle

const ORACLE: &str = r#"
import json, sys
from PIL import Image

before, after, spec = Image.open(sys.argv[1]), Image.open(sys.argv[2]), json.loads(sys.argv[3])
after.load()
res = {"format": after.format, "mode": after.mode, "size": list(after.size),
       "mode_before": before.mode, "size_before": list(before.size)}
b, a = before.convert("RGBA"), after.convert("RGBA")
target = tuple(spec["towards"])

def pixels(box):
    x0, y0, x1, y1 = box
    for y in range(y0, y1):
        for x in range(x0, x1):
            yield b.getpixel((x, y)), a.getpixel((x, y))

def dist(p, q):
    return sum((p[i] - q[i]) ** 2 for i in range(len(q))) ** 0.5

res["far"] = []
for box in spec["far"]:
    diffs = [max(abs(p[i] - q[i]) for i in range(4)) for p, q in pixels(box)]
    res["far"].append({"max": max(diffs), "mean": sum(diffs) / len(diffs)})
res["near"] = []
for box in spec["near"]:
    n = changed = towards = 0
    for p, q in pixels(box):
        n += 1
        if max(abs(p[i] - q[i]) for i in range(3)) > 24:
            changed += 1
            if dist(q[:len(target)], target) < dist(p[:len(target)], target):
                towards += 1
    res["near"].append({"changed": changed / n, "towards": towards / max(changed, 1)})
print(json.dumps(res))
"#;

fn pillow() -> bool {
    common::oracle_available(
        "Python Pillow (.ci/install.d/35-images.sh)",
        Command::new("python3").args(["-c", "import PIL.Image"]),
    )
}

/// Regions as (x0, y0, x1, y1), exclusive ends.
type Boxes<'a> = &'a [[u32; 4]];

/// Run the oracle on `before` → `after`: `far` regions must be unchanged (within `tolerance`),
/// `near` regions changed, mostly towards `towards` (RGB, or grey as a one-element list).
/// Returns Pillow's report.
fn oracle(before: &[u8], after: &[u8], far: Boxes<'_>, near: Boxes<'_>, towards: &[u8]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let (b, a) = (
        common::write_file(dir.path(), "before", before),
        common::write_file(dir.path(), "after", after),
    );
    let spec = serde_json::json!({"far": far, "near": near, "towards": towards});
    let (ok, out, err) = common::run(
        Command::new("python3")
            .args(["-c", ORACLE])
            .arg(&b)
            .arg(&a)
            .arg(spec.to_string()),
    );
    assert!(ok, "Pillow could not read our output: {err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["size"], report["size_before"], "{report}");
    assert_eq!(report["mode"], report["mode_before"], "{report}");
    report
}

fn assert_far_unchanged(report: &serde_json::Value, max: u64, mean: f64) {
    for (i, r) in report["far"].as_array().unwrap().iter().enumerate() {
        assert!(
            r["max"].as_u64().unwrap() <= max && r["mean"].as_f64().unwrap() <= mean,
            "far region {i} changed: {r}"
        );
    }
}

fn assert_near_marked(report: &serde_json::Value, changed: f64) {
    for (i, r) in report["near"].as_array().unwrap().iter().enumerate() {
        assert!(
            r["changed"].as_f64().unwrap() >= changed,
            "region {i} barely changed: {r}"
        );
        assert!(
            r["towards"].as_f64().unwrap() >= 0.95,
            "region {i} not towards the colour: {r}"
        );
    }
}

/// Top and bottom quarters: a horizontal single watermark (48 pt of a 612 pt short side, so
/// about 8 % of the height) stays in the middle half.
fn bands(w: u32, h: u32) -> [[u32; 4]; 2] {
    [[0, 0, w, h / 4], [0, h - h / 4, w, h]]
}

/// Corners of 15 % × 15 %.
fn corners(w: u32, h: u32) -> [[u32; 4]; 4] {
    let (cw, ch) = (w * 15 / 100, h * 15 / 100);
    [
        [0, 0, cw, ch],
        [w - cw, 0, w, ch],
        [0, h - ch, cw, h],
        [w - cw, h - ch, w, h],
    ]
}

// ---------------------------------------------------------------------------------------------
// Text watermarks

#[test]
fn png_rgb_single_text_changes_only_the_middle() {
    let (w, h) = (600, 400);
    let input = png(DynamicImage::ImageRgb8(picture(w, h)));
    let out = wimage::stamp(&input, &text("CONFIDENTIAL", [1.0, 0.0, 0.0], 0.0, false)).unwrap();
    let (before, after) = (decode(&input), decode(&out));
    assert_eq!(image::guess_format(&out).unwrap(), ImageFormat::Png);
    assert_eq!(after.color(), image::ColorType::Rgb8);
    assert_eq!(after.dimensions(), (w, h));
    // In Rust: a band through the centre changed, the rest is identical.
    let changed: Vec<(u32, u32)> = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .filter(|&(x, y)| before.get_pixel(x, y) != after.get_pixel(x, y))
        .collect();
    assert!(changed.len() > 2000, "{}", changed.len());
    assert!(changed.iter().all(|&(_, y)| y > h / 4 && y < h - h / 4));
    let (min_x, max_x) = (
        changed.iter().map(|p| p.0).min().unwrap(),
        changed.iter().map(|p| p.0).max().unwrap(),
    );
    assert!(
        min_x > 20 && max_x < w - 20 && (min_x + max_x).abs_diff(w) < 30,
        "{min_x}..{max_x}"
    );

    if !pillow() {
        return;
    }
    // Text band: the letters sit around the centre line (baseline 0.35 em below it).
    let near = [[w / 2 - 120, h / 2 - 10, w / 2 + 120, h / 2 + 6]];
    let report = oracle(&input, &out, &bands(w, h), &near, &[255, 0, 0]);
    assert_eq!(report["format"], "PNG");
    assert_far_unchanged(&report, 0, 0.0);
    assert_near_marked(&report, 0.15);
}

#[test]
fn png_with_alpha_and_grey_keep_their_mode() {
    let (w, h) = (500, 300);
    let base = picture(w, h);
    let rgba = image::RgbaImage::from_fn(w, h, |x, y| {
        let p = base.get_pixel(x, y).0;
        image::Rgba([p[0], p[1], p[2], if x < w / 2 { 255 } else { 0 }])
    });
    let grey = DynamicImage::ImageRgb8(picture(w, h)).into_luma8();
    for (input, mode, towards) in [
        (png(DynamicImage::ImageRgba8(rgba)), "RGBA", vec![0u8, 0, 255]),
        (png(DynamicImage::ImageLuma8(grey)), "L", vec![0u8]),
    ] {
        let out = wimage::stamp(&input, &text("Draft ΑΒΓ Жж", [0.0, 0.0, 1.0], 0.0, false)).unwrap();
        let after = decode(&out);
        assert_eq!(after.color(), decode(&input).color());
        // Where the input was fully transparent the mark is drawn at its own opacity.
        if mode == "RGBA" {
            let a = after.as_rgba8().unwrap();
            let marked = (w / 2..w)
                .flat_map(|x| (0..h).map(move |y| (x, y)))
                .map(|(x, y)| a.get_pixel(x, y).0);
            let max_alpha = marked.map(|p| p[3]).max().unwrap();
            assert_eq!(max_alpha, (0.6f32 * 255.0).round() as u8);
        }
        if !pillow() {
            continue;
        }
        let near = [[w / 2 - 100, h / 2 - 10, w / 2 + 100, h / 2 + 6]];
        let report = oracle(&input, &out, &bands(w, h), &near, &towards);
        assert_eq!(report["mode"], mode);
        assert_far_unchanged(&report, 0, 0.0);
        assert_near_marked(&report, 0.1);
    }
}

#[test]
fn sixteen_bit_png_stays_sixteen_bit() {
    let img = image::ImageBuffer::<image::Luma<u16>, _>::from_fn(64, 64, |x, y| image::Luma([(x * 1000 + y) as u16]));
    let input = png(DynamicImage::ImageLuma16(img.clone()));
    let out = wimage::stamp(&input, &text("X", [1.0, 1.0, 1.0], 0.0, false)).unwrap();
    let after = decode(&out);
    let after = after.as_luma16().unwrap();
    assert_eq!(after.get_pixel(0, 0), img.get_pixel(0, 0));
    assert_eq!(after.get_pixel(63, 63), img.get_pixel(63, 63));
    assert!(after.get_pixel(32, 30).0[0] > img.get_pixel(32, 30).0[0]);
}

#[test]
fn jpeg_single_text_within_tolerance_elsewhere() {
    let (w, h) = (640, 480);
    let input = encode(&DynamicImage::ImageRgb8(picture(w, h)), ImageFormat::Jpeg);
    let out = wimage::stamp(&input, &text("CONFIDENTIAL", [0.0, 0.0, 0.0], 0.0, false)).unwrap();
    assert_eq!(image::guess_format(&out).unwrap(), ImageFormat::Jpeg);
    let after = decode(&out);
    assert_eq!((after.dimensions(), after.color()), ((w, h), image::ColorType::Rgb8));
    if !pillow() {
        return;
    }
    let near = [[w / 2 - 150, h / 2 - 12, w / 2 + 150, h / 2 + 7]];
    let report = oracle(&input, &out, &bands(w, h), &near, &[0, 0, 0]);
    assert_eq!(report["format"], "JPEG");
    // Re-encoding at quality 90 moves pixels by a few levels, no more.
    assert_far_unchanged(&report, 24, 2.0);
    assert_near_marked(&report, 0.15);
}

#[test]
fn tiled_text_covers_the_corners() {
    let (w, h) = (600, 400);
    let input = png(DynamicImage::ImageRgb8(picture(w, h)));
    let stamp = ImageStamp::text(TextWatermark {
        text: "COPY",
        font_size: 60.0,
        rgb: [1.0, 1.0, 0.0],
        opacity: 0.7,
        rotation_deg: 30.0,
        tiled: true,
    });
    let out = wimage::stamp(&input, &stamp).unwrap();
    let (before, after) = (decode(&input), decode(&out));
    for [x0, y0, x1, y1] in corners(w, h) {
        let n = (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|&(x, y)| before.get_pixel(x, y) != after.get_pixel(x, y))
            .count();
        assert!(n > 100, "corner at ({x0}, {y0}) untouched: {n}");
    }
    if !pillow() {
        return;
    }
    // Letters are thin strokes with gaps between copies: a few percent of each corner.
    let report = oracle(&input, &out, &[], &corners(w, h), &[255, 255, 0]);
    assert_near_marked(&report, 0.01);
}

#[test]
fn a_single_watermark_is_shrunk_to_fit() {
    let (w, h) = (300, 200);
    let input = png(DynamicImage::ImageRgb8(picture(w, h)));
    let long = "A very long watermark line that could never fit at this size";
    let stamp = ImageStamp::text(TextWatermark {
        font_size: 400.0,
        rotation_deg: 45.0,
        ..TextWatermark {
            text: long,
            ..TextWatermark::default()
        }
    });
    let out = wimage::stamp(&input, &stamp).unwrap();
    let (before, after) = (decode(&input), decode(&out));
    // Fits in the middle 90 %: the 5 % border is untouched.
    for y in 0..h {
        for x in 0..w {
            if x < w / 20 || x >= w - w / 20 || y < h / 20 || y >= h - h / 20 {
                assert_eq!(before.get_pixel(x, y), after.get_pixel(x, y), "({x}, {y})");
            }
        }
    }
    assert_ne!(before, after);
}

// ---------------------------------------------------------------------------------------------
// Picture watermarks

#[test]
fn picture_watermark_single_and_tiled() {
    let (w, h) = (600, 400);
    let input = png(DynamicImage::ImageRgb8(picture(w, h)));
    let logo = red_disc();
    let single = ImageStamp::image(ImageWatermark {
        png: &logo,
        opacity: 0.8,
        scale: 0.5,
        tiled: false,
    });
    let out = wimage::stamp(&input, &single).unwrap();
    let (before, after) = (decode(&input), decode(&out));
    // The disc is 200 px → 0.5 × 400 = 200 px wide: 180 px across, centred. Its transparent
    // surroundings leave the picture as it was.
    assert_eq!(
        before.get_pixel(w / 2 - 95, h / 2 - 95),
        after.get_pixel(w / 2 - 95, h / 2 - 95)
    );
    assert_eq!(before.get_pixel(0, 0), after.get_pixel(0, 0));
    let c = after.get_pixel(w / 2, h / 2).0;
    let b = before.get_pixel(w / 2, h / 2).0;
    // 80 % red over the picture.
    assert_eq!(c[0], (255.0 * 0.8 + f32::from(b[0]) * 0.2).round() as u8);
    assert_eq!(c[1], (f32::from(b[1]) * 0.2).round() as u8);

    let tiled = ImageStamp::image(ImageWatermark {
        png: &logo,
        opacity: 0.8,
        scale: 0.2,
        tiled: true,
    });
    let tiled_out = wimage::stamp(&input, &tiled).unwrap();
    if !pillow() {
        return;
    }
    let near = [[w / 2 - 60, h / 2 - 60, w / 2 + 60, h / 2 + 60]];
    let far = [[0, 0, w / 2 - 100, h], [w / 2 + 100, 0, w, h]];
    let report = oracle(&input, &out, &far, &near, &[255, 0, 0]);
    assert_far_unchanged(&report, 0, 0.0);
    assert_near_marked(&report, 0.9);
    let report = oracle(&input, &tiled_out, &[], &corners(w, h), &[255, 0, 0]);
    assert_near_marked(&report, 0.03);
}

// ---------------------------------------------------------------------------------------------
// Hostile and bad input

/// A PNG chunk: length, type, data, CRC.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
    out
}

/// A syntactically valid grey PNG claiming `w`×`h` pixels, with a tiny IDAT.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut out = vec![0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];
    out.extend(chunk(b"IHDR", &ihdr));
    out.extend(chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]));
    out.extend(chunk(b"IEND", &[]));
    out
}

fn too_large(result: Result<Vec<u8>, Error>) -> String {
    match result {
        Err(Error::Malformed { detail, .. }) if detail.contains("too large") => detail,
        other => panic!("expected a too-large error, got {other:?}"),
    }
}

#[test]
fn decompression_bombs_are_refused_before_allocating() {
    let stamp = text("X", [0.0, 0.0, 0.0], 0.0, false);
    let detail = too_large(wimage::stamp(&png_claiming(100_000, 100_000), &stamp));
    assert!(detail.contains("100000×100000"), "{detail}");
    // Only the header: the size is refused before any decoder runs.
    too_large(wimage::stamp(&png_claiming(100_000, 100_000)[..33], &stamp));
    // Within the side limits but over the allocation limit.
    let small_budget = ImageStamp {
        limits: Limits {
            max_alloc: 1024 * 1024,
            ..Limits::default()
        },
        ..stamp.clone()
    };
    too_large(wimage::stamp(&png_claiming(2000, 2000), &small_budget));
    // A JPEG whose frame header claims 60000×60000.
    let mut jpeg = encode(&DynamicImage::ImageRgb8(picture(16, 16)), ImageFormat::Jpeg);
    let sof = jpeg.windows(2).position(|m| m == [0xFF, 0xC0]).unwrap();
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    too_large(wimage::stamp(&jpeg, &stamp));
    // The logo of a picture watermark is bounded too.
    let bomb = png_claiming(100_000, 10);
    let input = png(DynamicImage::ImageRgb8(picture(50, 50)));
    let mark = ImageStamp::image(ImageWatermark {
        png: &bomb,
        ..ImageWatermark::default()
    });
    too_large(wimage::stamp(&input, &mark));
}

#[test]
fn corrupt_and_foreign_input_get_clear_errors() {
    let stamp = text("X", [0.0, 0.0, 0.0], 0.0, false);
    let good_png = png(DynamicImage::ImageRgb8(picture(120, 80)));
    let good_jpeg = encode(&DynamicImage::ImageRgb8(picture(120, 80)), ImageFormat::Jpeg);
    for cut in [9, 20, 40, good_png.len() / 2, good_png.len() - 13] {
        let r = wimage::stamp(&good_png[..cut], &stamp);
        assert!(matches!(r, Err(Error::Malformed { .. })), "PNG cut at {cut}: {r:?}");
    }
    for cut in [3, 10, 100, good_jpeg.len() / 3] {
        let r = wimage::stamp(&good_jpeg[..cut], &stamp);
        assert!(matches!(r, Err(Error::Malformed { .. })), "JPEG cut at {cut}: {r:?}");
    }
    // Flipped bytes inside the compressed data: refused or decoded, never a panic.
    for at in (60..good_png.len() - 20).step_by(97) {
        let mut bad = good_png.clone();
        bad[at] ^= 0x5A;
        let _ = wimage::stamp(&bad, &stamp);
    }
    assert!(matches!(
        wimage::stamp(&common::pdf_with_text(&["x"]), &stamp),
        Err(Error::WrongFormat {
            found: strongroom_docs::Format::Pdf,
            ..
        })
    ));
    assert!(matches!(
        wimage::stamp(b"GIF89a", &stamp),
        Err(Error::WrongFormat { .. })
    ));
    // Bad options are refused before the image is looked at.
    for bad in [
        text("", [0.0; 3], 0.0, false),
        text("日本語", [0.0; 3], 0.0, false),
        text("X", [2.0, 0.0, 0.0], 0.0, false),
        text("X", [0.0; 3], f32::INFINITY, false),
        ImageStamp::image(ImageWatermark {
            png: b"not a picture",
            ..ImageWatermark::default()
        }),
        ImageStamp::image(ImageWatermark {
            png: &good_png,
            scale: 0.0,
            ..ImageWatermark::default()
        }),
    ] {
        assert!(matches!(wimage::stamp(b"GIF89a", &bad), Err(Error::WrongFormat { .. })));
        assert!(
            matches!(wimage::stamp(&good_png, &bad), Err(Error::InvalidOptions(_))),
            "{bad:?}"
        );
    }
}
