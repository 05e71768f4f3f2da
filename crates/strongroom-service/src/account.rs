//! The instance's first start (the Owner's account), signing in and out, the signed-in
//! person's own account, and their API tokens.

use crate::settings::SignInRules;
use crate::{Caller, Error, Result, Service};
use secrecy::SecretString;
use strongroom_auth::{AuthError, password, session, token};
use strongroom_core::audit::{AuditAction, AuditEvent, Outcome, RequestOrigin};
use strongroom_core::ids::{RoomId, TokenId};
use strongroom_core::{Action, Capability, ModuleSet, Resource, Role, Scope, authorize};
use strongroom_store::login_history::{self, NewLoginEvent};
use strongroom_store::people::{self, NewUser, User};
use strongroom_store::sessions::{self, ApiToken, NewSession, SessionRow};
use strongroom_store::throttle;

/// Creates the Owner account on a fresh instance, with the one-time setup token printed by
/// `strongroom serve` on first start.
pub async fn setup_owner(
    svc: &Service,
    setup_token: &str,
    email: &str,
    display_name: &str,
    password: SecretString,
    origin: &RequestOrigin,
) -> Result<User> {
    let now = svc.now();
    let token_hash = token::hash(setup_token);
    // The cheap checks first: an unauthenticated caller must not make us run Argon2 for free.
    let valid = !people::owner_exists(&svc.db).await? && sessions::setup_token_valid(&svc.db, &token_hash, now).await?;
    if !valid {
        svc.audit(
            AuditEvent::new(AuditAction::SetupOwner)
                .outcome(Outcome::Denied)
                .from_origin(origin),
        )
        .await?;
        return Err(AuthError::BadSetupToken.into());
    }
    // A bad e-mail or a weak password is refused before the token is spent.
    people::normalize_email(email)?;
    crate::settings::check_password(svc, &password, &[email, display_name]).await?;
    let hash = password::hash(password).await?;
    // The token is spent and the Owner created in one change: a failure leaves the token live.
    let mut change = svc.change().await?;
    if !sessions::consume_setup_token(&mut change, &token_hash).await? {
        return Err(AuthError::BadSetupToken.into());
    }
    let user = people::create_user(
        &mut change,
        NewUser {
            email,
            display_name,
            role: Role::Owner,
            modules: ModuleSet::NONE,
            password_hash: Some(hash),
        },
    )
    .await?;
    change
        .commit(
            &AuditEvent::new(AuditAction::SetupOwner)
                .target("user", &user.id)
                .from_origin(origin),
        )
        .await?;
    Ok(user)
}

/// A successful sign-in: the secrets go to the browser once and are not kept.
pub struct Login {
    pub user: User,
    pub session_secret: String,
    pub csrf_token: String,
    pub expires_at: i64,
    /// The rules require a second factor this person has not got: the session can do
    /// nothing but enrol one.
    pub enrolment_required: bool,
}

/// What a sign-in attempt is counted under: a hash of the e-mail address (normalised), so
/// unknown addresses are counted exactly as accounts are. What is no e-mail address at all
/// (a password typed into the wrong field) can be no account's: it is counted under one
/// shared key and nothing derived from it is stored.
pub(crate) fn attempt_key(email: &str) -> String {
    token::hash(&format!("sign-in:{}", typed_email(email)))
}

/// An e-mail address as typed, normalised; `(not an e-mail address)` for anything else.
pub(crate) fn typed_email(email: &str) -> String {
    people::normalize_email(email).unwrap_or_else(|_| "(not an e-mail address)".into())
}

/// The address attempts are counted per: the client's address, or for IPv6 its /64 (one
/// host commonly holds a whole /64, and could otherwise guess from a new address each time).
pub(crate) fn address_key(ip: Option<&str>) -> String {
    match ip.and_then(|s| s.parse::<std::net::IpAddr>().ok()) {
        Some(std::net::IpAddr::V6(v6)) => ipnet::Ipv6Net::new(v6, 64)
            .map(|n| n.trunc().to_string())
            .unwrap_or_else(|_| v6.to_string()),
        Some(a) => a.to_string(),
        None => "unknown".into(),
    }
}

/// Signs in with e-mail and password: a browser session (its secret goes in a cookie) and
/// the CSRF token its changing requests must carry.
///
/// Each attempt is counted before its password is checked (the brute-force limit of the
/// sign-in rules, per account and per account and address); an unknown address costs the
/// same as an account (a hash check against a dummy, a history row, an audit event) and is
/// answered alike. Every outcome goes into the login history and the audit trail, with the
/// e-mail address only when it names an account.
pub async fn login(svc: &Service, email: &str, password: SecretString, origin: &RequestOrigin) -> Result<SignedIn> {
    let rules = crate::settings::sign_in_rules(svc).await?;
    let found = people::find_by_email(&svc.db, email).await?;
    let (user, hash) = match found {
        Some((u, h)) => (Some(u), h),
        None => (None, None),
    };
    // The address rule for everyone needs no account: checked before anything is counted.
    if !rules.address_allowed(Role::User, origin.ip.as_deref()) {
        refuse(svc, user.as_ref(), Refusal::IpDenied, origin).await?;
        return Err(Error::AddressDenied);
    }
    let account = attempt_key(email);
    let address = address_key(origin.ip.as_deref());
    let now = svc.now();
    if let Err(until) = throttle::begin_attempt(&svc.db, &account, &address, rules.limits(), now).await? {
        refuse(svc, user.as_ref(), Refusal::Locked, origin).await?;
        return Err(Error::blocked_until(until, now));
    }
    let checked = hash.clone();
    let ok = password::verify(hash, password).await?;
    let user = match (ok, user) {
        (true, Some(u)) => u,
        (false, Some(u)) => {
            refuse(svc, Some(&u), Refusal::BadPassword, origin).await?;
            return Err(AuthError::InvalidCredentials.into());
        }
        (_, None) => {
            refuse(svc, None, Refusal::UnknownUser, origin).await?;
            return Err(AuthError::InvalidCredentials.into());
        }
    };
    // A disabled account, and an administrator outside their own address rule (asked before
    // the password, it would tell anyone which accounts are administrators), are answered as
    // a wrong password is: a different answer would confirm the password to whoever sent it.
    // The login history and the audit trail keep the real reason.
    let Ok(actor) = session::actor_of(&user) else {
        refuse(svc, Some(&user), Refusal::Disabled, origin).await?;
        return Err(AuthError::InvalidCredentials.into());
    };
    if !rules.address_allowed(user.role, origin.ip.as_deref()) {
        refuse(svc, Some(&user), Refusal::IpDenied, origin).await?;
        return Err(AuthError::InvalidCredentials.into());
    }
    let methods = crate::second_factor::sign_in_methods(svc, &user).await?;
    if !methods.is_empty() {
        let challenge =
            crate::second_factor::verify::begin_sign_in(svc, &user, methods, checked.as_deref(), origin).await?;
        return Ok(SignedIn::SecondFactor(challenge));
    }
    let change = svc.change().await?;
    let login = open_session(
        svc,
        change,
        Opening {
            user: &user,
            actor: &actor,
            checked: checked.as_deref(),
            factors: "password",
            method: None,
        },
        origin,
    )
    .await?;
    Ok(SignedIn::Session(login))
}

/// What a right password leads to: a session, or the second step.
pub enum SignedIn {
    Session(Login),
    SecondFactor(crate::second_factor::verify::SignInChallenge),
}

/// A sign-in every check passed: who, with what.
pub(crate) struct Opening<'a> {
    pub user: &'a User,
    pub actor: &'a strongroom_core::Actor,
    /// The password hash that was checked (a reset committed since voids the sign-in).
    pub checked: Option<&'a str>,
    /// The factors used, space-separated (`password`, `password totp`).
    pub factors: &'a str,
    /// The second factor's method, for the login history and the audit trail.
    pub method: Option<&'a str>,
}

/// Opens the session of a sign-in in `change` (which may already hold what the sign-in
/// spent: a TOTP step, a backup code, the challenge), with its row in the login history,
/// the brute-force count cleared and its audit event.
pub(crate) async fn open_session(
    svc: &Service,
    mut change: strongroom_store::Change,
    o: Opening<'_>,
    origin: &RequestOrigin,
) -> Result<Login> {
    let user = o.user;
    let rules = crate::settings::sign_in_rules(svc).await?;
    let (session_secret, id_hash) = token::generate(token::Kind::Session);
    let (csrf_token, csrf_hash) = token::generate(token::Kind::Csrf);
    let expires_at = change.now().saturating_add(rules.lifetime_ms());
    // The password checked is still the person's, and they are still active: a reset or a
    // disable that committed during the hash is not undone by a session opened after it.
    match people::still_as_seen(&mut change, user, o.checked).await {
        Ok(()) => {}
        Err(strongroom_store::StoreError::Conflict(_)) => {
            drop(change);
            refuse(svc, Some(user), Refusal::BadPassword, origin).await?;
            return Err(AuthError::InvalidCredentials.into());
        }
        Err(e) => return Err(e.into()),
    }
    let id = sessions::create_session(
        &mut change,
        NewSession {
            id_hash: &id_hash,
            user_id: &user.id,
            csrf_hash: &csrf_hash,
            expires_at,
            ip: origin.ip.clone(),
            user_agent: origin.user_agent.clone(),
            factors: o.factors,
        },
    )
    .await?;
    login_history::record_in(&mut change, &history_row("login", o.method, Some(user), origin)).await?;
    throttle::succeeded(
        &mut change,
        &attempt_key(&user.email),
        &address_key(origin.ip.as_deref()),
    )
    .await?;
    let mut event = AuditEvent::new(AuditAction::Login)
        .by(o.actor)
        .target("session", &id)
        .from_origin(origin);
    if let Some(m) = o.method {
        event = event.details(serde_json::json!({ "second_factor": m }));
    }
    change.commit(&event).await?;
    if let Err(e) = crate::mail::notice_new_device(svc, user, origin).await {
        tracing::warn!(error = %e, "the new-device notice could not be prepared");
    }
    let enrolment_required = crate::second_factor::must_enrol(svc, user).await?;
    Ok(Login {
        user: user.clone(),
        session_secret,
        csrf_token,
        expires_at,
        enrolment_required,
    })
}

/// Why a sign-in was refused, as the login history and the audit trail name it.
#[derive(Clone, Copy)]
pub(crate) enum Refusal {
    BadPassword,
    UnknownUser,
    Locked,
    Disabled,
    IpDenied,
    /// A wrong (or expired) second-factor code.
    BadCode,
    /// A second-factor code already used (a TOTP step, a backup code).
    ReplayedCode,
}

impl Refusal {
    fn as_str(self) -> &'static str {
        match self {
            Refusal::BadPassword => "bad_password",
            Refusal::UnknownUser => "unknown_user",
            Refusal::Locked => "locked",
            Refusal::Disabled => "disabled",
            Refusal::IpDenied => "ip_denied",
            Refusal::BadCode => "bad_code",
            Refusal::ReplayedCode => "replayed_code",
        }
    }
}

/// A row of the login history about `user` (none: the attempt named no account).
pub(crate) fn history_row<'a>(
    event: &'a str,
    reason: Option<&'a str>,
    user: Option<&'a User>,
    origin: &'a RequestOrigin,
) -> NewLoginEvent<'a> {
    let (browser, platform) = crate::device::describe(origin.user_agent.as_deref());
    NewLoginEvent {
        event,
        reason,
        user_id: user.map(|u| &u.id),
        email: user.map(|u| u.email.as_str()),
        ip: origin.ip.as_deref(),
        browser: Some(browser),
        platform: Some(platform),
    }
}

/// Records a refused sign-in in the login history and the audit trail.
pub(crate) async fn refuse(svc: &Service, user: Option<&User>, why: Refusal, origin: &RequestOrigin) -> Result<()> {
    let reason = why.as_str();
    login_history::record(&svc.db, &history_row("failure", Some(reason), user, origin), svc.now()).await?;
    let mut event = AuditEvent::new(AuditAction::Login)
        .outcome(Outcome::Failure)
        .from_origin(origin);
    event = match user {
        Some(u) => event
            .target("user", &u.id)
            .details(serde_json::json!({ "email": u.email, "reason": reason })),
        None => event.details(serde_json::json!({ "reason": reason })),
    };
    svc.audit(event).await
}

/// The person behind a session cookie's value, and the hash its CSRF header must match. A
/// session past the lifetime or idle time of the sign-in rules in force ends here (with its
/// row in the login history); a live one is marked as used.
pub async fn session_caller(svc: &Service, secret: &str, origin: RequestOrigin) -> Result<(Caller, String)> {
    let hash = token::hash(secret);
    let now = svc.now();
    let row = sessions::find_session(&svc.db, &hash, now)
        .await?
        .ok_or(AuthError::Unauthenticated)?;
    let rules = crate::settings::sign_in_rules(svc).await?;
    if let Some(reason) = ended_by(&rules, &row, now) {
        expire(svc, &row, reason).await?;
        return Err(AuthError::Unauthenticated.into());
    }
    let mut actor = session::actor_of(&row.user)?;
    if !rules.address_allowed(actor.role, origin.ip.as_deref()) {
        return Err(Error::AddressDenied);
    }
    actor.scope.enrolment_only = crate::second_factor::must_enrol(svc, &row.user).await?;
    if now - row.last_seen_at >= 60_000 {
        sessions::touch(&svc.db, &hash, now).await?;
    }
    let caller = Caller {
        actor,
        origin,
        session_hash: Some(hash),
        token_hash: None,
        verified_at: Some(row.verified_at),
    };
    Ok((caller, row.csrf_hash))
}

/// The person behind an API token (`Authorization: Bearer`), within the token's scope and
/// the address rules in force.
pub async fn token_caller(svc: &Service, secret: &str, origin: RequestOrigin) -> Result<Caller> {
    let mut actor = session::from_api_token(&svc.db, secret, svc.now()).await?;
    let rules = crate::settings::sign_in_rules(svc).await?;
    if !rules.address_allowed(actor.role, origin.ip.as_deref()) {
        return Err(Error::AddressDenied);
    }
    // A token made before the rules required a second factor of its holder reaches no
    // further than their sessions do until they enrol one.
    let user = people::get_user(&svc.db, &actor.user_id).await?;
    actor.scope.enrolment_only = crate::second_factor::must_enrol(svc, &user).await?;
    Ok(Caller {
        actor,
        origin,
        session_hash: None,
        token_hash: Some(token::hash(secret)),
        verified_at: None,
    })
}

/// Whether a session is over under these rules, and why.
fn ended_by(rules: &SignInRules, s: &SessionRow, now: i64) -> Option<&'static str> {
    if s.expires_at <= now || s.created_at <= now - rules.lifetime_ms() {
        Some("lifetime")
    } else if rules.idle_ms().is_some_and(|idle| s.last_seen_at <= now - idle) {
        Some("idle")
    } else {
        None
    }
}

/// Ends an expired session with its row in the login history.
async fn expire(svc: &Service, s: &SessionRow, reason: &str) -> Result<()> {
    let origin = RequestOrigin {
        ip: s.ip.clone(),
        user_agent: s.user_agent.clone(),
        request_id: None,
        route: None,
    };
    let row = history_row("expired", Some(reason), Some(&s.user), &origin);
    sessions::expire(&svc.db, &s.id_hash, &row, svc.now()).await?;
    Ok(())
}

/// The periodic clean-up of sign-in state (every node, each minute; idempotent): sessions
/// past their lifetime or idle time end (each in the login history), spent counters of
/// failed sign-ins go, and the login history older than its retention is deleted.
pub async fn sweep_sign_in(svc: &Service) -> Result<()> {
    let rules = crate::settings::sign_in_rules(svc).await?;
    let now = svc.now();
    let idle = rules.idle_ms().unwrap_or(i64::MAX / 4);
    let sessions_ended = async {
        loop {
            let batch = sessions::list_expired(&svc.db, now, rules.lifetime_ms(), idle, 500).await?;
            for s in &batch {
                expire(svc, s, ended_by(&rules, s, now).unwrap_or("lifetime")).await?;
            }
            if batch.len() < 500 {
                return Ok::<(), Error>(());
            }
        }
    }
    .await;
    // Each clean-up on its own: one failing does not stop the others.
    let purged = [
        throttle::purge(&svc.db, now, rules.limits().period_ms).await,
        login_history::purge(&svc.db, now - i64::from(rules.login_history_days) * 86_400_000).await,
        strongroom_store::password_resets::purge(&svc.db, now).await,
        strongroom_store::invitations::purge(&svc.db, now).await,
        strongroom_store::second_factors::purge(&svc.db, now).await,
        strongroom_store::passkey_ceremonies::purge(&svc.db, now).await,
    ];
    sessions_ended?;
    for r in purged {
        r?;
    }
    Ok(())
}

/// Ends the caller's browser session (signed in by token: nothing to end but the audit).
pub async fn logout(svc: &Service, caller: &Caller) -> Result<()> {
    // Ending one's own session changes nothing of the account: allowed to every credential,
    // a session that must enrol a second factor first too.
    authorize(&caller.actor, Action::ReadOwnAccount, Resource::Instance)?;
    let user = people::get_user(&svc.db, &caller.actor.user_id).await?;
    let mut change = svc.change_by(caller).await?;
    if let Some(s) = &caller.session_hash {
        sessions::delete_session(&mut change, s).await?;
        login_history::record_in(
            &mut change,
            &history_row("logout", Some("signed_out"), Some(&user), &caller.origin),
        )
        .await?;
    }
    change.commit(&caller.event(AuditAction::Logout)).await?;
    Ok(())
}

/// The signed-in person's account.
pub async fn me(svc: &Service, caller: &Caller) -> Result<User> {
    authorize(&caller.actor, Action::ReadOwnAccount, Resource::Instance)?;
    Ok(people::get_user(&svc.db, &caller.actor.user_id).await?)
}

/// A new API token.
pub struct TokenRequest {
    pub name: String,
    /// Days until it expires (1 to 3650); none: 90.
    pub expires_in_days: Option<u32>,
    /// It only reads: view, download, list rooms.
    pub read_only: bool,
    /// It only reaches this room (which the caller must see).
    pub room_id: Option<RoomId>,
}

/// Creates a personal API token for the caller; gives its secret (shown this once). Only a
/// browser session makes tokens: a token that could mint tokens would outlive its own
/// revocation.
pub async fn create_token(svc: &Service, caller: &Caller, req: TokenRequest) -> Result<(String, ApiToken)> {
    authorize(&caller.actor, Action::ManageOwnAccount, Resource::Instance)?;
    if caller.session_hash.is_none() {
        return Err(AuthError::SessionRequired("creating an API token").into());
    }
    crate::second_factor::require_fresh(svc, caller, "creating an API token").await?;
    let days = req.expires_in_days.unwrap_or(90);
    if days == 0 || days > 3650 {
        return Err(Error::invalid("expires_in_days must be between 1 and 3650"));
    }
    if let Some(room) = &req.room_id {
        crate::access::guard_room(svc, caller, room, Capability::View).await?;
    }
    let scope = Scope {
        read_only: req.read_only,
        room: req.room_id,
        enrolment_only: false,
    };
    let (secret, hash) = token::generate(token::Kind::ApiToken);
    let expires = svc.now().saturating_add(i64::from(days) * 86_400_000);
    let mut change = svc.change_by(caller).await?;
    let info = sessions::create_token(
        &mut change,
        &caller.actor.user_id,
        &req.name,
        &hash,
        Some(expires),
        &scope,
    )
    .await?;
    change
        .commit(
            &caller
                .event(AuditAction::TokenCreate)
                .target("token", &info.id)
                .details(serde_json::json!({"name": info.name, "read_only": info.read_only, "room_id": info.room_id, "expires_at": info.expires_at})),
        )
        .await?;
    Ok((secret, info))
}

/// The caller's API tokens (never their secrets).
pub async fn list_tokens(svc: &Service, caller: &Caller) -> Result<Vec<ApiToken>> {
    authorize(&caller.actor, Action::ReadOwnAccount, Resource::Instance)?;
    Ok(sessions::list_tokens(&svc.db, &caller.actor.user_id).await?)
}

/// Revokes one of the caller's API tokens.
pub async fn revoke_token(svc: &Service, caller: &Caller, id: &TokenId) -> Result<()> {
    authorize(&caller.actor, Action::ManageOwnAccount, Resource::Instance)?;
    let mut change = svc.change_by(caller).await?;
    sessions::revoke_token(&mut change, &caller.actor.user_id, id).await?;
    change
        .commit(&caller.event(AuditAction::TokenRevoke).target("token", id))
        .await?;
    Ok(())
}
