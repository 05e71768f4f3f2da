//! OpenDocument (.odt/.ods/.odp) password encryption, the flavour LibreOffice has written
//! since 3.4 and reads everywhere (ODF 1.2 part 3, 3.4 and 4.8): every stream of the package
//! except `mimetype` and `META-INF/*` is deflated, then encrypted with AES-256-CBC under a key
//! from PBKDF2-HMAC-SHA1 (100,000 rounds, 16-byte salt) of SHA-256(UTF-8 password); the
//! parameters and a SHA-256 checksum of the first 1024 deflated bytes go into
//! `META-INF/manifest.xml`. The byte layout is in `docs/formats/docs-odf.md`.
//!
//! The checksum is what tells a wrong password from a right one ([`Error::WrongPassword`]);
//! ODF has no MAC, so damage after the first KiB shows only as a deflate error or a size
//! mismatch ([`Error::IntegrityCheckFailed`]). Each stream is processed in memory, one at a
//! time, with a size cap against zip bombs.

mod manifest;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Read, Seek, Write};

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use rand::TryRngCore as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use self::manifest::{EncryptionData, FileEntry, NewEncryption};
use crate::{Error, Format, Result, detect_format, read_head};

/// Identifiers written to and accepted from the manifest. FROZEN: they are the format.
pub(crate) const ALGORITHM_AES256_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";
pub(crate) const START_KEY_SHA256: &str = "http://www.w3.org/2000/09/xmldsig#sha256";
pub(crate) const CHECKSUM_SHA256_1K: &str = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0#sha256-1k";
/// Other spellings readers meet in the wild (ODF 1.2 allows SHA-1 start keys and checksums).
const START_KEY_SHA256_ALT: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const START_KEY_SHA1: &[&str] = &["SHA1", "http://www.w3.org/2000/09/xmldsig#sha1"];
const CHECKSUM_SHA1_1K: &[&str] = &["SHA1/1K", "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0#sha1-1k"];

/// PBKDF2 rounds we write: what LibreOffice writes.
pub const ITERATIONS: u32 = 100_000;
/// Most PBKDF2 rounds we accept when decrypting; more is a denial of service, not security.
const MAX_ITERATIONS: u32 = 10_000_000;
/// Bytes of the deflated stream covered by the checksum (`…-1k`).
const CHECKSUM_SPAN: usize = 1024;
/// Largest stream we hold in memory, before and after inflating: bigger is refused as a
/// likely zip bomb.
const MAX_ENTRY: u64 = 512 * 1024 * 1024;
/// Largest manifest we parse.
const MAX_MANIFEST: u64 = 16 * 1024 * 1024;
const MIMETYPE: &str = "mimetype";
/// Longer than any ODF media type; more is damage.
const MAX_MIMETYPE: u64 = 256;
const MANIFEST: &str = "META-INF/manifest.xml";
const EXPECTED: &str = "an OpenDocument file (.odt/.ods/.odp)";

/// How the 32-byte start key is made from the password before PBKDF2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum StartKey {
    Sha256,
    Sha1,
}

/// How the password check is computed.
#[derive(Debug, Clone, Copy)]
enum Checksum {
    Sha256_1k,
    Sha1_1k,
}

/// The checked parameters of one encrypted stream.
struct StreamParams {
    start_key: StartKey,
    checksum: Checksum,
    expected: Vec<u8>,
    iv: [u8; 16],
    salt: Vec<u8>,
    iterations: u32,
    size: Option<u64>,
}

impl StreamParams {
    fn from_manifest(path: &str, size: Option<u64>, enc: &EncryptionData) -> Result<Self> {
        let unsupported = |what: String| Error::UnsupportedEncryption(format!("{path}: {what}"));
        match enc.algorithm.as_deref() {
            Some(ALGORITHM_AES256_CBC) => {}
            Some(a) if a.to_ascii_lowercase().contains("blowfish") => {
                return Err(unsupported(
                    "Blowfish (ODF 1.0/1.1); open and save it again in a current office suite".into(),
                ));
            }
            other => return Err(unsupported(format!("algorithm {other:?}"))),
        }
        let start_key = match enc.start_key_generation.as_deref() {
            Some(START_KEY_SHA256 | START_KEY_SHA256_ALT) => StartKey::Sha256,
            // ODF 1.2 part 3, 4.8.4: SHA-1 is the default when the element is absent.
            None => StartKey::Sha1,
            Some(s) if START_KEY_SHA1.contains(&s) => StartKey::Sha1,
            Some(other) => return Err(unsupported(format!("start key generation {other:?}"))),
        };
        let checksum = match enc.checksum_type.as_deref() {
            Some(CHECKSUM_SHA256_1K) => Checksum::Sha256_1k,
            Some(c) if CHECKSUM_SHA1_1K.contains(&c) => Checksum::Sha1_1k,
            other => return Err(unsupported(format!("checksum type {other:?}"))),
        };
        if enc.key_derivation.as_deref() != Some("PBKDF2") {
            return Err(unsupported(format!("key derivation {:?}", enc.key_derivation)));
        }
        if enc.key_size.unwrap_or(16) != 32 {
            return Err(unsupported(format!("key size {:?} for AES-256", enc.key_size)));
        }
        let iterations = enc
            .iteration_count
            .ok_or_else(|| Error::malformed("ODF manifest", format!("{path}: no iteration-count")))?;
        if iterations == 0 || iterations > MAX_ITERATIONS {
            return Err(unsupported(format!("iteration count {iterations}")));
        }
        let iv: [u8; 16] =
            enc.iv.as_slice().try_into().map_err(|_| {
                Error::malformed("ODF manifest", format!("{path}: initialisation vector is not 16 bytes"))
            })?;
        if enc.salt.is_empty() || enc.checksum.is_empty() {
            return Err(Error::malformed(
                "ODF manifest",
                format!("{path}: missing salt or checksum"),
            ));
        }
        Ok(StreamParams {
            start_key,
            checksum,
            expected: enc.checksum.clone(),
            iv,
            salt: enc.salt.clone(),
            iterations,
            size,
        })
    }
}

/// PBKDF2-HMAC-SHA1 of the start key (the hashed password), 32 bytes.
fn derive_key(password: &str, start: StartKey, salt: &[u8], iterations: u32) -> Zeroizing<[u8; 32]> {
    let start_key: Zeroizing<Vec<u8>> = Zeroizing::new(match start {
        StartKey::Sha256 => Sha256::digest(password.as_bytes()).to_vec(),
        StartKey::Sha1 => sha1::Sha1::digest(password.as_bytes()).to_vec(),
    });
    let mut key = Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2_hmac::<sha1::Sha1>(&start_key, salt, iterations, key.as_mut_slice());
    key
}

fn checksum(kind: Checksum, deflated: &[u8]) -> Vec<u8> {
    let head = deflated.get(..CHECKSUM_SPAN).unwrap_or(deflated);
    match kind {
        Checksum::Sha256_1k => Sha256::digest(head).to_vec(),
        Checksum::Sha1_1k => sha1::Sha1::digest(head).to_vec(),
    }
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    rand::rngs::OsRng.try_fill_bytes(&mut out).map_err(|_| Error::Random)?;
    Ok(out)
}

fn zip_error(e: zip::result::ZipError) -> Error {
    match e {
        zip::result::ZipError::Io(io) => Error::Io(io),
        other => Error::malformed("zip archive", other.to_string()),
    }
}

/// Open an ODF package, refusing other formats by content.
fn open_odf<R: Read + Seek>(mut input: R) -> Result<zip::ZipArchive<R>> {
    let head = read_head(&mut input)?;
    match detect_format(&head) {
        Format::Odf => {}
        found => {
            return Err(Error::WrongFormat {
                expected: EXPECTED,
                found,
            });
        }
    }
    let mut archive = zip::ZipArchive::new(input).map_err(zip_error)?;
    // The format was sniffed from the first local header; the reader goes by the central
    // directory, which ODF does not protect. Damage there could rename `mimetype` (it would
    // then pass through as an ordinary clear stream) or give it another size (a reader would
    // see another media type than the sniff did): insist the two agree on both.
    let Some(index) = archive.index_for_name(MIMETYPE) else {
        return Err(mimetype_disagrees());
    };
    if archive.by_index_raw(index).map_err(zip_error)?.header_start() != 0 {
        return Err(mimetype_disagrees());
    }
    let media_type = read_entry(&mut archive, index, MAX_MIMETYPE)?;
    let sniffed = head.get(crate::ODF_MEDIA_TYPE_AT..).unwrap_or_default();
    if !media_type.starts_with(crate::ODF_MEDIA_TYPE_PREFIX) || !sniffed.starts_with(&media_type) {
        return Err(mimetype_disagrees());
    }
    Ok(archive)
}

fn mimetype_disagrees() -> Error {
    Error::malformed(
        "ODF package",
        "the zip directory does not list the mimetype entry the file starts with (damaged file)",
    )
}

/// Read one entry (decompressed), at most `limit` bytes.
fn read_entry<R: Read + Seek>(archive: &mut zip::ZipArchive<R>, index: usize, limit: u64) -> Result<Vec<u8>> {
    let file = archive.by_index(index).map_err(zip_error)?;
    let name = file.name().map_err(zip_error)?.into_owned();
    let mut out = Vec::with_capacity(usize::try_from(file.size().min(limit)).unwrap_or(0));
    file.take(limit + 1).read_to_end(&mut out).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof => {
            Error::malformed("zip archive", format!("{name}: {e}"))
        }
        _ => Error::Io(e),
    })?;
    if out.len() as u64 > limit {
        return Err(Error::malformed(
            "ODF package",
            format!("{name} is larger than {limit} bytes"),
        ));
    }
    Ok(out)
}

fn read_manifest<R: Read + Seek>(archive: &mut zip::ZipArchive<R>) -> Result<(Vec<u8>, Vec<FileEntry>)> {
    let index = archive
        .index_for_name(MANIFEST)
        .ok_or_else(|| Error::malformed("ODF package", "no META-INF/manifest.xml"))?;
    let xml = crate::without_bom(read_entry(archive, index, MAX_MANIFEST)?);
    let entries = manifest::parse(&xml)?;
    Ok((xml, entries))
}

/// Streams that stay in clear text: the media type (readers sniff it) and META-INF, which
/// holds the manifest that describes the encryption (LibreOffice does the same).
fn stays_clear(name: &str) -> bool {
    name == MIMETYPE || name.starts_with("META-INF/") || name.ends_with('/')
}

fn stored(modified: Option<zip::DateTime>) -> zip::write::SimpleFileOptions {
    zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(modified.unwrap_or_default())
}

fn deflated(modified: Option<zip::DateTime>) -> zip::write::SimpleFileOptions {
    zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(modified.unwrap_or_default())
}

/// Whether `input` is an ODF package with encrypted streams. Rewinds nothing: takes the
/// reader by value.
pub fn is_encrypted<R: Read + Seek>(input: R) -> Result<bool> {
    let mut archive = open_odf(input)?;
    let (_, entries) = read_manifest(&mut archive)?;
    Ok(entries.iter().any(|e| e.encryption.is_some()))
}

/// Encrypt the ODF package read from `input` with `password`, writing the encrypted package
/// to `output`. Refuses anything that is not ODF by content, and a package that already has
/// encrypted streams ([`Error::AlreadyProtected`]).
///
/// One salt and key serve the whole package (one PBKDF2 run, not one per stream); every
/// stream gets its own random IV. Thumbnails are encrypted too, since they show the first page.
pub fn encrypt<R: Read + Seek, W: Write + Seek>(input: R, output: W, password: &str) -> Result<()> {
    if password.is_empty() {
        return Err(Error::InvalidPassword("empty"));
    }
    // Used as given (SHA-256 of its UTF-8, no normalisation), as LibreOffice does; only what
    // nobody can type again is refused.
    crate::password::check(password, crate::password::PasswordRole::Password)?;
    let mut archive = open_odf(input)?;
    let (manifest_xml, entries) = read_manifest(&mut archive)?;
    if entries.iter().any(|e| e.encryption.is_some()) {
        return Err(Error::AlreadyProtected);
    }
    let salt: [u8; 16] = random()?;
    let key = derive_key(password, StartKey::Sha256, &salt, ITERATIONS);

    let mut writer = zip::ZipWriter::new(output);
    let mut new = BTreeMap::new();
    for i in 0..archive.len() {
        let (name, modified) = {
            let f = archive.by_index_raw(i).map_err(zip_error)?;
            (f.name().map_err(zip_error)?.into_owned(), f.last_modified())
        };
        if name == MANIFEST {
            continue;
        }
        if name == MIMETYPE {
            // Must be first, stored, without extra fields (ODF 1.2 part 3, 3.3).
            let content = read_entry(&mut archive, i, 1024)?;
            writer.start_file(MIMETYPE, stored(modified)).map_err(zip_error)?;
            writer.write_all(&content)?;
            continue;
        }
        if stays_clear(&name) {
            writer
                .raw_copy_file(archive.by_index_raw(i).map_err(zip_error)?)
                .map_err(zip_error)?;
            continue;
        }
        let plain = Zeroizing::new(read_entry(&mut archive, i, MAX_ENTRY)?);
        let mut deflater = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        deflater.write_all(&plain)?;
        let mut data = Zeroizing::new(deflater.finish()?);
        let sum: [u8; 32] = Sha256::digest(data.get(..CHECKSUM_SPAN).unwrap_or(&data)).into();
        // PKCS#7 padding: a valid instance of xmlenc's padding (last byte = pad length).
        let pad = 16 - data.len() % 16;
        data.extend(std::iter::repeat_n(pad as u8, pad));
        let iv: [u8; 16] = random()?;
        let len = data.len();
        cbc::Encryptor::<aes::Aes256>::new(key.as_ref().into(), &iv.into())
            .encrypt_padded_mut::<NoPadding>(&mut data, len)
            .map_err(|_| Error::malformed("ODF stream", "block alignment"))?;
        writer.start_file(name.as_str(), stored(modified)).map_err(zip_error)?;
        writer.write_all(&data)?;
        new.insert(
            name,
            NewEncryption {
                size: plain.len() as u64,
                checksum: sum,
                iv,
                salt,
                iterations: ITERATIONS,
            },
        );
    }
    let manifest_out = manifest::add_encryption(&manifest_xml, &new)?;
    writer.start_file(MANIFEST, deflated(None)).map_err(zip_error)?;
    writer.write_all(&manifest_out)?;
    writer.finish().map_err(zip_error)?;
    Ok(())
}

/// Decrypt an encrypted ODF package read from `input`, writing the plain package to `output`.
///
/// The first encrypted stream's checksum proves the password ([`Error::WrongPassword`]); a
/// later mismatch, a deflate error or a size that differs from the manifest means the file
/// was damaged ([`Error::IntegrityCheckFailed`]). On error `output` holds garbage.
pub fn decrypt<R: Read + Seek, W: Write + Seek>(input: R, output: W, password: &str) -> Result<()> {
    let mut archive = open_odf(input)?;
    let (manifest_xml, entries) = read_manifest(&mut archive)?;
    let mut params = HashMap::new();
    for e in &entries {
        if let Some(enc) = &e.encryption {
            params.insert(
                e.full_path.clone(),
                StreamParams::from_manifest(&e.full_path, e.size, enc)?,
            );
        }
    }
    if params.is_empty() {
        return Err(Error::NotProtected);
    }
    // PBKDF2 once per distinct (start key, salt, rounds): LibreOffice salts each stream.
    let mut keys: HashMap<(StartKey, Vec<u8>, u32), Zeroizing<[u8; 32]>> = HashMap::new();
    let mut password_proven = false;
    let mut writer = zip::ZipWriter::new(output);
    let mut decrypted = BTreeSet::new();
    for i in 0..archive.len() {
        let (name, modified) = {
            let f = archive.by_index_raw(i).map_err(zip_error)?;
            (f.name().map_err(zip_error)?.into_owned(), f.last_modified())
        };
        if name == MANIFEST {
            continue;
        }
        let Some(p) = params.get(&name) else {
            if name == MIMETYPE {
                let content = read_entry(&mut archive, i, 1024)?;
                writer.start_file(MIMETYPE, stored(modified)).map_err(zip_error)?;
                writer.write_all(&content)?;
            } else {
                writer
                    .raw_copy_file(archive.by_index_raw(i).map_err(zip_error)?)
                    .map_err(zip_error)?;
            }
            continue;
        };
        let key = keys
            .entry((p.start_key, p.salt.clone(), p.iterations))
            .or_insert_with(|| derive_key(password, p.start_key, &p.salt, p.iterations));
        let mut data = Zeroizing::new(read_entry(&mut archive, i, MAX_ENTRY)?);
        let plain = decrypt_stream(&name, p, key, &mut data, password_proven)?;
        password_proven = true;
        writer
            .start_file(name.as_str(), deflated(modified))
            .map_err(zip_error)?;
        writer.write_all(&plain)?;
        decrypted.insert(name);
    }
    if let Some(missing) = params.keys().find(|k| !decrypted.contains(*k)) {
        return Err(Error::malformed(
            "ODF package",
            format!("the manifest lists {missing} as encrypted but the package has no such stream"),
        ));
    }
    let manifest_out = manifest::strip_encryption(&manifest_xml, &decrypted)?;
    writer.start_file(MANIFEST, deflated(None)).map_err(zip_error)?;
    writer.write_all(&manifest_out)?;
    writer.finish().map_err(zip_error)?;
    Ok(())
}

/// Decrypt, check and inflate one stream. A failed check is a wrong password until some
/// stream has proven the password right, and damage after that.
fn decrypt_stream(
    name: &str,
    p: &StreamParams,
    key: &[u8; 32],
    data: &mut [u8],
    password_proven: bool,
) -> Result<Zeroizing<Vec<u8>>> {
    let failed = || {
        if password_proven {
            Error::IntegrityCheckFailed
        } else {
            Error::WrongPassword
        }
    };
    if data.is_empty() || !data.len().is_multiple_of(16) {
        return Err(Error::malformed(
            "ODF stream",
            format!("{name}: encrypted size is not a multiple of 16"),
        ));
    }
    cbc::Decryptor::<aes::Aes256>::new(key.into(), &p.iv.into())
        .decrypt_padded_mut::<NoPadding>(data)
        .map_err(|_| Error::malformed("ODF stream", "block alignment"))?;
    // xmlenc padding: the last byte is the pad length (1..=16); the others are arbitrary
    // (LibreOffice writes random bytes, so PKCS#7 must not be enforced).
    let pad = usize::from(*data.last().unwrap_or(&0));
    let unpadded = match data.len().checked_sub(pad) {
        Some(len) if (1..=16).contains(&pad) => data.get(..len).unwrap_or_default(),
        _ => return Err(failed()),
    };
    if !bool::from(checksum(p.checksum, unpadded).ct_eq(&p.expected)) {
        return Err(failed());
    }
    let limit = p.size.unwrap_or(MAX_ENTRY).min(MAX_ENTRY);
    let mut plain = Zeroizing::new(Vec::with_capacity(usize::try_from(limit).unwrap_or(0).min(1 << 24)));
    flate2::read::DeflateDecoder::new(unpadded)
        .take(limit + 1)
        .read_to_end(&mut plain)
        .map_err(|_| Error::IntegrityCheckFailed)?;
    if plain.len() as u64 > limit || p.size.is_some_and(|s| s != plain.len() as u64) {
        return Err(Error::IntegrityCheckFailed);
    }
    Ok(plain)
}

/// In-memory convenience for [`encrypt`].
pub fn encrypt_bytes(plain: &[u8], password: &str) -> Result<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::new());
    encrypt(std::io::Cursor::new(plain), &mut out, password)?;
    Ok(out.into_inner())
}

/// In-memory convenience for [`decrypt`].
pub fn decrypt_bytes(encrypted: &[u8], password: &str) -> Result<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::new());
    decrypt(std::io::Cursor::new(encrypted), &mut out, password)?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_derivation_is_pbkdf2_sha1_of_sha256() {
        // Independent composition: PBKDF2 over the SHA-256 digest, checked against a second
        // call with the digest computed here.
        let salt = [7u8; 16];
        let k = derive_key("pässword", StartKey::Sha256, &salt, 1000);
        let mut expect = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha1::Sha1>(&Sha256::digest("pässword".as_bytes()), &salt, 1000, &mut expect);
        assert_eq!(*k, expect);
        assert_ne!(*derive_key("pässword", StartKey::Sha1, &salt, 1000), expect);
    }

    #[test]
    fn checksum_covers_only_the_first_kib() {
        let mut a = vec![1u8; 3000];
        let before = checksum(Checksum::Sha256_1k, &a);
        a[2000] = 9;
        assert_eq!(checksum(Checksum::Sha256_1k, &a), before);
        a[1023] = 9;
        assert_ne!(checksum(Checksum::Sha256_1k, &a), before);
        assert_eq!(checksum(Checksum::Sha256_1k, b"ab"), Sha256::digest(b"ab").to_vec());
    }

    #[test]
    fn clear_streams() {
        assert!(stays_clear("mimetype"));
        assert!(stays_clear("META-INF/manifest.xml"));
        assert!(stays_clear("Configurations2/"));
        assert!(!stays_clear("content.xml"));
        assert!(!stays_clear("Thumbnails/thumbnail.png"));
    }
}
