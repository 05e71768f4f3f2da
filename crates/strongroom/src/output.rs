//! The one way the CLI writes a command's result to `-o OUT`.
//!
//! Renaming a temporary file over OUT is the right way to replace a document (a failed run
//! leaves the old one), and the wrong way to write to `/dev/null`: the rename replaces the
//! device with a private regular file, and every other program that writes to `/dev/null`
//! fails (issue 8). So the kind of OUT decides how it is written:
//!
//! | OUT | written |
//! |---|---|
//! | `-` | to standard output |
//! | absent, or a regular file | atomically: a new mode-0600 temporary file next to OUT, fsynced, renamed onto OUT |
//! | character or block device, FIFO | through: the existing node is opened for writing, never created, truncated or replaced |
//! | symbolic link | refused: following it would let whoever made the link choose which file we replace |
//! | directory, socket | refused |
//!
//! In every case nothing reaches OUT unless the command succeeded. A result that streams
//! (Office, ODF, xlsx) is first spooled into an already-unlinked 0600 file in `$TMPDIR`, so a
//! reader of a FIFO or of standard output never sees half a document, and no temporary file can
//! be left behind, even by a killed process.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{Seek as _, SeekFrom, Write};
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// What to do when OUT is an existing regular file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Replace it (documents). The new file is 0600, whatever the old one's mode was: the
    /// result may be the plaintext of a protected document, and inheriting a 0644 would
    /// publish it. Other hard links to the old file keep the old content.
    Replace,
    /// Refuse (key files: overwriting a master key loses every document encrypted under it).
    Keep,
}

/// Why OUT cannot be written. Every message names OUT and what to do instead.
#[derive(Debug)]
pub enum OutputError {
    /// `-o ""`.
    Empty,
    /// OUT is a directory.
    Directory(PathBuf),
    /// OUT is a symbolic link; we never write through one.
    Symlink(PathBuf),
    /// OUT is a socket (or another kind of node that cannot be opened for writing).
    Unwritable(PathBuf, &'static str),
    /// OUT exists and [`Existing::Keep`] forbids replacing it.
    Exists(PathBuf),
    /// OUT is a device or FIFO of another user: in a shared directory (`/tmp`) anyone can plant
    /// a FIFO under the name we were given and read the document out of it.
    ForeignOwner(PathBuf, u32),
    /// The device or FIFO at OUT was replaced by something else while the command ran.
    Changed(PathBuf),
    /// An I/O error on OUT (or on standard output, when `path` is `None`).
    Io(Option<PathBuf>, std::io::Error),
    /// The command's own error from producing the result, passed through unchanged.
    Command(String),
}

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => write!(f, "-o needs a file name (or - for standard output)"),
            Self::Directory(p) => write!(f, "{}: is a directory; give the output file's name", p.display()),
            Self::Symlink(p) => write!(
                f,
                "{}: is a symbolic link; refusing to write through it: give the path of the file itself, or - for standard output",
                p.display()
            ),
            Self::Unwritable(p, kind) => write!(
                f,
                "{}: is a {kind}; the output must be a regular file, a device, a FIFO or - (standard output)",
                p.display()
            ),
            Self::Exists(p) => write!(f, "{} exists and is never overwritten", p.display()),
            Self::ForeignOwner(p, uid) => write!(
                f,
                "{}: is a device or FIFO owned by another user (uid {uid}); refusing to write into it: remove it or choose another name",
                p.display()
            ),
            Self::Changed(p) => write!(
                f,
                "{}: was replaced by another file while the command ran; nothing was written",
                p.display()
            ),
            Self::Io(Some(p), e) => write!(f, "{}: cannot write: {e}", p.display()),
            Self::Io(None, e) => write!(f, "standard output: cannot write: {e}"),
            Self::Command(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for OutputError {}

impl From<OutputError> for String {
    fn from(e: OutputError) -> Self {
        e.to_string()
    }
}

/// Where OUT's bytes go, decided from what OUT is before any work is done.
#[derive(Debug)]
enum Dest {
    Stdout,
    /// Absent or a regular file: temporary file + rename (or link, for [`Existing::Keep`]).
    Replace(PathBuf),
    /// A device or FIFO, identified by (device, inode) so a swap is noticed on opening.
    Through(PathBuf, (u64, u64)),
}

/// Whether `-o OUT` means standard output.
pub fn is_stdout(out: &Path) -> bool {
    out.as_os_str() == "-"
}

/// Check OUT before the command reads its input or its passwords, so a bad `-o` is reported
/// first. [`write`] and [`write_bytes`] check again when they write.
pub fn check(out: &Path, existing: Existing) -> Result<(), OutputError> {
    resolve(out, existing).map(drop)
}

fn resolve(out: &Path, existing: Existing) -> Result<Dest, OutputError> {
    if is_stdout(out) {
        return Ok(Dest::Stdout);
    }
    if out.as_os_str().is_empty() {
        return Err(OutputError::Empty);
    }
    // lstat, not stat: a symbolic link is judged as itself, never by what it points to.
    let meta = match std::fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Dest::Replace(out.to_owned())),
        Err(e) => return Err(OutputError::Io(Some(out.to_owned()), e)),
    };
    let kind = meta.file_type();
    if kind.is_file() {
        return match existing {
            Existing::Replace => Ok(Dest::Replace(out.to_owned())),
            Existing::Keep => Err(OutputError::Exists(out.to_owned())),
        };
    }
    if kind.is_dir() {
        return Err(OutputError::Directory(out.to_owned()));
    }
    if kind.is_symlink() {
        return Err(OutputError::Symlink(out.to_owned()));
    }
    if kind.is_char_device() || kind.is_block_device() || kind.is_fifo() {
        if !may_write_through(meta.uid(), rustix::process::geteuid().as_raw()) {
            return Err(OutputError::ForeignOwner(out.to_owned(), meta.uid()));
        }
        return Ok(Dest::Through(out.to_owned(), identity(&meta)));
    }
    let what = if kind.is_socket() { "socket" } else { "special file" };
    Err(OutputError::Unwritable(out.to_owned(), what))
}

/// A device or FIFO is written through only if it is ours or root's (`/dev/null`, a tty,
/// a FIFO we made): never one that another user placed where our output was to go.
pub(crate) fn may_write_through(owner: u32, us: u32) -> bool {
    owner == us || owner == 0
}

fn identity(meta: &Metadata) -> (u64, u64) {
    (meta.dev(), meta.ino())
}

/// Write a result that a library streams into a seekable file. `fill` describes its own
/// errors; on any error OUT is untouched and no temporary file remains.
pub fn write(out: &Path, fill: impl FnOnce(&mut File) -> Result<(), String>) -> Result<(), String> {
    let fill = |f: &mut File| fill(f).map_err(OutputError::Command);
    match resolve(out, Existing::Replace)? {
        Dest::Replace(path) => atomic(&path, Existing::Replace, fill)?,
        Dest::Stdout => {
            let mut spool = spool(fill)?;
            to_stdout(|w| std::io::copy(&mut spool, w).map(drop))?;
        }
        Dest::Through(path, id) => {
            let mut spool = spool(fill)?;
            let mut target = open_through(&path, id)?;
            std::io::copy(&mut spool, &mut target)
                .and_then(|_| target.flush())
                .map_err(|e| OutputError::Io(Some(path.clone()), e))?;
        }
    }
    Ok(())
}

/// Write a result already in memory (PDFs, pictures, a key): no spooling needed.
pub fn write_bytes(out: &Path, existing: Existing, bytes: &[u8]) -> Result<(), OutputError> {
    match resolve(out, existing)? {
        Dest::Replace(path) => atomic(&path, existing, |f| {
            f.write_all(bytes).map_err(|e| OutputError::Io(Some(path.clone()), e))
        }),
        Dest::Stdout => to_stdout(|w| w.write_all(bytes)),
        Dest::Through(path, id) => open_through(&path, id)?
            .write_all(bytes)
            .map_err(|e| OutputError::Io(Some(path.clone()), e)),
    }
}

fn to_stdout(write: impl FnOnce(&mut std::io::StdoutLock<'_>) -> std::io::Result<()>) -> Result<(), OutputError> {
    let mut stdout = std::io::stdout().lock();
    write(&mut stdout)
        .and_then(|()| stdout.flush())
        .map_err(|e| OutputError::Io(None, e))
}

/// Open the existing device or FIFO for writing: no create, no truncate, so the node itself
/// never changes. The opened file must be the very node [`resolve`] saw; otherwise someone
/// swapped it (say, for a link to a regular file) in between, and we write nothing.
/// Opening a FIFO waits for a reader, like any writer into a FIFO.
fn open_through(path: &Path, id: (u64, u64)) -> Result<File, OutputError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = OpenOptions::new()
        .write(true)
        // Swapped for a link after the check: refuse it rather than follow it.
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
        .map_err(|e| OutputError::Io(Some(path.to_owned()), e))?;
    let meta = file.metadata().map_err(|e| OutputError::Io(Some(path.to_owned()), e))?;
    if identity(&meta) != id || meta.is_file() || meta.is_dir() {
        return Err(OutputError::Changed(path.to_owned()));
    }
    Ok(file)
}

/// Fill an unlinked private file in `$TMPDIR` and rewind it, for targets that cannot be
/// replaced atomically: they receive the result only once it is complete.
fn spool(fill: impl FnOnce(&mut File) -> Result<(), OutputError>) -> Result<File, OutputError> {
    let dir = std::env::temp_dir();
    let io = |e| OutputError::Io(Some(dir.clone()), e);
    let (path, mut file) = create_temp(&dir, "spool").map_err(io)?;
    // Unlinked at once: the open handle keeps the data, and nothing can be left behind.
    std::fs::remove_file(&path).map_err(io)?;
    fill(&mut file)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    Ok(file)
}

/// `fill` writes into a new temporary file in OUT's directory, which is then fsynced and
/// renamed onto OUT ([`Existing::Replace`]) or hard-linked to it, which fails if OUT appeared
/// meanwhile ([`Existing::Keep`]); then the directory is fsynced. On any error the temporary
/// file is removed and OUT is untouched.
fn atomic(
    out: &Path,
    existing: Existing,
    fill: impl FnOnce(&mut File) -> Result<(), OutputError>,
) -> Result<(), OutputError> {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let io = |e| OutputError::Io(Some(out.to_owned()), e);
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (tmp_path, mut tmp) = create_temp(&dir, &name).map_err(io)?;
    let result = fill(&mut tmp).and_then(|()| {
        tmp.flush().map_err(io)?;
        tmp.sync_all().map_err(io)?;
        drop(tmp);
        // A device or link may have appeared at OUT while we worked: look once more, so only
        // the nanoseconds before the rename remain (rename never follows a link).
        match resolve(out, existing)? {
            Dest::Replace(_) => {}
            _ => return Err(OutputError::Changed(out.to_owned())),
        }
        match existing {
            Existing::Replace => std::fs::rename(&tmp_path, out).map_err(io),
            Existing::Keep => std::fs::hard_link(&tmp_path, out).map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => OutputError::Exists(out.to_owned()),
                _ => io(e),
            }),
        }
    });
    // After a rename the temporary name is gone; after a link (or an error) it must go.
    if existing == Existing::Keep || result.is_err() {
        let _ = std::fs::remove_file(&tmp_path);
    }
    if result.is_ok() {
        // Make the new name durable; failure here leaves a correct OUT, so it is not reported.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
    }
    result
}

/// A new, empty, owner-only file `.NAME.strongroom-XXXX.tmp` in `dir`. The name only needs
/// to be unlikely to collide (creation is exclusive and retried): std's per-process random
/// hasher keys provide that without another dependency.
fn create_temp(dir: &Path, name: &str) -> std::io::Result<(PathBuf, File)> {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut last = None;
    for attempt in 0u32..16 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.write_u32(attempt);
        let path = dir.join(format!(".{name}.strongroom-{:016x}.tmp", h.finish()));
        match OpenOptions::new()
            .write(true)
            .read(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("cannot create a temporary file")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn only_our_own_or_roots_devices_and_fifos_are_written_through() {
        // (owner, us, written through)
        for (owner, us, want) in [
            (1000, 1000, true),
            (0, 1000, true),
            (0, 0, true),
            (65534, 1000, false),
            (1000, 0, false),
        ] {
            assert_eq!(may_write_through(owner, us), want, "owner {owner}, us {us}");
        }
        // As root, a FIFO planted by `nobody` is refused by name.
        if rustix::process::geteuid().is_root() {
            let dir = tempfile::tempdir().unwrap();
            let fifo = dir.path().join("plain.pdf");
            rustix::fs::mknodat(
                rustix::fs::CWD,
                &fifo,
                rustix::fs::FileType::Fifo,
                rustix::fs::Mode::from_raw_mode(0o666),
                0,
            )
            .unwrap();
            rustix::fs::chown(&fifo, Some(rustix::fs::Uid::from_raw(65534)), None).unwrap();
            match resolve(&fifo, Existing::Replace) {
                Err(e @ OutputError::ForeignOwner(_, 65534)) => {
                    assert!(e.to_string().contains("owned by another user"), "{e}")
                }
                Err(e) => panic!("{e}"),
                Ok(_) => panic!("a foreign FIFO was accepted"),
            }
        }
    }

    #[test]
    fn kinds_of_out() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(matches!(resolve(Path::new("-"), Existing::Keep), Ok(Dest::Stdout)));
        assert!(matches!(
            resolve(&dir.path().join("new"), Existing::Keep),
            Ok(Dest::Replace(_))
        ));
        assert!(matches!(resolve(&file, Existing::Replace), Ok(Dest::Replace(_))));
        assert!(matches!(resolve(&file, Existing::Keep), Err(OutputError::Exists(_))));
        assert!(matches!(
            resolve(&link, Existing::Replace),
            Err(OutputError::Symlink(_))
        ));
        assert!(matches!(
            resolve(dir.path(), Existing::Replace),
            Err(OutputError::Directory(_))
        ));
        assert!(matches!(
            resolve(Path::new(""), Existing::Replace),
            Err(OutputError::Empty)
        ));
        assert!(matches!(
            resolve(Path::new("/dev/null"), Existing::Keep),
            Ok(Dest::Through(..))
        ));
        let sock = dir.path().join("s");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        assert!(matches!(
            resolve(&sock, Existing::Replace),
            Err(OutputError::Unwritable(_, "socket"))
        ));
    }

    #[test]
    fn replaced_files_are_private_and_failures_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::write(&out, b"old").unwrap();
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
        let failed = write(&out, |f| {
            f.write_all(b"half").unwrap();
            Err("the transform failed".to_owned())
        });
        assert_eq!(failed.unwrap_err(), "the transform failed");
        assert_eq!(std::fs::read(&out).unwrap(), b"old");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
        write(&out, |f| f.write_all(b"new").map_err(|e| e.to_string())).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"new");
        assert_eq!(mode(&out), 0o600);
        assert!(matches!(
            write_bytes(&out, Existing::Keep, b"key"),
            Err(OutputError::Exists(_))
        ));
        let key = dir.path().join("key");
        write_bytes(&key, Existing::Keep, b"key").unwrap();
        assert_eq!((std::fs::read(&key).unwrap(), mode(&key)), (b"key".to_vec(), 0o600));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temporary file left"
        );
    }
}
