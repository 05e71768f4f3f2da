//! Recognising the caller of a request: who an account or an API token is.

use crate::token;
use strongroom_core::Actor;
use strongroom_store::people::User;
use strongroom_store::sessions;
use strongroom_store::{Db, StoreError};

/// Why authentication failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Wrong e-mail or password (deliberately not saying which).
    #[error("wrong e-mail or password")]
    InvalidCredentials,
    /// A second-factor code is wrong, expired or was used already (deliberately not saying
    /// which).
    #[error("the code is wrong, expired or used already")]
    InvalidCode,
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
        name: user.display_name.clone(),
        role: user.role,
        modules: user.modules(),
        scope: strongroom_core::Scope::FULL,
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
