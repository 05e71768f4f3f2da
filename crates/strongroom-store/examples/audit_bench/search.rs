//! The searches of `GET /api/v1/audit` through `audit::query::search`, each kind with random
//! values, and the plans of the statements the product runs for them.

use crate::plans::{places, plans_of, text};
use crate::world::{DAY, World, pick};
use rand::Rng;
use rand::rngs::StdRng;
use sqlx::Row;
use std::time::{Duration, Instant};
use strongroom_store::Db;
use strongroom_store::audit::{self, AuditFilter};

/// How `query.rs` reads a free text (private there, repeated here for the plans): windows of
/// places, the first of 2,000, growing while empty (as far as their pace allows) up to 64,000.
pub(crate) const TEXT_WINDOW: i64 = 2_000;
pub(crate) const TEXT_WINDOW_MAX: i64 = 64_000;
pub(crate) const HOUR: i64 = 3_600_000;
/// `date_places` in query.rs: the places a date range can span.
pub(crate) const HOURS_SQL: &str =
    "SELECT MIN(first_seq) AS lo, MAX(last_seq) AS hi FROM audit_hours WHERE hour >= $1 AND hour <= $2";
/// `extent` in query.rs: the first and last place, read once per free-text request (two
/// subqueries: SQLite answers `MIN` and `MAX` together in one SELECT by scanning the index).
pub(crate) const EXTENT_SQL: &str = "SELECT (SELECT MIN(seq) FROM audit_events WHERE seq IS NOT NULL) AS lo, \
     (SELECT MAX(seq) FROM audit_events WHERE seq IS NOT NULL) AS hi";

/// What to measure.
pub(crate) struct Opts {
    pub(crate) runs: usize,
    pub(crate) cap: Duration,
    pub(crate) page: i64,
    pub(crate) explain: bool,
    pub(crate) only: Option<Vec<String>>,
}

#[derive(Default)]
pub(crate) struct Stats(pub(crate) Vec<f64>);

impl Stats {
    pub(crate) fn add(&mut self, d: Duration) {
        self.0.push(d.as_secs_f64() * 1000.0);
    }
    pub(crate) fn pct(&self, p: f64) -> f64 {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        v[rank.clamp(1, v.len()) - 1]
    }
    pub(crate) fn max(&self) -> f64 {
        self.0.iter().copied().fold(f64::NAN, f64::max)
    }
    pub(crate) fn mean(&self) -> f64 {
        self.0.iter().sum::<f64>() / self.0.len() as f64
    }
}

pub(crate) fn ms(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}
/// Makes one random filter of a kind.
type MakeFilter = Box<dyn Fn(&World, &mut StdRng, &Span) -> AuditFilter>;

/// A kind of search, making a random filter each time.
struct Case {
    name: &'static str,
    /// Pages followed through the cursor (1: the first page only).
    pages: usize,
    make: MakeFilter,
}

pub(crate) struct Span {
    pub(crate) start: i64,
    pub(crate) end: i64,
}

impl Span {
    /// A window of an hour to a year somewhere in the history.
    fn window(&self, rng: &mut StdRng) -> (i64, i64) {
        let len = *pick(rng, &[3_600_000, DAY, 7 * DAY, 30 * DAY, 365 * DAY]);
        let from = rng.random_range(self.start..(self.end - len).max(self.start + 1));
        (from, from + len)
    }
}

fn text_in_data(w: &World, rng: &mut StdRng) -> String {
    match rng.random_range(0..5) {
        // A person's surname or the start of their address.
        0 => w.people[w.people_cdf.mixed(rng)].last.to_lowercase(),
        1 => {
            let p = &w.people[w.people_cdf.mixed(rng)];
            p.email.split('@').next().unwrap_or("").to_string()
        }
        // A word of a file's name, a folder's name.
        2 => {
            let f = &w.files[w.files_cdf.mixed(rng)];
            f.name.split([' ', '.']).next().unwrap_or("").to_string()
        }
        3 => w.folders[w.folders_cdf.mixed(rng)].name.clone(),
        // Any word of the vocabulary, common or rare.
        _ => w.words[w.words_cdf.mixed(rng)].clone(),
    }
}

fn cases() -> Vec<Case> {
    fn c(name: &'static str, pages: usize, make: impl Fn(&World, &mut StdRng, &Span) -> AuditFilter + 'static) -> Case {
        Case {
            name,
            pages,
            make: Box::new(make),
        }
    }
    fn actor(w: &World, rng: &mut StdRng) -> Option<String> {
        Some(w.people[w.people_cdf.mixed(rng)].id.clone())
    }
    fn action(w: &World, rng: &mut StdRng) -> String {
        w.actions[w.actions_cdf.mixed(rng)].name().to_string()
    }
    fn outcome(rng: &mut StdRng) -> Option<String> {
        Some(pick(rng, &["failure", "denied", "success"]).to_string())
    }
    vec![
        c("newest (no filter)", 1, |_, _, _| AuditFilter::default()),
        c("actor", 1, |w, r, _| AuditFilter {
            actor: actor(w, r),
            ..Default::default()
        }),
        c("action", 1, |w, r, _| AuditFilter {
            actions: vec![action(w, r)],
            ..Default::default()
        }),
        c("actions (3 at once)", 1, |w, r, _| AuditFilter {
            actions: (0..3).map(|_| action(w, r)).collect(),
            ..Default::default()
        }),
        c("product", 1, |w, r, _| AuditFilter {
            product: Some(pick(r, &w.products).to_string()),
            ..Default::default()
        }),
        c("product + module", 1, |w, r, _| {
            let a = w.actions[w.actions_cdf.mixed(r)];
            AuditFilter {
                product: Some(a.product().into()),
                module: Some(a.module().into()),
                ..Default::default()
            }
        }),
        c("module", 1, |w, r, _| AuditFilter {
            module: Some(pick(r, &w.modules).to_string()),
            ..Default::default()
        }),
        c("target", 1, |w, r, _| {
            let t = if r.random_bool(0.8) {
                &w.files[w.files_cdf.mixed(r)]
            } else {
                &w.folders[w.folders_cdf.mixed(r)]
            };
            AuditFilter {
                target: Some(t.id.clone()),
                ..Default::default()
            }
        }),
        c("ip", 1, |w, r, _| AuditFilter {
            ip: Some(w.ips[w.ips_cdf.mixed(r)].clone()),
            ..Default::default()
        }),
        c("outcome", 1, |_, r, _| AuditFilter {
            outcome: outcome(r),
            ..Default::default()
        }),
        c("initiator", 1, |_, r, _| AuditFilter {
            initiator: Some(pick(r, &["web", "api", "cli", "link", "system"]).to_string()),
            ..Default::default()
        }),
        c("date range", 1, |_, r, s| {
            let (from, to) = s.window(r);
            AuditFilter {
                from: Some(from),
                to: Some(to),
                ..Default::default()
            }
        }),
        c("q: text in the data", 1, |w, r, _| AuditFilter {
            text: Some(text_in_data(w, r)),
            ..Default::default()
        }),
        c("q: no match", 1, |_, r, _| AuditFilter {
            text: Some(format!("zq{}x", r.random_range(1000..9999))),
            ..Default::default()
        }),
        c("actor + action", 1, |w, r, _| AuditFilter {
            actor: actor(w, r),
            actions: vec![action(w, r)],
            ..Default::default()
        }),
        c("actor + date range", 1, |w, r, s| {
            let (from, to) = s.window(r);
            AuditFilter {
                actor: actor(w, r),
                from: Some(from),
                to: Some(to),
                ..Default::default()
            }
        }),
        c("action + outcome + date range", 1, |w, r, s| {
            let (from, to) = s.window(r);
            AuditFilter {
                actions: vec![action(w, r)],
                outcome: outcome(r),
                from: Some(from),
                to: Some(to),
                ..Default::default()
            }
        }),
        c("ip + outcome", 1, |w, r, _| AuditFilter {
            ip: Some(w.ips[w.ips_cdf.mixed(r)].clone()),
            outcome: outcome(r),
            ..Default::default()
        }),
        c("actor + q", 1, |w, r, _| AuditFilter {
            actor: actor(w, r),
            text: Some(text_in_data(w, r)),
            ..Default::default()
        }),
        c("date range + q", 1, |w, r, s| {
            let (from, to) = s.window(r);
            AuditFilter {
                text: Some(text_in_data(w, r)),
                from: Some(from),
                to: Some(to),
                ..Default::default()
            }
        }),
        c("paging ×5: no filter", 5, |_, _, _| AuditFilter::default()),
        c("paging ×5: actor", 5, |w, r, _| AuditFilter {
            actor: actor(w, r),
            ..Default::default()
        }),
        c("paging ×5: action + outcome", 5, |w, r, _| AuditFilter {
            actions: vec![action(w, r)],
            outcome: outcome(r),
            ..Default::default()
        }),
        c("paging ×5: actor, oldest first", 5, |w, r, _| AuditFilter {
            actor: actor(w, r),
            oldest_first: true,
            ..Default::default()
        }),
    ]
}

// ---------------------------------------------------------------------------------------------
// Measuring

/// How a free-text search for one page of results ended.
#[derive(Clone, Copy, PartialEq)]
enum End {
    /// The requests gathered a full page.
    Filled,
    /// The last request had no next: the range holds fewer matches than a page.
    Finished,
    /// Stopped at the kind's time cap, neither filled nor finished.
    Capped,
}

/// One free-text search followed through `next` until a page was gathered or the range read.
struct TextRun {
    requests: usize,
    /// The requests' time, summed (ms).
    ms: f64,
    end: End,
    /// Places read.
    places: i64,
}

/// Where the first and last place of the trail are (the head row; the trail does not change
/// while searches are measured).
async fn chain_extent(db: &Db) -> (i64, i64) {
    let row = sqlx::query("SELECT start_seq, head_seq FROM audit_chain WHERE id = 1")
        .fetch_one(&db.read)
        .await
        .expect("head");
    (row.get::<i64, _>(0), row.get::<i64, _>(1))
}

/// Times `sql` `n` times on the read pool; the median in ms.
async fn time_sql(db: &Db, sql: &str, n: usize) -> f64 {
    let mut st = Stats::default();
    for _ in 0..n {
        let t = Instant::now();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_all(&db.read)
            .await
            .expect("timed statement");
        st.add(t.elapsed());
    }
    st.pct(50.0)
}

fn verdict(st: &Stats) -> &'static str {
    if st.0.is_empty() {
        "–"
    } else if st.pct(95.0) < 100.0 {
        "yes"
    } else {
        "**no**"
    }
}

/// Every kind of search, `o.runs` random filters each (at most `o.cap` per kind, at least 3).
pub(crate) async fn run(db: &Db, world: &World, span: &Span, rng: &mut StdRng, o: &Opts) {
    let (start, head) = chain_extent(db).await;
    let chosen: Vec<Case> = cases()
        .into_iter()
        .filter(|case| {
            o.only
                .as_ref()
                .is_none_or(|only| only.iter().any(|x| case.name.contains(x.as_str())))
        })
        .collect();
    println!(
        "### Search (`audit::query::search`, pages of {}; values drawn half by frequency, half uniformly)\n",
        o.page
    );
    println!(
        "Each row: every request made (one `search` call, i.e. one GET /api/v1/audit). Paging and free text \
         follow the page's `next`. A kind stops after {} s (at least 3 filters): \"time cap\".\n",
        o.cap.as_secs()
    );
    println!("| query | filters | requests | rows/request | p50 ms | p95 ms | max ms | p95 < 100 ms |");
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    let mut plans = Vec::new();
    // The slowest requests of each kind, with their filters: what a miss is made of.
    let mut slowest: Vec<(&str, Vec<(f64, String)>)> = Vec::new();
    let mut slow_plans = Vec::new();
    let mut text_kinds: Vec<(&str, bool, Vec<TextRun>)> = Vec::new();
    for case in &chosen {
        let mut first = Stats::default();
        let mut later = Stats::default();
        let mut rows = 0usize;
        let mut requests = 0usize;
        let started = Instant::now();
        let mut runs = 0;
        let mut sample = None;
        let mut slow: Vec<(f64, String, AuditFilter)> = Vec::new();
        let mut text_runs = Vec::new();
        while runs < o.runs && (started.elapsed() < o.cap || runs < 3) {
            let mut f = (case.make)(world, rng, span);
            sample.get_or_insert_with(|| f.clone());
            if text(&f).is_some() {
                // Free text: as a client would, request on from `next` until a page of
                // results is gathered or the range is read (or this search hits the cap).
                let range = places(db, &f, start, head).await;
                let began = Instant::now();
                let mut tr = TextRun {
                    requests: 0,
                    ms: 0.0,
                    end: End::Finished,
                    places: 0,
                };
                let mut found = 0i64;
                let reached = loop {
                    let t = Instant::now();
                    let page = audit::query::search(db, &f, o.page).await.expect("search");
                    let took = t.elapsed();
                    first.add(took);
                    slow.push((
                        took.as_secs_f64() * 1000.0,
                        format!("{} (request {})", describe(&f), tr.requests + 1),
                        f.clone(),
                    ));
                    rows += page.events.len();
                    requests += 1;
                    tr.requests += 1;
                    tr.ms += took.as_secs_f64() * 1000.0;
                    found += page.events.len() as i64;
                    if found >= o.page {
                        tr.end = End::Filled;
                        break page.events.last().map(|e| e.seq);
                    }
                    match page.next {
                        None => break None,
                        Some(n) if began.elapsed() >= o.cap => {
                            tr.end = End::Capped;
                            break Some(n);
                        }
                        Some(n) => f.cursor = Some(n),
                    }
                };
                // Places read: from the start of the range to where the search got.
                tr.places = match (range, reached) {
                    (None, _) => 0,
                    (Some((lo, hi)), None) => hi - lo + 1,
                    (Some((lo, _)), Some(at)) if f.oldest_first => at - lo + 1,
                    (Some((_, hi)), Some(at)) => hi - at + 1,
                }
                .max(0);
                text_runs.push(tr);
            } else {
                for p in 0..case.pages {
                    let t = Instant::now();
                    let page = audit::query::search(db, &f, o.page).await.expect("search");
                    let took = t.elapsed();
                    let st = if p == 0 { &mut first } else { &mut later };
                    st.add(took);
                    slow.push((
                        took.as_secs_f64() * 1000.0,
                        format!("{} (page {})", describe(&f), p + 1),
                        f.clone(),
                    ));
                    rows += page.events.len();
                    requests += 1;
                    match page.next {
                        Some(n) => f.cursor = Some(n),
                        None => break,
                    }
                }
            }
            runs += 1;
        }
        let capped = runs < o.runs;
        let cap_note = if capped { " (time cap)" } else { "" };
        slow.sort_by(|x, y| y.0.total_cmp(&x.0));
        slow.truncate(3);
        if let Some((took, what, f)) = slow.first().filter(|s| s.0 >= 100.0) {
            if o.explain {
                let what = format!("{what}, {} ms when measured", ms(*took));
                slow_plans.push((case.name, what, plans_of(db, f, o.page, start, head).await));
            }
            slowest.push((case.name, slow.into_iter().map(|(t, w, _)| (t, w)).collect()));
        }
        let per_request = rows as f64 / requests.max(1) as f64;
        let row = |name: String, filters: String, st: &Stats| {
            println!(
                "| {name} | {filters} | {} | {per_request:.0} | {} | {} | {} | {} |",
                st.0.len(),
                ms(st.pct(50.0)),
                ms(st.pct(95.0)),
                ms(st.max()),
                verdict(st)
            );
        };
        if case.pages > 1 {
            row(format!("{}: page 1", case.name), format!("{runs}{cap_note}"), &first);
            row(format!("{}: pages 2–{}", case.name, case.pages), String::new(), &later);
        } else {
            row(case.name.to_string(), format!("{runs}{cap_note}"), &first);
        }
        if !text_runs.is_empty() {
            text_kinds.push((case.name, capped, text_runs));
        }
        if o.explain
            && let Some(f) = sample
        {
            plans.push((case.name, describe(&f), plans_of(db, &f, o.page, start, head).await));
        }
    }
    println!();
    if !text_kinds.is_empty() {
        text_report(db, o, &text_kinds, head - start + 1).await;
    }
    if !slowest.is_empty() {
        println!("Slowest requests of the kinds with one of 100 ms or more:\n");
        for (name, slow) in &slowest {
            let list: Vec<String> = slow.iter().map(|(t, f)| format!("{} ms `{f}`", ms(*t))).collect();
            println!("- {name}: {}", list.join("; "));
        }
        println!();
    }
    if o.explain {
        println!("### Plans (one sample filter per kind: the statements `search` runs for its first page)\n");
        for (name, f, steps) in plans {
            println!("{name} — `{f}`:\n");
            for (what, lines) in steps {
                if lines.is_empty() {
                    println!("- {what}\n");
                } else {
                    println!("- {what}:\n```\n{}\n```", lines.join("\n"));
                }
            }
        }
        println!();
        if !slow_plans.is_empty() {
            println!(
                "### Plans of the slowest request of each kind with one of 100 ms or more\n\n\
                 (planned and run again after the kind was measured: the plan or the cache may differ from \
                 what the measured request met)\n"
            );
            for (name, what, steps) in slow_plans {
                println!("{name} — `{what}`:\n");
                for (step, lines) in steps {
                    if lines.is_empty() {
                        println!("- {step}\n");
                    } else {
                        println!("- {step}:\n```\n{}\n```", lines.join("\n"));
                    }
                }
            }
            println!();
        }
    }
}

/// Free text: the requests a page of results took, and the time.
async fn text_report(db: &Db, o: &Opts, kinds: &[(&str, bool, Vec<TextRun>)], trail: i64) {
    println!(
        "### Free text: to a page of {} results (or the end of the range)\n\n\
         A free-text request reads the trail for about 50 ms and may answer short, even empty, with a \
         `next`; a client requests on until it has a page or there is no `next`. Per search: the requests \
         that took and their summed time. A search stops at the time cap ({} s): its requests and time \
         then count as they were when it stopped (a lower bound).\n",
        o.page,
        o.cap.as_secs()
    );
    println!(
        "| query | searches | filled a page | fewer in the whole range | stopped at the cap | requests p50 | p95 | max \
         | time ms p50 | p95 | max | places read per s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut notes = Vec::new();
    for (name, capped, runs) in kinds {
        let mut req = Stats::default();
        let mut time = Stats::default();
        for r in runs {
            req.0.push(r.requests as f64);
            time.0.push(r.ms);
        }
        let count = |e: End| runs.iter().filter(|r| r.end == e).count();
        let places: i64 = runs.iter().map(|r| r.places).sum();
        let secs: f64 = runs.iter().map(|r| r.ms).sum::<f64>() / 1000.0;
        let rate = places as f64 / secs.max(1e-9);
        let at_cap = count(End::Capped);
        println!(
            "| {name} | {}{} | {} | {} | {at_cap} | {:.0} | {:.0} | {:.0} | {} | {} | {} | {:.0} |",
            runs.len(),
            if *capped { " (time cap)" } else { "" },
            count(End::Filled),
            count(End::Finished),
            req.pct(50.0),
            req.pct(95.0),
            req.max(),
            ms(time.pct(50.0)),
            ms(time.pct(95.0)),
            ms(time.max()),
            rate
        );
        if at_cap > 0 {
            notes.push(format!(
                "- {name}: {at_cap} of {} searches stopped at the cap; at the rate measured ({rate:.0} places/s) \
                 reading the whole trail ({trail} places) would take about {:.0} s (extrapolated, not measured).",
                runs.len(),
                trail as f64 / rate.max(1e-9)
            ));
        }
    }
    println!();
    for n in &notes {
        println!("{n}");
    }
    if !notes.is_empty() {
        println!();
    }
    // Each free-text request first reads the trail's extent; what that statement costs here.
    println!(
        "Each free-text request first runs `extent` (`{EXTENT_SQL}`): median of 5, {} ms.\n",
        ms(time_sql(db, EXTENT_SQL, 5).await)
    );
}
fn describe(f: &AuditFilter) -> String {
    let mut parts = Vec::new();
    let mut add = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            parts.push(format!("{k}={v}"));
        }
    };
    add("actor", &f.actor);
    add("product", &f.product);
    add("module", &f.module);
    add("target", &f.target);
    add("ip", &f.ip);
    add("outcome", &f.outcome);
    add("initiator", &f.initiator);
    add("q", &f.text);
    if !f.actions.is_empty() {
        parts.push(format!("action={}", f.actions.join(",")));
    }
    if let (Some(a), Some(b)) = (f.from, f.to) {
        parts.push(if b - a < DAY {
            format!("from..to={} h", (b - a) / HOUR)
        } else {
            format!("from..to={} days", (b - a) / DAY)
        });
    }
    if let Some(c) = f.cursor {
        parts.push(format!("cursor={c}"));
    }
    if f.oldest_first {
        parts.push("order=oldest".into());
    }
    parts.join(" ")
}
