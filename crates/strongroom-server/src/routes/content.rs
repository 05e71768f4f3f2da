//! Folders: list, create, rename, move, trash, restore, purge.

use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path};
use crate::state::Shared;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use strongroom_core::ids::FolderId;
use strongroom_service as service;
use strongroom_store::content::{Folder, FolderListing};
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
    Ok(Json(service::folders::list_folder(&st, &caller, &id).await?))
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
    let f = service::folders::create_folder(&st, &caller, &id, &req.name).await?;
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
    let f = service::folders::update_folder(&st, &caller, &id, req.name.as_deref(), req.folder_id.as_ref()).await?;
    Ok(Json(f))
}

/// Moves a folder (and everything in it) to the room's trash.
#[utoipa::path(post, path = "/api/v1/folders/{id}/trash", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = Folder), (status = 409, description = "already in the trash (`conflict`)")))]
async fn trash_folder(State(st): State<Shared>, caller: Caller, Path(id): Path<FolderId>) -> ApiResult<Json<Folder>> {
    Ok(Json(
        service::folders::set_folder_trashed(&st, &caller, &id, true).await?,
    ))
}

/// Takes a folder out of the trash.
#[utoipa::path(post, path = "/api/v1/folders/{id}/restore", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = Folder), (status = 409, description = "a live item of that name is in the destination folder (`conflict`)")))]
async fn restore_folder(State(st): State<Shared>, caller: Caller, Path(id): Path<FolderId>) -> ApiResult<Json<Folder>> {
    Ok(Json(
        service::folders::set_folder_trashed(&st, &caller, &id, false).await?,
    ))
}

/// Deletes a trashed folder and everything in it, permanently.
#[utoipa::path(delete, path = "/api/v1/folders/{id}", params(("id" = crate::openapi::Id, Path)), responses((status = 204), (status = 409)))]
async fn purge_folder(State(st): State<Shared>, caller: Caller, Path(id): Path<FolderId>) -> ApiResult<StatusCode> {
    service::folders::purge_folder(&st, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
