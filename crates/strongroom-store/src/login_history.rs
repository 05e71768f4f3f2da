//! The login history: every sign-in, every refusal with its reason, every sign-out and
//! session expiry, with where it came from. Kept for the configured retention.

use crate::db::Db;
use crate::error::Result;
use serde::Serialize;
use sqlx::Row;
use strongroom_core::ids::UserId;

/// One row of the history.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct LoginEvent {
    pub id: String,
    /// When (ms since the epoch).
    pub at: i64,
    /// `login`, `failure`, `logout` or `expired`.
    pub event: String,
    /// Why a sign-in failed (`bad_password`, `unknown_user`, `locked`, `ip_denied`,
    /// `disabled`, `second_factor_failed`) or how a session ended (`signed_out`,
    /// `ended_by_user`, `ended_by_admin`, `lifetime`, `idle`).
    pub reason: Option<String>,
    #[schema(value_type = Option<String>)]
    pub user_id: Option<UserId>,
    /// The account's e-mail address; only when the attempt named an account (what was typed
    /// otherwise is not kept: it may be a password typed into the wrong field).
    pub email: Option<String>,
    pub ip: Option<String>,
    pub browser: Option<String>,
    pub platform: Option<String>,
}

/// A row to record (its id and time are given by [`record`]).
pub struct NewLoginEvent<'a> {
    pub event: &'a str,
    pub reason: Option<&'a str>,
    pub user_id: Option<&'a UserId>,
    pub email: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub browser: Option<&'a str>,
    pub platform: Option<&'a str>,
}

const INSERT: &str = "INSERT INTO login_history (id, at, event, reason, user_id, email, ip, browser, platform) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

pub(crate) fn insert<'q>(e: &NewLoginEvent<'_>, at: i64) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    let own = |s: Option<&str>| s.map(str::to_string);
    sqlx::query(INSERT)
        .bind(uuid::Uuid::now_v7().hyphenated().to_string())
        .bind(at)
        .bind(e.event.to_string())
        .bind(own(e.reason))
        .bind(e.user_id.map(|u| u.as_str().to_string()))
        .bind(own(e.email))
        .bind(own(e.ip))
        .bind(own(e.browser))
        .bind(own(e.platform))
}

/// Records an event on its own (a refused sign-in, which changes nothing else).
pub async fn record(db: &Db, e: &NewLoginEvent<'_>, at: i64) -> Result<()> {
    insert(e, at).execute(&db.pool).await?;
    Ok(())
}

/// Records an event as part of a change (a sign-in with its new session, a sign-out).
pub async fn record_in(c: &mut crate::Change, e: &NewLoginEvent<'_>) -> Result<()> {
    let at = c.now();
    insert(e, at).execute(c.conn()).await?;
    Ok(())
}

/// What to list.
#[derive(Default)]
pub struct Filter {
    pub user_id: Option<UserId>,
    pub event: Option<String>,
    pub reason: Option<String>,
    pub ip: Option<String>,
    /// From this time on (inclusive, ms).
    pub from: Option<i64>,
    /// Before this time (exclusive, ms).
    pub to: Option<i64>,
    /// Only rows older than this id (the last id of the previous page).
    pub before_id: Option<String>,
    pub limit: i64,
}

/// The newest events first, as filtered.
pub async fn list(db: &Db, f: &Filter) -> Result<Vec<LoginEvent>> {
    let mut sql = String::from(
        "SELECT id, at, event, reason, user_id, email, ip, browser, platform FROM login_history WHERE 1 = 1",
    );
    let mut args: Vec<Option<String>> = Vec::new();
    let mut ints: Vec<i64> = Vec::new();
    // Text conditions first ($1…), then the times: each gets its own numbered placeholder.
    for (col, v) in [
        ("user_id", f.user_id.as_ref().map(|u| u.as_str().to_string())),
        ("event", f.event.clone()),
        ("reason", f.reason.clone()),
        ("ip", f.ip.clone()),
    ] {
        if v.is_some() {
            args.push(v);
            sql.push_str(&format!(" AND {col} = ${}", args.len()));
        }
    }
    if let Some(b) = &f.before_id {
        args.push(Some(b.clone()));
        let n = args.len();
        sql.push_str(&format!(
            " AND (at, id) < (SELECT at, id FROM login_history WHERE id = ${n})"
        ));
    }
    for (op, v) in [(">=", f.from), ("<", f.to)] {
        if let Some(v) = v {
            ints.push(v);
            sql.push_str(&format!(" AND at {op} ${}", args.len() + ints.len()));
        }
    }
    ints.push(f.limit.clamp(1, 10_000));
    sql.push_str(&format!(
        " ORDER BY at DESC, id DESC LIMIT ${}",
        args.len() + ints.len()
    ));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for a in args {
        q = q.bind(a);
    }
    for i in ints {
        q = q.bind(i);
    }
    let rows = q.fetch_all(&db.read).await?;
    rows.iter()
        .map(|r| {
            Ok(LoginEvent {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                event: r.try_get("event")?,
                reason: r.try_get("reason")?,
                user_id: r.try_get::<Option<String>, _>("user_id")?.map(UserId::from_trusted),
                email: r.try_get("email")?,
                ip: r.try_get("ip")?,
                browser: r.try_get("browser")?,
                platform: r.try_get("platform")?,
            })
        })
        .collect()
}

/// What a person's sign-ins say of a device (a browser on a platform), counting the one just
/// recorded.
pub struct DeviceSeen {
    /// The sign-in just recorded is the person's first.
    pub first_sign_in: bool,
    /// No earlier sign-in of theirs came from this browser and platform.
    pub new_device: bool,
}

pub async fn device_seen(db: &Db, user: &UserId, browser: &str, platform: &str) -> Result<DeviceSeen> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS all_logins, \
         COALESCE(SUM(CASE WHEN browser = $2 AND platform = $3 THEN 1 ELSE 0 END), 0) AS same \
         FROM login_history WHERE user_id = $1 AND event = 'login'",
    )
    .bind(user.as_str().to_string())
    .bind(browser.to_string())
    .bind(platform.to_string())
    .fetch_one(&db.pool)
    .await?;
    let all: i64 = row.try_get("all_logins")?;
    let same: i64 = row.try_get("same")?;
    Ok(DeviceSeen {
        first_sign_in: all <= 1,
        new_device: same <= 1,
    })
}

/// Deletes events older than `before` (the retention). Gives how many went.
pub async fn purge(db: &Db, before: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM login_history WHERE at < $1")
        .bind(before)
        .execute(&db.pool)
        .await?
        .rows_affected())
}
