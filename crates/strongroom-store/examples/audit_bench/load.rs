//! The bulk load: rows exactly as the store writes them, chained, in big transactions.

use crate::world::{SPAN, World, uuid7};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use sqlx::{AnyConnection, Row};
use std::time::{Duration, Instant};
use strongroom_core::audit::AuditEvent;
use strongroom_store::audit::{COLUMNS, StoredEvent, chain};
use strongroom_store::{Backend, Db};

/// Rows per multi-row INSERT (25 columns: 25,000 parameters, under SQLite's 32,766).
const ROWS_PER_INSERT: usize = 1000;
/// Rows per load transaction.
const ROWS_PER_TX: usize = 100_000;

/// The row `StoredEvent::new` makes of `e`, with a historical id and time.
fn stored(e: &AuditEvent, id: String, at: i64) -> StoredEvent {
    StoredEvent {
        seq: 0,
        id,
        at,
        action: e.action.name().into(),
        product: e.action.product().into(),
        module: e.action.module().into(),
        outcome: e.outcome.as_str().into(),
        initiator: Some(e.initiator().as_str().into()),
        actor_id: e.actor_id.clone(),
        actor_name: e.actor_name.clone(),
        actor_email: e.actor_email.clone(),
        target_kind: e.target_kind.map(str::to_string),
        target_id: e.target_id.clone(),
        target_name: e.target_name.clone(),
        target_path: e.target_path.clone(),
        ip: e.origin.ip.clone(),
        user_agent: e.origin.user_agent.clone(),
        route: e.origin.route.clone(),
        request_id: e.origin.request_id.clone(),
        details: e.details.to_string(),
        ..StoredEvent::default()
    }
}

/// What `StoredEvent::link` does: a fresh salt, the personal digest, the place after `prev`
/// and the hash.
fn link(row: &mut StoredEvent, seq: i64, prev: &[u8; 32], rng: &mut StdRng) -> [u8; 32] {
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    let digest = chain::personal_digest(&salt, &row.personal());
    let hash = chain::event_hash(prev, &row.frame(&digest));
    row.seq = seq;
    row.personal_salt = Some(hex::encode(salt));
    row.personal_digest = hex::encode(digest);
    row.prev_hash = hex::encode(prev);
    row.hash = hex::encode(hash);
    hash
}

/// Whether a row read back is intact: its digest, its hash, and (given the row before it)
/// its link.
pub(crate) fn check_row(r: &StoredEvent, before: Option<&StoredEvent>) -> Result<(), String> {
    let salt: [u8; 16] = hex::decode(r.personal_salt.as_deref().unwrap_or(""))
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| format!("seq {}: bad salt", r.seq))?;
    let digest = chain::personal_digest(&salt, &r.personal());
    if hex::encode(digest) != r.personal_digest {
        return Err(format!("seq {}: personal digest differs", r.seq));
    }
    let prev = chain::parse_hash(&r.prev_hash).ok_or_else(|| format!("seq {}: bad prev_hash", r.seq))?;
    if hex::encode(chain::event_hash(&prev, &r.frame(&digest))) != r.hash {
        return Err(format!("seq {}: hash differs", r.seq));
    }
    if let Some(b) = before
        && (b.seq + 1 != r.seq || b.hash != r.prev_hash)
    {
        return Err(format!("seq {}: does not follow seq {}", r.seq, b.seq));
    }
    Ok(())
}

pub(crate) async fn exec(conn: &mut AnyConnection, sql: &str) {
    // The simple protocol: VACUUM may not run in the extended one's implicit transaction.
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A multi-row INSERT. On SQLite with anonymous `?` placeholders: sqlx looks each numbered
/// one up by name, and SQLite finds a name by walking the list of them, which is quadratic
/// in a statement of 25,000 parameters.
fn insert_sql(n: usize, backend: Backend) -> String {
    let mut sql = format!("INSERT INTO audit_events ({COLUMNS}) VALUES ");
    for i in 0..n {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..25 {
            if c > 0 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => sql.push_str(&format!("${}", i * 25 + c + 1)),
            }
        }
        sql.push(')');
    }
    sql
}

async fn insert_rows(conn: &mut AnyConnection, sql: &str, rows: &[StoredEvent]) {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()));
    for r in rows {
        q = r.bind(q);
    }
    q.execute(&mut *conn).await.expect("bulk insert");
}

/// The secondary indexes of `audit_events` as the migrations made them: (name, definition).
async fn audit_indexes(conn: &mut AnyConnection, backend: Backend) -> Vec<(String, String)> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_events' AND sql IS NOT NULL ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT CAST(i.relname AS TEXT) AS name, pg_get_indexdef(i.oid) AS sql FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
             JOIN pg_class t ON t.oid = x.indrelid WHERE t.relname = 'audit_events' AND NOT x.indisprimary ORDER BY i.relname"
        }
    };
    sqlx::query(sql)
        .fetch_all(&mut *conn)
        .await
        .expect("index definitions")
        .iter()
        .map(|r| (r.get::<String, _>("name"), r.get::<String, _>("sql")))
        .collect()
}

pub(crate) async fn one_i64(conn: &mut AnyConnection, sql: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get::<i64, _>(0)
}

pub(crate) fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// Loads `n` events ending just before `end_ms`; returns the time it took.
pub(crate) async fn load(db: &Db, world: &'static World, n: i64, end_ms: i64, seed: u64) -> Duration {
    let started = Instant::now();
    let mut conn = db.pool.acquire().await.expect("connection");
    let head = one_i64(&mut conn, "SELECT head_seq FROM audit_chain WHERE id = 1").await;
    let rows = one_i64(&mut conn, "SELECT COUNT(*) FROM audit_events").await;
    assert!(
        head == 0 && rows == 0,
        "the database already holds audit events: give a fresh one (or --reuse)"
    );
    match db.backend {
        Backend::Sqlite => {
            // For the load only (this connection is closed before measuring): a big page
            // cache and sorter threads for the index builds.
            exec(&mut conn, "PRAGMA cache_size = -1048576").await;
            exec(&mut conn, "PRAGMA threads = 2").await;
        }
        Backend::Postgres => {
            exec(&mut conn, "SET maintenance_work_mem = '1GB'").await;
        }
    }
    let indexes = audit_indexes(&mut conn, db.backend).await;
    for (name, _) in &indexes {
        exec(&mut conn, &format!("DROP INDEX {name}")).await;
    }
    let names: Vec<&str> = indexes.iter().map(|(name, _)| name.as_str()).collect();
    println!(
        "- the {} audit indexes of the migrations, dropped for the load and re-created after it: {}",
        names.len(),
        names.join(", ")
    );

    // Rows are made and chained on a thread of their own while this one writes.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<StoredEvent>>(8);
    let start_ms = end_ms - SPAN;
    let step = SPAN as f64 / n as f64;
    let maker = std::thread::spawn(move || {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
        let mut prev = chain::GENESIS;
        let mut seq = 1i64;
        while seq <= n {
            let mut batch = Vec::with_capacity(ROWS_PER_INSERT);
            while batch.len() < ROWS_PER_INSERT && seq <= n {
                let e = world.event(&mut rng);
                // Spread over the span, in order, a little jitter within each event's slot.
                let at = start_ms + ((seq - 1) as f64 * step + rng.random::<f64>() * step * 0.9) as i64;
                let mut row = stored(&e, uuid7(&mut rng, at), at);
                prev = link(&mut row, seq, &prev, &mut rng);
                batch.push(row);
                seq += 1;
            }
            if tx.blocking_send(batch).is_err() {
                return;
            }
        }
    });

    let full = insert_sql(ROWS_PER_INSERT, db.backend);
    let mut done = 0usize;
    let mut last_hash = hex::encode(chain::GENESIS);
    let mut t = sqlx::Connection::begin(&mut *conn).await.expect("begin");
    let mut in_tx = 0usize;
    let mut report = Instant::now();
    while let Some(batch) = rx.recv().await {
        let sql = if batch.len() == ROWS_PER_INSERT {
            full.clone()
        } else {
            insert_sql(batch.len(), db.backend)
        };
        insert_rows(&mut t, &sql, &batch).await;
        done += batch.len();
        in_tx += batch.len();
        last_hash = batch.last().map(|r| r.hash.clone()).unwrap_or(last_hash);
        if in_tx >= ROWS_PER_TX {
            t.commit().await.expect("commit");
            t = sqlx::Connection::begin(&mut *conn).await.expect("begin");
            in_tx = 0;
        }
        if report.elapsed() > Duration::from_secs(30) {
            let s = started.elapsed().as_secs_f64();
            eprintln!("  {done} rows in {s:.0} s ({:.0} rows/s)", done as f64 / s);
            report = Instant::now();
        }
    }
    maker.join().expect("generator");
    // The head, where `record()` continues from (what `claim` and `set_head_hash` keep).
    sqlx::query("UPDATE audit_chain SET head_seq = $1, head_hash = $2 WHERE id = 1")
        .bind(n)
        .bind(&last_hash)
        .execute(&mut *t)
        .await
        .expect("head");
    t.commit().await.expect("commit");
    let rows_done = started.elapsed();
    println!(
        "- rows: {done} in {} ({:.0} rows/s, {ROWS_PER_INSERT} rows per INSERT, {ROWS_PER_TX} per transaction)",
        secs(rows_done),
        done as f64 / rows_done.as_secs_f64()
    );

    for (name, def) in &indexes {
        let t0 = Instant::now();
        exec(&mut conn, def).await;
        println!("- index {name}: {}", secs(t0.elapsed()));
    }
    // Where each hour lies in the chain (migration 18): `audit::append` keeps `audit_hours`,
    // and the migration's backfill ran on the empty table; the rows loaded around `append`
    // are entered here, as that backfill would have.
    let t0 = Instant::now();
    exec(&mut conn, "DELETE FROM audit_hours").await;
    exec(
        &mut conn,
        "INSERT INTO audit_hours (hour, first_seq, last_seq) \
         SELECT at / 3600000, MIN(seq), MAX(seq) FROM audit_events WHERE seq IS NOT NULL GROUP BY at / 3600000",
    )
    .await;
    // Migration 19 marks how far `audit_hours` has noted the chain: all of it now (else the
    // first append would note the whole trail, and dated searches stay unbounded until then).
    let watermark = match db.backend {
        Backend::Sqlite => "SELECT COUNT(*) FROM pragma_table_info('audit_chain') WHERE name = 'hours_seq'",
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'audit_chain' AND column_name = 'hours_seq' \
             AND table_schema = current_schema()"
        }
    };
    let marked = one_i64(&mut conn, watermark).await > 0;
    if marked {
        exec(&mut conn, "UPDATE audit_chain SET hours_seq = head_seq WHERE id = 1").await;
    }
    let hours = one_i64(&mut conn, "SELECT COUNT(*) FROM audit_hours").await;
    println!(
        "- audit_hours: {hours} hours in {}{}",
        secs(t0.elapsed()),
        if marked {
            " (and audit_chain.hours_seq set to the head)"
        } else {
            ""
        }
    );
    let t0 = Instant::now();
    match db.backend {
        Backend::Sqlite => {
            exec(&mut conn, "ANALYZE").await;
            println!("- ANALYZE: {}", secs(t0.elapsed()));
            let t0 = Instant::now();
            exec(&mut conn, "PRAGMA wal_checkpoint(TRUNCATE)").await;
            println!("- WAL checkpoint: {}", secs(t0.elapsed()));
        }
        Backend::Postgres => {
            // VACUUM as well: autovacuum would do it to an insert-only table soon anyway
            // (and in the middle of the measurements); it sets the visibility map.
            exec(&mut conn, "VACUUM (ANALYZE) audit_events").await;
            exec(&mut conn, "ANALYZE").await;
            println!("- VACUUM (ANALYZE): {}", secs(t0.elapsed()));
            let t0 = Instant::now();
            exec(&mut conn, "CHECKPOINT").await;
            println!("- CHECKPOINT: {}", secs(t0.elapsed()));
        }
    }
    started.elapsed()
}
