//! Second factors: authenticator apps (TOTP), codes by SMS, backup codes; who must have one
//! (per role and per group); the second step of signing in; and step-up, the fresh factor
//! sensitive changes ask for.
//!
//! - [`rules`]: the setting administrators set (`second_factor`).
//! - [`enrol`]: a person's own factors and backup codes, and an administrator's reset.
//! - [`passkey`]: passkeys (WebAuthn), as a second factor and, when allowed, on their own.
//! - [`verify`]: checking a code (sign-in, step-up), with replay refused across nodes and the
//!   brute-force limit of the sign-in rules applied.

pub mod enrol;
pub mod passkey;
mod rules;
pub mod verify;

pub use rules::{Method, SecondFactorRules, read_rules, rules, set_rules};

use crate::{Caller, Error, Result, Service};
use strongroom_auth::AuthError;
use strongroom_store::people::User;
use strongroom_store::second_factors::{self, Factor};

/// Whether this person must enrol a second factor before doing anything else: the rules
/// require one for their role or one of their groups, and they have no confirmed factor of
/// a method the rules allow.
pub async fn must_enrol(svc: &Service, user: &User) -> Result<bool> {
    let rules = rules(svc).await?;
    if !rules.requires(user.role, &[]) && rules.required_groups.is_empty() {
        return Ok(false);
    }
    let groups = if rules.required_groups.is_empty() {
        Vec::new()
    } else {
        strongroom_store::grants::groups_of(&svc.db, &user.id).await?
    };
    if !rules.requires(user.role, &groups) {
        return Ok(false);
    }
    Ok(usable_factors(svc, &rules, user).await?.is_empty())
}

/// A person's confirmed factors of the methods the rules allow.
///
/// Every confirmed factor counts, whatever `methods` says now: the rules only limit what is
/// enrolled from now on, so narrowing them never turns a second factor off.
async fn usable_factors(svc: &Service, _rules: &SecondFactorRules, user: &User) -> Result<Vec<Factor>> {
    Ok(second_factors::list(&svc.db, &user.id)
        .await?
        .into_iter()
        .filter(|f| f.confirmed_at.is_some() && Method::parse(&f.kind).is_some())
        .collect())
}

/// The methods a person can sign in with as a second step: those of their usable factors,
/// and backup codes if they have any left (none at all: a password is enough for them).
pub(crate) async fn sign_in_methods(svc: &Service, user: &User) -> Result<Vec<Method>> {
    let rules = rules(svc).await?;
    let mut methods: Vec<Method> = Vec::new();
    for f in usable_factors(svc, &rules, user).await? {
        if let Some(m) = Method::parse(&f.kind)
            && !methods.contains(&m)
        {
            methods.push(m);
        }
    }
    if !methods.is_empty() && second_factors::backup_codes_left(&svc.db, &user.id).await? > 0 {
        methods.push(Method::BackupCode);
    }
    Ok(methods)
}

/// Refuses a sensitive change (second factors, API tokens, encryption, backups, the rules
/// themselves) unless the caller's session had a factor given recently: at sign-in or by a
/// step-up, within the rules' `step_up_minutes`. An API token is never fresh.
pub async fn require_fresh(svc: &Service, caller: &Caller, what: &'static str) -> Result<()> {
    let Some(at) = caller.verified_at else {
        return Err(AuthError::SessionRequired(what).into());
    };
    let rules = rules(svc).await?;
    if svc.now().saturating_sub(at) <= rules.step_up_ms() {
        return Ok(());
    }
    let user = strongroom_store::people::get_user(&svc.db, &caller.actor.user_id).await?;
    let mut methods = sign_in_methods(svc, &user).await?;
    if methods.is_empty() {
        methods.push(Method::Password);
    }
    Err(Error::StepUpRequired { methods })
}
