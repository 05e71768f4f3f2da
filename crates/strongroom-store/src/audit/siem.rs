//! Where each named SIEM export stands: the last event (`seq`) it handed over and saw
//! confirmed. An export reads the events after it, delivers them, then moves it, so a crash
//! in between delivers those events again, never loses one (at least once).

use crate::db::Db;
use crate::error::Result;
use sqlx::Row;

/// The last place export `name` delivered; 0 for a new export.
pub async fn position(db: &Db, name: &str) -> Result<i64> {
    let row = sqlx::query("SELECT seq FROM siem_cursors WHERE name = $1")
        .bind(name.to_string())
        .fetch_optional(&db.read)
        .await?;
    Ok(match row {
        Some(r) => r.try_get("seq")?,
        None => 0,
    })
}

/// Records that export `name` delivered everything up to `seq` (never moving it back).
pub async fn advance(db: &Db, name: &str, seq: i64, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO siem_cursors (name, seq, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at \
         WHERE siem_cursors.seq < excluded.seq",
    )
    .bind(name.to_string())
    .bind(seq)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}
