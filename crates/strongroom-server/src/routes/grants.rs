//! Sharing: grants on a room (its members), on a folder or on a file (overrides for one user
//! or group, with more or less access than they have above). One set of handlers serves the
//! three kinds of node.

use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path};
use crate::state::Shared;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use strongroom_core::AccessLevel;
use strongroom_core::ids::{FileId, FolderId, RoomId};
use strongroom_core::rights::Restrictions;
use strongroom_service::access::Item;
use strongroom_service::sharing;
use strongroom_store::grants::{Member, SubjectKind};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(list_members, set_member))
        .routes(routes!(remove_member))
        .routes(routes!(list_folder_grants, set_folder_grant))
        .routes(routes!(remove_folder_grant))
        .routes(routes!(list_file_grants, set_file_grant))
        .routes(routes!(remove_file_grant))
}

/// A grant to set. Unknown fields are refused: a misspelt restriction must not pass as none.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    kind: SubjectKind,
    /// The user's or group's id (unknown: 404).
    #[schema(value_type = crate::openapi::Id)]
    id: String,
    access: AccessLevel,
    /// This grant gives no download (nor copies, nor delivered copies).
    #[serde(default)]
    no_download: bool,
    #[serde(default)]
    no_print: bool,
    #[serde(default)]
    no_copy: bool,
}

impl GrantRequest {
    fn restrictions(&self) -> Restrictions {
        Restrictions {
            no_download: self.no_download,
            no_print: self.no_print,
            no_copy: self.no_copy,
        }
    }
}

impl GrantRequest {
    fn member(self) -> Member {
        Member {
            restrictions: self.restrictions(),
            kind: self.kind,
            id: self.id,
            access: self.access,
        }
    }
}

/// The room's members: grants on the room itself.
#[utoipa::path(get, path = "/api/v1/rooms/{id}/members", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = Vec<Member>), (status = 404)))]
async fn list_members(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<RoomId>,
) -> ApiResult<Json<Vec<Member>>> {
    Ok(Json(sharing::list_grants(&st, &caller, Item::Room(&id)).await?))
}

/// Grants a user or group an access level in the room (replacing any earlier grant). Needs
/// the right to share; anyone but a room admin gives only what they hold themselves.
#[utoipa::path(put, path = "/api/v1/rooms/{id}/members", params(("id" = crate::openapi::Id, Path)), request_body = GrantRequest,
    responses((status = 204), (status = 403), (status = 404)))]
async fn set_member(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<RoomId>,
    Json(req): Json<GrantRequest>,
) -> ApiResult<StatusCode> {
    sharing::set_grant(&st, &caller, Item::Room(&id), &req.member()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/rooms/{id}/members/{kind}/{subject}",
    params(("id" = crate::openapi::Id, Path), ("kind" = SubjectKind, Path), ("subject" = crate::openapi::Id, Path)), responses((status = 204), (status = 403), (status = 404)))]
async fn remove_member(
    State(st): State<Shared>,
    caller: Caller,
    Path((id, kind, subject)): Path<(RoomId, SubjectKind, String)>,
) -> ApiResult<StatusCode> {
    sharing::remove_grant(&st, &caller, Item::Room(&id), kind, &subject).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Grants on a folder (overrides of the room's for everything inside it). Needs the right to
/// share there.
#[utoipa::path(get, path = "/api/v1/folders/{id}/grants", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = Vec<Member>), (status = 404)))]
async fn list_folder_grants(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FolderId>,
) -> ApiResult<Json<Vec<Member>>> {
    Ok(Json(sharing::list_grants(&st, &caller, Item::Folder(&id)).await?))
}

#[utoipa::path(put, path = "/api/v1/folders/{id}/grants", params(("id" = crate::openapi::Id, Path)), request_body = GrantRequest,
    responses((status = 204), (status = 403), (status = 404)))]
async fn set_folder_grant(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FolderId>,
    Json(req): Json<GrantRequest>,
) -> ApiResult<StatusCode> {
    sharing::set_grant(&st, &caller, Item::Folder(&id), &req.member()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/folders/{id}/grants/{kind}/{subject}",
    params(("id" = crate::openapi::Id, Path), ("kind" = SubjectKind, Path), ("subject" = crate::openapi::Id, Path)), responses((status = 204), (status = 403), (status = 404)))]
async fn remove_folder_grant(
    State(st): State<Shared>,
    caller: Caller,
    Path((id, kind, subject)): Path<(FolderId, SubjectKind, String)>,
) -> ApiResult<StatusCode> {
    sharing::remove_grant(&st, &caller, Item::Folder(&id), kind, &subject).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Grants on one file (overrides of its folders' and room's). Needs the right to share there.
#[utoipa::path(get, path = "/api/v1/files/{id}/grants", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = Vec<Member>), (status = 404)))]
async fn list_file_grants(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FileId>,
) -> ApiResult<Json<Vec<Member>>> {
    Ok(Json(sharing::list_grants(&st, &caller, Item::File(&id)).await?))
}

#[utoipa::path(put, path = "/api/v1/files/{id}/grants", params(("id" = crate::openapi::Id, Path)), request_body = GrantRequest,
    responses((status = 204), (status = 403), (status = 404)))]
async fn set_file_grant(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FileId>,
    Json(req): Json<GrantRequest>,
) -> ApiResult<StatusCode> {
    sharing::set_grant(&st, &caller, Item::File(&id), &req.member()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/files/{id}/grants/{kind}/{subject}",
    params(("id" = crate::openapi::Id, Path), ("kind" = SubjectKind, Path), ("subject" = crate::openapi::Id, Path)), responses((status = 204), (status = 403), (status = 404)))]
async fn remove_file_grant(
    State(st): State<Shared>,
    caller: Caller,
    Path((id, kind, subject)): Path<(FileId, SubjectKind, String)>,
) -> ApiResult<StatusCode> {
    sharing::remove_grant(&st, &caller, Item::File(&id), kind, &subject).await?;
    Ok(StatusCode::NO_CONTENT)
}
