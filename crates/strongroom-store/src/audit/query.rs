//! Reading the audit trail: search with filters and a cursor, and the CSV and JSON-lines
//! renderings of an event that exports write.

use super::{COLUMNS, StoredEvent};
use crate::db::Db;
use crate::error::Result;
use serde::Serialize;
use sqlx::Row;
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

impl AuditEntry {
    /// Leaves out what the event says of its document (its name and path, the details that
    /// name it, and so the description's part), for a reader who may not see into its room.
    pub fn withhold_document(&mut self) {
        (self.target_name, self.target_path) = (None, None);
        self.details = serde_json::Value::Null;
        self.redescribe();
    }

    /// The description again from the columns as they now are (after some were withheld).
    pub fn redescribe(&mut self) {
        self.description = describe_parts(
            (&self.actor_name, &self.actor_email, &self.actor_id),
            &self.action,
            (&self.target_path, &self.target_name),
            &self.outcome,
        );
    }
}

/// "Who: what (on what)", from the columns alone.
fn describe(e: &StoredEvent) -> String {
    describe_parts(
        (&e.actor_name, &e.actor_email, &e.actor_id),
        &e.action,
        (&e.target_path, &e.target_name),
        &e.outcome,
    )
}

type Parts<'a> = (&'a Option<String>, &'a Option<String>, &'a Option<String>);

fn describe_parts(actor: Parts<'_>, action: &str, target: (&Option<String>, &Option<String>), outcome: &str) -> String {
    let who = match actor {
        (Some(name), Some(email), _) if !name.is_empty() => format!("{name} <{email}>"),
        (_, Some(email), _) if email == "cli" => "The console".into(),
        (_, Some(email), _) => email.clone(),
        (Some(name), None, _) if !name.is_empty() => name.clone(),
        (_, None, Some(id)) if id.starts_with("link:") => "A link holder".into(),
        _ => "The server".into(),
    };
    let what = AuditAction::parse(action).map_or_else(|| action.to_string(), |a| a.description().to_string());
    let on = match target {
        (Some(path), _) => format!(" ({path})"),
        (None, Some(name)) => format!(" ({name})"),
        _ => String::new(),
    };
    let outcome = match outcome {
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

/// A value bound to a search's statement.
#[derive(Clone, Debug)]
pub enum Bind {
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

/// Places a search may not leave (both ends included): from the date range, and for a
/// free-text search the window being read.
#[derive(Clone, Copy, Debug, Default)]
struct Places {
    lo: Option<i64>,
    hi: Option<i64>,
}

impl AuditFilter {
    fn sql(&self, places: Places, limit: i64) -> (String, Vec<Bind>) {
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
        for (value, cond) in [
            (self.from, "at >="),
            (self.to, "at <"),
            (places.lo, "seq >="),
            (places.hi, "seq <="),
        ] {
            if let Some(v) = value {
                binds.push(Bind::Int(v));
                conds.push(format!("{cond} ${}", binds.len()));
            }
        }
        if let Some(text) = self.text() {
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

    fn text(&self) -> Option<&str> {
        self.text.as_deref().filter(|t| !t.is_empty())
    }

    /// The statement a page runs with `seq` bounded to `lo..=hi` (the date range's places, or
    /// a free-text window), and its values: for plans (EXPLAIN in bench/audit), not to run.
    pub fn statement(&self, lo: Option<i64>, hi: Option<i64>, limit: i64) -> (String, Vec<Bind>) {
        self.sql(Places { lo, hi }, limit)
    }
}

/// One page of a search.
#[derive(Clone, Debug, Default)]
pub struct AuditPage {
    pub events: Vec<AuditEntry>,
    /// Where the next page starts (its `cursor`), or none when the search has read the whole
    /// trail. A free-text search may end a page short of the limit and still have a next.
    pub next: Option<i64>,
}

/// How a free-text search reads the trail. Free text can use no index (a rare word would
/// otherwise read a 10-million-event trail for minutes), so a page reads windows of places
/// from its cursor on for about `budget`, then answers with what it found and where to go
/// on: paging on reads the rest.
struct Reading {
    budget: std::time::Duration,
    /// The first window; it doubles while nothing is found, up to `window_max` and to what
    /// the pace of the window before says fits in the time left.
    window: i64,
    window_max: i64,
}

const READING: Reading = Reading {
    budget: std::time::Duration::from_millis(50),
    window: 2_000,
    window_max: 64_000,
};

/// One page of events matching `filter`, at most `limit` (1 to 1000), in chain order (newest
/// first unless asked), and where the next page starts.
pub async fn search(db: &Db, filter: &AuditFilter, limit: i64) -> Result<AuditPage> {
    search_in(db, filter, limit, &READING).await
}

async fn search_in(db: &Db, filter: &AuditFilter, limit: i64, reading: &Reading) -> Result<AuditPage> {
    let limit = limit.clamp(1, 1000);
    let Some(places) = date_places(db, filter).await? else {
        return Ok(AuditPage::default());
    };
    if filter.text().is_none() {
        let events = fetch(db, filter, places, limit).await?;
        let next = events.last().filter(|_| events.len() as i64 == limit).map(|e| e.seq);
        return Ok(AuditPage { events, next });
    }
    // Free text: window by window from the cursor on, until the page is full, the trail
    // ends, or the time is up.
    let (start, end) = extent(db).await?;
    let (mut lo, mut hi) = (places.lo.unwrap_or(start).max(start), places.hi.unwrap_or(end).min(end));
    if let Some(c) = filter.cursor {
        if filter.oldest_first {
            lo = lo.max(c.saturating_add(1));
        } else {
            hi = hi.min(c.saturating_sub(1));
        }
    }
    let began = std::time::Instant::now();
    let mut window = reading.window;
    let mut events = Vec::new();
    while lo <= hi {
        let (from, to) = if filter.oldest_first {
            (lo, hi.min(lo.saturating_add(window - 1)))
        } else {
            (lo.max(hi.saturating_sub(window - 1)), hi)
        };
        let part = Places {
            lo: Some(from),
            hi: Some(to),
        };
        let took = std::time::Instant::now();
        let found = fetch(db, filter, part, limit - events.len() as i64).await?;
        let took = took.elapsed();
        let none = found.is_empty();
        events.extend(found);
        if events.len() as i64 == limit {
            let next = events.last().map(|e| e.seq);
            return Ok(AuditPage { events, next });
        }
        if filter.oldest_first {
            lo = to + 1;
        } else {
            hi = from - 1;
        }
        if lo <= hi && began.elapsed() >= reading.budget {
            // The cursor is exclusive: the next page starts just past this window.
            let next = Some(if filter.oldest_first { to } else { from });
            return Ok(AuditPage { events, next });
        }
        if none {
            // Twice as far, but no further than the pace of this window says fits in the
            // time left: a page ends near its budget on a slow disk as on a fast one.
            let pace = (to - from + 1) as f64 / took.as_secs_f64().max(1e-6);
            let left = reading.budget.saturating_sub(began.elapsed()).as_secs_f64();
            let fits = (pace * left) as i64;
            window = (window * 2).min(fits).clamp(reading.window, reading.window_max);
        }
    }
    Ok(AuditPage { events, next: None })
}

async fn fetch(db: &Db, filter: &AuditFilter, places: Places, limit: i64) -> Result<Vec<AuditEntry>> {
    let (sql, binds) = filter.sql(places, limit);
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

/// The places the filter's date range can span, from `audit_hours`; none when no event is
/// stamped in it (an empty page). Places after the last one noted there (written by a node of
/// an older release, until a newer one appends) are left unbounded.
async fn date_places(db: &Db, filter: &AuditFilter) -> Result<Option<Places>> {
    const HOUR: i64 = 3_600_000;
    if filter.from.is_none() && filter.to.is_none() {
        return Ok(Some(Places::default()));
    }
    // Truncating like SQL's `at / 3600000` does (for times before 1970 too): the same hours.
    let from = filter.from.map_or(i64::MIN, |f| f / HOUR);
    let to = filter.to.map_or(i64::MAX, |t| t.saturating_sub(1) / HOUR);
    let row = sqlx::query(
        "SELECT MIN(first_seq) AS lo, MAX(last_seq) AS hi, \
         (SELECT head_seq FROM audit_chain WHERE id = 1) AS head, \
         (SELECT hours_seq FROM audit_chain WHERE id = 1) AS noted \
         FROM audit_hours WHERE hour >= $1 AND hour <= $2",
    )
    .bind(from)
    .bind(to)
    .fetch_one(&db.read)
    .await?;
    let (lo, hi): (Option<i64>, Option<i64>) = (row.try_get("lo")?, row.try_get("hi")?);
    let (head, noted): (Option<i64>, Option<i64>) = (row.try_get("head")?, row.try_get("noted")?);
    let noted = noted.unwrap_or(0);
    if head.unwrap_or(0) > noted {
        return Ok(Some(Places {
            lo: Some(lo.unwrap_or(noted + 1)),
            hi: None,
        }));
    }
    Ok(lo.zip(hi).map(|(lo, hi)| Places {
        lo: Some(lo),
        hi: Some(hi),
    }))
}

/// The first and last place in the trail (an empty trail gives an empty range).
async fn extent(db: &Db) -> Result<(i64, i64)> {
    // Two subqueries: SQLite answers MIN and MAX from the index only one at a time (together
    // in one SELECT it scans the table: 0.6 s at 10 million events).
    let row = sqlx::query(
        "SELECT (SELECT MIN(seq) FROM audit_events WHERE seq IS NOT NULL) AS lo, \
         (SELECT MAX(seq) FROM audit_events WHERE seq IS NOT NULL) AS hi",
    )
    .fetch_one(&db.read)
    .await?;
    let (lo, hi): (Option<i64>, Option<i64>) = (row.try_get("lo")?, row.try_get("hi")?);
    Ok(lo.zip(hi).unwrap_or((1, 0)))
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
    Ok(search(db, &filter, limit).await?.events)
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

    use std::time::Duration;
    use strongroom_core::audit::{AuditAction, AuditEvent};

    #[test]
    fn search_text_matches_itself() {
        assert_eq!(like_pattern("100%_A\\b"), "%100\\%\\_a\\\\b%");
    }

    const T0: i64 = 1_767_225_600_000;

    /// 40 events at places 1 to 40, one a second; "needle" in those at places 1, 7, 13, …, 37.
    async fn trail(dir: &std::path::Path) -> Db {
        let db = Db::connect(&format!("sqlite://{}", dir.join("t.db").display()))
            .await
            .unwrap();
        for i in 0..40 {
            let name = if i % 6 == 0 {
                format!("Needle {i}.pdf")
            } else {
                "hay.pdf".into()
            };
            let e = AuditEvent::new(AuditAction::FileDownload).details(serde_json::json!({ "name": name }));
            crate::audit::record(&db, &e, T0 + i * 1000).await.unwrap();
        }
        db
    }

    /// Every page of a search from its start, following `next`: (places, next) per page.
    async fn pages(db: &Db, mut f: AuditFilter, limit: i64, r: &Reading) -> Vec<(Vec<i64>, Option<i64>)> {
        let mut out = Vec::new();
        loop {
            let page = search_in(db, &f, limit, r).await.unwrap();
            out.push((page.events.iter().map(|e| e.seq).collect(), page.next));
            match page.next {
                Some(c) if out.len() < 100 => f.cursor = Some(c),
                _ => return out,
            }
        }
    }

    /// With no time to spare, each page of a free-text search reads one window of places
    /// and says where the next starts: short and empty pages still lead on, and the pages
    /// together give every match once, newest or oldest first.
    #[tokio::test]
    async fn free_text_pages_read_window_by_window_and_miss_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = trail(dir.path()).await;
        let text = AuditFilter {
            text: Some("NEEDLE".into()),
            ..AuditFilter::default()
        };
        let hurried = Reading {
            budget: Duration::ZERO,
            window: 4,
            window_max: 4,
        };
        let newest: Vec<(Vec<i64>, Option<i64>)> = vec![
            (vec![37], Some(37)),
            (vec![], Some(33)),
            (vec![31], Some(29)),
            (vec![25], Some(25)),
            (vec![], Some(21)),
            (vec![19], Some(17)),
            (vec![13], Some(13)),
            (vec![], Some(9)),
            (vec![7], Some(5)),
            (vec![1], None),
        ];
        assert_eq!(pages(&db, text.clone(), 2, &hurried).await, newest);
        let oldest = AuditFilter {
            oldest_first: true,
            ..text.clone()
        };
        let expected: Vec<(Vec<i64>, Option<i64>)> = vec![
            (vec![1], Some(4)),
            (vec![7], Some(8)),
            (vec![], Some(12)),
            (vec![13], Some(16)),
            (vec![19], Some(20)),
            (vec![], Some(24)),
            (vec![25], Some(28)),
            (vec![31], Some(32)),
            (vec![], Some(36)),
            (vec![37], None),
        ];
        assert_eq!(pages(&db, oldest, 2, &hurried).await, expected);
        // With time enough, a page fills before it answers (the window doubling while empty).
        let patient = Reading {
            budget: Duration::from_secs(3600),
            window: 2,
            window_max: 8,
        };
        let full = pages(&db, text.clone(), 3, &patient).await;
        assert_eq!(
            full,
            vec![
                (vec![37, 31, 25], Some(25)),
                (vec![19, 13, 7], Some(7)),
                (vec![1], None)
            ]
        );
        // The product's reading, with a date range: only the window's matches.
        let dated = AuditFilter {
            from: Some(T0 + 10_000),
            to: Some(T0 + 30_000),
            ..text
        };
        assert_eq!(pages(&db, dated, 50, &READING).await, vec![(vec![25, 19, 13], None)]);
    }
}
