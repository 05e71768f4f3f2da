//! People administration: users, groups, ownership, and reading the audit trail.
//!
//! Ranks decide who may change whom (`strongroom_core::Rank`): nobody changes, disables,
//! resets the password of, or grants rights to someone at or above their own rank, nor makes
//! anyone rank at or above themselves. The console ([`Operator::Console`]) is bound by no
//! rank, only by the rules of the data (one Owner, unique e-mail addresses).

use crate::{Caller, Error, Operator, Result, Service};
use secrecy::SecretString;
use strongroom_auth::{AuthError, password};
use strongroom_core::audit::AuditAction;
use strongroom_core::ids::{GroupId, UserId};
use strongroom_core::{Action, Module, ModuleSet, Rank, Resource, Role, authorize};
use strongroom_store::people::{self, Group, NewUser, User, UserPatch};

/// The person as people administration sees them: their rank.
fn person(role: Role, modules: ModuleSet) -> Resource<'static> {
    Resource::Person {
        rank: Rank::of(role, modules),
    }
}

/// Checks a signed-in operator may act on a person of this role and modules (the console
/// may).
pub(crate) fn may_manage(by: Operator<'_>, role: Role, modules: ModuleSet) -> Result<()> {
    if let Operator::User(c) = by {
        authorize(&c.actor, Action::ManagePerson, person(role, modules))?;
    }
    Ok(())
}

/// The modules an Administrator gets: exactly those named. Naming none is an error, not
/// "all": a forgotten field must not make a full Administrator.
pub(crate) fn modules_of(role: Role, named: Option<&[Module]>) -> Result<ModuleSet> {
    match (role, named) {
        (Role::Admin, Some(m)) => Ok(ModuleSet::from_modules(m)),
        (Role::Admin, None) => Err(Error::invalid(
            "an Administrator needs admin_modules: the modules they administer, e.g. [\"people\"], or all four \
             [\"documents\", \"people\", \"settings\", \"audit\"] for a full Administrator",
        )),
        _ => Ok(ModuleSet::NONE),
    }
}

/// Every user (for inviting people into rooms).
pub async fn list_users(svc: &Service, caller: &Caller) -> Result<Vec<User>> {
    authorize(&caller.actor, Action::ViewPeople, Resource::Instance)?;
    Ok(people::list_users(&svc.db).await?)
}

/// A user: oneself, or anyone for those who may view people.
pub async fn get_user(svc: &Service, caller: &Caller, id: &UserId) -> Result<User> {
    if *id != caller.actor.user_id {
        authorize(&caller.actor, Action::ViewPeople, Resource::Instance)?;
    }
    Ok(people::get_user(&svc.db, id).await?)
}

/// A new person.
pub struct NewPerson<'a> {
    pub email: &'a str,
    /// Empty: the e-mail address.
    pub display_name: &'a str,
    pub role: Role,
    /// Required for an Administrator; ignored for other roles.
    pub admin_modules: Option<&'a [Module]>,
    /// None: they cannot sign in with a password until one is set.
    pub password: Option<SecretString>,
}

/// Creates a user. The Owner is made at setup and by transfer; only the console may make one,
/// and only on an instance that has none.
pub async fn create_user(svc: &Service, by: Operator<'_>, new: NewPerson<'_>) -> Result<User> {
    if new.role == Role::Owner && matches!(by, Operator::User(_)) {
        return Err(Error::invalid("there is exactly one Owner; use transfer-ownership"));
    }
    let modules = modules_of(new.role, new.admin_modules)?;
    may_manage(by, new.role, modules)?;
    // The cheap checks before the expensive hash.
    people::normalize_email(new.email)?;
    if !new.display_name.trim().is_empty() {
        people::check_name("display", new.display_name)?;
    }
    let hash = match new.password {
        Some(pw) => {
            crate::settings::check_password(svc, &pw, &[new.email, new.display_name]).await?;
            Some(password::hash(pw).await?)
        }
        None => None,
    };
    let mut change = svc.change_by_operator(by).await?;
    let user = people::create_user(
        &mut change,
        NewUser {
            email: new.email,
            display_name: new.display_name,
            role: new.role,
            modules,
            password_hash: hash,
        },
    )
    .await?;
    change
        .commit(
            &by.event(AuditAction::UserCreate).target("user", &user.id).details(
                serde_json::json!({"email": user.email, "role": user.role, "admin_modules": user.admin_modules}),
            ),
        )
        .await?;
    Ok(user)
}

/// What to change about a person (absent: unchanged).
#[derive(Default)]
pub struct PersonUpdate {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub admin_modules: Option<Vec<Module>>,
    pub active: Option<bool>,
    pub password: Option<SecretString>,
    /// Required when people change their own password.
    pub current_password: Option<SecretString>,
}

/// Changes a person's name, role, modules, state (disable/enable) or password. People may
/// change their own name, and their own password given the current one. Anyone else is
/// changed only by an Administrator of people who ranks above them (and only to a rank below
/// the Administrator's own), or at the console. A password change ends every other session
/// and API token of the person (one's own change keeps the sign-in it was made through).
pub async fn update_user(svc: &Service, by: Operator<'_>, id: &UserId, req: PersonUpdate) -> Result<User> {
    let target = people::get_user(&svc.db, id).await?;
    let me = match by {
        Operator::User(c) if c.actor.user_id == *id => Some(c),
        _ => None,
    };
    let self_service = me.is_some() && req.role.is_none() && req.admin_modules.is_none() && req.active.is_none();
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
    match (by, self_service) {
        (Operator::User(c), true) => authorize(&c.actor, Action::ManageOwnAccount, Resource::Instance).map(drop)?,
        _ => {
            may_manage(by, target.role, target.modules())?;
            if let Some(m) = modules {
                may_manage(by, req.role.unwrap_or(target.role), m)?;
            }
        }
    }
    if let Some(d) = &req.display_name {
        people::check_name("display", d)?;
    }
    let mut new_password = None;
    // The current password proven, to check it is still the one when the change is made.
    let mut proven = None;
    if let Some(pw) = req.password {
        let keep = match me {
            Some(c) => {
                // A well-formed request without the proof it needs: refused like a wrong one.
                let current = req.current_password.ok_or(AuthError::CurrentPasswordRequired)?;
                let stored = people::find_by_email(&svc.db, &target.email)
                    .await?
                    .and_then(|(_, h)| h);
                proven = stored.clone();
                if !password::verify(stored, current).await? {
                    return Err(AuthError::WrongCurrentPassword.into());
                }
                (c.session_hash.clone(), c.token_hash.clone())
            }
            None => {
                // Setting someone else's password hands over their account: a fresh factor.
                if let Operator::User(c) = by {
                    crate::second_factor::require_fresh(svc, c, "setting someone's password").await?;
                }
                (None, None)
            }
        };
        // Judged once the current password is proven: the rules missed are no oracle for
        // someone holding only a session.
        let name = req.display_name.as_deref().unwrap_or(&target.display_name);
        crate::settings::check_password(svc, &pw, &[&target.email, name]).await?;
        new_password = Some((password::hash(pw).await?, keep));
    }
    let patch = UserPatch {
        display_name: req.display_name,
        role: req.role,
        modules,
        active: req.active,
    };
    // The hash is ready before the change starts: nothing slow holds the writer.
    let mut change = svc.change_by_operator(by).await?;
    // Decided on the person as read above (their rank): written only if they are still so.
    people::still_as_seen(&mut change, &target, proven.as_deref()).await?;
    let mut password_event = None;
    if let Some((hash, (session_hash, token_hash))) = new_password {
        let keep = people::KeepSignIn {
            session_hash: session_hash.as_deref(),
            token_hash: token_hash.as_deref(),
        };
        let ended = people::change_password(&mut change, id, &hash, keep).await?;
        let action = match me {
            Some(_) => AuditAction::PasswordChange,
            None => AuditAction::PasswordReset,
        };
        password_event = Some(
            by.event(action)
                .target("user", id)
                .details(serde_json::json!({"sign_ins_ended": ended})),
        );
    }
    let user = people::update_user(&mut change, id, patch).await?;
    let changed = changes(&target, &user);
    let update = by.event(AuditAction::UserUpdate).target("user", id);
    let event = match password_event {
        Some(p) if changed.is_empty() => p,
        Some(p) => {
            change.record(&p).await?;
            update.details(serde_json::json!({"changed": changed}))
        }
        None => update.details(serde_json::json!({"changed": changed})),
    };
    change.commit(&event).await?;
    Ok(user)
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

/// Makes this user the Owner; the Owner (the caller, or at the console whoever is Owner now)
/// becomes a full-access Administrator.
pub async fn transfer_ownership(svc: &Service, by: Operator<'_>, to: &UserId) -> Result<()> {
    let from = match by {
        Operator::User(c) => {
            authorize(&c.actor, Action::TransferOwnership, Resource::Instance)?;
            c.actor.user_id.clone()
        }
        Operator::Console => {
            people::list_users(&svc.db)
                .await?
                .into_iter()
                .find(|u| u.role == Role::Owner)
                .ok_or_else(|| Error::Conflict("the instance has no Owner".into()))?
                .id
        }
    };
    let mut change = svc.change_by_operator(by).await?;
    people::transfer_ownership(&mut change, &from, to).await?;
    change
        .commit(
            &by.event(AuditAction::TransferOwnership)
                .target("user", to)
                .details(serde_json::json!({"from": from})),
        )
        .await?;
    Ok(())
}

pub async fn list_groups(svc: &Service, caller: &Caller) -> Result<Vec<Group>> {
    authorize(&caller.actor, Action::ViewPeople, Resource::Instance)?;
    Ok(people::list_groups(&svc.db).await?)
}

pub async fn get_group(svc: &Service, caller: &Caller, id: &GroupId) -> Result<Group> {
    authorize(&caller.actor, Action::ViewPeople, Resource::Instance)?;
    Ok(people::get_group(&svc.db, id).await?)
}

/// Checks a signed-in operator may administer people (the console may).
fn may_manage_people(by: Operator<'_>) -> Result<()> {
    if let Operator::User(c) = by {
        authorize(&c.actor, Action::ManagePeople, Resource::Instance)?;
    }
    Ok(())
}

pub async fn create_group(svc: &Service, by: Operator<'_>, name: &str) -> Result<Group> {
    may_manage_people(by)?;
    let mut change = svc.change_by_operator(by).await?;
    let g = people::create_group(&mut change, name).await?;
    change
        .commit(
            &by.event(AuditAction::GroupCreate)
                .target("group", &g.id)
                .details(serde_json::json!({"name": g.name})),
        )
        .await?;
    Ok(g)
}

/// Deletes a group. Every member loses what the group gave them, and what it denied them:
/// so it is changing each member, and needs the rank to change every one of them (a people
/// administrator cannot lift a Deny on themselves, or on an equal, by deleting their group).
pub async fn delete_group(svc: &Service, by: Operator<'_>, id: &GroupId) -> Result<()> {
    may_manage_people(by)?;
    let group = people::get_group(&svc.db, id).await?;
    let mut members = Vec::with_capacity(group.members.len());
    for m in &group.members {
        members.push(authorize_membership(svc, by, m).await?);
    }
    let mut change = svc.change_by_operator(by).await?;
    for m in &members {
        people::still_as_seen(&mut change, m, None).await?;
    }
    people::delete_group(&mut change, id, &group.members).await?;
    change
        .commit(
            &by.event(AuditAction::GroupDelete)
                .target("group", id)
                .details(serde_json::json!({"name": group.name})),
        )
        .await?;
    Ok(())
}

/// Group membership gives the group's room access, so changing it is changing the person: it
/// needs a rank above theirs (nobody adds themselves, an equal or a better to a group). The
/// Owner may put themselves in groups: nothing a group grants exceeds what they hold.
/// Returns the member as the decision saw them, for the change to check they are still so.
async fn authorize_membership(svc: &Service, by: Operator<'_>, member: &UserId) -> Result<User> {
    may_manage_people(by)?;
    let member = people::get_user(&svc.db, member).await?;
    let Operator::User(caller) = by else {
        return Ok(member);
    };
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

/// Adds a person to a group (`true`) or takes them out (`false`).
pub async fn set_group_member(
    svc: &Service,
    by: Operator<'_>,
    group: &GroupId,
    user: &UserId,
    member: bool,
) -> Result<()> {
    let seen = authorize_membership(svc, by, user).await?;
    let mut change = svc.change_by_operator(by).await?;
    people::still_as_seen(&mut change, &seen, None).await?;
    let action = if member {
        people::add_group_member(&mut change, group, user).await?;
        AuditAction::GroupMemberAdd
    } else {
        people::remove_group_member(&mut change, group, user).await?;
        AuditAction::GroupMemberRemove
    };
    change
        .commit(
            &by.event(action)
                .target("group", group)
                .details(serde_json::json!({"user_id": user})),
        )
        .await?;
    Ok(())
}
