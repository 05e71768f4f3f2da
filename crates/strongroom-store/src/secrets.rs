//! Secrets the instance keeps in its database — credentials of outside services (the S3
//! secret key today; SMTP and SMS credentials, 2FA seeds and signing keys as those features
//! arrive) — sealed under the master key. Every secret stored in the database goes through
//! this module; nothing else writes one.
//!
//! A sealed secret is an ordinary at-rest object (`docs/formats/at-rest-v1.md`, §8 "Sealed
//! secrets") whose object id is derived from the secret's name: the value of one secret copied
//! into another's row fails its MAC, as a blob swapped between versions does. With encryption
//! at rest off, secrets are kept in clear (`key_id` NULL), like blobs; `encryption enable`,
//! `disable` and `rotate-key` convert them with everything else (see [`reseal_all`]).

use crate::change::Change;
use crate::db::Db;
use crate::encryption::{KeyRing, crypto_err};
use crate::error::{Result, StoreError};
use sha2::{Digest, Sha256};
use sqlx::Row;
use strongroom_crypto::{MasterKey, ObjectId, decrypt_bytes, encrypt_bytes};
use zeroize::Zeroizing;

/// Longest secret name accepted.
const MAX_NAME: usize = 200;

/// Largest secret value accepted: credentials, seeds and keys, not documents.
pub const MAX_VALUE: usize = 64 * 1024;

/// A stored secret's name and how it is kept (its value is never listed).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SecretInfo {
    pub name: String,
    /// Hex id of the master key that seals it; `None`: kept in clear (encryption off).
    pub key_id: Option<String>,
    pub updated_at: i64,
}

/// Names are lower-case ASCII words joined by `.`, `_`, `-` or `:` (for example
/// `storage.s3.secret_access_key`), so they are safe in logs and on command lines.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-:".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "secret name {name:?} must be 1 to {MAX_NAME} characters of a-z, 0-9, '.', '_', '-', ':'"
        )))
    }
}

/// The object id a secret is sealed under: the first 16 bytes of
/// SHA-256("strongroom secret v1" || 0x00 || name).
pub fn object_id(name: &str) -> ObjectId {
    let mut h = Sha256::new();
    h.update(b"strongroom secret v1\0");
    h.update(name.as_bytes());
    let digest = h.finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(digest.get(..16).unwrap_or_default());
    ObjectId(id)
}

/// The stored form of `value`, sealed under `key` (in clear without one), and that key's id.
fn seal(key: Option<&MasterKey>, name: &str, value: &[u8]) -> Result<(String, Option<String>)> {
    match key {
        Some(master) => {
            let sealed = encrypt_bytes(master, object_id(name), value).map_err(crypto_err)?;
            Ok((hex::encode(sealed), Some(master.id().to_hex())))
        }
        None => Ok((hex::encode(value), None)),
    }
}

/// The value of a stored secret, checked: a sealed one must verify under a key the ring holds.
fn open(ring: &KeyRing, name: &str, stored: &str, key_id: Option<&str>) -> Result<Zeroizing<Vec<u8>>> {
    let bytes =
        Zeroizing::new(hex::decode(stored).map_err(|_| StoreError::Corrupt(format!("secret {name} is not hex")))?);
    let Some(key_id) = key_id else { return Ok(bytes) };
    if !ring.holds(key_id) {
        return Err(StoreError::Encryption(format!(
            "secret {name} is sealed with master key {key_id}, which this configuration does not provide"
        )));
    }
    decrypt_bytes(ring.all(), &object_id(name), &bytes)
        .map_err(|e| StoreError::Integrity(format!("secret {name}: {e}")))
}

/// Stores (or replaces) secret `name`.
pub async fn put(c: &mut Change, ring: &KeyRing, name: &str, value: &[u8]) -> Result<()> {
    check_name(name)?;
    if value.len() > MAX_VALUE {
        return Err(StoreError::Invalid(format!(
            "a secret holds at most {MAX_VALUE} bytes, not {}",
            value.len()
        )));
    }
    let (stored, key_id) = seal(ring.current(), name, value)?;
    sqlx::query(
        "INSERT INTO secrets (name, stored, key_id, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name) DO UPDATE SET stored = excluded.stored, key_id = excluded.key_id, updated_at = excluded.updated_at",
    )
    .bind(name.to_string())
    .bind(stored)
    .bind(key_id)
    .bind(c.now())
    .execute(c.conn())
    .await?;
    Ok(())
}

/// The value of secret `name`, or `None` if there is none.
pub async fn get(db: &Db, ring: &KeyRing, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
    let row = sqlx::query("SELECT stored, key_id FROM secrets WHERE name = $1")
        .bind(name.to_string())
        .fetch_optional(&db.pool)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let stored: String = row.try_get("stored")?;
    let key_id: Option<String> = row.try_get("key_id")?;
    open(ring, name, &stored, key_id.as_deref()).map(Some)
}

/// Deletes secret `name`; false if there was none.
pub async fn delete(c: &mut Change, name: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM secrets WHERE name = $1")
        .bind(name.to_string())
        .execute(c.conn())
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Every stored secret, by name (without values).
pub async fn list(db: &Db) -> Result<Vec<SecretInfo>> {
    sqlx::query("SELECT name, key_id, updated_at FROM secrets ORDER BY name")
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(SecretInfo {
                name: r.try_get("name")?,
                key_id: r.try_get("key_id")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .collect()
}

/// Every secret's (name, stored form, sealing key id), by name.
async fn stored_rows(db: &Db) -> Result<Vec<(String, String, Option<String>)>> {
    sqlx::query("SELECT name, stored, key_id FROM secrets ORDER BY name")
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get("stored")?, r.try_get("key_id")?)))
        .collect()
}

/// Brings every secret to the ring's current state: sealed under its current key, or in clear
/// when it has none (`encrypt` false: decrypting the instance). Secrets are small, so each is
/// re-sealed whole with a fresh data key; the row changes only if it still holds what was read
/// (another node may be doing the same). Returns how many changed; a secret that fails its
/// check is left as it is and reported by name.
pub async fn reseal_all(db: &Db, ring: &KeyRing, encrypt: bool, now: i64) -> Result<u64> {
    let sealing = if encrypt {
        Some(
            ring.current()
                .ok_or_else(|| StoreError::Encryption("no current master key".into()))?,
        )
    } else {
        None
    };
    let target = sealing.map(|k| k.id().to_hex());
    let mut changed = 0;
    let mut damaged = vec![];
    for (name, stored, key_id) in stored_rows(db).await? {
        if key_id == target {
            continue;
        }
        let value = match open(ring, &name, &stored, key_id.as_deref()) {
            Ok(v) => v,
            Err(e) => {
                damaged.push(format!("{name} ({e})"));
                continue;
            }
        };
        let (new_stored, new_key) = seal(sealing, &name, &value)?;
        let r =
            sqlx::query("UPDATE secrets SET stored = $1, key_id = $2, updated_at = $3 WHERE name = $4 AND stored = $5")
                .bind(new_stored)
                .bind(new_key)
                .bind(now)
                .bind(name)
                .bind(stored)
                .execute(&db.pool)
                .await?;
        changed += r.rows_affected();
    }
    if damaged.is_empty() {
        Ok(changed)
    } else {
        Err(StoreError::Integrity(format!(
            "secrets left as they are: {}",
            damaged.join("; ")
        )))
    }
}

/// Checks every secret opens and verifies; returns (checked, damaged as (name, problem)).
pub async fn verify(db: &Db, ring: &KeyRing) -> Result<(u64, Vec<(String, String)>)> {
    let rows = stored_rows(db).await?;
    let damaged = rows
        .iter()
        .filter_map(|(name, stored, key_id)| {
            open(ring, name, stored, key_id.as_deref())
                .err()
                .map(|e| (name.clone(), e.to_string()))
        })
        .collect();
    Ok((rows.len() as u64, damaged))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("storage.s3.secret_access_key").is_ok());
        assert!(check_name("totp:0f6c-user").is_ok());
        for bad in ["", "Upper", "space here", "semi;colon", &"x".repeat(MAX_NAME + 1)] {
            assert!(check_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn object_id_is_bound_to_the_name() {
        // Vector in docs/formats/at-rest-v1.md §8.
        assert_eq!(
            hex::encode(object_id("storage.s3.secret_access_key").0),
            "a6bf7b2e59049c2aa1bb1e8ef218a55c"
        );
        assert_ne!(object_id("a").0, object_id("b").0);
    }
}
