//! The name and path of an event's target as they are when the event is written, in its
//! transaction: what a rename or a move leads to, a file's place in its room, whom a change
//! to a person was about. Read here, once, rather than by every service that writes an event,
//! so that no event about a file, folder, room, group or person goes without them.

use super::StoredEvent;
use crate::content::ancestry;
use crate::error::{Result, StoreError};
use sqlx::{AnyConnection, Row};
use strongroom_core::ids::FolderId;

/// Fills `target_name` and `target_path` unless the event names them itself. A target that
/// no longer exists (purged, deleted) is left unnamed: its event's details say what it was.
pub(crate) async fn name_target(conn: &mut AnyConnection, row: &mut StoredEvent) -> Result<()> {
    if row.target_name.is_some() {
        return Ok(());
    }
    let (Some(kind), Some(id)) = (row.target_kind.clone(), row.target_id.clone()) else {
        return Ok(());
    };
    let named = match kind.as_str() {
        "file" => file(conn, &id).await?,
        "folder" => match FolderId::parse(&id) {
            Ok(folder) => folder_named(conn, &folder)
                .await?
                .map(|(name, path)| (name, Some(path))),
            Err(_) => None,
        },
        "room" => one(conn, "SELECT name FROM rooms WHERE id = $1", &id)
            .await?
            .map(|n| (n, None)),
        "group" => one(conn, "SELECT name FROM groups_ WHERE id = $1", &id)
            .await?
            .map(|n| (n, None)),
        "user" => one(
            conn,
            "SELECT CASE WHEN display_name <> '' THEN display_name ELSE email END AS name FROM users WHERE id = $1",
            &id,
        )
        .await?
        .map(|n| (n, None)),
        _ => None,
    };
    if let Some((name, path)) = named {
        (row.target_name, row.target_path) = (Some(name), path);
    }
    Ok(())
}

/// A file's name and `room/folder/…/name`.
async fn file(conn: &mut AnyConnection, id: &str) -> Result<Option<(String, Option<String>)>> {
    let Some(r) = sqlx::query("SELECT name, folder_id FROM files WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let name: String = r.try_get("name")?;
    let folder: String = r.try_get("folder_id")?;
    let Ok(folder) = FolderId::parse(&folder) else {
        return Ok(Some((name, None)));
    };
    let path = folder_named(conn, &folder).await?.map(|(_, p)| format!("{p}/{name}"));
    Ok(Some((name, path)))
}

/// A folder's name and `room/folder/…/folder` (the room's root folder bears the room's name).
async fn folder_named(conn: &mut AnyConnection, id: &FolderId) -> Result<Option<(String, String)>> {
    match ancestry(conn, id).await {
        Ok(chain) => {
            let path = chain
                .iter()
                .rev()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>()
                .join("/");
            Ok(chain.first().map(|f| (f.name.clone(), path)))
        }
        Err(StoreError::NotFound(_) | StoreError::Corrupt(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn one(conn: &mut AnyConnection, sql: &'static str, id: &str) -> Result<Option<String>> {
    let row = sqlx::query(sql).bind(id.to_string()).fetch_optional(conn).await?;
    Ok(match row {
        Some(r) => Some(r.try_get("name")?),
        None => None,
    })
}
