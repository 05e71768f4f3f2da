//! Rooms, their policy and their trash (members: see [`super::grants`]).

use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path};
use crate::state::Shared;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use strongroom_core::ids::RoomId;
use strongroom_core::rights::{Restrictions, Rights, RoomPolicy};
use strongroom_core::{AccessLevel, Capability};
use strongroom_service as service;
use strongroom_store::content::{FileInfo, Folder};
use strongroom_store::rooms::{Room, RoomSettings};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(list_rooms, create_room))
        .routes(routes!(get_room, rename_room, delete_room))
        .routes(routes!(get_policy, set_policy))
        .routes(routes!(list_trash))
}

/// A room with the caller's rights in it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RoomView {
    #[serde(flatten)]
    room: Room,
    /// The level of the caller's grant on the room (`null`: none, e.g. only items inside were
    /// shared with them, or a documents administrator who is not a member).
    access: Option<AccessLevel>,
    /// What the caller may do to the room itself, after the room's restrictions.
    capabilities: Vec<Capability>,
    /// Whether the caller is a room admin here.
    room_admin: bool,
}

impl RoomView {
    fn new(room: Room, rights: Rights) -> RoomView {
        RoomView {
            room,
            access: rights.level,
            capabilities: rights.caps.iter().collect(),
            room_admin: rights.room_admin,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RoomRequest {
    #[schema(value_type = crate::openapi::Name)]
    name: String,
}

/// Rooms the caller can see.
#[utoipa::path(get, path = "/api/v1/rooms", responses((status = 200, body = Vec<RoomView>)))]
async fn list_rooms(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<Vec<RoomView>>> {
    let list = service::rooms::list_rooms(&st, &caller).await?;
    Ok(Json(
        list.into_iter()
            .map(|(room, rights)| RoomView::new(room, rights))
            .collect(),
    ))
}

/// Creates a room; the caller becomes a full-access member.
#[utoipa::path(post, path = "/api/v1/rooms", request_body = RoomRequest, responses((status = 201, body = RoomView)))]
async fn create_room(
    State(st): State<Shared>,
    caller: Caller,
    Json(req): Json<RoomRequest>,
) -> ApiResult<impl IntoResponse> {
    let (room, rights) = service::rooms::create_room(&st, &caller, &req.name).await?;
    Ok((StatusCode::CREATED, Json(RoomView::new(room, rights))))
}

#[utoipa::path(get, path = "/api/v1/rooms/{id}", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = RoomView), (status = 404)))]
async fn get_room(State(st): State<Shared>, caller: Caller, Path(id): Path<RoomId>) -> ApiResult<Json<RoomView>> {
    let (room, rights) = service::rooms::get_room(&st, &caller, &id).await?;
    Ok(Json(RoomView::new(room, rights)))
}

#[utoipa::path(patch, path = "/api/v1/rooms/{id}", params(("id" = crate::openapi::Id, Path)), request_body = RoomRequest, responses((status = 200, body = Room)))]
async fn rename_room(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<RoomId>,
    Json(req): Json<RoomRequest>,
) -> ApiResult<Json<Room>> {
    Ok(Json(service::rooms::rename_room(&st, &caller, &id, &req.name).await?))
}

/// Deletes a room and everything in it, permanently.
#[utoipa::path(delete, path = "/api/v1/rooms/{id}", params(("id" = crate::openapi::Id, Path)), responses((status = 204)))]
async fn delete_room(State(st): State<Shared>, caller: Caller, Path(id): Path<RoomId>) -> ApiResult<StatusCode> {
    service::rooms::delete_room(&st, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Trash {
    folders: Vec<Folder>,
    files: Vec<FileInfo>,
}

/// Items of the room in the trash.
#[utoipa::path(get, path = "/api/v1/rooms/{id}/trash", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = Trash)))]
async fn list_trash(State(st): State<Shared>, caller: Caller, Path(id): Path<RoomId>) -> ApiResult<Json<Trash>> {
    let (folders, files) = service::rooms::list_trash(&st, &caller, &id).await?;
    Ok(Json(Trash { folders, files }))
}

/// The room's rules: restrictions binding everyone but room admins, who may share, and the
/// download watermark. Every member may read them.
#[utoipa::path(get, path = "/api/v1/rooms/{id}/policy", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = RoomSettings), (status = 404)))]
async fn get_policy(State(st): State<Shared>, caller: Caller, Path(id): Path<RoomId>) -> ApiResult<Json<RoomSettings>> {
    Ok(Json(service::rooms::get_policy(&st, &caller, &id).await?))
}

/// A room's rules as set: every field says what it is (absent: off). Unknown fields are
/// refused, so a misspelt restriction does not silently leave a room open.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyRequest {
    #[serde(default)]
    no_download: bool,
    #[serde(default)]
    no_print: bool,
    #[serde(default)]
    no_copy: bool,
    /// Only room admins may change members, per-item grants and links.
    #[serde(default)]
    sharing_admins_only: bool,
    /// Stamp PDFs and pictures downloaded by members below this level (room admins never).
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::WatermarkLevel>)]
    watermark_below: Option<AccessLevel>,
    /// The stamp (default: `{user} {email} {date}`).
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::WatermarkText>)]
    watermark_text: Option<String>,
}

impl From<PolicyRequest> for RoomSettings {
    fn from(r: PolicyRequest) -> RoomSettings {
        RoomSettings {
            policy: RoomPolicy {
                restrictions: Restrictions {
                    no_download: r.no_download,
                    no_print: r.no_print,
                    no_copy: r.no_copy,
                },
                sharing_admins_only: r.sharing_admins_only,
            },
            watermark_below: r.watermark_below,
            watermark_text: r.watermark_text,
        }
    }
}

/// Changes the room's rules. Needs the right to manage the room.
#[utoipa::path(put, path = "/api/v1/rooms/{id}/policy", params(("id" = crate::openapi::Id, Path)), request_body = PolicyRequest,
    responses((status = 200, body = RoomSettings), (status = 400), (status = 403), (status = 404)))]
async fn set_policy(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<RoomId>,
    Json(req): Json<PolicyRequest>,
) -> ApiResult<Json<RoomSettings>> {
    Ok(Json(service::rooms::set_policy(&st, &caller, &id, &req.into()).await?))
}
