//! Sharing: grants on a room (its members), on a folder or on a file (overrides for one user
//! or group, with more or less access than they have above). One set of handlers serves the
//! three kinds of node.

use super::{Target, file_target, folder_target, room_target};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, Json, Path};
use crate::state::{AppState, Shared};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use strongroom_core::audit::AuditAction;
use strongroom_core::ids::{FileId, FolderId, RoomId};
use strongroom_core::ids::{GroupId, UserId};
use strongroom_core::rights::{Grant, Holder, Person, Restrictions, Subject, may_grant, may_revoke};
use strongroom_core::{AccessLevel, Capability};
use strongroom_store::grants::{self, Member, Node, NodeKind, SubjectKind};
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

/// The grants on a node. Those who may not share do not see who is denied.
async fn list(st: &AppState, t: &Target) -> ApiResult<Json<Vec<Member>>> {
    let sharer = t.in_room.rights(&t.path).can(Capability::Share);
    let mut members = grants::list_grants(&st.db, &t.node).await?;
    if !sharer {
        members.retain(|m| m.access != AccessLevel::Deny);
    }
    Ok(Json(members))
}

fn subject_of(kind: SubjectKind, id: &str) -> Subject {
    match kind {
        SubjectKind::User => Subject::User(UserId::from_trusted(id.to_string())),
        SubjectKind::Group => Subject::Group(GroupId::from_trusted(id.to_string())),
    }
}

/// The people a grant reaches: the user, or every member of the group.
async fn reached(st: &AppState, kind: SubjectKind, id: &str) -> ApiResult<Vec<Person>> {
    let users = match kind {
        SubjectKind::User => {
            vec![strongroom_store::people::get_user(&st.db, &UserId::from_trusted(id.to_string())).await?]
        }
        SubjectKind::Group => {
            let group = strongroom_store::people::get_group(&st.db, &GroupId::from_trusted(id.to_string())).await?;
            let mut users = Vec::with_capacity(group.members.len());
            for m in &group.members {
                users.push(strongroom_store::people::get_user(&st.db, m).await?);
            }
            users
        }
    };
    let mut people = Vec::with_capacity(users.len() + 1);
    for u in users {
        people.push(super::person(st, &u.id, u.role, u.modules()).await?);
    }
    // And whoever joins the group later: someone in that group alone (so a grant to an empty
    // group is bounded like any other).
    if kind == SubjectKind::Group {
        people.push(Person {
            user: UserId::from_trusted(format!("member-of-{id}")),
            groups: vec![GroupId::from_trusted(id.to_string())],
            guest: false,
            documents_admin: false,
        });
    }
    Ok(people)
}

/// Anyone but a room admin shares only by *adding* people: a new grant (never a change or a
/// removal of one) that reaches only people who have no access yet to the item, nor to what
/// lies below it where they would gain some, and gives them there nothing beyond what the
/// sharer holds there. So nobody but a room admin restricts anyone (not through a group
/// either), lifts a restriction a room admin set, or opens a folder the sharer cannot see.
async fn only_adds(
    st: &AppState,
    t: &Target,
    kind: SubjectKind,
    id: &str,
    grant: Option<Grant>,
    replaces: bool,
) -> ApiResult<()> {
    if t.in_room.rights(&t.path).room_admin {
        return Ok(());
    }
    if replaces || grant.is_none() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only a room admin changes or removes a grant; you can add people who have no access yet",
        ));
    }
    let access = &t.in_room.access;
    let next = access.with_grant(&t.node, &subject_of(kind, id), grant);
    // The node itself and every node below it that carries grants: rights change only there.
    let below: Vec<&Node> = access.granted_nodes().collect();
    let mut paths = vec![t.path.clone()];
    for (_, path) in grants::paths_of(&st.db, &access.room, &below).await? {
        let inside = t.node.kind == NodeKind::Room || path.contains(&t.node);
        if inside && path != t.path {
            paths.push(path);
        }
    }
    for person in reached(st, kind, id).await? {
        let holder = Holder::Person(&person);
        for path in &paths {
            let (before, after) = (access.rights(&holder, path), next.rights(&holder, path));
            let mine = t.in_room.rights(path);
            let allowed = if before.visible() {
                after == before
            } else {
                !after.room_admin && mine.caps.includes(after.caps)
            };
            if !allowed {
                return Err(beyond_own());
            }
        }
    }
    Ok(())
}

fn beyond_own() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "you can only give people who have no access yet what you hold yourself there (room admins may do anything)",
    )
}

async fn set(st: &AppState, caller: &Caller, t: Target, req: GrantRequest) -> ApiResult<StatusCode> {
    let rights = t.in_room.rights(&t.path);
    let existing = grants::grant_on(&st.db, &t.node, req.kind, &req.id).await?;
    let restrictions = req.restrictions();
    if !may_grant(
        rights,
        req.access,
        restrictions,
        existing.as_ref().map(|m| (m.access, m.restrictions)),
    ) {
        return Err(beyond_own());
    }
    let new = Grant {
        subject: subject_of(req.kind, &req.id),
        level: req.access,
        restrictions,
    };
    only_adds(st, &t, req.kind, &req.id, Some(new), existing.is_some()).await?;
    let grant = Member {
        kind: req.kind,
        id: req.id.clone(),
        access: req.access,
        restrictions,
    };
    // Decided on the room as loaded; the change writes only if it still looks so.
    let mut change = st.change_by(caller).await?;
    grants::set_grant(&mut change, &t.permit, &t.in_room.access, &t.node, &grant).await?;
    change
        .commit(
            &caller
                .event(AuditAction::GrantSet)
                .target(t.node.kind.as_str(), &t.node.id)
                .details(serde_json::json!({
                    "room": t.in_room.access.room,
                    "kind": req.kind,
                    "id": req.id,
                    "access": req.access,
                    "restrictions": restrictions,
                    "before": existing,
                })),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(st: &AppState, caller: &Caller, t: Target, kind: SubjectKind, subject: &str) -> ApiResult<StatusCode> {
    let rights = t.in_room.rights(&t.path);
    let existing = grants::grant_on(&st.db, &t.node, kind, subject)
        .await?
        .ok_or_else(|| ApiError::not_found("grant"))?;
    if !may_revoke(rights, existing.access, existing.restrictions) {
        return Err(beyond_own());
    }
    only_adds(st, &t, kind, subject, None, true).await?;
    let mut change = st.change_by(caller).await?;
    grants::remove_grant(&mut change, &t.permit, &t.in_room.access, &t.node, kind, subject).await?;
    change
        .commit(
            &caller
                .event(AuditAction::GrantRemove)
                .target(t.node.kind.as_str(), &t.node.id)
                .details(
                    serde_json::json!({"room": t.in_room.access.room, "kind": kind, "id": subject, "before": existing}),
                ),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The room's members: grants on the room itself.
#[utoipa::path(get, path = "/api/v1/rooms/{id}/members", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = Vec<Member>), (status = 404)))]
async fn list_members(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<RoomId>,
) -> ApiResult<Json<Vec<Member>>> {
    list(&st, &room_target(&st, &caller, &id, Capability::View).await?).await
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
    let t = room_target(&st, &caller, &id, Capability::Share).await?;
    set(&st, &caller, t, req).await
}

#[utoipa::path(delete, path = "/api/v1/rooms/{id}/members/{kind}/{subject}",
    params(("id" = crate::openapi::Id, Path), ("kind" = SubjectKind, Path), ("subject" = crate::openapi::Id, Path)), responses((status = 204), (status = 403), (status = 404)))]
async fn remove_member(
    State(st): State<Shared>,
    caller: Caller,
    Path((id, kind, subject)): Path<(RoomId, SubjectKind, String)>,
) -> ApiResult<StatusCode> {
    let t = room_target(&st, &caller, &id, Capability::Share).await?;
    remove(&st, &caller, t, kind, &subject).await
}

/// Grants on a folder (overrides of the room's for everything inside it). Needs the right to
/// share there.
#[utoipa::path(get, path = "/api/v1/folders/{id}/grants", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = Vec<Member>), (status = 404)))]
async fn list_folder_grants(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FolderId>,
) -> ApiResult<Json<Vec<Member>>> {
    list(&st, &folder_target(&st, &caller, &id, Capability::Share).await?).await
}

#[utoipa::path(put, path = "/api/v1/folders/{id}/grants", params(("id" = crate::openapi::Id, Path)), request_body = GrantRequest,
    responses((status = 204), (status = 403), (status = 404)))]
async fn set_folder_grant(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FolderId>,
    Json(req): Json<GrantRequest>,
) -> ApiResult<StatusCode> {
    let t = folder_target(&st, &caller, &id, Capability::Share).await?;
    set(&st, &caller, t, req).await
}

#[utoipa::path(delete, path = "/api/v1/folders/{id}/grants/{kind}/{subject}",
    params(("id" = crate::openapi::Id, Path), ("kind" = SubjectKind, Path), ("subject" = crate::openapi::Id, Path)), responses((status = 204), (status = 403), (status = 404)))]
async fn remove_folder_grant(
    State(st): State<Shared>,
    caller: Caller,
    Path((id, kind, subject)): Path<(FolderId, SubjectKind, String)>,
) -> ApiResult<StatusCode> {
    let t = folder_target(&st, &caller, &id, Capability::Share).await?;
    remove(&st, &caller, t, kind, &subject).await
}

/// Grants on one file (overrides of its folders' and room's). Needs the right to share there.
#[utoipa::path(get, path = "/api/v1/files/{id}/grants", params(("id" = crate::openapi::Id, Path)), responses((status = 200, body = Vec<Member>), (status = 404)))]
async fn list_file_grants(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FileId>,
) -> ApiResult<Json<Vec<Member>>> {
    list(&st, &file_target(&st, &caller, &id, Capability::Share).await?).await
}

#[utoipa::path(put, path = "/api/v1/files/{id}/grants", params(("id" = crate::openapi::Id, Path)), request_body = GrantRequest,
    responses((status = 204), (status = 403), (status = 404)))]
async fn set_file_grant(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FileId>,
    Json(req): Json<GrantRequest>,
) -> ApiResult<StatusCode> {
    let t = file_target(&st, &caller, &id, Capability::Share).await?;
    set(&st, &caller, t, req).await
}

#[utoipa::path(delete, path = "/api/v1/files/{id}/grants/{kind}/{subject}",
    params(("id" = crate::openapi::Id, Path), ("kind" = SubjectKind, Path), ("subject" = crate::openapi::Id, Path)), responses((status = 204), (status = 403), (status = 404)))]
async fn remove_file_grant(
    State(st): State<Shared>,
    caller: Caller,
    Path((id, kind, subject)): Path<(FileId, SubjectKind, String)>,
) -> ApiResult<StatusCode> {
    let t = file_target(&st, &caller, &id, Capability::Share).await?;
    remove(&st, &caller, t, kind, &subject).await
}
