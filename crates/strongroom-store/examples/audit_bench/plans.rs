//! The statements of the searches, for their plans (`--explain`): the product's own
//! statement for each page, the places a date range spans, and their EXPLAIN output.

use crate::search::{EXTENT_SQL, HOUR, HOURS_SQL, TEXT_WINDOW, TEXT_WINDOW_MAX, ms};
use sqlx::Row;
use std::time::Instant;
use strongroom_store::audit::AuditFilter;
use strongroom_store::audit::query::Bind;
use strongroom_store::{Backend, Db};

/// The statement the product runs for places `lo..=hi`, for EXPLAIN only: the measurements
/// go through `search`.
pub(crate) fn filter_sql(f: &AuditFilter, lo: Option<i64>, hi: Option<i64>, limit: i64) -> (String, Vec<Bind>) {
    f.statement(lo, hi, limit)
}

pub(crate) fn text(f: &AuditFilter) -> Option<&str> {
    f.text.as_deref().filter(|t| !t.is_empty())
}

pub(crate) fn query(sql: String, binds: &[Bind]) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for b in binds {
        q = match b {
            Bind::Text(s) => q.bind(s.clone()),
            Bind::Int(n) => q.bind(*n),
        };
    }
    q
}

/// The plan of one statement (EXPLAIN QUERY PLAN on SQLite, EXPLAIN (ANALYZE, BUFFERS) on
/// PostgreSQL), and how long the statement itself took, run once after it.
pub(crate) async fn plan(db: &Db, sql: &str, binds: &[Bind]) -> Vec<String> {
    let prefix = match db.backend {
        Backend::Sqlite => "EXPLAIN QUERY PLAN ",
        Backend::Postgres => "EXPLAIN (ANALYZE, BUFFERS) ",
    };
    let rows = query(format!("{prefix}{sql}"), binds)
        .fetch_all(&db.read)
        .await
        .expect("explain");
    let mut lines: Vec<String> = rows
        .iter()
        .map(|r| match db.backend {
            Backend::Sqlite => r.get::<String, _>("detail"),
            Backend::Postgres => r.get::<String, _>(0),
        })
        .collect();
    let t = Instant::now();
    let n = query(sql.to_string(), binds)
        .fetch_all(&db.read)
        .await
        .expect("statement")
        .len();
    lines.push(format!(
        "-- run once after the plan: {n} rows in {} ms",
        ms(t.elapsed().as_secs_f64() * 1000.0)
    ));
    lines
}

/// The hours of a date range as `date_places` asks for them.
pub(crate) fn hours(f: &AuditFilter) -> (i64, i64) {
    (
        f.from.map_or(i64::MIN, |x| x / HOUR),
        f.to.map_or(i64::MAX, |t| t.saturating_sub(1) / HOUR),
    )
}

/// The places `search` bounds the filter by: those of its date range (from `audit_hours`, as
/// `date_places` does) within the trail's `start..=head`; `None` when no event lies in the
/// range (an empty page without a query).
pub(crate) async fn places(db: &Db, f: &AuditFilter, start: i64, head: i64) -> Option<(i64, i64)> {
    if f.from.is_none() && f.to.is_none() {
        return Some((start, head));
    }
    let (from, to) = hours(f);
    let row = sqlx::query(HOURS_SQL)
        .bind(from)
        .bind(to)
        .fetch_one(&db.read)
        .await
        .expect("hours");
    let (lo, hi): (Option<i64>, Option<i64>) = (row.get("lo"), row.get("hi"));
    lo.zip(hi).map(|(lo, hi)| (lo.max(start), hi.min(head)))
}

/// The statements `search` runs for the sample filter `f` (first page, no cursor), each with
/// its plan.
pub(crate) async fn plans_of(
    db: &Db,
    f: &AuditFilter,
    limit: i64,
    start: i64,
    head: i64,
) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let dated = f.from.is_some() || f.to.is_some();
    if dated {
        let (from, to) = hours(f);
        out.push((
            "the hours of the date range (`audit_hours`)".to_string(),
            plan(db, HOURS_SQL, &[Bind::Int(from), Bind::Int(to)]).await,
        ));
    }
    let Some((mut lo, mut hi)) = places(db, f, start, head).await else {
        out.push((
            "(no event in the date range: an empty page, no further statement)".into(),
            vec![],
        ));
        return out;
    };
    let bound = |v: i64| dated.then_some(v);
    if text(f).is_none() {
        let (sql, binds) = filter_sql(f, bound(lo), bound(hi), limit);
        out.push(("the page".into(), plan(db, &sql, &binds).await));
        return out;
    }
    // Where a later request starts reading: as `search_in`, from the cursor on.
    if let Some(c) = f.cursor {
        if f.oldest_first {
            lo = lo.max(c.saturating_add(1));
        } else {
            hi = hi.min(c.saturating_sub(1));
        }
    }
    out.push((
        "the trail's extent (`extent`, once per request)".into(),
        plan(db, EXTENT_SQL, &[]).await,
    ));
    for (what, window) in [
        ("the first window", TEXT_WINDOW),
        ("the widest window", TEXT_WINDOW_MAX),
    ] {
        let (a, b) = if f.oldest_first {
            (lo, hi.min(lo.saturating_add(window - 1)))
        } else {
            (lo.max(hi.saturating_sub(window - 1)), hi)
        };
        let (sql, binds) = filter_sql(f, Some(a), Some(b), limit);
        out.push((
            format!("{what} ({window} places: {a}..={b})"),
            plan(db, &sql, &binds).await,
        ));
    }
    out
}
