//! Strongroom's backup archive (`docs/formats/backup-v1.md`): tar members, compressed with
//! zstd, encrypted with age, the manifest of every member's size and SHA-256 last. Writing
//! and reading stream: memory stays flat whatever the archive's size. The archive opens with
//! standard tools alone (`age -d | zstd -d | tar -x`); reading it here also checks it all.
//!
//! What this crate does not know: what the members mean (the database rows, the blobs, the
//! keys). Those are the caller's; here an archive is named members in order, and proof that
//! they are the ones written.

use sha2::{Digest, Sha256};
use std::io::{self, Read, Write};

/// Every member's name starts with this.
pub const PREFIX: &str = "strongroom-backup/";
/// The first member, and its exact content.
pub const FORMAT_MEMBER: &str = "strongroom-backup/FORMAT";
pub const FORMAT_TEXT: &[u8] = b"strongroom-backup 1\n";
/// The last member.
pub const MANIFEST_MEMBER: &str = "strongroom-backup/MANIFEST.json";
/// zstd level: fast, and within a few per cent of the higher levels on documents (most
/// office files and PDFs are compressed already).
const ZSTD_LEVEL: i32 = 3;
/// A manifest is read whole: bounded, so a forged one cannot exhaust memory.
const MANIFEST_MAX: u64 = 512 << 20;

/// Why an archive cannot be written or is refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The key does not open it, or it is not an age file.
    #[error("cannot decrypt the archive: {0}")]
    Key(String),
    /// Not a Strongroom backup, or one this release cannot read.
    #[error("not a Strongroom backup: {0}")]
    Format(String),
    /// Cut short: the manifest, which comes last, is missing.
    #[error("the archive is incomplete (truncated?): {0}")]
    Truncated(String),
    /// A member differs from what the manifest says of it.
    #[error("the archive is damaged or altered: {0}")]
    Mismatch(String),
    /// A member the caller gave is wrong (its size, its name).
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// The key an archive is written to: age X25519 recipients (`age1…`, whose identities the
/// administrator keeps) or a passphrase (age's scrypt).
pub enum Key {
    Recipients(Vec<String>),
    Passphrase(String),
}

/// What opens an archive: age identities (the lines of an identity file, `AGE-SECRET-KEY-1…`)
/// or the passphrase.
pub enum Unlock {
    Identities(String),
    Passphrase(String),
}

/// One member as the manifest records it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    members: Vec<Member>,
}

/// Whether a member name is one of ours: under the prefix, relative, no `..`, no empty or
/// hidden-control parts. A reader refuses any other (a tar is a list of paths to write to).
pub fn valid_name(name: &str) -> bool {
    name.strip_prefix(PREFIX).is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .split('/')
                .all(|part| !part.is_empty() && part != "." && part != ".." && !part.chars().any(char::is_control))
    })
}

/// Writes an archive member by member; [`Writer::finish`] adds the manifest and closes every
/// layer. Dropped before then, what was written has no manifest and is refused on reading.
pub struct Writer<W: Write> {
    tar: tar::Builder<zstd::stream::write::Encoder<'static, age::stream::StreamWriter<W>>>,
    members: Vec<Member>,
}

impl<W: Write> Writer<W> {
    /// Starts an archive on `out`, encrypted to `key`; writes the format member.
    pub fn new(out: W, key: &Key) -> Result<Writer<W>> {
        let encryptor = match key {
            Key::Recipients(list) => {
                if list.is_empty() {
                    return Err(Error::Invalid(
                        "a backup needs at least one recipient or a passphrase".into(),
                    ));
                }
                let mut recipients: Vec<age::x25519::Recipient> = Vec::new();
                for r in list {
                    let parsed: age::x25519::Recipient = r
                        .trim()
                        .parse()
                        .map_err(|e| Error::Invalid(format!("{r:?} is not an age recipient (age1…): {e}")))?;
                    recipients.push(parsed);
                }
                age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
                    .map_err(|e| Error::Invalid(format!("the recipients: {e}")))?
            }
            Key::Passphrase(p) => {
                if p.chars().count() < 12 {
                    return Err(Error::Invalid(
                        "a backup passphrase needs at least 12 characters".into(),
                    ));
                }
                age::Encryptor::with_user_passphrase(age::secrecy::SecretString::from(p.clone()))
            }
        };
        let sealed = encryptor.wrap_output(out).map_err(|e| Error::Key(e.to_string()))?;
        let compressed = zstd::stream::write::Encoder::new(sealed, ZSTD_LEVEL)?;
        let mut tar = tar::Builder::new(compressed);
        tar.mode(tar::HeaderMode::Deterministic);
        let mut w = Writer {
            tar,
            members: Vec::new(),
        };
        w.add(FORMAT_MEMBER, FORMAT_TEXT.len() as u64, FORMAT_TEXT)?;
        Ok(w)
    }

    /// Adds a member of exactly `size` bytes read from `data`; fewer or more is an error (the
    /// archive is then unusable: start again).
    pub fn add(&mut self, name: &str, size: u64, data: impl Read) -> Result<()> {
        if !valid_name(name) || name == MANIFEST_MEMBER || self.members.iter().any(|m| m.name == name) {
            return Err(Error::Invalid(format!(
                "{name:?} is not a member name this archive can take"
            )));
        }
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o600);
        header.set_entry_type(tar::EntryType::Regular);
        let mut hashing = Hashing::new(data.take(size));
        self.tar.append_data(&mut header, name, &mut hashing)?;
        if hashing.count != size {
            return Err(Error::Invalid(format!(
                "{name}: {} bytes given for {size}",
                hashing.count
            )));
        }
        // More than declared would mean the source changed while it was read.
        let mut extra = [0u8; 1];
        if hashing.inner.into_inner().read(&mut extra)? != 0 {
            return Err(Error::Invalid(format!("{name}: longer than the {size} bytes declared")));
        }
        self.members.push(Member {
            name: name.to_string(),
            size,
            sha256: hex::encode(hashing.digest.finalize()),
        });
        Ok(())
    }

    /// The members written so far.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// Writes the manifest, ends the tar, the zstd frame and the age stream, and returns the
    /// output (for the caller to flush to disk before naming it complete).
    pub fn finish(mut self) -> Result<W> {
        let manifest = serde_json::to_vec_pretty(&Manifest {
            members: self.members.clone(),
        })
        .map_err(|e| Error::Invalid(e.to_string()))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(manifest.len() as u64);
        header.set_mode(0o600);
        header.set_entry_type(tar::EntryType::Regular);
        self.tar.append_data(&mut header, MANIFEST_MEMBER, &manifest[..])?;
        let compressed = self.tar.into_inner()?;
        let sealed = compressed.finish()?;
        Ok(sealed.finish()?)
    }
}

/// A reader that hashes and counts what passes through it.
struct Hashing<R> {
    inner: R,
    digest: Sha256,
    count: u64,
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Hashing<R> {
        Hashing {
            inner,
            digest: Sha256::new(),
            count: 0,
        }
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digest.update(buf.get(..n).unwrap_or_default());
        self.count += n as u64;
        Ok(n)
    }
}

/// Reads an archive from `input`, handing each member (after the format member, before the
/// manifest) to `visit` with its name, size and content, and checks everything against the
/// manifest at the end: any difference, a missing or extra member, a wrong order, a missing
/// manifest, is an error naming what is wrong. What `visit` saw is trustworthy only once
/// this returns `Ok`: a restore writes into a scratch place and keeps it only then.
pub fn read<R: Read>(
    input: R,
    unlock: &Unlock,
    mut visit: impl FnMut(&str, u64, &mut dyn Read) -> Result<()>,
) -> Result<Vec<Member>> {
    let decryptor = age::Decryptor::new(input).map_err(|e| Error::Key(e.to_string()))?;
    let opened = match unlock {
        Unlock::Passphrase(p) => {
            let id = age::scrypt::Identity::new(age::secrecy::SecretString::from(p.clone()));
            decryptor.decrypt(std::iter::once(&id as &dyn age::Identity))
        }
        Unlock::Identities(text) => {
            let ids = age::IdentityFile::from_buffer(text.as_bytes())
                .map_err(|e| Error::Key(format!("the identity file cannot be read: {e}")))?
                .into_identities()
                .map_err(|e| Error::Key(format!("the identity file cannot be read: {e}")))?;
            decryptor.decrypt(ids.iter().map(|i| i.as_ref() as &dyn age::Identity))
        }
    }
    .map_err(|e| Error::Key(e.to_string()))?;
    let decompressed = zstd::stream::read::Decoder::new(opened)?;
    let mut tar = tar::Archive::new(decompressed);
    let mut seen: Vec<Member> = Vec::new();
    let mut manifest: Option<Manifest> = None;
    let entries = tar.entries().map_err(|e| damaged("the tar stream", &e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| damaged("the tar stream", &e))?;
        let name = entry
            .path()
            .map_err(|e| damaged("a member's name", &e))?
            .to_str()
            .map(str::to_string)
            .ok_or_else(|| Error::Format("a member's name is not UTF-8".into()))?;
        if manifest.is_some() {
            return Err(Error::Mismatch(format!("{name} comes after the manifest")));
        }
        if entry.header().entry_type() != tar::EntryType::Regular || !valid_name(&name) {
            return Err(Error::Format(format!("{name:?} is not a member a backup holds")));
        }
        let size = entry.size();
        if name == MANIFEST_MEMBER {
            if size > MANIFEST_MAX {
                return Err(Error::Format(format!("the manifest is {size} bytes")));
            }
            let mut text = Vec::new();
            entry.read_to_end(&mut text).map_err(|e| damaged(&name, &e))?;
            manifest = Some(
                serde_json::from_slice(&text)
                    .map_err(|e| Error::Mismatch(format!("the manifest cannot be read: {e}")))?,
            );
            continue;
        }
        let mut hashing = Hashing::new(&mut entry);
        if seen.is_empty() {
            if name != FORMAT_MEMBER {
                return Err(Error::Format(format!("it starts with {name:?}, not {FORMAT_MEMBER}")));
            }
            let mut text = Vec::new();
            (&mut hashing)
                .take(64)
                .read_to_end(&mut text)
                .map_err(|e| damaged(&name, &e))?;
            if text != FORMAT_TEXT {
                return Err(Error::Format(format!(
                    "its format is {:?}; this release reads {:?}",
                    String::from_utf8_lossy(&text).trim(),
                    String::from_utf8_lossy(FORMAT_TEXT).trim()
                )));
            }
        } else {
            visit(&name, size, &mut hashing)?;
            io::copy(&mut hashing, &mut io::sink()).map_err(|e| damaged(&name, &e))?;
        }
        seen.push(Member {
            name,
            size: hashing.count,
            sha256: hex::encode(hashing.digest.finalize()),
        });
    }
    let Some(manifest) = manifest else {
        return Err(Error::Truncated(format!(
            "no manifest after {} members{}",
            seen.len(),
            seen.last()
                .map(|m| format!(" (the last: {})", m.name))
                .unwrap_or_default()
        )));
    };
    compare(&manifest.members, &seen)?;
    Ok(seen)
}

/// A read error inside the layers: age's and zstd's integrity failures surface as I/O errors.
fn damaged(what: &str, e: &io::Error) -> Error {
    Error::Mismatch(format!("{what}: {e}"))
}

/// The members read against the manifest, naming the first difference.
fn compare(listed: &[Member], seen: &[Member]) -> Result<()> {
    for (i, m) in seen.iter().enumerate() {
        match listed.get(i) {
            None => return Err(Error::Mismatch(format!("{} is not in the manifest", m.name))),
            Some(l) if l.name != m.name => {
                return Err(Error::Mismatch(format!(
                    "member {} is {}, the manifest says {}",
                    i + 1,
                    m.name,
                    l.name
                )));
            }
            Some(l) if l.size != m.size || l.sha256 != m.sha256 => {
                return Err(Error::Mismatch(format!(
                    "{}: {} bytes with SHA-256 {}, the manifest says {} bytes with {}",
                    m.name, m.size, m.sha256, l.size, l.sha256
                )));
            }
            Some(_) => {}
        }
    }
    if let Some(missing) = listed.get(seen.len()) {
        return Err(Error::Mismatch(format!("{} is missing", missing.name)));
    }
    Ok(())
}
