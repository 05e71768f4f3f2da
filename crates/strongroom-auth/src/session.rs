//! Signing in and recognising the caller of a request.

use crate::{password, token};
use secrecy::SecretString;
use strongroom_core::Actor;
use strongroom_core::audit::{AuditAction, AuditEvent, RequestOrigin};
use strongroom_store::people::{self, User};
use strongroom_store::sessions::{self, NewSession};
use strongroom_store::{Change, Db, StoreError};

/// Why authentication failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Wrong e-mail or password (deliberately not saying which).
    #[error("wrong e-mail or password")]
    InvalidCredentials,
    /// No valid session cookie or bearer token.
    #[error("sign in first: no valid session or API token")]
    Unauthenticated,
    /// The account exists but is disabled.
    #[error("this account is disabled")]
    Disabled,
    /// A cookie-authenticated state change without a matching `X-CSRF-Token` header.
    #[error("missing or wrong X-CSRF-Token header")]
    Csrf,
    /// A new password does not meet the policy.
    #[error("{0}")]
    WeakPassword(String),
    /// The setup token is unknown, spent or expired.
    #[error("the setup token is invalid or has expired")]
    BadSetupToken,
    /// The current password given with a password change is wrong.
    #[error("the current password is wrong")]
    WrongCurrentPassword,
    /// A change of one's own password came without the current one.
    #[error("current_password is required to change your own password")]
    CurrentPasswordRequired,
    /// The request must come from a signed-in browser session, not an API token (an API
    /// token may not mint tokens: revoking a leaked one must end its holder's access).
    #[error("{0} needs a signed-in session, not an API token")]
    SessionRequired(&'static str),
    /// Too many password checks are running or waiting; try again shortly.
    #[error("the server is busy checking passwords; try again in a moment")]
    Busy,
    /// A failure in storage.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An unexpected internal failure (a hashing task died).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Turns a stored user into the caller of a request, refusing disabled accounts.
pub fn actor_of(user: &User) -> Result<Actor, AuthError> {
    if !user.active {
        return Err(AuthError::Disabled);
    }
    Ok(Actor {
        user_id: user.id.clone(),
        email: user.email.clone(),
        role: user.role,
        modules: user.modules(),
        scope: strongroom_core::Scope::FULL,
    })
}

/// A successful sign-in: the secrets go to the browser once and are not kept.
pub struct Login {
    pub user: User,
    pub session_secret: String,
    pub csrf_token: String,
    pub expires_at: i64,
}

/// A request authenticated by session cookie, with the hash its CSRF header must match.
pub struct SessionAuth {
    pub actor: Actor,
    pub csrf_hash: String,
}

/// Checks e-mail and password and opens a session, audited as `auth.login` in the same
/// change. A refused sign-in changes nothing; its caller audits it.
pub async fn login(
    db: &Db,
    email: &str,
    pw: SecretString,
    now: i64,
    lifetime_ms: i64,
    origin: &RequestOrigin,
) -> Result<Login, AuthError> {
    let found = people::find_by_email(db, email).await?;
    let (user, hash) = match found {
        Some((u, h)) => (Some(u), h),
        None => (None, None),
    };
    let checked = hash.clone();
    let ok = password::verify(hash, pw).await?;
    let user = match (ok, user) {
        (true, Some(u)) => u,
        _ => return Err(AuthError::InvalidCredentials),
    };
    let actor = actor_of(&user)?;
    let (session_secret, id_hash) = token::generate(token::Kind::Session);
    let (csrf_token, csrf_hash) = token::generate(token::Kind::Csrf);
    let expires_at = now.saturating_add(lifetime_ms);
    let mut change = Change::begin(db, now).await?;
    // The password checked is still the person's, and they are still active: a reset or a
    // disable that committed during the hash is not undone by a session opened after it.
    if people::still_as_seen(&mut change, &user, checked.as_deref())
        .await
        .is_err()
    {
        return Err(AuthError::InvalidCredentials);
    }
    sessions::create_session(
        &mut change,
        NewSession {
            id_hash: &id_hash,
            user_id: &user.id,
            csrf_hash: &csrf_hash,
            expires_at,
            ip: origin.ip.clone(),
            user_agent: origin.user_agent.clone(),
        },
    )
    .await?;
    change
        .commit(&AuditEvent::new(AuditAction::Login).by(&actor).from_origin(origin))
        .await?;
    Ok(Login {
        user,
        session_secret,
        csrf_token,
        expires_at,
    })
}

/// The caller behind a session cookie value.
pub async fn from_session(db: &Db, secret: &str, now: i64) -> Result<SessionAuth, AuthError> {
    let row = sessions::find_session(db, &token::hash(secret), now)
        .await?
        .ok_or(AuthError::Unauthenticated)?;
    let user = people::get_user(db, &row.user_id)
        .await
        .map_err(|_| AuthError::Unauthenticated)?;
    Ok(SessionAuth {
        actor: actor_of(&user)?,
        csrf_hash: row.csrf_hash,
    })
}

/// The caller behind a bearer token.
pub async fn from_api_token(db: &Db, secret: &str, now: i64) -> Result<Actor, AuthError> {
    let (user, scope) = sessions::find_token_user(db, &token::hash(secret), now)
        .await?
        .ok_or(AuthError::Unauthenticated)?;
    let mut actor = actor_of(&user)?;
    actor.scope = scope;
    Ok(actor)
}

/// Ends the session behind a cookie value, as part of a change.
pub async fn logout(change: &mut Change, secret: &str) -> Result<(), AuthError> {
    sessions::delete_session(change, &token::hash(secret)).await?;
    Ok(())
}
