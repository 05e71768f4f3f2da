//! PDF password protection: AES-256 encryption, security handler revision 6 (ISO 32000-2,
//! 7.6.4), with a user password (to open), an owner password (to change permissions) and
//! permission bits; and removal of protection given a password.
//!
//! The encryption of strings and streams is lopdf's; this module chooses the parameters
//! (V5/R6, AESV3 crypt filters for strings and streams, metadata encrypted, a fresh random file
//! key and /ID), prepares passwords as PDF 2.0 says ([`crate::password::prepare_pdf`]: SASLprep,
//! at most 127 bytes), computes the password entries of `/Encrypt` from those bytes (`r6`),
//! enforces our policy (no double encryption, the owner password is needed to lift
//! restrictions) and maps errors. lopdf works on whole documents in memory.
//!
//! lopdf is never given a revision-5/6 password as text: it would run it through a SASLprep
//! that refuses every emoji (issue 8). Writing goes through `r6`; opening authenticates the
//! prepared bytes with lopdf's byte-level calls and then re-keys `/Encrypt` (see
//! `reopen_with_empty_user_password`).

mod r6;

use lopdf::encryption::DecryptionError;
use lopdf::{
    Dictionary, Document, EncryptionState, EncryptionVersion, IncrementalDocument, LoadOptions, Object, Permissions,
    StringFormat,
};
use rand::TryRngCore as _;
use zeroize::Zeroizing;

use crate::password::{self, PasswordRole};
use crate::{Error, Format, Result, detect_format};

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

    /// The 32 bits of `/P`: our permissions, plus the bits ISO 32000-2 (table 22) reserves
    /// as 1 (7–8 and 13–32, counted from 1), as lopdf sets them too.
    fn p_value(self) -> u32 {
        (self.to_lopdf().bits() as u32) | 0b11 << 6 | 0xF << 12 | 0xFFFF << 16
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
    match e {
        // A password lopdf cannot even prepare cannot be the one that opens the document.
        lopdf::Error::InvalidPassword
        | lopdf::Error::Decryption(DecryptionError::IncorrectPassword | DecryptionError::StringPrep(_)) => {
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

/// Encrypt a PDF with AES-256 (R6). Refuses a document that is already encrypted, and a
/// password [`crate::password::prepare_pdf`] refuses ([`Error::UnusablePassword`]).
pub fn encrypt(pdf: &[u8], protection: &PdfProtection<'_>) -> Result<Vec<u8>> {
    require_pdf(pdf)?;
    let user = password::prepare_pdf(protection.user_password, PasswordRole::Password)?;
    let owner = match protection.owner_password {
        Some(pw) => {
            if pw.is_empty() {
                return Err(Error::InvalidPassword("empty owner password"));
            }
            let owner = password::prepare_pdf(pw, PasswordRole::OwnerPassword)?;
            // Compared as prepared: "a\u{A0}b" and "a b" are the same PDF password.
            if owner == user {
                return Err(Error::InvalidOptions(
                    "the owner password must differ from the user password",
                ));
            }
            owner
        }
        None => Zeroizing::new(hex(random_bytes::<24>()?.as_slice())),
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
    let salts = r6::Salts {
        user_validation: *random_bytes::<8>()?,
        user_key: *random_bytes::<8>()?,
        owner_validation: *random_bytes::<8>()?,
        owner_key: *random_bytes::<8>()?,
        perms_filler: *random_bytes::<4>()?,
    };
    let params = r6::Params {
        file_key: &file_key,
        permissions: protection.permissions.p_value(),
        encrypt_metadata: true,
        crypt_filter: CRYPT_FILTER,
    };
    let dict = r6::encrypt_dictionary(user.as_bytes(), owner.as_bytes(), &params, &salts)?;
    let state = read_back(dict, &doc, user.as_bytes(), owner.as_bytes(), file_key.as_slice())?;
    reserve_referenced_ids(&mut doc);
    doc.encrypt(&state).map_err(map_lopdf)?;
    let mut out = Vec::with_capacity(pdf.len() + 1024);
    doc.save_to(&mut out)?;
    Ok(out)
}

/// lopdf's own reading of the `/Encrypt` dictionary `r6` computed: its Algorithm 2.A must
/// accept both passwords, check `/Perms` and unwrap the very file key we chose, or nothing is
/// encrypted (a mistake here would lock the document for good).
fn read_back(dict: Dictionary, doc: &Document, user: &[u8], owner: &[u8], file_key: &[u8]) -> Result<EncryptionState> {
    let probe = probe_with(dict, doc);
    let wrong = |what: &str| Error::Pdf(format!("the new /Encrypt dictionary does not read back: {what}"));
    probe
        .authenticate_raw_owner_password(owner)
        .map_err(|_| wrong("owner password"))?;
    let state = EncryptionState::decode(&probe, user).map_err(|_| wrong("user password"))?;
    if state.file_encryption_key() != file_key {
        return Err(wrong("file key"));
    }
    Ok(state)
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
/// would also remove the restrictions the owner set. Any password is accepted for trying
/// (documents made elsewhere may use characters we would not set); for revisions 5 and 6 its
/// SASLprep form is tried first, then its bytes as given (what qpdf hashes).
pub fn decrypt(pdf: &[u8], password: &str) -> Result<Vec<u8>> {
    require_pdf(pdf)?;
    let doc = Document::load_mem(pdf).map_err(map_lopdf)?;
    if doc.is_encrypted() {
        // lopdf leaves /Encrypt in place when the empty user password did not open it.
        return decrypt_with_password(pdf, doc, password);
    }
    let Some(state) = doc.encryption_state.clone() else {
        return Err(Error::NotProtected);
    };
    // Opened with the empty user password: check ours against the security handler, as
    // owner, or as user when nothing is restricted.
    let probe = probe_document(&doc, &state)?;
    let (opener, _) = authenticate(&probe, state.revision(), password)?;
    require_right_to_lift(opener, state.permissions())?;
    without_encryption(doc, pdf.len())
}

/// Who a password opens a document as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opener {
    Owner,
    User,
}

/// Which password `password` is for `doc`, whose `/Encrypt` is in its trailer, and (revisions 5
/// and 6) the bytes that matched. Older revisions leave the encoding (PDFDocEncoding) to lopdf.
fn authenticate(doc: &Document, revision: i64, password: &str) -> Result<(Opener, Zeroizing<Vec<u8>>)> {
    if revision >= 5 {
        for candidate in password::pdf_candidates(password) {
            if doc.authenticate_raw_owner_password(candidate.as_slice()).is_ok() {
                return Ok((Opener::Owner, candidate));
            }
            if doc.authenticate_raw_user_password(candidate.as_slice()).is_ok() {
                return Ok((Opener::User, candidate));
            }
        }
        return Err(Error::WrongPassword);
    }
    let bytes = Zeroizing::new(password.as_bytes().to_vec());
    if doc.authenticate_owner_password(password).is_ok() {
        Ok((Opener::Owner, bytes))
    } else if doc.authenticate_user_password(password).is_ok() {
        Ok((Opener::User, bytes))
    } else {
        Err(Error::WrongPassword)
    }
}

fn require_right_to_lift(opener: Opener, permissions: Permissions) -> Result<()> {
    if opener == Opener::User && PdfPermissions::from_lopdf(permissions) != PdfPermissions::ALL {
        return Err(Error::OwnerPasswordRequired);
    }
    Ok(())
}

fn without_encryption(mut doc: Document, size_hint: usize) -> Result<Vec<u8>> {
    doc.encryption_state = None;
    let mut out = Vec::with_capacity(size_hint);
    doc.save_to(&mut out)?;
    Ok(out)
}

/// [`decrypt`] of a document the empty password does not open.
fn decrypt_with_password(pdf: &[u8], doc: Document, password: &str) -> Result<Vec<u8>> {
    let revision = doc
        .get_encrypted()
        .and_then(|d| d.get(b"R"))
        .and_then(Object::as_i64)
        .map_err(|_| Error::malformed("PDF", "/Encrypt has no /R"))?;
    if revision < 5 {
        // RC4/AES-128 documents from elsewhere: lopdf's own password handling.
        let opened = Document::load_mem_with_options(pdf, LoadOptions::with_password(password)).map_err(map_lopdf)?;
        let Some(state) = opened.encryption_state.clone().filter(|_| !opened.is_encrypted()) else {
            return Err(Error::WrongPassword);
        };
        let probe = probe_document(&opened, &state)?;
        let (opener, _) = authenticate(&probe, revision, password)?;
        require_right_to_lift(opener, state.permissions())?;
        return without_encryption(opened, pdf.len());
    }
    let (opener, bytes) = authenticate(&doc, revision, password)?;
    let state = EncryptionState::decode(&doc, bytes.as_slice()).map_err(map_lopdf)?;
    require_right_to_lift(opener, state.permissions())?;
    let opened = reopen_with_empty_user_password(pdf, doc, &state)?;
    without_encryption(opened, pdf.len())
}

/// Load `pdf` decrypted with the file key in `state`, which the right password unlocked.
///
/// lopdf's reader decrypts only with a password it prepares itself, refusing emoji (see
/// [`crate::password`]), or with the empty user password, which it always tries first. So an
/// incremental update, in memory only, replaces `/Encrypt` (object `doc` names) by one for
/// the same file key and filters whose user password is empty, and lopdf loads that: every
/// string and stream decrypts with the real key. The result is saved without encryption, so
/// the stand-in dictionary never leaves this function.
fn reopen_with_empty_user_password(pdf: &[u8], mut doc: Document, state: &EncryptionState) -> Result<Document> {
    let encrypt_id = doc
        .trailer
        .get(b"Encrypt")
        .and_then(Object::as_reference)
        .map_err(|_| Error::malformed("PDF", "/Encrypt is not a reference to a dictionary"))?;
    let owner = Zeroizing::new(hex(random_bytes::<24>()?.as_slice()));
    let stand_in = EncryptionState::try_from(EncryptionVersion::V5 {
        encrypt_metadata: state.encrypt_metadata(),
        crypt_filters: state.crypt_filters().clone(),
        file_encryption_key: state.file_encryption_key(),
        stream_filter: state.default_stream_filter().to_vec(),
        string_filter: state.default_string_filter().to_vec(),
        owner_password: &owner,
        user_password: "",
        permissions: state.permissions(),
    })
    .map_err(map_lopdf)?;
    let dict = stand_in.encode().map_err(|e| map_lopdf(e.into()))?;
    // lopdf refuses an update on a still-encrypted revision: the reference moves to the
    // update's trailer instead.
    doc.trailer.remove(b"Encrypt");
    // lopdf counts offsets from the `%PDF-` header, so the update is appended to the bytes
    // from there on.
    let start = pdf.windows(5).position(|w| w == b"%PDF-").unwrap_or(0);
    let mut update = IncrementalDocument::create_from(pdf.get(start..).unwrap_or(pdf).to_vec(), doc);
    update
        .new_document
        .trailer
        .set("Encrypt", Object::Reference(encrypt_id));
    update.new_document.set_object(encrypt_id, Object::Dictionary(dict));
    let mut bytes = Vec::with_capacity(pdf.len() + 2048);
    update.save_to(&mut bytes)?;
    let opened = Document::load_mem(&bytes).map_err(map_lopdf)?;
    if opened.is_encrypted() || opened.encryption_state.is_none() {
        return Err(Error::malformed("PDF", "the document could not be decrypted"));
    }
    Ok(opened)
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
    let dict = state.encode().map_err(|e| map_lopdf(e.into()))?;
    Ok(probe_with(dict, doc))
}

fn probe_with(dict: Dictionary, doc: &Document) -> Document {
    let mut probe = Document::with_version("2.0");
    let id = probe.add_object(Object::Dictionary(dict));
    probe.trailer.set("Encrypt", Object::Reference(id));
    if let Ok(file_id) = doc.trailer.get(b"ID") {
        probe.trailer.set("ID", file_id.clone());
    }
    probe
}
