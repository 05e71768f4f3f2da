//! The one authorization choke point. Every request handler calls [`authorize`] with the
//! caller, the action and the resource before touching anything; nothing else in the code base
//! decides who may do what.
//!
//! Two rules shape it:
//! - an action that is not explicitly granted is denied (the strictest answer is the default);
//! - a person with no access to a room gets [`Denied::NotFound`], not "forbidden", so ids of
//!   rooms, folders and files one cannot see reveal nothing, not even that they exist.

use crate::ids::UserId;
use crate::role::{AccessLevel, Module, ModuleSet, Rank, Role};

/// Who is asking: an authenticated, active user.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: UserId,
    pub email: String,
    pub role: Role,
    /// For an Administrator, the modules they may act in; ignored for other roles.
    pub modules: ModuleSet,
}

impl Actor {
    /// Whether this person administers `m` (the Owner administers everything).
    pub fn administers(&self, m: Module) -> bool {
        match self.role {
            Role::Owner => true,
            Role::Admin => self.modules.contains(m),
            Role::User | Role::Guest => false,
        }
    }

    /// Where this person stands in people administration.
    pub fn rank(&self) -> Rank {
        Rank::of(self.role, self.modules)
    }
}

/// What is being done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Create a new room.
    CreateRoom,
    /// List the rooms one can see (the store returns only those).
    ListRooms,
    /// See a room, list folders, read file metadata, download content.
    ReadContent,
    /// Change content: create folders, upload, new version, rename, move, copy, trash, restore.
    WriteContent,
    /// Delete permanently (purge from trash).
    PurgeContent,
    /// Rename or delete the room itself, change its members.
    ManageRoom,
    /// List people and groups (to invite them to rooms).
    ViewPeople,
    /// Manage groups and their members.
    ManagePeople,
    /// Create a person, or change another person's name, role, modules, state (disable or
    /// enable) or password. Asked of a [`Resource::Person`]; see [`Rank`] for the rule.
    ManagePerson,
    /// Hand the Owner role to someone else.
    TransferOwnership,
    /// Change instance settings and security policy.
    ManageSettings,
    /// Read the audit trail and login history.
    ReadAudit,
    /// Read the server's operational metrics (`/metrics`): request counts by route, timings.
    ReadMetrics,
    /// Create, list and revoke one's own API tokens; sign out.
    ManageOwnAccount,
}

impl Action {
    pub const ALL: [Action; 14] = [
        Action::CreateRoom,
        Action::ListRooms,
        Action::ReadContent,
        Action::WriteContent,
        Action::PurgeContent,
        Action::ManageRoom,
        Action::ViewPeople,
        Action::ManagePeople,
        Action::ManagePerson,
        Action::TransferOwnership,
        Action::ManageSettings,
        Action::ReadAudit,
        Action::ReadMetrics,
        Action::ManageOwnAccount,
    ];
}

/// What it is being done to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// The instance as a whole: people, settings, audit, the list of rooms.
    Instance,
    /// Something inside a room (the room itself, a folder, a file, a version), with the
    /// caller's effective access level in that room as the store computed it from direct and
    /// group membership (`None`: not a member).
    Room { access: Option<AccessLevel> },
    /// A person, as far as people administration goes: their rank (for a change of role or
    /// modules, asked twice: once with the rank they have, once with the rank they would get).
    Person { rank: Rank },
}

/// Why an action was refused. The server maps `NotFound` to 404 and `Forbidden` to 403.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The caller may not know the resource exists.
    #[error("not found")]
    NotFound,
    /// The caller sees the resource but may not do this to it.
    #[error("you are not allowed to do this")]
    Forbidden,
}

/// Decides whether `actor` may perform `action` on `resource`.
pub fn authorize(actor: &Actor, action: Action, resource: Resource) -> Result<(), Denied> {
    match resource {
        Resource::Instance => authorize_instance(actor, action),
        Resource::Room { access } => authorize_room(actor, action, access),
        Resource::Person { rank } => authorize_person(actor, action, rank),
    }
}

fn allow(ok: bool) -> Result<(), Denied> {
    if ok { Ok(()) } else { Err(Denied::Forbidden) }
}

fn authorize_instance(actor: &Actor, action: Action) -> Result<(), Denied> {
    match action {
        Action::CreateRoom => allow(actor.role != Role::Guest),
        Action::ListRooms => Ok(()),
        Action::ViewPeople => allow(actor.role != Role::Guest),
        Action::ManagePeople => allow(actor.administers(Module::People)),
        Action::TransferOwnership => allow(actor.role == Role::Owner),
        Action::ManageSettings => allow(actor.administers(Module::Settings)),
        Action::ReadAudit => allow(actor.administers(Module::Audit)),
        // Operations data, like the settings: the same administrators.
        Action::ReadMetrics => allow(actor.administers(Module::Settings)),
        Action::ManageOwnAccount => Ok(()),
        // Content actions need a room, person actions a person; asked of the instance they
        // are refused.
        Action::ReadContent
        | Action::WriteContent
        | Action::PurgeContent
        | Action::ManageRoom
        | Action::ManagePerson => Err(Denied::Forbidden),
    }
}

/// People administration: an Administrator of the people module (or the Owner) manages
/// people strictly below their own rank, and only raises them to a rank below it. So a
/// people administrator manages Users and Guests, a full Administrator also module
/// Administrators, and the Owner everyone else; nobody manages their equals, and nobody
/// but the Owner themselves touches the Owner's account (through self-service, which is
/// [`Action::ManageOwnAccount`]).
fn authorize_person(actor: &Actor, action: Action, rank: Rank) -> Result<(), Denied> {
    match action {
        Action::ManagePerson => allow(actor.administers(Module::People) && actor.rank() > rank),
        _ => Err(Denied::Forbidden),
    }
}

fn authorize_room(actor: &Actor, action: Action, access: Option<AccessLevel>) -> Result<(), Denied> {
    // Administrators of documents act with full access in every room.
    let effective = if actor.administers(Module::Documents) {
        Some(AccessLevel::FullAccess)
    } else {
        access
    };
    let level = match effective {
        None | Some(AccessLevel::Deny) => return Err(Denied::NotFound),
        Some(level) => level,
    };
    let needed = match action {
        Action::ReadContent => AccessLevel::ViewOnly,
        Action::WriteContent => AccessLevel::Edit,
        Action::PurgeContent | Action::ManageRoom => AccessLevel::FullAccess,
        _ => return Err(Denied::Forbidden),
    };
    allow(level >= needed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccessLevel as L;

    fn actor(role: Role, modules: ModuleSet) -> Actor {
        Actor {
            user_id: UserId::generate(),
            email: "a@example.org".into(),
            role,
            modules,
        }
    }

    fn people() -> Vec<(&'static str, Actor)> {
        vec![
            ("owner", actor(Role::Owner, ModuleSet::NONE)),
            ("admin-full", actor(Role::Admin, ModuleSet::ALL)),
            (
                "admin-documents",
                actor(Role::Admin, ModuleSet::from_modules(&[Module::Documents])),
            ),
            (
                "admin-people",
                actor(Role::Admin, ModuleSet::from_modules(&[Module::People])),
            ),
            (
                "admin-settings-audit",
                actor(Role::Admin, ModuleSet::from_modules(&[Module::Settings, Module::Audit])),
            ),
            ("user", actor(Role::User, ModuleSet::ALL)), // modules are ignored for non-admins
            ("guest", actor(Role::Guest, ModuleSet::NONE)),
        ]
    }

    /// Expected outcome for each person on instance-wide actions, in `Action::ALL` order.
    /// Y = allowed, F = forbidden.
    #[test]
    fn instance_actions_table() {
        #[rustfmt::skip]
        let table: &[(&str, &str)] = &[
            //                       CR LR RC WC PC MR VP MP MX TO MS RA RM MO
            ("owner",                "Y  Y  F  F  F  F  Y  Y  F  Y  Y  Y  Y  Y"),
            ("admin-full",           "Y  Y  F  F  F  F  Y  Y  F  F  Y  Y  Y  Y"),
            ("admin-documents",      "Y  Y  F  F  F  F  Y  F  F  F  F  F  F  Y"),
            ("admin-people",         "Y  Y  F  F  F  F  Y  Y  F  F  F  F  F  Y"),
            ("admin-settings-audit", "Y  Y  F  F  F  F  Y  F  F  F  Y  Y  Y  Y"),
            ("user",                 "Y  Y  F  F  F  F  Y  F  F  F  F  F  F  Y"),
            ("guest",                "F  Y  F  F  F  F  F  F  F  F  F  F  F  Y"),
        ];
        let people = people();
        for (name, row) in table {
            let a = &people.iter().find(|(n, _)| n == name).unwrap().1;
            let expected: Vec<&str> = row.split_whitespace().collect();
            assert_eq!(expected.len(), Action::ALL.len());
            for (action, want) in Action::ALL.iter().zip(expected) {
                let got = match authorize(a, *action, Resource::Instance) {
                    Ok(()) => "Y",
                    Err(Denied::Forbidden) => "F",
                    Err(Denied::NotFound) => "N",
                };
                assert_eq!(got, want, "{name} {action:?} on the instance");
            }
        }
    }

    /// Every role × room access state × action inside a room.
    #[test]
    fn room_actions_table() {
        let states: Vec<Option<AccessLevel>> = std::iter::once(None)
            .chain(AccessLevel::ALL.into_iter().map(Some))
            .collect();
        for (name, a) in people() {
            let doc_admin = a.administers(Module::Documents);
            for state in &states {
                for action in Action::ALL {
                    let got = authorize(&a, action, Resource::Room { access: *state });
                    let level = if doc_admin { Some(L::FullAccess) } else { *state };
                    let want = match (level, action) {
                        (None | Some(L::Deny), _) => Err(Denied::NotFound),
                        (Some(l), Action::ReadContent) => allow(l >= L::ViewOnly),
                        (Some(l), Action::WriteContent) => allow(l >= L::Edit),
                        (Some(l), Action::PurgeContent | Action::ManageRoom) => allow(l == L::FullAccess),
                        (Some(_), _) => Err(Denied::Forbidden),
                    };
                    assert_eq!(got, want, "{name} {action:?} with room access {state:?}");
                }
            }
        }
    }

    /// Every person × the rank of the person acted on, for `ManagePerson` (written out, not
    /// derived from the rank order): Y = allowed, F = forbidden. Columns: Guest, User, module
    /// Administrator, full Administrator, Owner.
    #[test]
    fn person_actions_table() {
        #[rustfmt::skip]
        let table: &[(&str, &str)] = &[
            //                       G  U  MA FA O
            ("owner",                "Y  Y  Y  Y  F"),
            ("admin-full",           "Y  Y  Y  F  F"),
            ("admin-documents",      "F  F  F  F  F"),
            ("admin-people",         "Y  Y  F  F  F"),
            ("admin-settings-audit", "F  F  F  F  F"),
            ("user",                 "F  F  F  F  F"),
            ("guest",                "F  F  F  F  F"),
        ];
        let people = people();
        for (name, row) in table {
            let a = &people.iter().find(|(n, _)| n == name).unwrap().1;
            let expected: Vec<&str> = row.split_whitespace().collect();
            assert_eq!(expected.len(), Rank::ALL.len());
            for (rank, want) in Rank::ALL.iter().zip(expected) {
                for action in Action::ALL {
                    let got = match authorize(a, action, Resource::Person { rank: *rank }) {
                        Ok(()) => "Y",
                        Err(Denied::Forbidden) => "F",
                        Err(Denied::NotFound) => "N",
                    };
                    let want = if action == Action::ManagePerson { want } else { "F" };
                    assert_eq!(got, want, "{name} {action:?} on a person of rank {rank:?}");
                }
            }
        }
    }

    #[test]
    fn ranks_of_roles() {
        let people_admin = ModuleSet::from_modules(&[Module::People]);
        let all_but_audit = ModuleSet::from_modules(&[Module::Documents, Module::People, Module::Settings]);
        assert_eq!(Rank::of(Role::Owner, ModuleSet::NONE), Rank::Owner);
        assert_eq!(Rank::of(Role::Admin, ModuleSet::ALL), Rank::FullAdmin);
        assert_eq!(Rank::of(Role::Admin, all_but_audit), Rank::ModuleAdmin);
        assert_eq!(Rank::of(Role::Admin, people_admin), Rank::ModuleAdmin);
        assert_eq!(Rank::of(Role::Admin, ModuleSet::NONE), Rank::ModuleAdmin);
        assert_eq!(Rank::of(Role::User, ModuleSet::ALL), Rank::User);
        assert_eq!(Rank::of(Role::Guest, ModuleSet::ALL), Rank::Guest);
    }

    #[test]
    fn non_members_never_learn_a_room_exists() {
        for (name, a) in people() {
            if a.administers(Module::Documents) {
                continue;
            }
            for action in Action::ALL {
                for state in [None, Some(L::Deny)] {
                    assert_eq!(
                        authorize(&a, action, Resource::Room { access: state }),
                        Err(Denied::NotFound),
                        "{name} {action:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn view_only_member_can_read_not_write() {
        let a = actor(Role::Guest, ModuleSet::NONE);
        let r = Resource::Room {
            access: Some(L::ViewOnly),
        };
        assert_eq!(authorize(&a, Action::ReadContent, r), Ok(()));
        assert_eq!(authorize(&a, Action::WriteContent, r), Err(Denied::Forbidden));
        assert_eq!(authorize(&a, Action::ManageRoom, r), Err(Denied::Forbidden));
    }
}
