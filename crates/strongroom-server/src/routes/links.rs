//! External links: made, listed and revoked under the folder or file they point at; opened
//! anonymously by the secret in their URL; unlocked (with the password, if they have one) into
//! a short-lived link session; then the linked item is read as that link's holder.
//!
//! An unknown, expired or revoked link, and one whose maker may no longer make it, all answer
//! the same 404 (the rules are in [`strongroom_service::links`]).

use crate::error::ApiResult;
use crate::extract::{Caller, Json, LinkCaller, Origin, Path};
use crate::state::Shared;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use strongroom_core::AccessLevel;
use strongroom_core::ids::{FileId, FolderId, LinkId};
use strongroom_core::rights::Restrictions;
use strongroom_service::access::Item;
use strongroom_service::links::{self as service, LinkRequest, NewLinkSecret};
use strongroom_store::content::{FileInfo, FolderListing};
use strongroom_store::links::Link;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(list_folder_links, create_folder_link))
        .routes(routes!(revoke_folder_link))
        .routes(routes!(list_file_links, create_file_link))
        .routes(routes!(revoke_file_link))
        .routes(routes!(open_link))
        .routes(routes!(unlock_link))
        .routes(routes!(link_folder))
        .routes(routes!(link_file))
        .routes(routes!(link_file_content))
        .routes(routes!(link_upload))
        .routes(routes!(link_new_version))
}

/// A new link. Unknown fields are refused: a misspelt `no_download` must not pass as none.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLinkRequest {
    /// What the link lets its holder do: `view_only`, `form_filling`, `comment`, `review` or
    /// `edit` (at most what the maker holds).
    #[schema(value_type = crate::openapi::LinkLevel)]
    access: AccessLevel,
    #[serde(default)]
    no_download: bool,
    #[serde(default)]
    no_print: bool,
    #[serde(default)]
    no_copy: bool,
    /// A password the holder must give (under the password policy); none: the URL alone opens it.
    #[schema(value_type = Option<crate::openapi::NewPassword>)]
    password: Option<SecretString>,
    /// Days until the link stops working (1 to 3650); none: until revoked.
    #[schema(minimum = 1, maximum = 3650)]
    #[serde(default, deserialize_with = "super::auth::whole_number")]
    expires_in_days: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NewLinkResponse {
    /// The link's secret, shown this once: the link is `/api/v1/links/{token}`.
    token: String,
    #[serde(flatten)]
    link: Link,
}

impl NewLinkRequest {
    fn into_request(self) -> LinkRequest {
        LinkRequest {
            access: self.access,
            restrictions: Restrictions {
                no_download: self.no_download,
                no_print: self.no_print,
                no_copy: self.no_copy,
            },
            password: self.password,
            expires_in_days: self.expires_in_days,
        }
    }
}

fn created(new: NewLinkSecret) -> (StatusCode, Json<NewLinkResponse>) {
    (
        StatusCode::CREATED,
        Json(NewLinkResponse {
            token: new.token,
            link: new.link,
        }),
    )
}

/// Links to this folder (and everything in it). Needs the right to manage links here.
#[utoipa::path(get, path = "/api/v1/folders/{id}/links", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = Vec<Link>), (status = 404)))]
async fn list_folder_links(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FolderId>,
) -> ApiResult<Json<Vec<Link>>> {
    Ok(Json(service::list_links(&st, &caller, Item::Folder(&id)).await?))
}

/// Makes an external link to this folder: it reaches the folder and what is inside it.
#[utoipa::path(post, path = "/api/v1/folders/{id}/links", params(("id" = crate::openapi::Id, Path)), request_body = NewLinkRequest,
    responses((status = 201, body = NewLinkResponse), (status = 400), (status = 403), (status = 404), (status = 503, description = "password hashing is busy (`busy`, Retry-After)")))]
async fn create_folder_link(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FolderId>,
    Json(req): Json<NewLinkRequest>,
) -> ApiResult<impl IntoResponse> {
    Ok(created(
        service::create_link(&st, &caller, Item::Folder(&id), req.into_request()).await?,
    ))
}

/// Revokes a link to this folder at once (its sessions end too).
#[utoipa::path(delete, path = "/api/v1/folders/{id}/links/{link_id}", params(("id" = crate::openapi::Id, Path), ("link_id" = crate::openapi::Id, Path)),
    responses((status = 204), (status = 404)))]
async fn revoke_folder_link(
    State(st): State<Shared>,
    caller: Caller,
    Path((id, link)): Path<(FolderId, LinkId)>,
) -> ApiResult<StatusCode> {
    service::revoke_link(&st, &caller, Item::Folder(&id), &link).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Links to this file. Needs the right to manage links here.
#[utoipa::path(get, path = "/api/v1/files/{id}/links", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = Vec<Link>), (status = 404)))]
async fn list_file_links(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FileId>,
) -> ApiResult<Json<Vec<Link>>> {
    Ok(Json(service::list_links(&st, &caller, Item::File(&id)).await?))
}

/// Makes an external link to this file.
#[utoipa::path(post, path = "/api/v1/files/{id}/links", params(("id" = crate::openapi::Id, Path)), request_body = NewLinkRequest,
    responses((status = 201, body = NewLinkResponse), (status = 400), (status = 403), (status = 404), (status = 503, description = "password hashing is busy (`busy`, Retry-After)")))]
async fn create_file_link(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FileId>,
    Json(req): Json<NewLinkRequest>,
) -> ApiResult<impl IntoResponse> {
    Ok(created(
        service::create_link(&st, &caller, Item::File(&id), req.into_request()).await?,
    ))
}

/// Revokes a link to this file at once (its sessions end too).
#[utoipa::path(delete, path = "/api/v1/files/{id}/links/{link_id}", params(("id" = crate::openapi::Id, Path), ("link_id" = crate::openapi::Id, Path)),
    responses((status = 204), (status = 404)))]
async fn revoke_file_link(
    State(st): State<Shared>,
    caller: Caller,
    Path((id, link)): Path<(FileId, LinkId)>,
) -> ApiResult<StatusCode> {
    service::revoke_link(&st, &caller, Item::File(&id), &link).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What an anonymous visitor learns from a link before unlocking it: nothing about the item
/// but its kind.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LinkLanding {
    /// `folder` or `file`.
    item_kind: String,
    access: AccessLevel,
    password_required: bool,
    expires_at: Option<i64>,
}

impl From<&Link> for LinkLanding {
    fn from(l: &Link) -> Self {
        LinkLanding {
            item_kind: l.item_kind.clone(),
            access: l.access,
            password_required: l.password_required,
            expires_at: l.expires_at,
        }
    }
}

/// Opens a link (anonymous). Unknown, expired and revoked links answer alike: 404.
#[utoipa::path(get, path = "/api/v1/links/{token}", params(("token" = String, Path)), responses((status = 200, body = LinkLanding), (status = 404)))]
async fn open_link(
    State(st): State<Shared>,
    Origin(origin): Origin,
    Path(secret): Path<String>,
) -> ApiResult<Json<LinkLanding>> {
    Ok(Json(LinkLanding::from(
        &service::open_link(&st, &secret, &origin).await?,
    )))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UnlockRequest {
    /// The link's password (leave out for a link without one).
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    password: Option<SecretString>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LinkSession {
    /// Send as `Authorization: Bearer …` to `/api/v1/link/…`; shown once.
    session: String,
    /// When the session ends (`expires_at` is the link's own expiry).
    session_expires_at: i64,
    #[serde(flatten)]
    link: LinkLanding,
    item_id: String,
}

/// Unlocks a link into a session of at most an hour. After 5 wrong passwords the link locks
/// for 30 s, twice as long after each further one (429 with Retry-After).
#[utoipa::path(post, path = "/api/v1/links/{token}/unlock", params(("token" = String, Path)), request_body = UnlockRequest,
    responses((status = 200, body = LinkSession), (status = 401, description = "wrong password (`wrong_password`)"), (status = 404),
        (status = 429, description = "too many wrong passwords (`locked`, Retry-After)"), (status = 503)))]
async fn unlock_link(
    State(st): State<Shared>,
    Origin(origin): Origin,
    Path(secret): Path<String>,
    Json(req): Json<UnlockRequest>,
) -> ApiResult<Response> {
    let unlocked = service::unlock_link(&st, &secret, req.password, &origin).await?;
    Ok(Json(LinkSession {
        session: unlocked.session,
        session_expires_at: unlocked.expires_at,
        item_id: unlocked.link.item_id.clone(),
        link: LinkLanding::from(&unlocked.link),
    })
    .into_response())
}

/// A folder reached through a link: the linked folder or one inside it, with what the link
/// holder may see in it.
#[utoipa::path(get, path = "/api/v1/link/folders/{id}", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = FolderListing), (status = 401), (status = 404)))]
async fn link_folder(
    State(st): State<Shared>,
    lc: LinkCaller,
    Path(id): Path<FolderId>,
) -> ApiResult<Json<FolderListing>> {
    Ok(Json(service::link_folder(&st, &lc, &id).await?))
}

/// A file reached through a link.
#[utoipa::path(get, path = "/api/v1/link/files/{id}", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = FileInfo), (status = 401), (status = 404)))]
async fn link_file(State(st): State<Shared>, lc: LinkCaller, Path(id): Path<FileId>) -> ApiResult<Json<FileInfo>> {
    Ok(Json(service::link_file(&st, &lc, &id).await?))
}

/// Downloads a file reached through a link (Range, ETag as for members; the room's download
/// watermark applies to link holders).
#[utoipa::path(get, path = "/api/v1/link/files/{id}/content", params(("id" = crate::openapi::Id, Path)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 206), (status = 304), (status = 401), (status = 403), (status = 404), (status = 416)))]
async fn link_file_content(
    State(st): State<Shared>,
    lc: LinkCaller,
    Path(id): Path<FileId>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    super::files::send_version(&st, (&lc).into(), &id, None, &headers).await
}

/// Uploads a new file into a folder reached through an edit link (raw body with `?name=`, or
/// multipart). Recorded as made by the link's maker, audited as the link.
#[utoipa::path(post, path = "/api/v1/link/folders/{id}/files", params(("id" = crate::openapi::Id, Path), super::files::UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = FileInfo), (status = 401), (status = 403), (status = 404), (status = 409, description = "name taken")))]
async fn link_upload(
    State(st): State<Shared>,
    lc: LinkCaller,
    Path(id): Path<FolderId>,
    crate::extract::Query(q): crate::extract::Query<super::files::UploadQuery>,
    req: Request,
) -> ApiResult<impl IntoResponse> {
    let body = || super::files::body_stream(&st, req, q.name);
    let f = strongroom_service::files::upload_file(&st, (&lc).into(), &id, body).await?;
    Ok((StatusCode::CREATED, Json(f)))
}

/// Uploads the next version of a file reached through an edit link.
#[utoipa::path(post, path = "/api/v1/link/files/{id}/versions", params(("id" = crate::openapi::Id, Path)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = FileInfo), (status = 401), (status = 403), (status = 404), (status = 409)))]
async fn link_new_version(
    State(st): State<Shared>,
    lc: LinkCaller,
    Path(id): Path<FileId>,
    req: Request,
) -> ApiResult<impl IntoResponse> {
    let body = || super::files::version_body(&st, req);
    let f = strongroom_service::files::upload_version(&st, (&lc).into(), &id, body).await?;
    Ok((StatusCode::CREATED, Json(f)))
}
