//! The trash and permanent deletion: trashing and restoring folders and files, purges (rows
//! deleted in one change, blob keys queued in `blob_garbage`), and the sweep that deletes the
//! queued bytes.

use super::*;

/// Puts a folder (with everything in it) in the trash, or takes it out.
pub async fn set_folder_trashed(c: &mut Change, permit: &Permit, id: &FolderId, trashed: bool) -> Result<Folder> {
    require(permit, Capability::Trash)?;
    let now = c.now();
    let tx = c.conn();
    let cur = folder_on(tx, id).await?;
    let Some(parent) = cur.parent_id.clone() else {
        return Err(StoreError::Conflict(
            "a room's root folder cannot be trashed; delete the room".into(),
        ));
    };
    if cur.trashed == trashed {
        return Err(StoreError::Conflict(
            if trashed {
                "already in the trash"
            } else {
                "not in the trash"
            }
            .into(),
        ));
    }
    if !trashed {
        require_live_folder(tx, &parent).await?;
        name_free_on(tx, &parent, &cur.name).await?;
    }
    sqlx::query("UPDATE folders SET trashed_at = $1 WHERE id = $2")
        .bind(if trashed { Some(now) } else { None })
        .bind(s(id))
        .execute(&mut *tx)
        .await
        .map_err(|e| name_taken(e, &cur.name))?;
    folder_on(tx, id).await
}

/// Queues blob keys for deletion, inside the caller's transaction.
pub(super) async fn queue_garbage(tx: &mut AnyConnection, keys: &[String], now: i64) -> Result<()> {
    for k in keys {
        sqlx::query("INSERT INTO blob_garbage (blob_key, created_at) VALUES ($1, $2)")
            .bind(k.clone())
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

async fn version_keys(tx: &mut AnyConnection, file: &str) -> Result<Vec<String>> {
    sqlx::query("SELECT blob_key FROM file_versions WHERE file_id = $1")
        .bind(file.to_string())
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("blob_key").map_err(StoreError::from))
        .collect()
}

pub(crate) async fn delete_file_rows(tx: &mut AnyConnection, file: &str, now: i64) -> Result<()> {
    let keys = version_keys(tx, file).await?;
    queue_garbage(tx, &keys, now).await?;
    sqlx::query("DELETE FROM file_versions WHERE file_id = $1")
        .bind(file.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM files WHERE id = $1")
        .bind(file.to_string())
        .execute(&mut *tx)
        .await?;
    delete_grants_on(tx, NodeKind::File, file).await
}

/// Removes the grants and external links on a node that is deleted or leaves its room (a grant
/// or link made in one room must not follow an item into another, where nobody decided it).
pub(super) async fn delete_grants_on(tx: &mut AnyConnection, kind: NodeKind, id: &str) -> Result<()> {
    for sql in [
        "DELETE FROM grants WHERE node_kind = $1 AND node_id = $2",
        "DELETE FROM link_sessions WHERE link_id IN (SELECT id FROM links WHERE node_kind = $1 AND node_id = $2)",
        "DELETE FROM links WHERE node_kind = $1 AND node_id = $2",
    ] {
        sqlx::query(sql)
            .bind(kind.as_str())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Permanently deletes a trashed folder and everything under it. Returns the number of files.
pub async fn purge_folder(c: &mut Change, permit: &Permit, id: &FolderId) -> Result<u64> {
    require(permit, Capability::Purge)?;
    let now = c.now();
    let tx = c.conn();
    hold_folders(tx, &[id]).await?;
    let cur = folder_on(tx, id).await?;
    if !cur.trashed {
        return Err(StoreError::Conflict(
            "only items in the trash can be deleted permanently".into(),
        ));
    }
    let folders = subtree(tx, id).await?;
    let mut n = 0;
    for f in &folders {
        let files = sqlx::query("SELECT id FROM files WHERE folder_id = $1")
            .bind(f.clone())
            .fetch_all(&mut *tx)
            .await?;
        for file in files {
            delete_file_rows(tx, &file.try_get::<String, _>("id")?, now).await?;
            n += 1;
        }
    }
    // Children before parents, so no folder row is ever left pointing at a deleted parent.
    for f in folders.iter().rev() {
        sqlx::query("DELETE FROM folders WHERE id = $1")
            .bind(f.clone())
            .execute(&mut *tx)
            .await?;
        delete_grants_on(tx, NodeKind::Folder, f).await?;
    }
    Ok(n)
}

/// Deletes a whole room: its folders, files, versions and members.
pub async fn purge_room(c: &mut Change, permit: &Permit, room: &RoomId) -> Result<()> {
    require(permit, Capability::ManageRoom)?;
    let now = c.now();
    let tx = c.conn();
    hold_rooms(tx, vec![room.clone()]).await?;
    let root: String = sqlx::query("SELECT root_folder_id FROM rooms WHERE id = $1")
        .bind(s(room))
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("room"))?
        .try_get("root_folder_id")?;
    let files = sqlx::query("SELECT id FROM files WHERE room_id = $1")
        .bind(s(room))
        .fetch_all(&mut *tx)
        .await?;
    for file in files {
        delete_file_rows(tx, &file.try_get::<String, _>("id")?, now).await?;
    }
    let folders = subtree(tx, &FolderId::from_trusted(root)).await?;
    for f in folders.iter().rev() {
        sqlx::query("DELETE FROM folders WHERE id = $1")
            .bind(f.clone())
            .execute(&mut *tx)
            .await?;
    }
    for sql in [
        "DELETE FROM grants WHERE room_id = $1",
        "DELETE FROM link_sessions WHERE link_id IN (SELECT id FROM links WHERE room_id = $1)",
        "DELETE FROM links WHERE room_id = $1",
    ] {
        sqlx::query(sql).bind(s(room)).execute(&mut *tx).await?;
    }
    sqlx::query("DELETE FROM rooms WHERE id = $1")
        .bind(s(room))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

pub async fn set_file_trashed(c: &mut Change, permit: &Permit, id: &FileId, trashed: bool) -> Result<FileInfo> {
    require(permit, Capability::Trash)?;
    let now = c.now();
    let tx = c.conn();
    let cur = file_on(tx, id).await?;
    if cur.trashed == trashed {
        return Err(StoreError::Conflict(
            if trashed {
                "already in the trash"
            } else {
                "not in the trash"
            }
            .into(),
        ));
    }
    if !trashed {
        require_live_folder(tx, &cur.folder_id).await?;
        name_free_on(tx, &cur.folder_id, &cur.name).await?;
    }
    sqlx::query("UPDATE files SET trashed_at = $1 WHERE id = $2")
        .bind(if trashed { Some(now) } else { None })
        .bind(s(id))
        .execute(&mut *tx)
        .await
        .map_err(|e| name_taken(e, &cur.name))?;
    file_on(tx, id).await
}

/// Permanently deletes a trashed file and all its versions.
pub async fn purge_file(c: &mut Change, permit: &Permit, id: &FileId) -> Result<()> {
    require(permit, Capability::Purge)?;
    let now = c.now();
    let tx = c.conn();
    let cur = file_on(tx, id).await?;
    if !cur.trashed {
        return Err(StoreError::Conflict(
            "only items in the trash can be deleted permanently".into(),
        ));
    }
    delete_file_rows(tx, id.as_str(), now).await
}

/// Whether a version row points at this blob.
async fn blob_in_use(db: &Db, key: &str) -> Result<bool> {
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM file_versions WHERE blob_key = $1")
        .bind(key.to_string())
        .fetch_one(&db.pool)
        .await?
        .try_get("n")?;
    Ok(n > 0)
}

/// Deletes (or queues for deletion) the blob of an upload whose row was not written. A
/// commit that failed on the way back (the connection lost after COMMIT was sent) may have
/// written it after all: a blob a row points at is left alone.
pub async fn discard_blob(db: &Db, blobs: &BlobStore, key: &str, now: i64) {
    if blob_in_use(db, key).await.unwrap_or(true) {
        return;
    }
    if blobs.delete(key).await.is_err() {
        let _ = sqlx::query("INSERT INTO blob_garbage (blob_key, created_at) VALUES ($1, $2)")
            .bind(key.to_string())
            .bind(now)
            .execute(&db.pool)
            .await;
    }
}

/// Deletes the bytes of purged blobs. Safe to run on several nodes at once: a blob is
/// deleted before its queue row, and deleting a missing blob succeeds. Returns how many.
pub async fn sweep_garbage(db: &Db, blobs: &BlobStore, limit: i64) -> Result<u64> {
    let rows = sqlx::query("SELECT blob_key FROM blob_garbage ORDER BY created_at LIMIT $1")
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    let mut n = 0;
    for r in rows {
        let key: String = r.try_get("blob_key")?;
        // Never the bytes of a version that exists (a bug elsewhere must not become data loss).
        if !blob_in_use(db, &key).await? {
            blobs.delete(&key).await?;
        }
        sqlx::query("DELETE FROM blob_garbage WHERE blob_key = $1")
            .bind(key)
            .execute(&db.pool)
            .await?;
        n += 1;
    }
    Ok(n)
}
