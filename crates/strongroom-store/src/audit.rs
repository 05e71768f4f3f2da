//! The audit trail's one writer: nothing else inserts into `audit_events`. A change writes its
//! event in its own transaction ([`crate::change::Change::commit`]); an event that changes
//! nothing (a download, a view, a refused sign-in) is written alone by [`record`].

use crate::db::Db;
use crate::error::Result;
use serde::Serialize;
use sqlx::{AnyConnection, Row};
use strongroom_core::audit::AuditEvent;

/// Appends one event that changes nothing else. Failure to audit is an error the caller must
/// not ignore.
pub async fn record(db: &Db, e: &AuditEvent, now: i64) -> Result<()> {
    let mut conn = db.pool.acquire().await?;
    insert(&mut conn, e, now).await?;
    log(e);
    Ok(())
}

/// Writes one event on a connection (inside the caller's transaction, if any).
pub(crate) async fn insert(conn: &mut AnyConnection, e: &AuditEvent, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_events (id, at, action, module, outcome, actor_id, actor_email, target_kind, target_id, ip, user_agent, request_id, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(now)
    .bind(e.action.name())
    .bind(e.action.module())
    .bind(e.outcome.as_str())
    .bind(e.actor_id.clone())
    .bind(e.actor_email.clone())
    .bind(e.target_kind.map(str::to_string))
    .bind(e.target_id.clone())
    .bind(e.origin.ip.clone())
    .bind(e.origin.user_agent.clone())
    .bind(e.origin.request_id.clone())
    .bind(e.details.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Mirrors a written event to the structured log (never its details: they may name files).
pub(crate) fn log(e: &AuditEvent) {
    tracing::info!(target: "audit", action = e.action.name(), outcome = e.outcome.as_str(), actor = e.actor_email.as_deref(), target_id = e.target_id.as_deref(), "audit event");
}

/// An audit event as read back.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: String,
    pub at: i64,
    pub action: String,
    pub module: String,
    pub outcome: String,
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// What the event records beyond its columns; `null` when nothing.
    #[schema(value_type = Option<Object>)]
    pub details: serde_json::Value,
}

/// Newest first, optionally only one action, at most `limit`.
pub async fn list(db: &Db, action: Option<&str>, limit: i64) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query(
        "SELECT id, at, action, module, outcome, actor_id, actor_email, target_kind, target_id, ip, user_agent, request_id, details \
         FROM audit_events WHERE ($1 = '' OR action = $1) ORDER BY at DESC, id DESC LIMIT $2",
    )
    .bind(action.unwrap_or("").to_string())
    .bind(limit)
    .fetch_all(&db.read)
    .await?;
    rows.iter()
        .map(|r| {
            let details: String = r.try_get("details")?;
            Ok(AuditEntry {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                action: r.try_get("action")?,
                module: r.try_get("module")?,
                outcome: r.try_get("outcome")?,
                actor_id: r.try_get("actor_id")?,
                actor_email: r.try_get("actor_email")?,
                target_kind: r.try_get("target_kind")?,
                target_id: r.try_get("target_id")?,
                ip: r.try_get("ip")?,
                user_agent: r.try_get("user_agent")?,
                request_id: r.try_get("request_id")?,
                details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
            })
        })
        .collect()
}
