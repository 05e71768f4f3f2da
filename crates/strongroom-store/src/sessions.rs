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

/// A browser session found by its secret's hash, with its person.
#[derive(Clone, Debug)]
pub struct SessionRow {
    pub id: String,
    /// SHA-256 (hex) of its secret: what requests are matched on (never shown).
    pub id_hash: String,
    pub user: User,
    pub csrf_hash: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The factors it was opened with, e.g. `password totp` (`password` for sessions from
    /// before second factors).
    pub factors: String,
    /// When a factor was last given for it (its sign-in or a step-up).
    pub verified_at: i64,
}

pub struct NewSession<'a> {
    pub id_hash: &'a str,
    pub user_id: &'a UserId,
    pub csrf_hash: &'a str,
    pub expires_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The factors it is opened with, space-separated (`password totp`).
    pub factors: &'a str,
}

/// A session's public id: from its secret's hash, which reveals nothing of the secret, so
/// its holder and administrators can name it without being able to use it.
pub fn public_id(id_hash: &str) -> String {
    format!("ses_{}", &id_hash[..id_hash.len().min(24)])
}

/// Whether `s` has the form of a session's public id.
pub fn is_public_id(s: &str) -> bool {
    s.len() == 28 && s.starts_with("ses_") && s[4..].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

pub async fn create_session(c: &mut Change, s: NewSession<'_>) -> Result<String> {
    let id = public_id(s.id_hash);
    let now = c.now();
    sqlx::query(
        "INSERT INTO sessions (id_hash, id, user_id, csrf_hash, created_at, last_seen_at, expires_at, ip, user_agent, factors, verified_at) \
         VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9, $5)",
    )
    .bind(s.id_hash.to_string())
    .bind(id.clone())
    .bind(s.user_id.as_str().to_string())
    .bind(s.csrf_hash.to_string())
    .bind(now)
    .bind(s.expires_at)
    .bind(s.ip)
    .bind(s.user_agent)
    .bind(s.factors.to_string())
    .execute(c.conn())
    .await?;
    Ok(id)
}

/// The session's columns, named apart from its person's (both have an id and a creation time).
/// A session written by a node still running an older release (during a rolling upgrade) has
/// no public id nor last use: they are derived as the migration derived them.
const SESSION_COLS: &str = "COALESCE(s.id, 'ses_' || substr(s.id_hash, 1, 24)) AS session_id, s.id_hash, s.csrf_hash, \
                            s.created_at AS session_created_at, COALESCE(s.last_seen_at, s.created_at) AS last_seen_at, \
                            s.expires_at, s.ip, s.user_agent, COALESCE(s.factors, 'password') AS factors, \
                            COALESCE(s.verified_at, s.created_at) AS verified_at";

fn session_from_row(r: &sqlx::any::AnyRow) -> Result<SessionRow> {
    Ok(SessionRow {
        id: r.try_get("session_id")?,
        id_hash: r.try_get("id_hash")?,
        user: crate::people::user_from_row(r)?,
        csrf_hash: r.try_get("csrf_hash")?,
        created_at: r.try_get("session_created_at")?,
        last_seen_at: r.try_get("last_seen_at")?,
        expires_at: r.try_get("expires_at")?,
        ip: r.try_get("ip")?,
        user_agent: r.try_get("user_agent")?,
        factors: r.try_get("factors")?,
        verified_at: r.try_get("verified_at")?,
    })
}

fn session_select(condition: &str) -> String {
    let user_cols: Vec<String> = crate::people::USER_COLS.split(", ").map(|c| format!("u.{c}")).collect();
    format!(
        "SELECT {SESSION_COLS}, {} FROM sessions s JOIN users u ON u.id = s.user_id WHERE {condition}",
        user_cols.join(", ")
    )
}

/// The session with this hash and its person, if it has not reached its stored end (the
/// lifetime and idle rules in force are the caller's to apply).
pub async fn find_session(db: &Db, id_hash: &str, now: i64) -> Result<Option<SessionRow>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(session_select(
        "s.id_hash = $1 AND s.expires_at > $2",
    )))
    .bind(id_hash.to_string())
    .bind(now)
    .fetch_optional(&db.read)
    .await?;
    row.map(|r| session_from_row(&r)).transpose()
}

/// Every session of a person, oldest first.
pub async fn list_sessions(db: &Db, user: &UserId, now: i64) -> Result<Vec<SessionRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{} ORDER BY s.created_at",
        session_select("s.user_id = $1 AND s.expires_at > $2")
    )))
    .bind(user.as_str().to_string())
    .bind(now)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(session_from_row).collect()
}

/// Sessions past their stored end, their lifetime or their idle time (at most `limit`).
pub async fn list_expired(db: &Db, now: i64, lifetime_ms: i64, idle_ms: i64, limit: i64) -> Result<Vec<SessionRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{} LIMIT $4",
        session_select(
            "s.expires_at <= $1 OR s.created_at <= $1 - $2 OR COALESCE(s.last_seen_at, s.created_at) <= $1 - $3"
        )
    )))
    .bind(now)
    .bind(lifetime_ms)
    .bind(idle_ms)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(session_from_row).collect()
}

/// Notes that a session was used now, at most once a minute (the idle timeout counts from
/// this), so a busy session does not write on every request.
pub async fn touch(db: &Db, id_hash: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2 AND COALESCE(last_seen_at, 0) < $3")
        .bind(now)
        .bind(id_hash.to_string())
        .bind(now - 60_000)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Notes that a factor was just given for a session (a step-up), adding it to the session's
/// factors if it is new to it.
pub async fn verified(c: &mut Change, id_hash: &str, factor: &str) -> Result<bool> {
    let now = c.now();
    let tx = c.conn();
    let row = sqlx::query("SELECT COALESCE(factors, 'password') AS factors FROM sessions WHERE id_hash = $1")
        .bind(id_hash.to_string())
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else { return Ok(false) };
    let mut factors: String = row.try_get("factors")?;
    if !factors.split(' ').any(|f| f == factor) {
        factors = format!("{factors} {factor}");
    }
    Ok(
        sqlx::query("UPDATE sessions SET verified_at = $1, factors = $2 WHERE id_hash = $3")
            .bind(now)
            .bind(factors)
            .bind(id_hash.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1,
    )
}

pub async fn delete_session(c: &mut Change, id_hash: &str) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash.to_string())
        .execute(c.conn())
        .await?
        .rows_affected()
        == 1)
}

/// Ends a session that outlived its lifetime or idle time, with its row in the login history,
/// together. False: it was gone already (another node or request ended it first).
pub async fn expire(db: &Db, id_hash: &str, event: &crate::login_history::NewLoginEvent<'_>, now: i64) -> Result<bool> {
    let mut tx = db.pool.begin().await?;
    let gone = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if gone {
        crate::login_history::insert(event, now).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(gone)
}

/// Ends a person's session by its public id. False: no such session of theirs.
pub async fn end_session(c: &mut Change, user: &UserId, id: &str) -> Result<bool> {
    Ok(
        sqlx::query("DELETE FROM sessions WHERE COALESCE(id, 'ses_' || substr(id_hash, 1, 24)) = $1 AND user_id = $2")
            .bind(id.to_string())
            .bind(user.as_str().to_string())
            .execute(c.conn())
            .await?
            .rows_affected()
            == 1,
    )
}

/// Ends every session of a person but `keep` (a session's hash). Gives the public ids ended.
pub async fn end_sessions(c: &mut Change, user: &UserId, keep: Option<&str>) -> Result<Vec<String>> {
    let keep = keep.unwrap_or("").to_string();
    let tx = c.conn();
    let ids: Vec<String> =
        sqlx::query("SELECT COALESCE(id, 'ses_' || substr(id_hash, 1, 24)) AS id FROM sessions WHERE user_id = $1 AND id_hash <> $2 ORDER BY created_at")
            .bind(user.as_str().to_string())
            .bind(keep.clone())
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<std::result::Result<_, _>>()?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
        .bind(user.as_str().to_string())
        .bind(keep)
        .execute(&mut *tx)
        .await?;
    Ok(ids)
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
            enrolment_only: false,
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

/// Deletes expired link sessions and setup tokens (API tokens stay listed, as expired, for
/// their owner; browser sessions end through [`list_expired`], each in the login history).
/// Returns how many rows went.
pub async fn purge_expired(db: &Db, now: i64) -> Result<u64> {
    let mut n = 0;
    for sql in [
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
