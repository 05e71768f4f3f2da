//! Stored versions as the encryption conversion, the key rotation and the storage check see
//! them: every version's blob and encryption record, walked in pages, swapped or re-wrapped
//! in place.

use super::*;

/// A stored version as the encryption conversion and the storage check see it.
#[derive(Clone, Debug)]
pub struct StoredVersion {
    pub file_id: FileId,
    pub version: i64,
    pub blob_key: String,
    pub size: i64,
    pub sha256: String,
    pub encryption: Option<BlobEncryption>,
    /// Room, folder path and file name, for reports.
    pub name: String,
}

const STORED_SELECT: &str = "SELECT v.file_id, v.version, v.blob_key, v.size, v.sha256, v.enc_key_id, v.enc_object_id, f.name \
     FROM file_versions v JOIN files f ON f.id = v.file_id";

fn stored_from_row(r: &AnyRow) -> Result<StoredVersion> {
    Ok(StoredVersion {
        file_id: FileId::from_trusted(r.try_get("file_id")?),
        version: r.try_get("version")?,
        blob_key: r.try_get("blob_key")?,
        size: r.try_get("size")?,
        sha256: r.try_get("sha256")?,
        encryption: encryption_from_row(r)?,
        name: r.try_get("name")?,
    })
}

/// Every stored version, in a stable order, `limit` at a time after `after` (file id, version).
pub async fn stored_versions(db: &Db, after: Option<(&str, i64)>, limit: i64) -> Result<Vec<StoredVersion>> {
    let (f, v) = after.unwrap_or(("", 0));
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "{STORED_SELECT} WHERE v.file_id > $1 OR (v.file_id = $1 AND v.version > $2) ORDER BY v.file_id, v.version LIMIT $3"
    )))
    .bind(f.to_string())
    .bind(v)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(stored_from_row)
    .collect()
}

/// The state a conversion brings every stored version to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Encrypted (under any held key): plaintext versions are encrypted.
    Encrypted,
    /// Encrypted under the current key with fresh data keys: also re-encrypts versions under
    /// older keys (`rotate-key --reencrypt`).
    CurrentKey,
    /// Plaintext: encrypted versions are decrypted.
    Plaintext,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Encrypted => "encrypted",
            Target::CurrentKey => "current_key",
            Target::Plaintext => "plaintext",
        }
    }

    /// SQL condition for "already there"; takes the current key id as `$1` (or "").
    fn done(self) -> &'static str {
        match self {
            Target::Encrypted => "(enc_key_id IS NOT NULL AND $1 = $1)",
            Target::CurrentKey => "(enc_key_id IS NOT NULL AND enc_key_id = $1)",
            Target::Plaintext => "(enc_key_id IS NULL AND $1 = $1)",
        }
    }
}

/// Versions not yet in the target state.
pub async fn versions_to_convert(db: &Db, target: Target, key_id: &str, limit: i64) -> Result<Vec<StoredVersion>> {
    let done = target.done().replace("enc_key_id", "v.enc_key_id");
    stored_where(db, &format!("NOT {done}"), key_id, limit).await
}

/// Counts for progress: (versions, bytes) in total and already in the target state.
pub async fn conversion_progress(db: &Db, target: Target, key_id: &str) -> Result<(i64, i64, i64, i64)> {
    let done = target.done();
    let r = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(size), 0) AS BIGINT) AS b, \
         CAST(COALESCE(SUM(CASE WHEN {done} THEN 1 ELSE 0 END), 0) AS BIGINT) AS dn, \
         CAST(COALESCE(SUM(CASE WHEN {done} THEN size ELSE 0 END), 0) AS BIGINT) AS db_ FROM file_versions"
    )))
    .bind(key_id.to_string())
    .fetch_one(&db.pool)
    .await?;
    Ok((r.try_get("n")?, r.try_get("b")?, r.try_get("dn")?, r.try_get("db_")?))
}

/// Points a version at a rewritten blob, if it still points at `old_key` (another node may
/// have converted it meanwhile); the blob that lost is queued for deletion either way.
pub async fn swap_blob(db: &Db, v: &StoredVersion, new: &StoredBlob, now: i64) -> Result<bool> {
    let mut tx = db.pool.begin().await?;
    let r = sqlx::query(
        "UPDATE file_versions SET blob_key = $1, enc_key_id = $2, enc_object_id = $3 WHERE file_id = $4 AND version = $5 AND blob_key = $6",
    )
    .bind(new.key.clone())
    .bind(new.encryption.as_ref().map(|e| e.key_id.clone()))
    .bind(new.encryption.as_ref().map(|e| e.object_id.clone()))
    .bind(s(&v.file_id))
    .bind(v.version)
    .bind(v.blob_key.clone())
    .execute(&mut *tx)
    .await?;
    let swapped = r.rows_affected() == 1;
    let loser = if swapped { v.blob_key.clone() } else { new.key.clone() };
    queue_garbage(&mut tx, &[loser], now).await?;
    tx.commit().await?;
    Ok(swapped)
}

/// Hex ids of every master key some version or secret is encrypted under.
pub async fn key_ids_in_use(db: &Db) -> Result<Vec<String>> {
    sqlx::query(
        "SELECT enc_key_id FROM file_versions WHERE enc_key_id IS NOT NULL \
         UNION SELECT key_id FROM secrets WHERE key_id IS NOT NULL",
    )
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| r.try_get("enc_key_id").map_err(StoreError::from))
    .collect()
}

/// Records a rotated key for a version's blob (and its new name, if it was copied).
pub async fn set_blob_encryption(db: &Db, v: &StoredVersion, key: &str, enc: &BlobEncryption, now: i64) -> Result<()> {
    let mut tx = db.pool.begin().await?;
    let r = sqlx::query(
        "UPDATE file_versions SET blob_key = $1, enc_key_id = $2 WHERE file_id = $3 AND version = $4 AND blob_key = $5",
    )
    .bind(key.to_string())
    .bind(enc.key_id.clone())
    .bind(s(&v.file_id))
    .bind(v.version)
    .bind(v.blob_key.clone())
    .execute(&mut *tx)
    .await?;
    if key != v.blob_key {
        let loser = if r.rows_affected() == 1 {
            v.blob_key.clone()
        } else {
            key.to_string()
        };
        queue_garbage(&mut tx, &[loser], now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Encrypted versions under another master key than `key_id`.
pub async fn versions_to_rewrap(db: &Db, key_id: &str, limit: i64) -> Result<Vec<StoredVersion>> {
    stored_where(db, "v.enc_key_id IS NOT NULL AND v.enc_key_id <> $1", key_id, limit).await
}

/// Stored versions matching `cond` (which takes a key id as `$1`), `limit` at a time.
async fn stored_where(db: &Db, cond: &str, key_id: &str, limit: i64) -> Result<Vec<StoredVersion>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "{STORED_SELECT} WHERE {cond} ORDER BY v.file_id, v.version LIMIT $2"
    )))
    .bind(key_id.to_string())
    .bind(limit)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(stored_from_row)
    .collect()
}

/// How many objects (versions and secrets) each master key encrypts.
pub async fn key_usage(db: &Db) -> Result<Vec<(String, i64)>> {
    sqlx::query(
        "SELECT enc_key_id, COUNT(*) AS n FROM ( \
             SELECT enc_key_id FROM file_versions WHERE enc_key_id IS NOT NULL \
             UNION ALL SELECT key_id FROM secrets WHERE key_id IS NOT NULL \
         ) used GROUP BY enc_key_id ORDER BY enc_key_id",
    )
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("enc_key_id")?, r.try_get("n")?)))
    .collect()
}

/// Every blob key a row refers to: current and old versions, and blobs queued for deletion.
pub async fn referenced_blob_keys(db: &Db) -> Result<std::collections::HashSet<String>> {
    let mut keys = std::collections::HashSet::new();
    for sql in [
        "SELECT blob_key FROM file_versions",
        "SELECT blob_key FROM blob_garbage",
    ] {
        for r in sqlx::query(sql).fetch_all(&db.pool).await? {
            keys.insert(r.try_get::<String, _>("blob_key")?);
        }
    }
    Ok(keys)
}

/// Queues blobs for deletion by the sweeper.
pub async fn queue_for_deletion(db: &Db, keys: &[String], now: i64) -> Result<()> {
    let mut tx = db.pool.begin().await?;
    queue_garbage(&mut tx, keys, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Notes that a conversion towards `target` starts now, from `start_bytes` already done.
pub async fn record_conversion_run(db: &Db, target: Target, now: i64, start_bytes: i64) -> Result<()> {
    let mut tx = db.pool.begin().await?;
    sqlx::query("DELETE FROM conversion_runs WHERE target = $1")
        .bind(target.name())
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO conversion_runs (target, started_at, start_bytes) VALUES ($1, $2, $3)")
        .bind(target.name())
        .bind(now)
        .bind(start_bytes)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// When the latest conversion towards `target` started, and the bytes done then.
pub async fn conversion_run(db: &Db, target: Target) -> Result<Option<(i64, i64)>> {
    let row = sqlx::query("SELECT started_at, start_bytes FROM conversion_runs WHERE target = $1")
        .bind(target.name())
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| Ok((r.try_get("started_at")?, r.try_get("start_bytes")?)))
        .transpose()
}
