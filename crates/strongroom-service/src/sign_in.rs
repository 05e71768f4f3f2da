//! What people see and end of their sign-ins: their active sessions (and, for an
//! administrator of people, those of anyone ranking below them), the unlock of an account
//! blocked by failed sign-ins, and the login history.

use crate::people::may_manage;
use crate::{Caller, Error, Operator, Result, Service};
use serde::Serialize;
use strongroom_core::audit::AuditAction;
use strongroom_core::ids::UserId;
use strongroom_core::{Action, Resource, authorize};
use strongroom_store::login_history::{self, Filter, LoginEvent, NewLoginEvent};
use strongroom_store::people::{self, User};
use strongroom_store::sessions::{self, SessionRow};
use strongroom_store::throttle;

/// A browser session as its holder and administrators see it (never its secret or hash).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    /// `ses_…`: what ending it names.
    pub id: String,
    /// The session this request came with.
    pub current: bool,
    pub ip: Option<String>,
    pub browser: String,
    pub platform: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

fn info(s: &SessionRow, current: Option<&str>) -> SessionInfo {
    let (browser, platform) = crate::device::describe(s.user_agent.as_deref());
    SessionInfo {
        id: s.id.clone(),
        current: current == Some(s.id_hash.as_str()),
        ip: s.ip.clone(),
        browser: browser.into(),
        platform: platform.into(),
        created_at: s.created_at,
        last_seen_at: s.last_seen_at,
        expires_at: s.expires_at,
    }
}

/// The person an operator acts on, when they may (themselves, or below their rank).
async fn person_for(svc: &Service, by: Operator<'_>, id: &UserId) -> Result<User> {
    if let Operator::User(c) = by {
        if c.actor.user_id == *id {
            authorize(&c.actor, Action::ManageOwnAccount, Resource::Instance)?;
            return Ok(people::get_user(&svc.db, id).await?);
        }
        authorize(&c.actor, Action::ViewPeople, Resource::Instance)?;
    }
    let user = people::get_user(&svc.db, id).await?;
    may_manage(by, user.role, user.modules())?;
    Ok(user)
}

/// A person's active sessions: one's own, or (for an administrator of people) those of
/// someone ranking below them.
pub async fn list_sessions(svc: &Service, caller: &Caller, id: &UserId) -> Result<Vec<SessionInfo>> {
    let user = person_for(svc, caller.into(), id).await?;
    let rows = sessions::list_sessions(&svc.db, &user.id, svc.now()).await?;
    Ok(rows.iter().map(|s| info(s, caller.session_hash.as_deref())).collect())
}

/// Ends sessions of a person: the one named `only`, or every one but the caller's own
/// (`only` none). Gives the ids ended. Each goes into the login history.
pub async fn end_sessions(svc: &Service, by: Operator<'_>, id: &UserId, only: Option<&str>) -> Result<Vec<String>> {
    let user = person_for(svc, by, id).await?;
    let (keep, reason) = match by {
        Operator::User(c) if c.actor.user_id == user.id => (c.session_hash.as_deref(), "ended_by_user"),
        _ => (None, "ended_by_admin"),
    };
    let mut change = svc.change_by_operator(by).await?;
    let ended = match only {
        Some(sid) => {
            if !sessions::is_public_id(sid) || !sessions::end_session(&mut change, &user.id, sid).await? {
                return Err(Error::NotFound("session"));
            }
            vec![sid.to_string()]
        }
        None => sessions::end_sessions(&mut change, &user.id, keep).await?,
    };
    let origin = match by {
        Operator::User(c) => c.origin.clone(),
        Operator::Console => Default::default(),
    };
    let (browser, platform) = crate::device::describe(origin.user_agent.as_deref());
    for _ in &ended {
        login_history::record_in(
            &mut change,
            &NewLoginEvent {
                event: "logout",
                reason: Some(reason),
                user_id: Some(&user.id),
                email: Some(&user.email),
                ip: origin.ip.as_deref(),
                browser: Some(browser),
                platform: Some(platform),
            },
        )
        .await?;
    }
    change
        .commit(
            &by.event(AuditAction::SessionEnd)
                .target("user", &user.id)
                .details(serde_json::json!({ "sessions": ended })),
        )
        .await?;
    Ok(ended)
}

/// Whether a person's sign-in is blocked after too many failures (from some address, or
/// everywhere), until when.
pub async fn blocked_until(svc: &Service, caller: &Caller, id: &UserId) -> Result<Option<i64>> {
    let user = person_for(svc, caller.into(), id).await?;
    Ok(throttle::blocked_until(&svc.db, &crate::account::attempt_key(&user.email), svc.now()).await?)
}

/// Lifts every block and count of failed sign-ins on a person (an administrator of people
/// ranking above them, or the console).
pub async fn unlock(svc: &Service, by: Operator<'_>, id: &UserId) -> Result<()> {
    if let Operator::User(c) = by {
        authorize(&c.actor, Action::ManagePeople, Resource::Instance)?;
        if c.actor.user_id == *id {
            return Err(Error::Forbidden("nobody unlocks their own account".into()));
        }
    }
    let user = person_for(svc, by, id).await?;
    let mut change = svc.change_by_operator(by).await?;
    let n = throttle::unlock(&mut change, &crate::account::attempt_key(&user.email)).await?;
    change
        .commit(
            &by.event(AuditAction::UserUnlock)
                .target("user", &user.id)
                .details(serde_json::json!({ "counters_cleared": n })),
        )
        .await?;
    Ok(())
}

/// The login history: one's own, or everyone's for administrators of the audit module.
pub async fn login_history(svc: &Service, caller: &Caller, mut filter: Filter) -> Result<Vec<LoginEvent>> {
    if filter.user_id.as_ref() != Some(&caller.actor.user_id) {
        authorize(&caller.actor, Action::ReadAudit, Resource::Instance)?;
    } else {
        authorize(&caller.actor, Action::ReadOwnAccount, Resource::Instance)?;
    }
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from >= to
    {
        return Err(Error::invalid("from must be before to"));
    }
    filter.limit = filter.limit.clamp(1, 10_000);
    Ok(login_history::list(&svc.db, &filter).await?)
}
