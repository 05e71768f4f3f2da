//! PDF watermarks: every page stamped, existing content streams untouched, rotated pages and
//! CropBox respected, bad options refused; text in non-Latin scripts through the embedded font,
//! and image watermarks. Poppler (`pdftotext`, `pdffonts`, `pdfimages`, `pdftoppm`) and
//! `qpdf --check` are the oracles; each SKIPs loudly when missing (fails under
//! `STRONGROOM_REQUIRE_ORACLES=1`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::process::Command;

use lopdf::{Document, Object, dictionary};
use strongroom_docs::Error;
use strongroom_docs::watermark::{self, ImageWatermark, PdfStamp, TextWatermark};

/// A PDF of `n` pages; page i shows "Page i". Page 2 (if any) is rotated 90°, page 3 has a
/// CropBox, and the Resources live on the Pages node (inherited) as many producers write them.
fn multi_page(n: usize) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica" });
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    let mut kids = Vec::new();
    for i in 1..=n {
        let content = format!("BT /F1 18 Tf 72 700 Td (Page {i}) Tj ET q 2 0 0 2 0 0 cm");
        let c = doc.add_object(lopdf::Stream::new(dictionary! {}, content.into_bytes()));
        let mut page = dictionary! { "Type" => "Page", "Parent" => pages_id, "Contents" => c };
        if i == 2 {
            page.set("Rotate", 90);
        }
        if i == 3 {
            page.set("CropBox", vec![100.into(), 100.into(), 400.into(), 500.into()]);
        }
        kids.push(Object::Reference(doc.add_object(page)));
    }
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => n as i64, "Resources" => resources,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

fn wm(text: &str) -> TextWatermark<'_> {
    TextWatermark {
        text,
        ..TextWatermark::default()
    }
}

/// (content stream ids of each page, their bytes)
fn page_streams(pdf: &[u8]) -> Vec<Vec<(lopdf::ObjectId, Vec<u8>)>> {
    let doc = Document::load_mem(pdf).unwrap();
    doc.get_pages()
        .values()
        .map(|&p| {
            let dict = doc.get_dictionary(p).unwrap();
            let ids: Vec<lopdf::ObjectId> = match dict.get(b"Contents").unwrap() {
                Object::Reference(id) => vec![*id],
                Object::Array(a) => a.iter().map(|o| o.as_reference().unwrap()).collect(),
                other => panic!("{other:?}"),
            };
            ids.into_iter()
                .map(|id| {
                    let s = doc.get_object(id).unwrap().as_stream().unwrap();
                    (id, s.decompressed_content().unwrap_or_else(|_| s.content.clone()))
                })
                .collect()
        })
        .collect()
}

#[test]
fn every_page_is_stamped_and_old_streams_are_untouched() {
    let plain = multi_page(3);
    let out = watermark::pdf(&plain, &wm("CONFIDENTIAL (draft)")).unwrap();
    let before = page_streams(&plain);
    let after = page_streams(&out);
    assert_eq!(after.len(), 3);
    for (b, a) in before.iter().zip(after.iter()) {
        // [shared "q"] + the original streams (same ids, same bytes) + [the watermark].
        assert_eq!(a.len(), b.len() + 2);
        assert_eq!(&a[1..=b.len()], &b[..], "original content must be kept as is");
        assert_eq!(a[0].1, b"q\n");
        let stamp = String::from_utf8(a.last().unwrap().1.clone()).unwrap();
        assert!(stamp.starts_with("Q\nq\n"), "{stamp}");
        // Shown as 2-byte CIDs of the embedded font: 20 characters, 18 distinct.
        let shown = stamp.lines().find(|l| l.ends_with(" Tj")).unwrap();
        let hex = shown.split('<').nth(1).unwrap().trim_end_matches("> Tj");
        assert_eq!(hex.len(), 20 * 4, "{shown}");
        assert!(hex.starts_with("0001000200030004"), "{shown}");
        assert!(stamp.contains(" gs\n"), "{stamp}");
    }
    // Opacity through an ExtGState, Helvetica with WinAnsi.
    let doc = Document::load_mem(&out).unwrap();
    let page1 = *doc.get_pages().get(&1).unwrap();
    let res = doc
        .get_dictionary(page1)
        .unwrap()
        .get(b"Resources")
        .unwrap()
        .as_dict()
        .unwrap();
    assert!(
        res.get(b"Font").unwrap().as_dict().unwrap().has(b"F1"),
        "existing fonts kept"
    );
    let gs_ref = res
        .get(b"ExtGState")
        .unwrap()
        .as_dict()
        .unwrap()
        .get(b"SRWmGS0")
        .unwrap();
    let gs = doc.get_dictionary(gs_ref.as_reference().unwrap()).unwrap();
    assert_eq!(gs.get(b"ca").unwrap().as_float().unwrap(), 0.3);
    // The font: Type0 / Identity-H over an embedded CIDFontType2 subset, with a ToUnicode map.
    let font_ref = res
        .get(b"Font")
        .unwrap()
        .as_dict()
        .unwrap()
        .get(b"SRWmF0")
        .unwrap()
        .as_reference()
        .unwrap();
    let font = doc.get_dictionary(font_ref).unwrap();
    assert_eq!(font.get(b"Subtype").unwrap().as_name().unwrap(), b"Type0");
    assert_eq!(font.get(b"Encoding").unwrap().as_name().unwrap(), b"Identity-H");
    let base = String::from_utf8(font.get(b"BaseFont").unwrap().as_name().unwrap().to_vec()).unwrap();
    assert!(base.len() == 17 && base.ends_with("+DejaVuSans"), "{base}");
    let tu = doc
        .get_object(font.get(b"ToUnicode").unwrap().as_reference().unwrap())
        .unwrap();
    let cmap = String::from_utf8(tu.as_stream().unwrap().decompressed_content().unwrap()).unwrap();
    assert!(cmap.contains("<0001> <0043>"), "C is the first CID: {cmap}");
    let cid = doc
        .get_dictionary(
            font.get(b"DescendantFonts").unwrap().as_array().unwrap()[0]
                .as_reference()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(cid.get(b"Subtype").unwrap().as_name().unwrap(), b"CIDFontType2");
    let widths = cid.get(b"W").unwrap().as_array().unwrap()[1].as_array().unwrap();
    assert_eq!(widths.len(), 19, ".notdef and the 18 distinct characters");
    let descriptor = doc
        .get_dictionary(cid.get(b"FontDescriptor").unwrap().as_reference().unwrap())
        .unwrap();
    let file = doc
        .get_object(descriptor.get(b"FontFile2").unwrap().as_reference().unwrap())
        .unwrap()
        .as_stream()
        .unwrap();
    let subset = file.decompressed_content().unwrap();
    assert!(subset.len() < 30_000, "a subset, not the 750 KB font: {}", subset.len());
    // Fonts are shared: every page refers to the same font object.
    for &p in doc.get_pages().values() {
        let r = doc
            .get_dictionary(p)
            .unwrap()
            .get(b"Resources")
            .unwrap()
            .as_dict()
            .unwrap();
        let f = r.get(b"Font").unwrap().as_dict().unwrap().get(b"SRWmF0").unwrap();
        assert_eq!(f.as_reference().unwrap(), font_ref);
    }
    // The text is common::pdf_text-extractable on each page.
    let text = common::pdf_text(&out);
    assert_eq!(text.matches("CONFIDENTIAL").count(), 3, "{text}");
}

#[test]
fn rotation_and_cropbox_are_respected() {
    let out = watermark::pdf(
        &multi_page(3),
        &TextWatermark {
            rotation_deg: 0.0,
            ..wm("X")
        },
    )
    .unwrap();
    let after = page_streams(&out);
    let stamp = |i: usize| String::from_utf8(after[i].last().unwrap().1.clone()).unwrap();
    // Page 1: unrotated, horizontal text: Tm starts "1.00000 0.00000".
    assert!(stamp(0).contains("1.00000 0.00000 -0.00000 1.00000"), "{}", stamp(0));
    // Page 2 (/Rotate 90): the text is turned 90° in user space so it reads horizontally.
    assert!(stamp(1).contains("-0.00000 1.00000 -1.00000 -0.00000"), "{}", stamp(1));
    // Page 3: clipped to and centred on its CropBox [100 100 400 500], centre (250, 300).
    assert!(
        stamp(2).contains("100.000 100.000 300.000 400.000 re W n"),
        "{}",
        stamp(2)
    );
    let tm_line = stamp(2).lines().find(|l| l.ends_with("Tj")).unwrap().to_owned();
    let nums: Vec<f32> = tm_line.split(' ').take(6).map(|n| n.parse().unwrap()).collect();
    // DejaVu Sans "X" advances 1400/2048 em (0.684 in the PDF's /W array).
    assert!((nums[4] - (250.0 - 0.684 * 48.0 / 2.0)).abs() < 0.05, "{tm_line}");
    assert!((nums[5] - (300.0 - 0.35 * 48.0)).abs() < 0.5, "{tm_line}");
}

#[test]
fn a_long_single_watermark_is_shrunk_to_fit() {
    let long = "A very long watermark line that would never fit on one page at 48 points";
    let out = watermark::pdf(
        &multi_page(1),
        &TextWatermark {
            rotation_deg: 0.0,
            ..wm(long)
        },
    )
    .unwrap();
    let stamp = String::from_utf8(page_streams(&out)[0].last().unwrap().1.clone()).unwrap();
    let tf = stamp.lines().find(|l| l.ends_with(" Tf")).unwrap();
    let size: f32 = tf.split(' ').nth(1).unwrap().parse().unwrap();
    let tm = stamp.lines().find(|l| l.ends_with("Tj")).unwrap();
    let x: f32 = tm.split(' ').nth(4).unwrap().parse().unwrap();
    assert!(size < 20.0, "{tf}");
    // Starts inside the 595 pt wide page, with the margin on both sides.
    assert!(x > 20.0 && x < 40.0, "{tm}");
}

#[test]
fn tiling_covers_the_page_within_bounds() {
    let out = watermark::pdf(
        &multi_page(1),
        &TextWatermark {
            tiled: true,
            font_size: 12.0,
            ..wm("tile")
        },
    )
    .unwrap();
    let stamp = String::from_utf8(page_streams(&out)[0].last().unwrap().1.clone()).unwrap();
    let n = stamp.matches(" Tj").count();
    assert!((20..=450).contains(&n), "{n} tiles");
    // Tiny text on a page is capped, not exploded.
    let out = watermark::pdf(
        &multi_page(1),
        &TextWatermark {
            tiled: true,
            font_size: 1.0,
            ..wm("x")
        },
    )
    .unwrap();
    let stamp = String::from_utf8(page_streams(&out)[0].last().unwrap().1.clone()).unwrap();
    assert!(stamp.matches(" Tj").count() <= 450);
}

#[test]
fn refuses_bad_input() {
    let plain = multi_page(1);
    assert!(matches!(
        watermark::pdf(&plain, &wm("日本語")),
        Err(Error::InvalidOptions(_))
    ));
    assert!(matches!(watermark::pdf(&plain, &wm("")), Err(Error::InvalidOptions(_))));
    assert!(matches!(
        watermark::pdf(b"not a pdf", &wm("x")),
        Err(Error::WrongFormat { .. })
    ));
    assert!(watermark::pdf(&plain[..plain.len() / 3], &wm("x")).is_err());
    let enc = strongroom_docs::pdf::encrypt(
        &plain,
        &strongroom_docs::pdf::PdfProtection {
            user_password: "pw",
            owner_password: None,
            permissions: strongroom_docs::pdf::PdfPermissions::ALL,
        },
    )
    .unwrap();
    assert!(matches!(watermark::pdf(&enc, &wm("x")), Err(Error::AlreadyProtected)));
}

#[test]
fn pdftotext_sees_the_watermark_on_every_page() {
    if !common::oracle_available("pdftotext (poppler-utils)", Command::new("pdftotext").arg("-v")) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for rotation in [0.0, 45.0] {
        let out = watermark::pdf(
            &multi_page(3),
            &TextWatermark {
                rotation_deg: rotation,
                ..wm("Strongroom Copy é")
            },
        )
        .unwrap();
        let f = common::write_file(dir.path(), "w.pdf", &out);
        for page in 1..=3 {
            let range = ["-f".to_owned(), page.to_string(), "-l".to_owned(), page.to_string()];
            if rotation == 0.0 {
                // Horizontal on screen (page 2 has /Rotate 90): the words come out as words.
                let (ok, text, err) = common::run(Command::new("pdftotext").args(&range).arg(&f).arg("-"));
                assert!(ok, "{err}");
                let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
                assert!(flat.contains("Strongroom Copy é"), "page {page}: {text:?}");
                assert!(flat.contains(&format!("Page {page}")), "original text kept: {text:?}");
            } else {
                // Diagonal text: poppler emits it a glyph per line; -raw keeps stream order.
                let (ok, text, err) = common::run(Command::new("pdftotext").arg("-raw").args(&range).arg(&f).arg("-"));
                assert!(ok, "{err}");
                let glyphs: String = text.split_whitespace().collect();
                assert!(glyphs.contains("StrongroomCopyé"), "page {page}: {text:?}");
            }
        }
    }
}

// ------------------------------------------------------------------ scripts beyond Latin-1

const GREEK_CYRILLIC: &str = "Конфиденциально — Εμπιστευτικό";

fn poppler() -> bool {
    common::oracle_available("pdftotext (poppler-utils)", Command::new("pdftotext").arg("-v"))
}

fn qpdf_check(pdf: &std::path::Path) {
    if !common::oracle_available("qpdf", Command::new("qpdf").arg("--version")) {
        return;
    }
    let (ok, out, err) = common::run(Command::new("qpdf").arg("--check").arg(pdf));
    assert!(ok, "qpdf --check failed: {out}{err}");
    assert!(out.contains("No syntax or stream encoding errors"), "{out}");
}

#[test]
fn cyrillic_and_greek_are_embedded_and_extractable_on_every_page() {
    let out = watermark::pdf(
        &multi_page(3),
        &TextWatermark {
            rotation_deg: 0.0,
            ..wm(GREEK_CYRILLIC)
        },
    )
    .unwrap();
    // Our own extraction (lopdf reads the ToUnicode map) sees it three times.
    let text = common::pdf_text(&out);
    assert_eq!(text.matches("Конфиденциально").count(), 3, "{text}");
    let dir = tempfile::tempdir().unwrap();
    let f = common::write_file(dir.path(), "cyr.pdf", &out);
    qpdf_check(&f);
    if !poppler() {
        return;
    }
    // Every page, including the rotated one (2) and the cropped one (3).
    for page in 1..=3 {
        let range = ["-f".to_owned(), page.to_string(), "-l".to_owned(), page.to_string()];
        let (ok, text, err) = common::run(Command::new("pdftotext").args(&range).arg(&f).arg("-"));
        assert!(ok, "{err}");
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(GREEK_CYRILLIC), "page {page}: {text:?}");
        assert!(flat.contains(&format!("Page {page}")), "original text kept: {text:?}");
    }
    // Embedded, subset, with a ToUnicode map: "NAME+DejaVuSans CID TrueType Identity-H yes yes yes".
    let (ok, fonts, err) = common::run(Command::new("pdffonts").arg(&f));
    assert!(ok, "{err}");
    let line = fonts
        .lines()
        .find(|l| l.contains("+DejaVuSans"))
        .unwrap_or_else(|| panic!("{fonts}"));
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert!(line.contains("CID TrueType") && line.contains("Identity-H"), "{line}");
    let flags = &cols[cols.len() - 5..cols.len() - 2];
    assert_eq!(flags, ["yes", "yes", "yes"], "emb sub uni: {line}");
    assert_eq!(
        fonts.matches("+DejaVuSans").count(),
        1,
        "one font for all pages: {fonts}"
    );
}

#[test]
fn diagonal_and_tiled_non_latin_text_survives_qpdf_and_pdftotext() {
    let out = watermark::pdf(
        &multi_page(2),
        &TextWatermark {
            tiled: true,
            font_size: 18.0,
            ..wm("Ωμέγα Щит")
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let f = common::write_file(dir.path(), "tiled.pdf", &out);
    qpdf_check(&f);
    if !poppler() {
        return;
    }
    let (ok, text, err) = common::run(Command::new("pdftotext").arg("-raw").arg(&f).arg("-"));
    assert!(ok, "{err}");
    let glyphs: String = text.split_whitespace().collect();
    assert!(glyphs.matches("ΩμέγαЩит").count() >= 20, "{text:?}");
}

#[test]
fn characters_the_font_lacks_are_refused_by_name() {
    let plain = multi_page(1);
    for (text, bad) in [("Secret 機密", '機'), ("שלום", 'ש'), ("two\nlines", '\n')] {
        let r = watermark::pdf(&plain, &wm(text));
        assert!(matches!(r, Err(Error::InvalidOptions(_))), "{text}: {r:?}");
        assert_eq!(watermark::first_unsupported(text).map(|(c, _)| c), Some(bad), "{text}");
    }
    let msg = watermark::pdf(&plain, &wm("日本")).unwrap_err().to_string();
    assert!(msg.contains("DejaVu Sans"), "{msg}");
    assert_eq!(
        watermark::first_unsupported("日本"),
        Some(('日', watermark::Unsupported::NoGlyph))
    );
    assert_eq!(watermark::first_unsupported(GREEK_CYRILLIC), None);
}

// ------------------------------------------------------------------------ image watermarks

/// A `w`×`h` PNG: the left half transparent, the right half opaque `rgb`.
fn half_transparent_png(w: u32, h: u32, rgb: [u8; 3]) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, _| {
        let a = if x < w / 2 { 0 } else { 255 };
        image::Rgba([rgb[0], rgb[1], rgb[2], a])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn solid_png(w: u32, h: u32, rgb: [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb(rgb));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Render the visible area (CropBox) of one page with pdftoppm at a low resolution:
/// (width, height, RGB bytes).
fn render(pdf: &std::path::Path, page: u32) -> (usize, usize, Vec<u8>) {
    let prefix = pdf.with_extension(format!("p{page}"));
    let (ok, _, err) = common::run(
        Command::new("pdftoppm")
            .args([
                "-r",
                "20",
                "-cropbox",
                "-f",
                &page.to_string(),
                "-l",
                &page.to_string(),
                "-singlefile",
            ])
            .arg(pdf)
            .arg(&prefix),
    );
    assert!(ok, "{err}");
    let ppm = std::fs::read(prefix.with_extension(format!("p{page}.ppm"))).unwrap();
    // "P6\n<w> <h>\n255\n" then RGB triples.
    let mut fields = Vec::new();
    let mut pos = 0;
    while fields.len() < 4 {
        while ppm[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let start = pos;
        while !ppm[pos].is_ascii_whitespace() {
            pos += 1;
        }
        fields.push(String::from_utf8(ppm[start..pos].to_vec()).unwrap());
    }
    assert_eq!(fields[0], "P6");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let data = ppm[pos + 1..].to_vec();
    assert_eq!(data.len(), w * h * 3);
    (w, h, data)
}

fn pixel(img: &(usize, usize, Vec<u8>), fx: f32, fy: f32) -> [u8; 3] {
    let (w, h, data) = img;
    let x = ((*w as f32 * fx) as usize).min(w - 1);
    let y = ((*h as f32 * fy) as usize).min(h - 1);
    let i = (y * w + x) * 3;
    [data[i], data[i + 1], data[i + 2]]
}

fn image_xobjects(pdf: &[u8]) -> Vec<lopdf::ObjectId> {
    let doc = Document::load_mem(pdf).unwrap();
    doc.get_pages()
        .values()
        .map(|&p| {
            let res = doc
                .get_dictionary(p)
                .unwrap()
                .get(b"Resources")
                .unwrap()
                .as_dict()
                .unwrap();
            let xo = res.get(b"XObject").unwrap().as_dict().unwrap();
            xo.get(b"SRWmIm0").unwrap().as_reference().unwrap()
        })
        .collect()
}

#[test]
fn an_image_is_stored_once_with_its_soft_mask() {
    let png = half_transparent_png(40, 20, [255, 0, 0]);
    let out = watermark::pdf_image(
        &multi_page(3),
        &ImageWatermark {
            png: &png,
            ..ImageWatermark::default()
        },
    )
    .unwrap();
    let ids = image_xobjects(&out);
    assert_eq!(ids.len(), 3);
    assert!(ids.iter().all(|&id| id == ids[0]), "one shared XObject: {ids:?}");
    let doc = Document::load_mem(&out).unwrap();
    let img = doc.get_object(ids[0]).unwrap().as_stream().unwrap();
    assert_eq!(img.dict.get(b"Width").unwrap().as_i64().unwrap(), 40);
    assert_eq!(img.dict.get(b"ColorSpace").unwrap().as_name().unwrap(), b"DeviceRGB");
    let mask = doc
        .get_object(img.dict.get(b"SMask").unwrap().as_reference().unwrap())
        .unwrap()
        .as_stream()
        .unwrap();
    let alpha = mask.decompressed_content().unwrap();
    assert_eq!(alpha.len(), 40 * 20);
    assert_eq!((alpha[0], alpha[39]), (0, 255), "left transparent, right opaque");
    // Original content kept, the stamp draws the image in its own state.
    let after = page_streams(&out);
    for page in &after {
        let stamp = String::from_utf8(page.last().unwrap().1.clone()).unwrap();
        assert_eq!(stamp.matches(" Do Q").count(), 1, "{stamp}");
        assert!(stamp.starts_with("Q\nq\n"), "{stamp}");
    }
    if !common::oracle_available("pdfimages (poppler-utils)", Command::new("pdfimages").arg("-v")) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = common::write_file(dir.path(), "img.pdf", &out);
    qpdf_check(&f);
    let (ok, list, err) = common::run(Command::new("pdfimages").arg("-list").arg(&f));
    assert!(ok, "{err}");
    // page num type width height color comp bpc enc interp object ID …
    let rows: Vec<Vec<&str>> = list
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .collect();
    for page in 1..=3 {
        let on_page: Vec<&Vec<&str>> = rows.iter().filter(|r| r[0] == page.to_string()).collect();
        assert!(
            on_page
                .iter()
                .any(|r| r[2] == "image" && r[3] == "40" && r[4] == "20" && r[5] == "rgb"),
            "page {page}: {list}"
        );
        assert!(
            on_page.iter().any(|r| r[2] == "smask" && r[5] == "gray"),
            "page {page}: {list}"
        );
    }
    let objects: std::collections::BTreeSet<&str> = rows.iter().filter(|r| r[2] == "image").map(|r| r[10]).collect();
    assert_eq!(objects.len(), 1, "the same object on every page: {list}");
}

#[test]
fn the_rendered_page_changes_in_the_centre_only() {
    if !common::oracle_available("pdftoppm (poppler-utils)", Command::new("pdftoppm").arg("-v")) {
        return;
    }
    let plain = multi_page(3);
    let png = solid_png(40, 20, [255, 0, 0]);
    let out = watermark::pdf_image(
        &plain,
        &ImageWatermark {
            png: &png,
            scale: 0.4,
            opacity: 1.0,
            tiled: false,
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let before = common::write_file(dir.path(), "before.pdf", &plain);
    let after = common::write_file(dir.path(), "after.pdf", &out);
    qpdf_check(&after);
    for page in 1..=3 {
        let (a, b) = (render(&before, page), render(&after, page));
        assert_eq!((a.0, a.1), (b.0, b.1), "page {page}: same size");
        assert_eq!(pixel(&a, 0.5, 0.5), [255, 255, 255], "page {page}: blank centre before");
        let c = pixel(&b, 0.5, 0.5);
        assert!(
            c[0] > 200 && c[1] < 60 && c[2] < 60,
            "page {page}: red centre after: {c:?}"
        );
        for (fx, fy) in [(0.03, 0.03), (0.97, 0.03), (0.03, 0.97), (0.97, 0.97)] {
            assert_eq!(pixel(&a, fx, fy), pixel(&b, fx, fy), "page {page}: corner ({fx}, {fy})");
        }
        // 0.4 of the shorter side wide: at most 40 % of the width on screen (28 % on the turned
        // page 2), so unchanged at a quarter from each side, changed a tenth from the centre.
        for fx in [0.25, 0.75] {
            assert_eq!(pixel(&a, fx, 0.5), pixel(&b, fx, 0.5), "page {page}: ({fx}, 0.5)");
        }
        for fx in [0.4, 0.6] {
            assert_ne!(pixel(&a, fx, 0.5), pixel(&b, fx, 0.5), "page {page}: ({fx}, 0.5)");
        }
    }
}

#[test]
fn transparency_and_opacity_are_rendered() {
    if !common::oracle_available("pdftoppm (poppler-utils)", Command::new("pdftoppm").arg("-v")) {
        return;
    }
    let png = half_transparent_png(40, 20, [0, 0, 255]);
    let out = watermark::pdf_image(
        &multi_page(1),
        &ImageWatermark {
            png: &png,
            scale: 0.5,
            opacity: 0.5,
            tiled: false,
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let f = common::write_file(dir.path(), "alpha.pdf", &out);
    let img = render(&f, 1);
    // Left half of the image (x 0.25–0.5 of the page) is transparent: still white.
    assert_eq!(pixel(&img, 0.4, 0.5), [255, 255, 255]);
    // Right half: blue at half opacity over white, about (128, 128, 255).
    let p = pixel(&img, 0.6, 0.5);
    assert!(
        (100..160).contains(&p[0]) && (100..160).contains(&p[1]) && p[2] > 240,
        "{p:?}"
    );
}

#[test]
fn tiled_images_cover_the_page_within_bounds() {
    let png = solid_png(10, 10, [0, 128, 0]);
    let out = watermark::pdf_image(
        &multi_page(1),
        &ImageWatermark {
            png: &png,
            scale: 0.1,
            tiled: true,
            ..ImageWatermark::default()
        },
    )
    .unwrap();
    let stamp = String::from_utf8(page_streams(&out)[0].last().unwrap().1.clone()).unwrap();
    let n = stamp.matches(" Do Q").count();
    assert!((20..=400).contains(&n), "{n} tiles");
    let tiny = watermark::pdf_image(
        &multi_page(1),
        &ImageWatermark {
            png: &png,
            scale: 0.01,
            tiled: true,
            ..ImageWatermark::default()
        },
    )
    .unwrap();
    let stamp = String::from_utf8(page_streams(&tiny)[0].last().unwrap().1.clone()).unwrap();
    assert!(stamp.matches(" Do Q").count() <= 400);
}

/// A real 1×1 PNG whose header is rewritten to claim `w`×`h` pixels (CRC fixed up): the
/// shape of a decompression bomb, without the bytes.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut png = solid_png(1, 1, [0, 0, 0]);
    // Signature (8), IHDR length (4), "IHDR" (4), width (4), height (4), …, CRC after 13 bytes.
    png[16..20].copy_from_slice(&w.to_be_bytes());
    png[20..24].copy_from_slice(&h.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&png[12..29]);
    png[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    png
}

#[test]
fn bad_images_are_refused_clearly() {
    let plain = multi_page(1);
    let stamp = |image: &[u8]| {
        watermark::pdf_image(
            &plain,
            &ImageWatermark {
                png: image,
                ..ImageWatermark::default()
            },
        )
    };
    let bomb = stamp(&png_claiming(100_000, 100_000)).unwrap_err();
    assert!(matches!(bomb, Error::InvalidOptions(_)), "{bomb:?}");
    assert!(bomb.to_string().contains("too large"), "{bomb}");
    let wide = stamp(&png_claiming(5000, 1)).unwrap_err();
    assert!(wide.to_string().contains("4096"), "{wide}");
    assert!(matches!(stamp(b"GIF89a...."), Err(Error::InvalidOptions(_))));
    let png = solid_png(8, 8, [1, 2, 3]);
    assert!(matches!(stamp(&png[..png.len() - 20]), Err(Error::Malformed { .. })));
    assert!(matches!(
        watermark::pdf_image(
            b"not a pdf",
            &ImageWatermark {
                png: &png,
                ..ImageWatermark::default()
            }
        ),
        Err(Error::WrongFormat { .. })
    ));
}

#[test]
fn text_and_image_in_one_pass() {
    let png = half_transparent_png(20, 20, [0, 0, 0]);
    let out = watermark::pdf_stamp(
        &multi_page(2),
        &PdfStamp {
            text: Some(TextWatermark {
                rotation_deg: 0.0,
                ..wm("Копия")
            }),
            image: Some(ImageWatermark {
                png: &png,
                ..ImageWatermark::default()
            }),
        },
    )
    .unwrap();
    for page in page_streams(&out) {
        let stamp = String::from_utf8(page.last().unwrap().1.clone()).unwrap();
        let (image_at, text_at) = (stamp.find(" Do Q").unwrap(), stamp.find(" Tj").unwrap());
        assert!(image_at < text_at, "image under the text: {stamp}");
        assert!(
            stamp.contains("/SRWmGS0 gs") && stamp.contains("/SRWmGS1 gs"),
            "{stamp}"
        );
    }
    assert_eq!(common::pdf_text(&out).matches("Копия").count(), 2);
    let dir = tempfile::tempdir().unwrap();
    qpdf_check(&common::write_file(dir.path(), "both.pdf", &out));
}

/// Fuzzing findings (`fuzz/fuzz_targets/pdf_watermark.rs`), kept as vectors:
/// - a page tree naming an object the file does not define (`5 0 R`): the watermark's new
///   objects used to take that number, so the output listed its font descriptor as a page.
///   Now the dangling kid stays dangling (readers skip it) and the real page is stamped;
/// - a `/Pages` node listing itself as a kid: refused, since a reader's view of such a tree
///   is anyone's guess and no page may be left unmarked.
#[test]
fn damaged_page_trees_found_by_fuzzing() {
    let vectors = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let dangling = std::fs::read(vectors.join("pdf-dangling-kid.pdf")).unwrap();
    let wm = TextWatermark {
        text: "CONFIDENTIAL",
        ..TextWatermark::default()
    };
    let before = Document::load_mem(&dangling).unwrap();
    let out = watermark::pdf(&dangling, &wm).unwrap();
    let after = Document::load_mem(&out).unwrap();
    assert_eq!(after.get_pages().len(), before.get_pages().len());
    let mut stamped = 0;
    for id in after.get_pages().into_values() {
        let Ok(page) = after.get_dictionary(id) else {
            assert!(!before.objects.contains_key(&id), "{id:?} was a real object");
            continue;
        };
        assert_eq!(
            page.get(b"Type").and_then(Object::as_name).unwrap(),
            b"Page",
            "{id:?}: {page:?}"
        );
        stamped += 1;
    }
    assert_eq!(stamped, 1, "the one real page is stamped");

    let cyclic = std::fs::read(vectors.join("pdf-cyclic-kids.pdf")).unwrap();
    match watermark::pdf(&cyclic, &wm) {
        Err(Error::Malformed { detail, .. }) => assert!(detail.contains("twice"), "{detail}"),
        other => panic!("a cyclic page tree must be refused, got {:?}", other.map(|v| v.len())),
    }
}

/// Review findings: lopdf's own page list stops after as many kids as the file has objects,
/// so a tree padded with dangling kids hid a real page from it, and that page went unstamped;
/// and a reference to the highest object number left no number for the watermark's objects.
#[test]
fn every_page_a_reader_shows_is_stamped() {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let content = doc.add_object(lopdf::Stream::new(lopdf::Dictionary::new(), b"BT ET".to_vec()));
    let page = |doc: &mut Document| {
        doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "MediaBox" => vec![0.into(), 0.into(), 200.into(), 200.into()],
            "Contents" => content,
        })
    };
    let (first, last) = (page(&mut doc), page(&mut doc));
    let mut kids: Vec<Object> = vec![first.into()];
    kids.extend((20..26).map(|n| Object::Reference((n, 0))));
    kids.push(last.into());
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => 2 }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut input = Vec::new();
    doc.save_to(&mut input).unwrap();

    let wm = TextWatermark {
        text: "SEEN",
        ..TextWatermark::default()
    };
    let out = Document::load_mem(&watermark::pdf(&input, &wm).unwrap()).unwrap();
    for id in [first, last] {
        let contents = out.get_dictionary(id).unwrap().get(b"Contents").unwrap();
        assert!(
            contents.as_array().is_ok_and(|a| a.len() >= 3),
            "page {id:?} was not stamped: {contents:?}"
        );
    }

    // A reference to the highest object number: refused, not a panic.
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R /Extra 4 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        "<< /X 4294967295 0 R >>",
    ];
    let mut edge = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(edge.len());
        edge.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = edge.len();
    edge.extend_from_slice(b"xref\n0 5\n0000000000 65535 f \n");
    for o in offsets {
        edge.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    edge.extend_from_slice(format!("trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes());
    let parsed = Document::load_mem(&edge).unwrap();
    assert_eq!(
        parsed
            .get_dictionary((4, 0))
            .unwrap()
            .get(b"X")
            .unwrap()
            .as_reference()
            .unwrap(),
        (u32::MAX, 0)
    );
    let r = watermark::pdf(&edge, &wm);
    assert!(matches!(r, Err(Error::Malformed { .. })), "{:?}", r.map(|v| v.len()));
}
