//! Files: upload (streamed), download (streamed, ranges), versions, rename, move, copy, trash,
//! restore, purge. A file's bytes never pass through memory whole here: uploads stream into the
//! blob store, downloads stream out of it.

use crate::access::{Guarded, guard_file, guard_file_for, guard_folder, guard_folder_for, move_change};
use crate::{Caller, Error, Requester, Result, Service, documents};
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use std::pin::Pin;
use strongroom_core::Capability;
use strongroom_core::audit::{AuditAction, AuditEvent, Outcome};
use strongroom_core::ids::{FileId, FolderId, UserId};
use strongroom_store::StoreError;
use strongroom_store::blob::{ByteStream, StoredBlob};
use strongroom_store::content::{self, FileInfo, Folder, NewContent, Version};

/// An upload's bytes as they arrive; an error ends the upload and stores nothing.
pub type Body = Pin<Box<dyn Stream<Item = std::result::Result<Bytes, String>> + Send>>;

fn content_type_for(name: &str) -> String {
    mime_guess::from_path(name)
        .first_or_octet_stream()
        .essence_str()
        .to_string()
}

/// Who a file is recorded as made by: the person, or for a link holder the link's maker.
fn author(who: Requester<'_>) -> UserId {
    match who {
        Requester::User(c) => c.actor.user_id.clone(),
        Requester::Link(l) => l.link.created_by.clone(),
    }
}

/// Streams an upload into a new blob, then records it with `record`; if recording fails the
/// blob is removed, so a failed upload leaves no file, no row and no blob.
async fn store_upload<F, Fut>(
    svc: &Service,
    body: impl Stream<Item = std::result::Result<Bytes, String>> + Send,
    record: F,
) -> Result<FileInfo>
where
    F: FnOnce(StoredBlob) -> Fut,
    Fut: Future<Output = Result<FileInfo>>,
{
    let blob = svc.blobs.put_stream(body).await?;
    let key = blob.key.clone();
    match record(blob).await {
        Ok(f) => Ok(f),
        Err(e) => {
            content::discard_blob(&svc.db, &svc.blobs, &key, svc.now()).await;
            Err(e)
        }
    }
}

/// Uploads a new file into a folder the requester may edit. `open` gives the file's name and
/// its bytes; it is called only once the requester is authorized, so nobody else's bytes are
/// read.
pub async fn upload_file<F, Fut>(svc: &Service, who: Requester<'_>, folder: &FolderId, open: F) -> Result<FileInfo>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(String, Body)>>,
{
    let g: Guarded<Folder> = guard_folder_for(svc, who, folder, Capability::Edit).await?;
    let permit = g.permit;
    let by = author(who);
    let allowance = &crate::uploads::begin(svc, who, &g.item.room_id, &by).await?;
    let (name, body) = open().await?;
    let name = content::check_item_name("file", &name)?;
    // Fail before moving any bytes when the name is taken; checked again when recording.
    content::check_name_free(&svc.db, folder, &name).await?;
    let ctype = content_type_for(&name);
    let event = who.event(AuditAction::FileUpload);
    store_upload(svc, allowance.limit(body), |blob| async move {
        let mut change = svc.change_by(who).await?;
        allowance.check(&mut change, blob.size).await?;
        let nc = NewContent {
            blob: &blob,
            content_type: &ctype,
            by: &by,
        };
        let f = content::create_file(&mut change, &permit, folder, &name, nc).await?;
        let details = serde_json::json!({"name": f.name, "folder_id": f.folder_id, "size": f.size, "sha256": f.sha256, "version": f.version});
        change.commit(&event.target("file", &f.id).details(details)).await?;
        Ok(f)
    })
    .await
    .map_err(|e| allowance.explain(e))
}

/// Uploads the next version of a file the requester may edit (`open` as for
/// [`upload_file`]; the name it gives is not used: a version keeps the file's name).
pub async fn upload_version<F, Fut>(svc: &Service, who: Requester<'_>, id: &FileId, open: F) -> Result<FileInfo>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(String, Body)>>,
{
    let Guarded { item: cur, permit, .. } = guard_file_for(svc, who, id, Capability::Edit).await?;
    if cur.trashed {
        return Err(StoreError::Conflict("the file is in the trash; restore it first".into()).into());
    }
    let by = author(who);
    let allowance = &crate::uploads::begin(svc, who, &cur.room_id, &by).await?;
    let (_, body) = open().await?;
    let ctype = content_type_for(&cur.name);
    let event = who.event(AuditAction::VersionUpload);
    store_upload(svc, allowance.limit(body), |blob| async move {
        let mut change = svc.change_by(who).await?;
        allowance.check(&mut change, blob.size).await?;
        let nc = NewContent {
            blob: &blob,
            content_type: &ctype,
            by: &by,
        };
        let f = content::add_version(&mut change, &permit, id, nc, None).await?;
        let details = serde_json::json!({"name": f.name, "size": f.size, "sha256": f.sha256, "version": f.version});
        change.commit(&event.target("file", &f.id).details(details)).await?;
        Ok(f)
    })
    .await
    .map_err(|e| allowance.explain(e))
}

pub async fn get_file(svc: &Service, caller: &Caller, id: &FileId) -> Result<FileInfo> {
    Ok(guard_file(svc, caller, id, Capability::View).await?.item)
}

pub async fn list_versions(svc: &Service, caller: &Caller, id: &FileId) -> Result<Vec<Version>> {
    guard_file(svc, caller, id, Capability::View).await?;
    Ok(content::list_versions(&svc.db, id).await?)
}

/// A version about to be downloaded: as stored, or (where the room's download watermark
/// applies to the requester) a copy stamped with their identity, which has been audited.
pub struct Download {
    pub file: FileInfo,
    pub version: Version,
    pub stamped: Option<Vec<u8>>,
}

/// Checks the requester may download a file (the current version, or the one named) and
/// prepares it. A stamped copy is made and audited here; a stored version is audited when it
/// is opened ([`open_download`]), so that a `304 Not Modified` is not counted as a download.
pub async fn prepare_download(
    svc: &Service,
    who: Requester<'_>,
    id: &FileId,
    version: Option<i64>,
) -> Result<Download> {
    let g = guard_file_for(svc, who, id, Capability::Download).await?;
    let v = content::get_version(&svc.db, id, version.unwrap_or(g.item.version)).await?;
    let stamped = documents::room_watermark(svc, who, &g, &v).await?;
    if stamped.is_some() {
        svc.audit(
            who.event(AuditAction::FileDownload)
                .target("file", id)
                .details(serde_json::json!({"version": v.version, "range": null, "watermarked": true})),
        )
        .await?;
    }
    Ok(Download {
        file: g.item,
        version: v,
        stamped,
    })
}

/// Opens a prepared (stored) version's plaintext, whole or a byte range. One audit event per
/// download, not per range request of a resumed or streamed one: a range from 0 counts.
pub async fn open_download(
    svc: &Service,
    who: Requester<'_>,
    d: &Download,
    range: Option<std::ops::Range<u64>>,
) -> Result<ByteStream> {
    let v = &d.version;
    let audited = range.as_ref().is_none_or(|r| r.start == 0);
    let event = who
        .event(AuditAction::FileDownload)
        .target("file", &d.file.id)
        .details(serde_json::json!({"version": v.version, "range": range.as_ref().map(|r| [r.start, r.end])}));
    let range = if v.size == 0 { None } else { range };
    // Opened (and its first piece checked) before it counts: a download refused for damage
    // is recorded as the integrity failure alone.
    let stream = open_checked(svc, who, &d.file, v, range).await?;
    if audited {
        svc.audit(event).await?;
    }
    Ok(stream)
}

/// Reads a version (or a byte range of it) whole into memory, checking its integrity: for
/// what works on whole documents, bounded by the caller.
pub(crate) async fn read_whole(
    svc: &Service,
    who: Requester<'_>,
    file: &FileInfo,
    v: &Version,
    range: Option<std::ops::Range<u64>>,
) -> Result<Vec<u8>> {
    let size = u64::try_from(v.size).unwrap_or(0);
    if size == 0 {
        return Ok(vec![]);
    }
    let mut stream = match svc
        .blobs
        .get(&v.blob_key, range.clone(), v.encryption.as_ref(), size)
        .await
    {
        Ok(s) => s,
        Err(StoreError::Integrity(p)) => return Err(integrity_failed(svc, who, file, v, p).await),
        Err(e) => return Err(e.into()),
    };
    let expected = range.map_or(size, |r| r.end - r.start);
    let mut out = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    while let Some(piece) = stream.next().await {
        match piece {
            Ok(b) => out.extend_from_slice(&b),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(integrity_failed(svc, who, file, v, e.to_string()).await);
            }
            Err(e) => return Err(StoreError::Io(e).into()),
        }
    }
    Ok(out)
}

/// The audit event of a version that failed its integrity check.
pub(crate) fn integrity_event(who: Requester<'_>, file: &FileInfo, v: &Version, problem: String) -> AuditEvent {
    who.event(AuditAction::IntegrityFailure)
        .outcome(Outcome::Failure)
        .target("file", &file.id)
        .details(serde_json::json!({"version": v.version, "problem": problem}))
}

/// Logs and audits a version that failed its integrity check, and says so.
pub(crate) async fn integrity_failed(
    svc: &Service,
    who: Requester<'_>,
    file: &FileInfo,
    v: &Version,
    problem: String,
) -> Error {
    tracing::error!(file_id = %file.id, version = v.version, problem = %problem, "stored data failed its integrity check");
    if let Err(e) = svc.audit(integrity_event(who, file, v, problem)).await {
        return e;
    }
    Error::Integrity {
        file: file.id.to_string(),
        version: v.version,
    }
}

/// Opens a version's plaintext stream. The first piece is read before anything is sent, so a
/// damaged header or first chunk is answered with a clear error; damage found later ends the
/// transfer early (the client sees a short body). Either way the log and the audit trail say
/// which file and version failed.
async fn open_checked(
    svc: &Service,
    who: Requester<'_>,
    file: &FileInfo,
    v: &Version,
    range: Option<std::ops::Range<u64>>,
) -> Result<ByteStream> {
    let size = u64::try_from(v.size).unwrap_or(0);
    let mut stream = match svc.blobs.get(&v.blob_key, range, v.encryption.as_ref(), size).await {
        Ok(s) => s,
        Err(StoreError::Integrity(p)) => return Err(integrity_failed(svc, who, file, v, p).await),
        Err(e) => return Err(e.into()),
    };
    let first = match stream.next().await {
        Some(Err(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
            return Err(integrity_failed(svc, who, file, v, e.to_string()).await);
        }
        other => other,
    };
    let db = svc.db.clone();
    let now = svc.now();
    let mut late = Some(integrity_event(who, file, v, String::new()));
    let rest = stream.inspect_err(move |e| {
        if let Some(mut event) = late.take() {
            tracing::error!(error = %e, "stored data failed its integrity check during a download");
            event.details["problem"] = serde_json::Value::String(e.to_string());
            let db = db.clone();
            tokio::spawn(async move {
                let _ = strongroom_store::audit::record(&db, &event, now).await;
            });
        }
    });
    Ok(futures::stream::iter(first).chain(rest).boxed())
}

/// Renames and/or moves a file (a move may go to another room where the caller may edit).
pub async fn update_file(
    svc: &Service,
    caller: &Caller,
    id: &FileId,
    name: Option<&str>,
    to: Option<&FolderId>,
) -> Result<FileInfo> {
    let g = guard_file(svc, caller, id, Capability::Edit).await?;
    let quota = crate::uploads::move_quota(svc, &g.item.room_id, to).await?;
    let mut change = move_change(svc, caller, &g, to, Capability::Edit).await?;
    if let Some(q) = &quota {
        q.check(&mut change, strongroom_store::usage::Moved::File(id)).await?;
    }
    let f = content::update_file(&mut change, &g.permit, id, name, to).await?;
    change
        .commit(
            &caller
                .event(AuditAction::FileUpdate)
                .target("file", id)
                .details(crate::folders::moved(
                    &g.item.name,
                    &f.name,
                    &g.item.folder_id,
                    &f.folder_id,
                )),
        )
        .await?;
    Ok(f)
}

/// Copies the current version of a file into a folder as a new file (named like the
/// original unless `name` is given). A copy takes the content elsewhere: it needs the right to
/// download it, and is refused where the room stamps what the caller downloads.
pub async fn copy_file(
    svc: &Service,
    caller: &Caller,
    id: &FileId,
    to: &FolderId,
    name: Option<&str>,
) -> Result<FileInfo> {
    let src = guard_file(svc, caller, id, Capability::Download).await?;
    documents::refuse_unstamped_copy(svc, caller.into(), &src).await?;
    let src = src.item;
    let dest = guard_folder(svc, caller, to, Capability::Edit).await?;
    let permit = dest.permit;
    let name = content::check_item_name("file", name.unwrap_or(&src.name))?;
    content::check_name_free(&svc.db, to, &name).await?;
    let v = content::get_version(&svc.db, id, src.version).await?;
    // A copy is stored anew: it counts against the quotas like an upload of its size.
    let allowance = crate::uploads::begin(svc, caller.into(), &dest.item.room_id, &caller.actor.user_id).await?;
    allowance.fits(u64::try_from(v.size).unwrap_or(0))?;
    let key = svc.blobs.copy(&v.blob_key).await?;
    // The copy's bytes are the same, header and all, so it keeps the same encryption record.
    let blob = StoredBlob {
        key: key.clone(),
        size: u64::try_from(v.size).unwrap_or(0),
        sha256: v.sha256.clone(),
        encryption: v.encryption.clone(),
    };
    let nc = NewContent {
        blob: &blob,
        content_type: &v.content_type,
        by: &caller.actor.user_id,
    };
    let recorded = async {
        let mut change = svc.change_by(caller).await?;
        allowance.check(&mut change, blob.size).await?;
        let f = content::create_file(&mut change, &permit, to, &name, nc).await?;
        let details = serde_json::json!({"from": id, "version": v.version, "name": f.name, "folder_id": f.folder_id});
        change
            .commit(
                &caller
                    .event(AuditAction::FileCopy)
                    .target("file", &f.id)
                    .details(details),
            )
            .await?;
        Result::Ok(f)
    };
    match recorded.await {
        Ok(f) => Ok(f),
        Err(e) => {
            content::discard_blob(&svc.db, &svc.blobs, &key, svc.now()).await;
            Err(e)
        }
    }
}

/// Moves a file to the room's trash (`true`) or takes it out (`false`).
pub async fn set_file_trashed(svc: &Service, caller: &Caller, id: &FileId, trashed: bool) -> Result<FileInfo> {
    let g = guard_file(svc, caller, id, Capability::Trash).await?;
    let mut change = svc.change_by(caller).await?;
    let f = content::set_file_trashed(&mut change, &g.permit, id, trashed).await?;
    let action = match trashed {
        true => AuditAction::FileTrash,
        false => AuditAction::FileRestore,
    };
    change.commit(&caller.event(action).target("file", id)).await?;
    Ok(f)
}

/// Deletes a trashed file and all its versions, permanently.
pub async fn purge_file(svc: &Service, caller: &Caller, id: &FileId) -> Result<()> {
    let g = guard_file(svc, caller, id, Capability::Purge).await?;
    let mut change = svc.change_by(caller).await?;
    content::purge_file(&mut change, &g.permit, id).await?;
    change
        .commit(
            &caller
                .event(AuditAction::FilePurge)
                .target("file", id)
                .details(serde_json::json!({"name": g.item.name, "versions": g.item.version})),
        )
        .await?;
    svc.sweep_now();
    Ok(())
}
