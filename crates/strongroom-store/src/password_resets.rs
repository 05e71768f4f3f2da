//! Password-reset links: single use, short-lived, stored as the SHA-256 of their secret.

use crate::change::Change;
use crate::error::Result;
use sqlx::Row;
use strongroom_core::ids::UserId;

/// Records a new reset link for `user`; earlier ones of theirs stop working.
pub async fn create(c: &mut Change, token_hash: &str, user: &UserId, expires_at: i64) -> Result<()> {
    let now = c.now();
    let tx = c.conn();
    sqlx::query("DELETE FROM password_resets WHERE user_id = $1")
        .bind(user.as_str().to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash.to_string())
        .bind(user.as_str().to_string())
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The person a live link is for, without spending it.
pub async fn peek(db: &crate::Db, token_hash: &str, now: i64) -> Result<Option<UserId>> {
    let row = sqlx::query("SELECT user_id FROM password_resets WHERE token_hash = $1 AND expires_at > $2")
        .bind(token_hash.to_string())
        .bind(now)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| Ok(UserId::from_trusted(r.try_get("user_id")?))).transpose()
}

/// Spends a live link, in the change that sets the new password: true if it was live (and
/// for `user`). A link used twice at once is spent by one of them only.
pub async fn take(c: &mut Change, token_hash: &str, user: &UserId) -> Result<bool> {
    let now = c.now();
    let tx = c.conn();
    let spent = sqlx::query("DELETE FROM password_resets WHERE token_hash = $1 AND user_id = $2 AND expires_at > $3")
        .bind(token_hash.to_string())
        .bind(user.as_str().to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if spent {
        sqlx::query("DELETE FROM password_resets WHERE user_id = $1")
            .bind(user.as_str().to_string())
            .execute(&mut *tx)
            .await?;
    }
    Ok(spent)
}

/// Deletes expired links.
pub async fn purge(db: &crate::Db, now: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM password_resets WHERE expires_at <= $1")
        .bind(now)
        .execute(&db.pool)
        .await?
        .rows_affected())
}
