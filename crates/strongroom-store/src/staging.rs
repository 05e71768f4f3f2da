//! Staging files of local uploads that never finished.
//!
//! object_store's `LocalFileSystem` writes every upload (one request or multipart) to a staging
//! file next to the final path and renames it into place when the upload completes; `copy`
//! stages a hard link the same way. On an error or a dropped upload it deletes the staging file
//! itself, but a process killed in between (`kill -9`, power cut, OOM) leaves it behind — as big
//! as the parts written so far. Its `list` skips such names, so the orphan check never sees
//! them: this module finds them by walking the blob directory itself.
//!
//! The walk is bounded: it follows our key layout only (`blobs/<shard>/<file>`, two levels),
//! never follows a symbolic link below the blob directory (a link is neither entered, listed
//! nor deleted), and stops after [`MAX_FOUND`] staging files (a later pass finds the rest).

use std::io;
use std::path::Path;
use std::time::UNIX_EPOCH;

/// Staging files one pass collects at most. Each is the trace of one killed upload, so there
/// are normally none; the bound only keeps a pathological directory from filling memory.
pub(crate) const MAX_FOUND: usize = 10_000;

/// Whether object_store's `LocalFileSystem` treats a file of this name as a staging file, not
/// an object. The pattern is object_store 0.14.2's (the version in Cargo.lock), `src/local.rs`:
/// `staged_upload_path` names a staging file `{dest}#{suffix}`, with `suffix` a counter from
/// `new_staged_upload` (uploads: 1, 2, … until the name is free) or from `copy_opts` (hard
/// links: 0, 1, …); and `is_valid_file_path`, which `list` uses to skip them, rejects exactly
/// the names whose part after the first `#` is non-empty and all ASCII digits. A name such as
/// `a#b` or `a#` is an ordinary object to it, so it is none of our business here either.
/// Keep this in step with object_store when upgrading it (the tests pin the real names).
pub(crate) fn is_staging_name(file_name: &str) -> bool {
    match file_name.split_once('#') {
        Some((_, suffix)) => !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

/// A staging file found under the blob directory.
#[derive(Debug)]
pub(crate) struct Found {
    /// Path relative to the store root, `/`-separated, as object keys are (`blobs/1e/1ec4…#1`).
    pub rel: String,
    pub size: u64,
    /// Last modified, ms since the epoch.
    pub modified: i64,
}

fn modified_ms(m: &std::fs::Metadata) -> io::Result<i64> {
    let t = m.modified()?;
    // A time before the epoch (a clock gone wrong) counts as very old.
    let ms = t.duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    Ok(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// Entries of a directory that vanish while it is read (an upload completing and renaming its
/// staging file, another node deleting it) are skipped, not errors.
fn gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
}

/// The staging files in `root/blobs/<shard>/` last modified before `cutoff` (ms; at most
/// [`MAX_FOUND`], sorted by name), and how many younger ones there are. `root` itself may be a
/// symbolic link (a blob directory on another disk); nothing below it is followed.
pub(crate) fn find(root: &Path, cutoff: i64) -> io::Result<(Vec<Found>, u64)> {
    let mut out = Vec::new();
    let mut younger = 0u64;
    let shards = match std::fs::read_dir(root.join("blobs")) {
        Ok(rd) => rd,
        Err(e) if gone(&e) => return Ok((out, younger)),
        Err(e) => return Err(e),
    };
    'walk: for shard in shards {
        let shard = match shard {
            Ok(s) => s,
            Err(e) if gone(&e) => continue,
            Err(e) => return Err(e),
        };
        // `DirEntry::file_type` does not follow symbolic links: a link is not a directory here.
        if !shard.file_type()?.is_dir() {
            continue;
        }
        let Some(shard_name) = shard.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let files = match std::fs::read_dir(shard.path()) {
            Ok(rd) => rd,
            Err(e) if gone(&e) => continue,
            Err(e) => return Err(e),
        };
        for file in files {
            let file = match file {
                Ok(f) => f,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(e),
            };
            let Some(name) = file.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if !is_staging_name(&name) || !file.file_type()?.is_file() {
                continue;
            }
            // `DirEntry::metadata` does not follow symbolic links either.
            let meta = match file.metadata() {
                Ok(m) => m,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(e),
            };
            let modified = modified_ms(&meta)?;
            if modified >= cutoff {
                younger += 1;
                continue;
            }
            out.push(Found {
                rel: format!("blobs/{shard_name}/{name}"),
                size: meta.len(),
                modified,
            });
            if out.len() >= MAX_FOUND {
                break 'walk;
            }
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok((out, younger))
}

/// Deletes the staging file `f` (found by [`find`] under `root`) if it is still a regular file
/// last modified before `cutoff` (ms): it is looked at again just before, so a file another
/// upload wrote to meanwhile is kept. Returns whether it was deleted; one already gone (another
/// node's sweeper) is not an error.
pub(crate) fn remove_if_older(root: &Path, f: &Found, cutoff: i64) -> io::Result<bool> {
    let path = root.join(&f.rel);
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if gone(&e) => return Ok(false),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_file() || modified_ms(&meta)? >= cutoff {
        return Ok(false);
    }
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if gone(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::is_staging_name;

    #[test]
    fn staging_names_are_exactly_the_ones_object_store_hides() {
        // The file names of object_store's own table (`test_valid_path` in src/local.rs),
        // inverted, and more: the part after the FIRST `#` decides.
        for hidden in [
            "test#34",
            "foo😁#34",
            "foo#0",
            "#1",
            "1ec42ed6f0a94b1c8e1f2d3c4b5a6978#1",
        ] {
            assert!(is_staging_name(hidden), "{hidden}");
        }
        for listed in [
            "test.txt",
            "test#23.txt",
            "test#😁34",
            "foo",
            "foo#",
            "foo#1a",
            "foo#1#2",
            "a#b#1",
            "#",
        ] {
            assert!(!is_staging_name(listed), "{listed}");
        }
    }
}
