//! Second factors kept in the database, so any node checks any of them: the factors
//! themselves (authenticator apps, phones, passkeys), backup codes (hashed), and the
//! challenges that wait for a factor (sign-ins, step-ups, phone confirmations). What must
//! hold across nodes is decided by the database: a TOTP step is used once through a
//! conditional update, a backup code and a challenge are spent by one delete.

use crate::change::Change;
use crate::db::Db;
use crate::error::{Result, StoreError};
use sqlx::Row;
use strongroom_core::ids::{FactorId, UserId};

/// One second factor of a person.
#[derive(Clone, Debug)]
pub struct Factor {
    pub id: FactorId,
    pub user_id: UserId,
    /// `totp`, `sms` or `passkey`.
    pub kind: String,
    pub label: String,
    /// `sms`: the number, E.164.
    pub phone: Option<String>,
    /// `passkey`: the credential as webauthn-rs keeps it (JSON).
    pub credential: Option<String>,
    pub confirmed_at: Option<i64>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

pub struct NewFactor<'a> {
    pub user_id: &'a UserId,
    pub kind: &'a str,
    pub label: &'a str,
    pub phone: Option<&'a str>,
    pub credential: Option<&'a str>,
    /// Confirmed at once (a passkey, whose ceremony was its confirmation).
    pub confirmed: bool,
}

const COLS: &str = "id, user_id, kind, label, phone, credential, confirmed_at, created_at, last_used_at";

fn factor_from_row(r: &sqlx::any::AnyRow) -> Result<Factor> {
    Ok(Factor {
        id: FactorId::from_trusted(r.try_get("id")?),
        user_id: UserId::from_trusted(r.try_get("user_id")?),
        kind: r.try_get("kind")?,
        label: r.try_get("label")?,
        phone: r.try_get("phone")?,
        credential: r.try_get("credential")?,
        confirmed_at: r.try_get("confirmed_at")?,
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
    })
}

/// Adds a factor (pending unless `confirmed`).
pub async fn add(c: &mut Change, f: NewFactor<'_>) -> Result<Factor> {
    let id = FactorId::generate();
    let now = c.now();
    let confirmed_at = f.confirmed.then_some(now);
    sqlx::query(
        "INSERT INTO second_factors (id, user_id, kind, label, phone, credential, confirmed_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id.as_str().to_string())
    .bind(f.user_id.as_str().to_string())
    .bind(f.kind.to_string())
    .bind(f.label.to_string())
    .bind(f.phone.map(str::to_string))
    .bind(f.credential.map(str::to_string))
    .bind(confirmed_at)
    .bind(now)
    .execute(c.conn())
    .await?;
    Ok(Factor {
        id,
        user_id: f.user_id.clone(),
        kind: f.kind.into(),
        label: f.label.into(),
        phone: f.phone.map(str::to_string),
        credential: f.credential.map(str::to_string),
        confirmed_at,
        created_at: now,
        last_used_at: None,
    })
}

/// Every factor of a person, pending ones too, oldest first.
pub async fn list(db: &Db, user: &UserId) -> Result<Vec<Factor>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM second_factors WHERE user_id = $1 ORDER BY created_at, id"
    )))
    .bind(user.as_str().to_string())
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(factor_from_row).collect()
}

/// One factor of a person.
pub async fn get(db: &Db, user: &UserId, id: &FactorId) -> Result<Factor> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM second_factors WHERE id = $1 AND user_id = $2"
    )))
    .bind(id.as_str().to_string())
    .bind(user.as_str().to_string())
    .fetch_optional(&db.read)
    .await?
    .ok_or(StoreError::NotFound("second factor"))?;
    factor_from_row(&row)
}

/// Marks a pending factor confirmed. False: it was not pending (confirmed already, or gone).
pub async fn confirm(c: &mut Change, user: &UserId, id: &FactorId) -> Result<bool> {
    let now = c.now();
    Ok(sqlx::query(
        "UPDATE second_factors SET confirmed_at = $1, last_used_at = $1 WHERE id = $2 AND user_id = $3 AND confirmed_at IS NULL",
    )
    .bind(now)
    .bind(id.as_str().to_string())
    .bind(user.as_str().to_string())
    .execute(c.conn())
    .await?
    .rows_affected()
        == 1)
}

/// Removes one factor of a person. False: no such factor of theirs.
pub async fn remove(c: &mut Change, user: &UserId, id: &FactorId) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM second_factors WHERE id = $1 AND user_id = $2")
        .bind(id.as_str().to_string())
        .bind(user.as_str().to_string())
        .execute(c.conn())
        .await?
        .rows_affected()
        == 1)
}

/// Removes every factor, backup code and waiting challenge of a person (a reset); gives the
/// ids of the factors removed (their sealed seeds are the caller's to delete).
pub async fn remove_all(c: &mut Change, user: &UserId) -> Result<Vec<FactorId>> {
    let u = user.as_str().to_string();
    let tx = c.conn();
    let ids: Vec<String> = sqlx::query("SELECT id FROM second_factors WHERE user_id = $1 ORDER BY created_at")
        .bind(u.clone())
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<std::result::Result<_, _>>()?;
    for table in ["second_factors", "backup_codes", "factor_challenges"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE user_id = $1")))
            .bind(u.clone())
            .execute(&mut *tx)
            .await?;
    }
    Ok(ids.into_iter().map(FactorId::from_trusted).collect())
}

/// Spends TOTP step `step` of a factor: true if no code of this step or a later one was
/// accepted before. One conditional update, so of two nodes checking the same code at once
/// exactly one wins.
pub async fn use_step(c: &mut Change, id: &FactorId, step: u64) -> Result<bool> {
    let step = i64::try_from(step).map_err(|_| StoreError::Invalid("time step out of range".into()))?;
    let now = c.now();
    Ok(
        sqlx::query("UPDATE second_factors SET last_step = $1, last_used_at = $2 WHERE id = $3 AND last_step < $1")
            .bind(step)
            .bind(now)
            .bind(id.as_str().to_string())
            .execute(c.conn())
            .await?
            .rows_affected()
            == 1,
    )
}

/// Notes that a factor was used now (and for a passkey, its new signature counter). False:
/// the factor is gone (removed or reset meanwhile), and nothing may rest on it.
pub async fn used(c: &mut Change, id: &FactorId, credential: Option<&str>) -> Result<bool> {
    let now = c.now();
    Ok(sqlx::query(
        "UPDATE second_factors SET last_used_at = $1, credential = COALESCE($2, credential) WHERE id = $3 AND confirmed_at IS NOT NULL",
    )
    .bind(now)
    .bind(credential.map(str::to_string))
    .bind(id.as_str().to_string())
    .execute(c.conn())
    .await?
    .rows_affected()
        == 1)
}

/// The passkey whose credential id (base64url, as stored in its JSON) this is, of anyone:
/// for a passwordless sign-in, which names no person until the passkey does.
pub async fn passkeys(db: &Db, user: Option<&UserId>) -> Result<Vec<Factor>> {
    let rows =
        match user {
            Some(u) => sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLS} FROM second_factors WHERE kind = 'passkey' AND confirmed_at IS NOT NULL AND user_id = $1"
            )))
            .bind(u.as_str().to_string())
            .fetch_all(&db.pool)
            .await?,
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLS} FROM second_factors WHERE kind = 'passkey' AND confirmed_at IS NOT NULL"
                )))
                .fetch_all(&db.pool)
                .await?
            }
        };
    rows.iter().map(factor_from_row).collect()
}

/// Replaces a person's backup codes with these hashes.
pub async fn replace_backup_codes(c: &mut Change, user: &UserId, hashes: &[String]) -> Result<()> {
    let now = c.now();
    let u = user.as_str().to_string();
    let tx = c.conn();
    sqlx::query("DELETE FROM backup_codes WHERE user_id = $1")
        .bind(u.clone())
        .execute(&mut *tx)
        .await?;
    for h in hashes {
        sqlx::query("INSERT INTO backup_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)")
            .bind(u.clone())
            .bind(h.clone())
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Spends a backup code: true if it was the person's and unused. The same code sent twice
/// at once is spent by one of them only.
pub async fn use_backup_code(c: &mut Change, user: &UserId, hash: &str) -> Result<bool> {
    let now = c.now();
    Ok(
        sqlx::query("UPDATE backup_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL")
            .bind(now)
            .bind(user.as_str().to_string())
            .bind(hash.to_string())
            .execute(c.conn())
            .await?
            .rows_affected()
            == 1,
    )
}

/// How many unused backup codes a person has.
pub async fn backup_codes_left(db: &Db, user: &UserId) -> Result<i64> {
    Ok(
        sqlx::query("SELECT COUNT(*) AS n FROM backup_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user.as_str().to_string())
            .fetch_one(&db.read)
            .await?
            .try_get("n")?,
    )
}

/// Something waiting for a second factor.
#[derive(Clone, Debug)]
pub struct Challenge {
    pub id_hash: String,
    pub user_id: UserId,
    /// `sign_in`, `step_up` or `confirm`.
    pub purpose: String,
    pub password_hash: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub attempts: i64,
    pub sms_factor_id: Option<FactorId>,
    pub sms_code_hash: Option<String>,
    pub sms_expires_at: Option<i64>,
    /// A passkey ceremony's state (webauthn-rs's, JSON).
    pub ceremony: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub struct NewChallenge<'a> {
    pub id_hash: &'a str,
    pub user_id: &'a UserId,
    pub purpose: &'a str,
    pub password_hash: Option<&'a str>,
    pub expires_at: i64,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// Records a challenge (one with the same hash is replaced: a step-up or a phone
/// confirmation asked again starts over).
pub async fn create_challenge(db: &Db, ch: NewChallenge<'_>, now: i64) -> Result<()> {
    let mut tx = db.pool.begin().await?;
    sqlx::query("DELETE FROM factor_challenges WHERE id_hash = $1")
        .bind(ch.id_hash.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO factor_challenges (id_hash, user_id, purpose, password_hash, created_at, expires_at, ip, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(ch.id_hash.to_string())
    .bind(ch.user_id.as_str().to_string())
    .bind(ch.purpose.to_string())
    .bind(ch.password_hash.map(str::to_string))
    .bind(now)
    .bind(ch.expires_at)
    .bind(ch.ip.map(str::to_string))
    .bind(ch.user_agent.map(str::to_string))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A live challenge by its hash.
pub async fn find_challenge(db: &Db, id_hash: &str, now: i64) -> Result<Option<Challenge>> {
    let row = sqlx::query(
        "SELECT id_hash, user_id, purpose, password_hash, created_at, expires_at, attempts, sms_factor_id, \
         sms_code_hash, sms_expires_at, ceremony, ip, user_agent FROM factor_challenges WHERE id_hash = $1 AND expires_at > $2",
    )
    .bind(id_hash.to_string())
    .bind(now)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(Challenge {
            id_hash: r.try_get("id_hash")?,
            user_id: UserId::from_trusted(r.try_get("user_id")?),
            purpose: r.try_get("purpose")?,
            password_hash: r.try_get("password_hash")?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
            attempts: r.try_get("attempts")?,
            sms_factor_id: r
                .try_get::<Option<String>, _>("sms_factor_id")?
                .map(FactorId::from_trusted),
            sms_code_hash: r.try_get("sms_code_hash")?,
            sms_expires_at: r.try_get("sms_expires_at")?,
            ceremony: r.try_get("ceremony")?,
            ip: r.try_get("ip")?,
            user_agent: r.try_get("user_agent")?,
        })
    })
    .transpose()
}

/// Counts one attempt at a challenge before its code is checked (committed on its own, so a
/// failed check cannot roll it back): false once `max` attempts were made, and the
/// challenge is then spent.
pub async fn count_attempt(db: &Db, id_hash: &str, max: i64) -> Result<bool> {
    let counted =
        sqlx::query("UPDATE factor_challenges SET attempts = attempts + 1 WHERE id_hash = $1 AND attempts < $2")
            .bind(id_hash.to_string())
            .bind(max)
            .execute(&db.pool)
            .await?
            .rows_affected()
            == 1;
    if !counted {
        delete_challenge(db, id_hash).await?;
    }
    Ok(counted)
}

/// Stores the hash of the SMS code just sent for a challenge (the one sent before stops
/// counting).
pub async fn set_sms_code(db: &Db, id_hash: &str, factor: &FactorId, code_hash: &str, expires_at: i64) -> Result<()> {
    sqlx::query(
        "UPDATE factor_challenges SET sms_factor_id = $1, sms_code_hash = $2, sms_expires_at = $3 WHERE id_hash = $4",
    )
    .bind(factor.as_str().to_string())
    .bind(code_hash.to_string())
    .bind(expires_at)
    .bind(id_hash.to_string())
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Stores a passkey ceremony's state with its challenge.
pub async fn set_ceremony(db: &Db, id_hash: &str, state: &str) -> Result<()> {
    sqlx::query("UPDATE factor_challenges SET ceremony = $1 WHERE id_hash = $2")
        .bind(state.to_string())
        .bind(id_hash.to_string())
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Spends a challenge inside the change it ends in: true if it was live. Sent twice at
/// once, one of them only spends it.
pub async fn take_challenge(c: &mut Change, id_hash: &str) -> Result<bool> {
    let now = c.now();
    Ok(
        sqlx::query("DELETE FROM factor_challenges WHERE id_hash = $1 AND expires_at > $2")
            .bind(id_hash.to_string())
            .bind(now)
            .execute(c.conn())
            .await?
            .rows_affected()
            == 1,
    )
}

/// Deletes a challenge outside any change.
pub async fn delete_challenge(db: &Db, id_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM factor_challenges WHERE id_hash = $1")
        .bind(id_hash.to_string())
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Deletes expired challenges.
pub async fn purge(db: &Db, now: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM factor_challenges WHERE expires_at <= $1")
        .bind(now)
        .execute(&db.pool)
        .await?
        .rows_affected())
}
