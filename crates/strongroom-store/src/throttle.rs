//! The brute-force limit on sign-in: failed attempts counted in the database per account and
//! per (account, client address), so every node sees the same count and one attacker behind
//! an office's NAT locks only the accounts they guess at from there, and only from there.
//!
//! An attempt is counted *before* its password is checked, and counting and refusing are one
//! statement per key: parallel guesses each use up one attempt, so no more than the limit
//! are ever checked in a period, however many arrive at once. A right password clears the
//! count for its (account, address). The periods are fixed windows: around a window's end
//! up to twice the limit can be checked within one period's length (the block, at least a
//! period long, follows either way).

use crate::db::Db;
use crate::error::Result;
use sqlx::Row;

/// How many attempts, in what period, block for how long.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Attempts one (account, address) may make in a period.
    pub per_address: i64,
    /// Attempts an account may take from all addresses together in a period.
    pub per_account: i64,
    pub period_ms: i64,
    pub block_ms: i64,
}

/// The keys an attempt counts under. `account` is a hash of the normalised e-mail address.
fn keys(account: &str, address: &str) -> [String; 2] {
    [format!("a:{account}"), format!("p:{account}|{address}")]
}

/// Counts one attempt on `account` from `address`. `Ok(())`: its password may be checked;
/// `Err(until)`: blocked until then (nothing was counted).
pub async fn begin_attempt(
    db: &Db,
    account: &str,
    address: &str,
    limits: Limits,
    now: i64,
) -> Result<std::result::Result<(), i64>> {
    let [account_key, pair_key] = keys(account, address);
    let mut tx = db.pool.begin().await?;
    // The pair first: guesses from one address that its own limit stops do not count against
    // the account, or one attacker could still lock its holder out everywhere.
    for (key, limit) in [(pair_key, limits.per_address), (account_key, limits.per_account)] {
        let key = key.as_str();
        // While blocked, nothing is counted. A period starts afresh when the last one, or the
        // block, is over. The attempt past the limit blocks the key.
        let row = sqlx::query(
            "INSERT INTO login_throttle (key, account, window_start, attempts, blocked_until) VALUES ($1, $2, $3, 1, NULL) \
             ON CONFLICT (key) DO UPDATE SET \
               attempts = CASE WHEN login_throttle.blocked_until > $3 THEN login_throttle.attempts \
                               WHEN login_throttle.window_start <= $4 OR login_throttle.blocked_until <= $3 THEN 1 \
                               ELSE login_throttle.attempts + 1 END, \
               window_start = CASE WHEN login_throttle.blocked_until > $3 THEN login_throttle.window_start \
                                   WHEN login_throttle.window_start <= $4 OR login_throttle.blocked_until <= $3 THEN $3 \
                                   ELSE login_throttle.window_start END, \
               blocked_until = CASE WHEN login_throttle.blocked_until > $3 THEN login_throttle.blocked_until \
                                    WHEN login_throttle.window_start <= $4 OR login_throttle.blocked_until <= $3 THEN NULL \
                                    WHEN login_throttle.attempts + 1 > $5 THEN $6 \
                                    ELSE NULL END \
             RETURNING blocked_until",
        )
        .bind(key.to_string())
        .bind(account.to_string())
        .bind(now)
        .bind(now - limits.period_ms)
        .bind(limit)
        .bind(now + limits.block_ms)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(until) = row.try_get::<Option<i64>, _>("blocked_until")?.filter(|u| *u > now) {
            if key.starts_with("a:") {
                // The account refused: the attempt counted on the pair is taken back (it was
                // not checked), so the holder's own retries do not block their address too.
                sqlx::query("UPDATE login_throttle SET attempts = attempts - 1 WHERE key = $1 AND attempts > 0")
                    .bind(keys(account, address)[1].clone())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            return Ok(Err(until));
        }
    }
    tx.commit().await?;
    Ok(Ok(()))
}

/// A right password from `address`, in the change that opens the session: its (account,
/// address) count starts again, and the attempt is taken back from the account's count
/// (guesses from elsewhere still count).
pub async fn succeeded(c: &mut crate::Change, account: &str, address: &str) -> Result<()> {
    let [account_key, pair_key] = keys(account, address);
    let tx = c.conn();
    sqlx::query("DELETE FROM login_throttle WHERE key = $1")
        .bind(pair_key)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE login_throttle SET attempts = attempts - 1 WHERE key = $1 AND attempts > 0 AND blocked_until IS NULL",
    )
    .bind(account_key)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Lifts every block and count on an account (an administrator's unlock). Gives how many
/// counters went.
pub async fn unlock(c: &mut crate::Change, account: &str) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM login_throttle WHERE account = $1")
        .bind(account.to_string())
        .execute(c.conn())
        .await?
        .rows_affected())
}

/// When the account is blocked until, from any address (none: it is not).
pub async fn blocked_until(db: &Db, account: &str, now: i64) -> Result<Option<i64>> {
    let row =
        sqlx::query("SELECT MAX(blocked_until) AS until FROM login_throttle WHERE account = $1 AND blocked_until > $2")
            .bind(account.to_string())
            .bind(now)
            .fetch_one(&db.read)
            .await?;
    Ok(row.try_get("until")?)
}

/// Deletes counters whose period and block are over (they would start afresh anyway).
pub async fn purge(db: &Db, now: i64, period_ms: i64) -> Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM login_throttle WHERE window_start <= $1 AND (blocked_until IS NULL OR blocked_until <= $2)",
    )
    .bind(now - period_ms)
    .bind(now)
    .execute(&db.pool)
    .await?
    .rows_affected())
}
