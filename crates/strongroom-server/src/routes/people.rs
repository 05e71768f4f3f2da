//! Users, groups and the audit trail.

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, Json, Path, Query};
use crate::state::Shared;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use secrecy::SecretString;
use serde::Deserialize;
use strongroom_auth::{AuthError, password};
use strongroom_core::audit::AuditAction;
use strongroom_core::ids::{GroupId, UserId};
use strongroom_core::{Action, Module, ModuleSet, Rank, Resource, Role, authorize};
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

/// The person as people administration sees them: their rank.
fn person(role: Role, modules: ModuleSet) -> Resource<'static> {
    Resource::Person {
        rank: Rank::of(role, modules),
    }
}

/// Group membership gives the group's room access, so changing it is changing the person: it
/// needs a rank above theirs (nobody adds themselves, an equal or a better to a group). The
/// Owner may put themselves in groups: nothing a group grants exceeds what they hold.
/// Returns the member as the decision saw them, for the change to check they are still so.
async fn authorize_membership(st: &Shared, caller: &Caller, member: &UserId) -> ApiResult<User> {
    authorize(&caller.actor, Action::ManagePeople, Resource::Instance)?;
    let member = people::get_user(&st.db, member).await?;
    if caller.actor.role == Role::Owner && member.id == caller.actor.user_id {
        return Ok(member);
    }
    authorize(
        &caller.actor,
        Action::ManagePerson,
        person(member.role, member.modules()),
    )?;
    Ok(member)
}

/// The modules an Administrator gets: exactly those named. Naming none is an error, not
/// "all": a forgotten field must not make a full Administrator.
fn modules_of(role: Role, named: Option<&[Module]>) -> ApiResult<ModuleSet> {
    match (role, named) {
        (Role::Admin, Some(m)) => Ok(ModuleSet::from_modules(m)),
        (Role::Admin, None) => Err(ApiError::bad_request(
            "an Administrator needs admin_modules: the modules they administer, e.g. [\"people\"], or all four \
             [\"documents\", \"people\", \"settings\", \"audit\"] for a full Administrator",
        )),
        _ => Ok(ModuleSet::NONE),
    }
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
enum NewUserRole {
    Admin,
    User,
    Guest,
}

/// Every user (for inviting people into rooms).
#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = Vec<User>)))]
async fn list_users(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<Vec<User>>> {
    authorize(&caller.actor, Action::ViewPeople, Resource::Instance)?;
    Ok(Json(people::list_users(&st.db).await?))
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
    if req.role == Role::Owner {
        return Err(ApiError::bad_request(
            "there is exactly one Owner; use transfer-ownership",
        ));
    }
    let modules = modules_of(req.role, req.admin_modules.as_deref())?;
    authorize(&caller.actor, Action::ManagePerson, person(req.role, modules))?;
    // The cheap checks before the expensive hash.
    people::normalize_email(&req.email)?;
    if !req.display_name.trim().is_empty() {
        people::check_name("display", &req.display_name)?;
    }
    let hash = match req.password {
        Some(pw) => Some(password::hash(pw).await?),
        None => None,
    };
    let mut change = st.change_by(&caller).await?;
    let user = people::create_user(
        &mut change,
        NewUser {
            email: &req.email,
            display_name: &req.display_name,
            role: req.role,
            modules,
            password_hash: hash,
        },
    )
    .await?;
    change
        .commit(
            &caller.event(AuditAction::UserCreate).target("user", &user.id).details(
                serde_json::json!({"email": user.email, "role": user.role, "admin_modules": user.admin_modules}),
            ),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = User), (status = 404)))]
async fn get_user(State(st): State<Shared>, caller: Caller, Path(id): Path<UserId>) -> ApiResult<Json<User>> {
    if id != caller.actor.user_id {
        authorize(&caller.actor, Action::ViewPeople, Resource::Instance)?;
    }
    Ok(Json(people::get_user(&st.db, &id).await?))
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
    let target = people::get_user(&st.db, &id).await?;
    let is_self = id == caller.actor.user_id;
    let self_service = is_self && req.role.is_none() && req.admin_modules.is_none() && req.active.is_none();
    // The modules the person will have, when the role or the modules change.
    let modules = match (req.role.is_some() || req.admin_modules.is_some()).then(|| {
        let role = req.role.unwrap_or(target.role);
        match &req.admin_modules {
            Some(m) => modules_of(role, Some(m)),
            None if role == target.role => Ok(target.modules()),
            // Made an Administrator without naming modules: of none, until they are named.
            None => modules_of(role, Some(&[])),
        }
    }) {
        Some(m) => Some(m?),
        None => None,
    };
    if self_service {
        authorize(&caller.actor, Action::ManageOwnAccount, Resource::Instance)?;
    } else {
        authorize(
            &caller.actor,
            Action::ManagePerson,
            person(target.role, target.modules()),
        )?;
        if let Some(m) = modules {
            authorize(
                &caller.actor,
                Action::ManagePerson,
                person(req.role.unwrap_or(target.role), m),
            )?;
        }
    }
    if let Some(d) = &req.display_name {
        people::check_name("display", d)?;
    }
    let mut new_password = None;
    // The current password proven, to check it is still the one when the change is made.
    let mut proven = None;
    if let Some(pw) = req.password {
        password::check_policy(&pw)?;
        let (session_hash, token_hash) = if is_self {
            let current = req.current_password.ok_or_else(|| {
                // A well-formed request without the proof it needs: refused like a wrong one.
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "current_password_required",
                    "current_password is required to change your own password",
                )
            })?;
            let stored = people::find_by_email(&st.db, &target.email).await?.and_then(|(_, h)| h);
            proven = stored.clone();
            if !password::verify(stored, current).await? {
                return Err(AuthError::WrongCurrentPassword.into());
            }
            caller.sign_in_hashes()
        } else {
            (None, None)
        };
        new_password = Some((password::hash(pw).await?, session_hash, token_hash));
    }
    let patch = UserPatch {
        display_name: req.display_name,
        role: req.role,
        modules,
        active: req.active,
    };
    // The hash is ready before the change starts: nothing slow holds the writer.
    let mut change = st.change_by(&caller).await?;
    // Decided on the person as read above (their rank): written only if they are still so.
    people::still_as_seen(&mut change, &target, proven.as_deref()).await?;
    let mut password_event = None;
    if let Some((hash, session_hash, token_hash)) = new_password {
        let keep = people::KeepSignIn {
            session_hash: session_hash.as_deref(),
            token_hash: token_hash.as_deref(),
        };
        let ended = people::change_password(&mut change, &id, &hash, keep).await?;
        let action = if is_self {
            AuditAction::PasswordChange
        } else {
            AuditAction::PasswordReset
        };
        password_event = Some(
            caller
                .event(action)
                .target("user", &id)
                .details(serde_json::json!({"sign_ins_ended": ended})),
        );
    }
    let user = people::update_user(&mut change, &id, patch).await?;
    let changed = changes(&target, &user);
    let update = caller.event(AuditAction::UserUpdate).target("user", &id);
    let event = match password_event {
        Some(p) if changed.is_empty() => p,
        Some(p) => {
            change.record(&p).await?;
            update.details(serde_json::json!({"changed": changed}))
        }
        None => update.details(serde_json::json!({"changed": changed})),
    };
    change.commit(&event).await?;
    Ok(Json(user))
}

/// What a person's update changed, each field from → to (for the audit trail).
fn changes(before: &User, after: &User) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    let mut field = |name: &str, from: serde_json::Value, to: serde_json::Value| {
        if from != to {
            m.insert(name.into(), serde_json::json!({"from": from, "to": to}));
        }
    };
    field(
        "display_name",
        before.display_name.clone().into(),
        after.display_name.clone().into(),
    );
    field("role", before.role.as_str().into(), after.role.as_str().into());
    field(
        "admin_modules",
        serde_json::json!(before.admin_modules),
        serde_json::json!(after.admin_modules),
    );
    field("active", before.active.into(), after.active.into());
    m
}

/// Makes this user the Owner; the caller (the current Owner) becomes a full-access
/// Administrator.
#[utoipa::path(post, path = "/api/v1/users/{id}/transfer-ownership", params(("id" = crate::openapi::Id, Path)), responses((status = 204),
        (status = 409, description = "the person is disabled, a Guest, or already the Owner (`conflict`)")))]
async fn transfer_ownership(State(st): State<Shared>, caller: Caller, Path(id): Path<UserId>) -> ApiResult<StatusCode> {
    authorize(&caller.actor, Action::TransferOwnership, Resource::Instance)?;
    let mut change = st.change_by(&caller).await?;
    people::transfer_ownership(&mut change, &caller.actor.user_id, &id).await?;
    change
        .commit(&caller.event(AuditAction::TransferOwnership).target("user", &id))
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
    #[schema(value_type = crate::openapi::Name)]
    name: String,
}

#[utoipa::path(post, path = "/api/v1/groups", request_body = NewGroupRequest, responses((status = 201, body = Group), (status = 409, description = "the name is taken (`conflict`)")))]
async fn create_group(
    State(st): State<Shared>,
    caller: Caller,
    Json(req): Json<NewGroupRequest>,
) -> ApiResult<impl IntoResponse> {
    authorize(&caller.actor, Action::ManagePeople, Resource::Instance)?;
    let mut change = st.change_by(&caller).await?;
    let g = people::create_group(&mut change, &req.name).await?;
    change
        .commit(
            &caller
                .event(AuditAction::GroupCreate)
                .target("group", &g.id)
                .details(serde_json::json!({"name": g.name})),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(g)))
}

#[utoipa::path(get, path = "/api/v1/groups/{id}", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = Group)))]
async fn get_group(State(st): State<Shared>, caller: Caller, Path(id): Path<GroupId>) -> ApiResult<Json<Group>> {
    authorize(&caller.actor, Action::ViewPeople, Resource::Instance)?;
    Ok(Json(people::get_group(&st.db, &id).await?))
}

#[utoipa::path(delete, path = "/api/v1/groups/{id}", params(("id" = crate::openapi::Id, Path)), responses((status = 204)))]
async fn delete_group(State(st): State<Shared>, caller: Caller, Path(id): Path<GroupId>) -> ApiResult<StatusCode> {
    authorize(&caller.actor, Action::ManagePeople, Resource::Instance)?;
    let mut change = st.change_by(&caller).await?;
    people::delete_group(&mut change, &id).await?;
    change
        .commit(&caller.event(AuditAction::GroupDelete).target("group", &id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/api/v1/groups/{id}/members/{user_id}", params(("id" = crate::openapi::Id, Path), ("user_id" = crate::openapi::Id, Path)), responses((status = 204)))]
async fn add_group_member(
    State(st): State<Shared>,
    caller: Caller,
    Path((id, user)): Path<(GroupId, UserId)>,
) -> ApiResult<StatusCode> {
    let member = authorize_membership(&st, &caller, &user).await?;
    let mut change = st.change_by(&caller).await?;
    people::still_as_seen(&mut change, &member, None).await?;
    people::add_group_member(&mut change, &id, &user).await?;
    change
        .commit(
            &caller
                .event(AuditAction::GroupMemberAdd)
                .target("group", &id)
                .details(serde_json::json!({"user_id": user})),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/groups/{id}/members/{user_id}", params(("id" = crate::openapi::Id, Path), ("user_id" = crate::openapi::Id, Path)), responses((status = 204)))]
async fn remove_group_member(
    State(st): State<Shared>,
    caller: Caller,
    Path((id, user)): Path<(GroupId, UserId)>,
) -> ApiResult<StatusCode> {
    let member = authorize_membership(&st, &caller, &user).await?;
    let mut change = st.change_by(&caller).await?;
    people::still_as_seen(&mut change, &member, None).await?;
    people::remove_group_member(&mut change, &id, &user).await?;
    change
        .commit(
            &caller
                .event(AuditAction::GroupMemberRemove)
                .target("group", &id)
                .details(serde_json::json!({"user_id": user})),
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
