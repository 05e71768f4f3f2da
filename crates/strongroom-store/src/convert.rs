//! Whole-instance jobs on stored blobs: converting every version to encrypted (or back to
//! plaintext) while the server keeps serving, and checking every blob's integrity.
//!
//! Conversion is crash-safe without a journal: a version's new blob is written under a fresh
//! key and checked against the version's SHA-256 before one transaction re-points the row and
//! queues the old blob for deletion. Killed at any moment, every row still points at a complete,
//! readable blob; running again resumes with the versions not yet converted. Several nodes may
//! run it at once: the re-pointing is conditional on the old key, and the loser's blob goes to
//! the garbage queue.

use crate::blob::BlobStore;
pub use crate::content::Target;
use crate::content::{self, StoredVersion};
use crate::db::Db;
use crate::encryption::random_object_id;
use crate::error::{Result, StoreError};
use crate::secrets;
use futures::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicBool, Ordering};

/// Progress of a conversion.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Progress {
    /// `encrypt` or `decrypt`.
    pub direction: String,
    pub objects_total: i64,
    pub objects_done: i64,
    pub bytes_total: i64,
    pub bytes_done: i64,
    /// Estimated seconds left, at the rate since the latest run started (when known).
    pub eta_seconds: Option<u64>,
}

impl Progress {
    pub fn complete(&self) -> bool {
        self.objects_done >= self.objects_total
    }

    /// Seconds left at the rate seen since `since` (a progress read at `since_ms`).
    pub fn eta_seconds(&self, since: &Progress, since_ms: i64, now_ms: i64) -> Option<u64> {
        let done = self.bytes_done - since.bytes_done;
        let elapsed = (now_ms - since_ms) as f64 / 1000.0;
        if done <= 0 || elapsed <= 0.0 {
            return None;
        }
        Some(((self.bytes_total - self.bytes_done).max(0) as f64 / (done as f64 / elapsed)) as u64)
    }
}

/// The current progress towards `target`.
pub async fn progress(db: &Db, blobs: &BlobStore, target: Target) -> Result<Progress> {
    let key_id = target_key(blobs, target)?;
    let (n, b, dn, dbytes) = content::conversion_progress(db, target, &key_id).await?;
    Ok(Progress {
        direction: match target {
            Target::Encrypted => "encrypt",
            Target::CurrentKey => "re-encrypt",
            Target::Plaintext => "decrypt",
        }
        .into(),
        objects_total: n,
        objects_done: dn,
        bytes_total: b,
        bytes_done: dbytes,
        eta_seconds: None,
    })
}

/// Progress towards `target` with the time left, from the latest run's start (any node's).
pub async fn progress_with_eta(db: &Db, blobs: &BlobStore, target: Target, now: i64) -> Result<Progress> {
    let mut p = progress(db, blobs, target).await?;
    if !p.complete()
        && let Some((started_at, start_bytes)) = content::conversion_run(db, target).await?
    {
        let since = Progress {
            bytes_done: start_bytes,
            ..p.clone()
        };
        p.eta_seconds = p.eta_seconds(&since, started_at, now);
    }
    Ok(p)
}

fn target_key(blobs: &BlobStore, target: Target) -> Result<String> {
    if target == Target::Plaintext {
        return Ok(String::new());
    }
    blobs
        .keys()
        .current()
        .map(|k| k.id().to_hex())
        .ok_or_else(|| StoreError::Encryption("encryption is not enabled or has no current master key".into()))
}

/// Converts versions until none is left, calling `report` after each one. Returns how many
/// this call converted.
pub async fn run(
    db: &Db,
    blobs: &BlobStore,
    target: Target,
    now: impl Fn() -> i64,
    mut report: impl FnMut(&Progress),
) -> Result<u64> {
    let key_id = target_key(blobs, target)?;
    let master = blobs.keys().current().cloned();
    // Secrets first: they are few and small, so the whole set converts in moments.
    let resealed = secrets::reseal_all(db, blobs.keys(), target != Target::Plaintext, now()).await?;
    if resealed > 0 {
        tracing::info!(secrets = resealed, "secrets converted");
    }
    let mut converted = 0;
    loop {
        let batch = content::versions_to_convert(db, target, &key_id, 64).await?;
        if batch.is_empty() {
            return Ok(converted);
        }
        // Several versions at once, one crypto thread each: all cores work. After a failure
        // no new version starts; those under way finish (nothing is left half-written), then
        // the failure is reported.
        let failed = AtomicBool::new(false);
        let mut first_error = None;
        // Each job reads the progress itself: awaiting the database between polls of the
        // jobs could wait for a connection that a paused job holds (SQLite has only one).
        let mut runs = futures::stream::iter(batch)
            .map(|v| {
                let (failed, master, now) = (&failed, master.as_ref(), &now);
                async move {
                    if failed.load(Ordering::Relaxed) {
                        return (Ok(false), None);
                    }
                    let result = convert_one(db, blobs, v, master, target, now).await;
                    (result, progress(db, blobs, target).await.ok())
                }
            })
            .buffer_unordered(parallel_jobs());
        while let Some((result, progress)) = runs.next().await {
            match result {
                Ok(true) => converted += 1,
                Ok(false) => {}
                Err(e) => {
                    failed.store(true, Ordering::Relaxed);
                    first_error.get_or_insert(e);
                }
            }
            if let Some(p) = progress {
                report(&p);
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        content::sweep_garbage(db, blobs, 1000).await?;
    }
}

/// Versions converted or checked at once: one per core (each streams through its own
/// bounded pipeline, so memory stays a few MiB per job).
fn parallel_jobs() -> usize {
    strongroom_crypto::available_threads()
}

/// Rewrites one version towards `target`; false if another node switched it first.
async fn convert_one(
    db: &Db,
    blobs: &BlobStore,
    v: StoredVersion,
    master: Option<&strongroom_crypto::MasterKey>,
    target: Target,
    now: &impl Fn() -> i64,
) -> Result<bool> {
    let plain = blobs.get(&v.blob_key, None, v.encryption.as_ref(), size_of(&v)).await?;
    // Hash what is rewritten, so a corrupt source is never converted into a blob that
    // verifies.
    let encryption = match (master, target) {
        (Some(m), Target::Encrypted | Target::CurrentKey) => Some((m, random_object_id())),
        _ => None,
    };
    let new = blobs.put_stream_as(plain, encryption).await?;
    if new.sha256 != v.sha256 {
        content::discard_blob(db, blobs, &new.key, now()).await;
        return Err(StoreError::Integrity(format!(
            "file {} version {} ({}) does not match its recorded SHA-256; left as it is",
            v.file_id, v.version, v.name
        )));
    }
    content::swap_blob(db, &v, &new, now()).await
}

/// Re-wraps the data key of every version encrypted under an older master key with the current
/// one, without rewriting document data (on local storage), and re-seals every secret under it.
/// Resumable; returns how many versions.
pub async fn rotate(db: &Db, blobs: &BlobStore, now: impl Fn() -> i64, mut report: impl FnMut(u64)) -> Result<u64> {
    let key_id = target_key(blobs, Target::CurrentKey)?;
    let resealed = secrets::reseal_all(db, blobs.keys(), true, now()).await?;
    if resealed > 0 {
        tracing::info!(secrets = resealed, "secrets sealed under the current master key");
    }
    let mut n = 0;
    loop {
        let batch = content::versions_to_rewrap(db, &key_id, 256).await?;
        if batch.is_empty() {
            return Ok(n);
        }
        for v in batch {
            let Some(enc) = &v.encryption else { continue };
            let (key, new_enc) = blobs.rewrap(&v.blob_key, enc).await?;
            content::set_blob_encryption(db, &v, &key, &new_enc, now()).await?;
            n += 1;
            report(n);
        }
    }
}

fn size_of(v: &StoredVersion) -> u64 {
    u64::try_from(v.size).unwrap_or(0)
}

/// One object that failed the storage check.
#[derive(Clone, Debug, Serialize)]
pub struct Damaged {
    pub file_id: String,
    pub version: i64,
    pub name: String,
    pub blob_key: String,
    pub problem: String,
}

/// Reads every version in full, verifying every chunk MAC of encrypted blobs and the SHA-256
/// of every blob, and lists every damaged or missing one (it does not stop at the first).
/// Returns (objects checked, damaged ones).
pub async fn verify(db: &Db, blobs: &BlobStore, mut report: impl FnMut(u64)) -> Result<(u64, Vec<Damaged>)> {
    let mut damaged = vec![];
    let mut checked = 0u64;
    let mut after: Option<(String, i64)> = None;
    loop {
        let batch = content::stored_versions(db, after.as_ref().map(|(f, v)| (f.as_str(), *v)), 256).await?;
        let Some(last) = batch.last() else { break };
        after = Some((last.file_id.to_string(), last.version));
        // In order (the report lists damage by file), several at once.
        let mut checks = futures::stream::iter(batch)
            .map(|v| async move {
                let result = check_one(blobs, &v).await;
                (v, result)
            })
            .buffered(parallel_jobs());
        while let Some((v, result)) = checks.next().await {
            checked += 1;
            if let Err(problem) = result {
                damaged.push(Damaged {
                    file_id: v.file_id.to_string(),
                    version: v.version,
                    name: v.name.clone(),
                    blob_key: v.blob_key.clone(),
                    problem,
                });
            }
            report(checked);
        }
    }
    Ok((checked, damaged))
}

async fn check_one(blobs: &BlobStore, v: &StoredVersion) -> std::result::Result<(), String> {
    let mut stream = blobs
        .get(&v.blob_key, None, v.encryption.as_ref(), size_of(v))
        .await
        .map_err(|e| e.to_string())?;
    let mut hasher = Sha256::new();
    let mut n: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        n += chunk.len() as u64;
        hasher.update(&chunk);
    }
    if n != size_of(v) {
        return Err(format!("size is {n} bytes, {} recorded", v.size));
    }
    if hex::encode(hasher.finalize()) != v.sha256 {
        return Err("content does not match its recorded SHA-256".into());
    }
    Ok(())
}

/// A stored blob no row refers to (left by a process killed between writing a blob and
/// recording it: an upload, a conversion, a copy).
#[derive(Clone, Debug, Serialize)]
pub struct Orphan {
    pub blob_key: String,
    /// Last modified, ms since the epoch.
    pub modified: i64,
}

/// Blobs no row refers to, last modified before `cutoff` (ms). The store is listed before the
/// rows are read, so a blob recorded meanwhile counts as referenced; uploads in progress are
/// not objects yet; the cutoff leaves a margin for the moment between the two.
pub async fn orphans(db: &Db, blobs: &BlobStore, cutoff: i64) -> Result<Vec<Orphan>> {
    let listed = blobs.list().await?;
    let referenced = content::referenced_blob_keys(db).await?;
    let mut out: Vec<Orphan> = listed
        .into_iter()
        .filter(|(k, modified)| !referenced.contains(k) && *modified < cutoff)
        .map(|(blob_key, modified)| Orphan { blob_key, modified })
        .collect();
    out.sort_by(|a, b| a.blob_key.cmp(&b.blob_key));
    Ok(out)
}

/// Deletes orphaned blobs older than `cutoff`; returns them.
pub async fn remove_orphans(db: &Db, blobs: &BlobStore, cutoff: i64, now: i64) -> Result<Vec<Orphan>> {
    let found = orphans(db, blobs, cutoff).await?;
    let keys: Vec<String> = found.iter().map(|o| o.blob_key.clone()).collect();
    content::queue_for_deletion(db, &keys, now).await?;
    content::sweep_garbage(db, blobs, i64::try_from(keys.len()).unwrap_or(i64::MAX).max(1)).await?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::Progress;

    #[test]
    fn eta_from_the_rate_since_the_run_started() {
        let at = |done| Progress {
            bytes_total: 1000,
            bytes_done: done,
            ..Progress::default()
        };
        // 200 bytes in 10 s since the start (at 100): 20 B/s, 700 left → 35 s.
        assert_eq!(at(300).eta_seconds(&at(100), 0, 10_000), Some(35));
        assert_eq!(
            at(100).eta_seconds(&at(100), 0, 10_000),
            None,
            "no progress, no estimate"
        );
        assert_eq!(at(300).eta_seconds(&at(100), 10_000, 10_000), None, "no time elapsed");
    }
}
