//! Users, groups and the audit trail.

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, Json, Path, Query};
use crate::state::Shared;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use secrecy::SecretString;
use serde::Deserialize;
use strongroom_auth::password;
use strongroom_core::audit::AuditEvent;
use strongroom_core::ids::{GroupId, UserId};
use strongroom_core::{Action, Module, ModuleSet, Resource, Role, authorize};
use strongroom_store::audit::AuditEntry;
use strongroom_store::people::{self, Group, NewUser, User, UserPatch};
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
        .routes(routes!(list_audit))
}

/// Administrators are managed by the Owner or a full-access Administrator; everyone else by
/// an Administrator of the people module.
fn people_action(role: Role) -> Action {
    if role == Role::Admin {
        Action::ManageAdmins
    } else {
        Action::ManagePeople
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewUserRequest {
    email: String,
    #[serde(default)]
    display_name: String,
    /// `admin`, `user` or `guest` (the Owner is created at setup and by transfer).
    role: Role,
    /// For `admin`: the modules administered; omitted: all (full access).
    admin_modules: Option<Vec<Module>>,
    #[schema(value_type = Option<String>, format = Password)]
    password: Option<SecretString>,
}

/// Every user (for inviting people into rooms).
#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = Vec<User>)))]
async fn list_users(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<Vec<User>>> {
    authorize(&caller.actor, Action::ViewPeople, Resource::Instance)?;
    Ok(Json(people::list_users(&st.db).await?))
}

/// Creates a user.
#[utoipa::path(post, path = "/api/v1/users", request_body = NewUserRequest, responses((status = 201, body = User), (status = 409)))]
async fn create_user(
    State(st): State<Shared>,
    caller: Caller,
    Json(req): Json<NewUserRequest>,
) -> ApiResult<impl IntoResponse> {
    if req.role == Role::Owner {
        return Err(ApiError::bad_request(
            "there is exactly one Owner; use transfer-ownership",
        ));
    }
    authorize(&caller.actor, people_action(req.role), Resource::Instance)?;
    let hash = match req.password {
        Some(pw) => Some(password::hash(pw).await?),
        None => None,
    };
    let modules = req
        .admin_modules
        .map_or(ModuleSet::ALL, |m| ModuleSet::from_modules(&m));
    let user = people::create_user(
        &st.db,
        NewUser {
            email: &req.email,
            display_name: &req.display_name,
            role: req.role,
            modules,
            password_hash: hash,
        },
        st.now(),
    )
    .await?;
    st.audit(
        AuditEvent::new("user.create", "people")
            .by(&caller.actor)
            .target("user", &user.id)
            .details(serde_json::json!({"email": user.email, "role": user.role}))
            .from_origin(&caller.origin),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", params(("id" = String, Path)), responses((status = 200, body = User), (status = 404)))]
async fn get_user(State(st): State<Shared>, caller: Caller, Path(id): Path<UserId>) -> ApiResult<Json<User>> {
    if id != caller.actor.user_id {
        authorize(&caller.actor, Action::ViewPeople, Resource::Instance)?;
    }
    Ok(Json(people::get_user(&st.db, &id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UpdateUserRequest {
    display_name: Option<String>,
    role: Option<Role>,
    admin_modules: Option<Vec<Module>>,
    active: Option<bool>,
    #[schema(value_type = Option<String>, format = Password)]
    password: Option<SecretString>,
}

/// Changes a user's name, role, modules, state (disable/enable) or password. People may
/// change their own name and password.
#[utoipa::path(patch, path = "/api/v1/users/{id}", params(("id" = String, Path)), request_body = UpdateUserRequest,
    responses((status = 200, body = User), (status = 403), (status = 409)))]
async fn update_user(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<UserId>,
    Json(req): Json<UpdateUserRequest>,
) -> ApiResult<Json<User>> {
    let target = people::get_user(&st.db, &id).await?;
    let self_service =
        id == caller.actor.user_id && req.role.is_none() && req.admin_modules.is_none() && req.active.is_none();
    if !self_service {
        authorize(&caller.actor, people_action(target.role), Resource::Instance)?;
        if let Some(r) = req.role {
            authorize(&caller.actor, people_action(r), Resource::Instance)?;
        }
    }
    if let Some(pw) = req.password {
        let h = password::hash(pw).await?;
        people::set_password_hash(&st.db, &id, &h).await?;
    }
    let patch = UserPatch {
        display_name: req.display_name,
        role: req.role,
        modules: req.admin_modules.map(|m| ModuleSet::from_modules(&m)),
        active: req.active,
    };
    let user = people::update_user(&st.db, &id, patch).await?;
    st.audit(
        AuditEvent::new("user.update", "people")
            .by(&caller.actor)
            .target("user", &id)
            .from_origin(&caller.origin),
    )
    .await?;
    Ok(Json(user))
}

/// Makes this user the Owner; the caller (the current Owner) becomes a full-access
/// Administrator.
#[utoipa::path(post, path = "/api/v1/users/{id}/transfer-ownership", params(("id" = String, Path)), responses((status = 204), (status = 403)))]
async fn transfer_ownership(State(st): State<Shared>, caller: Caller, Path(id): Path<UserId>) -> ApiResult<StatusCode> {
    authorize(&caller.actor, Action::TransferOwnership, Resource::Instance)?;
    people::transfer_ownership(&st.db, &caller.actor.user_id, &id).await?;
    st.audit(
        AuditEvent::new("user.transfer_ownership", "people")
            .by(&caller.actor)
            .target("user", &id)
            .from_origin(&caller.origin),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/groups", responses((status = 200, body = Vec<Group>)))]
async fn list_groups(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<Vec<Group>>> {
    authorize(&caller.actor, Action::ViewPeople, Resource::Instance)?;
    Ok(Json(people::list_groups(&st.db).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewGroupRequest {
    name: String,
}

#[utoipa::path(post, path = "/api/v1/groups", request_body = NewGroupRequest, responses((status = 201, body = Group)))]
async fn create_group(
    State(st): State<Shared>,
    caller: Caller,
    Json(req): Json<NewGroupRequest>,
) -> ApiResult<impl IntoResponse> {
    authorize(&caller.actor, Action::ManagePeople, Resource::Instance)?;
    let g = people::create_group(&st.db, &req.name, st.now()).await?;
    st.audit(
        AuditEvent::new("group.create", "people")
            .by(&caller.actor)
            .target("group", &g.id)
            .from_origin(&caller.origin),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(g)))
}

#[utoipa::path(get, path = "/api/v1/groups/{id}", params(("id" = String, Path)), responses((status = 200, body = Group)))]
async fn get_group(State(st): State<Shared>, caller: Caller, Path(id): Path<GroupId>) -> ApiResult<Json<Group>> {
    authorize(&caller.actor, Action::ViewPeople, Resource::Instance)?;
    Ok(Json(people::get_group(&st.db, &id).await?))
}

#[utoipa::path(delete, path = "/api/v1/groups/{id}", params(("id" = String, Path)), responses((status = 204)))]
async fn delete_group(State(st): State<Shared>, caller: Caller, Path(id): Path<GroupId>) -> ApiResult<StatusCode> {
    authorize(&caller.actor, Action::ManagePeople, Resource::Instance)?;
    people::delete_group(&st.db, &id).await?;
    st.audit(
        AuditEvent::new("group.delete", "people")
            .by(&caller.actor)
            .target("group", &id)
            .from_origin(&caller.origin),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/api/v1/groups/{id}/members/{user_id}", params(("id" = String, Path), ("user_id" = String, Path)), responses((status = 204)))]
async fn add_group_member(
    State(st): State<Shared>,
    caller: Caller,
    Path((id, user)): Path<(GroupId, UserId)>,
) -> ApiResult<StatusCode> {
    authorize(&caller.actor, Action::ManagePeople, Resource::Instance)?;
    people::add_group_member(&st.db, &id, &user).await?;
    st.audit(
        AuditEvent::new("group.member.add", "people")
            .by(&caller.actor)
            .target("group", &id)
            .details(serde_json::json!({"user_id": user}))
            .from_origin(&caller.origin),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/groups/{id}/members/{user_id}", params(("id" = String, Path), ("user_id" = String, Path)), responses((status = 204)))]
async fn remove_group_member(
    State(st): State<Shared>,
    caller: Caller,
    Path((id, user)): Path<(GroupId, UserId)>,
) -> ApiResult<StatusCode> {
    authorize(&caller.actor, Action::ManagePeople, Resource::Instance)?;
    people::remove_group_member(&st.db, &id, &user).await?;
    st.audit(
        AuditEvent::new("group.member.remove", "people")
            .by(&caller.actor)
            .target("group", &id)
            .details(serde_json::json!({"user_id": user}))
            .from_origin(&caller.origin),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Only events with this action, e.g. `file.download`.
    action: Option<String>,
    /// At most this many (default 100, at most 1000).
    limit: Option<i64>,
}

/// The audit trail, newest first.
#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery), responses((status = 200, body = Vec<AuditEntry>)))]
async fn list_audit(
    State(st): State<Shared>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    authorize(&caller.actor, Action::ReadAudit, Resource::Instance)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(
        strongroom_store::audit::list(&st.db, q.action.as_deref(), limit).await?,
    ))
}
