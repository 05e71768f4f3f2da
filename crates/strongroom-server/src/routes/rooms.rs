//! Rooms, their policy and their trash (members: see [`super::grants`]).

use super::{InRoom, guard_room};
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path};
use crate::state::Shared;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use strongroom_core::audit::AuditAction;
use strongroom_core::ids::{FolderId, RoomId};
use strongroom_core::rights::{Restrictions, Rights, RoomPolicy};
use strongroom_core::{AccessLevel, Action, Capability, Resource, authorize};
use strongroom_store::content::{self, FileInfo, Folder};
use strongroom_store::grants::{Node, NodeKind};
use strongroom_store::rooms::{self, Room, RoomSettings};
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
    authorize(&caller.actor, Action::ListRooms, Resource::Instance)?;
    let person = super::person_of(&st, &caller).await?;
    let list = rooms::list_rooms(&st.db, &person).await?;
    let scope = caller.actor.scope.room.as_ref();
    Ok(Json(
        list.into_iter()
            .filter(|(room, _)| scope.is_none_or(|r| *r == room.id))
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
    authorize(&caller.actor, Action::CreateRoom, Resource::Instance)?;
    let mut change = st.change_by(&caller).await?;
    let room = rooms::create_room(&mut change, &req.name, &caller.actor.user_id).await?;
    change
        .commit(
            &caller
                .event(AuditAction::RoomCreate)
                .target("room", &room.id)
                .details(serde_json::json!({"name": room.name})),
        )
        .await?;
    let rights = InRoom::load(&st, &caller, &room.id).await?.rights(&[]);
    Ok((StatusCode::CREATED, Json(RoomView::new(room, rights))))
}

#[utoipa::path(get, path = "/api/v1/rooms/{id}", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = RoomView), (status = 404)))]
async fn get_room(State(st): State<Shared>, caller: Caller, Path(id): Path<RoomId>) -> ApiResult<Json<RoomView>> {
    // Listed rooms can be opened: also those where only something inside was shared.
    let in_room = match guard_room(&st, &caller, &id, Capability::View).await {
        Ok((in_room, _)) => in_room,
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            let in_room = InRoom::load(&st, &caller, &id).await?;
            let scoped_out = caller.actor.scope.room.as_ref().is_some_and(|r| *r != id);
            if scoped_out || !in_room.room_listed() {
                return Err(e);
            }
            in_room
        }
        Err(e) => return Err(e),
    };
    Ok(Json(RoomView::new(
        rooms::get_room(&st.db, &id).await?,
        in_room.rights(&[]),
    )))
}

#[utoipa::path(patch, path = "/api/v1/rooms/{id}", params(("id" = crate::openapi::Id, Path)), request_body = RoomRequest, responses((status = 200, body = Room)))]
async fn rename_room(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<RoomId>,
    Json(req): Json<RoomRequest>,
) -> ApiResult<Json<Room>> {
    let (_, permit) = guard_room(&st, &caller, &id, Capability::ManageRoom).await?;
    let before = rooms::get_room(&st.db, &id).await?;
    let mut change = st.change_by(&caller).await?;
    let room = rooms::rename_room(&mut change, &permit, &id, &req.name).await?;
    change
        .commit(
            &caller
                .event(AuditAction::RoomRename)
                .target("room", &id)
                .details(serde_json::json!({"changed": {"name": {"from": before.name, "to": room.name}}})),
        )
        .await?;
    Ok(Json(room))
}

/// Deletes a room and everything in it, permanently.
#[utoipa::path(delete, path = "/api/v1/rooms/{id}", params(("id" = crate::openapi::Id, Path)), responses((status = 204)))]
async fn delete_room(State(st): State<Shared>, caller: Caller, Path(id): Path<RoomId>) -> ApiResult<StatusCode> {
    let (_, permit) = guard_room(&st, &caller, &id, Capability::ManageRoom).await?;
    let room = rooms::get_room(&st.db, &id).await?;
    let mut change = st.change_by(&caller).await?;
    content::purge_room(&mut change, &permit, &id).await?;
    change
        .commit(
            &caller
                .event(AuditAction::RoomDelete)
                .target("room", &id)
                .details(serde_json::json!({"name": room.name})),
        )
        .await?;
    crate::sweep_now(&st);
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
    let (in_room, _) = guard_room(&st, &caller, &id, Capability::View).await?;
    let (mut folders, mut files) = content::list_trash(&st.db, &id).await?;
    // Each item is shown only to those who may see it where it lies.
    let tree = content::folder_tree(&st.db, &id).await?;
    let sees = |folder: &FolderId, item: Option<Node>| {
        let mut path = tree.path_to(folder);
        path.extend(item);
        in_room.rights(&path).visible()
    };
    folders.retain(|f| sees(&f.id, None));
    files.retain(|f| sees(&f.folder_id, Some(Node::new(NodeKind::File, f.id.as_str()))));
    Ok(Json(Trash { folders, files }))
}

/// The room's rules: restrictions binding everyone but room admins, who may share, and the
/// download watermark. Every member may read them.
#[utoipa::path(get, path = "/api/v1/rooms/{id}/policy", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = RoomSettings), (status = 404)))]
async fn get_policy(State(st): State<Shared>, caller: Caller, Path(id): Path<RoomId>) -> ApiResult<Json<RoomSettings>> {
    guard_room(&st, &caller, &id, Capability::View).await?;
    Ok(Json(rooms::room_policy(&st.db, &id).await?))
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
    let (_, permit) = guard_room(&st, &caller, &id, Capability::ManageRoom).await?;
    let before = rooms::room_policy(&st.db, &id).await?;
    let mut change = st.change_by(&caller).await?;
    let after = rooms::set_room_policy(&mut change, &permit, &id, &req.into()).await?;
    change
        .commit(
            &caller
                .event(AuditAction::RoomPolicy)
                .target("room", &id)
                .details(serde_json::json!({"before": before, "after": after})),
        )
        .await?;
    Ok(Json(after))
}
