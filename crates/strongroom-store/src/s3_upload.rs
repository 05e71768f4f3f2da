//! S3 multipart uploads that a killed process cannot lose track of.
//!
//! The parts of an unfinished S3 multipart upload are no object: `list` never shows them and
//! object_store has no call for ListMultipartUploads, yet the bucket keeps (and bills) them
//! until someone aborts the upload by its id. So every multipart upload we start leaves a
//! journal entry in the bucket itself: a small object `uploads/<shard>/<id>` (the blob key
//! with `blobs/` replaced) holding the upload id. Completing or aborting the upload deletes
//! the entry; a process killed in between leaves it, and [`BlobStore::partial_uploads`]
//! lists it and [`BlobStore::remove_partial_uploads`] aborts the upload by the id it holds.
//! Keeping the journal in the bucket, not the database, lets any node sharing the bucket
//! clean up after any other.
//!
//! A live upload rewrites its entry every [`TOUCH_EVERY`], so an upload that takes hours is
//! never mistaken for an abandoned one. One gap remains: a process killed between
//! CreateMultipartUpload and writing the entry (one request's time) leaves an upload no one
//! knows the id of; the bucket's lifecycle rule (docs/architecture.md) is the backstop.
//!
//! [`BlobStore::partial_uploads`]: crate::BlobStore::partial_uploads
//! [`BlobStore::remove_partial_uploads`]: crate::BlobStore::remove_partial_uploads

use async_trait::async_trait;
use futures::FutureExt;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{MultipartId, MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload, PutResult, UploadPart};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where the journal entries live, beside `blobs/`.
pub(crate) const JOURNAL_PREFIX: &str = "uploads";

/// First line of every journal entry: an object under `uploads/` without it is not ours
/// (another program sharing the bucket) and is never touched.
const ENTRY_MAGIC: &str = "strongroom-upload-v1";

/// Longest journal entry read: the magic line and an upload id (S3 ids are ~100 bytes).
const ENTRY_MAX: u64 = 1024;

/// How often a live upload rewrites its journal entry (well inside the sweeper's grace).
const TOUCH_EVERY: Duration = Duration::from_secs(300);

/// The bucket, seen two ways: `multipart` is the bare S3 client (object_store's prefix
/// wrapper does not pass multipart calls through), so it gets full paths; `store` is what
/// the rest of [`BlobStore`](crate::BlobStore) uses, prefix applied.
#[derive(Clone)]
pub(crate) struct S3Uploads {
    pub multipart: Arc<dyn MultipartStore>,
    pub store: Arc<dyn ObjectStore>,
    /// The instance's key prefix inside the bucket (may be empty).
    pub prefix: String,
}

impl std::fmt::Debug for S3Uploads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Uploads").field("prefix", &self.prefix).finish()
    }
}

/// The journal entry of blob `key` (`blobs/1e/1ec4…` → `uploads/1e/1ec4…`).
pub(crate) fn journal_path(key: &str) -> Path {
    let rest = key.strip_prefix("blobs/").unwrap_or(key);
    Path::from(format!("{JOURNAL_PREFIX}/{rest}"))
}

/// The blob key a journal entry stands for (`uploads/1e/1ec4…` → `blobs/1e/1ec4…`), if the
/// name has exactly the shape we write: `uploads/<2 hex>/<32 hex>`, the shard being the first
/// two digits of the id. Anything else under `uploads/` is someone else's object.
pub(crate) fn blob_key_of(journal: &str) -> Option<String> {
    let rest = journal.strip_prefix(JOURNAL_PREFIX)?.strip_prefix('/')?;
    let (shard, id) = rest.split_once('/')?;
    let hex = |s: &str| s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    (shard.len() == 2 && id.len() == 32 && hex(id) && id.starts_with(shard)).then(|| format!("blobs/{rest}"))
}

fn entry_text(id: &str) -> PutPayload {
    PutPayload::from(format!("{ENTRY_MAGIC}\n{id}\n"))
}

/// The upload id in a journal entry, if it is one of ours: the magic line, then a non-empty
/// id of printable ASCII.
fn parse_entry(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut lines = text.lines();
    if lines.next()? != ENTRY_MAGIC {
        return None;
    }
    let id = lines.next()?.trim();
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_graphic())).then(|| id.to_string())
}

impl S3Uploads {
    /// The path of `key` as the bare client sees it.
    fn full_path(&self, key: &str) -> Path {
        let prefix = self.prefix.trim_matches('/');
        if prefix.is_empty() {
            Path::from(key)
        } else {
            Path::from(format!("{prefix}/{key}"))
        }
    }

    /// Starts a multipart upload of blob `key` and journals it before any part is sent.
    pub async fn start(&self, key: &str) -> object_store::Result<Box<dyn MultipartUpload>> {
        let path = self.full_path(key);
        let id = self.multipart.create_multipart(&path).await?;
        let journal = journal_path(key);
        if let Err(e) = self.store.put(&journal, entry_text(&id)).await {
            let _ = self.multipart.abort_multipart(&path, &id).await;
            return Err(e);
        }
        Ok(Box::new(JournaledUpload {
            uploads: self.clone(),
            path,
            journal,
            id,
            parts: Arc::default(),
            next: 0,
            touched: Arc::new(Mutex::new(Instant::now())),
        }))
    }

    /// Aborts the upload a journal entry names and deletes the entry; returns whether it was
    /// one of ours. An upload already gone (completed, aborted, expired by the lifecycle rule)
    /// only loses its entry. An object that is not an entry of ours (another name shape, no
    /// magic line, too long, no id) is left alone.
    pub async fn abort_journaled(&self, journal: &Path) -> object_store::Result<bool> {
        let Some(key) = blob_key_of(journal.as_ref()) else {
            return Ok(false);
        };
        let opts = object_store::GetOptions {
            range: Some(object_store::GetRange::Bounded(0..ENTRY_MAX + 1)),
            ..Default::default()
        };
        let bytes = match self.store.get_opts(journal, opts).await {
            Ok(r) => r.bytes().await?,
            Err(object_store::Error::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(e),
        };
        let Some(id) = (bytes.len() as u64 <= ENTRY_MAX).then(|| parse_entry(&bytes)).flatten() else {
            return Ok(false);
        };
        match self.multipart.abort_multipart(&self.full_path(&key), &id).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        delete_entry(&*self.store, journal).await?;
        Ok(true)
    }
}

async fn delete_entry(store: &dyn ObjectStore, journal: &Path) -> object_store::Result<()> {
    match store.delete(journal).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// One journaled upload: parts go up concurrently (in any order) through the bare client.
struct JournaledUpload {
    uploads: S3Uploads,
    path: Path,
    journal: Path,
    id: MultipartId,
    /// Part ids by part index, filled as parts complete.
    parts: Arc<Mutex<Vec<Option<PartId>>>>,
    next: usize,
    /// When the journal entry was last written.
    touched: Arc<Mutex<Instant>>,
}

impl std::fmt::Debug for JournaledUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournaledUpload").field("path", &self.path).finish()
    }
}

#[async_trait]
impl MultipartUpload for JournaledUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let idx = self.next;
        self.next += 1;
        let (multipart, store) = (self.uploads.multipart.clone(), self.uploads.store.clone());
        let (path, journal, id) = (self.path.clone(), self.journal.clone(), self.id.clone());
        let (parts, touched) = (self.parts.clone(), self.touched.clone());
        async move {
            let part = multipart.put_part(&path, &id, idx, data).await?;
            {
                let mut parts = parts.lock().unwrap_or_else(|p| p.into_inner());
                if parts.len() <= idx {
                    parts.resize(idx + 1, None);
                }
                parts[idx] = Some(part);
            }
            let due = {
                let mut t = touched.lock().unwrap_or_else(|p| p.into_inner());
                let due = t.elapsed() >= TOUCH_EVERY;
                if due {
                    *t = Instant::now();
                }
                due
            };
            if due {
                store.put(&journal, entry_text(&id)).await?;
            }
            Ok(())
        }
        .boxed()
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let parts: Option<Vec<PartId>> = {
            let parts = self.parts.lock().unwrap_or_else(|p| p.into_inner());
            parts.iter().cloned().collect()
        };
        let parts = parts
            .filter(|p| p.len() == self.next)
            .ok_or_else(|| object_store::Error::Generic {
                store: "S3",
                source: "multipart upload completed before all its parts".into(),
            })?;
        let done = self
            .uploads
            .multipart
            .complete_multipart(&self.path, &self.id, parts)
            .await?;
        // The blob is complete; an entry left by a failure here is only a stale pointer
        // (aborting a completed upload is a no-op), removed by the next sweep.
        if let Err(e) = delete_entry(&*self.uploads.store, &self.journal).await {
            tracing::warn!(error = %e, journal = %self.journal, "could not delete the journal entry of a completed upload");
        }
        Ok(done)
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.uploads.multipart.abort_multipart(&self.path, &self.id).await?;
        delete_entry(&*self.uploads.store, &self.journal).await
    }
}

#[cfg(test)]
mod tests {
    use super::{blob_key_of, journal_path, parse_entry};

    #[test]
    fn journal_entries_mirror_blob_keys() {
        let key = "blobs/1e/1ec42ed6f0a94b1c8e1f2d3c4b5a6978";
        assert_eq!(
            journal_path(key).as_ref(),
            "uploads/1e/1ec42ed6f0a94b1c8e1f2d3c4b5a6978"
        );
        assert_eq!(
            blob_key_of("uploads/1e/1ec42ed6f0a94b1c8e1f2d3c4b5a6978").as_deref(),
            Some(key)
        );
    }

    /// Another program's objects under `uploads/` are never taken for ours.
    #[test]
    fn only_our_shapes_are_journal_entries() {
        for foreign in [
            "uploads/avatars/alice.png",
            "uploads/invoice-2026.pdf",
            "uploads/1e/1ec42ed6f0a94b1c8e1f2d3c4b5a697",
            "uploads/1e/1ec42ed6f0a94b1c8e1f2d3c4b5a69788",
            "uploads/1f/1ec42ed6f0a94b1c8e1f2d3c4b5a6978",
            "uploads/1E/1EC42ED6F0A94B1C8E1F2D3C4B5A6978",
            "uploads/1e/1ec42ed6f0a94b1c8e1f2d3c4b5a6978/x",
            "blobs/1e/1ec42ed6f0a94b1c8e1f2d3c4b5a6978",
        ] {
            assert_eq!(blob_key_of(foreign), None, "{foreign}");
        }
        assert_eq!(
            parse_entry(b"strongroom-upload-v1\nabc-123_XYZ\n").as_deref(),
            Some("abc-123_XYZ")
        );
        for bad in [
            &b""[..],
            b"abc-123",
            b"strongroom-upload-v1\n",
            b"strongroom-upload-v1\n\n",
            b"strongroom-upload-v2\nabc",
            b"strongroom-upload-v1\nab c",
            b"\xff\xfe",
        ] {
            assert_eq!(parse_entry(bad), None, "{bad:?}");
        }
    }
}
