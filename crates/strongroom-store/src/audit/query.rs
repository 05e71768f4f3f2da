//! Reading the audit trail: search with filters and a cursor, and the CSV and JSON-lines
//! renderings of an event that exports write.

use super::{COLUMNS, StoredEvent};
use crate::db::Db;
use crate::error::Result;
use serde::Serialize;
use strongroom_core::audit::AuditAction;

/// An audit event as read back.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// The event's place in the chain: later events have higher numbers. Also the cursor.
    pub seq: i64,
    pub id: String,
    /// When (ms since the epoch).
    pub at: i64,
    pub action: String,
    /// `documents`, `people` or `settings`.
    pub product: String,
    /// The part of the product (`file`, `folder`, `auth`, `user`, the setting for settings).
    pub module: String,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    /// `web`, `api`, `cli`, `link` or `system`; none for events from before it was recorded.
    pub initiator: Option<String>,
    /// A user id, `link:LINK_ID`, or none (the console, the server).
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub actor_email: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    /// The target's name as it was then.
    pub target_name: Option<String>,
    /// Where the target was then (`room/folder/…/name`).
    pub target_path: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The browser the user agent names (`Chrome`, `Firefox`, …, `Other`); none without one.
    pub browser: Option<String>,
    /// The platform the user agent names (`Windows`, `Android`, …, `Other`).
    pub platform: Option<String>,
    /// Whether the user agent is a phone's.
    pub mobile: bool,
    /// The route the request matched (`POST /api/v1/rooms`).
    pub route: Option<String>,
    pub request_id: Option<String>,
    /// What the event records beyond its columns; `null` when nothing.
    #[schema(value_type = Option<Object>)]
    pub details: serde_json::Value,
    /// One sentence for people.
    pub description: String,
    /// Whether erasure replaced the personal data of this event with a pseudonym.
    pub pseudonymised: bool,
}

impl From<StoredEvent> for AuditEntry {
    fn from(e: StoredEvent) -> AuditEntry {
        // Labelled as the login history and the session list label them.
        let ua = e.user_agent.as_deref();
        let (browser, platform) = strongroom_core::device::describe(ua);
        let description = describe(&e);
        AuditEntry {
            browser: ua.map(|_| browser.to_string()),
            platform: ua.map(|_| platform.to_string()),
            mobile: strongroom_core::device::is_mobile(ua),
            details: serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null),
            pseudonymised: e.erased_by.is_some(),
            description,
            seq: e.seq,
            id: e.id,
            at: e.at,
            action: e.action,
            product: e.product,
            module: e.module,
            outcome: e.outcome,
            initiator: e.initiator,
            actor_id: e.actor_id,
            actor_name: e.actor_name,
            actor_email: e.actor_email,
            target_kind: e.target_kind,
            target_id: e.target_id,
            target_name: e.target_name,
            target_path: e.target_path,
            ip: e.ip,
            user_agent: e.user_agent,
            route: e.route,
            request_id: e.request_id,
        }
    }
}

/// "Who: what (on what)", from the columns alone.
fn describe(e: &StoredEvent) -> String {
    let who = match (&e.actor_name, &e.actor_email, &e.actor_id) {
        (Some(name), Some(email), _) if !name.is_empty() => format!("{name} <{email}>"),
        (_, Some(email), _) if email == "cli" => "The console".into(),
        (_, Some(email), _) => email.clone(),
        (_, None, Some(id)) if id.starts_with("link:") => "A link holder".into(),
        _ => "The server".into(),
    };
    let what = AuditAction::parse(&e.action).map_or_else(|| e.action.clone(), |a| a.description().to_string());
    let on = match (&e.target_path, &e.target_name) {
        (Some(path), _) => format!(" ({path})"),
        (None, Some(name)) => format!(" ({name})"),
        _ => String::new(),
    };
    let outcome = match e.outcome.as_str() {
        "failure" => " It failed.",
        "denied" => " It was refused.",
        _ => "",
    };
    format!("{who}: {what}{on}{outcome}")
}

/// What to look for. Every field narrows the search; `None` and empty lists mean any.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// The actor's user id (or `link:LINK_ID`).
    pub actor: Option<String>,
    /// Any of these actions.
    pub actions: Vec<String>,
    pub product: Option<String>,
    pub module: Option<String>,
    /// The target's id.
    pub target: Option<String>,
    pub ip: Option<String>,
    pub outcome: Option<String>,
    pub initiator: Option<String>,
    /// At or after (ms).
    pub from: Option<i64>,
    /// Before (ms).
    pub to: Option<i64>,
    /// Case-insensitive text in the actor's name or e-mail, the target's name or path, the
    /// address or the details.
    pub text: Option<String>,
    /// Oldest first instead of newest first.
    pub oldest_first: bool,
    /// Continue after this place (the last `seq` of the previous page).
    pub cursor: Option<i64>,
}

enum Bind {
    Text(String),
    Int(i64),
}

/// `%`, `_` and `\` in a search text match themselves.
pub(crate) fn like_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

impl AuditFilter {
    fn sql(&self, limit: i64) -> (String, Vec<Bind>) {
        let mut conds = vec!["seq IS NOT NULL".to_string()];
        let mut binds = Vec::new();
        let mut eq = |column: &str, value: &Option<String>, conds: &mut Vec<String>| {
            if let Some(v) = value {
                binds.push(Bind::Text(v.clone()));
                conds.push(format!("{column} = ${}", binds.len()));
            }
        };
        eq("actor_id", &self.actor, &mut conds);
        eq("product", &self.product, &mut conds);
        eq("module", &self.module, &mut conds);
        eq("target_id", &self.target, &mut conds);
        eq("ip", &self.ip, &mut conds);
        eq("outcome", &self.outcome, &mut conds);
        eq("initiator", &self.initiator, &mut conds);
        if !self.actions.is_empty() {
            let mut marks = Vec::new();
            for a in &self.actions {
                binds.push(Bind::Text(a.clone()));
                marks.push(format!("${}", binds.len()));
            }
            conds.push(format!("action IN ({})", marks.join(", ")));
        }
        for (value, cond) in [(self.from, "at >="), (self.to, "at <")] {
            if let Some(v) = value {
                binds.push(Bind::Int(v));
                conds.push(format!("{cond} ${}", binds.len()));
            }
        }
        if let Some(text) = self.text.as_deref().filter(|t| !t.is_empty()) {
            binds.push(Bind::Text(like_pattern(text)));
            let n = binds.len();
            let cols = [
                "actor_name",
                "actor_email",
                "target_name",
                "target_path",
                "ip",
                "details",
            ];
            let any: Vec<String> = cols
                .iter()
                .map(|c| format!("LOWER(COALESCE({c}, '')) LIKE ${n} ESCAPE '\\'"))
                .collect();
            conds.push(format!("({})", any.join(" OR ")));
        }
        if let Some(c) = self.cursor {
            binds.push(Bind::Int(c));
            conds.push(format!(
                "seq {} ${}",
                if self.oldest_first { ">" } else { "<" },
                binds.len()
            ));
        }
        binds.push(Bind::Int(limit));
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_events WHERE {} ORDER BY seq {} LIMIT ${}",
            conds.join(" AND "),
            if self.oldest_first { "ASC" } else { "DESC" },
            binds.len()
        );
        (sql, binds)
    }
}

/// One page of events matching `filter`, at most `limit` (1 to 1000), in chain order (newest
/// first unless asked). The next page continues from the last event's `seq`.
pub async fn search(db: &Db, filter: &AuditFilter, limit: i64) -> Result<Vec<AuditEntry>> {
    let (sql, binds) = filter.sql(limit.clamp(1, 1000));
    // Built from fixed column names and numbered placeholders only; every value is bound.
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for b in binds {
        q = match b {
            Bind::Text(s) => q.bind(s),
            Bind::Int(n) => q.bind(n),
        };
    }
    let rows = q.fetch_all(&db.read).await?;
    rows.iter()
        .map(|r| StoredEvent::from_row(r).map(AuditEntry::from))
        .collect()
}

/// The events a person did or that were done to them (actor or target), oldest first,
/// after place `after`, at most `limit`: what their data export holds.
pub async fn about(db: &Db, person: &str, after: i64, limit: i64) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM audit_events WHERE seq > $1 AND (actor_id = $2 OR target_id = $2) ORDER BY seq LIMIT $3"
    )))
    .bind(after)
    .bind(person.to_string())
    .bind(limit)
    .fetch_all(&db.read)
    .await?;
    rows.iter()
        .map(|r| StoredEvent::from_row(r).map(AuditEntry::from))
        .collect()
}

/// Newest first, optionally only one action, at most `limit`.
pub async fn list(db: &Db, action: Option<&str>, limit: i64) -> Result<Vec<AuditEntry>> {
    let filter = AuditFilter {
        actions: action.map(str::to_string).into_iter().collect(),
        ..AuditFilter::default()
    };
    search(db, &filter, limit).await
}

/// The columns of a CSV export, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "seq",
    "id",
    "at",
    "action",
    "product",
    "module",
    "outcome",
    "initiator",
    "actor_id",
    "actor_name",
    "actor_email",
    "target_kind",
    "target_id",
    "target_name",
    "target_path",
    "ip",
    "browser",
    "platform",
    "mobile",
    "route",
    "request_id",
    "description",
    "details",
];

/// The header line of a CSV export.
pub fn csv_header() -> String {
    let mut line = CSV_COLUMNS.join(",");
    line.push_str("\r\n");
    line
}

/// One event as a CSV line, in [`CSV_COLUMNS`] order.
pub fn csv_line(e: &AuditEntry) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let fields = [
        e.seq.to_string(),
        e.id.clone(),
        e.at.to_string(),
        e.action.clone(),
        e.product.clone(),
        e.module.clone(),
        e.outcome.clone(),
        opt(&e.initiator),
        opt(&e.actor_id),
        opt(&e.actor_name),
        opt(&e.actor_email),
        opt(&e.target_kind),
        opt(&e.target_id),
        opt(&e.target_name),
        opt(&e.target_path),
        opt(&e.ip),
        opt(&e.browser),
        opt(&e.platform),
        e.mobile.to_string(),
        opt(&e.route),
        opt(&e.request_id),
        e.description.clone(),
        if e.details.is_null() {
            String::new()
        } else {
            e.details.to_string()
        },
    ];
    crate::csv::line(&fields)
}

/// One event as a JSON line.
pub fn json_line(e: &AuditEntry) -> String {
    let mut line = serde_json::to_string(e).unwrap_or_default();
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_matches_itself() {
        assert_eq!(like_pattern("100%_A\\b"), "%100\\%\\_a\\\\b%");
    }
}
