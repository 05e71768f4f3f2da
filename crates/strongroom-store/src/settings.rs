//! Instance settings: one JSON document per name (`password_policy`, …). Read on every use
//! (they are small and rarely written), so a change made on one node holds on every node at
//! once; written only inside a change, with its audit event.

use crate::change::Change;
use crate::db::Db;
use crate::error::{Result, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Row;

/// The stored value of setting `name`, if one was ever set.
pub async fn get<T: DeserializeOwned>(db: &Db, name: &str) -> Result<Option<T>> {
    let row = sqlx::query("SELECT value FROM settings WHERE name = $1")
        .bind(name.to_string())
        .fetch_optional(&db.read)
        .await?;
    row.map(|r| {
        let text: String = r.try_get("value")?;
        serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("setting {name}: {e}")))
    })
    .transpose()
}

/// Sets `name` to `value`; gives the value it replaces (none: the default was in force).
pub async fn put<T: Serialize + DeserializeOwned>(c: &mut Change, name: &str, value: &T) -> Result<Option<T>> {
    let text = serde_json::to_string(value).map_err(|e| StoreError::Invalid(format!("setting {name}: {e}")))?;
    let now = c.now();
    let tx = c.conn();
    let before = sqlx::query("SELECT value FROM settings WHERE name = $1")
        .bind(name.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| {
            let text: String = r.try_get("value")?;
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("setting {name}: {e}")))
        })
        .transpose()?;
    sqlx::query(
        "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(name.to_string())
    .bind(text)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(before)
}
