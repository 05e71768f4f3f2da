//! `META-INF/manifest.xml` (ODF 1.2 part 3, section 4): reading the per-entry
//! `<manifest:encryption-data>`, adding it when encrypting, and removing it when decrypting.
//!
//! Edits are event-by-event copies of the original: every element and attribute we do not
//! own is kept as written, so extension data (`loext:`, RDF, signatures' entries) survives.
//! Elements are recognised by namespace, not by prefix, since prefixes are the writer's choice.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use quick_xml::events::{BytesEnd, BytesStart, Event};
use quick_xml::name::{Namespace, QName, ResolveResult};
use quick_xml::reader::NsReader;

use crate::{Error, Result};

/// The manifest namespace (ODF 1.2 part 3, 4.1). FROZEN.
pub(super) const MANIFEST_NS: &[u8] = b"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0";

/// The `<manifest:encryption-data>` of one entry, as written in the file. Values are checked
/// by the caller, which knows which ones it supports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct EncryptionData {
    pub checksum_type: Option<String>,
    pub checksum: Vec<u8>,
    pub algorithm: Option<String>,
    pub iv: Vec<u8>,
    pub start_key_generation: Option<String>,
    pub start_key_size: Option<u32>,
    pub key_derivation: Option<String>,
    pub key_size: Option<u32>,
    pub iteration_count: Option<u32>,
    pub salt: Vec<u8>,
}

/// One `<manifest:file-entry>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FileEntry {
    pub full_path: String,
    /// `manifest:size`: the unencrypted, uncompressed size (present on encrypted entries).
    pub size: Option<u64>,
    pub encryption: Option<EncryptionData>,
}

/// What [`add_encryption`] writes for one entry.
#[derive(Debug, Clone)]
pub(super) struct NewEncryption {
    pub size: u64,
    pub checksum: [u8; 32],
    pub iv: [u8; 16],
    pub salt: [u8; 16],
    pub iterations: u32,
}

fn xml_error(e: impl std::fmt::Display) -> Error {
    Error::malformed("ODF manifest", e.to_string())
}

fn is_manifest_ns(r: &ResolveResult<'_>) -> bool {
    matches!(r, ResolveResult::Bound(Namespace(ns)) if *ns == MANIFEST_NS)
}

/// Attributes of `e` in the manifest namespace, by local name, unescaped.
fn manifest_attrs(reader: &NsReader<&[u8]>, e: &BytesStart<'_>) -> Result<BTreeMap<Vec<u8>, String>> {
    let mut out = BTreeMap::new();
    for a in e.attributes() {
        let a = a.map_err(xml_error)?;
        let (ns, local) = reader.resolve_attribute(a.key);
        if is_manifest_ns(&ns) {
            let v = a.unescape_value().map_err(xml_error)?.into_owned();
            out.insert(local.as_ref().to_vec(), v);
        }
    }
    Ok(out)
}

fn number<T: std::str::FromStr>(attrs: &BTreeMap<Vec<u8>, String>, name: &[u8]) -> Result<Option<T>> {
    attrs
        .get(name)
        .map(|v| {
            v.trim().parse::<T>().map_err(|_| {
                Error::malformed(
                    "ODF manifest",
                    format!("{} is not a number: {v:?}", String::from_utf8_lossy(name)),
                )
            })
        })
        .transpose()
}

fn base64(attrs: &BTreeMap<Vec<u8>, String>, name: &[u8]) -> Result<Vec<u8>> {
    match attrs.get(name) {
        None => Ok(Vec::new()),
        Some(v) => B64.decode(v.trim()).map_err(|_| {
            Error::malformed(
                "ODF manifest",
                format!("{} is not base64", String::from_utf8_lossy(name)),
            )
        }),
    }
}

/// Read every file entry and its encryption data.
pub(super) fn parse(xml: &[u8]) -> Result<Vec<FileEntry>> {
    let mut reader = NsReader::from_reader(xml);
    let mut entries: Vec<FileEntry> = Vec::new();
    let mut in_entry = false;
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(xml_error)?;
        let ours = is_manifest_ns(&ns);
        match event {
            Event::Start(e) | Event::Empty(e) if ours => {
                let attrs = manifest_attrs(&reader, &e)?;
                let local = e.local_name();
                let current = entries.last_mut().filter(|_| in_entry);
                match (local.as_ref(), current) {
                    (b"file-entry", _) => {
                        let full_path = attrs
                            .get(b"full-path".as_slice())
                            .cloned()
                            .ok_or_else(|| Error::malformed("ODF manifest", "file-entry without full-path"))?;
                        entries.push(FileEntry {
                            full_path,
                            size: number(&attrs, b"size")?,
                            encryption: None,
                        });
                        in_entry = true;
                    }
                    (b"encryption-data", Some(entry)) => {
                        entry.encryption = Some(EncryptionData {
                            checksum_type: attrs.get(b"checksum-type".as_slice()).cloned(),
                            checksum: base64(&attrs, b"checksum")?,
                            ..EncryptionData::default()
                        });
                    }
                    (b"algorithm", Some(entry)) => {
                        if let Some(enc) = entry.encryption.as_mut() {
                            enc.algorithm = attrs.get(b"algorithm-name".as_slice()).cloned();
                            enc.iv = base64(&attrs, b"initialisation-vector")?;
                        }
                    }
                    (b"start-key-generation", Some(entry)) => {
                        if let Some(enc) = entry.encryption.as_mut() {
                            enc.start_key_generation = attrs.get(b"start-key-generation-name".as_slice()).cloned();
                            enc.start_key_size = number(&attrs, b"key-size")?;
                        }
                    }
                    (b"key-derivation", Some(entry)) => {
                        if let Some(enc) = entry.encryption.as_mut() {
                            enc.key_derivation = attrs.get(b"key-derivation-name".as_slice()).cloned();
                            enc.key_size = number(&attrs, b"key-size")?;
                            enc.iteration_count = number(&attrs, b"iteration-count")?;
                            enc.salt = base64(&attrs, b"salt")?;
                        }
                    }
                    _ => {}
                }
            }
            Event::End(e) if ours && e.local_name().as_ref() == b"file-entry" => in_entry = false,
            Event::Eof => break,
            _ => {}
        }
    }
    if entries.is_empty() {
        return Err(Error::malformed("ODF manifest", "no file entries"));
    }
    Ok(entries)
}

/// Full path of a `file-entry` start tag.
fn full_path(reader: &NsReader<&[u8]>, e: &BytesStart<'_>) -> Result<String> {
    manifest_attrs(reader, e)?
        .remove(b"full-path".as_slice())
        .ok_or_else(|| Error::malformed("ODF manifest", "file-entry without full-path"))
}

/// A copy of the start tag `e` without its `manifest:size` attribute, plus `size` if given.
fn with_size(reader: &NsReader<&[u8]>, e: &BytesStart<'_>, size: Option<u64>) -> Result<BytesStart<'static>> {
    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
    let mut out = BytesStart::new(name);
    for a in e.attributes() {
        let a = a.map_err(xml_error)?;
        let (ns, local) = reader.resolve_attribute(a.key);
        if is_manifest_ns(&ns) && local.as_ref() == b"size" {
            continue;
        }
        out.push_attribute(a);
    }
    if let Some(size) = size {
        out.push_attribute(("manifest:size", size.to_string().as_str()));
    }
    Ok(out)
}

/// The `<manifest:encryption-data>` element for one entry, in the shape LibreOffice writes.
fn encryption_data_xml(n: &NewEncryption) -> String {
    format!(
        concat!(
            "<manifest:encryption-data manifest:checksum-type=\"{ct}\" manifest:checksum=\"{ck}\">",
            "<manifest:algorithm manifest:algorithm-name=\"{alg}\" manifest:initialisation-vector=\"{iv}\"/>",
            "<manifest:start-key-generation manifest:start-key-generation-name=\"{skg}\" manifest:key-size=\"32\"/>",
            "<manifest:key-derivation manifest:key-derivation-name=\"PBKDF2\" manifest:key-size=\"32\" ",
            "manifest:iteration-count=\"{it}\" manifest:salt=\"{salt}\"/>",
            "</manifest:encryption-data>"
        ),
        ct = super::CHECKSUM_SHA256_1K,
        ck = B64.encode(n.checksum),
        alg = super::ALGORITHM_AES256_CBC,
        iv = B64.encode(n.iv),
        skg = super::START_KEY_SHA256,
        it = n.iterations,
        salt = B64.encode(n.salt),
    )
}

/// Copy `xml`, giving every entry named in `new` its `manifest:size` and encryption data.
/// Entries of `new` that the manifest does not list are added, as every stream of an ODF
/// package must be listed. New elements use the `manifest:` prefix, declared on the root if the
/// file bound the namespace differently.
pub(super) fn add_encryption(xml: &[u8], new: &BTreeMap<String, NewEncryption>) -> Result<Vec<u8>> {
    let mut reader = NsReader::from_reader(xml);
    let mut writer = quick_xml::Writer::new(Vec::with_capacity(xml.len() * 2 + new.len() * 700));
    let mut listed = BTreeSet::new();
    let mut depth = 0usize;
    let raw = |w: &mut quick_xml::Writer<Vec<u8>>, s: &str| -> Result<()> {
        w.get_mut().extend_from_slice(s.as_bytes());
        Ok(())
    };
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(xml_error)?;
        let ours = is_manifest_ns(&ns);
        match event {
            Event::Empty(_) if depth == 0 => {
                return Err(Error::malformed("ODF manifest", "no file entries"));
            }
            Event::Start(e) if depth == 0 => {
                if !ours || e.local_name().as_ref() != b"manifest" {
                    return Err(Error::malformed(
                        "ODF manifest",
                        "root element is not manifest:manifest",
                    ));
                }
                let mut root = e.to_owned();
                let prefix_ok = is_manifest_ns(&reader.resolve_element(QName(b"manifest:probe")).0);
                if !prefix_ok {
                    if e.attributes().flatten().any(|a| a.key.as_ref() == b"xmlns:manifest") {
                        return Err(Error::malformed(
                            "ODF manifest",
                            "prefix manifest bound to another namespace",
                        ));
                    }
                    root.push_attribute(("xmlns:manifest", "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"));
                }
                writer.write_event(Event::Start(root)).map_err(xml_error)?;
                depth = 1;
            }
            Event::Start(e) => {
                let mut tag = e.clone().into_owned();
                if ours && e.local_name().as_ref() == b"file-entry" && depth == 1 {
                    let path = full_path(&reader, &e)?;
                    if let Some(n) = new.get(&path) {
                        tag = with_size(&reader, &e, Some(n.size))?;
                        writer.write_event(Event::Start(tag)).map_err(xml_error)?;
                        raw(&mut writer, &encryption_data_xml(n))?;
                        listed.insert(path);
                        depth += 1;
                        continue;
                    }
                }
                writer.write_event(Event::Start(tag)).map_err(xml_error)?;
                depth += 1;
            }
            Event::Empty(e) => {
                if ours && e.local_name().as_ref() == b"file-entry" && depth == 1 {
                    let path = full_path(&reader, &e)?;
                    if let Some(n) = new.get(&path) {
                        let tag = with_size(&reader, &e, Some(n.size))?;
                        let end = BytesEnd::new(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                        writer.write_event(Event::Start(tag)).map_err(xml_error)?;
                        raw(&mut writer, &encryption_data_xml(n))?;
                        writer.write_event(Event::End(end)).map_err(xml_error)?;
                        listed.insert(path);
                        continue;
                    }
                }
                writer.write_event(Event::Empty(e)).map_err(xml_error)?;
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    for (path, n) in new.iter().filter(|(p, _)| !listed.contains(*p)) {
                        let mut tag = BytesStart::new("manifest:file-entry");
                        tag.push_attribute(("manifest:full-path", path.as_str()));
                        tag.push_attribute(("manifest:media-type", ""));
                        tag.push_attribute(("manifest:size", n.size.to_string().as_str()));
                        writer.write_event(Event::Start(tag)).map_err(xml_error)?;
                        raw(&mut writer, &encryption_data_xml(n))?;
                        raw(&mut writer, "</manifest:file-entry>")?;
                    }
                }
                writer.write_event(Event::End(e)).map_err(xml_error)?;
            }
            Event::Eof => break,
            other => writer.write_event(other).map_err(xml_error)?,
        }
    }
    if depth != 0 {
        return Err(Error::malformed("ODF manifest", "unexpected end of XML"));
    }
    Ok(writer.into_inner())
}

/// Copy `xml` without any `<manifest:encryption-data>` and without `manifest:size` on the
/// entries in `decrypted` (the size only describes encrypted streams).
pub(super) fn strip_encryption(xml: &[u8], decrypted: &BTreeSet<String>) -> Result<Vec<u8>> {
    let mut reader = NsReader::from_reader(xml);
    let mut writer = quick_xml::Writer::new(Vec::with_capacity(xml.len()));
    // Depth inside an encryption-data element being skipped (0 = not skipping).
    let mut skip = 0usize;
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(xml_error)?;
        let ours = is_manifest_ns(&ns);
        if skip > 0 {
            match event {
                Event::Start(_) => skip += 1,
                Event::End(_) => skip -= 1,
                Event::Eof => return Err(Error::malformed("ODF manifest", "unexpected end of XML")),
                _ => {}
            }
            continue;
        }
        match event {
            Event::Start(e) if ours && e.local_name().as_ref() == b"encryption-data" => skip = 1,
            Event::Empty(e) if ours && e.local_name().as_ref() == b"encryption-data" => {}
            Event::Start(e) if ours && e.local_name().as_ref() == b"file-entry" => {
                let tag = if decrypted.contains(&full_path(&reader, &e)?) {
                    with_size(&reader, &e, None)?
                } else {
                    e.into_owned()
                };
                writer.write_event(Event::Start(tag)).map_err(xml_error)?;
            }
            Event::Empty(e) if ours && e.local_name().as_ref() == b"file-entry" => {
                let tag = if decrypted.contains(&full_path(&reader, &e)?) {
                    with_size(&reader, &e, None)?
                } else {
                    e.into_owned()
                };
                writer.write_event(Event::Empty(tag)).map_err(xml_error)?;
            }
            Event::Eof => break,
            other => writer.write_event(other).map_err(xml_error)?,
        }
    }
    Ok(writer.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_enc(size: u64) -> NewEncryption {
        NewEncryption {
            size,
            checksum: [1; 32],
            iv: [2; 16],
            salt: [3; 16],
            iterations: 100_000,
        }
    }

    #[test]
    fn adds_parses_and_strips() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3"><manifest:file-entry manifest:full-path="/" manifest:media-type="x"/><manifest:file-entry manifest:full-path="a.xml" manifest:media-type="text/xml" manifest:size="1"/></manifest:manifest>"#;
        let mut new = BTreeMap::new();
        new.insert("a.xml".to_owned(), new_enc(42));
        new.insert("unlisted.bin".to_owned(), new_enc(7));
        let out = add_encryption(xml, &new).unwrap();
        let entries = parse(&out).unwrap();
        let paths: Vec<&str> = entries.iter().map(|e| e.full_path.as_str()).collect();
        assert_eq!(paths, ["/", "a.xml", "unlisted.bin"]);
        let a = &entries[1];
        assert_eq!(a.size, Some(42), "old size replaced, not duplicated");
        let enc = a.encryption.as_ref().unwrap();
        assert_eq!(enc.iv, [2; 16]);
        assert_eq!(enc.salt, [3; 16]);
        assert_eq!(enc.checksum, [1; 32]);
        assert_eq!(enc.iteration_count, Some(100_000));
        assert_eq!(enc.algorithm.as_deref(), Some(super::super::ALGORITHM_AES256_CBC));
        assert_eq!(entries[2].size, Some(7));
        assert!(entries[0].encryption.is_none());

        let decrypted: BTreeSet<String> = ["a.xml".to_owned(), "unlisted.bin".to_owned()].into();
        let stripped = strip_encryption(&out, &decrypted).unwrap();
        let again = parse(&stripped).unwrap();
        assert!(again.iter().all(|e| e.encryption.is_none() && e.size.is_none()));
        let text = String::from_utf8(stripped).unwrap();
        assert!(text.contains(r#"manifest:version="1.3""#), "{text}");
    }

    #[test]
    fn namespace_not_prefix_decides() {
        // Default namespace on the root: new elements need the manifest: prefix declared.
        let xml = br#"<manifest xmlns="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><file-entry full-path="a.xml"/></manifest>"#;
        // Unprefixed attributes are in no namespace, so this manifest names no full-path.
        assert!(parse(xml).is_err());
        let xml = br#"<m:manifest xmlns:m="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><m:file-entry m:full-path="a.xml"/></m:manifest>"#;
        let mut new = BTreeMap::new();
        new.insert("a.xml".to_owned(), new_enc(1));
        let out = add_encryption(xml, &new).unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(
            text.contains(r#"xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0""#),
            "{text}"
        );
        let entries = parse(&out).unwrap();
        assert_eq!(entries.len(), 1);
        assert!(entries[0].encryption.is_some());
        // Elements of other namespaces with the same local names are not ours.
        let foreign = br#"<m:manifest xmlns:m="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" xmlns:x="urn:x"><m:file-entry m:full-path="a"><x:encryption-data/></m:file-entry></m:manifest>"#;
        assert!(parse(foreign).unwrap()[0].encryption.is_none());
    }

    #[test]
    fn rejects_broken_manifests() {
        assert!(parse(b"").is_err());
        assert!(
            parse(b"<manifest:manifest xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\">")
                .is_err()
        );
        assert!(add_encryption(b"<other/>", &BTreeMap::new()).is_err());
        assert!(add_encryption(b"<a><b>", &BTreeMap::new()).is_err());
    }
}
