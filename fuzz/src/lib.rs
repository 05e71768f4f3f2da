//! Shared pieces of the Strongroom fuzz targets: the valid documents the seed corpora are made
//! of (built in memory, so no binaries are committed), the known plaintexts that the targets'
//! properties compare against, and cheap pre-checks that keep expensive key derivation out of
//! the fuzzing loop.
//!
//! The targets live in `fuzz_targets/`; `examples/seed-corpus.rs` writes the seeds; see
//! `docs/fuzzing.md` for how to run them.

#![forbid(unsafe_code)]

use std::io::{Cursor, Read, Write};
use std::sync::OnceLock;

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockEncryptMut, KeyIvInit};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};
use strongroom_crypto::{MasterKey, ObjectId};
use zip::write::SimpleFileOptions;

/// The password of every encrypted seed.
pub const PASSWORD: &str = "correct horse — ünïcödé";

/// Largest password-hash spin count or PBKDF2 iteration count a target lets through. Inputs
/// that ask for more are skipped (not failed): the libraries accept up to 10,000,000 rounds,
/// which is seconds per input and would starve the fuzzer. Seeds use 1.
pub const MAX_CHEAP_ROUNDS: u64 = 1_000;

// ---------------------------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------------------------

fn zip_parts(parts: &[(&str, &[u8])], deflate: bool) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let method = if deflate {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let opts = SimpleFileOptions::default()
        .compression_method(method)
        .last_modified_time(zip::DateTime::default());
    for (name, content) in parts {
        w.start_file(*name, opts).expect("zip entry");
        w.write_all(content).expect("zip write");
    }
    w.finish().expect("zip finish").into_inner()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Deterministic incompressible bytes (xorshift).
pub fn pseudo_random(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A minimal .docx, with an optional filler part of `filler` incompressible bytes.
pub fn docx(paragraphs: &[&str], filler: usize, deflate: bool) -> Vec<u8> {
    let ct = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="bin" ContentType="application/octet-stream"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;
    let rels = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#;
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<w:p><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>", escape(p)))
        .collect();
    let doc = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
    );
    let filler_bytes = pseudo_random(filler);
    let mut parts: Vec<(&str, &[u8])> = vec![
        ("[Content_Types].xml", ct.as_bytes()),
        ("_rels/.rels", rels.as_bytes()),
        ("word/document.xml", doc.as_bytes()),
    ];
    if filler > 0 {
        parts.push(("word/media/filler.bin", &filler_bytes));
    }
    zip_parts(&parts, deflate)
}

/// A minimal .xlsx with one sheet named `sheet` holding inline strings in column A, and
/// `extra` XML spliced into the worksheet after `sheetData`.
pub fn xlsx(sheet: &str, cells: &[&str], extra: &str) -> Vec<u8> {
    let ct = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;
    let rels = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
    let wb = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="{}" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        escape(sheet)
    );
    let wb_rels = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;
    let rows: String = cells
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                "<row r=\"{r}\"><c r=\"A{r}\" t=\"inlineStr\"><is><t>{}</t></is></c></row>",
                escape(c),
                r = i + 1
            )
        })
        .collect();
    let ws = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData>{extra}</worksheet>"#
    );
    zip_parts(
        &[
            ("[Content_Types].xml", ct.as_bytes()),
            ("_rels/.rels", rels.as_bytes()),
            ("xl/workbook.xml", wb.as_bytes()),
            ("xl/_rels/workbook.xml.rels", wb_rels.as_bytes()),
            ("xl/worksheets/sheet1.xml", ws.as_bytes()),
        ],
        true,
    )
}

/// The sheet every xlsx seed has.
pub const XLSX_SHEET: &str = "Data";

const ODT_MIMETYPE: &[u8] = b"application/vnd.oasis.opendocument.text";

/// A manifest listing `streams`; `encryption[i]`, when present, is the `encryption-data`
/// element and plain size of stream `i`.
fn odf_manifest(streams: &[(&str, &[u8])], encryption: &[(String, usize)]) -> String {
    let mut entries = String::new();
    for (i, (name, _)) in streams.iter().enumerate() {
        match encryption.get(i) {
            Some((enc, size)) => entries.push_str(&format!(
                "\n <manifest:file-entry manifest:full-path=\"{name}\" manifest:media-type=\"\" manifest:size=\"{size}\">{enc}</manifest:file-entry>"
            )),
            None => entries.push_str(&format!(
                "\n <manifest:file-entry manifest:full-path=\"{name}\" manifest:media-type=\"text/xml\"/>"
            )),
        }
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">
 <manifest:file-entry manifest:full-path="/" manifest:version="1.3" manifest:media-type="application/vnd.oasis.opendocument.text"/>{entries}
</manifest:manifest>"#
    )
}

/// The streams of the plain .odt documents the ODF seeds are made from.
fn odf_plain_streams() -> Vec<Vec<(String, Vec<u8>)>> {
    vec![
        vec![("content.xml".into(), odf_content(&["Fuzz"]))],
        vec![
            ("content.xml".into(), odf_content(&["Fuzz", "zweite Zeile"])),
            // Past the 1 KiB the ODF checksum covers.
            ("Pictures/p.bin".into(), pseudo_random(3000)),
        ],
    ]
}

fn odf_content(paragraphs: &[&str]) -> Vec<u8> {
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<text:p>{}</text:p>", escape(p)))
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3"><office:body><office:text>{body}</office:text></office:body></office:document-content>"#
    )
    .into_bytes()
}

/// The plain .odt documents of the ODF seeds.
pub fn odf_plaintexts() -> Vec<Vec<u8>> {
    odf_plain_streams()
        .iter()
        .map(|streams| {
            let refs: Vec<(&str, &[u8])> = streams.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
            odt_from_streams(&refs)
        })
        .collect()
}

/// A minimal .odt: `mimetype` first and stored, then the streams (deflated), then the manifest.
fn odt_from_streams(streams: &[(&str, &[u8])]) -> Vec<u8> {
    let manifest = odf_manifest(streams, &[]);
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default());
    let deflated = stored.compression_method(zip::CompressionMethod::Deflated);
    w.start_file("mimetype", stored).expect("zip entry");
    w.write_all(ODT_MIMETYPE).expect("zip write");
    for (name, data) in streams {
        w.start_file(*name, deflated).expect("zip entry");
        w.write_all(data).expect("zip write");
    }
    w.start_file("META-INF/manifest.xml", deflated).expect("zip entry");
    w.write_all(manifest.as_bytes()).expect("zip write");
    w.finish().expect("zip finish").into_inner()
}

/// ODF encryption as LibreOffice writes it (AES-256-CBC, PBKDF2-HMAC-SHA1 of SHA-256 of the
/// password, SHA-256 checksum of the first KiB of each deflated stream), written here
/// independently of `strongroom_docs::odf` so that seeds can use a cheap iteration count.
/// Salt and IVs are fixed: seeds must be reproducible.
pub fn odf_encrypt_cheap(streams: &[(&str, &[u8])], password: &str, iterations: u32) -> Vec<u8> {
    let salt = [0x5Au8; 16];
    let start = Sha256::digest(password.as_bytes());
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha1::Sha1>(&start, &salt, iterations, &mut key);
    let mut encrypted: Vec<(String, Vec<u8>)> = Vec::new();
    let mut enc_xml = Vec::new();
    for (i, (name, plain)) in streams.iter().enumerate() {
        let mut deflater = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        deflater.write_all(plain).expect("deflate");
        let mut data = deflater.finish().expect("deflate");
        let sum = Sha256::digest(data.get(..1024).unwrap_or(&data));
        let pad = 16 - data.len() % 16;
        data.extend(std::iter::repeat_n(pad as u8, pad));
        let iv = [i as u8 + 1; 16];
        let len = data.len();
        cbc::Encryptor::<aes::Aes256>::new(&key.into(), &iv.into())
            .encrypt_padded_mut::<NoPadding>(&mut data, len)
            .expect("block aligned");
        enc_xml.push((
            format!(
                concat!(
                    "<manifest:encryption-data manifest:checksum-type=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0#sha256-1k\" manifest:checksum=\"{}\">",
                    "<manifest:algorithm manifest:algorithm-name=\"http://www.w3.org/2001/04/xmlenc#aes256-cbc\" manifest:initialisation-vector=\"{}\"/>",
                    "<manifest:start-key-generation manifest:start-key-generation-name=\"http://www.w3.org/2000/09/xmldsig#sha256\" manifest:key-size=\"32\"/>",
                    "<manifest:key-derivation manifest:key-derivation-name=\"PBKDF2\" manifest:key-size=\"32\" manifest:iteration-count=\"{}\" manifest:salt=\"{}\"/>",
                    "</manifest:encryption-data>"
                ),
                B64.encode(sum),
                B64.encode(iv),
                iterations,
                B64.encode(salt)
            ),
            plain.len(),
        ));
        encrypted.push((name.to_string(), data));
    }
    let manifest = odf_manifest(streams, &enc_xml);
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default());
    let deflated = stored.compression_method(zip::CompressionMethod::Deflated);
    w.start_file("mimetype", stored).expect("zip entry");
    w.write_all(ODT_MIMETYPE).expect("zip write");
    for (name, data) in &encrypted {
        w.start_file(name.as_str(), stored).expect("zip entry");
        w.write_all(data).expect("zip write");
    }
    w.start_file("META-INF/manifest.xml", deflated).expect("zip entry");
    w.write_all(manifest.as_bytes()).expect("zip write");
    w.finish().expect("zip finish").into_inner()
}

/// The encrypted ODF seeds (iteration count 1).
pub fn odf_encrypted_seeds() -> Vec<Vec<u8>> {
    odf_plain_streams()
        .iter()
        .map(|streams| {
            let refs: Vec<(&str, &[u8])> = streams.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
            odf_encrypt_cheap(&refs, PASSWORD, 1)
        })
        .collect()
}

/// The streams of an ODF package except the manifest (decryption rewrites it), or `None` if
/// the bytes do not read back as a zip.
pub fn odf_streams(bytes: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let mut a = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let mut out = Vec::new();
    for i in 0..a.len() {
        let mut f = a.by_index(i).ok()?;
        let name = f.name().ok()?.to_string();
        if name == "META-INF/manifest.xml" {
            continue;
        }
        let mut data = Vec::new();
        f.read_to_end(&mut data).ok()?;
        out.push((name, data));
    }
    Some(out)
}

/// What a correct decryption of an ODF seed gives: the streams (manifest aside) of one of
/// the plain documents.
pub fn odf_known_streams() -> &'static [Vec<(String, Vec<u8>)>] {
    static S: OnceLock<Vec<Vec<(String, Vec<u8>)>>> = OnceLock::new();
    S.get_or_init(|| {
        odf_plain_streams()
            .into_iter()
            .map(|mut s| {
                s.insert(0, ("mimetype".into(), ODT_MIMETYPE.to_vec()));
                s
            })
            .collect()
    })
}

/// The plain documents the Office seeds encrypt. Every one decrypts back to exactly one of
/// these.
pub fn office_plaintexts() -> &'static [Vec<u8>] {
    static P: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    P.get_or_init(|| {
        vec![
            docx(&["Fuzz"], 0, true),
            // Spans several 4 KiB segments of the encrypted package.
            docx(&["Fuzz", "zweite Zeile"], 9000, false),
            xlsx(XLSX_SHEET, &["a", "b & c"], ""),
        ]
    })
}

/// Fixed key material, so that the Office seeds are reproducible (never do this for real
/// documents).
pub fn office_material() -> strongroom_docs::office::KeyMaterial {
    strongroom_docs::office::KeyMaterial {
        key_data_salt: [1; 16],
        password_salt: [2; 16],
        secret_key: [3; 32],
        verifier_hash_input: [4; 16],
        hmac_key: [5; 64],
    }
}

/// The Office seeds: every plaintext encrypted with spin count 1.
pub fn office_encrypted_seeds() -> Vec<Vec<u8>> {
    office_plaintexts()
        .iter()
        .map(|plain| {
            let mut out = Vec::new();
            strongroom_docs::office::encrypt_with_material(
                Cursor::new(plain),
                &mut out,
                PASSWORD,
                &strongroom_docs::office::Options { spin_count: 1 },
                &office_material(),
            )
            .expect("office encryption of a seed");
            out
        })
        .collect()
}

/// A one-page PDF with the lines of text, written by lopdf.
pub fn pdf_with_text(lines: &[&str]) -> Vec<u8> {
    use lopdf::content::{Content, Operation};
    use lopdf::{Document, Object, Stream, dictionary};
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut ops = vec![
        Operation::new("BT", vec![]),
        Operation::new("Tf", vec!["F1".into(), 18.into()]),
        Operation::new("Td", vec![72.into(), 760.into()]),
    ];
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            ops.push(Operation::new("Td", vec![0.into(), (-24).into()]));
        }
        ops.push(Operation::new("Tj", vec![Object::string_literal(*line)]));
    }
    ops.push(Operation::new("ET", vec![]));
    let content = Content { operations: ops };
    let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().expect("content")));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id, "Rotate" => 90,
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1,
            "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("pdf save");
    out
}

/// A hand-written PDF (classic xref table, two pages, inherited MediaBox, a CropBox).
pub fn pdf_handwritten() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 /MediaBox [0 0 612 792] >>",
        "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /CropBox [10 10 600 780] >>",
        "<< /Length 44 >>\nstream\nBT /F1 12 Tf 72 712 Td (Hello, fuzz) Tj ET\nendstream",
        "<< /Type /Page /Parent 2 0 R /Contents [4 0 R] /Rotate 180 >>",
    ];
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// Whether lopdf, loading without a password, sees encryption: `Some(true)` when the trailer
/// still points at an `/Encrypt` dictionary or lopdf decrypted the file on loading (it tries
/// the empty user password), `Some(false)` when neither, `None` when it does not load.
pub fn pdf_sees_encryption(bytes: &[u8]) -> Option<bool> {
    lopdf::Document::load_mem(bytes)
        .ok()
        .map(|d| d.trailer.get(b"Encrypt").is_ok() || d.encryption_state.is_some())
}

/// Whether lopdf loads the PDF and finds a reference to an object number the file does not
/// define (a dangling reference, common in damaged files).
pub fn pdf_has_dangling_references(bytes: &[u8]) -> bool {
    use lopdf::Object;
    let Ok(doc) = lopdf::Document::load_mem(bytes) else {
        return false;
    };
    let mut stack: Vec<&Object> = doc.objects.values().chain(doc.trailer.iter().map(|(_, v)| v)).collect();
    while let Some(o) = stack.pop() {
        match o {
            Object::Reference(id) if !doc.objects.contains_key(id) => return true,
            Object::Array(a) => stack.extend(a.iter()),
            Object::Dictionary(d) => stack.extend(d.iter().map(|(_, v)| v)),
            Object::Stream(s) => stack.extend(s.dict.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Pre-checks that keep key derivation cheap
// ---------------------------------------------------------------------------------------------

/// Whether every value of the XML attribute `name` in `text` is a plain decimal number no
/// larger than [`MAX_CHEAP_ROUNDS`]. Conservative: a value written any other way (character
/// references, signs) counts as expensive, so the input is skipped rather than slow.
pub fn rounds_are_cheap(text: &[u8], name: &[u8]) -> bool {
    let mut rest = text;
    while let Some(at) = rest.windows(name.len()).position(|w| w == name) {
        rest = rest.get(at + name.len()..).unwrap_or_default();
        let after: &[u8] = rest.trim_ascii_start();
        let Some(after) = after.strip_prefix(b"=") else {
            continue;
        };
        let after = after.trim_ascii_start();
        let Some((&quote, value)) = after.split_first() else {
            return false;
        };
        if quote != b'"' && quote != b'\'' {
            return false;
        }
        let Some(end) = value.iter().position(|&b| b == quote) else {
            return false;
        };
        let digits = value.get(..end).unwrap_or_default().trim_ascii();
        if digits.is_empty() || digits.len() > 7 || !digits.iter().all(u8::is_ascii_digit) {
            return false;
        }
        let n: u64 = std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(u64::MAX);
        if n > MAX_CHEAP_ROUNDS {
            return false;
        }
    }
    true
}

/// Whether decrypting this Office file costs little: the `spinCount` in its EncryptionInfo
/// (read with the same container library the decryptor uses; the raw bytes when the container
/// does not open) is small.
pub fn office_is_cheap(data: &[u8]) -> bool {
    let info = cfb::CompoundFile::open(Cursor::new(data)).ok().and_then(|mut cf| {
        let stream = cf.open_stream("/EncryptionInfo").ok()?;
        let mut v = Vec::new();
        stream.take(1 << 20).read_to_end(&mut v).ok()?;
        Some(v)
    });
    rounds_are_cheap(info.as_deref().unwrap_or(data), b"spinCount") && rounds_are_cheap(data, b"spinCount")
}

/// Whether decrypting this ODF package costs little: every `iteration-count` in its manifest
/// (read as the decryptor reads it) is small.
pub fn odf_is_cheap(data: &[u8]) -> bool {
    let Ok(mut archive) = zip::ZipArchive::new(Cursor::new(data)) else {
        return true;
    };
    let Some(index) = archive.index_for_name("META-INF/manifest.xml") else {
        return true;
    };
    let Ok(file) = archive.by_index(index) else {
        return true;
    };
    let mut xml = Vec::new();
    if file.take((1 << 20) + 1).read_to_end(&mut xml).is_err() {
        // Unreadable: the decryptor fails reading it too, before any key derivation.
        return true;
    }
    xml.len() <= 1 << 20 && rounds_are_cheap(&xml, b"iteration-count")
}

// ---------------------------------------------------------------------------------------------
// At-rest objects
// ---------------------------------------------------------------------------------------------

/// The master key every at-rest seed is encrypted under.
pub fn at_rest_master() -> MasterKey {
    MasterKey::from_bytes([0x42; 32])
}

/// The object id of every at-rest seed.
pub const AT_REST_ID: ObjectId = ObjectId([0x5A; 16]);

/// Control bytes in front of the stored object in an `at_rest_decrypt` input.
pub const AT_REST_CONTROL_LEN: usize = 5;

/// The plaintext of every at-rest seed of length `len`: its length (u64 little endian) in the
/// first 8 bytes, then a byte that depends only on the position. So any plaintext released
/// by a decryptor can be checked without knowing which seed the damaged input came from:
/// bytes at position 8 and beyond must follow the pattern, and a complete plaintext must
/// carry its own length.
pub fn at_rest_plaintext(len: usize) -> Vec<u8> {
    let mut v: Vec<u8> = (0..len).map(at_rest_byte).collect();
    for (dst, src) in v.iter_mut().zip((len as u64).to_le_bytes()) {
        *dst = src;
    }
    v
}

/// The pattern byte at position `i` (8 and beyond).
pub fn at_rest_byte(i: usize) -> u8 {
    ((i as u64).wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8
}

/// At-rest seeds: (control bytes ‖ stored object) for a few lengths and chunk sizes.
pub fn at_rest_seeds() -> Vec<Vec<u8>> {
    use rand::SeedableRng as _;
    use strongroom_crypto::{EncryptOptions, MIN_CHUNK_SIZE, StreamEncryptor};
    let mut seeds = Vec::new();
    let cases: [(usize, u32); 9] = [
        (0, 64),
        (5, MIN_CHUNK_SIZE),
        (8, MIN_CHUNK_SIZE),
        (40, MIN_CHUNK_SIZE),
        (64, 64),
        (100, 64),
        (300, 64),
        (600, 1008),
        (1500, 1008),
    ];
    for (n, (len, chunk_size)) in cases.into_iter().enumerate() {
        let rng = rand::rngs::StdRng::seed_from_u64(n as u64);
        let options = EncryptOptions { chunk_size, threads: 1 };
        let mut enc = StreamEncryptor::with_rng(&at_rest_master(), AT_REST_ID, options, rng).expect("encryptor");
        let mut stored = Vec::new();
        enc.update(&at_rest_plaintext(len), &mut stored).expect("encrypt");
        enc.finish(&mut stored).expect("encrypt");
        // Control: threads / piece size, then range start and length (u16 each).
        let control = [n as u8 * 29, (n * 7) as u8, 0, (len / 3) as u8, 0];
        seeds.push([control.as_slice(), &stored].concat());
    }
    seeds
}
