//! PDF text watermarks: every page stamped, existing content streams untouched, rotated pages
//! and CropBox respected, bad options refused. `pdftotext` (poppler) is the oracle that sees
//! the text on every page; it SKIPs loudly when missing (fails under
//! `STRONGROOM_REQUIRE_ORACLES=1`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::process::Command;

use lopdf::{Document, Object, dictionary};
use strongroom_docs::Error;
use strongroom_docs::watermark::{self, TextWatermark};

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
        assert!(stamp.contains("(CONFIDENTIAL \\(draft\\)) Tj"), "{stamp}");
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
    assert!((nums[4] - (250.0 - 0.667 * 48.0 / 2.0)).abs() < 0.5, "{tm_line}");
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
