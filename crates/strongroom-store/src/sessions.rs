//! Sign-in state kept in the database, so any app node can check any session or token:
//! browser sessions, personal API tokens and the one-time setup token. Only SHA-256 hashes of
//! the secrets are stored; the secrets themselves are shown once and never kept.

use crate::change::Change;
use crate::db::Db;
use crate::error::{Result, StoreError};
use crate::people::User;
use serde::Serialize;
use sqlx::Row;
use strongroom_core::Scope;
use strongroom_core::ids::{RoomId, TokenId, UserId};

/// A browser session found by its secret's hash.
#[derive(Clone, Debug)]
pub struct SessionRow {
    pub user_id: UserId,
    pub csrf_hash: String,
    pub expires_at: i64,
}

pub struct NewSession<'a> {
    pub id_hash: &'a str,
    pub user_id: &'a UserId,
    pub csrf_hash: &'a str,
    pub expires_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub async fn create_session(c: &mut Change, s: NewSession<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, csrf_hash, created_at, expires_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(s.id_hash.to_string())
    .bind(s.user_id.as_str().to_string())
    .bind(s.csrf_hash.to_string())
    .bind(c.now())
    .bind(s.expires_at)
    .bind(s.ip)
    .bind(s.user_agent)
    .execute(c.conn())
    .await?;
    Ok(())
}

/// The live session with this hash; expired sessions are not returned.
pub async fn find_session(db: &Db, id_hash: &str, now: i64) -> Result<Option<SessionRow>> {
    let row = sqlx::query("SELECT user_id, csrf_hash, expires_at FROM sessions WHERE id_hash = $1 AND expires_at > $2")
        .bind(id_hash.to_string())
        .bind(now)
        .fetch_optional(&db.read)
        .await?;
    row.map(|r| {
        Ok(SessionRow {
            user_id: UserId::from_trusted(r.try_get("user_id")?),
            csrf_hash: r.try_get("csrf_hash")?,
            expires_at: r.try_get("expires_at")?,
        })
    })
    .transpose()
}

pub async fn delete_session(c: &mut Change, id_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash.to_string())
        .execute(c.conn())
        .await?;
    Ok(())
}

/// A personal API token as listed to its owner (never the secret).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    #[schema(value_type = String)]
    pub id: TokenId,
    pub name: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked: bool,
    /// Only reads (view, download, list): no change of anything.
    pub read_only: bool,
    /// Only this room (`null`: every room its user may reach).
    #[schema(value_type = Option<String>)]
    pub room_id: Option<RoomId>,
}

pub async fn create_token(
    c: &mut Change,
    user: &UserId,
    name: &str,
    token_hash: &str,
    expires_at: Option<i64>,
    scope: &Scope,
) -> Result<ApiToken> {
    let name = crate::people::check_name("token", name)?;
    let id = TokenId::generate();
    let now = c.now();
    sqlx::query(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, expires_at, read_only, room_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id.as_str().to_string())
    .bind(user.as_str().to_string())
    .bind(name.clone())
    .bind(token_hash.to_string())
    .bind(now)
    .bind(expires_at)
    .bind(i64::from(scope.read_only))
    .bind(scope.room.as_ref().map(|r| r.as_str().to_string()))
    .execute(c.conn())
    .await?;
    Ok(ApiToken {
        id,
        name,
        created_at: now,
        expires_at,
        revoked: false,
        read_only: scope.read_only,
        room_id: scope.room.clone(),
    })
}

/// The user a live (not expired, not revoked) token belongs to, and the token's scope, in
/// one query (every API request asks).
pub async fn find_token_user(db: &Db, token_hash: &str, now: i64) -> Result<Option<(User, Scope)>> {
    let cols: Vec<String> = crate::people::USER_COLS.split(", ").map(|c| format!("u.{c}")).collect();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {}, t.read_only, t.room_id AS scope_room FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)",
        cols.join(", ")
    )))
    .bind(token_hash.to_string())
    .bind(now)
    .fetch_optional(&db.read)
    .await?;
    row.map(|r| {
        let scope = Scope {
            read_only: crate::db::flag(&r, "read_only")?,
            room: r.try_get::<Option<String>, _>("scope_room")?.map(RoomId::from_trusted),
        };
        Ok((crate::people::user_from_row(&r)?, scope))
    })
    .transpose()
}

pub async fn list_tokens(db: &Db, user: &UserId) -> Result<Vec<ApiToken>> {
    let rows = sqlx::query(
        "SELECT id, name, created_at, expires_at, revoked_at, read_only, room_id FROM api_tokens WHERE user_id = $1 ORDER BY created_at",
    )
    .bind(user.as_str().to_string())
    .fetch_all(&db.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ApiToken {
                id: TokenId::from_trusted(r.try_get("id")?),
                name: r.try_get("name")?,
                created_at: r.try_get("created_at")?,
                expires_at: r.try_get("expires_at")?,
                revoked: r.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
                read_only: crate::db::flag(r, "read_only")?,
                room_id: r.try_get::<Option<String>, _>("room_id")?.map(RoomId::from_trusted),
            })
        })
        .collect()
}

/// Revokes one of `user`'s tokens.
pub async fn revoke_token(c: &mut Change, user: &UserId, id: &TokenId) -> Result<()> {
    let r = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
        .bind(c.now())
        .bind(id.as_str().to_string())
        .bind(user.as_str().to_string())
        .execute(c.conn())
        .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound("token"));
    }
    Ok(())
}

pub async fn create_setup_token(db: &Db, token_hash: &str, now: i64, expires_at: i64) -> Result<()> {
    sqlx::query("INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)")
        .bind(token_hash.to_string())
        .bind(now)
        .bind(expires_at)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Whether a setup token is live (without spending it).
pub async fn setup_token_valid(db: &Db, token_hash: &str, now: i64) -> Result<bool> {
    Ok(
        sqlx::query("SELECT token_hash FROM setup_tokens WHERE token_hash = $1 AND expires_at > $2")
            .bind(token_hash.to_string())
            .bind(now)
            .fetch_optional(&db.pool)
            .await?
            .is_some(),
    )
}

/// Spends a setup token: true if it existed and was live. Every setup token goes with it,
/// since setup happens once (and the Owner it creates commits in the same change).
pub async fn consume_setup_token(c: &mut Change, token_hash: &str) -> Result<bool> {
    let now = c.now();
    let tx = c.conn();
    let found = sqlx::query("SELECT token_hash FROM setup_tokens WHERE token_hash = $1 AND expires_at > $2")
        .bind(token_hash.to_string())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if found {
        sqlx::query("DELETE FROM setup_tokens").execute(&mut *tx).await?;
    }
    Ok(found)
}

/// Deletes expired sessions, link sessions and setup tokens (API tokens stay listed, as
/// expired, for their owner). Returns how many rows went.
pub async fn purge_expired(db: &Db, now: i64) -> Result<u64> {
    let mut n = 0;
    for sql in [
        "DELETE FROM sessions WHERE expires_at <= $1",
        "DELETE FROM link_sessions WHERE expires_at <= $1",
        "DELETE FROM setup_tokens WHERE expires_at <= $1",
    ] {
        n += sqlx::query(sql).bind(now).execute(&db.pool).await?.rows_affected();
    }
    Ok(n)
}

/// How a request signed in, as stored: checked again inside the request's change.
pub enum SignIn<'a> {
    /// SHA-256 (hex) of the session secret.
    Session(&'a str),
    /// SHA-256 (hex) of the API token.
    Token(&'a str),
    /// SHA-256 (hex) of an external link's session: the session and its link are both live.
    LinkSession(&'a str),
}

/// Whether the sign-in a change is made through still holds at the change's time: the session
/// or token alive and its person active, or the link live and its maker active. Checked
/// inside the change, on rows it locks (an `UPDATE` that changes nothing), so a password
/// reset, a disable or a revocation that commits first makes it refuse, and one that commits
/// after it also ends what the change created (a new token, a session).
pub async fn still_signed_in(c: &mut Change, how: SignIn<'_>) -> Result<bool> {
    let (sql, key) = match how {
        SignIn::Session(h) => (
            "UPDATE sessions SET id_hash = id_hash WHERE id_hash = $1 AND expires_at > $2 \
             AND user_id IN (SELECT id FROM users WHERE active = 1)",
            h.to_string(),
        ),
        SignIn::Token(h) => (
            "UPDATE api_tokens SET token_hash = token_hash WHERE token_hash = $1 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $2) AND user_id IN (SELECT id FROM users WHERE active = 1)",
            h.to_string(),
        ),
        SignIn::LinkSession(hash) => (
            "UPDATE links SET id = id WHERE id = (SELECT link_id FROM link_sessions WHERE id_hash = $1 AND expires_at > $2) \
             AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) \
             AND created_by IN (SELECT id FROM users WHERE active = 1)",
            hash.to_string(),
        ),
    };
    let now = c.now();
    Ok(sqlx::query(sql)
        .bind(key)
        .bind(now)
        .execute(c.conn())
        .await?
        .rows_affected()
        == 1)
}
