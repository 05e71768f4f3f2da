//! What a principal may do to one room, folder or file: capabilities, the access levels that
//! name sets of them, grants along an item's ancestry, and restrictions.
//!
//! [`effective`] is the only place that turns grants into rights. It is pure: the store loads
//! the grants of a room, the ancestry of an item and the caller's groups, and this function
//! decides. No SQL decides access. The rules, in order:
//!
//! 1. Administrators of the `documents` module (and the Owner) act as room admins everywhere.
//! 2. An explicit `Deny` for the person or any of their groups anywhere along the ancestry
//!    (room, folders, the item) wins: no rights, and the item answers as if it did not exist.
//! 3. Otherwise the nearest node (the item, then its folders upwards, then the room) that holds
//!    a grant for the person or one of their groups counts; the person gets the union of the
//!    rights of those grants there (each grant's level, minus that grant's restrictions).
//! 4. A room's restrictions (no download, print, copy; sharing by room admins only) bind
//!    everyone but its room admins: full-access members of the room itself.
//! 5. Guests never share, manage links or manage a room; a link holder gets at most the link's
//!    level, only inside the linked item, never sharing or management.

use crate::ids::{GroupId, UserId};
use crate::role::AccessLevel;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One thing a principal may do to an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// See the item: metadata, folder listings, previews.
    View,
    /// Take the content away: content and version downloads, copies into another room,
    /// protected or watermarked copies delivered as downloads, link downloads, editor access.
    Download,
    /// Print (in the viewer and editor).
    Print,
    /// Copy text out of the viewer and editor.
    Copy,
    /// Add comments.
    Comment,
    /// Suggest changes in review mode.
    Review,
    /// Fill in forms.
    FillForms,
    /// Change content: upload, new version, rename, move inside the room.
    Edit,
    /// Create folders.
    CreateFolders,
    /// Move to the trash and restore from it.
    Trash,
    /// Delete permanently.
    Purge,
    /// Add or change members and per-item grants.
    Share,
    /// Create, list and revoke external links.
    ManageLinks,
    /// Rename the room, change its settings, delete it.
    ManageRoom,
}

impl Capability {
    pub const ALL: [Capability; 14] = [
        Capability::View,
        Capability::Download,
        Capability::Print,
        Capability::Copy,
        Capability::Comment,
        Capability::Review,
        Capability::FillForms,
        Capability::Edit,
        Capability::CreateFolders,
        Capability::Trash,
        Capability::Purge,
        Capability::Share,
        Capability::ManageLinks,
        Capability::ManageRoom,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Capability::View => "view",
            Capability::Download => "download",
            Capability::Print => "print",
            Capability::Copy => "copy",
            Capability::Comment => "comment",
            Capability::Review => "review",
            Capability::FillForms => "fill_forms",
            Capability::Edit => "edit",
            Capability::CreateFolders => "create_folders",
            Capability::Trash => "trash",
            Capability::Purge => "purge",
            Capability::Share => "share",
            Capability::ManageLinks => "manage_links",
            Capability::ManageRoom => "manage_room",
        }
    }

    pub fn parse(s: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of capabilities.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Capabilities(u16);

impl Capabilities {
    pub const NONE: Capabilities = Capabilities(0);

    pub fn of(caps: &[Capability]) -> Capabilities {
        caps.iter().fold(Capabilities::NONE, |s, c| s.with(*c))
    }
    pub fn all() -> Capabilities {
        Capabilities::of(&Capability::ALL)
    }
    fn bit(c: Capability) -> u16 {
        1 << (c as u16)
    }
    pub fn contains(self, c: Capability) -> bool {
        self.0 & Self::bit(c) != 0
    }
    #[must_use]
    pub fn with(self, c: Capability) -> Capabilities {
        Capabilities(self.0 | Self::bit(c))
    }
    #[must_use]
    pub fn without(self, c: Capability) -> Capabilities {
        Capabilities(self.0 & !Self::bit(c))
    }
    #[must_use]
    pub fn union(self, o: Capabilities) -> Capabilities {
        Capabilities(self.0 | o.0)
    }
    #[must_use]
    pub fn intersect(self, o: Capabilities) -> Capabilities {
        Capabilities(self.0 & o.0)
    }
    /// Whether every capability of `o` is in this set.
    pub fn includes(self, o: Capabilities) -> bool {
        self.0 & o.0 == o.0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

impl AccessLevel {
    /// The capabilities this level names. Written out for each level (not derived from the
    /// level order): form filling, comment and review are siblings, not steps of a ladder.
    pub fn capabilities(self) -> Capabilities {
        use Capability::*;
        const READ: &[Capability] = &[View, Download, Print, Copy];
        let extra: &[Capability] = match self {
            AccessLevel::Deny => return Capabilities::NONE,
            AccessLevel::ViewOnly => &[],
            AccessLevel::FormFilling => &[FillForms],
            AccessLevel::Comment => &[Comment],
            AccessLevel::Review => &[Comment, Review],
            AccessLevel::Edit => &[
                Comment,
                Review,
                FillForms,
                Edit,
                CreateFolders,
                Trash,
                Share,
                ManageLinks,
            ],
            AccessLevel::FullAccess => return Capabilities::all(),
        };
        Capabilities::of(READ).union(Capabilities::of(extra))
    }

    /// The levels an external link may carry.
    pub fn allowed_for_links(self) -> bool {
        matches!(
            self,
            AccessLevel::ViewOnly
                | AccessLevel::FormFilling
                | AccessLevel::Comment
                | AccessLevel::Review
                | AccessLevel::Edit
        )
    }
}

/// Restrictions on one grant (share) or on a whole room.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Restrictions {
    /// No download: content cannot leave the server (downloads, copies, delivered copies).
    #[serde(default)]
    pub no_download: bool,
    #[serde(default)]
    pub no_print: bool,
    #[serde(default)]
    pub no_copy: bool,
}

impl Restrictions {
    pub const NONE: Restrictions = Restrictions {
        no_download: false,
        no_print: false,
        no_copy: false,
    };

    /// `caps` without what these restrictions take away.
    pub fn apply(self, caps: Capabilities) -> Capabilities {
        let mut c = caps;
        if self.no_download {
            c = c.without(Capability::Download);
        }
        if self.no_print {
            c = c.without(Capability::Print);
        }
        if self.no_copy {
            c = c.without(Capability::Copy);
        }
        c
    }
}

/// A room's own rules, binding everyone but its room admins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RoomPolicy {
    #[serde(flatten)]
    pub restrictions: Restrictions,
    /// Only room admins may add or change members, per-item grants and links.
    #[serde(default)]
    pub sharing_admins_only: bool,
}

/// Who a grant is for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    User(UserId),
    Group(GroupId),
}

/// One grant: a level (with restrictions) for a user or group on one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub subject: Subject,
    pub level: AccessLevel,
    pub restrictions: Restrictions,
}

/// The person asking, as far as rights in a room go.
#[derive(Clone, Debug)]
pub struct Person {
    pub user: UserId,
    pub groups: Vec<GroupId>,
    /// A guest of the instance.
    pub guest: bool,
    /// Administers the `documents` module (or is the Owner).
    pub documents_admin: bool,
}

impl Person {
    fn holds(&self, g: &Grant) -> bool {
        match &g.subject {
            Subject::User(u) => *u == self.user,
            Subject::Group(id) => self.groups.contains(id),
        }
    }
}

/// An external link, as far as rights go.
#[derive(Clone, Copy, Debug)]
pub struct LinkGrant {
    pub level: AccessLevel,
    pub restrictions: Restrictions,
}

/// Who asks for rights on an item.
#[derive(Clone, Debug)]
pub enum Holder<'a> {
    Person(&'a Person),
    /// A link holder: `inside` says whether the item is the linked item or below it.
    Link {
        link: LinkGrant,
        inside: bool,
    },
}

/// What the holder may do to one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rights {
    /// The level of the grant that counted (`None`: no grant reaches the holder).
    pub level: Option<AccessLevel>,
    pub caps: Capabilities,
    /// A full-access member of the room itself, or a documents administrator.
    pub room_admin: bool,
}

impl Rights {
    pub const NONE: Rights = Rights {
        level: None,
        caps: Capabilities::NONE,
        room_admin: false,
    };

    /// Whether the item may be known at all (else it answers 404).
    pub fn visible(self) -> bool {
        self.caps.contains(Capability::View)
    }
    pub fn can(self, c: Capability) -> bool {
        self.caps.contains(c)
    }
}

/// Computes the holder's rights on an item from the grants along its ancestry: `ancestry[0]`
/// holds the grants on the room itself, then one entry per folder down to the item (the last
/// entry is the item's own grants). See the module documentation for the rules.
pub fn effective(holder: &Holder<'_>, ancestry: &[&[Grant]], policy: &RoomPolicy) -> Rights {
    let person = match holder {
        Holder::Link { link, inside } => return link_rights(*link, *inside, policy),
        Holder::Person(p) => *p,
    };
    if person.documents_admin {
        return Rights {
            level: Some(AccessLevel::FullAccess),
            caps: Capabilities::all(),
            room_admin: true,
        };
    }
    let held = |grants: &[Grant]| -> Vec<Grant> { grants.iter().filter(|g| person.holds(g)).cloned().collect() };
    if ancestry
        .iter()
        .any(|node| held(node).iter().any(|g| g.level == AccessLevel::Deny))
    {
        return Rights::NONE;
    }
    let Some((depth, nearest)) = ancestry
        .iter()
        .enumerate()
        .rev()
        .map(|(i, node)| (i, held(node)))
        .find(|(_, g)| !g.is_empty())
    else {
        return Rights::NONE;
    };
    let level = nearest.iter().map(|g| g.level).max();
    let mut caps = nearest.iter().fold(Capabilities::NONE, |c, g| {
        c.union(g.restrictions.apply(g.level.capabilities()))
    });
    let room_admin = ancestry
        .first()
        .is_some_and(|room| held(room).iter().any(|g| g.level == AccessLevel::FullAccess))
        && (depth == 0 || caps == Capabilities::all());
    if !room_admin {
        caps = policy.restrictions.apply(caps);
        if policy.sharing_admins_only {
            caps = caps.without(Capability::Share).without(Capability::ManageLinks);
        }
    }
    if person.guest {
        caps = caps
            .without(Capability::Share)
            .without(Capability::ManageLinks)
            .without(Capability::ManageRoom);
    }
    Rights {
        level,
        caps,
        room_admin: room_admin && !person.guest,
    }
}

/// What may never come through a link, whatever its level.
const NEVER_BY_LINK: [Capability; 5] = [
    Capability::Purge,
    Capability::Share,
    Capability::ManageLinks,
    Capability::ManageRoom,
    Capability::Trash,
];

fn link_rights(link: LinkGrant, inside: bool, policy: &RoomPolicy) -> Rights {
    if !inside || !link.level.allowed_for_links() {
        return Rights::NONE;
    }
    let mut caps = policy
        .restrictions
        .apply(link.restrictions.apply(link.level.capabilities()));
    for c in NEVER_BY_LINK {
        caps = caps.without(c);
    }
    Rights {
        level: Some(link.level),
        caps,
        room_admin: false,
    }
}

/// Whether someone with `granter` rights on an item may give `level` (with `restrictions`)
/// there, replacing `existing` (the level the subject holds on that node now, if any).
/// Room admins may give anything. Anyone else who may share gives only what they hold
/// themselves, never `deny`, and never touches a grant above what they hold: an editor can
/// neither make a room admin nor lock one out of a folder.
pub fn may_grant(
    granter: Rights,
    level: AccessLevel,
    restrictions: Restrictions,
    existing: Option<(AccessLevel, Restrictions)>,
) -> bool {
    if !granter.can(Capability::Share) {
        return false;
    }
    if granter.room_admin {
        return true;
    }
    level != AccessLevel::Deny
        && holds(granter, level, restrictions)
        && existing.is_none_or(|(l, r)| holds(granter, l, r))
}

/// Whether `granter` holds everything a grant of `level` with `restrictions` gives.
fn holds(granter: Rights, level: AccessLevel, restrictions: Restrictions) -> bool {
    level != AccessLevel::Deny && granter.caps.includes(restrictions.apply(level.capabilities()))
}

/// Whether someone with `granter` rights on an item may make a link to it with `level` and
/// `restrictions`: they need the right to manage links, and a link gives no more than they
/// hold (room admins excepted, as for sharing).
pub fn may_link(granter: Rights, level: AccessLevel, restrictions: Restrictions) -> bool {
    granter.can(Capability::ManageLinks)
        && level.allowed_for_links()
        && (granter.room_admin || holds(granter, level, restrictions))
}

/// Whether someone with `granter` rights on an item may remove a grant of `existing` there:
/// the same bound as replacing it ([`may_grant`]). Lifting a `deny` gives access back, so only
/// room admins do it.
pub fn may_revoke(granter: Rights, existing: AccessLevel, restrictions: Restrictions) -> bool {
    granter.can(Capability::Share) && (granter.room_admin || holds(granter, existing, restrictions))
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccessLevel::*;

    #[test]
    fn links_give_no_more_than_their_maker_holds() {
        let nd = Restrictions {
            no_download: true,
            ..Restrictions::NONE
        };
        let admin = Rights {
            level: Some(FullAccess),
            caps: Capabilities::all(),
            room_admin: true,
        };
        let no_download_editor = Rights {
            caps: editor().caps.without(Capability::Download),
            ..editor()
        };
        let commenter = Rights {
            level: Some(Comment),
            caps: Comment.capabilities(),
            room_admin: false,
        };
        #[rustfmt::skip]
        let table: &[(Rights, AccessLevel, Restrictions, bool, &str)] = &[
            (admin, Edit, Restrictions::NONE, true, "a room admin links for editing"),
            (admin, FullAccess, Restrictions::NONE, false, "no link carries full access"),
            (admin, Deny, Restrictions::NONE, false, "no link carries deny"),
            (editor(), Review, Restrictions::NONE, true, "an editor links for review"),
            (editor(), Edit, nd, true, "an editor links for editing without download"),
            (no_download_editor, ViewOnly, Restrictions::NONE, false, "no download given by one who has none"),
            (no_download_editor, ViewOnly, nd, true, "but a view link without download"),
            (commenter, ViewOnly, Restrictions::NONE, false, "a commenter manages no links"),
        ];
        for (granter, level, r, want, why) in table {
            assert_eq!(may_link(*granter, *level, *r), *want, "{why}");
        }
    }

    #[test]
    fn revoking_is_bounded_like_granting() {
        let admin = Rights {
            level: Some(FullAccess),
            caps: Capabilities::all(),
            room_admin: true,
        };
        let viewer = Rights {
            level: Some(ViewOnly),
            caps: ViewOnly.capabilities(),
            room_admin: false,
        };
        #[rustfmt::skip]
        let table: &[(Rights, AccessLevel, bool, &str)] = &[
            (admin, Deny, true, "a room admin lifts a deny"),
            (admin, FullAccess, true, "a room admin removes another room admin"),
            (editor(), Deny, false, "an editor cannot lift a deny"),
            (editor(), FullAccess, false, "an editor cannot remove a room admin"),
            (editor(), Edit, true, "an editor removes an editor"),
            (editor(), ViewOnly, true, "an editor removes a viewer"),
            (viewer, ViewOnly, false, "a viewer cannot share at all"),
        ];
        for (granter, existing, want, why) in table {
            assert_eq!(may_revoke(*granter, *existing, Restrictions::NONE), *want, "{why}");
        }
        let no_print = Restrictions {
            no_print: true,
            ..Restrictions::NONE
        };
        let no_print_editor = Rights {
            caps: editor().caps.without(Capability::Print),
            ..editor()
        };
        assert!(
            may_revoke(no_print_editor, Edit, no_print),
            "an editor without print removes the same"
        );
        assert!(
            !may_revoke(no_print_editor, Edit, Restrictions::NONE),
            "but not an editor with print"
        );
    }

    fn editor() -> Rights {
        Rights {
            level: Some(Edit),
            caps: Edit.capabilities(),
            room_admin: false,
        }
    }

    /// Who may give what, written out: (granter, level given, existing grant, allowed).
    #[test]
    fn granting_table() {
        let admin = Rights {
            level: Some(FullAccess),
            caps: Capabilities::all(),
            room_admin: true,
        };
        let viewer = Rights {
            level: Some(ViewOnly),
            caps: ViewOnly.capabilities(),
            room_admin: false,
        };
        let no_download_editor = Rights {
            caps: editor().caps.without(Capability::Download),
            ..editor()
        };
        let none = Restrictions::NONE;
        let nd = Restrictions {
            no_download: true,
            ..Restrictions::NONE
        };
        type Row = (
            &'static str,
            Rights,
            AccessLevel,
            Restrictions,
            Option<(AccessLevel, Restrictions)>,
            bool,
        );
        #[rustfmt::skip]
        let table: &[Row] = &[
            ("admin gives full access",            admin,  FullAccess, none, None,             true),
            ("admin denies",                       admin,  Deny,       none, None,             true),
            ("admin replaces a full access",       admin,  ViewOnly,   none, Some((FullAccess, none)), true),
            ("editor gives edit",                  editor(), Edit,     none, None,             true),
            ("editor gives view",                  editor(), ViewOnly, none, None,             true),
            ("editor gives review",                editor(), Review,   none, Some((Comment, none)),    true),
            ("editor cannot give full access",     editor(), FullAccess, none, None,           false),
            ("editor cannot deny",                 editor(), Deny,     none, None,             false),
            ("editor cannot lower a room admin",   editor(), ViewOnly, none, Some((FullAccess, none)), false),
            ("editor may lift a deny? no",         editor(), ViewOnly, none, Some((Deny, none)),       false),
            ("viewer cannot share",                viewer, ViewOnly,   none, None,             false),
            ("editor without download gives view without download", no_download_editor, ViewOnly, nd, None, true),
            ("editor without download cannot give download", no_download_editor, ViewOnly, none, None, false),
            ("editor without download replaces the same", no_download_editor, ViewOnly, nd, Some((Edit, nd)), true),
            ("but not a grant with download", no_download_editor, ViewOnly, nd, Some((Edit, none)), false),
        ];
        for (why, granter, level, r, existing, want) in table {
            assert_eq!(may_grant(*granter, *level, *r, *existing), *want, "{why}");
        }
    }
}
