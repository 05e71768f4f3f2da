//! The instance's first start (the Owner's account), signing in and out, the signed-in
//! person's own account, and their API tokens.

use crate::{Caller, Error, Result, Service};
use secrecy::SecretString;
use strongroom_auth::{AuthError, password, session, token};
use strongroom_core::audit::{AuditAction, AuditEvent, Outcome, RequestOrigin};
use strongroom_core::ids::{RoomId, TokenId};
use strongroom_core::{Action, Capability, ModuleSet, Resource, Role, Scope, authorize};
use strongroom_store::people::{self, NewUser, User};
use strongroom_store::sessions::{self, ApiToken};

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

/// Signs in with e-mail and password: a browser session (its secret goes in a cookie) and
/// the CSRF token its changing requests must carry. A failure is audited with its reason.
pub async fn login(
    svc: &Service,
    email: &str,
    password: SecretString,
    origin: &RequestOrigin,
) -> Result<session::Login> {
    match session::login(&svc.db, email, password, svc.now(), svc.session_ms, origin).await {
        Ok(l) => Ok(l),
        Err(e) => {
            let ev = AuditEvent::new(AuditAction::Login)
                .outcome(Outcome::Failure)
                .details(serde_json::json!({ "email": email.chars().take(254).collect::<String>(), "reason": e.to_string() }))
                .from_origin(origin);
            svc.audit(ev).await?;
            Err(e.into())
        }
    }
}

/// Ends the caller's browser session (signed in by token: nothing to end but the audit).
pub async fn logout(svc: &Service, caller: &Caller) -> Result<()> {
    authorize(&caller.actor, Action::ManageOwnAccount, Resource::Instance)?;
    let mut change = svc.change_by(caller).await?;
    if let Some(s) = &caller.session_hash {
        sessions::delete_session(&mut change, s).await?;
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
