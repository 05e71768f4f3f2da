//! PDF password protection: AES-256 encryption, security handler revision 6 (ISO 32000-2,
//! 7.6.4), with a user password (to open), an owner password (to change permissions) and
//! permission bits; and removal of protection given a password.
//!
//! The cryptography is lopdf's; this module chooses the parameters (V5/R6, AESV3 crypt
//! filters for strings and streams, metadata encrypted, a fresh random file key and /ID),
//! enforces our policy (no double encryption, the owner password is needed to lift
//! restrictions) and maps errors. lopdf works on whole documents in memory.

use std::collections::BTreeMap;
use std::sync::Arc;

use lopdf::encryption::crypt_filters::{Aes256CryptFilter, CryptFilter};
use lopdf::{Document, EncryptionState, EncryptionVersion, LoadOptions, Object, Permissions, StringFormat};
use rand::TryRngCore as _;
use zeroize::Zeroizing;

use crate::{Error, Format, Result, detect_format};

/// R6 passwords are UTF-8 (after SASLprep) and only the first 127 bytes count; longer ones
/// are refused rather than silently truncated.
const MAX_PASSWORD_BYTES: usize = 127;
/// Name of the crypt filter we declare in /CF and use for /StmF and /StrF.
const CRYPT_FILTER: &[u8] = b"StdCF";
const EXPECTED: &str = "a PDF document";

/// What a person who opens the document with the user password may do. Viewers enforce
/// these; they are not cryptographic, which is why lifting them needs the owner password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdfPermissions {
    /// Print, at full quality (bits 3 and 12).
    pub print: bool,
    /// Copy or extract text and graphics (bit 5). Extraction for accessibility (bit 10) is
    /// always allowed, as PDF 2.0 requires.
    pub copy: bool,
    /// Change the document: modify contents (bit 4) and assemble pages (bit 11).
    pub modify: bool,
    /// Add or change annotations (bit 6) and fill in form fields (bit 9).
    pub annotate: bool,
}

impl PdfPermissions {
    /// Everything allowed: only the user password protects the document.
    pub const ALL: PdfPermissions = PdfPermissions {
        print: true,
        copy: true,
        modify: true,
        annotate: true,
    };
    /// Nothing allowed beyond viewing.
    pub const NONE: PdfPermissions = PdfPermissions {
        print: false,
        copy: false,
        modify: false,
        annotate: false,
    };

    fn to_lopdf(self) -> Permissions {
        let mut p = Permissions::COPYABLE_FOR_ACCESSIBILITY;
        if self.print {
            p |= Permissions::PRINTABLE | Permissions::PRINTABLE_IN_HIGH_QUALITY;
        }
        if self.copy {
            p |= Permissions::COPYABLE;
        }
        if self.modify {
            p |= Permissions::MODIFIABLE | Permissions::ASSEMBLABLE;
        }
        if self.annotate {
            p |= Permissions::ANNOTABLE | Permissions::FILLABLE;
        }
        p
    }

    fn from_lopdf(p: Permissions) -> Self {
        PdfPermissions {
            print: p.contains(Permissions::PRINTABLE),
            copy: p.contains(Permissions::COPYABLE),
            modify: p.contains(Permissions::MODIFIABLE),
            annotate: p.contains(Permissions::ANNOTABLE),
        }
    }
}

/// How to protect a PDF.
#[derive(Debug, Clone, Copy)]
pub struct PdfProtection<'a> {
    /// Password needed to open the document; empty means anyone can open it (and only the
    /// permissions restrict them).
    pub user_password: &'a str,
    /// Password that lifts the permissions. `None` draws a random one nobody knows, so the
    /// restrictions can never be lifted (the document can still be decrypted with the user
    /// password when everything is permitted).
    pub owner_password: Option<&'a str>,
    /// What a user-password holder may do.
    pub permissions: PdfPermissions,
}

/// Encryption facts of a protected PDF, as read back from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdfEncryptionInfo {
    /// Security handler revision (`/R`): 6 for what we write.
    pub revision: i64,
    /// Permissions granted to a user-password holder.
    pub permissions: PdfPermissions,
}

fn check_password(pw: &str) -> Result<()> {
    if pw.len() > MAX_PASSWORD_BYTES {
        return Err(Error::InvalidPassword("longer than 127 bytes in UTF-8"));
    }
    Ok(())
}

fn random_bytes<const N: usize>() -> Result<Zeroizing<[u8; N]>> {
    let mut out = Zeroizing::new([0u8; N]);
    rand::rngs::OsRng
        .try_fill_bytes(out.as_mut_slice())
        .map_err(|_| Error::Random)?;
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn map_lopdf(e: lopdf::Error) -> Error {
    use lopdf::encryption::DecryptionError;
    match e {
        lopdf::Error::InvalidPassword | lopdf::Error::Decryption(DecryptionError::IncorrectPassword) => {
            Error::WrongPassword
        }
        lopdf::Error::AlreadyEncrypted => Error::AlreadyProtected,
        lopdf::Error::NotEncrypted => Error::NotProtected,
        lopdf::Error::Decryption(
            DecryptionError::UnsupportedEncryption
            | DecryptionError::UnsupportedVersion
            | DecryptionError::UnsupportedRevision,
        ) => Error::UnsupportedEncryption(e.to_string()),
        lopdf::Error::Parse(_) | lopdf::Error::Xref(_) => Error::malformed("PDF", e.to_string()),
        other => Error::Pdf(other.to_string()),
    }
}

fn require_pdf(bytes: &[u8]) -> Result<()> {
    match detect_format(bytes) {
        Format::Pdf => Ok(()),
        found => Err(Error::WrongFormat {
            expected: EXPECTED,
            found,
        }),
    }
}

/// Encrypt a PDF with AES-256 (R6). Refuses a document that is already encrypted.
pub fn encrypt(pdf: &[u8], protection: &PdfProtection<'_>) -> Result<Vec<u8>> {
    require_pdf(pdf)?;
    check_password(protection.user_password)?;
    let random_owner;
    let owner_password = match protection.owner_password {
        Some(pw) => {
            check_password(pw)?;
            if pw.is_empty() {
                return Err(Error::InvalidPassword("empty owner password"));
            }
            if pw == protection.user_password {
                return Err(Error::InvalidOptions(
                    "the owner password must differ from the user password",
                ));
            }
            pw
        }
        None => {
            random_owner = Zeroizing::new(hex(random_bytes::<24>()?.as_slice()));
            random_owner.as_str()
        }
    };
    let mut doc = Document::load_mem(pdf).map_err(map_lopdf)?;
    // Encrypted with an empty user password, lopdf opens (decrypts) it silently: catch both.
    // A trailer that names an /Encrypt dictionary which cannot be read is still an encrypted
    // (damaged) file: encrypting its ciphertext again would bury it for good.
    if doc.is_encrypted() || doc.encryption_state.is_some() || doc.trailer.get(b"Encrypt").is_ok() {
        return Err(Error::AlreadyProtected);
    }

    // ISO 32000-2 14.4: /ID is required when /Encrypt is present. Keep a permanent first
    // element if the file had one; the second one changes with every revision.
    let id_first = doc
        .trailer
        .get(b"ID")
        .and_then(Object::as_array)
        .ok()
        .and_then(|a| a.first())
        .and_then(|o| o.as_str().ok())
        .filter(|s| !s.is_empty())
        .map(<[u8]>::to_vec);
    let id_second = random_bytes::<16>()?.to_vec();
    let id_first = id_first.unwrap_or_else(|| id_second.clone());
    doc.trailer.set(
        "ID",
        Object::Array(vec![
            Object::String(id_first, StringFormat::Hexadecimal),
            Object::String(id_second, StringFormat::Hexadecimal),
        ]),
    );

    let file_key = random_bytes::<32>()?;
    let mut filters: BTreeMap<Vec<u8>, Arc<dyn CryptFilter>> = BTreeMap::new();
    filters.insert(CRYPT_FILTER.to_vec(), Arc::new(Aes256CryptFilter));
    let version = EncryptionVersion::V5 {
        encrypt_metadata: true,
        crypt_filters: filters,
        file_encryption_key: file_key.as_slice(),
        stream_filter: CRYPT_FILTER.to_vec(),
        string_filter: CRYPT_FILTER.to_vec(),
        owner_password,
        user_password: protection.user_password,
        permissions: protection.permissions.to_lopdf(),
    };
    let state = EncryptionState::try_from(version).map_err(map_lopdf)?;
    reserve_referenced_ids(&mut doc);
    doc.encrypt(&state).map_err(map_lopdf)?;
    let mut out = Vec::with_capacity(pdf.len() + 1024);
    doc.save_to(&mut out)?;
    Ok(out)
}

/// Make sure lopdf gives new objects numbers that no reference in the file uses. lopdf numbers
/// a new object `max_id + 1`, and `max_id` counts only the objects the file defines; a damaged
/// file can still reference a number above it (a dangling reference, which readers treat as
/// null), and the new object (our `/Encrypt` dictionary) would then answer that reference,
/// say as a page. Iterative, so a deeply nested hostile file cannot overflow the stack.
pub(crate) fn reserve_referenced_ids(doc: &mut Document) {
    let mut max = doc.max_id;
    let mut stack: Vec<&Object> = doc.objects.values().chain(doc.trailer.iter().map(|(_, v)| v)).collect();
    while let Some(o) = stack.pop() {
        match o {
            Object::Reference((n, _)) => max = max.max(*n),
            Object::Array(a) => stack.extend(a.iter()),
            Object::Dictionary(d) => stack.extend(d.iter().map(|(_, v)| v)),
            Object::Stream(s) => stack.extend(s.dict.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    // A reference near u32::MAX leaves no number free: lopdf's `try_add_object` (which
    // `encrypt` uses) then fails cleanly; callers that add objects must check `max_id` first.
    doc.max_id = max;
}

/// Remove the protection of an encrypted PDF given a password.
///
/// The owner password always works. The user password works only when the document grants
/// every permission; otherwise [`Error::OwnerPasswordRequired`], since removing encryption
/// would also remove the restrictions the owner set.
pub fn decrypt(pdf: &[u8], password: &str) -> Result<Vec<u8>> {
    require_pdf(pdf)?;
    let mut doc = Document::load_mem_with_options(pdf, LoadOptions::with_password(password)).map_err(map_lopdf)?;
    if doc.is_encrypted() {
        // lopdf leaves /Encrypt in place when no password opened it.
        return Err(Error::WrongPassword);
    }
    let Some(state) = doc.encryption_state.clone() else {
        return Err(Error::NotProtected);
    };
    // lopdf tries the empty user password before ours, so check ours explicitly against the
    // security handler: as owner, or as user when nothing is restricted.
    let probe = probe_document(&doc, &state)?;
    let is_owner = probe.authenticate_owner_password(password).is_ok();
    if !is_owner {
        if probe.authenticate_user_password(password).is_err() {
            return Err(Error::WrongPassword);
        }
        if PdfPermissions::from_lopdf(state.permissions()) != PdfPermissions::ALL {
            return Err(Error::OwnerPasswordRequired);
        }
    }
    doc.encryption_state = None;
    let mut out = Vec::with_capacity(pdf.len());
    doc.save_to(&mut out)?;
    Ok(out)
}

/// Read the encryption facts of a PDF without a password; `None` if it is not encrypted.
pub fn encryption_info(pdf: &[u8]) -> Result<Option<PdfEncryptionInfo>> {
    require_pdf(pdf)?;
    let doc = Document::load_mem(pdf).map_err(map_lopdf)?;
    if let Some(state) = doc.encryption_state.as_ref() {
        return Ok(Some(PdfEncryptionInfo {
            revision: state.revision(),
            permissions: PdfPermissions::from_lopdf(state.permissions()),
        }));
    }
    let Ok(dict) = doc.get_encrypted() else {
        if doc.trailer.get(b"Encrypt").is_ok() {
            return Err(Error::malformed(
                "PDF",
                "the trailer names an /Encrypt dictionary that cannot be read",
            ));
        }
        return Ok(None);
    };
    let revision = dict
        .get(b"R")
        .and_then(Object::as_i64)
        .map_err(|_| Error::malformed("PDF", "/Encrypt has no /R"))?;
    let p = dict
        .get(b"P")
        .and_then(Object::as_i64)
        .map_err(|_| Error::malformed("PDF", "/Encrypt has no /P"))?;
    // /P is a signed 32-bit integer; its bits are the permissions.
    let bits = u64::from(p as u32);
    Ok(Some(PdfEncryptionInfo {
        revision,
        permissions: PdfPermissions::from_lopdf(Permissions::from_bits_retain(bits)),
    }))
}

/// A minimal document holding only the `/Encrypt` dictionary and `/ID`, so lopdf's password
/// checks can run after loading removed them from the real document.
fn probe_document(doc: &Document, state: &EncryptionState) -> Result<Document> {
    let mut probe = Document::with_version("2.0");
    let dict = state.encode().map_err(|e| map_lopdf(e.into()))?;
    let id = probe.add_object(Object::Dictionary(dict));
    probe.trailer.set("Encrypt", Object::Reference(id));
    if let Ok(file_id) = doc.trailer.get(b"ID") {
        probe.trailer.set("ID", file_id.clone());
    }
    Ok(probe)
}
