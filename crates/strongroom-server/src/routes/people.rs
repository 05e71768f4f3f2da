//! Users and groups.

use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path};
use crate::state::Shared;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use secrecy::SecretString;
use serde::Deserialize;
use strongroom_core::ids::{GroupId, UserId};
use strongroom_core::{Module, Role};
use strongroom_service::people::{self as service, NewPerson, PersonUpdate};
use strongroom_store::people::{Group, User};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
        .routes(routes!(transfer_ownership))
        .routes(routes!(list_groups, create_group))
        .routes(routes!(get_group, delete_group))
        .routes(routes!(add_group_member, remove_group_member))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewUserRequest {
    #[schema(value_type = crate::openapi::Email)]
    email: String,
    /// Empty or omitted: the e-mail address.
    #[serde(default)]
    #[schema(value_type = crate::openapi::OptionalName)]
    display_name: String,
    /// `admin`, `user` or `guest` (the Owner is created at setup and by transfer; `owner` is
    /// answered 400).
    #[schema(value_type = NewUserRole)]
    role: Role,
    /// The modules administered (all four: a full Administrator). Required for `admin`
    /// (400 without it); ignored for other roles.
    #[schema(required = true, value_type = Vec<Module>)]
    admin_modules: Option<Vec<Module>>,
    /// Omitted: the person cannot sign in with a password until one is set.
    #[schema(value_type = Option<crate::openapi::NewPassword>)]
    password: Option<SecretString>,
}

/// The roles a new user can have (not `owner`: there is exactly one, made at setup).
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // only describes `NewUserRequest::role` in the OpenAPI document
pub(crate) enum NewUserRole {
    Admin,
    User,
    Guest,
}

/// Every user (for inviting people into rooms).
#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = Vec<User>)))]
async fn list_users(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(service::list_users(&st, &caller).await?))
}

/// Creates a user.
#[utoipa::path(post, path = "/api/v1/users", request_body = NewUserRequest, responses((status = 201, body = User),
        (status = 400, description = "malformed e-mail address, name or body, `owner` as role (`invalid_request`), or the password breaks the policy (`weak_password`)"),
        (status = 409, description = "the e-mail address is taken (`conflict`)"),
        (status = 503, description = "too many password hashes queued (`busy`); retry after `Retry-After` seconds")))]
async fn create_user(
    State(st): State<Shared>,
    caller: Caller,
    Json(req): Json<NewUserRequest>,
) -> ApiResult<impl IntoResponse> {
    let new = NewPerson {
        email: &req.email,
        display_name: &req.display_name,
        role: req.role,
        admin_modules: req.admin_modules.as_deref(),
        password: req.password,
    };
    let user = service::create_user(&st, (&caller).into(), new).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = User), (status = 404)))]
async fn get_user(State(st): State<Shared>, caller: Caller, Path(id): Path<UserId>) -> ApiResult<Json<User>> {
    Ok(Json(service::get_user(&st, &caller, &id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UpdateUserRequest {
    #[schema(value_type = Option<crate::openapi::Name>)]
    display_name: Option<String>,
    role: Option<Role>,
    admin_modules: Option<Vec<Module>>,
    active: Option<bool>,
    #[schema(value_type = Option<crate::openapi::NewPassword>)]
    password: Option<SecretString>,
    /// Required when people change their own password.
    #[schema(value_type = Option<String>, format = Password)]
    current_password: Option<SecretString>,
}

/// Changes a user's name, role, modules, state (disable/enable) or password. People may
/// change their own name, and their own password given the current one. Anyone else is
/// changed only by an Administrator of people who ranks above them (and only to a rank
/// below the Administrator's own): see `Rank`. A password change ends every other session
/// and API token of the person.
#[utoipa::path(patch, path = "/api/v1/users/{id}", params(("id" = crate::openapi::Id, Path)), request_body = UpdateUserRequest,
    responses((status = 200, body = User),
        (status = 403, description = "not allowed (`forbidden`), a wrong `current_password` (`wrong_password`), or none given for one's own new password (`current_password_required`)"),
        (status = 409, description = "the change would leave the instance inconsistent (`conflict`)"),
        (status = 503, description = "too many password hashes queued (`busy`); retry after `Retry-After` seconds")))]
async fn update_user(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<UserId>,
    Json(req): Json<UpdateUserRequest>,
) -> ApiResult<Json<User>> {
    let update = PersonUpdate {
        display_name: req.display_name,
        role: req.role,
        admin_modules: req.admin_modules,
        active: req.active,
        password: req.password,
        current_password: req.current_password,
    };
    Ok(Json(service::update_user(&st, (&caller).into(), &id, update).await?))
}

/// Makes this user the Owner; the caller (the current Owner) becomes a full-access
/// Administrator.
#[utoipa::path(post, path = "/api/v1/users/{id}/transfer-ownership", params(("id" = crate::openapi::Id, Path)), responses((status = 204),
        (status = 409, description = "the person is disabled, a Guest, or already the Owner (`conflict`)")))]
async fn transfer_ownership(State(st): State<Shared>, caller: Caller, Path(id): Path<UserId>) -> ApiResult<StatusCode> {
    service::transfer_ownership(&st, (&caller).into(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/groups", responses((status = 200, body = Vec<Group>)))]
async fn list_groups(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<Vec<Group>>> {
    Ok(Json(service::list_groups(&st, &caller).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewGroupRequest {
    #[schema(value_type = crate::openapi::Name)]
    name: String,
}

#[utoipa::path(post, path = "/api/v1/groups", request_body = NewGroupRequest, responses((status = 201, body = Group), (status = 409, description = "the name is taken (`conflict`)")))]
async fn create_group(
    State(st): State<Shared>,
    caller: Caller,
    Json(req): Json<NewGroupRequest>,
) -> ApiResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(service::create_group(&st, (&caller).into(), &req.name).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/groups/{id}", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = Group)))]
async fn get_group(State(st): State<Shared>, caller: Caller, Path(id): Path<GroupId>) -> ApiResult<Json<Group>> {
    Ok(Json(service::get_group(&st, &caller, &id).await?))
}

#[utoipa::path(delete, path = "/api/v1/groups/{id}", params(("id" = crate::openapi::Id, Path)), responses((status = 204)))]
async fn delete_group(State(st): State<Shared>, caller: Caller, Path(id): Path<GroupId>) -> ApiResult<StatusCode> {
    service::delete_group(&st, (&caller).into(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/api/v1/groups/{id}/members/{user_id}", params(("id" = crate::openapi::Id, Path), ("user_id" = crate::openapi::Id, Path)), responses((status = 204)))]
async fn add_group_member(
    State(st): State<Shared>,
    caller: Caller,
    Path((id, user)): Path<(GroupId, UserId)>,
) -> ApiResult<StatusCode> {
    service::set_group_member(&st, (&caller).into(), &id, &user, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/groups/{id}/members/{user_id}", params(("id" = crate::openapi::Id, Path), ("user_id" = crate::openapi::Id, Path)), responses((status = 204)))]
async fn remove_group_member(
    State(st): State<Shared>,
    caller: Caller,
    Path((id, user)): Path<(GroupId, UserId)>,
) -> ApiResult<StatusCode> {
    service::set_group_member(&st, (&caller).into(), &id, &user, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
