//! Header watermarks in .docx: the watermark shape lands in every header a page can show (new
//! ones created where needed), every other part stays byte for byte, and LibreOffice (the
//! oracle, through UNO) renders the watermark text on every page next to the original text.
//! The LibreOffice tests SKIP loudly when it is missing (fail under
//! `STRONGROOM_REQUIRE_ORACLES=1`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

use strongroom_docs::watermark::{TextWatermark, docx};
use strongroom_docs::{Error, Format};

const W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const R: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

fn wm(text: &str) -> TextWatermark<'_> {
    TextWatermark {
        text,
        ..TextWatermark::default()
    }
}

/// Every entry of a zip as (name, raw compressed bytes, CRC), in archive order.
fn raw_entries(bytes: &[u8]) -> Vec<(String, Vec<u8>, u32)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let f = archive.by_index_raw(i).unwrap();
            let name = f.name().unwrap().to_string();
            let crc = f.crc32();
            let mut raw = Vec::new();
            f.take(u64::MAX).read_to_end(&mut raw).unwrap();
            (name, raw, crc)
        })
        .collect()
}

fn part(bytes: &[u8], name: &str) -> String {
    String::from_utf8(common::zip_entry(bytes, name)).unwrap()
}

fn paragraphs(prefix: &str, n: usize) -> String {
    (1..=n)
        .map(|i| format!("<w:p><w:r><w:t>{prefix} paragraph {i}</w:t></w:r></w:p>"))
        .collect()
}

/// A two-section document as Word writes one: section 1 (ending in a paragraph's `w:sectPr`)
/// has a default header and a distinct first page with its own first-page header; section 2
/// (the body-level `w:sectPr`) has no header reference, so it inherits section 1's headers.
/// Each section is long enough for two pages; section 1's header has text of its own.
fn two_sections() -> Vec<u8> {
    let ct = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="png" ContentType="image/png"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/header1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml"/><Override PartName="/word/header2.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml"/></Types>"#;
    let rels = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#;
    let doc_rels = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId5" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/header" Target="header1.xml"/><Relationship Id="rId6" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/header" Target="/word/header2.xml"/><Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://example.com/" TargetMode="External"/></Relationships>"#;
    let page = r#"<w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1440" w:right="1440" w:bottom="1440" w:left="1440" w:header="708" w:footer="708" w:gutter="0"/>"#;
    let doc = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="{W}" xmlns:r="{R}"><w:body>{}<w:p><w:pPr><w:sectPr><w:headerReference w:type="default" r:id="rId5"/><w:headerReference w:type="first" r:id="rId6"/>{page}<w:titlePg/></w:sectPr></w:pPr><w:r><w:t>End of section one</w:t></w:r></w:p>{}<w:sectPr>{page}</w:sectPr></w:body></w:document>"#,
        paragraphs("Alpha", 70),
        paragraphs("Omega", 70)
    );
    let header1 = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:hdr xmlns:w="{W}" xmlns:r="{R}"><w:p><w:pPr><w:jc w:val="right"/></w:pPr><w:r><w:t>Running head</w:t></w:r></w:p></w:hdr>"#
    );
    let header2 = format!(r#"<w:hdr xmlns:w="{W}"><w:p/></w:hdr>"#);
    common::zip_parts(
        &[
            ("[Content_Types].xml", ct.as_bytes()),
            ("_rels/.rels", rels.as_bytes()),
            ("word/document.xml", doc.as_bytes()),
            ("word/_rels/document.xml.rels", doc_rels.as_bytes()),
            ("word/header1.xml", header1.as_bytes()),
            ("word/header2.xml", header2.as_bytes()),
            ("word/media/image1.png", &common::pseudo_random(3000)),
        ],
        true,
    )
}

#[test]
fn existing_headers_are_stamped_and_everything_else_is_byte_identical() {
    let input = two_sections();
    let out = docx::stamp(&input, &wm("CONFIDENTIAL")).unwrap();
    let before = raw_entries(&input);
    let after = raw_entries(&out);
    // Same entries in the same order: both sections already had headers, nothing is created.
    assert_eq!(
        before.iter().map(|e| &e.0).collect::<Vec<_>>(),
        after.iter().map(|e| &e.0).collect::<Vec<_>>()
    );
    for ((name, raw_in, crc_in), (_, raw_out, crc_out)) in before.iter().zip(&after) {
        if name == "word/header1.xml" || name == "word/header2.xml" {
            assert_ne!(crc_in, crc_out, "{name} must carry the watermark");
        } else {
            assert_eq!(raw_in, raw_out, "{name} must be copied byte for byte");
            assert_eq!(crc_in, crc_out, "{name}");
        }
    }
    let h1 = part(&out, "word/header1.xml");
    let h1_in = part(&input, "word/header1.xml");
    assert!(
        h1.contains(r##"type="#_x0000_t136""##) && h1.contains(r#"string="CONFIDENTIAL""#),
        "{h1}"
    );
    assert!(h1.contains("rotation:315.0;"), "{h1}");
    assert!(h1.contains("<v:fill opacity=\"0.300\"/>"));
    // Spliced in: the original header's bytes are all still there, around the new run.
    let at = h1.find("<w:r xmlns:w=").unwrap();
    let end = h1.find("</w:pict></w:r>").unwrap() + "</w:pict></w:r>".len();
    assert_eq!(format!("{}{}", &h1[..at], &h1[end..]), h1_in);
    assert!(h1[..at].ends_with("<w:t>Running head</w:t></w:r>"));
    // The empty first-page paragraph was opened to take the run.
    let h2 = part(&out, "word/header2.xml");
    assert!(
        h2.starts_with(r#"<w:hdr xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:p><w:r "#)
    );
    assert!(h2.ends_with("</w:r></w:p></w:hdr>"));
    // Shapes are numbered per header part.
    assert!(h1.contains("PowerPlusWaterMarkObject4097") && h2.contains("PowerPlusWaterMarkObject4098"));
}

#[test]
fn a_document_without_headers_gets_a_default_header() {
    let input = common::docx(&["Only text", "R&D <draft>"]);
    let out = docx::stamp(&input, &wm("Entwurf & <intern>")).unwrap();
    let names: Vec<String> = raw_entries(&out).into_iter().map(|e| e.0).collect();
    assert_eq!(
        names,
        [
            "[Content_Types].xml",
            "_rels/.rels",
            "word/document.xml",
            "word/header1.xml",
            "word/_rels/document.xml.rels"
        ]
    );
    // The package relationships were not touched.
    assert_eq!(raw_entries(&out)[1], raw_entries(&input)[1]);
    let header = part(&out, "word/header1.xml");
    assert!(header.contains(r#"string="Entwurf &amp; &lt;intern&gt;""#), "{header}");
    let rels = part(&out, "word/_rels/document.xml.rels");
    assert!(rels.contains(r#"<Relationship Id="rIdSrWm1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/header" Target="header1.xml"/>"#), "{rels}");
    let types = part(&out, "[Content_Types].xml");
    assert!(types.ends_with(r#"<Override PartName="/word/header1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml"/></Types>"#), "{types}");
    let doc = part(&out, "word/document.xml");
    assert!(doc.ends_with(&format!(r#"<w:sectPr><w:headerReference xmlns:r="{R}" w:type="default" r:id="rIdSrWm1"/></w:sectPr></w:body></w:document>"#)), "{doc}");
    assert_eq!(common::docx_text(&out), "Only text\nR&amp;D &lt;draft&gt;");
}

#[test]
fn bad_input_is_refused_clearly() {
    let encrypted = strongroom_docs::office::encrypt_bytes(
        &common::docx(&["secret"]),
        "pw",
        &strongroom_docs::office::Options::default(),
    )
    .unwrap();
    assert!(matches!(
        docx::stamp(&encrypted, &wm("X")),
        Err(Error::AlreadyProtected)
    ));
    assert!(matches!(
        docx::stamp(&common::xlsx("S", &["a"]), &wm("X")),
        Err(Error::WrongFormat { found: Format::Zip, .. })
    ));
    assert!(matches!(
        docx::stamp(b"%PDF-1.7\n", &wm("X")),
        Err(Error::WrongFormat { found: Format::Pdf, .. })
    ));
    let doc = common::docx(&["x"]);
    assert!(matches!(
        docx::stamp(&doc[..doc.len() / 2], &wm("X")),
        Err(Error::Malformed { .. })
    ));
    for bad in [
        wm(""),
        wm("two\nlines"),
        TextWatermark { tiled: true, ..wm("X") },
        TextWatermark {
            opacity: 2.0,
            ..wm("X")
        },
    ] {
        assert!(
            matches!(docx::stamp(&doc, &bad), Err(Error::InvalidOptions(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn distinct_first_and_even_pages_get_their_own_new_headers() {
    let mut parts = common::zip_entries(&two_sections());
    // Section 1 loses its first-page header (but keeps titlePg); the settings ask for
    // distinct even pages.
    for (name, data) in parts.iter_mut() {
        if name == "word/document.xml" {
            *data = String::from_utf8(data.clone())
                .unwrap()
                .replace(r#"<w:headerReference w:type="first" r:id="rId6"/>"#, "")
                .into_bytes();
        }
        if name == "word/_rels/document.xml.rels" {
            *data = String::from_utf8(data.clone()).unwrap().replace(
                "</Relationships>",
                r#"<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings" Target="settings.xml"/></Relationships>"#,
            ).into_bytes();
        }
    }
    parts.push((
        "word/settings.xml".into(),
        format!(r#"<w:settings xmlns:w="{W}"><w:evenAndOddHeaders/></w:settings>"#).into_bytes(),
    ));
    let refs: Vec<(&str, &[u8])> = parts.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
    let input = common::zip_parts(&refs, true);
    let out = docx::stamp(&input, &wm("X")).unwrap();
    let doc = part(&out, "word/document.xml");
    // header1/2 exist, so the new ones are header3 (first) and header4 (even).
    assert!(doc.contains(&format!(r#"<w:sectPr><w:headerReference xmlns:r="{R}" w:type="first" r:id="rIdSrWm1"/><w:headerReference xmlns:r="{R}" w:type="even" r:id="rIdSrWm2"/><w:headerReference w:type="default" r:id="rId5"/>"#)), "{doc}");
    let rels = part(&out, "word/_rels/document.xml.rels");
    assert!(rels.contains(r#"Id="rIdSrWm1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/header" Target="header3.xml""#));
    assert!(rels.contains(r#"Id="rIdSrWm2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/header" Target="header4.xml""#));
    for h in ["word/header1.xml", "word/header3.xml", "word/header4.xml"] {
        assert!(part(&out, h).contains(r#"string="X""#), "{h}");
    }
    // header2 is no longer referenced by any section: left as it was.
    assert_eq!(
        common::zip_entry(&out, "word/header2.xml"),
        common::zip_entry(&input, "word/header2.xml")
    );
}

// ---------------------------------------------------------------------------------------------
// Oracle: LibreOffice imports and renders the watermark
//
// LibreOffice turns the WordArt shape into a Fontwork shape and exports Fontwork to PDF as
// outlines, not as text, so `pdftotext` cannot see the watermark itself. The oracle therefore
// checks three things LibreOffice produced on its own: (1) its OpenDocument export has a
// Fontwork shape carrying our string in the page headers, (2) every page of its PDF differs
// from the unstamped document's in a grey, centred area, (3) `pdftotext` still finds every line
// of the original text, on as many pages as before.

fn libreoffice() -> bool {
    common::oracle_available(
        "LibreOffice + python3-uno, pdftotext and pdftoppm",
        Command::new("/usr/bin/python3").args([
            "-c",
            "import uno, shutil, sys; sys.exit(0 if all(map(shutil.which, ['soffice', 'pdftotext', 'pdftoppm'])) else 1)",
        ]),
    )
}

/// Run LibreOffice exports (input, filter, output), one soffice for all.
fn lo_export(jobs: &[(&Path, &str, &Path)]) {
    let json = serde_json::Value::Array(
        jobs.iter()
            .map(|(i, filter, o)| serde_json::json!({"in": i, "password": null, "filter": filter, "out": o}))
            .collect(),
    );
    for (job, result) in jobs.iter().zip(common::lo_jobs("docs_lo_open.py", json)) {
        assert!(
            result.is_ok(),
            "LibreOffice export of {} failed: {result:?}",
            job.0.display()
        );
    }
}

/// Text of each page of a PDF, by pdftotext (pages are separated by form feeds).
fn page_texts(pdf: &Path) -> Vec<String> {
    let (ok, text, err) = common::run(Command::new("pdftotext").arg(pdf).arg("-"));
    assert!(ok, "pdftotext: {err}");
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_owned).collect();
    if pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    pages
}

/// A rendered page: width, height, 8-bit grey pixels.
type Gray = (usize, usize, Vec<u8>);

/// Every page of a PDF rendered by poppler at 40 dpi, in grey.
fn render(pdf: &Path, dir: &Path, stem: &str) -> Vec<Gray> {
    let prefix = dir.join(stem);
    let (ok, _, err) = common::run(
        Command::new("pdftoppm")
            .args(["-r", "40", "-gray"])
            .arg(pdf)
            .arg(&prefix),
    );
    assert!(ok, "pdftoppm: {err}");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(&format!("{stem}-")) && name.ends_with(".pgm")
        })
        .collect();
    files.sort();
    files.iter().map(|f| pgm(&std::fs::read(f).unwrap())).collect()
}

/// Parse a binary PGM (P5, maxval 255).
fn pgm(bytes: &[u8]) -> Gray {
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8(bytes[start..i].to_vec()).unwrap());
    }
    assert_eq!(fields[0], "P5");
    assert_eq!(fields[3], "255");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let data = bytes[i + 1..].to_vec();
    assert_eq!(data.len(), w * h);
    (w, h, data)
}

/// Check each stamped page against the same page without the watermark: a visible grey mark
/// (darker, not black) that covers the middle of the page.
fn assert_marked_every_page(control: &[Gray], stamped: &[Gray]) {
    assert_eq!(
        stamped.len(),
        control.len(),
        "the watermark must not change the pagination"
    );
    for (n, ((w, h, before), (w2, h2, after))) in control.iter().zip(stamped).enumerate() {
        assert_eq!((w, h), (w2, h2));
        let changed: Vec<(usize, usize)> = (0..w * h)
            .filter(|&i| before[i].abs_diff(after[i]) > 12)
            .map(|i| (i % w, i / w))
            .collect();
        assert!(
            changed.len() > w * h / 200,
            "page {}: only {} of {} pixels changed",
            n + 1,
            changed.len(),
            w * h
        );
        // Grey, semi-transparent: where the page was white it is now lighter than text.
        let on_white: Vec<u8> = (0..w * h)
            .filter(|&i| before[i] == 255 && after[i] < 243)
            .map(|i| after[i])
            .collect();
        let mean = on_white.iter().map(|&v| f64::from(v)).sum::<f64>() / on_white.len().max(1) as f64;
        assert!(
            (150.0..240.0).contains(&mean),
            "page {}: watermark mean grey {mean}",
            n + 1
        );
        // Around the centre of the page, spread over both halves.
        let (cx, cy) = (w / 2, h / 2);
        let near = changed
            .iter()
            .filter(|&&(x, y)| x.abs_diff(cx) < w / 4 && y.abs_diff(cy) < h / 4)
            .count();
        assert!(near > changed.len() / 4, "page {}: the mark is not centred", n + 1);
        let left = changed.iter().filter(|&&(x, _)| x < cx).count();
        assert!(
            left > changed.len() / 5 && left < changed.len() * 4 / 5,
            "page {}",
            n + 1
        );
    }
}

/// The page headers of LibreOffice's OpenDocument export: Fontwork shapes and their text.
fn odt_header_shapes(odt: &Path) -> String {
    let styles = String::from_utf8(common::zip_entry(&std::fs::read(odt).unwrap(), "styles.xml")).unwrap();
    let start = styles.find("<office:master-styles>").expect("master styles");
    styles[start..].to_owned()
}

#[test]
fn libreoffice_renders_the_watermark_on_every_page() {
    if !libreoffice() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let long: Vec<String> = (1..=120).map(|i| format!("Body line {i}")).collect();
    let long: Vec<&str> = long.iter().map(String::as_str).collect();
    let plain = common::docx(&long);
    let stamped = docx::stamp(&plain, &wm("STRONGROOM SECRET")).unwrap();
    let sections = two_sections();
    let sections_stamped = docx::stamp(&sections, &wm("ZWEI SEKTIONEN")).unwrap();
    let files: Vec<PathBuf> = [
        ("plain.docx", &plain),
        ("stamped.docx", &stamped),
        ("sections.docx", &sections),
        ("sections_stamped.docx", &sections_stamped),
    ]
    .iter()
    .map(|(name, bytes)| common::write_file(d, name, bytes))
    .collect();
    let pdf: Vec<PathBuf> = files.iter().map(|f| f.with_extension("pdf")).collect();
    let odt: Vec<PathBuf> = files.iter().map(|f| f.with_extension("odt")).collect();
    let mut jobs: Vec<(&Path, &str, &Path)> = files
        .iter()
        .zip(&pdf)
        .map(|(f, p)| (f.as_path(), "writer_pdf_Export", p.as_path()))
        .collect();
    jobs.push((&files[1], "writer8", &odt[1]));
    jobs.push((&files[3], "writer8", &odt[3]));
    lo_export(&jobs);

    // LibreOffice read our VML as a Fontwork text shape with the string, in the page header.
    for (odt, text) in [(&odt[1], "STRONGROOM SECRET"), (&odt[3], "ZWEI SEKTIONEN")] {
        let masters = odt_header_shapes(odt);
        assert!(masters.contains("<style:header>"), "{masters}");
        assert!(masters.contains("draw:type=\"fontwork-plain-text\""), "{masters}");
        assert!(masters.contains(&format!(">{text}</text:p>")), "{masters}");
        assert!(masters.contains("rotate (0.785398"), "45° counter-clockwise: {masters}");
    }

    // Every page shows the mark; the text is all still there.
    let control = render(&pdf[0], d, "plain");
    assert!(control.len() >= 2, "the document must have several pages");
    assert_marked_every_page(&control, &render(&pdf[1], d, "stamped"));
    let text = page_texts(&pdf[1]);
    assert_eq!(text.len(), control.len());
    let all = text.join("\n");
    for line in &long {
        assert!(all.contains(&format!("{line}\n")), "{line} is missing");
    }

    // Both sections: section 2 inherits section 1's (stamped) headers.
    let control = render(&pdf[2], d, "sections");
    assert!(
        control.len() >= 4,
        "two sections of two pages each, got {}",
        control.len()
    );
    assert_marked_every_page(&control, &render(&pdf[3], d, "sections_stamped"));
    let text = page_texts(&pdf[3]);
    let omega = text.iter().position(|p| p.contains("Omega paragraph 1\n")).unwrap();
    assert!(omega >= 2 && text[omega].contains("Running head"));
    assert!(text.join("\n").contains("Alpha paragraph 70") && text.join("\n").contains("Omega paragraph 70"));
}
