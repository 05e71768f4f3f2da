//! Erasing a person (GDPR art. 17): their account and everything that names them, in one
//! change. Their files go to a chosen person or are deleted; every other reference to them
//! becomes the transferee or the pseudonym; the audit events that name them are pseudonymised
//! (`docs/formats/audit-chain-v1.md` §6), so the chain still verifies.

use crate::audit::query::like_pattern;
use crate::change::Change;
use crate::content;
use crate::error::{Result, StoreError};
use crate::people::User;
use sqlx::Row;
use strongroom_core::Role;

/// What becomes of the files an erased person owns.
#[derive(Clone, Copy, Debug)]
pub enum FileFate<'a> {
    /// They (and everything else the person made) are recorded as made by this person.
    Transfer(&'a User),
    /// They are deleted, with every version (the bytes queued for deletion).
    Delete,
}

/// What an erasure did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Erased {
    /// The ids of the audit events it pseudonymised, in ascending order.
    #[serde(skip)]
    pub events: Vec<String>,
    pub files_transferred: u64,
    pub files_deleted: u64,
    pub links_deleted: u64,
    pub login_history_deleted: u64,
}

/// Erases `person` under `pseudonym`. `throttle_accounts` are the sign-in counters keyed by
/// their address (hashes the caller computes). The Owner cannot be erased.
pub async fn erase(
    c: &mut Change,
    person: &User,
    fate: FileFate<'_>,
    pseudonym: &str,
    throttle_accounts: &[String],
) -> Result<Erased> {
    if person.role == Role::Owner {
        return Err(StoreError::Conflict(
            "the Owner cannot be erased; transfer ownership first".into(),
        ));
    }
    let now = c.now();
    let id = person.id.as_str().to_string();
    let mut out = Erased::default();
    // Held for the change, and checked unchanged: an erasure decided on this person.
    crate::people::still_as_seen(c, person, None).await?;
    // Their sessions and tokens first: a change they started and hold a session for (an
    // upload, a new link) finishes before, and none starts after, so nothing of theirs is
    // made while their files are handed over.
    for sql in [
        "DELETE FROM sessions WHERE user_id = $1",
        "DELETE FROM api_tokens WHERE user_id = $1",
    ] {
        sqlx::query(sql).bind(id.clone()).execute(&mut *c.conn()).await?;
    }
    let heir = match fate {
        FileFate::Transfer(to) => {
            if to.id == person.id {
                return Err(StoreError::Conflict(
                    "files cannot be transferred to the person erased".into(),
                ));
            }
            crate::people::still_as_seen(c, to, None).await?;
            if !to.active {
                return Err(StoreError::Conflict("files can only go to an active person".into()));
            }
            out.files_transferred = sqlx::query("UPDATE files SET created_by = $1 WHERE created_by = $2")
                .bind(to.id.as_str().to_string())
                .bind(id.clone())
                .execute(&mut *c.conn())
                .await?
                .rows_affected();
            to.id.as_str().to_string()
        }
        FileFate::Delete => {
            let owned: Vec<String> = sqlx::query("SELECT id FROM files WHERE created_by = $1")
                .bind(id.clone())
                .fetch_all(&mut *c.conn())
                .await?
                .iter()
                .map(|r| r.try_get("id"))
                .collect::<std::result::Result<_, _>>()?;
            for f in &owned {
                content::delete_file_rows(c.conn(), f, now).await?;
            }
            out.files_deleted = owned.len() as u64;
            pseudonym.to_string()
        }
    };
    for table in ["rooms", "folders", "file_versions"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {table} SET created_by = $1 WHERE created_by = $2"
        )))
        .bind(heir.clone())
        .bind(id.clone())
        .execute(&mut *c.conn())
        .await?;
    }
    // Their links die with them (a link works only while its maker is active): none is
    // handed to someone who never decided it.
    sqlx::query("DELETE FROM link_sessions WHERE link_id IN (SELECT id FROM links WHERE created_by = $1)")
        .bind(id.clone())
        .execute(&mut *c.conn())
        .await?;
    out.links_deleted = sqlx::query("DELETE FROM links WHERE created_by = $1")
        .bind(id.clone())
        .execute(&mut *c.conn())
        .await?
        .rows_affected();
    let email = person.email.to_lowercase();
    for sql in [
        "DELETE FROM grants WHERE subject_kind = 'user' AND subject_id = $1",
        "DELETE FROM factor_challenges WHERE user_id = $1",
        "DELETE FROM backup_codes WHERE user_id = $1",
        "DELETE FROM password_resets WHERE user_id = $1",
        "DELETE FROM group_members WHERE user_id = $1",
        "DELETE FROM invitations WHERE invited_by = $1",
        "DELETE FROM usage_locks WHERE key = 'user:' || $1",
        "DELETE FROM alert_state WHERE subject = $1",
    ] {
        sqlx::query(sql).bind(id.clone()).execute(&mut *c.conn()).await?;
    }
    // A second factor's seed is a secret of its own, by the factor's id.
    sqlx::query(
        "DELETE FROM secrets WHERE name IN \
         (SELECT 'second_factor:totp:' || id FROM second_factors WHERE user_id = $1)",
    )
    .bind(id.clone())
    .execute(&mut *c.conn())
    .await?;
    sqlx::query("DELETE FROM second_factors WHERE user_id = $1")
        .bind(id.clone())
        .execute(&mut *c.conn())
        .await?;
    sqlx::query("DELETE FROM invitations WHERE email = $1")
        .bind(email.clone())
        .execute(&mut *c.conn())
        .await?;
    // A passkey ceremony under way names the person in its state.
    sqlx::query("DELETE FROM passkey_ceremonies WHERE LOWER(ceremony) LIKE $1 ESCAPE '\\' OR LOWER(ceremony) LIKE $2 ESCAPE '\\'")
        .bind(like_pattern(&id))
        .bind(like_pattern(&email))
        .execute(&mut *c.conn())
        .await?;
    out.login_history_deleted = sqlx::query("DELETE FROM login_history WHERE user_id = $1 OR LOWER(email) = $2")
        .bind(id.clone())
        .bind(email.clone())
        .execute(&mut *c.conn())
        .await?
        .rows_affected();
    for account in throttle_accounts {
        sqlx::query("DELETE FROM login_throttle WHERE account = $1")
            .bind(account.clone())
            .execute(&mut *c.conn())
            .await?;
    }
    out.events = crate::audit::erase::pseudonymise(c, person, pseudonym).await?;
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(&mut *c.conn())
        .await?;
    Ok(out)
}

/// After an erasure on SQLite: the write-ahead log copied into the database and emptied, so
/// the erased rows' old pages do not linger in it (`secure_delete` zeroes them in the file).
pub async fn flush(db: &crate::Db) -> Result<()> {
    if db.backend == crate::Backend::Sqlite {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&db.pool).await?;
    }
    Ok(())
}

/// Whether a text has the shape of an erasure pseudonym (`erased-` and 24 hex digits).
pub fn is_pseudonym(s: &str) -> bool {
    s.len() == 31 && s.starts_with("erased-") && s[7..].bytes().all(|b| b.is_ascii_hexdigit())
}
