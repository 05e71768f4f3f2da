//! The second-factor rules an administrator sets (`/api/v1/settings/security/second-factor`,
//! `strongroom admin settings second-factor`).

use crate::{Caller, Error, Operator, Result, Service};
use strongroom_core::audit::AuditAction;
use strongroom_core::ids::GroupId;
use strongroom_core::{Action, Resource, Role, authorize};

/// The setting's name in the database.
const NAME: &str = "second_factor";

/// A way of proving oneself beyond (or, for a step-up without any factor, instead of
/// repeating) the password.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A code from an authenticator app (RFC 6238).
    Totp,
    /// A code sent by SMS.
    Sms,
    /// A passkey (WebAuthn): a security key, or a phone's or computer's built-in one.
    Passkey,
    /// One of the person's ten backup codes.
    BackupCode,
    /// The account password (a step-up by someone who has no second factor).
    Password,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Totp => "totp",
            Method::Sms => "sms",
            Method::Passkey => "passkey",
            Method::BackupCode => "backup_code",
            Method::Password => "password",
        }
    }

    /// The method of a stored factor's kind.
    pub fn parse(kind: &str) -> Option<Method> {
        match kind {
            "totp" => Some(Method::Totp),
            "sms" => Some(Method::Sms),
            "passkey" => Some(Method::Passkey),
            _ => None,
        }
    }
}

/// Who must have a second factor, and with what. Every field has a default; unknown fields
/// are refused.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SecondFactorRules {
    /// The roles that must have a second factor: `[]` optional for everyone,
    /// `["owner", "admin"]` required for administrators, all four for everyone.
    pub required_roles: Vec<Role>,
    /// Groups whose members must have one, whatever their role (group ids).
    #[schema(value_type = Vec<String>)]
    pub required_groups: Vec<GroupId>,
    /// The methods people may enrol and sign in with: `totp`, `sms`, `passkey` (backup codes
    /// always come with them). At least one.
    pub methods: Vec<Method>,
    /// Passkeys may sign people in on their own, without a password (when `passkey` is one of
    /// `methods`).
    pub passwordless: bool,
    /// How long a factor given (at sign-in or by a step-up) lets a session make sensitive
    /// changes, in minutes (1 to 60).
    #[schema(minimum = 1, maximum = 60)]
    pub step_up_minutes: u32,
}

impl Default for SecondFactorRules {
    fn default() -> Self {
        SecondFactorRules {
            required_roles: Vec::new(),
            required_groups: Vec::new(),
            methods: vec![Method::Totp, Method::Sms, Method::Passkey],
            passwordless: false,
            step_up_minutes: 10,
        }
    }
}

impl SecondFactorRules {
    /// Whether someone of `role` in `groups` must have a second factor.
    pub fn requires(&self, role: Role, groups: &[GroupId]) -> bool {
        self.required_roles.contains(&role) || groups.iter().any(|g| self.required_groups.contains(g))
    }

    pub fn step_up_ms(&self) -> i64 {
        i64::from(self.step_up_minutes) * 60_000
    }

    fn validate(&mut self) -> Result<()> {
        if !(1..=60).contains(&self.step_up_minutes) {
            return Err(Error::invalid("step_up_minutes must be between 1 and 60"));
        }
        if self.methods.is_empty() {
            return Err(Error::invalid("methods must name at least one of totp, sms, passkey"));
        }
        if let Some(m) = self
            .methods
            .iter()
            .find(|m| matches!(m, Method::BackupCode | Method::Password))
        {
            return Err(Error::invalid(format!(
                "methods may name totp, sms and passkey; {} is not a method to enrol",
                m.as_str()
            )));
        }
        self.methods.sort_by_key(|m| m.as_str());
        self.methods.dedup();
        self.required_roles.sort_by_key(|r| r.as_str());
        self.required_roles.dedup();
        self.required_groups.sort();
        self.required_groups.dedup();
        Ok(())
    }
}

/// The rules in force (the defaults until set), read at every use so a change holds on
/// every node at once.
pub async fn rules(svc: &Service) -> Result<SecondFactorRules> {
    Ok(strongroom_store::settings::get(&svc.db, NAME)
        .await?
        .unwrap_or_default())
}

/// The rules, for anyone signed in: people need to know whether they must enrol and how.
pub async fn read_rules(svc: &Service, caller: &Caller) -> Result<SecondFactorRules> {
    authorize(&caller.actor, Action::ReadOwnAccount, Resource::Instance)?;
    rules(svc).await
}

/// Sets the rules (administrators of settings with a fresh second factor, or the console).
/// Naming a group that does not exist is refused; requiring a factor of people who have
/// none walks them through enrolment at their next request.
pub async fn set_rules(svc: &Service, by: Operator<'_>, mut new: SecondFactorRules) -> Result<SecondFactorRules> {
    new.validate()?;
    if let Operator::User(c) = by {
        authorize(&c.actor, Action::ManageSettings, Resource::Instance)?;
        super::require_fresh(svc, c, "changing the second-factor rules").await?;
    }
    for g in &new.required_groups {
        strongroom_store::people::get_group(&svc.db, g).await?;
    }
    // Rules that require a factor nobody can enrol would shut people in enrolment.
    let sms = crate::sms::configured(svc).await?;
    let passkeys = super::passkey::configured(svc);
    let enrollable = |m: &Method| match m {
        Method::Sms => sms,
        Method::Passkey => passkeys,
        _ => true,
    };
    if !new.methods.iter().any(enrollable) {
        return Err(Error::invalid(
            "none of the methods can be enrolled here (SMS needs a provider, passkeys a public_url naming a host): nobody could enrol",
        ));
    }
    if new.passwordless && !new.methods.contains(&Method::Passkey) {
        return Err(Error::invalid("passwordless needs passkey among the methods"));
    }
    crate::settings::put(
        svc,
        by,
        NAME,
        AuditAction::SecondFactorRulesSet,
        new,
        SecondFactorRules::default(),
    )
    .await
}
