//! Seals: signed statements that the chain's event number `seq` had hash `hash` at time `at`
//! (`docs/formats/audit-chain-v1.md` §5). The key is outside the database, so a rewrite of
//! the trail that recomputes every hash still fails at the first seal after the rewrite; and
//! retention pruning moves the chain's start only to a sealed place, which the seal vouches for.

use super::chain;
use crate::change::Change;
use crate::db::Db;
use crate::error::{Result, StoreError};
use sqlx::Row;
use strongroom_core::audit::AuditEvent;
use strongroom_crypto::SealKey;

/// A seal as stored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Seal {
    pub seq: i64,
    pub hash: String,
    pub at: i64,
    /// The Ed25519 public key that signed, hex.
    pub public_key: String,
    /// The signature, hex.
    pub signature: String,
}

/// The chain's row: its head and where the kept part starts.
#[derive(Clone, Debug)]
pub struct ChainState {
    pub head_seq: i64,
    pub head_hash: String,
    pub start_seq: i64,
    pub start_prev: String,
}

pub async fn chain_state(db: &Db) -> Result<ChainState> {
    let r = sqlx::query("SELECT head_seq, head_hash, start_seq, start_prev FROM audit_chain WHERE id = 1")
        .fetch_one(&db.read)
        .await?;
    Ok(ChainState {
        head_seq: r.try_get("head_seq")?,
        head_hash: r.try_get("head_hash")?,
        start_seq: r.try_get("start_seq")?,
        start_prev: r.try_get("start_prev")?,
    })
}

/// Seals the committed head, unless it is already sealed (by this node or another) or the
/// trail is empty. Returns the new seal.
pub async fn seal(db: &Db, key: &SealKey, now: i64) -> Result<Option<Seal>> {
    let state = chain_state(db).await?;
    if state.head_seq == 0 || latest(db).await?.is_some_and(|s| s.seq >= state.head_seq) {
        return Ok(None);
    }
    let hash = chain::parse_hash(&state.head_hash)
        .ok_or_else(|| StoreError::Corrupt("the audit chain's head hash is not a hash".into()))?;
    let seal = Seal {
        seq: state.head_seq,
        hash: state.head_hash,
        at: now,
        public_key: key.public_key_hex(),
        signature: hex::encode(key.sign(&chain::seal_message(state.head_seq, &hash, now))),
    };
    let done = sqlx::query(
        "INSERT INTO audit_seals (seq, hash, at, public_key, signature) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING",
    )
    .bind(seal.seq)
    .bind(&seal.hash)
    .bind(seal.at)
    .bind(&seal.public_key)
    .bind(&seal.signature)
    .execute(&db.pool)
    .await?;
    Ok((done.rows_affected() == 1).then_some(seal))
}

fn seal_of(r: &sqlx::any::AnyRow) -> Result<Seal> {
    Ok(Seal {
        seq: r.try_get("seq")?,
        hash: r.try_get("hash")?,
        at: r.try_get("at")?,
        public_key: r.try_get("public_key")?,
        signature: r.try_get("signature")?,
    })
}

/// The newest seal.
pub async fn latest(db: &Db) -> Result<Option<Seal>> {
    let r = sqlx::query("SELECT seq, hash, at, public_key, signature FROM audit_seals ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&db.read)
        .await?;
    r.as_ref().map(seal_of).transpose()
}

/// Up to `limit` seals after place `after`, oldest first.
pub async fn seals_after(db: &Db, after: i64, limit: i64) -> Result<Vec<Seal>> {
    let rows = sqlx::query(
        "SELECT seq, hash, at, public_key, signature FROM audit_seals WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(seal_of).collect()
}

/// Whether a seal's signature is good under one of `keys`.
pub fn signed_by(seal: &Seal, keys: &[[u8; 32]]) -> bool {
    let (Some(hash), Ok(sig), Ok(pk)) = (
        chain::parse_hash(&seal.hash),
        hex::decode(&seal.signature),
        hex::decode(&seal.public_key),
    ) else {
        return false;
    };
    let (Ok(sig), Ok(pk)) = (
        <[u8; 64]>::try_from(sig.as_slice()),
        <[u8; 32]>::try_from(pk.as_slice()),
    ) else {
        return false;
    };
    keys.contains(&pk)
        && strongroom_crypto::verify_seal_signature(&pk, &chain::seal_message(seal.seq, &hash, seal.at), &sig)
}

/// What a retention run moved.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Pruned {
    /// The kept chain now starts at this place.
    pub start_seq: i64,
    /// Events deleted.
    pub events: u64,
}

/// Moves the chain's start past the events older than `before` (ms), as far as the newest
/// seal that covers only such events, then deletes them. The move and its audit event
/// (`event`, given the counts in its details) commit together; the deletion follows in
/// batches, and a run cut short is finished by the next (events below the start are never
/// verified). Returns `None` when no seal lets the start move.
pub async fn prune(db: &Db, before: i64, now: i64, event: AuditEvent) -> Result<Option<Pruned>> {
    let state = chain_state(db).await?;
    let first_kept: Option<i64> =
        sqlx::query("SELECT MIN(seq) AS s FROM audit_events WHERE at >= $1 AND seq IS NOT NULL")
            .bind(before)
            .fetch_one(&db.read)
            .await?
            .try_get("s")?;
    let limit = first_kept.unwrap_or(state.head_seq + 1);
    let seal = sqlx::query(
        "SELECT seq, hash, at, public_key, signature FROM audit_seals WHERE seq < $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(limit)
    .fetch_optional(&db.read)
    .await?
    .as_ref()
    .map(seal_of)
    .transpose()?;
    let moved = match seal {
        Some(s) if s.seq + 1 > state.start_seq => {
            let mut c = Change::begin(db, now).await?;
            let moved =
                sqlx::query("UPDATE audit_chain SET start_seq = $1, start_prev = $2 WHERE id = 1 AND start_seq = $3")
                    .bind(s.seq + 1)
                    .bind(&s.hash)
                    .bind(state.start_seq)
                    .execute(c.conn())
                    .await?;
            if moved.rows_affected() == 0 {
                // Another node moved the start meanwhile; its run records the move.
                return Ok(None);
            }
            let mut details = event.details.clone();
            if let Some(obj) = details.as_object_mut() {
                obj.insert("from_seq".into(), state.start_seq.into());
                obj.insert("to_seq".into(), (s.seq + 1).into());
            }
            c.commit(&event.details(details)).await?;
            s.seq + 1
        }
        _ => state.start_seq,
    };
    let mut events = 0u64;
    loop {
        let gone = sqlx::query(
            "DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE seq < $1 ORDER BY seq LIMIT 10000)",
        )
        .bind(moved)
        .execute(&db.pool)
        .await?
        .rows_affected();
        events += gone;
        if gone == 0 {
            break;
        }
    }
    sqlx::query("DELETE FROM audit_hours WHERE last_seq < $1")
        .bind(moved)
        .execute(&db.pool)
        .await?;
    sqlx::query("DELETE FROM audit_seals WHERE seq < $1")
        .bind(moved - 1)
        .execute(&db.pool)
        .await?;
    Ok((moved != state.start_seq || events > 0).then_some(Pruned {
        start_seq: moved,
        events,
    }))
}
