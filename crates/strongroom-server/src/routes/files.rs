//! Files: upload (streamed), download (streamed, ranges), versions, rename, move, copy, trash.

use super::{Guarded, guard_file, guard_folder};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, Json, Path, Query, Requester};
use crate::range::{self, RangeAnswer};
use crate::state::{AppState, Shared};
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use serde::Deserialize;
use strongroom_core::Capability;
use strongroom_core::audit::{AuditAction, Outcome};
use strongroom_core::ids::{FileId, FolderId};
use strongroom_store::StoreError;
use strongroom_store::blob::StoredBlob;
use strongroom_store::content::{self, FileInfo, NewContent, Version};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(upload_file))
        .routes(routes!(get_file, update_file, purge_file))
        .routes(routes!(download))
        .routes(routes!(list_versions, upload_version))
        .routes(routes!(download_version))
        .routes(routes!(copy_file))
        .routes(routes!(trash_file))
        .routes(routes!(restore_file))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct UploadQuery {
    /// The file name. Required for a raw body (otherwise 400); a multipart upload may omit
    /// it to use the part's file name.
    #[param(required = true, value_type = crate::openapi::ItemName)]
    pub(crate) name: Option<String>,
}

/// An upload body: the raw request body, or the first file part of a multipart form.
async fn body_stream(
    state: &Shared,
    req: Request,
    name: Option<String>,
) -> ApiResult<(
    String,
    std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, String>> + Send>>,
)> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !is_multipart {
        let name = name.ok_or_else(|| ApiError::bad_request("give the file name as ?name=…"))?;
        let stream = req.into_body().into_data_stream().map_err(|e| e.to_string());
        return Ok((name, Box::pin(stream)));
    }
    let mp = Multipart::from_request(req, state)
        .await
        .map_err(|e| ApiError::bad_request(e.body_text()))?;
    // A multipart field borrows its form, so a task owns the form and hands the file part's
    // chunks over a small bounded channel: constant memory, with backpressure.
    let (name_tx, name_rx) = tokio::sync::oneshot::channel::<Result<String, String>>();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, String>>(4);
    tokio::spawn(pump_multipart(mp, name_tx, tx));
    let part_name = name_rx
        .await
        .map_err(|_| ApiError::bad_request("the multipart form ended early"))?
        .map_err(ApiError::bad_request)?;
    let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    Ok((name.unwrap_or(part_name), Box::pin(stream)))
}

async fn pump_multipart(
    mut mp: Multipart,
    name_tx: tokio::sync::oneshot::Sender<Result<String, String>>,
    tx: tokio::sync::mpsc::Sender<Result<Bytes, String>>,
) {
    let mut field = loop {
        match mp.next_field().await {
            Ok(Some(f)) if f.file_name().is_some() => break f,
            Ok(Some(_)) => continue,
            Ok(None) => {
                let _ = name_tx.send(Err("the multipart form has no file part".into()));
                return;
            }
            Err(e) => {
                let _ = name_tx.send(Err(e.body_text()));
                return;
            }
        }
    };
    let _ = name_tx.send(Ok(field.file_name().unwrap_or_default().to_string()));
    loop {
        let item = match field.chunk().await {
            Ok(Some(b)) => Ok(b),
            Ok(None) => return,
            Err(e) => Err(e.body_text()),
        };
        let failed = item.is_err();
        if tx.send(item).await.is_err() || failed {
            return;
        }
    }
}

fn content_type_for(name: &str) -> String {
    mime_guess::from_path(name)
        .first_or_octet_stream()
        .essence_str()
        .to_string()
}

/// Streams an upload into a new blob, then records it with `record`; if recording fails the
/// blob is removed, so a failed upload leaves no file, no row and no blob.
async fn store_upload<F, Fut>(
    st: &AppState,
    body: impl Stream<Item = Result<Bytes, String>> + Send,
    record: F,
) -> ApiResult<FileInfo>
where
    F: FnOnce(StoredBlob) -> Fut,
    Fut: Future<Output = ApiResult<FileInfo>>,
{
    let blob = st.blobs.put_stream(body).await?;
    let key = blob.key.clone();
    match record(blob).await {
        Ok(f) => Ok(f),
        Err(e) => {
            content::discard_blob(&st.db, &st.blobs, &key, st.now()).await;
            Err(e)
        }
    }
}

/// Uploads a new file: the raw request body (any size, streamed), or a multipart form.
#[utoipa::path(post, path = "/api/v1/folders/{id}/files", params(("id" = crate::openapi::Id, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = FileInfo), (status = 409, description = "name taken")))]
async fn upload_file(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FolderId>,
    Query(q): Query<UploadQuery>,
    req: Request,
) -> ApiResult<impl IntoResponse> {
    let who = Requester::User(&caller);
    let g = super::guard_folder_for(&st, who, &id, Capability::Edit).await?;
    Ok((StatusCode::CREATED, Json(upload_into(&st, who, g, q.name, req).await?)))
}

/// Who a file is recorded as made by: the person, or for a link holder the link's maker.
fn author(who: Requester<'_>) -> strongroom_core::ids::UserId {
    match who {
        Requester::User(c) => c.actor.user_id.clone(),
        Requester::Link(l) => l.link.created_by.clone(),
    }
}

/// Stores an upload as a new file in a folder the requester may edit.
pub(crate) async fn upload_into(
    st: &Shared,
    who: Requester<'_>,
    g: Guarded<strongroom_store::content::Folder>,
    name: Option<String>,
    req: Request,
) -> ApiResult<FileInfo> {
    let id = g.item.id.clone();
    let permit = g.permit;
    let (name, body) = body_stream(st, req, name).await?;
    let name = content::check_item_name("file", &name)?;
    // Fail before moving any bytes when the name is taken; checked again when recording.
    content::check_name_free(&st.db, &id, &name).await?;
    let ctype = content_type_for(&name);
    let by = author(who);
    let event = who.event(AuditAction::FileUpload);
    store_upload(st, body, |blob| async move {
        let mut change = st.change_by(who).await?;
        let nc = NewContent {
            blob: &blob,
            content_type: &ctype,
            by: &by,
        };
        let f = content::create_file(&mut change, &permit, &id, &name, nc).await?;
        let details = serde_json::json!({"name": f.name, "folder_id": f.folder_id, "size": f.size, "sha256": f.sha256, "version": f.version});
        change.commit(&event.target("file", &f.id).details(details)).await?;
        Ok(f)
    })
    .await
}

/// Uploads a new version of a file (raw body or multipart).
#[utoipa::path(post, path = "/api/v1/files/{id}/versions", params(("id" = crate::openapi::Id, Path)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = FileInfo), (status = 409, description = "the file is in the trash (`conflict`)")))]
async fn upload_version(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FileId>,
    req: Request,
) -> ApiResult<impl IntoResponse> {
    let who = Requester::User(&caller);
    let g = super::guard_file_for(&st, who, &id, Capability::Edit).await?;
    Ok((StatusCode::CREATED, Json(new_version(&st, who, g, req).await?)))
}

/// Stores an upload as the next version of a file the requester may edit.
pub(crate) async fn new_version(
    st: &Shared,
    who: Requester<'_>,
    g: Guarded<FileInfo>,
    req: Request,
) -> ApiResult<FileInfo> {
    let Guarded { item: cur, permit, .. } = g;
    if cur.trashed {
        return Err(strongroom_store::StoreError::Conflict("the file is in the trash; restore it first".into()).into());
    }
    let (_, body) = body_stream(st, req, Some(cur.name.clone())).await?;
    let by = author(who);
    let ctype = content_type_for(&cur.name);
    let id = cur.id.clone();
    let event = who.event(AuditAction::VersionUpload);
    store_upload(st, body, |blob| async move {
        let mut change = st.change_by(who).await?;
        let nc = NewContent {
            blob: &blob,
            content_type: &ctype,
            by: &by,
        };
        let f = content::add_version(&mut change, &permit, &id, nc, None).await?;
        let details = serde_json::json!({"name": f.name, "size": f.size, "sha256": f.sha256, "version": f.version});
        change.commit(&event.target("file", &f.id).details(details)).await?;
        Ok(f)
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/files/{id}", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = FileInfo), (status = 404)))]
async fn get_file(State(st): State<Shared>, caller: Caller, Path(id): Path<FileId>) -> ApiResult<Json<FileInfo>> {
    Ok(Json(guard_file(&st, &caller, &id, Capability::View).await?.item))
}

#[utoipa::path(get, path = "/api/v1/files/{id}/versions", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = Vec<Version>)))]
async fn list_versions(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FileId>,
) -> ApiResult<Json<Vec<Version>>> {
    guard_file(&st, &caller, &id, Capability::View).await?;
    Ok(Json(content::list_versions(&st.db, &id).await?))
}

/// Streams a version with Range, ETag and attachment headers, or, where the room's download
/// watermark applies to the caller, a copy stamped with their identity.
pub(crate) async fn send_version(
    st: &AppState,
    who: Requester<'_>,
    guarded: &Guarded<FileInfo>,
    v: &Version,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let file = &guarded.item;
    if let Some(stamped) = super::transform::room_watermark(st, who, guarded, v).await? {
        return send_stamped(st, who, file, v, stamped).await;
    }
    let size = u64::try_from(v.size).unwrap_or(0);
    let etag = format!("\"{}\"", v.sha256);
    let if_none_match = headers.get(header::IF_NONE_MATCH).and_then(|h| h.to_str().ok());
    if if_none_match.is_some_and(|t| t.split(',').any(|t| t.trim() == etag || t.trim() == "*")) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    // A Range that comes with an If-Range naming another version is ignored.
    let if_range_ok = headers
        .get(header::IF_RANGE)
        .and_then(|h| h.to_str().ok())
        .is_none_or(|t| t == etag);
    let range_header = headers
        .get(header::RANGE)
        .and_then(|h| h.to_str().ok())
        .filter(|_| if_range_ok);
    let answer = range::parse(range_header, size);
    let (status, range) = match answer {
        RangeAnswer::Full => (StatusCode::OK, None),
        RangeAnswer::Partial(r) => (StatusCode::PARTIAL_CONTENT, Some(r)),
        RangeAnswer::Unsatisfiable => {
            return Ok((
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{size}"))],
            )
                .into_response());
        }
    };
    // One audit event per download, not per range request of a resumed or streamed one.
    if range.as_ref().is_none_or(|r| r.start == 0) {
        st.audit(
            who.event(AuditAction::FileDownload)
                .target("file", &file.id)
                .details(serde_json::json!({"version": v.version, "range": range.as_ref().map(|r| [r.start, r.end])})),
        )
        .await?;
    }
    let stream = open_checked(st, who, file, v, if size == 0 { None } else { range.clone() }).await?;
    let len = range.as_ref().map_or(size, |r| r.end - r.start);
    let mut res = Response::new(Body::from_stream(stream));
    *res.status_mut() = status;
    let h = res.headers_mut();
    let hv = |s: &str| HeaderValue::from_str(s).map_err(|_| ApiError::bad_request("header"));
    h.insert(header::CONTENT_TYPE, hv(&v.content_type)?);
    h.insert(header::CONTENT_LENGTH, hv(&len.to_string())?);
    h.insert(header::ETAG, hv(&etag)?);
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    h.insert(header::CONTENT_DISPOSITION, hv(&content_disposition(&file.name))?);
    // Served bodies never run as active content in our origin, whatever their type.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    if let Some(r) = range {
        h.insert(
            header::CONTENT_RANGE,
            hv(&format!("bytes {}-{}/{size}", r.start, r.end - 1))?,
        );
    }
    Ok(res)
}

/// A copy made for one person: every request stamps it anew, so it has no ETag, no ranges and
/// is never cached.
async fn send_stamped(
    st: &AppState,
    who: Requester<'_>,
    file: &FileInfo,
    v: &Version,
    stamped: Vec<u8>,
) -> ApiResult<Response> {
    st.audit(
        who.event(AuditAction::FileDownload)
            .target("file", &file.id)
            .details(serde_json::json!({"version": v.version, "range": null, "watermarked": true})),
    )
    .await?;
    let hv = |s: &str| HeaderValue::from_str(s).map_err(|_| ApiError::bad_request("header"));
    let mut res = Response::new(Body::from(stamped));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, hv(&v.content_type)?);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::CONTENT_DISPOSITION, hv(&content_disposition(&file.name))?);
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    Ok(res)
}

/// Opens a version's plaintext stream. The first piece is read before any header is sent, so
/// a damaged header or first chunk is answered with a clear error; damage found later ends the
/// transfer early (the client sees a short body). Either way the log and the audit trail say
/// which file and version failed.
async fn open_checked(
    st: &AppState,
    who: Requester<'_>,
    file: &FileInfo,
    v: &Version,
    range: Option<std::ops::Range<u64>>,
) -> ApiResult<strongroom_store::blob::ByteStream> {
    let size = u64::try_from(v.size).unwrap_or(0);
    // Only the event: the log line is written where a failure is found.
    let failure = |problem: String| {
        who.event(AuditAction::IntegrityFailure)
            .outcome(Outcome::Failure)
            .target("file", &file.id)
            .details(serde_json::json!({"version": v.version, "problem": problem}))
    };
    let opened = st.blobs.get(&v.blob_key, range, v.encryption.as_ref(), size).await;
    let mut stream = match opened {
        Ok(s) => s,
        Err(StoreError::Integrity(p)) => {
            tracing::error!(file_id = %file.id, version = v.version, problem = %p, "stored data failed its integrity check");
            st.audit(failure(p.clone())).await?;
            return Err(ApiError::integrity(&file.id.to_string(), v.version));
        }
        Err(e) => return Err(e.into()),
    };
    let first = match stream.next().await {
        Some(Err(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
            tracing::error!(file_id = %file.id, version = v.version, problem = %e, "stored data failed its integrity check");
            st.audit(failure(e.to_string())).await?;
            return Err(ApiError::integrity(&file.id.to_string(), v.version));
        }
        other => other,
    };
    let db = st.db.clone();
    let now = st.now();
    let mut late = Some(failure(String::new()));
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

/// `attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266, RFC 8187).
pub(crate) fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// Downloads the current version. Supports `Range`, `If-None-Match` and `If-Range`.
#[utoipa::path(get, path = "/api/v1/files/{id}/content", params(("id" = crate::openapi::Id, Path)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 206), (status = 304), (status = 416)))]
async fn download(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FileId>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let g = guard_file(&st, &caller, &id, Capability::Download).await?;
    let v = content::get_version(&st.db, &id, g.item.version).await?;
    send_version(&st, Requester::User(&caller), &g, &v, &headers).await
}

/// Downloads one version.
#[utoipa::path(get, path = "/api/v1/files/{id}/versions/{version}/content", params(("id" = crate::openapi::Id, Path), ("version" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 206), (status = 404)))]
async fn download_version(
    State(st): State<Shared>,
    caller: Caller,
    Path((id, version)): Path<(FileId, i64)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let g = guard_file(&st, &caller, &id, Capability::Download).await?;
    let v = content::get_version(&st.db, &id, version).await?;
    send_version(&st, Requester::User(&caller), &g, &v, &headers).await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UpdateFileRequest {
    #[schema(value_type = Option<crate::openapi::ItemName>)]
    name: Option<String>,
    /// Destination folder (a move; may be in another room where the caller can edit).
    #[schema(value_type = Option<crate::openapi::Id>)]
    folder_id: Option<FolderId>,
}

/// Renames and/or moves a file.
#[utoipa::path(patch, path = "/api/v1/files/{id}", params(("id" = crate::openapi::Id, Path)), request_body = UpdateFileRequest,
    responses((status = 200, body = FileInfo), (status = 409, description = "a live item of that name is in the destination folder (`conflict`)")))]
async fn update_file(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FileId>,
    Json(req): Json<UpdateFileRequest>,
) -> ApiResult<Json<FileInfo>> {
    let g = guard_file(&st, &caller, &id, Capability::Edit).await?;
    let mut change = super::move_change(&st, &caller, &g, req.folder_id.as_ref(), Capability::Edit).await?;
    let f = content::update_file(&mut change, &g.permit, &id, req.name.as_deref(), req.folder_id.as_ref()).await?;
    change
        .commit(
            &caller
                .event(AuditAction::FileUpdate)
                .target("file", &id)
                .details(strongroom_service::folders::moved(
                    &g.item.name,
                    &f.name,
                    &g.item.folder_id,
                    &f.folder_id,
                )),
        )
        .await?;
    Ok(Json(f))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CopyRequest {
    #[schema(value_type = crate::openapi::Id)]
    folder_id: FolderId,
    /// Name of the copy; defaults to the original's.
    #[schema(value_type = Option<crate::openapi::ItemName>)]
    name: Option<String>,
}

/// Copies the current version of a file into a folder as a new file.
#[utoipa::path(post, path = "/api/v1/files/{id}/copy", params(("id" = crate::openapi::Id, Path)), request_body = CopyRequest,
    responses((status = 201, body = FileInfo), (status = 409, description = "a live item of that name is in the destination folder (`conflict`)")))]
async fn copy_file(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FileId>,
    Json(req): Json<CopyRequest>,
) -> ApiResult<impl IntoResponse> {
    // A copy takes the content elsewhere: it needs the right to download it.
    let src = guard_file(&st, &caller, &id, Capability::Download).await?;
    super::transform::refuse_unstamped_copy(&st, &src).await?;
    let src = src.item;
    let permit = guard_folder(&st, &caller, &req.folder_id, Capability::Edit)
        .await?
        .permit;
    let name = content::check_item_name("file", req.name.as_deref().unwrap_or(&src.name))?;
    content::check_name_free(&st.db, &req.folder_id, &name).await?;
    let v = content::get_version(&st.db, &id, src.version).await?;
    let key = st.blobs.copy(&v.blob_key).await?;
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
        let mut change = st.change_by(&caller).await?;
        let f = content::create_file(&mut change, &permit, &req.folder_id, &name, nc).await?;
        let details = serde_json::json!({"from": id, "version": v.version, "name": f.name, "folder_id": f.folder_id});
        change
            .commit(
                &caller
                    .event(AuditAction::FileCopy)
                    .target("file", &f.id)
                    .details(details),
            )
            .await?;
        ApiResult::Ok(f)
    };
    let file = match recorded.await {
        Ok(f) => f,
        Err(e) => {
            content::discard_blob(&st.db, &st.blobs, &key, st.now()).await;
            return Err(e);
        }
    };
    Ok((StatusCode::CREATED, Json(file)))
}

#[utoipa::path(post, path = "/api/v1/files/{id}/trash", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = FileInfo)))]
async fn trash_file(State(st): State<Shared>, caller: Caller, Path(id): Path<FileId>) -> ApiResult<Json<FileInfo>> {
    let g = guard_file(&st, &caller, &id, Capability::Trash).await?;
    let mut change = st.change_by(&caller).await?;
    let f = content::set_file_trashed(&mut change, &g.permit, &id, true).await?;
    change
        .commit(&caller.event(AuditAction::FileTrash).target("file", &id))
        .await?;
    Ok(Json(f))
}

#[utoipa::path(post, path = "/api/v1/files/{id}/restore", params(("id" = crate::openapi::Id, Path)),
    responses((status = 200, body = FileInfo), (status = 409, description = "a live item of that name is in the destination folder (`conflict`)")))]
async fn restore_file(State(st): State<Shared>, caller: Caller, Path(id): Path<FileId>) -> ApiResult<Json<FileInfo>> {
    let g = guard_file(&st, &caller, &id, Capability::Trash).await?;
    let mut change = st.change_by(&caller).await?;
    let f = content::set_file_trashed(&mut change, &g.permit, &id, false).await?;
    change
        .commit(&caller.event(AuditAction::FileRestore).target("file", &id))
        .await?;
    Ok(Json(f))
}

/// Deletes a trashed file and all its versions, permanently.
#[utoipa::path(delete, path = "/api/v1/files/{id}", params(("id" = crate::openapi::Id, Path)), responses((status = 204), (status = 409)))]
async fn purge_file(State(st): State<Shared>, caller: Caller, Path(id): Path<FileId>) -> ApiResult<StatusCode> {
    let g = guard_file(&st, &caller, &id, Capability::Purge).await?;
    let mut change = st.change_by(&caller).await?;
    content::purge_file(&mut change, &g.permit, &id).await?;
    change
        .commit(
            &caller
                .event(AuditAction::FilePurge)
                .target("file", &id)
                .details(serde_json::json!({"name": g.item.name, "versions": g.item.version})),
        )
        .await?;
    st.sweep_now();
    Ok(StatusCode::NO_CONTENT)
}
