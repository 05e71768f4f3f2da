//! The one authorization choke point. Every request handler calls [`authorize`] with the
//! caller, the action and the resource before touching anything; nothing else in the code base
//! decides who may do what.
//!
//! Two rules shape it:
//! - an action that is not explicitly granted is denied (the strictest answer is the default);
//! - a person with no access to a room gets [`Denied::NotFound`], not "forbidden", so ids of
//!   rooms, folders and files one cannot see reveal nothing, not even that they exist.

use crate::ids::{RoomId, UserId};
use crate::rights::{Capability, Rights};
use crate::role::{Module, ModuleSet, Rank, Role};

/// Who is asking: an authenticated, active user.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: UserId,
    pub email: String,
    /// The person's display name, recorded in audit events as it was then.
    pub name: String,
    pub role: Role,
    /// For an Administrator, the modules they may act in; ignored for other roles.
    pub modules: ModuleSet,
    /// What the credential of this request allows: everything the person may do (a session),
    /// or less (an API token with a narrower scope).
    pub scope: Scope,
}

/// How far a request's credential reaches, whatever its holder may do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// Only look and take: view, download, print, copy; list rooms. Every other action is
    /// refused.
    pub read_only: bool,
    /// Only this room: anything elsewhere answers as if it did not exist, and nothing
    /// instance-wide (people, settings, audit, new rooms, the own account) but the list of
    /// rooms is allowed.
    pub room: Option<RoomId>,
    /// Only enrol a second factor: the sign-in rules require one this person has not got.
    /// Reading one's own account and managing one's own second factors are allowed, nothing
    /// else (the person is walked through enrolment and can do nothing until it is done).
    pub enrolment_only: bool,
}

impl Scope {
    pub const FULL: Scope = Scope {
        read_only: false,
        room: None,
        enrolment_only: false,
    };
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

/// The holder of an external link, once the link was found live (not expired, not revoked)
/// and, if it has a password, unlocked.
#[derive(Clone, Debug)]
pub struct LinkHolder {
    pub link_id: String,
}

/// Who asks: a signed-in user, an external link's holder, or the system itself (jobs, the
/// CLI acting as the operator of the machine).
#[derive(Clone, Copy, Debug)]
pub enum Principal<'a> {
    User(&'a Actor),
    Link(&'a LinkHolder),
    System,
}

impl<'a> From<&'a Actor> for Principal<'a> {
    fn from(a: &'a Actor) -> Self {
        Principal::User(a)
    }
}

impl<'a> From<&'a LinkHolder> for Principal<'a> {
    fn from(l: &'a LinkHolder) -> Self {
        Principal::Link(l)
    }
}

/// What is being done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Create a new room.
    CreateRoom,
    /// List the rooms one can see (the store returns only those).
    ListRooms,
    /// Something done to a room, folder or file: see [`Capability`].
    Item(Capability),
    /// List people and groups (to invite them to rooms).
    ViewPeople,
    /// Manage groups and their members.
    ManagePeople,
    /// Create a person, or change another person's name, role, modules, state (disable or
    /// enable) or password. Asked of a [`Resource::Person`]; see [`Rank`] for the rule.
    ManagePerson,
    /// Erase a person (GDPR art. 17), their files deleted or handed to someone else: people
    /// and documents administration at once, so a people administrator cannot destroy or
    /// take over files in rooms they may not even see. Asked of a [`Resource::Person`].
    ErasePerson,
    /// Hand the Owner role to someone else.
    TransferOwnership,
    /// Change instance settings and security policy.
    ManageSettings,
    /// Read the audit trail and login history.
    ReadAudit,
    /// Read the server's operational metrics (`/metrics`): request counts by route, timings.
    ReadMetrics,
    /// Create, list and revoke one's own API tokens; sign out; change one's own profile.
    ManageOwnAccount,
    /// Read one's own account (who am I).
    ReadOwnAccount,
    /// Enrol, confirm and remove one's own second factors and backup codes, and give one for
    /// a step-up.
    ManageOwnSecondFactors,
}

impl Action {
    /// Every action, instance-wide ones first, then one per capability.
    pub fn all() -> Vec<Action> {
        let mut v = vec![
            Action::CreateRoom,
            Action::ListRooms,
            Action::ViewPeople,
            Action::ManagePeople,
            Action::ManagePerson,
            Action::ErasePerson,
            Action::TransferOwnership,
            Action::ManageSettings,
            Action::ReadAudit,
            Action::ReadMetrics,
            Action::ManageOwnAccount,
            Action::ReadOwnAccount,
            Action::ManageOwnSecondFactors,
        ];
        v.extend(Capability::ALL.into_iter().map(Action::Item));
        v
    }

    /// Whether a read-only credential may do this (its own account is no exception: a
    /// read-only token changes no profile and no password).
    fn is_read(self) -> bool {
        match self {
            Action::ListRooms | Action::ReadOwnAccount => true,
            Action::Item(c) => matches!(
                c,
                Capability::View | Capability::Download | Capability::Print | Capability::Copy
            ),
            _ => false,
        }
    }
}

/// What it is being done to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource<'a> {
    /// The instance as a whole: people, settings, audit, the list of rooms.
    Instance,
    /// A room, folder or file, with the caller's rights on it as [`crate::rights::effective`]
    /// computed them.
    Item { room: &'a RoomId, rights: Rights },
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
    /// The sign-in rules require a second factor the caller has not enrolled: until they
    /// do, only their own account and second factors are theirs.
    #[error(
        "enrol a second factor first: the sign-in rules require one of you (POST /api/v1/auth/second-factors/totp)"
    )]
    EnrolmentRequired,
}

/// Proof that [`authorize`] allowed an action. Only this module makes one, and the store's
/// functions that change things take one, so a change that skipped the check does not compile.
#[derive(Debug)]
pub struct Permit {
    action: Action,
}

impl Permit {
    /// The action this permit was given for.
    pub fn action(&self) -> Action {
        self.action
    }

    /// Whether this permit was given for `action` (the store checks it, so a permit to view
    /// cannot be spent on a purge).
    pub fn allows(&self, action: Action) -> bool {
        self.action == action
    }
}

/// Decides whether `who` may perform `action` on `resource`.
pub fn authorize<'a>(who: impl Into<Principal<'a>>, action: Action, resource: Resource<'_>) -> Result<Permit, Denied> {
    let permit = Permit { action };
    match who.into() {
        Principal::System => Ok(permit),
        Principal::Link(_) => match (action, resource) {
            // A link holder's rights were computed for the link (its level, inside the
            // linked item only); nothing instance-wide is theirs.
            (Action::Item(c), Resource::Item { rights, .. }) => item(rights, c).map(|()| permit),
            (_, Resource::Item { rights, .. }) if !rights.visible() => Err(Denied::NotFound),
            _ => Err(Denied::Forbidden),
        },
        Principal::User(actor) => {
            // Before anything else, so what is refused reads alike whatever it is.
            if actor.scope.enrolment_only && !matches!(action, Action::ReadOwnAccount | Action::ManageOwnSecondFactors)
            {
                return Err(Denied::EnrolmentRequired);
            }
            if let Resource::Item { room, .. } = resource
                && actor.scope.room.as_ref().is_some_and(|r| r != room)
            {
                return Err(Denied::NotFound);
            }
            let decided = match resource {
                Resource::Instance => authorize_instance(actor, action),
                Resource::Item { rights, .. } => match action {
                    Action::Item(c) => item(rights, c),
                    _ if !rights.visible() => Err(Denied::NotFound),
                    _ => Err(Denied::Forbidden),
                },
                Resource::Person { rank } => authorize_person(actor, action, rank),
            };
            decided?;
            if actor.scope.read_only && !action.is_read() {
                return Err(Denied::Forbidden);
            }
            if actor.scope.room.is_some() && matches!(resource, Resource::Instance | Resource::Person { .. }) {
                let allowed = matches!(action, Action::ListRooms | Action::ReadOwnAccount);
                if !allowed {
                    return Err(Denied::Forbidden);
                }
            }
            Ok(permit)
        }
    }
}

fn allow(ok: bool) -> Result<(), Denied> {
    if ok { Ok(()) } else { Err(Denied::Forbidden) }
}

fn item(rights: Rights, c: Capability) -> Result<(), Denied> {
    if !rights.visible() {
        return Err(Denied::NotFound);
    }
    allow(rights.can(c))
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
        Action::ManageOwnAccount | Action::ReadOwnAccount | Action::ManageOwnSecondFactors => Ok(()),
        // Item actions need an item, person actions a person; asked of the instance they
        // are refused.
        Action::Item(_) | Action::ManagePerson | Action::ErasePerson => Err(Denied::Forbidden),
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
        Action::ErasePerson => {
            allow(actor.administers(Module::People) && actor.administers(Module::Documents) && actor.rank() > rank)
        }
        _ => Err(Denied::Forbidden),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rights::Capabilities;

    fn actor(role: Role, modules: ModuleSet) -> Actor {
        Actor {
            user_id: UserId::generate(),
            email: "a@example.org".into(),
            name: "A".into(),
            role,
            modules,
            scope: Scope::FULL,
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

    fn letter(r: Result<Permit, Denied>) -> &'static str {
        match r {
            Ok(_) => "Y",
            Err(Denied::Forbidden) => "F",
            Err(Denied::NotFound) => "N",
            Err(Denied::EnrolmentRequired) => "E",
        }
    }

    /// Expected outcome for each person on instance-wide actions, in `Action::all()` order
    /// (item actions asked of the instance are always refused). Y = allowed, F = forbidden.
    #[test]
    fn instance_actions_table() {
        #[rustfmt::skip]
        let table: &[(&str, &str)] = &[
            //                       CR LR VP MP MX EX TO MS RA RM MO RO 2F
            ("owner",                "Y  Y  Y  Y  F  F  Y  Y  Y  Y  Y  Y  Y"),
            ("admin-full",           "Y  Y  Y  Y  F  F  F  Y  Y  Y  Y  Y  Y"),
            ("admin-documents",      "Y  Y  Y  F  F  F  F  F  F  F  Y  Y  Y"),
            ("admin-people",         "Y  Y  Y  Y  F  F  F  F  F  F  Y  Y  Y"),
            ("admin-settings-audit", "Y  Y  Y  F  F  F  F  Y  Y  Y  Y  Y  Y"),
            ("user",                 "Y  Y  Y  F  F  F  F  F  F  F  Y  Y  Y"),
            ("guest",                "F  Y  F  F  F  F  F  F  F  F  Y  Y  Y"),
        ];
        let people = people();
        for (name, row) in table {
            let a = &people.iter().find(|(n, _)| n == name).unwrap().1;
            let mut expected: Vec<&str> = row.split_whitespace().collect();
            expected.extend(std::iter::repeat_n("F", Capability::ALL.len()));
            assert_eq!(expected.len(), Action::all().len());
            for (action, want) in Action::all().into_iter().zip(expected) {
                assert_eq!(
                    letter(authorize(a, action, Resource::Instance)),
                    want,
                    "{name} {action:?} on the instance"
                );
            }
        }
    }

    /// A credential of someone who must enrol a second factor first reaches their own
    /// account and second factors only, whatever their role.
    #[test]
    fn enrolment_only_allows_own_account_and_factors() {
        for (name, mut a) in people() {
            a.scope.enrolment_only = true;
            for action in Action::all() {
                let want = if matches!(action, Action::ReadOwnAccount | Action::ManageOwnSecondFactors) {
                    "Y"
                } else {
                    "E"
                };
                assert_eq!(
                    letter(authorize(&a, action, Resource::Instance)),
                    want,
                    "{name} {action:?}"
                );
            }
            let room = RoomId::generate();
            let owner_rights = Rights {
                level: Some(crate::AccessLevel::ViewOnly),
                caps: Capabilities::of(&[Capability::View]),
                room_admin: true,
            };
            let got = authorize(
                &a,
                Action::Item(Capability::View),
                Resource::Item {
                    room: &room,
                    rights: owner_rights,
                },
            );
            assert_eq!(letter(got), "E", "{name} viewing");
        }
    }

    /// Item actions follow the rights, whoever asks: invisible → 404, visible but lacking
    /// the capability → 403. Instance actions asked of an item are refused the same way.
    #[test]
    fn item_actions_follow_the_rights() {
        let room = RoomId::generate();
        let viewer = Rights {
            level: Some(crate::AccessLevel::ViewOnly),
            caps: Capabilities::of(&[Capability::View, Capability::Download]),
            room_admin: false,
        };
        let link = LinkHolder { link_id: "l".into() };
        for (name, a) in people() {
            for (rights, view, download, edit) in [(Rights::NONE, "N", "N", "N"), (viewer, "Y", "Y", "F")] {
                let r = Resource::Item { room: &room, rights };
                assert_eq!(letter(authorize(&a, Action::Item(Capability::View), r)), view, "{name}");
                assert_eq!(
                    letter(authorize(&a, Action::Item(Capability::Download), r)),
                    download,
                    "{name}"
                );
                assert_eq!(letter(authorize(&a, Action::Item(Capability::Edit), r)), edit, "{name}");
                assert_eq!(
                    letter(authorize(&link, Action::Item(Capability::Edit), r)),
                    edit,
                    "link"
                );
                assert_eq!(letter(authorize(&a, Action::ManagePeople, r)), edit, "{name}");
            }
        }
        assert_eq!(letter(authorize(&link, Action::CreateRoom, Resource::Instance)), "F");
        assert_eq!(letter(authorize(&link, Action::ListRooms, Resource::Instance)), "F");
        assert_eq!(
            letter(authorize(
                &link,
                Action::ManagePerson,
                Resource::Person { rank: Rank::Guest }
            )),
            "F"
        );
    }

    /// A token's scope narrows what its holder may do, never widens it.
    #[test]
    fn token_scopes() {
        let room = RoomId::generate();
        let other = RoomId::generate();
        let all = Rights {
            level: Some(crate::AccessLevel::FullAccess),
            caps: Capabilities::all(),
            room_admin: true,
        };
        let mut ro = actor(Role::Owner, ModuleSet::NONE);
        ro.scope.read_only = true;
        for c in Capability::ALL {
            let want = match c {
                Capability::View | Capability::Download | Capability::Print | Capability::Copy => "Y",
                _ => "F",
            };
            let r = Resource::Item {
                room: &room,
                rights: all,
            };
            assert_eq!(letter(authorize(&ro, Action::Item(c), r)), want, "read-only {c:?}");
        }
        assert_eq!(letter(authorize(&ro, Action::ListRooms, Resource::Instance)), "Y");
        assert_eq!(letter(authorize(&ro, Action::CreateRoom, Resource::Instance)), "F");
        assert_eq!(letter(authorize(&ro, Action::ManageSettings, Resource::Instance)), "F");
        assert_eq!(
            letter(authorize(&ro, Action::ManageOwnAccount, Resource::Instance)),
            "F"
        );
        assert_eq!(letter(authorize(&ro, Action::ReadOwnAccount, Resource::Instance)), "Y");

        let mut one = actor(Role::Owner, ModuleSet::NONE);
        one.scope.room = Some(room.clone());
        let here = Resource::Item {
            room: &room,
            rights: all,
        };
        let there = Resource::Item {
            room: &other,
            rights: all,
        };
        assert_eq!(letter(authorize(&one, Action::Item(Capability::Edit), here)), "Y");
        assert_eq!(letter(authorize(&one, Action::Item(Capability::View), there)), "N");
        assert_eq!(letter(authorize(&one, Action::ListRooms, Resource::Instance)), "Y");
        assert_eq!(letter(authorize(&one, Action::ReadOwnAccount, Resource::Instance)), "Y");
        for action in [
            Action::CreateRoom,
            Action::ManagePeople,
            Action::ReadAudit,
            Action::ViewPeople,
            Action::ManageOwnAccount,
        ] {
            assert_eq!(letter(authorize(&one, action, Resource::Instance)), "F", "{action:?}");
        }
        assert_eq!(
            letter(authorize(
                &one,
                Action::ManagePerson,
                Resource::Person { rank: Rank::Guest }
            )),
            "F"
        );
    }

    #[test]
    fn the_system_may_do_anything_and_permits_name_their_action() {
        let p = authorize(Principal::System, Action::Item(Capability::Purge), Resource::Instance).unwrap();
        assert!(p.allows(Action::Item(Capability::Purge)));
        assert!(!p.allows(Action::Item(Capability::View)));
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
                for action in Action::all() {
                    let got = letter(authorize(a, action, Resource::Person { rank: *rank }));
                    let want = if action == Action::ManagePerson { want } else { "F" };
                    if action != Action::ErasePerson {
                        assert_eq!(got, want, "{name} {action:?} on a person of rank {rank:?}");
                    }
                }
            }
        }
    }

    /// Erasing a person also deletes or hands over their files: people and documents
    /// administration both, above the person's rank. Columns as in `person_actions_table`.
    #[test]
    fn erase_person_table() {
        let mut people = people();
        let people_and_documents = ModuleSet::from_modules(&[Module::People, Module::Documents]);
        people.push(("admin-people-documents", actor(Role::Admin, people_and_documents)));
        #[rustfmt::skip]
        let table: &[(&str, &str)] = &[
            //                         G  U  MA FA O
            ("owner",                  "Y  Y  Y  Y  F"),
            ("admin-full",             "Y  Y  Y  F  F"),
            ("admin-people-documents", "Y  Y  F  F  F"),
            ("admin-documents",        "F  F  F  F  F"),
            ("admin-people",           "F  F  F  F  F"),
            ("admin-settings-audit",   "F  F  F  F  F"),
            ("user",                   "F  F  F  F  F"),
            ("guest",                  "F  F  F  F  F"),
        ];
        for (name, row) in table {
            let a = &people.iter().find(|(n, _)| n == name).unwrap().1;
            let expected: Vec<&str> = row.split_whitespace().collect();
            for (rank, want) in Rank::ALL.iter().zip(expected) {
                let got = letter(authorize(a, Action::ErasePerson, Resource::Person { rank: *rank }));
                assert_eq!(got, want, "{name} erasing a person of rank {rank:?}");
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
}
