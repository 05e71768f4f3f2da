//! The metadata database: one SQL dialect that both SQLite and PostgreSQL accept, through
//! sqlx's `Any` driver, so the same queries (and the same test suite) run on both.
//!
//! Portable by construction: ids are UUID text, times are BIGINT milliseconds since the epoch,
//! flags are BIGINT 0/1, placeholders are `$1…` (SQLite reads them as numbered parameters).

use crate::error::Result;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Row, SqlSafeStr};
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

/// Schema migrations, applied in order by sqlx's migrator: each once, in a transaction of its
/// own, with its checksum recorded in `_sqlx_migrations`. FROZEN: never edit a released step
/// (an instance that applied it refuses to start: "previously applied but has been
/// modified"); add a new one. Every step is written in the SQL both engines accept; a step
/// that cannot be would name a file per backend here.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("schema/0001_initial.sql")),
    (2, "encryption", include_str!("schema/0002_encryption.sql")),
    (3, "conversion runs", include_str!("schema/0003_conversion_runs.sql")),
    (4, "secrets", include_str!("schema/0004_secrets.sql")),
    (5, "grants", include_str!("schema/0005_grants.sql")),
    (6, "settings", include_str!("schema/0006_settings.sql")),
    (7, "sign-in", include_str!("schema/0007_sign_in.sql")),
    (8, "password resets", include_str!("schema/0008_password_resets.sql")),
    (9, "invitations", include_str!("schema/0009_invitations.sql")),
    (10, "usage", include_str!("schema/0010_usage.sql")),
    (11, "usage locks", include_str!("schema/0011_usage_locks.sql")),
    (12, "second factors", include_str!("schema/0012_second_factors.sql")),
    (
        13,
        "passkey ceremonies",
        include_str!("schema/0013_passkey_ceremonies.sql"),
    ),
    (14, "audit chain", include_str!("schema/0014_audit_chain.sql")),
    (15, "privacy", include_str!("schema/0015_privacy.sql")),
    (16, "monitoring", include_str!("schema/0016_monitoring.sql")),
    (
        17,
        "audit_module_index",
        include_str!("schema/0017_audit_module_index.sql"),
    ),
    (18, "audit search", include_str!("schema/0018_audit_search.sql")),
    (
        19,
        "audit hours watermark",
        include_str!("schema/0019_audit_hours_watermark.sql"),
    ),
];

/// What binaries from before the migrator read to learn the schema's version: this one is
/// newer than any of them knows, so they refuse to start instead of running on a schema they
/// do not understand.
const LEGACY_SENTINEL: i64 = 1_000_000;

/// The schema step this binary brings a database to.
pub fn schema_version() -> i64 {
    MIGRATIONS.last().map_or(0, |(v, _, _)| *v)
}

/// The steps up to `upto` (all of them without).
fn migrator(upto: Option<i64>) -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .filter(|(v, _, _)| upto.is_none_or(|u| *v <= u))
            .map(|(v, name, sql)| Migration::new(*v, (*name).into(), MigrationType::Simple, sql.into_sql_str(), false))
            .collect(),
    )
}

impl Db {
    /// Connects and brings the schema up to date. `url` is `sqlite://PATH` or
    /// `postgres://…`; a SQLite file is created if missing.
    pub async fn connect(url: &str) -> Result<Db> {
        Db::connect_at(url, None).await
    }

    /// Connects and brings the schema up to step `upto` only (all steps without): a restore
    /// loads a backup into the schema it was taken from, then connects again for the rest.
    pub async fn connect_at(url: &str, upto: Option<i64>) -> Result<Db> {
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
                                // What is deleted is overwritten with zeros, not left in free
                                // pages: an erased person's data must not linger in the file.
                                "PRAGMA secure_delete = ON",
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
                // A request waits at most 10 s for a connection: when the database is
                // unreachable, it is answered 503 then, not held for half a minute.
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?
            }
        };
        let mut db = Db {
            read: pool.clone(),
            pool,
            backend,
        };
        db.migrate(upto).await?;
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

    async fn migrate(&self, upto: Option<i64>) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        if self.backend == Backend::Sqlite {
            return self.migrate_on(&mut conn, upto).await;
        }
        // Several app nodes may start at once, during a rolling upgrade some of them older
        // binaries (which take this same lock, per transaction): one migrates at a time.
        sqlx::query("SELECT pg_advisory_lock(7365727665720001)")
            .execute(&mut *conn)
            .await?;
        let done = self.migrate_on(&mut conn, upto).await;
        let unlocked = sqlx::query("SELECT pg_advisory_unlock(7365727665720001)")
            .execute(&mut *conn)
            .await;
        if unlocked.is_err() {
            // A connection that may still hold the lock must not go back to the pool.
            conn.detach();
        }
        done
    }

    async fn migrate_on(&self, conn: &mut sqlx::AnyConnection, upto: Option<i64>) -> Result<()> {
        let migrator = migrator(upto);
        // An instance from before the migrator kept its version in `schema_migrations`, with
        // the same steps: those are marked applied (not run again), then the rest run.
        if let Some(done) = self.legacy_version(conn).await? {
            if done >= LEGACY_SENTINEL {
                // Already adopted by the migrator; `_sqlx_migrations` says the rest.
            } else if done > MIGRATIONS.len() as i64 {
                return Err(crate::StoreError::Corrupt(format!(
                    "the database schema is version {done}, newer than this binary knows; upgrade strongroom"
                )));
            } else {
                migrator.skip(&mut *conn, Some(done)).await.map_err(migrate_error)?;
            }
        }
        migrator.run(&mut *conn).await.map_err(migrate_error)?;
        crate::audit::chain_legacy(conn).await?;
        // In one transaction, so that an older binary never reads a version it would take for
        // its own.
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM schema_migrations WHERE version <> $1")
            .bind(LEGACY_SENTINEL)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0) ON CONFLICT (version) DO NOTHING",
        )
        .bind(LEGACY_SENTINEL)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The newest step recorded by the hand-written migrations of earlier releases, if this
    /// database has their table.
    async fn legacy_version(&self, conn: &mut sqlx::AnyConnection) -> Result<Option<i64>> {
        let exists = match self.backend {
            Backend::Sqlite => {
                "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
            }
            // Found the way an unqualified name is (the search path), as the old binary did.
            Backend::Postgres => {
                "SELECT COUNT(*) AS n FROM (SELECT to_regclass('schema_migrations') AS t) r WHERE t IS NOT NULL"
            }
        };
        let n: i64 = sqlx::query(exists).fetch_one(&mut *conn).await?.try_get("n")?;
        if n == 0 {
            return Ok(None);
        }
        let v: i64 = sqlx::query("SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) AS v FROM schema_migrations")
            .fetch_one(&mut *conn)
            .await?
            .try_get("v")?;
        Ok(Some(v))
    }
}

/// The migrator's refusals, said so that the person starting the server knows what to do.
fn migrate_error(e: MigrateError) -> crate::StoreError {
    crate::StoreError::Corrupt(match e {
        MigrateError::VersionMissing(v) => format!(
            "the database has schema step {v}, which this binary does not know: it was upgraded by a newer strongroom; upgrade strongroom"
        ),
        MigrateError::VersionMismatch(v) => format!(
            "schema step {v} differs from the one this database applied; refusing to start (a released step must never change)"
        ),
        e => format!("schema migration failed: {e}"),
    })
}

impl Backend {
    /// The engine behind a connection.
    pub(crate) fn of(conn: &sqlx::AnyConnection) -> Backend {
        if conn.backend_name().eq_ignore_ascii_case("sqlite") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }

    /// How the engine aggregates rows into one JSON array of tuples, as text: the aggregate,
    /// the tuple constructor, and the cast. One row instead of many: with SQLite every row of
    /// a result crosses a thread boundary on its own, with PostgreSQL every query is a round
    /// trip.
    pub(crate) fn json_aggregate(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Backend::Sqlite => ("json_group_array", "json_array", ""),
            Backend::Postgres => ("json_agg", "json_build_array", "::text"),
        }
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
