//! The passkey ceremonies of passwordless sign-ins (WebAuthn), which name nobody until the
//! passkey does: the state an authenticator's answer is checked against, kept in the
//! database so any node finishes a ceremony another started. A ceremony is taken by one
//! delete, so it is used once whatever the outcome.

use crate::db::Db;
use crate::error::Result;
use sqlx::Row;

/// Records a ceremony under the hash of the secret the client holds.
pub async fn create(db: &Db, id_hash: &str, ceremony: &str, now: i64, expires_at: i64) -> Result<()> {
    sqlx::query("INSERT INTO passkey_ceremonies (id_hash, ceremony, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(id_hash.to_string())
        .bind(ceremony.to_string())
        .bind(now)
        .bind(expires_at)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Takes a live ceremony: its state, to the one request that deleted it (none if unknown,
/// expired, or taken by another request first).
pub async fn take(db: &Db, id_hash: &str, now: i64) -> Result<Option<String>> {
    let row = sqlx::query("SELECT ceremony FROM passkey_ceremonies WHERE id_hash = $1 AND expires_at > $2")
        .bind(id_hash.to_string())
        .bind(now)
        .fetch_optional(&db.pool)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let ceremony: String = row.try_get("ceremony")?;
    let taken = sqlx::query("DELETE FROM passkey_ceremonies WHERE id_hash = $1 AND expires_at > $2")
        .bind(id_hash.to_string())
        .bind(now)
        .execute(&db.pool)
        .await?
        .rows_affected()
        == 1;
    Ok(taken.then_some(ceremony))
}

/// Deletes the expired ceremonies; gives how many.
pub async fn purge(db: &Db, now: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM passkey_ceremonies WHERE expires_at <= $1")
        .bind(now)
        .execute(&db.pool)
        .await?
        .rows_affected())
}
