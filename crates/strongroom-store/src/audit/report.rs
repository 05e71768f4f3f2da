//! Monitoring: the counts an officer asks of the trail (downloads per person and day, refused
//! sign-ins per address, sharing changes, link uses, administrative actions), and the counts
//! alert rules watch. Counted by the database over the indexed columns, never by reading the
//! events one by one.

use crate::db::Db;
use crate::error::Result;
use sqlx::Row;
use strongroom_core::audit::AuditAction;

/// A report the trail answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Report {
    /// Successful downloads (`file.download`), per person (or link) and UTC day.
    Downloads,
    /// Refused sign-ins (`auth.login` not successful), per client address.
    FailedSignIns,
    /// Sharing changes (grants set and removed, links made and revoked, room restrictions),
    /// per person and action.
    Sharing,
    /// What link holders did (opened, unlocked, viewed, downloaded), per link and action.
    LinkUses,
    /// Administrative actions (see `AuditAction::is_administration`) done to someone else or
    /// to the instance, per person and action.
    AdminActions,
}

/// One line of a report: the values it is grouped by (others absent), and the count.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ReportRow {
    /// The UTC day (`YYYY-MM-DD`), for `downloads`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day: Option<String>,
    /// The person, or `link:LINK_ID`; none for the console and the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    /// A name they had in the period (the events keep the name as of each).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    pub count: i64,
    /// The first and last such event in the period (ms since the epoch).
    pub first_at: i64,
    pub last_at: i64,
}

const DAY_MS: i64 = 86_400_000;

fn names(actions: &[AuditAction]) -> Vec<String> {
    actions.iter().map(|a| a.name().to_string()).collect()
}

/// `report` over events at `from` ≤ time < `to`, largest counts first, at most `limit` lines.
pub async fn run(db: &Db, report: Report, from: i64, to: i64, limit: i64) -> Result<Vec<ReportRow>> {
    use AuditAction as A;
    let (actions, extra, group): (Vec<String>, &str, &[&str]) = match report {
        Report::Downloads => (
            names(&[A::FileDownload]),
            "AND outcome = 'success'",
            &["day", "actor_id"],
        ),
        Report::FailedSignIns => (names(&[A::Login]), "AND outcome <> 'success'", &["ip"]),
        Report::Sharing => (
            names(&[A::GrantSet, A::GrantRemove, A::LinkCreate, A::LinkRevoke, A::RoomPolicy]),
            "",
            &["actor_id", "action"],
        ),
        Report::LinkUses => (
            names(&[
                A::LinkOpen,
                A::LinkUnlock,
                A::LinkFolderView,
                A::LinkFileView,
                A::FileDownload,
            ]),
            "AND actor_id LIKE 'link:%'",
            &["actor_id", "action"],
        ),
        Report::AdminActions => (
            names(
                &A::ALL
                    .iter()
                    .copied()
                    .filter(|a| a.is_administration())
                    .collect::<Vec<_>>(),
            ),
            // Done to someone else: renaming oneself or ending one's own session is not.
            "AND (actor_id IS NULL OR target_id IS NULL OR actor_id <> target_id)",
            &["actor_id", "action"],
        ),
    };
    let marks: Vec<String> = (0..actions.len()).map(|i| format!("${}", i + 4)).collect();
    let keys: Vec<String> = group
        .iter()
        .map(|g| match *g {
            "day" => format!("(at / {DAY_MS}) AS day"),
            other => other.to_string(),
        })
        .collect();
    let by: Vec<&str> = group
        .iter()
        .map(|g| if *g == "day" { "(at / 86400000)" } else { g })
        .collect();
    // Built from fixed names and numbered placeholders; every value is bound.
    let sql = format!(
        "SELECT {keys}, COUNT(*) AS n, MIN(at) AS first_at, MAX(at) AS last_at{name} \
         FROM audit_events WHERE at >= $1 AND at < $2 AND seq IS NOT NULL AND action IN ({marks}) {extra} \
         GROUP BY {by} ORDER BY n DESC, last_at DESC LIMIT $3",
        keys = keys.join(", "),
        name = if group.contains(&"actor_id") {
            ", MAX(actor_name) AS actor_name"
        } else {
            ""
        },
        marks = marks.join(", "),
        by = by.join(", "),
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(from).bind(to).bind(limit);
    for a in actions {
        q = q.bind(a);
    }
    let rows = q.fetch_all(&db.read).await?;
    let text = |r: &sqlx::any::AnyRow, c: &str, on: bool| -> Result<Option<String>> {
        Ok(if on { r.try_get(c)? } else { None })
    };
    rows.iter()
        .map(|r| {
            Ok(ReportRow {
                day: if group.contains(&"day") {
                    Some(strongroom_core::clock::utc_date(r.try_get::<i64, _>("day")? * DAY_MS))
                } else {
                    None
                },
                actor_id: text(r, "actor_id", group.contains(&"actor_id"))?,
                actor_name: text(r, "actor_name", group.contains(&"actor_id"))?,
                ip: text(r, "ip", group.contains(&"ip"))?,
                action: text(r, "action", group.contains(&"action"))?,
                count: r.try_get("n")?,
                first_at: r.try_get("first_at")?,
                last_at: r.try_get("last_at")?,
            })
        })
        .collect()
}

/// The column an alert rule counts per.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counted {
    Actor,
    Ip,
    Target,
}

/// What an alert rule watches: events of `actions` (and `outcome`) at `since` or later.
pub struct Watch<'a> {
    /// The rule's key in `alert_state`.
    pub rule: &'a str,
    pub actions: &'a [String],
    pub outcome: Option<&'a str>,
    pub by: Counted,
    pub since: i64,
    pub threshold: i64,
}

/// The people or addresses with more than `threshold` such events that the rule has not
/// fired for since `since`, most first, at most 1,000: those it already fired for are left
/// out, so many decoys with higher counts cannot crowd out the one that matters.
pub async fn over_threshold(db: &Db, w: &Watch<'_>) -> Result<Vec<(String, i64)>> {
    let key = match w.by {
        Counted::Actor => "actor_id",
        Counted::Ip => "ip",
        Counted::Target => "target_id",
    };
    let marks: Vec<String> = (0..w.actions.len()).map(|i| format!("${}", i + 5)).collect();
    // Built from fixed names and numbered placeholders; every value is bound.
    let sql = format!(
        "SELECT {key} AS k, COUNT(*) AS n FROM audit_events \
         WHERE at >= $1 AND seq IS NOT NULL AND {key} IS NOT NULL AND ($2 = '' OR outcome = $2) AND action IN ({}) \
         AND NOT EXISTS (SELECT 1 FROM alert_state s WHERE s.rule = $4 AND s.subject = {key} AND s.fired_at >= $1) \
         GROUP BY {key} HAVING COUNT(*) > $3 ORDER BY n DESC LIMIT 1000",
        marks.join(", ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(w.since)
        .bind(w.outcome.unwrap_or("").to_string())
        .bind(w.threshold)
        .bind(w.rule.to_string());
    for a in w.actions {
        q = q.bind(a.clone());
    }
    let rows = q.fetch_all(&db.read).await?;
    rows.iter().map(|r| Ok((r.try_get("k")?, r.try_get("n")?))).collect()
}

/// Claims the firing of alert `rule` for `subject` at `now`, unless it already fired for
/// them at `since` or later, and writes its `event` in the same transaction: true for the one
/// caller (of any node) that fired it.
pub async fn claim_alert(
    db: &Db,
    rule: &str,
    subject: &str,
    since: i64,
    now: i64,
    event: &strongroom_core::audit::AuditEvent,
) -> Result<bool> {
    let mut tx = db.pool.begin().await?;
    let r = sqlx::query(
        "INSERT INTO alert_state (rule, subject, fired_at) VALUES ($1, $2, $3) \
         ON CONFLICT (rule, subject) DO UPDATE SET fired_at = excluded.fired_at \
         WHERE alert_state.fired_at < $4",
    )
    .bind(rule.to_string())
    .bind(subject.to_string())
    .bind(now)
    .bind(since)
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() != 1 {
        return Ok(false);
    }
    super::append(&mut tx, &[event], now).await?;
    tx.commit().await?;
    super::log(event);
    Ok(true)
}

/// Forgets firings older than `before` (a week past the longest window is plenty).
pub async fn forget_alerts(db: &Db, before: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM alert_state WHERE fired_at < $1")
        .bind(before)
        .execute(&db.pool)
        .await?
        .rows_affected())
}
