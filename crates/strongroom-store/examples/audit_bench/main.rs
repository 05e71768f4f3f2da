//! The audit trail at scale (`bench/audit/run.sh`): bulk-loads N realistic, validly
//! hash-chained events into a fresh database, then measures appends through
//! [`audit::record`] and the filtered searches of `GET /api/v1/audit` through
//! [`audit::query::search`] at that size, as the product runs them: with migrations 17 and 18
//! (the module and pair indexes, date ranges bounded by `audit_hours`) and free text read
//! window by window for about 50 ms per request, paging on by the page's `next`.
//!
//! Loading goes around `record()` (one transaction per event would take hours at 10 million)
//! but writes exactly the rows it would: every column as `StoredEvent::new` fills it, each
//! event linked with `chain::personal_digest` and `chain::event_hash` after the one before,
//! and the `audit_chain` head row left where `record()` continues from. The audit indexes the
//! migrations created are dropped for the load and re-created afterwards from their own
//! definitions (read back from the database); `audit_hours`, which `audit::append` keeps, is
//! filled from the loaded rows as migration 18's backfill would; then the tables are analysed.
//!
//! Searches: each kind with random filters (`--runs`, at most `--cap-secs` per kind, at least
//! 3), per request p50/p95/max. Kinds with several pages, and free text, follow `next`; for
//! free text also how many requests and how long until a page of results is gathered or the
//! range is read (a search stopped at the cap counts as a lower bound). `--explain` prints the
//! plans of the statements `search` runs for one sample of each kind.
//!
//! Usage: audit_bench --url URL [--events N] [--appends 2000] [--runs 100] [--cap-secs 60]
//!        [--page 50] [--seed 1] [--reuse] [--no-append] [--verify] [--explain] [--only NAME,…]
//!
//! `--reuse` measures a database an earlier run loaded (`KEEP=1 bench/audit/run.sh`) instead
//! of loading; `--only` takes parts of kind names (`--only "q,date range"`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmark code

mod load;
mod plans;
mod search;
mod vocab;
mod world;

use load::{check_row, one_i64, secs};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use search::{Span, Stats, ms};
use sqlx::Row;
use sqlx::any::AnyPoolOptions;
use std::time::{Duration, Instant};
use strongroom_core::clock::{Clock, SystemClock};
use strongroom_store::audit::{self, COLUMNS, StoredEvent};
use strongroom_store::{Backend, Db};
use world::{DAY, SPAN, World};

// ---------------------------------------------------------------------------------------------
// Arguments

struct Args {
    url: String,
    events: i64,
    appends: usize,
    runs: usize,
    cap: Duration,
    page: i64,
    seed: u64,
    reuse: bool,
    append: bool,
    verify: bool,
    explain: bool,
    only: Option<Vec<String>>,
}

fn args() -> Args {
    let mut a = Args {
        url: String::new(),
        events: 10_000_000,
        appends: 2000,
        runs: 100,
        cap: Duration::from_secs(60),
        page: 50,
        seed: 1,
        reuse: false,
        append: true,
        verify: false,
        explain: false,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        match k.as_str() {
            "--url" => a.url = v(),
            "--events" => a.events = v().replace('_', "").parse().expect("--events"),
            "--appends" => a.appends = v().parse().expect("--appends"),
            "--runs" => a.runs = v().parse().expect("--runs"),
            "--cap-secs" => a.cap = Duration::from_secs(v().parse().expect("--cap-secs")),
            "--page" => a.page = v().parse().expect("--page"),
            "--seed" => a.seed = v().parse().expect("--seed"),
            "--only" => a.only = Some(v().split(',').map(str::to_string).collect()),
            "--reuse" => a.reuse = true,
            "--no-append" => a.append = false,
            "--verify" => a.verify = true,
            "--explain" => a.explain = true,
            _ => panic!("unknown argument {k}; see the header of examples/audit_bench.rs"),
        }
    }
    assert!(!a.url.is_empty(), "--url sqlite://PATH or postgres://… is required");
    assert!(a.events >= 1000, "--events must be at least 1000");
    a
}
async fn appends(db: &Db, world: &World, rng: &mut StdRng, n: usize) -> Stats {
    let warm = 100;
    let mut st = Stats::default();
    for i in 0..warm + n {
        let e = world.event(rng);
        let t = Instant::now();
        audit::record(db, &e, SystemClock.now_ms()).await.expect("record");
        if i >= warm {
            st.add(t.elapsed());
        }
    }
    st
}

fn append_row(name: &str, st: &Stats) {
    println!(
        "| {name} | {} | {} | {} | {} | {} | {} | {} |",
        st.0.len(),
        ms(st.pct(50.0)),
        ms(st.pct(95.0)),
        ms(st.pct(99.0)),
        ms(st.max()),
        ms(st.mean()),
        if st.pct(95.0) < 1.0 { "yes" } else { "**no**" }
    );
}

/// A handle on the same database whose commits do not wait for the disk (diagnostic only).
async fn no_flush(url: &str, backend: Backend) -> Db {
    let pool = match backend {
        Backend::Sqlite => AnyPoolOptions::new()
            .max_connections(1)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    for pragma in [
                        "PRAGMA journal_mode = WAL",
                        "PRAGMA synchronous = NORMAL",
                        "PRAGMA foreign_keys = ON",
                        "PRAGMA secure_delete = ON",
                        "PRAGMA busy_timeout = 10000",
                    ] {
                        sqlx::query(pragma).execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await
            .expect("connect"),
        Backend::Postgres => AnyPoolOptions::new()
            .max_connections(2)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::query("SET synchronous_commit = off").execute(&mut *conn).await?;
                    Ok(())
                })
            })
            .connect(url)
            .await
            .expect("connect"),
    };
    Db {
        read: pool.clone(),
        pool,
        backend,
    }
}

#[tokio::main]
async fn main() {
    let a = args();
    let label = if a.url.starts_with("sqlite:") {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    let t0 = Instant::now();
    let db = Db::connect(&a.url).await.expect("connect");
    let connected = t0.elapsed();
    let mut conn = db.pool.acquire().await.expect("connection");
    let head = one_i64(&mut conn, "SELECT head_seq FROM audit_chain WHERE id = 1").await;
    drop(conn);
    let now = SystemClock.now_ms();
    println!("## {label}: {} events\n", a.events);
    println!("Connected and migrated in {}.\n", secs(connected));

    // The history ends a minute before now, so that appends continue it.
    let end_ms = if a.reuse && head >= a.events {
        let mut conn = db.pool.acquire().await.expect("connection");
        one_i64(
            &mut conn,
            &format!("SELECT at FROM audit_events WHERE seq = {}", a.events),
        )
        .await
            + 1
    } else {
        now - 60_000
    };
    let span = Span {
        start: end_ms - SPAN,
        end: end_ms,
    };
    let world: &'static World = Box::leak(Box::new(World::new(a.seed, span.start)));
    println!(
        "World: {} people, {} actions, {} modules, {} addresses, {} targets, {} words; {} days of history.\n",
        world.people.len(),
        world.actions.len(),
        world.modules.len(),
        world.ips.len(),
        world.targets() + world.people.len(),
        world.words.len(),
        SPAN / DAY
    );

    let db = if a.reuse && head >= a.events {
        println!("Reusing the loaded database (head at {head}).\n");
        db
    } else {
        println!("### Load\n");
        let took = load::load(&db, world, a.events, end_ms, a.seed).await;
        println!("- **load total: {}** (rows, indexes, statistics)\n", secs(took));
        // Measured on fresh connections with the server's own settings.
        db.pool.close().await;
        db.read.close().await;
        Db::connect(&a.url).await.expect("reconnect")
    };

    // Size on disk.
    match db.backend {
        Backend::Sqlite => {
            let path = a.url.trim_start_matches("sqlite://").split('?').next().unwrap_or("");
            let size = |p: &str| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            let (main, wal) = (size(path), size(&format!("{path}-wal")));
            println!(
                "Size: database file {:.2} GB, WAL {:.2} GB.\n",
                main as f64 / 1e9,
                wal as f64 / 1e9
            );
        }
        Backend::Postgres => {
            let row = sqlx::query(
                "SELECT pg_database_size(current_database()) AS db, pg_relation_size('audit_events') AS heap, \
                 pg_total_relation_size('audit_events') - pg_relation_size('audit_events') - pg_indexes_size('audit_events') AS toast, \
                 pg_indexes_size('audit_events') AS idx",
            )
            .fetch_one(&db.pool)
            .await
            .expect("sizes");
            let gb = |k: &str| row.get::<i64, _>(k) as f64 / 1e9;
            println!(
                "Size: database {:.2} GB (audit_events: table {:.2} GB, TOAST/FSM/VM {:.2} GB, indexes {:.2} GB).\n",
                gb("db"),
                gb("heap"),
                gb("toast"),
                gb("idx")
            );
            let rows = sqlx::query(
                "SELECT CAST(c.relname AS TEXT) AS name, pg_relation_size(c.oid) AS size FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid \
                 JOIN pg_class t ON t.oid = x.indrelid WHERE t.relname = 'audit_events' ORDER BY c.relname",
            )
            .fetch_all(&db.pool)
            .await
            .expect("index sizes");
            let list: Vec<String> = rows
                .iter()
                .map(|r| {
                    format!(
                        "{} {:.2} GB",
                        r.get::<String, _>("name"),
                        r.get::<i64, _>("size") as f64 / 1e9
                    )
                })
                .collect();
            println!("Indexes: {}.\n", list.join(", "));
        }
    }

    let mut rng = StdRng::seed_from_u64(a.seed ^ 0xbe9c);
    if a.append {
        println!("### Append (`audit::record`, one event per transaction, one after the other)\n");
        println!("| connection settings | appends | p50 ms | p95 ms | p99 ms | max ms | mean ms | p95 < 1 ms |");
        println!("|---|---:|---:|---:|---:|---:|---:|---|");
        let st = appends(&db, world, &mut rng, a.appends).await;
        append_row("the server's (durable commit)", &st);
        // Diagnostic: the same appends without waiting for the disk at each commit, to tell
        // the cost of the flush from the cost of the work.
        let fast = no_flush(&a.url, db.backend).await;
        let st = appends(&fast, world, &mut rng, a.appends).await;
        append_row(
            match db.backend {
                Backend::Sqlite => "diagnostic: synchronous = NORMAL (no flush per commit)",
                Backend::Postgres => "diagnostic: synchronous_commit = off (no flush per commit)",
            },
            &st,
        );
        fast.pool.close().await;
        println!("\n(each after 100 appends not counted, to warm the connection and caches)\n");
    }

    // The chain is valid: spot checks of loaded rows, the seam between the load and the first
    // append, and the head.
    {
        let mut conn = db.pool.acquire().await.expect("connection");
        let head = one_i64(&mut conn, "SELECT head_seq FROM audit_chain WHERE id = 1").await;
        let mut seqs: Vec<i64> = (0..500).map(|_| rng.random_range(2..=head)).collect();
        seqs.extend([2, a.events, a.events + 1, a.events + 2, head]);
        seqs.retain(|s| *s >= 2 && *s <= head);
        let mut checked = 0;
        for s in &seqs {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM audit_events WHERE seq IN ($1, $2) ORDER BY seq"
            )))
            .bind(s - 1)
            .bind(*s)
            .fetch_all(&mut *conn)
            .await
            .expect("rows");
            let rows: Vec<StoredEvent> = rows.iter().map(|r| StoredEvent::from_row(r).expect("row")).collect();
            assert_eq!(rows.len(), 2, "seq {s}: missing");
            check_row(&rows[0], None).expect("chain");
            check_row(&rows[1], Some(&rows[0])).expect("chain");
            checked += 2;
        }
        let head_hash: String = sqlx::query("SELECT head_hash FROM audit_chain WHERE id = 1")
            .fetch_one(&mut *conn)
            .await
            .expect("head")
            .get(0);
        let last: String = sqlx::query("SELECT hash FROM audit_events WHERE seq = $1")
            .bind(head)
            .fetch_one(&mut *conn)
            .await
            .expect("last")
            .get(0);
        assert_eq!(head_hash, last, "the head does not match the last event");
        println!(
            "Chain spot check: {checked} rows re-hashed and linked (incl. the seam at {}), head matches.\n",
            a.events
        );
    }
    if a.verify {
        let t = Instant::now();
        let r = audit::verify::verify(&db, &[]).await.expect("verify");
        println!(
            "Full `audit::verify::verify`: {} events in {}, {} findings{}.\n",
            r.events,
            secs(t.elapsed()),
            r.findings.len(),
            r.findings
                .first()
                .map(|f| format!(" (first: {})", f.message))
                .unwrap_or_default()
        );
        assert!(r.ok(), "the chain does not verify");
    }

    let opts = search::Opts {
        runs: a.runs,
        cap: a.cap,
        page: a.page,
        explain: a.explain,
        only: a.only.clone(),
    };
    search::run(&db, world, &span, &mut rng, &opts).await;
    println!("Total wall time: {}.", secs(t0.elapsed()));
}
