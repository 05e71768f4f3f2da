//! Password encryption of OOXML documents (.docx/.xlsx/.pptx) with MS-OFFCRYPTO Agile
//! Encryption, the scheme Microsoft Office, LibreOffice and ONLYOFFICE open with a password.
//!
//! We write AES-256-CBC, SHA-512, 100,000 password-hash rounds and the data-integrity HMAC, in
//! a Compound File container. Decryption refuses a wrong password (the password verifier does
//! not match: [`Error::WrongPassword`]) and a modified file (the HMAC over the encrypted
//! package does not match: [`Error::IntegrityCheckFailed`]) before releasing any plaintext.
//! The byte layout is documented in `docs/formats/office-agile.md`.

mod agile;
mod container;
mod dataspaces;
mod info;
mod package;

use std::io::{Read, Seek, SeekFrom, Write};

use rand::TryRngCore as _;
use subtle::ConstantTimeEq as _;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use self::agile::{
    Aes, BLOCK_KEY_HMAC_KEY, BLOCK_KEY_HMAC_VALUE, BLOCK_KEY_KEY_VALUE, BLOCK_KEY_VERIFIER_INPUT,
    BLOCK_KEY_VERIFIER_VALUE, HashAlg, derive_iv, derive_key, utf16le,
};
use self::info::{CipherParams, EncryptionInfo, MAX_INFO_LEN, MAX_SPIN_COUNT, PasswordKeyEncryptor};
use self::package::{PackageCipher, mac_stream};
use crate::{Error, Format, Result, detect_format, read_head};

/// Stream names at the root of the container (2.3.4.1). FROZEN.
const ENCRYPTION_INFO: &str = "/EncryptionInfo";
const ENCRYPTED_PACKAGE: &str = "/EncryptedPackage";
/// Container output is assembled in memory up to this size, then in a temporary file.
const SPOOL_LIMIT: usize = 16 * 1024 * 1024;
/// Office refuses passwords longer than 255 UTF-16 code units; so do we, on encryption.
const MAX_PASSWORD_UNITS: usize = 255;
/// What Office encryption accepts, for error messages.
const EXPECTED_PLAIN: &str = "an OOXML document (.docx/.xlsx/.pptx)";
const EXPECTED_ENCRYPTED: &str = "a password-encrypted OOXML document";

/// Tunable parameters of [`encrypt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Rounds of the password hash (`spinCount`). Office writes 100,000; more slows down
    /// password guessing (and opening) proportionally. At most 10,000,000 (the schema's cap).
    pub spin_count: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options { spin_count: 100_000 }
    }
}

/// The random values one encryption uses. [`encrypt`] draws fresh ones from the operating
/// system every time; fixing them is only for reproducible test vectors — reusing them for
/// two documents would let anyone who knows one document read the other.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct KeyMaterial {
    /// `keyData/@saltValue`: salt of the package-segment IVs and integrity IVs.
    pub key_data_salt: [u8; 16],
    /// `p:encryptedKey/@saltValue`: salt of the password hash.
    pub password_salt: [u8; 16],
    /// The intermediate secret key that encrypts the package (AES-256).
    pub secret_key: [u8; 32],
    /// The random verifier whose hash proves the password is right.
    pub verifier_hash_input: [u8; 16],
    /// The HMAC-SHA512 key of the data-integrity check.
    pub hmac_key: [u8; 64],
}

impl KeyMaterial {
    /// Fresh values from the operating system's CSPRNG.
    pub fn random() -> Result<Self> {
        let mut m = KeyMaterial {
            key_data_salt: [0; 16],
            password_salt: [0; 16],
            secret_key: [0; 32],
            verifier_hash_input: [0; 16],
            hmac_key: [0; 64],
        };
        let mut rng = rand::rngs::OsRng;
        for buf in [
            m.key_data_salt.as_mut_slice(),
            m.password_salt.as_mut_slice(),
            m.secret_key.as_mut_slice(),
            m.verifier_hash_input.as_mut_slice(),
            m.hmac_key.as_mut_slice(),
        ] {
            rng.try_fill_bytes(buf).map_err(|_| Error::Random)?;
        }
        Ok(m)
    }
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyMaterial(..)")
    }
}

/// Encrypt the OOXML document read from `input` with `password`, writing the encrypted
/// Compound File to `output`.
///
/// The input is recognised by content; a PDF, an ODF file, a legacy `.doc` or an already
/// encrypted document is refused with a clear error. `input` must be seekable because the
/// plaintext size is written (and authenticated) before the data.
pub fn encrypt<R: Read + Seek, W: Write>(input: R, output: W, password: &str, options: &Options) -> Result<()> {
    encrypt_with_material(input, output, password, options, &KeyMaterial::random()?)
}

/// [`encrypt`] with caller-chosen salts and keys: for test vectors only (see [`KeyMaterial`]).
pub fn encrypt_with_material<R: Read + Seek, W: Write>(
    mut input: R,
    mut output: W,
    password: &str,
    options: &Options,
    material: &KeyMaterial,
) -> Result<()> {
    if password.is_empty() {
        return Err(Error::InvalidPassword("empty"));
    }
    // Used as given (UTF-16LE, no normalisation), as Word does; only what nobody can type
    // again is refused.
    crate::password::check(password, crate::password::PasswordRole::Password)?;
    if password.encode_utf16().count() > MAX_PASSWORD_UNITS {
        return Err(Error::InvalidPassword("longer than 255 characters"));
    }
    if options.spin_count > MAX_SPIN_COUNT {
        return Err(Error::InvalidOptions("spin_count above 10,000,000"));
    }
    let size = check_plain_ooxml(&mut input)?;
    let hash = HashAlg::Sha512;

    // 2.3.4.13: the password key encryptor (verifier + wrapped secret key).
    let pw = utf16le(password);
    let h = hash.password_hash(&material.password_salt, &pw, options.spin_count);
    let iv = derive_iv(hash, &material.password_salt, None);
    let wrap = |block_key: &[u8], value: &[u8]| -> Result<Vec<u8>> {
        Aes::new(&derive_key(hash, &h, block_key, 32))?.encrypt_value(&iv, value)
    };
    let verifier_hash = hash.digest(&[&material.verifier_hash_input]);
    let password_encryptor = PasswordKeyEncryptor {
        params: CipherParams {
            salt: material.password_salt.to_vec(),
            key_bytes: 32,
            hash,
        },
        spin_count: options.spin_count,
        encrypted_verifier_hash_input: wrap(&BLOCK_KEY_VERIFIER_INPUT, &material.verifier_hash_input)?,
        encrypted_verifier_hash_value: wrap(&BLOCK_KEY_VERIFIER_VALUE, &verifier_hash)?,
        encrypted_key_value: wrap(&BLOCK_KEY_KEY_VALUE, &material.secret_key)?,
    };

    // 2.3.4.15 + 2.3.4.14: the package, and the HMAC over the stream as written.
    let secret = Aes::new(&material.secret_key)?;
    let cipher = PackageCipher {
        key: &secret,
        hash,
        salt: &material.key_data_salt,
    };
    let mut mac = hash.hmac(&material.hmac_key)?;
    let spool = tempfile::SpooledTempFile::new(SPOOL_LIMIT);
    let mut cf = cfb::CompoundFile::create_with_version(cfb::Version::V3, spool)?;
    {
        let mut stream = cf.create_stream(ENCRYPTED_PACKAGE)?;
        cipher.encrypt(&mut input, size, &mut stream, &mut mac)?;
        stream.flush()?;
    }
    let hmac_value = Zeroizing::new(mac.finalize());
    let salt = &material.key_data_salt;
    let info = EncryptionInfo {
        key_data: CipherParams {
            salt: salt.to_vec(),
            key_bytes: 32,
            hash,
        },
        encrypted_hmac_key: secret
            .encrypt_value(&derive_iv(hash, salt, Some(&BLOCK_KEY_HMAC_KEY)), &material.hmac_key)?,
        encrypted_hmac_value: secret.encrypt_value(&derive_iv(hash, salt, Some(&BLOCK_KEY_HMAC_VALUE)), &hmac_value)?,
        password: password_encryptor,
    };
    cf.create_stream(ENCRYPTION_INFO)?.write_all(&info.to_bytes())?;
    dataspaces::write(&mut cf)?;
    cf.flush()?;

    let mut spool = cf.into_inner();
    spool.seek(SeekFrom::Start(0))?;
    std::io::copy(&mut spool, &mut output)?;
    output.flush()?;
    Ok(())
}

/// Decrypt a password-encrypted OOXML document read from `input`, writing the plain package
/// (a .docx/.xlsx/.pptx zip) to `output`.
///
/// Checks, in this order, before writing anything: the password verifier
/// ([`Error::WrongPassword`]), then the HMAC over the whole encrypted package
/// ([`Error::IntegrityCheckFailed`]). The input is read twice (once to authenticate, once to
/// decrypt) so that memory stays flat; it must not change in between.
pub fn decrypt<R: Read + Seek, W: Write>(mut input: R, output: W, password: &str) -> Result<()> {
    let head = read_head(&mut input)?;
    match detect_format(&head) {
        Format::CompoundFile => {}
        Format::Zip => return Err(Error::NotProtected),
        found => {
            return Err(Error::WrongFormat {
                expected: EXPECTED_ENCRYPTED,
                found,
            });
        }
    }
    match cfb::CompoundFile::open(&mut input) {
        Ok(cf) => decrypt_container(cf, output, password),
        Err(first) => match container::DifatRepair::new(&mut input)? {
            Some(repaired) => decrypt_container(open_container(repaired)?, output, password),
            None => Err(container_error(first)),
        },
    }
}

/// [`decrypt`] once the container is open.
fn decrypt_container<F: Read + Seek, W: Write>(mut cf: cfb::CompoundFile<F>, output: W, password: &str) -> Result<()> {
    if !cf.is_stream(ENCRYPTION_INFO) || !cf.is_stream(ENCRYPTED_PACKAGE) {
        return Err(Error::WrongFormat {
            expected: EXPECTED_ENCRYPTED,
            found: Format::CompoundFile,
        });
    }
    let mut info_bytes = Vec::new();
    cf.open_stream(ENCRYPTION_INFO)
        .map_err(container_error)?
        .take(MAX_INFO_LEN + 1)
        .read_to_end(&mut info_bytes)
        .map_err(container_error)?;
    if info_bytes.len() as u64 > MAX_INFO_LEN {
        return Err(Error::malformed("EncryptionInfo", "larger than 1 MiB"));
    }
    let info = EncryptionInfo::parse(&info_bytes)?;
    let secret_key = unlock(&info, password)?;
    let secret = Aes::new(&secret_key)?;

    // 2.3.4.14: authenticate the whole EncryptedPackage stream before decrypting any of it.
    let kd = &info.key_data;
    let hash_len = kd.hash.size();
    let hmac_key = secret.decrypt_value(
        &derive_iv(kd.hash, &kd.salt, Some(&BLOCK_KEY_HMAC_KEY)),
        &info.encrypted_hmac_key,
        hash_len,
        "encryptedHmacKey",
    )?;
    let expected = secret.decrypt_value(
        &derive_iv(kd.hash, &kd.salt, Some(&BLOCK_KEY_HMAC_VALUE)),
        &info.encrypted_hmac_value,
        hash_len,
        "encryptedHmacValue",
    )?;
    let mut mac = kd.hash.hmac(&hmac_key)?;
    mac_stream(cf.open_stream(ENCRYPTED_PACKAGE).map_err(container_error)?, &mut mac)?;
    if !bool::from(mac.finalize().ct_eq(&expected)) {
        return Err(Error::IntegrityCheckFailed);
    }

    let stream = cf.open_stream(ENCRYPTED_PACKAGE).map_err(container_error)?;
    let stream_len = stream.len();
    let cipher = PackageCipher {
        key: &secret,
        hash: kd.hash,
        salt: &kd.salt,
    };
    cipher.decrypt(stream, stream_len, output)
}

/// Whether `input` is a password-encrypted OOXML document (a Compound File holding
/// `EncryptionInfo` and `EncryptedPackage`). Rewinds `input`.
pub fn is_encrypted<R: Read + Seek>(mut input: R) -> Result<bool> {
    let head = read_head(&mut input)?;
    if detect_format(&head) != Format::CompoundFile {
        return Ok(false);
    }
    let encrypted = match cfb::CompoundFile::open(&mut input) {
        Ok(cf) => cf.is_stream(ENCRYPTION_INFO) && cf.is_stream(ENCRYPTED_PACKAGE),
        Err(first) => match container::DifatRepair::new(&mut input)? {
            Some(repaired) => {
                let cf = open_container(repaired)?;
                cf.is_stream(ENCRYPTION_INFO) && cf.is_stream(ENCRYPTED_PACKAGE)
            }
            None => return Err(container_error(first)),
        },
    };
    input.seek(SeekFrom::Start(0))?;
    Ok(encrypted)
}

/// In-memory convenience for [`encrypt`].
pub fn encrypt_bytes(plain: &[u8], password: &str, options: &Options) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    encrypt(std::io::Cursor::new(plain), &mut out, password, options)?;
    Ok(out)
}

/// In-memory convenience for [`decrypt`].
pub fn decrypt_bytes(encrypted: &[u8], password: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    decrypt(std::io::Cursor::new(encrypted), &mut out, password)?;
    Ok(out)
}

/// 2.3.4.13 in reverse: derive the password keys, check the verifier, unwrap the secret key.
fn unlock(info: &EncryptionInfo, password: &str) -> Result<Zeroizing<Vec<u8>>> {
    let pk = &info.password;
    let p = &pk.params;
    let h = p.hash.password_hash(&p.salt, &utf16le(password), pk.spin_count);
    let iv = derive_iv(p.hash, &p.salt, None);
    let key_for = |block_key: &[u8]| Aes::new(&derive_key(p.hash, &h, block_key, p.key_bytes));
    let verifier_input = key_for(&BLOCK_KEY_VERIFIER_INPUT)?.decrypt_value(
        &iv,
        &pk.encrypted_verifier_hash_input,
        p.salt.len(),
        "encryptedVerifierHashInput",
    )?;
    let verifier_hash = key_for(&BLOCK_KEY_VERIFIER_VALUE)?.decrypt_value(
        &iv,
        &pk.encrypted_verifier_hash_value,
        p.hash.size(),
        "encryptedVerifierHashValue",
    )?;
    if !bool::from(p.hash.digest(&[&verifier_input]).ct_eq(&verifier_hash)) {
        return Err(Error::WrongPassword);
    }
    key_for(&BLOCK_KEY_KEY_VALUE)?.decrypt_value(
        &iv,
        &pk.encrypted_key_value,
        info.key_data.key_bytes,
        "encryptedKeyValue",
    )
}

/// Refuse anything but a plain OOXML package (zip with `[Content_Types].xml`); return its size
/// and leave it rewound.
fn check_plain_ooxml<R: Read + Seek>(input: &mut R) -> Result<u64> {
    let head = read_head(input)?;
    match detect_format(&head) {
        Format::Zip => {}
        Format::CompoundFile => {
            return Err(if is_encrypted(&mut *input)? {
                Error::AlreadyProtected
            } else {
                Error::WrongFormat {
                    expected: EXPECTED_PLAIN,
                    found: Format::CompoundFile,
                }
            });
        }
        found => {
            return Err(Error::WrongFormat {
                expected: EXPECTED_PLAIN,
                found,
            });
        }
    }
    let size = input.seek(SeekFrom::End(0))?;
    input.seek(SeekFrom::Start(0))?;
    {
        let archive = zip::ZipArchive::new(&mut *input).map_err(|e| Error::malformed("zip archive", e.to_string()))?;
        if archive.index_for_name("[Content_Types].xml").is_none() {
            return Err(Error::WrongFormat {
                expected: EXPECTED_PLAIN,
                found: Format::Zip,
            });
        }
    }
    input.seek(SeekFrom::Start(0))?;
    Ok(size)
}

fn open_container<R: Read + Seek>(input: R) -> Result<cfb::CompoundFile<R>> {
    cfb::CompoundFile::open(input).map_err(container_error)
}

/// Structural errors of the container are reported as malformed input, not as I/O failures.
fn container_error(e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::InvalidData
        | std::io::ErrorKind::InvalidInput
        | std::io::ErrorKind::UnexpectedEof
        | std::io::ErrorKind::NotFound => Error::malformed("compound file", e.to_string()),
        _ => Error::Io(e),
    }
}
