//! Sharing: grants on a room (its members), on a folder or on a file (overrides for one user
//! or group, with more or less access than they have above). One set of use cases serves the
//! three kinds of item.

use crate::access::{Item, Target, target};
use crate::{Caller, Error, Result, Service};
use strongroom_core::audit::AuditAction;
use strongroom_core::ids::{GroupId, UserId};
use strongroom_core::rights::{Grant, Holder, Person, Subject, may_grant, may_revoke};
use strongroom_core::{AccessLevel, Capability};
use strongroom_store::grants::{self, Member, Node, NodeKind, SubjectKind};

/// The grants on an item. A room's members are listed to every member; a folder's or file's
/// grants only to those who may share there. Those who may not share do not see who is
/// denied.
pub async fn list_grants(svc: &Service, caller: &Caller, item: Item<'_>) -> Result<Vec<Member>> {
    let cap = match item {
        Item::Room(_) => Capability::View,
        Item::Folder(_) | Item::File(_) => Capability::Share,
    };
    list(svc, &target(svc, caller, item, cap).await?).await
}

/// Grants a user or group an access level on an item (replacing any earlier grant). Needs
/// the right to share there; anyone but a room admin gives only what they hold themselves,
/// and only to people who have no access yet.
pub async fn set_grant(svc: &Service, caller: &Caller, item: Item<'_>, grant: &Member) -> Result<()> {
    let t = target(svc, caller, item, Capability::Share).await?;
    set(svc, caller, t, grant).await
}

/// Removes a user's or group's grant on an item. Needs the right to share there and, unless
/// the caller is a room admin, is refused (only a room admin restricts anyone).
pub async fn remove_grant(
    svc: &Service,
    caller: &Caller,
    item: Item<'_>,
    kind: SubjectKind,
    subject: &str,
) -> Result<()> {
    let t = target(svc, caller, item, Capability::Share).await?;
    remove(svc, caller, t, kind, subject).await
}

/// The grants on a node. Those who may not share do not see who is denied.
async fn list(svc: &Service, t: &Target) -> Result<Vec<Member>> {
    let sharer = t.in_room.rights(&t.path).can(Capability::Share);
    let mut members = grants::list_grants(&svc.db, &t.node).await?;
    if !sharer {
        members.retain(|m| m.access != AccessLevel::Deny);
    }
    Ok(members)
}

fn subject_of(kind: SubjectKind, id: &str) -> Subject {
    match kind {
        SubjectKind::User => Subject::User(UserId::from_trusted(id.to_string())),
        SubjectKind::Group => Subject::Group(GroupId::from_trusted(id.to_string())),
    }
}

/// The people a grant reaches: the user, or every member of the group.
async fn reached(svc: &Service, kind: SubjectKind, id: &str) -> Result<Vec<Person>> {
    let users = match kind {
        SubjectKind::User => {
            vec![strongroom_store::people::get_user(&svc.db, &UserId::from_trusted(id.to_string())).await?]
        }
        SubjectKind::Group => {
            let group = strongroom_store::people::get_group(&svc.db, &GroupId::from_trusted(id.to_string())).await?;
            let mut users = Vec::with_capacity(group.members.len());
            for m in &group.members {
                users.push(strongroom_store::people::get_user(&svc.db, m).await?);
            }
            users
        }
    };
    let mut people = Vec::with_capacity(users.len() + 1);
    for u in users {
        people.push(crate::access::person(svc, &u.id, u.role, u.modules()).await?);
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
    svc: &Service,
    t: &Target,
    kind: SubjectKind,
    id: &str,
    grant: Option<Grant>,
    replaces: bool,
) -> Result<()> {
    if t.in_room.rights(&t.path).room_admin {
        return Ok(());
    }
    if replaces || grant.is_none() {
        return Err(Error::forbidden(
            "only a room admin changes or removes a grant; you can add people who have no access yet",
        ));
    }
    let access = &t.in_room.access;
    let next = access.with_grant(&t.node, &subject_of(kind, id), grant);
    // The node itself and every node below it that carries grants: rights change only there.
    let below: Vec<&Node> = access.granted_nodes().collect();
    let mut paths = vec![t.path.clone()];
    for (_, path) in grants::paths_of(&svc.db, &access.room, &below).await? {
        let inside = t.node.kind == NodeKind::Room || path.contains(&t.node);
        if inside && path != t.path {
            paths.push(path);
        }
    }
    for person in reached(svc, kind, id).await? {
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

fn beyond_own() -> Error {
    Error::forbidden(
        "you can only give people who have no access yet what you hold yourself there (room admins may do anything)",
    )
}

async fn set(svc: &Service, caller: &Caller, t: Target, req: &Member) -> Result<()> {
    let rights = t.in_room.rights(&t.path);
    let existing = grants::grant_on(&svc.db, &t.node, req.kind, &req.id).await?;
    let restrictions = req.restrictions;
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
    only_adds(svc, &t, req.kind, &req.id, Some(new), existing.is_some()).await?;
    // Decided on the room as loaded; the change writes only if it still looks so.
    let mut change = svc.change_by(caller).await?;
    grants::set_grant(&mut change, &t.permit, &t.in_room.access, &t.node, req).await?;
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
    Ok(())
}

async fn remove(svc: &Service, caller: &Caller, t: Target, kind: SubjectKind, subject: &str) -> Result<()> {
    let rights = t.in_room.rights(&t.path);
    let existing = grants::grant_on(&svc.db, &t.node, kind, subject)
        .await?
        .ok_or(Error::NotFound("grant"))?;
    if !may_revoke(rights, existing.access, existing.restrictions) {
        return Err(beyond_own());
    }
    only_adds(svc, &t, kind, subject, None, true).await?;
    let mut change = svc.change_by(caller).await?;
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
    Ok(())
}
