//! Files: upload (streamed), download (streamed, ranges), versions, rename, move, copy, trash.

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, Json, Path, Query, Requester};
use crate::range::{self, RangeAnswer};
use crate::state::Shared;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use strongroom_core::ids::{FileId, FolderId};
use strongroom_service as service_root;
use strongroom_service::files::{self as service, Body as UploadBody};
use strongroom_store::content::{FileInfo, Version};
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
pub(crate) async fn body_stream(
    state: &Shared,
    req: Request,
    name: Option<String>,
) -> service_root::Result<(String, UploadBody)> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !is_multipart {
        let name = name.ok_or_else(|| service_root::Error::invalid("give the file name as ?name=…"))?;
        let stream = req.into_body().into_data_stream().map_err(|e| e.to_string());
        return Ok((name, Box::pin(stream)));
    }
    // The form's parser holds a part's headers until they end: bytes before the file part
    // are bounded here, or one endless header line would fill the memory.
    let (parts, body) = req.into_parts();
    let form = Arc::new(FormState::default());
    let seen = form.clone();
    let mut before_file = 0usize;
    let body = body.into_data_stream().map(move |chunk| {
        let chunk = chunk?;
        if !seen.file_started.load(Ordering::Relaxed) {
            before_file += chunk.len();
            if before_file > MAX_BEFORE_FILE_BYTES {
                seen.cut_off.store(true, Ordering::Relaxed);
                return Err(axum::Error::new(too_much_before_file()));
            }
        }
        Ok(chunk)
    });
    let req = Request::from_parts(parts, Body::from_stream(body));
    let mp = Multipart::from_request(req, state)
        .await
        .map_err(|e| service_root::Error::invalid(e.body_text()))?;
    // A multipart field borrows its form, so a task owns the form and hands the file part's
    // chunks over a small bounded channel: constant memory, with backpressure.
    let (name_tx, name_rx) = tokio::sync::oneshot::channel::<Result<String, String>>();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, String>>(4);
    tokio::spawn(pump_multipart(mp, name_tx, tx, form));
    let part_name = name_rx
        .await
        .map_err(|_| service_root::Error::invalid("the multipart form ended early"))?
        .map_err(service_root::Error::invalid)?;
    let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    Ok((name.unwrap_or(part_name), Box::pin(stream)))
}

/// The body of a new version: a version keeps its file's name, so none is asked for.
pub(crate) async fn version_body(state: &Shared, req: Request) -> service_root::Result<(String, UploadBody)> {
    body_stream(state, req, Some(String::new())).await
}

/// Fields a multipart upload may carry before its file part.
const MAX_FORM_FIELDS: usize = 16;
/// Bytes one such field may hold.
const MAX_FORM_FIELD_BYTES: usize = 64 * 1024;
/// Bytes before the file part's own bytes: the fields, every part's headers (the form's
/// parser buffers a header until it ends), the preamble. Room for 16 full fields and more.
const MAX_BEFORE_FILE_BYTES: usize = 2 * 1024 * 1024;

/// Reads past a form field that is no file, within the limits: the file part is what counts,
/// and a form of endless small fields or one huge one must not keep the upload busy.
async fn skip_form_field(mut f: axum::extract::multipart::Field<'_>, nth: usize) -> Result<(), String> {
    if nth > MAX_FORM_FIELDS {
        return Err(format!(
            "a multipart upload carries at most {MAX_FORM_FIELDS} fields before its file part"
        ));
    }
    let mut size = 0;
    while let Some(b) = f.chunk().await.map_err(|e| e.body_text())? {
        size += b.len();
        if size > MAX_FORM_FIELD_BYTES {
            return Err(format!(
                "a form field of a multipart upload holds at most {} KiB",
                MAX_FORM_FIELD_BYTES / 1024
            ));
        }
    }
    Ok(())
}

/// What the body's reader and the form's reader know of each other.
#[derive(Default)]
struct FormState {
    /// The file part's bytes have begun: from here on the body is not bounded here.
    file_started: AtomicBool,
    /// The body was cut off for holding too much before the file part.
    cut_off: AtomicBool,
}

fn too_much_before_file() -> String {
    format!(
        "a multipart upload holds at most {} KiB before its file's bytes",
        MAX_BEFORE_FILE_BYTES / 1024
    )
}

async fn pump_multipart(
    mut mp: Multipart,
    name_tx: tokio::sync::oneshot::Sender<Result<String, String>>,
    tx: tokio::sync::mpsc::Sender<Result<Bytes, String>>,
    form: Arc<FormState>,
) {
    let mut parts = 0;
    let mut field = loop {
        match mp.next_field().await {
            Ok(Some(f)) if f.file_name().is_some() => break f,
            Ok(Some(f)) => {
                parts += 1;
                if let Err(e) = skip_form_field(f, parts).await {
                    let _ = name_tx.send(Err(e));
                    return;
                }
            }
            Ok(None) => {
                let _ = name_tx.send(Err("the multipart form has no file part".into()));
                return;
            }
            Err(e) => {
                // The parser words a cut-off body as its own failure: say what it was.
                let why = if form.cut_off.load(Ordering::Relaxed) {
                    too_much_before_file()
                } else {
                    e.body_text()
                };
                let _ = name_tx.send(Err(why));
                return;
            }
        }
    };
    form.file_started.store(true, Ordering::Relaxed);
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
    let f = service::upload_file(&st, (&caller).into(), &id, || body_stream(&st, req, q.name)).await?;
    Ok((StatusCode::CREATED, Json(f)))
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
    let f = service::upload_version(&st, (&caller).into(), &id, || version_body(&st, req)).await?;
    Ok((StatusCode::CREATED, Json(f)))
}

#[utoipa::path(get, path = "/api/v1/files/{id}", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = FileInfo), (status = 404)))]
async fn get_file(State(st): State<Shared>, caller: Caller, Path(id): Path<FileId>) -> ApiResult<Json<FileInfo>> {
    Ok(Json(service::get_file(&st, &caller, &id).await?))
}

#[utoipa::path(get, path = "/api/v1/files/{id}/versions", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = Vec<Version>)))]
async fn list_versions(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FileId>,
) -> ApiResult<Json<Vec<Version>>> {
    Ok(Json(service::list_versions(&st, &caller, &id).await?))
}

/// Downloads a version for a member or a link holder: a stamped copy where the room's
/// download watermark applies to them, else the stored bytes with Range, ETag and attachment
/// headers.
pub(crate) async fn send_version(
    st: &Shared,
    who: Requester<'_>,
    id: &FileId,
    version: Option<i64>,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let d = service::prepare_download(st, who, id, version).await?;
    let (file, v) = (&d.file, &d.version);
    let hv = |s: &str| HeaderValue::from_str(s).map_err(|_| ApiError::bad_request("header"));
    if let Some(stamped) = d.stamped {
        // Made for one person: every request stamps it anew, so it has no ETag, no ranges
        // and is never cached.
        let mut res = Response::new(Body::from(stamped));
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, hv(&v.content_type)?);
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::CONTENT_DISPOSITION, hv(&content_disposition(&file.name))?);
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox; default-src 'none'"),
        );
        return Ok(res);
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
    let (status, range) = match range::parse(range_header, size) {
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
    let stream = service::open_download(st, who, &d, range.clone()).await?;
    let len = range.as_ref().map_or(size, |r| r.end - r.start);
    let mut res = Response::new(Body::from_stream(stream));
    *res.status_mut() = status;
    let h = res.headers_mut();
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
    responses((status = 200, description = "the file's bytes, as its stored content type", content_type = "*/*"), (status = 206), (status = 304), (status = 416)))]
async fn download(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FileId>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    send_version(&st, (&caller).into(), &id, None, &headers).await
}

/// Downloads one version.
#[utoipa::path(get, path = "/api/v1/files/{id}/versions/{version}/content", params(("id" = crate::openapi::Id, Path), ("version" = i64, Path)),
    responses((status = 200, description = "the version's bytes, as its stored content type", content_type = "*/*"), (status = 206), (status = 404)))]
async fn download_version(
    State(st): State<Shared>,
    caller: Caller,
    Path((id, version)): Path<(FileId, i64)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    send_version(&st, (&caller).into(), &id, Some(version), &headers).await
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
    let f = service::update_file(&st, &caller, &id, req.name.as_deref(), req.folder_id.as_ref()).await?;
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
    let f = service::copy_file(&st, &caller, &id, &req.folder_id, req.name.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(f)))
}

#[utoipa::path(post, path = "/api/v1/files/{id}/trash", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = FileInfo), (status = 409, description = "already in the trash (`conflict`)")))]
async fn trash_file(State(st): State<Shared>, caller: Caller, Path(id): Path<FileId>) -> ApiResult<Json<FileInfo>> {
    Ok(Json(service::set_file_trashed(&st, &caller, &id, true).await?))
}

#[utoipa::path(post, path = "/api/v1/files/{id}/restore", params(("id" = crate::openapi::Id, Path)),
    responses((status = 200, body = FileInfo), (status = 409, description = "a live item of that name is in the destination folder (`conflict`)")))]
async fn restore_file(State(st): State<Shared>, caller: Caller, Path(id): Path<FileId>) -> ApiResult<Json<FileInfo>> {
    Ok(Json(service::set_file_trashed(&st, &caller, &id, false).await?))
}

/// Deletes a trashed file and all its versions, permanently.
#[utoipa::path(delete, path = "/api/v1/files/{id}", params(("id" = crate::openapi::Id, Path)), responses((status = 204), (status = 409)))]
async fn purge_file(State(st): State<Shared>, caller: Caller, Path(id): Path<FileId>) -> ApiResult<StatusCode> {
    service::purge_file(&st, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
