//! Document bodies in an object store: a local directory or any S3-compatible service.
//!
//! Blobs are immutable and written under fresh random keys. An upload streams through in
//! parts (constant memory), hashing as it goes, and becomes visible only when complete: the
//! local adapter writes a staging file and renames it, S3 completes a multipart upload. On any
//! error the partial upload is aborted.

use crate::encryption::{BlobEncryption, KeyRing, crypto_err, parse_object_id, random_object_id};
use crate::error::{Result, StoreError};
use crate::pipeline;
use crate::s3_upload::{self, S3Uploads};
use crate::staging;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt, TryStreamExt};
use object_store::MultipartUpload;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, GetResultPayload, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};
use std::ops::Range;
use std::sync::Arc;
use strongroom_crypto::{
    EncryptOptions, HEADER_LEN, Layout, MasterKey, ObjectHeader, ObjectId, ObjectKeys, StreamDecryptor, StreamEncryptor,
};

/// A stream of stored or decrypted bytes.
pub type ByteStream = BoxStream<'static, std::result::Result<Bytes, std::io::Error>>;

/// Part size for streamed uploads: S3's minimum, and large enough that local writes are
/// efficient. At most [`PARTS_IN_FLIGHT`] parts are buffered, so memory per upload is bounded.
const PART_SIZE: usize = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT: usize = 3;
/// Read size for local blobs.
const READ_BUFFER: usize = 1024 * 1024;

/// Where S3 blobs live and how to reach them.
#[derive(Clone)]
pub struct S3Settings {
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// `true` for path-style URLs (`endpoint/bucket/key`), which most self-hosted
    /// S3-compatible servers need.
    pub path_style: bool,
    /// Permit a plain-HTTP endpoint (a server on loopback or a private network).
    pub allow_http: bool,
    /// Key prefix inside the bucket, to share one bucket between instances; may be empty.
    pub prefix: String,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

/// How long a partial upload must have gone unwritten before the sweeper deletes it. A live
/// upload writes its staging file every 8 MiB part, and an idle request body is failed long
/// before this (`http.body_idle_timeout_secs`), so only a client slower than one part an hour
/// (about 2.3 KiB/s) could lose its upload to it — which then fails cleanly: the final rename
/// finds no file, no row is written. The margin also absorbs clock skew between the nodes
/// that share a blob directory.
pub const PARTIAL_UPLOAD_GRACE_MS: i64 = 3_600_000;

/// An upload that never finished (its process was killed): bytes in the store that are not an
/// object and never will be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartialUpload {
    /// Local storage: the staging file, relative to the blob directory (`blobs/1e/1ec4…#1`).
    /// S3: the upload's journal entry (`uploads/1e/1ec4…`, see `s3_upload.rs`).
    pub name: String,
    /// Bytes written before the process died (unknown on S3: the parts are not listable).
    pub size: Option<u64>,
    /// Last written, ms since the epoch.
    pub modified: i64,
}

impl From<staging::Found> for PartialUpload {
    fn from(f: staging::Found) -> Self {
        PartialUpload {
            name: f.rel,
            size: Some(f.size),
            modified: f.modified,
        }
    }
}

/// Partial uploads last written before a cutoff, and how many younger ones (which may be
/// uploads in progress, here or on another node) were left alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartialUploads {
    pub stale: Vec<PartialUpload>,
    pub younger: u64,
}

/// A blob written to the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredBlob {
    pub key: String,
    /// Plaintext size.
    pub size: u64,
    /// Lower-case hex SHA-256 of the plaintext.
    pub sha256: String,
    /// How the stored bytes are encrypted (`None`: stored as they are).
    pub encryption: Option<BlobEncryption>,
}

/// The document body store.
#[derive(Clone, Debug)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    /// For the local adapter: the directory, so finished blobs can be flushed to disk.
    local_root: Option<std::path::PathBuf>,
    /// For S3: multipart uploads journaled in the bucket (`s3_upload.rs`).
    s3_uploads: Option<S3Uploads>,
    /// Master keys for encryption at rest (empty: nothing is encrypted).
    ring: Arc<KeyRing>,
}

impl BlobStore {
    /// Blobs in a local directory (created if missing).
    pub fn local(dir: &std::path::Path) -> Result<BlobStore> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Invalid(format!("cannot create blob directory {}: {e}", dir.display())))?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(dir)?;
        Ok(BlobStore {
            store: Arc::new(fs),
            local_root: Some(dir.to_path_buf()),
            s3_uploads: None,
            ring: Arc::default(),
        })
    }

    /// Blobs in an S3-compatible bucket.
    pub fn s3(s: &S3Settings) -> Result<BlobStore> {
        let mut b = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&s.bucket)
            .with_region(&s.region)
            .with_access_key_id(&s.access_key_id)
            .with_secret_access_key(&s.secret_access_key)
            .with_virtual_hosted_style_request(!s.path_style)
            .with_allow_http(s.allow_http);
        if let Some(e) = &s.endpoint {
            b = b.with_endpoint(e);
        }
        let s3 = b.build()?;
        let prefix = s.prefix.trim_matches('/');
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(s3.clone())
        } else {
            Arc::new(object_store::prefix::PrefixStore::new(s3.clone(), prefix))
        };
        let s3_uploads = S3Uploads {
            multipart: Arc::new(s3),
            store: store.clone(),
            prefix: prefix.to_string(),
        };
        Ok(BlobStore {
            store,
            local_root: None,
            s3_uploads: Some(s3_uploads),
            ring: Arc::default(),
        })
    }

    fn path(key: &str) -> Path {
        Path::from(key)
    }

    fn new_key() -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let shard = id.get(..2).unwrap_or("00").to_string();
        format!("blobs/{shard}/{id}")
    }

    /// Gives this store its master keys: with a current key, new blobs are encrypted.
    pub fn with_keys(mut self, ring: KeyRing) -> BlobStore {
        self.ring = Arc::new(ring);
        self
    }

    pub fn keys(&self) -> &KeyRing {
        &self.ring
    }

    /// Streams `body` into a new blob, encrypted if the store has a current master key.
    /// Nothing is visible under the key unless this returns `Ok`; on error the partial upload
    /// is aborted. A body smaller than one part is stored with a single request.
    pub async fn put_stream<S, E>(&self, body: S) -> Result<StoredBlob>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let encrypt = self.ring.current().map(|m| (m, random_object_id()));
        self.put_stream_as(body, encrypt).await
    }

    /// Like [`put_stream`](Self::put_stream), with the encryption chosen by the caller
    /// (`None`: plaintext) — for converting existing blobs.
    pub async fn put_stream_as<S, E>(&self, body: S, encrypt: Option<(&MasterKey, ObjectId)>) -> Result<StoredBlob>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let key = Self::new_key();
        let mut sink = PartSink::new(self.store.clone(), self.s3_uploads.clone(), &key);
        let encryption = encrypt.map(|(m, id)| BlobEncryption {
            key_id: m.id().to_hex(),
            object_id: hex::encode(id.0),
        });
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut body = std::pin::pin!(body);
        let result = match encrypt {
            None => {
                async {
                    while let Some(piece) = next_hashed(body.as_mut(), &mut hasher, &mut size).await? {
                        sink.push(piece).await?;
                    }
                    Ok(())
                }
                .await
            }
            Some((master, id)) => {
                // Hashing and writing here, encrypting on a blocking thread: both cores work.
                let options = EncryptOptions {
                    threads: stage_threads(),
                    ..EncryptOptions::default()
                };
                let enc = StreamEncryptor::new(master, id, options).map_err(crypto_err)?;
                let (feeder, mut encrypted) = pipeline::start(enc);
                let feed = async {
                    while let Some(piece) = next_hashed(body.as_mut(), &mut hasher, &mut size).await? {
                        if !feeder.send(piece).await {
                            break; // the stage failed; the drain side reports why
                        }
                    }
                    drop(feeder);
                    Ok::<(), StoreError>(())
                };
                let drain = async {
                    while let Some(piece) = encrypted.next().await {
                        sink.push(piece.map_err(StoreError::Io)?).await?;
                    }
                    Ok::<(), StoreError>(())
                };
                let (fed, drained) = futures::join!(feed, drain);
                fed.and(drained)
            }
        };
        if let Err(e) = result {
            sink.abort().await;
            return Err(e);
        }
        sink.finish().await?;
        self.flush(&key).await?;
        Ok(StoredBlob {
            key,
            size,
            sha256: hex::encode(hasher.finalize()),
            encryption,
        })
    }

    /// Makes a finished local blob durable (file data and its directory entry) before any row
    /// refers to it, so a power cut cannot leave a row pointing at lost bytes. S3 is durable
    /// when the upload completes.
    async fn flush(&self, key: &str) -> Result<()> {
        let Some(root) = &self.local_root else { return Ok(()) };
        let file = root.join(key);
        tokio::task::spawn_blocking(move || {
            std::fs::File::open(&file)?.sync_all()?;
            if let Some(dir) = file.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok::<_, std::io::Error>(())
        })
        .await
        .map_err(|e| StoreError::Io(std::io::Error::other(e)))??;
        Ok(())
    }

    /// Streams the plaintext of a blob of `plain_size` bytes, or the byte range `range` of it
    /// (already validated against the size). An encrypted blob is decrypted chunk by chunk;
    /// a range reads and decrypts only the chunks it needs. No plaintext of a chunk is
    /// released before its MAC verifies; a failure ends the stream with an `InvalidData` error.
    pub async fn get(
        &self,
        key: &str,
        range: Option<Range<u64>>,
        encryption: Option<&BlobEncryption>,
        plain_size: u64,
    ) -> Result<ByteStream> {
        let Some(enc) = encryption else {
            return self.get_raw(key, range).await;
        };
        let keys = self.open(key, enc).await?;
        let layout = Layout::from_plain_len(plain_size, keys.chunk_size()).map_err(crypto_err)?;
        let (cipher_range, dec) = match range {
            // Everything after the header, not just the expected length: bytes appended to the
            // object must be read to be noticed.
            None => (HEADER_LEN as u64..u64::MAX, StreamDecryptor::new(keys, stage_threads())),
            Some(r) => {
                let plan = layout.plan(r).map_err(crypto_err)?;
                (
                    plan.cipher_range.clone(),
                    StreamDecryptor::for_range(keys, &plan, stage_threads()),
                )
            }
        };
        let raw = self.get_raw(key, Some(cipher_range)).await?;
        Ok(pipeline::transform(raw, dec))
    }

    /// The authenticated keys of an encrypted blob, from its header.
    async fn open(&self, key: &str, enc: &BlobEncryption) -> Result<ObjectKeys> {
        let id = parse_object_id(&enc.object_id)?;
        let header = self
            .store
            .get_range(&Self::path(key), 0..HEADER_LEN as u64)
            .await
            .map_err(|e| match e {
                object_store::Error::NotFound { .. } => missing(key),
                e => e.into(),
            })?;
        let header = ObjectHeader::parse(&header).map_err(crypto_err)?;
        header.open(self.ring.all(), &id).map_err(crypto_err)
    }

    /// Re-wraps an encrypted blob's data key under the current master key (key rotation).
    /// Only the 160-byte header changes: a local blob is rewritten in place (one write of less
    /// than a disk sector, then fsync); S3 cannot change part of an object, so there the blob
    /// is copied under a new key, whose name is returned.
    pub async fn rewrap(&self, key: &str, enc: &BlobEncryption) -> Result<(String, BlobEncryption)> {
        let current = self
            .ring
            .current()
            .ok_or_else(|| StoreError::Encryption("no current master key".into()))?;
        let path = Self::path(key);
        let header = self.store.get_range(&path, 0..HEADER_LEN as u64).await?;
        let header = ObjectHeader::parse(&header).map_err(crypto_err)?;
        let id = parse_object_id(&enc.object_id)?;
        if header.object_id() != id {
            return Err(StoreError::Integrity(
                "object id in the header does not match the version".into(),
            ));
        }
        let new_header = header
            .rewrap(self.ring.all(), current, &mut rand::rng())
            .map_err(crypto_err)?;
        let new_enc = BlobEncryption {
            key_id: current.id().to_hex(),
            object_id: enc.object_id.clone(),
        };
        if let Some(root) = &self.local_root {
            let file = root.join(key);
            tokio::task::spawn_blocking(move || {
                use std::os::unix::fs::FileExt;
                let f = std::fs::OpenOptions::new().write(true).open(&file)?;
                f.write_all_at(&new_header, 0)?;
                f.sync_all()
            })
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e)))??;
            return Ok((key.to_string(), new_enc));
        }
        let rest = self.get_raw(key, Some(HEADER_LEN as u64..u64::MAX)).await?;
        let body = futures::stream::iter([Ok(Bytes::copy_from_slice(&new_header))]).chain(rest);
        let copy = self.put_stream_as(body, None).await?;
        Ok((copy.key, new_enc))
    }

    /// Streams stored bytes as they are.
    pub async fn get_raw(&self, key: &str, range: Option<Range<u64>>) -> Result<ByteStream> {
        let opts = GetOptions {
            // `start..u64::MAX` means "from start to the end" (not every S3 server accepts an
            // explicit range past the end).
            range: range.map(|r| {
                if r.end == u64::MAX {
                    GetRange::Offset(r.start)
                } else {
                    GetRange::Bounded(r)
                }
            }),
            ..Default::default()
        };
        let res = match self.store.get_opts(&Self::path(key), opts).await {
            Ok(r) => r,
            // A row points here, so a missing object is damage, not a client error.
            Err(object_store::Error::NotFound { .. }) => return Err(missing(key)),
            Err(e) => return Err(e.into()),
        };
        match res.payload {
            // object_store reads local files 8 KiB at a time, one blocking task each; large
            // reads through tokio's file keep downloads at disk speed.
            GetResultPayload::File(file, _) => {
                use tokio::io::{AsyncReadExt, AsyncSeekExt};
                let mut file = tokio::fs::File::from_std(file);
                file.seek(std::io::SeekFrom::Start(res.range.start)).await?;
                let reader = file.take(res.range.end - res.range.start);
                Ok(tokio_util::io::ReaderStream::with_capacity(reader, READ_BUFFER).boxed())
            }
            GetResultPayload::Stream(s) => Ok(s.map_err(std::io::Error::other).boxed()),
        }
    }

    /// Copies a blob to a fresh key and returns that key.
    pub async fn copy(&self, key: &str) -> Result<String> {
        let new = Self::new_key();
        self.store.copy(&Self::path(key), &Self::path(&new)).await?;
        Ok(new)
    }

    /// Deletes a blob; deleting one that is already gone succeeds.
    pub async fn delete(&self, key: &str) -> Result<()> {
        match self.store.delete(&Self::path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether a blob exists (for checks and tests).
    pub async fn exists(&self, key: &str) -> Result<bool> {
        match self.store.head(&Self::path(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Every complete blob in the store with its last-modified time (ms since the epoch).
    /// Uploads still in progress, or left unfinished by a killed process, are not listed: they
    /// become objects only when complete (see [`partial_uploads`](Self::partial_uploads)).
    pub async fn list(&self) -> Result<Vec<(String, i64)>> {
        let prefix = Path::from("blobs");
        let metas: Vec<_> = self.store.list(Some(&prefix)).try_collect().await?;
        let mut out: Vec<(String, i64)> = metas
            .into_iter()
            .map(|m| (m.location.to_string(), m.last_modified.timestamp_millis()))
            .collect();
        if let Some(root) = &self.local_root {
            // object_store's local list follows symbolic links; we never write through one, so
            // anything reached through a link is not ours, and must never be taken for an
            // orphan and deleted (it may be a file outside the blob directory).
            out.retain(|(key, _)| !under_link(root, key));
        }
        Ok(out)
    }

    /// Uploads that never finished (their process was killed), last written before `cutoff`
    /// (ms since the epoch), and how many younger ones were left alone. Local storage: the
    /// staging files object_store's local adapter leaves (hidden from [`list`](Self::list)).
    /// S3: the journal entries of multipart uploads never completed (`s3_upload.rs`).
    pub async fn partial_uploads(&self, cutoff: i64) -> Result<PartialUploads> {
        if let Some(root) = self.local_root.clone() {
            let (stale, younger) = blocking(move || staging::find(&root, cutoff)).await?;
            return Ok(PartialUploads {
                stale: stale.into_iter().map(PartialUpload::from).collect(),
                younger,
            });
        }
        let prefix = Path::from(s3_upload::JOURNAL_PREFIX);
        let metas: Vec<_> = self.store.list(Some(&prefix)).try_collect().await?;
        let mut found = PartialUploads::default();
        // Only names of the shape we write: the bucket may hold others' objects under uploads/.
        for m in metas
            .into_iter()
            .filter(|m| s3_upload::blob_key_of(m.location.as_ref()).is_some())
        {
            let modified = m.last_modified.timestamp_millis();
            if modified >= cutoff {
                found.younger += 1;
            } else {
                found.stale.push(PartialUpload {
                    name: m.location.to_string(),
                    size: None,
                    modified,
                });
            }
        }
        found.stale.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(found)
    }

    /// Deletes the partial uploads last written before `cutoff` (ms since the epoch) and
    /// returns them (on S3: aborts each multipart upload, then deletes its journal entry).
    /// Each local file is looked at again just before it is deleted; one removed meanwhile
    /// (by another node) is skipped. An upload still in progress that is removed fails
    /// cleanly: its completion finds nothing to complete, and no row is written.
    pub async fn remove_partial_uploads(&self, cutoff: i64) -> Result<Vec<PartialUpload>> {
        if let Some(root) = self.local_root.clone() {
            return blocking(move || {
                let (stale, _) = staging::find(&root, cutoff)?;
                let mut removed = Vec::new();
                for f in stale {
                    if staging::remove_if_older(&root, &f, cutoff)? {
                        removed.push(PartialUpload::from(f));
                    }
                }
                Ok(removed)
            })
            .await;
        }
        let Some(uploads) = &self.s3_uploads else {
            return Ok(Vec::new());
        };
        let found = self.partial_uploads(cutoff).await?;
        let mut removed = Vec::new();
        for p in found.stale {
            // One entry that cannot be removed now (a network error) does not stop the rest.
            match uploads.abort_journaled(&Path::from(p.name.as_str())).await {
                Ok(true) => removed.push(p),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, entry = %p.name, "could not abort a partial upload; will retry"),
            }
        }
        Ok(removed)
    }

    /// The periodic sweep: deletes partial uploads unwritten for
    /// [`PARTIAL_UPLOAD_GRACE_MS`] at `now`, never a younger one (it may be an upload in
    /// progress on another node). Safe to run on several nodes at once.
    pub async fn sweep_partial_uploads(&self, now: i64) -> Result<Vec<PartialUpload>> {
        self.remove_partial_uploads(now.saturating_sub(PARTIAL_UPLOAD_GRACE_MS))
            .await
    }
}

/// Runs blocking file-system work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> std::io::Result<T> + Send + 'static) -> Result<T> {
    let r = tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Io(std::io::Error::other(e)))??;
    Ok(r)
}

/// Whether some directory or file on the way from `root` to `key` is a symbolic link (or
/// cannot be looked at: then it is not treated as ours either).
fn under_link(root: &std::path::Path, key: &str) -> bool {
    let mut path = root.to_path_buf();
    key.split('/').any(|part| {
        path.push(part);
        std::fs::symlink_metadata(&path).map_or(true, |m| m.file_type().is_symlink())
    })
}

fn missing(key: &str) -> StoreError {
    StoreError::Integrity(format!("stored object {key} is missing"))
}

/// Collects an upload's bytes: the first part in memory, so a small blob is stored with one
/// request; from the second part on, a multipart upload with bounded parts in flight.
struct PartSink {
    store: Arc<dyn ObjectStore>,
    s3_uploads: Option<S3Uploads>,
    key: String,
    path: Path,
    first: Vec<Bytes>,
    buffered: usize,
    writer: Option<WriteMultipart>,
}

impl PartSink {
    fn new(store: Arc<dyn ObjectStore>, s3_uploads: Option<S3Uploads>, key: &str) -> Self {
        PartSink {
            store,
            s3_uploads,
            key: key.to_string(),
            path: BlobStore::path(key),
            first: Vec::new(),
            buffered: 0,
            writer: None,
        }
    }

    async fn push(&mut self, bytes: Bytes) -> Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        if let Some(w) = self.writer.as_mut() {
            w.wait_for_capacity(PARTS_IN_FLIGHT).await?;
            w.put(bytes);
            return Ok(());
        }
        self.buffered += bytes.len();
        self.first.push(bytes);
        if self.buffered >= PART_SIZE {
            let upload: Box<dyn MultipartUpload> = match &self.s3_uploads {
                Some(s3) => s3.start(&self.key).await?,
                None => self.store.put_multipart(&self.path).await?,
            };
            let mut w = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
            for b in self.first.drain(..) {
                w.put(b);
            }
            self.writer = Some(w);
        }
        Ok(())
    }

    async fn abort(self) {
        if let Some(w) = self.writer {
            let _ = w.abort().await;
        }
    }

    async fn finish(self) -> Result<()> {
        match self.writer {
            Some(w) => {
                w.finish().await?;
            }
            None => {
                self.store.put(&self.path, PutPayload::from_iter(self.first)).await?;
            }
        }
        Ok(())
    }
}

/// Threads one transfer's encryption or decryption uses besides the async side. One: the
/// crypto crate then works in 512 KiB batches (eight chunks side by side through AES), which
/// keeps memory flat; more threads mean 4 MiB batches per thread for little gain on a server
/// that moves several transfers at once.
fn stage_threads() -> usize {
    1
}

/// The next piece of an upload body, hashed and counted.
async fn next_hashed<S, E>(
    mut body: std::pin::Pin<&mut S>,
    hasher: &mut Sha256,
    size: &mut u64,
) -> Result<Option<Bytes>>
where
    S: Stream<Item = std::result::Result<Bytes, E>>,
    E: std::fmt::Display,
{
    match body.next().await {
        None => Ok(None),
        Some(Err(e)) => Err(StoreError::Upload(e.to_string())),
        Some(Ok(chunk)) => {
            hasher.update(&chunk);
            *size += chunk.len() as u64;
            Ok(Some(chunk))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::BlobStore;

    /// A shard directory that is a symbolic link (to files elsewhere) is not listed, so the
    /// orphan sweep can never delete what it points to.
    #[tokio::test]
    async fn nothing_reached_through_a_link_is_listed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("0123456789abcdef0123456789abcdef"), b"precious").unwrap();
        let store = BlobStore::local(&dir.path().join("store")).unwrap();
        let body = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"ours"))]);
        let ours = store.put_stream(body).await.unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("store/blobs/zz")).unwrap();
        let listed: Vec<String> = store.list().await.unwrap().into_iter().map(|(k, _)| k).collect();
        assert_eq!(listed, vec![ours.key]);
    }
}
