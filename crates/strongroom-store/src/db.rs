//! The metadata database: one SQL dialect that both SQLite and PostgreSQL accept, through
//! sqlx's `Any` driver, so the same queries (and the same test suite) run on both.
//!
//! Portable by construction: ids are UUID text, times are BIGINT milliseconds since the epoch,
//! flags are BIGINT 0/1, placeholders are `$1…` (SQLite reads them as numbered parameters).

use crate::error::Result;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::time::Duration;

/// Which SQL engine is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Connections to the metadata database: `pool` for everything that writes (and reads that
/// must see a transaction's own writes), `read` for the reads of the request path. On
/// PostgreSQL they are the same pool. On SQLite, `pool` is the one writer connection and
/// `read` a pool of read-only connections: in WAL mode readers do not wait for the writer
/// nor for each other, so listings and downloads scale with connections while writes stay
/// serialised (and cannot deadlock upgrading a read to a write).
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub read: AnyPool,
    pub backend: Backend,
}

/// Read-only SQLite connections: a few per core is plenty (each read is short).
fn sqlite_readers() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    u32::try_from(cores * 2).unwrap_or(8).clamp(2, 16)
}

/// Schema migrations, applied in order, each once. FROZEN: never edit a released step;
/// add a new one.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("schema/0001_initial.sql")),
    (2, include_str!("schema/0002_encryption.sql")),
    (3, include_str!("schema/0003_conversion_runs.sql")),
    (4, include_str!("schema/0004_secrets.sql")),
    (5, include_str!("schema/0005_grants.sql")),
];

impl Db {
    /// Connects and brings the schema up to date. `url` is `sqlite://PATH` or
    /// `postgres://…`; a SQLite file is created if missing.
    pub async fn connect(url: &str) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(crate::StoreError::Invalid(
                "database.url must start with sqlite:// or postgres://".into(),
            ));
        };
        let pool = match backend {
            Backend::Sqlite => {
                // Create the file if needed; WAL for concurrent readers, and a single
                // connection: SQLite has one writer anyway, and a lone connection cannot hit
                // the read-to-write upgrade deadlock that returns SQLITE_BUSY at once.
                let url = if url.contains('?') {
                    url.to_string()
                } else {
                    format!("{url}?mode=rwc")
                };
                AnyPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            for pragma in [
                                "PRAGMA journal_mode = WAL",
                                "PRAGMA synchronous = FULL",
                                "PRAGMA foreign_keys = ON",
                                "PRAGMA busy_timeout = 10000",
                            ] {
                                sqlx::query(pragma).execute(&mut *conn).await?;
                            }
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect(url)
                    .await?
            }
        };
        let mut db = Db {
            read: pool.clone(),
            pool,
            backend,
        };
        db.migrate().await?;
        if backend == Backend::Sqlite {
            // Opened once the file and its schema exist; read-only, so a bug cannot write
            // through them.
            let path = url.split('?').next().unwrap_or(url);
            db.read = AnyPoolOptions::new()
                .max_connections(sqlite_readers())
                .acquire_timeout(Duration::from_secs(30))
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut *conn).await?;
                        Ok(())
                    })
                })
                .connect(&format!("{path}?mode=ro"))
                .await?;
        }
        Ok(db)
    }

    async fn migrate(&self) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            // Several app nodes may start at once: one migrates, the others wait here.
            sqlx::query("SELECT pg_advisory_xact_lock(7365727665720001)")
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        let current: i64 = sqlx::query("SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) AS v FROM schema_migrations")
            .fetch_one(&mut *tx)
            .await?
            .try_get("v")?;
        let newest = MIGRATIONS.last().map_or(0, |m| m.0);
        if current > newest {
            return Err(crate::StoreError::Corrupt(format!(
                "the database schema is version {current}, newer than this binary knows ({newest}); upgrade strongroom"
            )));
        }
        for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
            for stmt in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                sqlx::query(stmt).execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(*version)
                .bind(0_i64)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Reads a BIGINT 0/1 flag.
pub(crate) fn flag(row: &AnyRow, col: &str) -> Result<bool> {
    Ok(row.try_get::<i64, _>(col)? != 0)
}

impl Db {
    /// Whether the database answers (for health checks).
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}
