//! What rooms and people store, for the storage quotas: sums of version sizes, and the lock
//! rows (`usage_locks`) that count racing uploads one after the other.

use crate::change::Change;
use crate::content::hold_rooms;
use crate::db::Db;
use crate::error::Result;
use sqlx::{AnyConnection, Row};
use strongroom_core::ids::{FileId, FolderId, RoomId, UserId};

/// Bytes stored: in one room's versions, and in the versions one person made (every version,
/// in the trash too, until purged).
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    pub room: u64,
    pub user: u64,
}

/// (The sums are cast: PostgreSQL sums a BIGINT as NUMERIC, which the Any driver does not read.)
async fn room_used_on(conn: &mut AnyConnection, room: &RoomId) -> Result<u64> {
    let r = sqlx::query(
        "SELECT CAST(COALESCE(SUM(v.size), 0) AS BIGINT) FROM file_versions v JOIN files f ON f.id = v.file_id WHERE f.room_id = $1",
    )
    .bind(room.as_str().to_string())
    .fetch_one(&mut *conn)
    .await?;
    Ok(r.try_get::<i64, _>(0)?.max(0) as u64)
}

async fn usage_on(conn: &mut AnyConnection, room: &RoomId, user: &UserId) -> Result<Usage> {
    let sum = |r: sqlx::any::AnyRow| -> Result<u64> { Ok(r.try_get::<i64, _>(0)?.max(0) as u64) };
    let room_used = room_used_on(&mut *conn, room).await?;
    let user_used =
        sqlx::query("SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM file_versions WHERE created_by = $1")
            .bind(user.as_str().to_string())
            .fetch_one(&mut *conn)
            .await?;
    Ok(Usage {
        room: room_used,
        user: sum(user_used)?,
    })
}

/// What a move takes into another room.
#[derive(Clone, Copy)]
pub enum Moved<'a> {
    File(&'a FileId),
    /// The folder and everything under it.
    Folder(&'a FolderId),
}

/// In a change moving `moved` into `room` (which holds both rooms already): what the room
/// stores now and what the move adds, the room's `usage_locks` row locked first (after the
/// rooms, as [`usage_locked`] does).
pub async fn move_usage(c: &mut Change, room: &RoomId, moved: Moved<'_>) -> Result<(u64, u64)> {
    let tx = c.conn();
    sqlx::query("INSERT INTO usage_locks (key) VALUES ($1) ON CONFLICT (key) DO UPDATE SET key = excluded.key")
        .bind(format!("room:{room}"))
        .execute(&mut *tx)
        .await?;
    let used = room_used_on(&mut *tx, room).await?;
    let q = match moved {
        Moved::File(f) => sqlx::query("SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM file_versions WHERE file_id = $1")
            .bind(f.as_str().to_string()),
        Moved::Folder(f) => sqlx::query(
            "WITH RECURSIVE sub(id) AS (SELECT CAST($1 AS TEXT) UNION ALL SELECT d.id FROM folders d JOIN sub ON d.parent_id = sub.id) \
             SELECT CAST(COALESCE(SUM(v.size), 0) AS BIGINT) FROM file_versions v JOIN files fi ON fi.id = v.file_id \
             WHERE fi.folder_id IN (SELECT id FROM sub)",
        )
        .bind(f.as_str().to_string()),
    };
    let moving = q.fetch_one(&mut *tx).await?.try_get::<i64, _>(0)?.max(0) as u64;
    Ok((used, moving))
}

/// What a room and a person store now.
pub async fn usage(db: &Db, room: &RoomId, user: &UserId) -> Result<Usage> {
    usage_on(&mut *db.read.acquire().await?, room, user).await
}

/// What a room and a person store, in a change that is about to add to it: the room is
/// held (as every change to its tree holds it), then the person's and the room's
/// `usage_locks` rows are locked (in that order), so changes adding to either wait for this
/// one and count what it added. Every change takes these locks in that one order (rooms,
/// then usage locks), so none can meet another's in a cycle.
pub async fn usage_locked(c: &mut Change, room: &RoomId, user: &UserId) -> Result<Usage> {
    let tx = c.conn();
    hold_rooms(&mut *tx, vec![room.clone()]).await?;
    for key in [format!("user:{user}"), format!("room:{room}")] {
        sqlx::query("INSERT INTO usage_locks (key) VALUES ($1) ON CONFLICT (key) DO UPDATE SET key = excluded.key")
            .bind(key)
            .execute(&mut *tx)
            .await?;
    }
    usage_on(tx, room, user).await
}
