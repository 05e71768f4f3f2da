//! Making accounts by invitation: an administrator of people invites someone by e-mail, or
//! the person asks at self-sign-up (when the settings allow their mail domain). Either way
//! the account is made only by whoever opens the link mailed to the address: it proves the
//! mailbox, and the link works once, until it expires.

use crate::{Caller, Error, Operator, Result, Service};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use strongroom_auth::token;
use strongroom_core::access::{Actor, Scope};
use strongroom_core::audit::{AuditAction, AuditEvent, RequestOrigin};
use strongroom_core::ids::InvitationId;
use strongroom_core::{Action, Module, Rank, Resource, Role, authorize};
use strongroom_store::invitations::{self, Invitation, InvitationKind, NewInvitation};
use strongroom_store::people::{self, NewUser, User};

/// The setting's name in the database.
const SIGN_UP: &str = "sign_up";
/// How long a self-sign-up link works.
pub const SIGN_UP_MS: i64 = 24 * 3_600_000;

/// Who may make their own account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SelfSignUp {
    /// Nobody: accounts are made by administrators, or by invitation.
    #[default]
    Off,
    /// People with an address in one of `trusted_domains`.
    TrustedDomains,
    /// Anyone with an e-mail address.
    Any,
}

/// Self-sign-up and invitations (administrators of settings and of people).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SignUpSettings {
    pub self_sign_up: SelfSignUp,
    /// The mail domains (`example.org`) whose people may sign up themselves, matched exactly
    /// (a subdomain is listed on its own); at most 1,000.
    pub trusted_domains: Vec<String>,
    /// The role a self-signed-up account gets: `guest` (default) or `user`.
    #[schema(value_type = SignUpRole)]
    pub role: Role,
    /// Days an invitation by an administrator works (1 to 30; default 7).
    #[schema(minimum = 1, maximum = 30)]
    pub invitation_days: u32,
}

/// The roles self-sign-up may give.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // only describes `SignUpSettings::role` in the OpenAPI document
enum SignUpRole {
    Guest,
    User,
}

impl Default for SignUpSettings {
    fn default() -> Self {
        SignUpSettings {
            self_sign_up: SelfSignUp::Off,
            trusted_domains: Vec::new(),
            role: Role::Guest,
            invitation_days: 7,
        }
    }
}

impl SignUpSettings {
    /// Checks the settings, and writes the domains in lower case.
    pub fn validate(&mut self) -> std::result::Result<(), String> {
        if !matches!(self.role, Role::User | Role::Guest) {
            return Err("role must be \"guest\" or \"user\": nobody makes themselves an administrator".into());
        }
        if !(1..=30).contains(&self.invitation_days) {
            return Err("invitation_days must be between 1 and 30".into());
        }
        if self.trusted_domains.len() > 1000 {
            return Err("trusted_domains holds at most 1,000 domains".into());
        }
        for d in &mut self.trusted_domains {
            *d = d.trim().trim_start_matches('@').to_ascii_lowercase();
            let label_ok = |l: &str| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            };
            if d.len() > 253 || !d.contains('.') || !d.split('.').all(label_ok) {
                return Err(format!(
                    "trusted_domains: {:?} is not a mail domain such as \"example.org\" (an internationalised one in its xn-- form)",
                    people::excerpt(d)
                ));
            }
        }
        self.trusted_domains.sort();
        self.trusted_domains.dedup();
        if self.self_sign_up == SelfSignUp::TrustedDomains && self.trusted_domains.is_empty() {
            return Err("self_sign_up \"trusted_domains\" needs at least one domain in trusted_domains".into());
        }
        Ok(())
    }

    /// Whether someone with this (normalised) address may sign up themselves.
    fn admits(&self, email: &str) -> bool {
        match self.self_sign_up {
            SelfSignUp::Off => false,
            SelfSignUp::Any => true,
            SelfSignUp::TrustedDomains => email
                .rsplit_once('@')
                .is_some_and(|(_, d)| self.trusted_domains.iter().any(|t| t == d)),
        }
    }
}

/// The sign-up settings in force.
pub async fn settings(svc: &Service) -> Result<SignUpSettings> {
    Ok(strongroom_store::settings::get(&svc.db, SIGN_UP)
        .await?
        .unwrap_or_default())
}

/// The sign-up settings (administrators of settings).
pub async fn read_settings(svc: &Service, caller: &Caller) -> Result<SignUpSettings> {
    authorize(&caller.actor, Action::ManageSettings, Resource::Instance)?;
    settings(svc).await
}

/// Sets the sign-up settings (administrators of both settings and people, or the console):
/// letting strangers make accounts is admitting people, so an administrator of settings
/// alone may not.
pub async fn set_settings(svc: &Service, by: Operator<'_>, mut s: SignUpSettings) -> Result<SignUpSettings> {
    if let Operator::User(c) = by {
        authorize(&c.actor, Action::ManagePeople, Resource::Instance)?;
    }
    s.validate().map_err(Error::Invalid)?;
    crate::settings::put(
        svc,
        by,
        SIGN_UP,
        AuditAction::SignUpSettingsSet,
        s,
        SignUpSettings::default(),
    )
    .await
}

/// Whom to invite.
pub struct NewInvite<'a> {
    pub email: &'a str,
    /// Empty: the person chooses it when they accept.
    pub display_name: &'a str,
    pub role: Role,
    /// Required for an Administrator; ignored for other roles.
    pub admin_modules: Option<&'a [Module]>,
}

/// Invites someone by e-mail (administrators of people, for a rank below their own, or the
/// console). Mail must be on; the invitation replaces an earlier one to the address, and is
/// withdrawn again if the mail cannot be sent.
pub async fn invite(svc: &Service, by: Operator<'_>, new: NewInvite<'_>) -> Result<Invitation> {
    if new.role == Role::Owner {
        return Err(Error::invalid("there is exactly one Owner; use transfer-ownership"));
    }
    let modules = crate::people::modules_of(new.role, new.admin_modules)?;
    crate::people::may_manage(by, new.role, modules)?;
    let email = people::normalize_new_email(new.email)?;
    if !new.display_name.trim().is_empty() {
        people::check_name("display", new.display_name)?;
    }
    if crate::mail::settings(svc).await?.host.is_empty() {
        return Err(Error::NotConfigured("mail (invitations are sent by e-mail)"));
    }
    if people::find_by_email(&svc.db, &email).await?.is_some() {
        return Err(Error::Conflict(format!("a user with e-mail {email} already exists")));
    }
    let days = settings(svc).await?.invitation_days;
    let (secret, hash) = token::generate(token::Kind::Invitation);
    let inviter = match by {
        Operator::User(c) => Some(c.actor.user_id.clone()),
        Operator::Console => None,
    };
    let mut change = svc.change_by_operator(by).await?;
    // Replacing an invitation withdraws it: only by someone who could withdraw it.
    let replaced = invitations::live_for(&mut change, &email).await?;
    if let Some(old) = &replaced {
        crate::people::may_manage(by, old.role, old.modules())?;
    }
    let expires_at = change.now() + i64::from(days) * 86_400_000;
    let invitation = invitations::create(
        &mut change,
        &hash,
        NewInvitation {
            kind: InvitationKind::Invitation,
            email: &email,
            display_name: new.display_name.trim(),
            role: new.role,
            modules,
            invited_by: inviter.as_ref(),
            expires_at,
        },
    )
    .await?;
    change
        .commit(&by.event(AuditAction::InvitationCreate).target("invitation", &invitation.id).details(
            serde_json::json!({"email": email, "role": invitation.role, "admin_modules": invitation.admin_modules,
                "replaced": replaced.map(|r| r.id)}),
        ))
        .await?;
    let from = match by {
        Operator::User(c) => c.actor.email.clone(),
        Operator::Console => "the administrator".into(),
    };
    let body = format!(
        "{from} invites you to Strongroom, as {role}, with the address {email}.\n\n\
         To make your account, open this link within {days} days (it works once):\n\n  {link}\n\n\
         If you did not expect this, ignore this message.\n",
        role = invitation.role,
        link = link(svc, "invitation", &secret),
    );
    if let Err(e) = crate::mail::send(svc, &email, "Your invitation to Strongroom", body).await {
        let mut change = svc.change().await?;
        invitations::delete(&mut change, &invitation.id).await?;
        change
            .commit(
                &by.event(AuditAction::InvitationWithdraw)
                    .target("invitation", &invitation.id)
                    .details(serde_json::json!({"email": email, "why": "the invitation could not be mailed"})),
            )
            .await?;
        return Err(e);
    }
    Ok(invitation)
}

/// A link to a page of the web interface carrying a secret: in the fragment, which browsers
/// send to no server (no access log, proxy or `Referer` sees it).
pub(crate) fn link(svc: &Service, page: &str, secret: &str) -> String {
    format!("{}/{page}#token={secret}", svc.public_url.trim_end_matches('/'))
}

/// The invitations not yet accepted nor expired (administrators of people).
pub async fn list(svc: &Service, caller: &Caller) -> Result<Vec<Invitation>> {
    authorize(&caller.actor, Action::ManagePeople, Resource::Instance)?;
    let by = Operator::User(caller);
    Ok(invitations::list_live(&svc.db, svc.now())
        .await?
        .into_iter()
        .filter(|i| crate::people::may_manage(by, i.role, i.modules()).is_ok())
        .collect())
}

/// Withdraws an invitation (administrators of people who could have made it, or the
/// console): its link stops working.
pub async fn withdraw(svc: &Service, by: Operator<'_>, id: &InvitationId) -> Result<()> {
    if let Operator::User(c) = by {
        authorize(&c.actor, Action::ManagePeople, Resource::Instance)?;
    }
    let invitation = invitations::get(&svc.db, id).await?;
    crate::people::may_manage(by, invitation.role, invitation.modules())?;
    let mut change = svc.change_by_operator(by).await?;
    if !invitations::delete(&mut change, id).await? {
        return Err(Error::NotFound("invitation"));
    }
    change
        .commit(
            &by.event(AuditAction::InvitationWithdraw)
                .target("invitation", id)
                .details(serde_json::json!({"email": invitation.email})),
        )
        .await?;
    Ok(())
}

/// Asks for a self-sign-up link by e-mail. Answered at once and alike for every address:
/// whether it may sign up, already has an account, or mail is off is decided in the
/// background, where no answer or timing tells it. Requests are counted under the
/// brute-force limit, so a mailbox cannot be flooded.
pub async fn request_sign_up(svc: &Service, email: &str, origin: &RequestOrigin) -> Result<()> {
    // Whether the settings admit the address tells nothing of any account: decided here, so
    // requests sign-up would never answer take no place in the background.
    let Ok(address) = people::normalize_new_email(email) else {
        return Ok(());
    };
    if !settings(svc).await?.admits(&address) {
        return Ok(());
    }
    let (svc, email, origin) = (svc.clone(), email.to_string(), origin.clone());
    crate::mail::in_background(&crate::mail::SIGN_UPS, "sign-up", async move {
        send_sign_up(&svc, &email, &origin).await
    });
    Ok(())
}

async fn send_sign_up(svc: &Service, email: &str, origin: &RequestOrigin) -> Result<()> {
    let rules = settings(svc).await?;
    let Ok(email) = people::normalize_new_email(email) else {
        return Ok(());
    };
    if !rules.admits(&email) {
        return Ok(());
    }
    if crate::mail::settings(svc).await?.host.is_empty() {
        tracing::warn!("a self-sign-up was asked for, but mail is not configured: nothing is sent");
        return Ok(());
    }
    if !crate::mail::counted(svc, "sign-up", &email, origin).await? {
        return Ok(());
    }
    if people::find_by_email(&svc.db, &email).await?.is_some() {
        return Ok(());
    }
    // An administrator's invitation to the address stays (checked again in the change); and
    // the client is charged only for a mail about to go, before the change (whose one writer
    // its own write would wait for).
    let invited = |i: &Option<Invitation>| i.as_ref().is_some_and(|i| i.kind == InvitationKind::Invitation);
    if invited(&invitations::find_live_for(&svc.db, &email, svc.now()).await?)
        || !crate::mail::counted_client(svc, origin).await?
    {
        return Ok(());
    }
    let (secret, hash) = token::generate(token::Kind::Invitation);
    let mut change = svc.change().await?;
    // An administrator's invitation to the address stays: a stranger's request for a
    // sign-up link must not replace it (nor learn of it: the answer was given already).
    if invited(&invitations::live_for(&mut change, &email).await?) {
        return Ok(());
    }
    let expires_at = change.now() + SIGN_UP_MS;
    let invitation = invitations::create(
        &mut change,
        &hash,
        NewInvitation {
            kind: InvitationKind::SignUp,
            email: &email,
            display_name: "",
            role: rules.role,
            modules: strongroom_core::ModuleSet::NONE,
            invited_by: None,
            expires_at,
        },
    )
    .await?;
    change
        .commit(
            &AuditEvent::new(AuditAction::SignUpRequest)
                .target("invitation", &invitation.id)
                .from_origin(origin)
                .details(serde_json::json!({"email": email, "role": rules.role})),
        )
        .await?;
    let body = format!(
        "Someone asked to make a Strongroom account with the address {email}.\n\n\
         To make it, open this link within 24 hours (it works once):\n\n  {link}\n\n\
         If it was not you, ignore this message: no account is made.\n\
         The request came from {ip}.\n",
        link = link(svc, "invitation", &secret),
        ip = origin.ip.as_deref().unwrap_or("an unknown address"),
    );
    crate::mail::send(svc, &email, "Make your Strongroom account", body).await
}

/// What the holder of a live invitation link is invited to (for the page that accepts it).
pub async fn inspect(svc: &Service, secret: &str) -> Result<Invitation> {
    invitations::find_live(&svc.db, &token::hash(secret), svc.now())
        .await?
        .ok_or_else(invalid_link)
}

fn invalid_link() -> Error {
    Error::invalid("the invitation link is invalid, used, withdrawn or expired: ask for a new one")
}

/// Makes the account an invitation link is for, and spends the link. Checked again now, not
/// only when it was sent: an invitation whose sender may no longer invite for its rank (they
/// left, or were demoted), or a self-sign-up the settings no longer admit, makes nothing.
pub async fn accept(
    svc: &Service,
    secret: &str,
    display_name: &str,
    password: SecretString,
    origin: &RequestOrigin,
) -> Result<User> {
    let hash = token::hash(secret);
    let invitation = invitations::find_live(&svc.db, &hash, svc.now())
        .await?
        .ok_or_else(invalid_link)?;
    let mut role = invitation.role;
    let mut seen_inviter = None;
    match (invitation.kind, &invitation.invited_by) {
        (InvitationKind::Invitation, Some(by)) => {
            let inviter = people::get_user(&svc.db, by).await?;
            let actor = Actor {
                user_id: inviter.id.clone(),
                email: inviter.email.clone(),
                name: inviter.display_name.clone(),
                role: inviter.role,
                modules: inviter.modules(),
                scope: Scope::FULL,
            };
            let may = inviter.active
                && authorize(
                    &actor,
                    Action::ManagePerson,
                    Resource::Person {
                        rank: Rank::of(invitation.role, invitation.modules()),
                    },
                )
                .is_ok();
            if !may {
                return Err(Error::invalid(
                    "the invitation is no longer valid: whoever sent it may no longer invite for this role",
                ));
            }
            seen_inviter = Some(inviter);
        }
        (InvitationKind::Invitation, None) => {}
        (InvitationKind::SignUp, _) => {
            let rules = settings(svc).await?;
            if !rules.admits(&invitation.email) {
                return Err(Error::invalid("self-sign-up is no longer open to this address"));
            }
            // The role the settings give now: the latest word of the administrators.
            role = rules.role;
        }
    }
    let name = if display_name.trim().is_empty() {
        invitation.display_name.as_str()
    } else {
        display_name
    };
    if !name.trim().is_empty() {
        people::check_name("display", name)?;
    }
    crate::settings::check_password(svc, &password, &[&invitation.email, name]).await?;
    let password_hash = strongroom_auth::password::hash(password).await?;
    let mut change = svc.change().await?;
    if let Some(inviter) = &seen_inviter {
        people::still_as_seen(&mut change, inviter, None).await?;
    }
    if !invitations::take(&mut change, &invitation.id, &hash).await? {
        return Err(invalid_link());
    }
    let user = people::create_user(
        &mut change,
        NewUser {
            email: &invitation.email,
            display_name: name,
            role,
            modules: invitation.modules(),
            password_hash: Some(password_hash),
        },
    )
    .await
    .map_err(|e| match e {
        strongroom_store::StoreError::Conflict(_) => {
            Error::Conflict("an account with this address exists already: sign in, or ask for a password reset".into())
        }
        e => e.into(),
    })?;
    let via = match invitation.kind {
        InvitationKind::Invitation => "invitation",
        InvitationKind::SignUp => "sign_up",
    };
    change
        .commit(
            &AuditEvent::new(AuditAction::UserCreate)
                .target("user", &user.id)
                .from_origin(origin)
                .details(serde_json::json!({
                    "email": user.email, "role": user.role, "admin_modules": user.admin_modules,
                    "via": via, "invitation_id": invitation.id, "invited_by": invitation.invited_by,
                })),
        )
        .await?;
    Ok(user)
}
