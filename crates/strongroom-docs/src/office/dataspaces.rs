//! The `\x06DataSpaces` storage that tells a reader the `EncryptedPackage` stream is
//! transformed by encryption (MS-OFFCRYPTO 2.1 data spaces, 2.3.4.1 for the names Office uses).
//!
//! Its content is constant for every encrypted document; it is built field by field from the
//! structures of the spec rather than pasted as opaque bytes, so each value can be reviewed.

use std::io::{Read, Seek, Write};

use crate::Result;

/// Storage/stream names (2.3.4.1). FROZEN.
pub(crate) const DATA_SPACES: &str = "/\u{6}DataSpaces";
const VERSION: &str = "/\u{6}DataSpaces/Version";
const DATA_SPACE_MAP: &str = "/\u{6}DataSpaces/DataSpaceMap";
const DATA_SPACE_INFO: &str = "/\u{6}DataSpaces/DataSpaceInfo";
const STRONG_DATA_SPACE: &str = "/\u{6}DataSpaces/DataSpaceInfo/StrongEncryptionDataSpace";
const TRANSFORM_INFO: &str = "/\u{6}DataSpaces/TransformInfo";
const STRONG_TRANSFORM: &str = "/\u{6}DataSpaces/TransformInfo/StrongEncryptionTransform";
const PRIMARY: &str = "/\u{6}DataSpaces/TransformInfo/StrongEncryptionTransform/\u{6}Primary";

/// `UNICODE-LP-P4` (2.1.2): LE32 byte length, UTF-16LE characters, zero padding to 4 bytes.
fn unicode_lp_p4(out: &mut Vec<u8>, s: &str) {
    let units: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    push_u32(out, units.len());
    out.extend_from_slice(&units);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

fn push_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

/// `Version` structure 1.0 (2.1.5) for reader, updater and writer versions.
fn versions_1_0(out: &mut Vec<u8>) {
    for _ in 0..3 {
        out.extend_from_slice(&[1, 0, 0, 0]);
    }
}

/// `DataSpaceVersionInfo` (2.1.5): feature "Microsoft.Container.DataSpaces", versions 1.0.
pub(crate) fn version_stream() -> Vec<u8> {
    let mut out = Vec::new();
    unicode_lp_p4(&mut out, "Microsoft.Container.DataSpaces");
    versions_1_0(&mut out);
    out
}

/// `DataSpaceMap` (2.1.6) with one `DataSpaceMapEntry` (2.1.6.1): the stream
/// `EncryptedPackage` is in the data space `StrongEncryptionDataSpace`.
pub(crate) fn data_space_map_stream() -> Vec<u8> {
    let mut entry = Vec::new();
    push_u32(&mut entry, 1); // ReferenceComponentCount
    push_u32(&mut entry, 0); // ReferenceComponent type: 0 = stream
    unicode_lp_p4(&mut entry, "EncryptedPackage");
    unicode_lp_p4(&mut entry, "StrongEncryptionDataSpace");
    let mut out = Vec::new();
    push_u32(&mut out, 8); // HeaderLength
    push_u32(&mut out, 1); // EntryCount
    push_u32(&mut out, entry.len() + 4); // Length of the entry, including this field
    out.extend_from_slice(&entry);
    out
}

/// `DataSpaceDefinition` (2.1.7): the data space applies one transform,
/// `StrongEncryptionTransform`.
pub(crate) fn strong_data_space_stream() -> Vec<u8> {
    let mut out = Vec::new();
    push_u32(&mut out, 8); // HeaderLength
    push_u32(&mut out, 1); // TransformReferenceCount
    unicode_lp_p4(&mut out, "StrongEncryptionTransform");
    out
}

/// `\x06Primary`: `TransformInfoHeader` (2.1.8) for the encryption transform
/// {FF9A3F03-56EF-4613-BDD5-5A41C1D07246}, then `EncryptionTransformInfo` (2.1.9) with an
/// empty name, zero block size and cipher mode, and Reserved = 4.
pub(crate) fn primary_stream() -> Vec<u8> {
    let mut id = Vec::new();
    push_u32(&mut id, 1); // TransformType: 1
    unicode_lp_p4(&mut id, "{FF9A3F03-56EF-4613-BDD5-5A41C1D07246}");
    let mut out = Vec::new();
    push_u32(&mut out, id.len() + 4); // TransformLength: bytes up to the end of TransformID
    out.extend_from_slice(&id);
    unicode_lp_p4(&mut out, "Microsoft.Container.EncryptionTransform");
    versions_1_0(&mut out);
    push_u32(&mut out, 0); // EncryptionName: empty UNICODE-LP-P4
    push_u32(&mut out, 0); // EncryptionBlockSize
    push_u32(&mut out, 0); // CipherMode
    push_u32(&mut out, 4); // Reserved: MUST be 4
    out
}

/// Create the whole `\x06DataSpaces` storage in `cf`.
pub(crate) fn write<F: Read + Write + Seek>(cf: &mut cfb::CompoundFile<F>) -> Result<()> {
    for storage in [DATA_SPACES, DATA_SPACE_INFO, TRANSFORM_INFO, STRONG_TRANSFORM] {
        cf.create_storage(storage)?;
    }
    let streams: [(&str, Vec<u8>); 4] = [
        (VERSION, version_stream()),
        (DATA_SPACE_MAP, data_space_map_stream()),
        (STRONG_DATA_SPACE, strong_data_space_stream()),
        (PRIMARY, primary_stream()),
    ];
    for (path, content) in streams {
        cf.create_stream(path)?.write_all(&content)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_match_the_spec_examples() {
        // Lengths from the spec's structure definitions (and every Office-written file).
        assert_eq!(version_stream().len(), 4 + 60 + 12);
        assert_eq!(&data_space_map_stream()[8..12], &104u32.to_le_bytes());
        assert_eq!(data_space_map_stream().len(), 8 + 104);
        assert_eq!(strong_data_space_stream().len(), 8 + 4 + 52);
        let p = primary_stream();
        assert_eq!(&p[..4], &88u32.to_le_bytes());
        assert_eq!(p.len(), 88 + 4 + 80 + 12 + 16);
        assert_eq!(&p[p.len() - 4..], &4u32.to_le_bytes());
    }
}
