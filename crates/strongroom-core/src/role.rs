//! Roles of people in the instance and access levels of people in a room.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The role of a user in the whole instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Exactly one per instance; can do everything, including transferring ownership.
    Owner,
    /// Full access or access limited to some [`Module`]s.
    Admin,
    /// A member of the organisation: may create rooms and work in rooms they belong to.
    User,
    /// An outsider: works only in rooms they were invited to, may not create rooms.
    Guest,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::User => "user",
            Role::Guest => "guest",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "owner" => Role::Owner,
            "admin" | "administrator" => Role::Admin,
            "user" => Role::User,
            "guest" => Role::Guest,
            _ => return None,
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a person stands in people administration, lowest first. Nobody may change,
/// disable or reset the password of someone at or above their own rank, nor raise anyone to
/// it: the rank order is what keeps an insider from climbing (a people administrator taking
/// over the Owner's account by setting its password, a full Administrator disabling another).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    Guest,
    User,
    /// An Administrator limited to some modules (any set short of all four).
    ModuleAdmin,
    /// An Administrator of every module.
    FullAdmin,
    Owner,
}

impl Rank {
    pub const ALL: [Rank; 5] = [Rank::Guest, Rank::User, Rank::ModuleAdmin, Rank::FullAdmin, Rank::Owner];

    /// The rank of a person with this role and (for an Administrator) these modules.
    pub fn of(role: Role, modules: ModuleSet) -> Rank {
        match role {
            Role::Owner => Rank::Owner,
            Role::Admin if modules == ModuleSet::ALL => Rank::FullAdmin,
            Role::Admin => Rank::ModuleAdmin,
            Role::User => Rank::User,
            Role::Guest => Rank::Guest,
        }
    }
}

/// A part of the product an Administrator can be limited to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Module {
    /// Every room, folder and file of the instance.
    Documents,
    /// Users and groups.
    People,
    /// Instance settings and security policy.
    Settings,
    /// The audit trail and login history.
    Audit,
}

impl Module {
    pub const ALL: [Module; 4] = [Module::Documents, Module::People, Module::Settings, Module::Audit];

    pub fn as_str(self) -> &'static str {
        match self {
            Module::Documents => "documents",
            Module::People => "people",
            Module::Settings => "settings",
            Module::Audit => "audit",
        }
    }
    pub fn parse(s: &str) -> Option<Module> {
        Module::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// The modules an Administrator may act in. Stored as a comma-separated list;
/// a full-access Administrator has all of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModuleSet(u8);

impl ModuleSet {
    pub const ALL: ModuleSet = ModuleSet(0b1111);
    pub const NONE: ModuleSet = ModuleSet(0);

    fn bit(m: Module) -> u8 {
        1 << (m as u8)
    }
    pub fn contains(self, m: Module) -> bool {
        self.0 & Self::bit(m) != 0
    }
    pub fn with(self, m: Module) -> ModuleSet {
        ModuleSet(self.0 | Self::bit(m))
    }
    pub fn modules(self) -> Vec<Module> {
        Module::ALL.into_iter().filter(|m| self.contains(*m)).collect()
    }
    pub fn from_modules(ms: &[Module]) -> ModuleSet {
        ms.iter().fold(ModuleSet::NONE, |s, m| s.with(*m))
    }
    /// Stored form: `documents,people`.
    pub fn to_db(self) -> String {
        self.modules().iter().map(|m| m.as_str()).collect::<Vec<_>>().join(",")
    }
    /// Unknown names are ignored: the database is ours, and an unknown module grants nothing.
    pub fn from_db(s: &str) -> ModuleSet {
        ModuleSet::from_modules(&s.split(',').filter_map(Module::parse).collect::<Vec<_>>())
    }
}

/// A named preset of capabilities on a room, folder or file (see
/// [`AccessLevel::capabilities`]; form filling, comment and review are siblings, not steps).
/// The order, least to most, is what "members below a level" means (a room's download
/// watermark); [`AccessLevel::Deny`] overrides every grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessLevel {
    /// Explicitly no access, even if a group grants some.
    Deny,
    /// Read and download.
    ViewOnly,
    /// Fill in forms.
    FormFilling,
    /// Add comments.
    Comment,
    /// Suggest changes in review mode.
    Review,
    /// Change content: upload, new versions, folders, rename, move, trash.
    Edit,
    /// Everything in the room, including members and permanent deletion.
    FullAccess,
}

impl AccessLevel {
    pub const ALL: [AccessLevel; 7] = [
        AccessLevel::Deny,
        AccessLevel::ViewOnly,
        AccessLevel::FormFilling,
        AccessLevel::Comment,
        AccessLevel::Review,
        AccessLevel::Edit,
        AccessLevel::FullAccess,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::Deny => "deny",
            AccessLevel::ViewOnly => "view_only",
            AccessLevel::FormFilling => "form_filling",
            AccessLevel::Comment => "comment",
            AccessLevel::Review => "review",
            AccessLevel::Edit => "edit",
            AccessLevel::FullAccess => "full_access",
        }
    }
    pub fn parse(s: &str) -> Option<AccessLevel> {
        AccessLevel::ALL.into_iter().find(|a| a.as_str() == s)
    }
    /// Combines the grants a person gets directly and through groups: any `Deny` wins,
    /// otherwise the highest level.
    pub fn combine(grants: impl IntoIterator<Item = AccessLevel>) -> Option<AccessLevel> {
        let mut best: Option<AccessLevel> = None;
        for g in grants {
            if g == AccessLevel::Deny {
                return Some(AccessLevel::Deny);
            }
            best = Some(best.map_or(g, |b| b.max(g)));
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_set_round_trips() {
        let s = ModuleSet::from_modules(&[Module::People, Module::Audit]);
        assert_eq!(s.to_db(), "people,audit");
        assert_eq!(ModuleSet::from_db("people,audit,bogus"), s);
        assert!(!s.contains(Module::Documents));
        assert_eq!(ModuleSet::ALL.modules().len(), 4);
    }

    #[test]
    fn deny_wins_otherwise_highest() {
        use AccessLevel::*;
        assert_eq!(AccessLevel::combine([ViewOnly, Edit]), Some(Edit));
        assert_eq!(AccessLevel::combine([FullAccess, Deny, Edit]), Some(Deny));
        assert_eq!(AccessLevel::combine([]), None);
        for a in AccessLevel::ALL {
            assert_eq!(AccessLevel::parse(a.as_str()), Some(a));
        }
    }
}
