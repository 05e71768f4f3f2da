//! Folders: list, create, rename, move, trash, restore, purge.

use super::guard_folder;
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path};
use crate::state::Shared;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use strongroom_core::Capability;
use strongroom_core::audit::AuditAction;
use strongroom_core::ids::FolderId;
use strongroom_store::content::{self, Folder, FolderListing};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(get_folder, update_folder, purge_folder))
        .routes(routes!(create_folder))
        .routes(routes!(trash_folder))
        .routes(routes!(restore_folder))
}

/// A folder with its folders and files (those not in the trash).
#[utoipa::path(get, path = "/api/v1/folders/{id}", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = FolderListing), (status = 404)))]
async fn get_folder(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FolderId>,
) -> ApiResult<Json<FolderListing>> {
    let g = guard_folder(&st, &caller, &id, Capability::View).await?;
    Ok(Json(super::visible_listing(&st, &g).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewFolderRequest {
    #[schema(value_type = crate::openapi::ItemName)]
    name: String,
}

/// Creates a folder inside this one.
#[utoipa::path(post, path = "/api/v1/folders/{id}/folders", params(("id" = crate::openapi::Id, Path)), request_body = NewFolderRequest,
    responses((status = 201, body = Folder), (status = 409)))]
async fn create_folder(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FolderId>,
    Json(req): Json<NewFolderRequest>,
) -> ApiResult<impl IntoResponse> {
    let g = guard_folder(&st, &caller, &id, Capability::CreateFolders).await?;
    let mut change = st.change_by(&caller).await?;
    let f = content::create_folder(&mut change, &g.permit, &id, &req.name, &caller.actor.user_id).await?;
    change
        .commit(
            &caller
                .event(AuditAction::FolderCreate)
                .target("folder", &f.id)
                .details(serde_json::json!({"name": f.name, "parent_id": id})),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(f)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UpdateItemRequest {
    /// New name.
    #[schema(value_type = Option<crate::openapi::ItemName>)]
    name: Option<String>,
    /// New parent folder (a move; may be in another room where the caller can edit).
    #[schema(value_type = Option<crate::openapi::Id>)]
    folder_id: Option<FolderId>,
}

/// Renames and/or moves a folder.
#[utoipa::path(patch, path = "/api/v1/folders/{id}", params(("id" = crate::openapi::Id, Path)), request_body = UpdateItemRequest,
    responses((status = 200, body = Folder), (status = 409)))]
async fn update_folder(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FolderId>,
    Json(req): Json<UpdateItemRequest>,
) -> ApiResult<Json<Folder>> {
    let g = guard_folder(&st, &caller, &id, Capability::Edit).await?;
    let mut change = super::move_change(&st, &caller, &g, req.folder_id.as_ref(), Capability::CreateFolders).await?;
    let f = content::update_folder(&mut change, &g.permit, &id, req.name.as_deref(), req.folder_id.as_ref()).await?;
    change
        .commit(
            &caller
                .event(AuditAction::FolderUpdate)
                .target("folder", &id)
                .details(moved(
                    &g.item.name,
                    &f.name,
                    g.item.parent_id.as_ref(),
                    f.parent_id.as_ref(),
                )),
        )
        .await?;
    Ok(Json(f))
}

/// Moves a folder (and everything in it) to the room's trash.
#[utoipa::path(post, path = "/api/v1/folders/{id}/trash", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = Folder)))]
async fn trash_folder(State(st): State<Shared>, caller: Caller, Path(id): Path<FolderId>) -> ApiResult<Json<Folder>> {
    let g = guard_folder(&st, &caller, &id, Capability::Trash).await?;
    let mut change = st.change_by(&caller).await?;
    let f = content::set_folder_trashed(&mut change, &g.permit, &id, true).await?;
    change
        .commit(&caller.event(AuditAction::FolderTrash).target("folder", &id))
        .await?;
    Ok(Json(f))
}

/// Takes a folder out of the trash.
#[utoipa::path(post, path = "/api/v1/folders/{id}/restore", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = Folder), (status = 409, description = "a live item of that name is in the destination folder (`conflict`)")))]
async fn restore_folder(State(st): State<Shared>, caller: Caller, Path(id): Path<FolderId>) -> ApiResult<Json<Folder>> {
    let g = guard_folder(&st, &caller, &id, Capability::Trash).await?;
    let mut change = st.change_by(&caller).await?;
    let f = content::set_folder_trashed(&mut change, &g.permit, &id, false).await?;
    change
        .commit(&caller.event(AuditAction::FolderRestore).target("folder", &id))
        .await?;
    Ok(Json(f))
}

/// Deletes a trashed folder and everything in it, permanently.
#[utoipa::path(delete, path = "/api/v1/folders/{id}", params(("id" = crate::openapi::Id, Path)), responses((status = 204), (status = 409)))]
async fn purge_folder(State(st): State<Shared>, caller: Caller, Path(id): Path<FolderId>) -> ApiResult<StatusCode> {
    let g = guard_folder(&st, &caller, &id, Capability::Purge).await?;
    let mut change = st.change_by(&caller).await?;
    let n = content::purge_folder(&mut change, &g.permit, &id).await?;
    change
        .commit(
            &caller
                .event(AuditAction::FolderPurge)
                .target("folder", &id)
                .details(serde_json::json!({"name": g.item.name, "files": n})),
        )
        .await?;
    crate::sweep_now(&st);
    Ok(StatusCode::NO_CONTENT)
}

/// What a rename or move changed, for the audit trail: the name and the parent, from → to.
pub(crate) fn moved<P: serde::Serialize + PartialEq>(
    name_before: &str,
    name_after: &str,
    parent_before: P,
    parent_after: P,
) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    if name_before != name_after {
        m.insert(
            "name".into(),
            serde_json::json!({"from": name_before, "to": name_after}),
        );
    }
    if parent_before != parent_after {
        m.insert(
            "parent_id".into(),
            serde_json::json!({"from": parent_before, "to": parent_after}),
        );
    }
    serde_json::json!({ "changed": m })
}
