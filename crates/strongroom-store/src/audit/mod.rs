//! The audit trail's one writer: nothing else inserts into `audit_events`. A change writes its
//! events in its own transaction ([`crate::change::Change::commit`]); an event that changes
//! nothing (a download, a view, a refused sign-in) is written alone by [`record`].
//!
//! The trail is a hash chain (`docs/formats/audit-chain-v1.md`): each event's place (`seq`)
//! and the hash before it come from the one `audit_chain` row, updated in the same
//! transaction, so its lock orders appends from every node and a change that rolls back
//! leaves no gap. [`seal`] signs the head from time to time; [`verify`] walks it.

pub mod chain;
pub mod erase;
pub mod query;
pub mod report;
pub mod seal;
pub mod siem;
mod target;
pub mod verify;

use crate::db::Db;
use crate::error::{Result, StoreError};
use chain::{Frame, Personal};
use rand::RngCore;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use strongroom_core::audit::{AuditAction, AuditEvent};

pub use query::{AuditEntry, AuditFilter, AuditPage, list, search};

/// Appends one event that changes nothing else. Failure to audit is an error the caller must
/// not ignore.
pub async fn record(db: &Db, e: &AuditEvent, now: i64) -> Result<()> {
    let mut tx = db.pool.begin().await?;
    append(&mut tx, &[e], now).await?;
    tx.commit().await?;
    log(e);
    Ok(())
}

/// One event as the trail stores it: every column, as text and integers.
#[derive(Clone, Debug, Default)]
pub struct StoredEvent {
    pub seq: i64,
    pub id: String,
    pub at: i64,
    pub action: String,
    pub product: String,
    pub module: String,
    pub outcome: String,
    pub initiator: Option<String>,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub actor_email: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    pub target_path: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub route: Option<String>,
    pub request_id: Option<String>,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
    /// `None` once erasure has pseudonymised the event's personal data.
    pub personal_salt: Option<String>,
    pub personal_digest: String,
    /// The pseudonym that replaced the person this event named, once erased.
    pub erased_by: Option<String>,
}

/// The columns of [`StoredEvent`], in its order, for `SELECT`s.
pub const COLUMNS: &str = "seq, id, at, action, product, module, outcome, initiator, actor_id, actor_name, actor_email, \
     target_kind, target_id, target_name, target_path, ip, user_agent, route, request_id, details, prev_hash, hash, \
     personal_salt, personal_digest, erased_by";

impl StoredEvent {
    fn new(e: &AuditEvent, now: i64) -> StoredEvent {
        StoredEvent {
            seq: 0,
            id: uuid::Uuid::now_v7().to_string(),
            at: now,
            action: e.action.name().into(),
            product: e.action.product().into(),
            module: e.action.module().into(),
            outcome: e.outcome.as_str().into(),
            initiator: Some(e.initiator().as_str().into()),
            actor_id: e.actor_id.clone(),
            actor_name: e.actor_name.clone(),
            actor_email: e.actor_email.clone(),
            target_kind: e.target_kind.map(str::to_string),
            target_id: e.target_id.clone(),
            target_name: e.target_name.clone(),
            target_path: e.target_path.clone(),
            ip: e.origin.ip.clone(),
            user_agent: e.origin.user_agent.clone(),
            route: e.origin.route.clone(),
            request_id: e.origin.request_id.clone(),
            details: e.details.to_string(),
            ..StoredEvent::default()
        }
    }

    pub fn personal(&self) -> Personal<'_> {
        Personal {
            actor_id: &self.actor_id,
            actor_name: &self.actor_name,
            actor_email: &self.actor_email,
            target_id: &self.target_id,
            target_name: &self.target_name,
            target_path: &self.target_path,
            ip: &self.ip,
            user_agent: &self.user_agent,
            details: &self.details,
        }
    }

    pub fn frame<'a>(&'a self, personal_digest: &'a [u8; 32]) -> Frame<'a> {
        Frame {
            id: &self.id,
            at: self.at,
            action: &self.action,
            product: &self.product,
            module: &self.module,
            outcome: &self.outcome,
            initiator: &self.initiator,
            target_kind: &self.target_kind,
            route: &self.route,
            request_id: &self.request_id,
            personal_digest,
        }
    }

    /// Gives the event a fresh salt, its personal digest, its place after `prev` and its
    /// hash; returns the hash.
    fn link(&mut self, seq: i64, prev: &[u8; 32]) -> [u8; 32] {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let digest = chain::personal_digest(&salt, &self.personal());
        let hash = chain::event_hash(prev, &self.frame(&digest));
        self.seq = seq;
        self.personal_salt = Some(hex::encode(salt));
        self.personal_digest = hex::encode(digest);
        self.prev_hash = hex::encode(prev);
        self.hash = hex::encode(hash);
        hash
    }

    pub fn from_row(r: &AnyRow) -> Result<StoredEvent> {
        Ok(StoredEvent {
            seq: r.try_get("seq")?,
            id: r.try_get("id")?,
            at: r.try_get("at")?,
            action: r.try_get("action")?,
            product: r.try_get("product")?,
            module: r.try_get("module")?,
            outcome: r.try_get("outcome")?,
            initiator: r.try_get("initiator")?,
            actor_id: r.try_get("actor_id")?,
            actor_name: r.try_get("actor_name")?,
            actor_email: r.try_get("actor_email")?,
            target_kind: r.try_get("target_kind")?,
            target_id: r.try_get("target_id")?,
            target_name: r.try_get("target_name")?,
            target_path: r.try_get("target_path")?,
            ip: r.try_get("ip")?,
            user_agent: r.try_get("user_agent")?,
            route: r.try_get("route")?,
            request_id: r.try_get("request_id")?,
            details: r.try_get("details")?,
            prev_hash: r.try_get::<Option<String>, _>("prev_hash")?.unwrap_or_default(),
            hash: r.try_get::<Option<String>, _>("hash")?.unwrap_or_default(),
            personal_salt: r.try_get("personal_salt")?,
            personal_digest: r.try_get::<Option<String>, _>("personal_digest")?.unwrap_or_default(),
            erased_by: r.try_get("erased_by")?,
        })
    }
}

/// The chain's head, claimed for `n` events: their first place, the hash before it, and the
/// last place `audit_hours` has noted (migration 19).
struct Claim {
    first: i64,
    prev: [u8; 32],
    noted: i64,
}

/// Takes `n` places at the head of the chain, holding the head row's lock until the
/// transaction ends.
async fn claim(conn: &mut AnyConnection, n: i64) -> Result<Claim> {
    let row = sqlx::query(
        "UPDATE audit_chain SET head_seq = head_seq + $1 WHERE id = 1 RETURNING head_seq, head_hash, hours_seq",
    )
    .bind(n)
    .fetch_one(&mut *conn)
    .await?;
    let head: i64 = row.try_get("head_seq")?;
    let hash: String = row.try_get("head_hash")?;
    let prev = chain::parse_hash(&hash)
        .ok_or_else(|| StoreError::Corrupt("the audit chain's head hash is not a hash".into()))?;
    Ok(Claim {
        first: head - n + 1,
        prev,
        noted: row.try_get("hours_seq")?,
    })
}

/// Sets the head's hash once the claimed events are written (`last` the last of them), and
/// notes their hours, with any that a node of an older release wrote without noting them.
async fn close(conn: &mut AnyConnection, claim: &Claim, last: i64, hash: &[u8; 32]) -> Result<()> {
    note_hours(conn, claim.noted + 1, last).await?;
    sqlx::query("UPDATE audit_chain SET head_hash = $1, hours_seq = $2 WHERE id = 1")
        .bind(hex::encode(hash))
        .bind(last)
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes events at the head of the chain, on a connection inside the caller's transaction.
/// The targets are named before the head is claimed, so that its lock is held only for the
/// writing itself.
pub(crate) async fn append(conn: &mut AnyConnection, events: &[&AuditEvent], now: i64) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut rows = Vec::with_capacity(events.len());
    for e in events {
        let mut row = StoredEvent::new(e, now);
        target::name_target(conn, &mut row).await?;
        rows.push(row);
    }
    let claim = claim(conn, events.len() as i64).await?;
    let mut prev = claim.prev;
    for (seq, mut row) in (claim.first..).zip(rows) {
        forget_the_erased(conn, &mut row).await?;
        prev = row.link(seq, &prev);
        insert(conn, &row).await?;
    }
    close(conn, &claim, claim.first + events.len() as i64 - 1, &prev).await
}

/// Notes again from the events themselves where each hour of the trail lies (after a restore,
/// which loads the events but not this index of them).
pub async fn rebuild_hours(db: &Db) -> Result<()> {
    let mut tx = db.pool.begin().await?;
    sqlx::query("DELETE FROM audit_hours").execute(&mut *tx).await?;
    let head: i64 = sqlx::query("UPDATE audit_chain SET hours_seq = head_seq WHERE id = 1 RETURNING hours_seq")
        .fetch_one(&mut *tx)
        .await?
        .try_get("hours_seq")?;
    note_hours(&mut tx, 1, head).await?;
    tx.commit().await?;
    Ok(())
}

/// Records in `audit_hours` where the events at places `first..=last` lie, per hour they
/// are stamped in (migration 18): what a search with a date range bounds its places by.
async fn note_hours(conn: &mut AnyConnection, first: i64, last: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_hours (hour, first_seq, last_seq) \
         SELECT at / 3600000, MIN(seq), MAX(seq) FROM audit_events WHERE seq >= $1 AND seq <= $2 GROUP BY at / 3600000 \
         ON CONFLICT (hour) DO UPDATE SET \
         first_seq = CASE WHEN excluded.first_seq < audit_hours.first_seq THEN excluded.first_seq ELSE audit_hours.first_seq END, \
         last_seq = CASE WHEN excluded.last_seq > audit_hours.last_seq THEN excluded.last_seq ELSE audit_hours.last_seq END",
    )
    .bind(first)
    .bind(last)
    .execute(conn)
    .await?;
    Ok(())
}

/// An event built from what was read before a person's erasure committed, and appended after
/// it (a download that started just before), would name them again: under the chain's lock,
/// which the erasure held too, an actor or target person who no longer exists is left out
/// (their id, name, e-mail, and for an actor the address and browser).
async fn forget_the_erased(conn: &mut AnyConnection, row: &mut StoredEvent) -> Result<()> {
    let gone = async |conn: &mut AnyConnection, id: &Option<String>| -> Result<bool> {
        // People's ids are UUIDs; a link (`link:ID`) or a pseudonym is no person.
        let Some(id) = id.as_deref().filter(|i| strongroom_core::ids::UserId::parse(i).is_ok()) else {
            return Ok(false);
        };
        Ok(sqlx::query("SELECT 1 AS one FROM users WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await?
            .is_none())
    };
    if gone(conn, &row.actor_id).await? {
        (row.actor_id, row.actor_name, row.actor_email) = (None, None, None);
        (row.ip, row.user_agent) = (None, None);
    }
    if row.target_kind.as_deref() == Some("user") && gone(conn, &row.target_id).await? {
        (row.target_id, row.target_name, row.target_path) = (None, None, None);
    }
    Ok(())
}

async fn insert(conn: &mut AnyConnection, r: &StoredEvent) -> Result<()> {
    let q = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO audit_events ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
         $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)"
    )));
    r.bind(q).execute(conn).await?;
    Ok(())
}

impl StoredEvent {
    /// Binds the row's values in [`COLUMNS`] order (for an `INSERT … ({COLUMNS})`; the bulk
    /// load of bench/audit binds many rows into one).
    pub fn bind<'q>(
        &'q self,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        q.bind(self.seq)
            .bind(&self.id)
            .bind(self.at)
            .bind(&self.action)
            .bind(&self.product)
            .bind(&self.module)
            .bind(&self.outcome)
            .bind(&self.initiator)
            .bind(&self.actor_id)
            .bind(&self.actor_name)
            .bind(&self.actor_email)
            .bind(&self.target_kind)
            .bind(&self.target_id)
            .bind(&self.target_name)
            .bind(&self.target_path)
            .bind(&self.ip)
            .bind(&self.user_agent)
            .bind(&self.route)
            .bind(&self.request_id)
            .bind(&self.details)
            .bind(&self.prev_hash)
            .bind(&self.hash)
            .bind(&self.personal_salt)
            .bind(&self.personal_digest)
            .bind(&self.erased_by)
    }
}

/// Chains the events written before the trail was a chain, once, in the order they were
/// written (time, then id): run by the migration that made it one. Events without a place
/// found later are not chained: `audit verify` reports them as inserted.
pub(crate) async fn chain_legacy(conn: &mut AnyConnection) -> Result<()> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let done: i64 = sqlx::query("SELECT legacy_chained FROM audit_chain WHERE id = 1")
        .fetch_one(&mut *tx)
        .await?
        .try_get("legacy_chained")?;
    if done != 0 {
        return Ok(());
    }
    let rows = sqlx::query(
        "SELECT id, at, action, module, outcome, actor_id, actor_email, target_kind, target_id, ip, user_agent, request_id, details \
         FROM audit_events WHERE seq IS NULL ORDER BY at, id",
    )
    .fetch_all(&mut *tx)
    .await?;
    if !rows.is_empty() {
        tracing::info!(
            events = rows.len(),
            "chaining the audit events written before the audit chain"
        );
        let claim = claim(&mut tx, rows.len() as i64).await?;
        let mut prev = claim.prev;
        for (seq, r) in (claim.first..).zip(&rows) {
            let action: String = r.try_get("action")?;
            let product: String = r.try_get("module")?;
            let module = AuditAction::parse(&action).map_or_else(|| product.clone(), |a| a.module().to_string());
            let mut e = StoredEvent {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                action,
                product,
                module,
                outcome: r.try_get("outcome")?,
                actor_id: r.try_get("actor_id")?,
                actor_email: r.try_get("actor_email")?,
                target_kind: r.try_get("target_kind")?,
                target_id: r.try_get("target_id")?,
                ip: r.try_get("ip")?,
                user_agent: r.try_get("user_agent")?,
                request_id: r.try_get("request_id")?,
                details: r.try_get("details")?,
                ..StoredEvent::default()
            };
            prev = e.link(seq, &prev);
            sqlx::query(
                "UPDATE audit_events SET seq = $1, product = $2, module = $3, prev_hash = $4, hash = $5, personal_salt = $6, \
                 personal_digest = $7 WHERE id = $8",
            )
            .bind(e.seq)
            .bind(&e.product)
            .bind(&e.module)
            .bind(&e.prev_hash)
            .bind(&e.hash)
            .bind(&e.personal_salt)
            .bind(&e.personal_digest)
            .bind(&e.id)
            .execute(&mut *tx)
            .await?;
        }
        close(&mut tx, &claim, claim.first + rows.len() as i64 - 1, &prev).await?;
    }
    sqlx::query("UPDATE audit_chain SET legacy_chained = 1 WHERE id = 1")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Mirrors a written event to the structured log (never its details: they may name files).
pub(crate) fn log(e: &AuditEvent) {
    tracing::info!(target: "audit", action = e.action.name(), outcome = e.outcome.as_str(), actor = e.actor_email.as_deref(), target_id = e.target_id.as_deref(), "audit event");
}
