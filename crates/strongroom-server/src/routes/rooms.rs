//! Rooms, their members and their trash.

use super::guard_room;
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path};
use crate::state::Shared;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use strongroom_core::audit::AuditEvent;
use strongroom_core::ids::RoomId;
use strongroom_core::{AccessLevel, Action, Module, Resource, authorize};
use strongroom_store::content::{self, FileInfo, Folder};
use strongroom_store::rooms::{self, Member, Room, SubjectKind};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(list_rooms, create_room))
        .routes(routes!(get_room, rename_room, delete_room))
        .routes(routes!(list_members, set_member))
        .routes(routes!(remove_member))
        .routes(routes!(list_trash))
}

/// A room with the caller's access level in it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RoomView {
    #[serde(flatten)]
    room: Room,
    /// The caller's effective access (`null` for an administrator who is not a member).
    access: Option<AccessLevel>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RoomRequest {
    #[schema(value_type = crate::openapi::Name)]
    name: String,
}

/// Rooms the caller can see.
#[utoipa::path(get, path = "/api/v1/rooms", responses((status = 200, body = Vec<RoomView>)))]
async fn list_rooms(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<Vec<RoomView>>> {
    authorize(&caller.actor, Action::ListRooms, Resource::Instance)?;
    let all = caller.actor.administers(Module::Documents);
    let list = rooms::list_rooms(&st.db, &caller.actor.user_id, all).await?;
    Ok(Json(
        list.into_iter()
            .map(|(room, access)| RoomView { room, access })
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
    authorize(&caller.actor, Action::CreateRoom, Resource::Instance)?;
    let room = rooms::create_room(&st.db, &req.name, &caller.actor.user_id, st.now()).await?;
    st.audit(
        AuditEvent::new("room.create", "documents")
            .by(&caller.actor)
            .target("room", &room.id)
            .from_origin(&caller.origin),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(RoomView {
            room,
            access: Some(AccessLevel::FullAccess),
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/rooms/{id}", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = RoomView), (status = 404)))]
async fn get_room(State(st): State<Shared>, caller: Caller, Path(id): Path<RoomId>) -> ApiResult<Json<RoomView>> {
    guard_room(&st, &caller, &id, Action::ReadContent).await?;
    let access = rooms::access_in_room(&st.db, &id, &caller.actor.user_id).await?;
    Ok(Json(RoomView {
        room: rooms::get_room(&st.db, &id).await?,
        access,
    }))
}

#[utoipa::path(patch, path = "/api/v1/rooms/{id}", params(("id" = crate::openapi::Id, Path)), request_body = RoomRequest, responses((status = 200, body = Room)))]
async fn rename_room(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<RoomId>,
    Json(req): Json<RoomRequest>,
) -> ApiResult<Json<Room>> {
    guard_room(&st, &caller, &id, Action::ManageRoom).await?;
    let room = rooms::rename_room(&st.db, &id, &req.name).await?;
    st.audit(
        AuditEvent::new("room.rename", "documents")
            .by(&caller.actor)
            .target("room", &id)
            .from_origin(&caller.origin),
    )
    .await?;
    Ok(Json(room))
}

/// Deletes a room and everything in it, permanently.
#[utoipa::path(delete, path = "/api/v1/rooms/{id}", params(("id" = crate::openapi::Id, Path)), responses((status = 204)))]
async fn delete_room(State(st): State<Shared>, caller: Caller, Path(id): Path<RoomId>) -> ApiResult<StatusCode> {
    guard_room(&st, &caller, &id, Action::ManageRoom).await?;
    content::purge_room(&st.db, &id, st.now()).await?;
    st.audit(
        AuditEvent::new("room.delete", "documents")
            .by(&caller.actor)
            .target("room", &id)
            .from_origin(&caller.origin),
    )
    .await?;
    crate::sweep_now(&st);
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/rooms/{id}/members", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = Vec<Member>)))]
async fn list_members(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<RoomId>,
) -> ApiResult<Json<Vec<Member>>> {
    guard_room(&st, &caller, &id, Action::ReadContent).await?;
    Ok(Json(rooms::list_members(&st.db, &id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct MemberRequest {
    kind: SubjectKind,
    /// The user's or group's id (unknown: 404).
    #[schema(value_type = crate::openapi::Id)]
    id: String,
    access: AccessLevel,
}

/// Grants a user or group an access level in the room (replacing any earlier grant).
#[utoipa::path(put, path = "/api/v1/rooms/{id}/members", params(("id" = crate::openapi::Id, Path)), request_body = MemberRequest, responses((status = 204)))]
async fn set_member(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<RoomId>,
    Json(req): Json<MemberRequest>,
) -> ApiResult<StatusCode> {
    guard_room(&st, &caller, &id, Action::ManageRoom).await?;
    rooms::set_member(&st.db, &id, req.kind, &req.id, req.access).await?;
    st.audit(
        AuditEvent::new("room.member.set", "documents")
            .by(&caller.actor)
            .target("room", &id)
            .details(serde_json::json!({"kind": req.kind, "id": req.id, "access": req.access}))
            .from_origin(&caller.origin),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/rooms/{id}/members/{kind}/{subject}",
    params(("id" = crate::openapi::Id, Path), ("kind" = SubjectKind, Path), ("subject" = crate::openapi::Id, Path)), responses((status = 204)))]
async fn remove_member(
    State(st): State<Shared>,
    caller: Caller,
    Path((id, kind, subject)): Path<(RoomId, SubjectKind, String)>,
) -> ApiResult<StatusCode> {
    guard_room(&st, &caller, &id, Action::ManageRoom).await?;
    rooms::remove_member(&st.db, &id, kind, &subject).await?;
    st.audit(
        AuditEvent::new("room.member.remove", "documents")
            .by(&caller.actor)
            .target("room", &id)
            .details(serde_json::json!({"kind": kind, "id": subject}))
            .from_origin(&caller.origin),
    )
    .await?;
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
    guard_room(&st, &caller, &id, Action::ReadContent).await?;
    let (folders, files) = content::list_trash(&st.db, &id).await?;
    Ok(Json(Trash { folders, files }))
}
