//! External links: made, listed and revoked under the folder or file they point at; opened
//! anonymously by the secret in their URL; unlocked (with the password, if they have one) into
//! a short-lived link session; then the linked item is read as that link's holder.
//!
//! An unknown, expired or revoked link, and one whose maker may no longer make it, all answer
//! the same 404. Password guesses are counted per link before they are checked (see
//! `strongroom_store::links::begin_unlock`), and each check is an Argon2id verification in the
//! bounded password queue.

use super::{Target, file_target, folder_target, guard_file_for, guard_folder_for};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, Json, LinkCaller, Origin, Path, Requester};
use crate::state::{AppState, Shared};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use strongroom_auth::{password, token};
use strongroom_core::audit::{AuditAction, AuditEvent, Outcome};
use strongroom_core::ids::{FileId, FolderId, LinkId};
use strongroom_core::rights::{Restrictions, may_link};
use strongroom_core::{AccessLevel, Capability};
use strongroom_store::content::{self, FileInfo, FolderListing};
use strongroom_store::grants::NodeKind;
use strongroom_store::links::{self, Link, NewLink};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// How long an unlocked link's session lasts (never past the link's own expiry).
const SESSION_MS: i64 = 60 * 60 * 1000;

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

async fn folder_linked(st: &AppState, caller: &Caller, id: &FolderId) -> ApiResult<Target> {
    folder_target(st, caller, id, Capability::ManageLinks).await
}

async fn file_linked(st: &AppState, caller: &Caller, id: &FileId) -> ApiResult<Target> {
    file_target(st, caller, id, Capability::ManageLinks).await
}

async fn create(
    st: &AppState,
    caller: &Caller,
    at: Target,
    req: NewLinkRequest,
) -> ApiResult<(StatusCode, Json<NewLinkResponse>)> {
    let restrictions = Restrictions {
        no_download: req.no_download,
        no_print: req.no_print,
        no_copy: req.no_copy,
    };
    if !req.access.allowed_for_links() {
        return Err(ApiError::bad_request(
            "a link carries view_only, form_filling, comment, review or edit",
        ));
    }
    if !may_link(at.in_room.rights(&at.path), req.access, restrictions) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "a link gives no more than you hold yourself",
        ));
    }
    let expires_at = match req.expires_in_days {
        Some(0) | Some(3651..) => return Err(ApiError::bad_request("expires_in_days must be between 1 and 3650")),
        Some(days) => Some(st.now().saturating_add(i64::from(days) * 86_400_000)),
        None => None,
    };
    let password_hash = match req.password {
        Some(pw) => Some(password::hash(pw).await?),
        None => None,
    };
    let (secret, hash) = token::generate(token::Kind::Link);
    let mut change = st.change_by(caller).await?;
    let link = links::create_link(
        &mut change,
        &at.permit,
        NewLink {
            token_hash: &hash,
            room: &at.in_room.access.room,
            node: &at.node,
            access: req.access,
            restrictions,
            password_hash,
            expires_at,
            by: &caller.actor.user_id,
        },
    )
    .await?;
    change
        .commit(
            &caller
                .event(AuditAction::LinkCreate)
                .target(at.node.kind.as_str(), &at.node.id)
                .details(serde_json::json!({
                    "link": link.id, "access": link.access, "restrictions": restrictions,
                    "expires_at": link.expires_at, "password": link.password_required,
                })),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(NewLinkResponse { token: secret, link })))
}

async fn revoke(st: &AppState, caller: &Caller, at: Target, link: &LinkId) -> ApiResult<StatusCode> {
    let mut change = st.change_by(caller).await?;
    links::revoke_link(&mut change, &at.permit, &at.node, link).await?;
    change
        .commit(
            &caller
                .event(AuditAction::LinkRevoke)
                .target(at.node.kind.as_str(), &at.node.id)
                .details(serde_json::json!({"link": link})),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Links to this folder (and everything in it). Needs the right to manage links here.
#[utoipa::path(get, path = "/api/v1/folders/{id}/links", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = Vec<Link>), (status = 404)))]
async fn list_folder_links(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FolderId>,
) -> ApiResult<Json<Vec<Link>>> {
    let at = folder_linked(&st, &caller, &id).await?;
    Ok(Json(links::list_links(&st.db, &at.node).await?))
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
    let at = folder_linked(&st, &caller, &id).await?;
    create(&st, &caller, at, req).await
}

/// Revokes a link to this folder at once (its sessions end too).
#[utoipa::path(delete, path = "/api/v1/folders/{id}/links/{link_id}", params(("id" = crate::openapi::Id, Path), ("link_id" = crate::openapi::Id, Path)),
    responses((status = 204), (status = 404)))]
async fn revoke_folder_link(
    State(st): State<Shared>,
    caller: Caller,
    Path((id, link)): Path<(FolderId, LinkId)>,
) -> ApiResult<StatusCode> {
    let at = folder_linked(&st, &caller, &id).await?;
    revoke(&st, &caller, at, &link).await
}

/// Links to this file. Needs the right to manage links here.
#[utoipa::path(get, path = "/api/v1/files/{id}/links", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = Vec<Link>), (status = 404)))]
async fn list_file_links(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FileId>,
) -> ApiResult<Json<Vec<Link>>> {
    let at = file_linked(&st, &caller, &id).await?;
    Ok(Json(links::list_links(&st.db, &at.node).await?))
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
    let at = file_linked(&st, &caller, &id).await?;
    create(&st, &caller, at, req).await
}

/// Revokes a link to this file at once (its sessions end too).
#[utoipa::path(delete, path = "/api/v1/files/{id}/links/{link_id}", params(("id" = crate::openapi::Id, Path), ("link_id" = crate::openapi::Id, Path)),
    responses((status = 204), (status = 404)))]
async fn revoke_file_link(
    State(st): State<Shared>,
    caller: Caller,
    Path((id, link)): Path<(FileId, LinkId)>,
) -> ApiResult<StatusCode> {
    let at = file_linked(&st, &caller, &id).await?;
    revoke(&st, &caller, at, &link).await
}

/// The one answer for a link that does not work, whatever the reason.
fn dead_link() -> ApiError {
    ApiError::not_found("link")
}

/// A live link whose maker may still make it.
async fn live(st: &AppState, secret: &str) -> ApiResult<links::LiveLink> {
    let found = links::find_live_link(&st.db, &token::hash(secret), st.now())
        .await?
        .ok_or_else(dead_link)?;
    let in_room = super::InRoom::for_link(st, &found.link).await?;
    // A link to something in the trash works again when it is restored.
    let (path, live) = match found.link.node().kind {
        NodeKind::Folder => {
            let id = FolderId::from_trusted(found.link.item_id.clone());
            (
                content::folder_path(&st.db, &id).await?,
                content::folder_is_live(&st.db, &id).await?,
            )
        }
        _ => {
            let file = content::get_file(&st.db, &FileId::from_trusted(found.link.item_id.clone())).await?;
            let live = !file.trashed && content::folder_is_live(&st.db, &file.folder_id).await?;
            (content::file_path(&st.db, &file).await?, live)
        }
    };
    if !live || !in_room.rights(&path).visible() {
        return Err(dead_link());
    }
    Ok(found)
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

/// Opens a link (anonymous). Unknown, expired and revoked links answer alike: 404.
#[utoipa::path(get, path = "/api/v1/links/{token}", params(("token" = String, Path)), responses((status = 200, body = LinkLanding), (status = 404)))]
async fn open_link(
    State(st): State<Shared>,
    Origin(origin): Origin,
    Path(secret): Path<String>,
) -> ApiResult<Json<LinkLanding>> {
    let found = live(&st, &secret).await?;
    let l = &found.link;
    st.audit(
        AuditEvent::new(AuditAction::LinkOpen)
            .by_link(l.id.as_str())
            .target(l.node().kind.as_str(), &l.item_id)
            .from_origin(&origin),
    )
    .await?;
    Ok(Json(LinkLanding {
        item_kind: l.item_kind.clone(),
        access: l.access,
        password_required: l.password_required,
        expires_at: l.expires_at,
    }))
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
    let found = live(&st, &secret).await?;
    let l = &found.link;
    let now = st.now();
    let event = || {
        AuditEvent::new(AuditAction::LinkUnlock)
            .by_link(l.id.as_str())
            .target(l.node().kind.as_str(), &l.item_id)
            .from_origin(&origin)
    };
    if let Some(hash) = &found.password_hash {
        if let Err(until) = links::begin_unlock(&st.db, &l.id, now).await? {
            let secs = u32::try_from((until - now).max(1000) / 1000).unwrap_or(3600);
            return Err(ApiError {
                retry_after: Some(secs),
                ..ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "locked",
                    "too many wrong passwords; try again later",
                )
            });
        }
        let given = req.password.unwrap_or_else(|| SecretString::from(String::new()));
        if !password::verify(Some(hash.clone()), given).await? {
            st.audit(event().outcome(Outcome::Failure)).await?;
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "wrong_password",
                "the link's password is wrong",
            ));
        }
    }
    let (session, session_hash) = token::generate(token::Kind::LinkSession);
    let expires_at = l.expires_at.map_or(now + SESSION_MS, |e| e.min(now + SESSION_MS));
    let mut change = st.change().await?;
    links::create_link_session(&mut change, &session_hash, &l.id, expires_at).await?;
    change.commit(&event()).await?;
    Ok(Json(LinkSession {
        session,
        session_expires_at: expires_at,
        item_id: l.item_id.clone(),
        link: LinkLanding {
            item_kind: l.item_kind.clone(),
            access: l.access,
            password_required: l.password_required,
            expires_at: l.expires_at,
        },
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
    let who = Requester::Link(&lc);
    let g = guard_folder_for(&st, who, &id, Capability::View).await?;
    let listing = super::visible_listing(&st, &g).await?;
    st.audit(who.event(AuditAction::LinkFolderView).target("folder", &id))
        .await?;
    Ok(Json(listing))
}

/// A file reached through a link.
#[utoipa::path(get, path = "/api/v1/link/files/{id}", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = FileInfo), (status = 401), (status = 404)))]
async fn link_file(State(st): State<Shared>, lc: LinkCaller, Path(id): Path<FileId>) -> ApiResult<Json<FileInfo>> {
    let who = Requester::Link(&lc);
    let g = guard_file_for(&st, who, &id, Capability::View).await?;
    st.audit(who.event(AuditAction::LinkFileView).target("file", &id))
        .await?;
    Ok(Json(g.item))
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
    let who = Requester::Link(&lc);
    let g = guard_file_for(&st, who, &id, Capability::Download).await?;
    let v = content::get_version(&st.db, &id, g.item.version).await?;
    super::files::send_version(&st, who, &g, &v, &headers).await
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
    let who = Requester::Link(&lc);
    let g = guard_folder_for(&st, who, &id, Capability::Edit).await?;
    Ok((
        StatusCode::CREATED,
        Json(super::files::upload_into(&st, who, g, q.name, req).await?),
    ))
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
    let who = Requester::Link(&lc);
    let g = guard_file_for(&st, who, &id, Capability::Edit).await?;
    Ok((
        StatusCode::CREATED,
        Json(super::files::new_version(&st, who, g, req).await?),
    ))
}
