//! Folders, files and versions inside rooms, and the trash.
//!
//! Trash is a mark on the trashed item only: the children of a trashed folder stay as they
//! are and come back with it. Purging deletes rows in one transaction and hands the blob keys
//! to `blob_garbage`, from which [`sweep_garbage`] deletes the bytes, so a crash between the
//! two steps can leave an orphaned blob for the next sweep but never a row without its blob.

use crate::blob::{BlobStore, StoredBlob};
use crate::change::Change;
use crate::db::Db;
use crate::encryption::BlobEncryption;
use crate::error::{Result, StoreError};
use crate::grants::{Node, NodeKind, require};
use crate::people::check_name;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use strongroom_core::Capability;
use strongroom_core::access::Permit;
use strongroom_core::ids::{FileId, FolderId, RoomId, UserId};

mod stored;
mod trash;
mod tree;
pub use stored::*;
pub use trash::*;
pub use tree::{FolderTree, folder_tree};

/// Deepest folder nesting we follow; deeper chains mean corrupt data (or a cycle).
const MAX_DEPTH: usize = 1000;

/// A folder entry in a listing.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Folder {
    #[schema(value_type = String)]
    pub id: FolderId,
    pub name: String,
    #[schema(value_type = String)]
    pub room_id: RoomId,
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<FolderId>,
    pub created_at: i64,
    pub trashed: bool,
}

/// A file and its current version.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct FileInfo {
    #[schema(value_type = String)]
    pub id: FileId,
    pub name: String,
    #[schema(value_type = String)]
    pub folder_id: FolderId,
    #[schema(value_type = String)]
    pub room_id: RoomId,
    pub size: i64,
    pub sha256: String,
    pub version: i64,
    pub content_type: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub trashed: bool,
}

/// One stored version of a file.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Version {
    pub version: i64,
    pub size: i64,
    pub sha256: String,
    pub content_type: String,
    pub created_by: String,
    pub created_at: i64,
    /// Whether the stored bytes are encrypted at rest.
    pub encrypted: bool,
    #[serde(skip)]
    pub blob_key: String,
    #[serde(skip)]
    pub encryption: Option<BlobEncryption>,
}

/// A folder with its live (not trashed) children.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct FolderListing {
    #[serde(flatten)]
    pub folder: Folder,
    pub folders: Vec<Folder>,
    pub files: Vec<FileInfo>,
}

/// Checks a file or folder name: a plain name, no path separators, not `.` or `..`.
pub fn check_item_name(kind: &str, name: &str) -> Result<String> {
    let n = check_name(kind, name)?;
    if n.contains('/') || n.contains('\\') || n == "." || n == ".." {
        return Err(StoreError::Invalid(format!(
            "{kind} name must not contain '/' or '\\' or be '.' or '..'"
        )));
    }
    Ok(n)
}

fn s(id: &impl ToString) -> String {
    id.to_string()
}

const FOLDER_COLS: &str = "id, name, room_id, parent_id, created_at, trashed_at";

fn folder_from_row(r: &AnyRow) -> Result<Folder> {
    Ok(Folder {
        id: FolderId::from_trusted(r.try_get("id")?),
        name: r.try_get("name")?,
        room_id: RoomId::from_trusted(r.try_get("room_id")?),
        parent_id: r.try_get::<Option<String>, _>("parent_id")?.map(FolderId::from_trusted),
        created_at: r.try_get("created_at")?,
        trashed: r.try_get::<Option<i64>, _>("trashed_at")?.is_some(),
    })
}

const FILE_SELECT: &str = "SELECT f.id, f.name, f.folder_id, f.room_id, f.current_version, f.created_at, f.trashed_at, \
     v.size, v.sha256, v.content_type, v.created_at AS updated_at \
     FROM files f JOIN file_versions v ON v.file_id = f.id AND v.version = f.current_version";

fn file_from_row(r: &AnyRow) -> Result<FileInfo> {
    Ok(FileInfo {
        id: FileId::from_trusted(r.try_get("id")?),
        name: r.try_get("name")?,
        folder_id: FolderId::from_trusted(r.try_get("folder_id")?),
        room_id: RoomId::from_trusted(r.try_get("room_id")?),
        size: r.try_get("size")?,
        sha256: r.try_get("sha256")?,
        version: r.try_get("current_version")?,
        content_type: r.try_get("content_type")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        trashed: r.try_get::<Option<i64>, _>("trashed_at")?.is_some(),
    })
}

/// The live files a person owns (made: `created_by`), by room and name: what their data
/// export holds.
pub async fn owned_files(db: &Db, user: &UserId) -> Result<Vec<FileInfo>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "{FILE_SELECT} WHERE f.created_by = $1 AND f.trashed_at IS NULL ORDER BY f.room_id, f.name, f.id"
    )))
    .bind(user.as_str().to_string())
    .fetch_all(&mut *db.read.acquire().await?)
    .await?
    .iter()
    .map(file_from_row)
    .collect()
}

pub async fn get_folder(db: &Db, id: &FolderId) -> Result<Folder> {
    folder_on(&mut *db.read.acquire().await?, id).await
}

async fn folder_on(conn: &mut AnyConnection, id: &FolderId) -> Result<Folder> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {FOLDER_COLS} FROM folders WHERE id = $1"
    )))
    .bind(s(id))
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound("folder"))?;
    folder_from_row(&row)
}

pub async fn get_file(db: &Db, id: &FileId) -> Result<FileInfo> {
    file_on(&mut *db.read.acquire().await?, id).await
}

async fn file_on(conn: &mut AnyConnection, id: &FileId) -> Result<FileInfo> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{FILE_SELECT} WHERE f.id = $1")))
        .bind(s(id))
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::NotFound("file"))?;
    file_from_row(&row)
}

/// The folder and its ancestors up to the room's root, nearest first, in one query (every
/// request that reaches an item asks for it).
pub(crate) async fn ancestry(conn: &mut AnyConnection, id: &FolderId) -> Result<Vec<Folder>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH RECURSIVE up (id, name, room_id, parent_id, created_at, trashed_at, depth) AS ( \
           SELECT {FOLDER_COLS}, 0 FROM folders WHERE id = $1 \
           UNION ALL \
           SELECT f.id, f.name, f.room_id, f.parent_id, f.created_at, f.trashed_at, up.depth + 1 \
           FROM folders f JOIN up ON f.id = up.parent_id WHERE up.depth <= $2) \
         SELECT {FOLDER_COLS}, depth FROM up ORDER BY depth"
    )))
    .bind(s(id))
    .bind(i64::try_from(MAX_DEPTH).unwrap_or(1000))
    .fetch_all(conn)
    .await?;
    let chain = rows.iter().map(folder_from_row).collect::<Result<Vec<_>>>()?;
    match chain.last() {
        None => Err(StoreError::NotFound("folder")),
        Some(top) if top.parent_id.is_some() => Err(StoreError::Corrupt("folder nesting too deep or cyclic".into())),
        Some(_) => Ok(chain),
    }
}

/// A folder, the nodes from the room's root folder down to it, and whether it and all its
/// ancestors are out of the trash: what a guard needs, in one query.
pub async fn folder_with_path(db: &Db, id: &FolderId) -> Result<(Folder, Vec<Node>, bool)> {
    let chain = ancestry(&mut *db.read.acquire().await?, id).await?;
    let live = chain.iter().all(|f| !f.trashed);
    let path = chain
        .iter()
        .rev()
        .map(|f| Node::new(NodeKind::Folder, f.id.as_str()))
        .collect();
    let folder = chain.into_iter().next().ok_or(StoreError::NotFound("folder"))?;
    Ok((folder, path, live))
}

/// The nodes from the room's root folder down to this folder, for rights along its ancestry.
pub async fn folder_path(db: &Db, id: &FolderId) -> Result<Vec<Node>> {
    let chain = ancestry(&mut *db.read.acquire().await?, id).await?;
    Ok(chain
        .iter()
        .rev()
        .map(|f| Node::new(NodeKind::Folder, f.id.as_str()))
        .collect())
}

/// The nodes from the room's root folder down to the file itself.
pub async fn file_path(db: &Db, file: &FileInfo) -> Result<Vec<Node>> {
    let mut path = folder_path(db, &file.folder_id).await?;
    path.push(Node::new(NodeKind::File, file.id.as_str()));
    Ok(path)
}

/// Whether a folder and all its ancestors are out of the trash.
pub async fn folder_is_live(db: &Db, id: &FolderId) -> Result<bool> {
    Ok(ancestry(&mut *db.read.acquire().await?, id)
        .await?
        .iter()
        .all(|f| !f.trashed))
}

async fn require_live_folder(conn: &mut AnyConnection, id: &FolderId) -> Result<Folder> {
    let chain = ancestry(conn, id).await?;
    if chain.iter().any(|f| f.trashed) {
        return Err(StoreError::Conflict(
            "the folder is in the trash; restore it first".into(),
        ));
    }
    chain.into_iter().next().ok_or(StoreError::NotFound("folder"))
}

/// Folders matching `cond` (one parameter, `$1`), by name.
async fn folders_where(db: &Db, cond: &str, param: String) -> Result<Vec<Folder>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {FOLDER_COLS} FROM folders WHERE {cond} ORDER BY name"
    )))
    .bind(param)
    .fetch_all(&db.read)
    .await?
    .iter()
    .map(folder_from_row)
    .collect()
}

/// Files (with their current version) matching `cond` (one parameter, `$1`), by name.
async fn files_where(db: &Db, cond: &str, param: String) -> Result<Vec<FileInfo>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "{FILE_SELECT} WHERE {cond} ORDER BY f.name"
    )))
    .bind(param)
    .fetch_all(&db.read)
    .await?
    .iter()
    .map(file_from_row)
    .collect()
}

/// The live children of a folder, by name, in one query returning one row with a JSON array
/// per kind (see [`crate::Backend::json_aggregate`]): for a folder of a hundred files the
/// rows cost more than the query.
pub async fn list_folder(db: &Db, folder: &Folder) -> Result<FolderListing> {
    let (agg, tuple, text) = db.backend.json_aggregate();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT \
           (SELECT COALESCE({agg}({tuple}(id, name, room_id, parent_id, created_at)){text}, '[]') \
            FROM folders WHERE parent_id = $1 AND trashed_at IS NULL) AS folders, \
           (SELECT COALESCE({agg}({tuple}(f.id, f.name, f.room_id, f.current_version, f.created_at, \
              v.size, v.sha256, v.content_type, v.created_at)){text}, '[]') \
            FROM files f JOIN file_versions v ON v.file_id = f.id AND v.version = f.current_version \
            WHERE f.folder_id = $1 AND f.trashed_at IS NULL) AS files"
    )))
    .bind(s(&folder.id))
    .fetch_one(&db.read)
    .await?;
    let folders: String = row.try_get("folders")?;
    let files: String = row.try_get("files")?;
    let bad = |e: serde_json::Error| StoreError::Corrupt(format!("a folder listing: {e}"));
    type FolderRow = (String, String, String, Option<String>, i64);
    let mut folders: Vec<Folder> = serde_json::from_str::<Vec<FolderRow>>(&folders)
        .map_err(bad)?
        .into_iter()
        .map(|(id, name, room, parent, created_at)| Folder {
            id: FolderId::from_trusted(id),
            name,
            room_id: RoomId::from_trusted(room),
            parent_id: parent.map(FolderId::from_trusted),
            created_at,
            trashed: false,
        })
        .collect();
    type FileRow = (String, String, String, i64, i64, i64, String, String, i64);
    let mut files: Vec<FileInfo> = serde_json::from_str::<Vec<FileRow>>(&files)
        .map_err(bad)?
        .into_iter()
        .map(
            |(id, name, room, version, created_at, size, sha256, content_type, updated_at)| FileInfo {
                id: FileId::from_trusted(id),
                name,
                folder_id: folder.id.clone(),
                room_id: RoomId::from_trusted(room),
                size,
                sha256,
                version,
                content_type,
                created_at,
                updated_at,
                trashed: false,
            },
        )
        .collect();
    // By name as SQL's binary collation orders it: byte order, as `str` compares.
    folders.sort_by(|a, b| a.name.cmp(&b.name));
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(FolderListing {
        folder: folder.clone(),
        folders,
        files,
    })
}

/// Everything in a room's trash (the trashed items themselves, not their contents).
pub async fn list_trash(db: &Db, room: &RoomId) -> Result<(Vec<Folder>, Vec<FileInfo>)> {
    let folders = folders_where(db, "room_id = $1 AND trashed_at IS NOT NULL", s(room)).await?;
    let files = files_where(db, "f.room_id = $1 AND f.trashed_at IS NOT NULL", s(room)).await?;
    Ok((folders, files))
}

fn name_taken(e: sqlx::Error, name: &str) -> StoreError {
    StoreError::unique(e, &format!("an item named {name:?} already exists in this folder"))
}

/// Fails if a live file or folder in `parent` already has this name (a check before an upload
/// moves any bytes; the change that records the file checks again).
pub async fn check_name_free(db: &Db, parent: &FolderId, name: &str) -> Result<()> {
    name_free_on(&mut *db.read.acquire().await?, parent, name).await
}

async fn name_free_on(conn: &mut AnyConnection, parent: &FolderId, name: &str) -> Result<()> {
    let n: i64 = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM folders WHERE parent_id = $1 AND name = $2 AND trashed_at IS NULL) \
         + (SELECT COUNT(*) FROM files WHERE folder_id = $1 AND name = $2 AND trashed_at IS NULL) AS n",
    )
    .bind(s(parent))
    .bind(name.to_string())
    .fetch_one(conn)
    .await?
    .try_get("n")?;
    if n > 0 {
        return Err(StoreError::Conflict(format!(
            "an item named {name:?} already exists in this folder"
        )));
    }
    Ok(())
}

pub async fn create_folder(
    c: &mut Change,
    permit: &Permit,
    parent: &FolderId,
    name: &str,
    by: &UserId,
) -> Result<Folder> {
    require(permit, Capability::CreateFolders)?;
    let name = check_item_name("folder", name)?;
    let now = c.now();
    hold_folders(c.conn(), &[parent]).await?;
    let parent = require_live_folder(c.conn(), parent).await?;
    name_free_on(c.conn(), &parent.id, &name).await?;
    let id = FolderId::generate();
    sqlx::query(
        "INSERT INTO folders (id, room_id, parent_id, name, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(s(&id))
    .bind(s(&parent.room_id))
    .bind(s(&parent.id))
    .bind(name.clone())
    .bind(s(by))
    .bind(now)
    .execute(c.conn())
    .await
    .map_err(|e| name_taken(e, &name))?;
    folder_on(c.conn(), &id).await
}

/// Holds the rooms of these folders (see [`hold_rooms`]) and checks that none of them moved
/// to another room before the hold: whatever the change then writes about them (a new file,
/// a move, a purge) is written into the room they are in.
async fn hold_folders(tx: &mut AnyConnection, folders: &[&FolderId]) -> Result<()> {
    let mut rooms = Vec::with_capacity(folders.len());
    for f in folders {
        rooms.push(folder_on(tx, f).await?.room_id);
    }
    hold_rooms(tx, rooms.clone()).await?;
    for (f, room) in folders.iter().zip(&rooms) {
        if folder_on(tx, f).await?.room_id != *room {
            return Err(StoreError::Conflict(
                "the folder moved to another room at the same time; try again".into(),
            ));
        }
    }
    Ok(())
}

/// Holds these rooms' folder trees until the change ends: a row lock on each room on
/// PostgreSQL (always taken in the same order, so two changes cannot deadlock), the one
/// write lock on SQLite.
pub(crate) async fn hold_rooms(tx: &mut AnyConnection, mut rooms: Vec<RoomId>) -> Result<()> {
    rooms.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    rooms.dedup();
    for r in rooms {
        sqlx::query("UPDATE rooms SET name = name WHERE id = $1")
            .bind(s(&r))
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Every folder in the subtree under `root`, `root` first, parents before children.
async fn subtree(conn: &mut AnyConnection, root: &FolderId) -> Result<Vec<String>> {
    let mut all = vec![s(root)];
    let mut i = 0;
    while let Some(id) = all.get(i).cloned() {
        let kids = sqlx::query("SELECT id FROM folders WHERE parent_id = $1")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
        for k in kids {
            all.push(k.try_get("id")?);
        }
        i += 1;
        if all.len() > 1_000_000 {
            return Err(StoreError::Corrupt("folder tree too large or cyclic".into()));
        }
    }
    Ok(all)
}

/// Renames and/or moves a folder. A room's root folder cannot be changed; a folder cannot move
/// into itself or its own subtree. Moving to another room carries the whole subtree along.
pub async fn update_folder(
    c: &mut Change,
    permit: &Permit,
    id: &FolderId,
    name: Option<&str>,
    parent: Option<&FolderId>,
) -> Result<Folder> {
    require(permit, Capability::Edit)?;
    let tx = c.conn();
    // Two moves checked at once could each see no cycle and together make one (A into B
    // while B goes into A): the folder trees of both rooms are held first.
    hold_folders(tx, &[Some(id), parent].into_iter().flatten().collect::<Vec<_>>()).await?;
    let cur = folder_on(tx, id).await?;
    let Some(cur_parent) = cur.parent_id.clone() else {
        return Err(StoreError::Conflict(
            "a room's root folder cannot be renamed or moved; rename the room".into(),
        ));
    };
    let name = match name {
        Some(n) => check_item_name("folder", n)?,
        None => cur.name.clone(),
    };
    let target = match parent {
        Some(p) => require_live_folder(tx, p).await?,
        None => folder_on(tx, &cur_parent).await?,
    };
    if ancestry(tx, &target.id).await?.iter().any(|f| f.id == *id) {
        return Err(StoreError::Conflict(
            "a folder cannot be moved into itself or its subfolders".into(),
        ));
    }
    if target.id != cur_parent || name != cur.name {
        name_free_on(tx, &target.id, &name).await?;
    }
    sqlx::query("UPDATE folders SET name = $1, parent_id = $2 WHERE id = $3")
        .bind(name.clone())
        .bind(s(&target.id))
        .bind(s(id))
        .execute(&mut *tx)
        .await
        .map_err(|e| name_taken(e, &name))?;
    if target.room_id != cur.room_id {
        for f in subtree(tx, id).await? {
            sqlx::query("UPDATE folders SET room_id = $1 WHERE id = $2")
                .bind(s(&target.room_id))
                .bind(f.clone())
                .execute(&mut *tx)
                .await?;
            let files = sqlx::query("SELECT id FROM files WHERE folder_id = $1")
                .bind(f.clone())
                .fetch_all(&mut *tx)
                .await?;
            for file in files {
                delete_grants_on(tx, NodeKind::File, &file.try_get::<String, _>("id")?).await?;
            }
            sqlx::query("UPDATE files SET room_id = $1 WHERE folder_id = $2")
                .bind(s(&target.room_id))
                .bind(f.clone())
                .execute(&mut *tx)
                .await?;
            delete_grants_on(tx, NodeKind::Folder, &f).await?;
        }
    }
    folder_on(tx, id).await
}

/// What describes a new file or version besides its bytes.
pub struct NewContent<'a> {
    pub blob: &'a StoredBlob,
    pub content_type: &'a str,
    pub by: &'a UserId,
}

async fn insert_version(
    tx: &mut AnyConnection,
    file: &FileId,
    version: i64,
    c: &NewContent<'_>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO file_versions (file_id, version, blob_key, size, sha256, content_type, created_by, created_at, enc_key_id, enc_object_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(s(file))
    .bind(version)
    .bind(c.blob.key.clone())
    .bind(i64::try_from(c.blob.size).map_err(|_| StoreError::Invalid("file too large".into()))?)
    .bind(c.blob.sha256.clone())
    .bind(c.content_type.to_string())
    .bind(s(c.by))
    .bind(now)
    .bind(c.blob.encryption.as_ref().map(|e| e.key_id.clone()))
    .bind(c.blob.encryption.as_ref().map(|e| e.object_id.clone()))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Records an uploaded blob as a new file (version 1) in a live folder.
pub async fn create_file(
    ch: &mut Change,
    permit: &Permit,
    folder: &FolderId,
    name: &str,
    c: NewContent<'_>,
) -> Result<FileInfo> {
    require(permit, Capability::Edit)?;
    let name = check_item_name("file", name)?;
    let now = ch.now();
    let tx = ch.conn();
    hold_folders(tx, &[folder]).await?;
    let folder = require_live_folder(tx, folder).await?;
    let id = FileId::generate();
    sqlx::query(
        "INSERT INTO files (id, room_id, folder_id, name, current_version, created_by, created_at) VALUES ($1, $2, $3, $4, 1, $5, $6)",
    )
    .bind(s(&id))
    .bind(s(&folder.room_id))
    .bind(s(&folder.id))
    .bind(name.clone())
    .bind(s(c.by))
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(|e| name_taken(e, &name))?;
    let clash: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM folders WHERE parent_id = $1 AND name = $2 AND trashed_at IS NULL")
            .bind(s(&folder.id))
            .bind(name.clone())
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
    if clash > 0 {
        return Err(StoreError::Conflict(format!(
            "an item named {name:?} already exists in this folder"
        )));
    }
    insert_version(tx, &id, 1, &c, now).await?;
    file_on(tx, &id).await
}

/// Records an uploaded blob as the next version of a file. With `based_on`, only if the
/// current version is still that one (a copy made from it, protected or stamped, must not
/// silently replace a version uploaded meanwhile).
pub async fn add_version(
    ch: &mut Change,
    permit: &Permit,
    file: &FileId,
    c: NewContent<'_>,
    based_on: Option<i64>,
) -> Result<FileInfo> {
    require(permit, Capability::Edit)?;
    let now = ch.now();
    let tx = ch.conn();
    let cur = file_on(tx, file).await?;
    if cur.trashed {
        return Err(StoreError::Conflict(
            "the file is in the trash; restore it first".into(),
        ));
    }
    if based_on.is_some_and(|v| v != cur.version) {
        return Err(StoreError::Conflict(
            "a new version was uploaded meanwhile; try again on the current one".into(),
        ));
    }
    let next = cur.version + 1;
    // Guarded by the current version and by the (file_id, version) key, so two concurrent
    // uploads cannot both become version n+1.
    let r = sqlx::query("UPDATE files SET current_version = $1 WHERE id = $2 AND current_version = $3")
        .bind(next)
        .bind(s(file))
        .bind(cur.version)
        .execute(&mut *tx)
        .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::Conflict(
            "another version was uploaded at the same time; try again".into(),
        ));
    }
    insert_version(tx, file, next, &c, now).await.map_err(|e| match e {
        StoreError::Db(d) => StoreError::unique(d, "another version was uploaded at the same time; try again"),
        e => e,
    })?;
    file_on(tx, file).await
}

pub async fn list_versions(db: &Db, file: &FileId) -> Result<Vec<Version>> {
    get_file(db, file).await?;
    let rows = sqlx::query(
        "SELECT version, size, sha256, content_type, created_by, created_at, blob_key, enc_key_id, enc_object_id FROM file_versions WHERE file_id = $1 ORDER BY version DESC",
    )
    .bind(s(file))
    .fetch_all(&db.read)
    .await?;
    rows.iter()
        .map(|r| {
            let encryption = encryption_from_row(r)?;
            Ok(Version {
                version: r.try_get("version")?,
                size: r.try_get("size")?,
                sha256: r.try_get("sha256")?,
                content_type: r.try_get("content_type")?,
                created_by: r.try_get("created_by")?,
                created_at: r.try_get("created_at")?,
                blob_key: r.try_get("blob_key")?,
                encrypted: encryption.is_some(),
                encryption,
            })
        })
        .collect()
}

pub async fn get_version(db: &Db, file: &FileId, version: i64) -> Result<Version> {
    list_versions(db, file)
        .await?
        .into_iter()
        .find(|v| v.version == version)
        .ok_or(StoreError::NotFound("version"))
}

/// Renames and/or moves a file (to a live folder, possibly in another room).
pub async fn update_file(
    c: &mut Change,
    permit: &Permit,
    id: &FileId,
    name: Option<&str>,
    folder: Option<&FolderId>,
) -> Result<FileInfo> {
    require(permit, Capability::Edit)?;
    let tx = c.conn();
    let before = file_on(tx, id).await?;
    hold_folders(
        tx,
        &[Some(&before.folder_id), folder]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>(),
    )
    .await?;
    let cur = file_on(tx, id).await?;
    if cur.folder_id != before.folder_id {
        return Err(StoreError::Conflict(
            "the file moved at the same time; try again".into(),
        ));
    }
    let name = match name {
        Some(n) => check_item_name("file", n)?,
        None => cur.name.clone(),
    };
    let target = match folder {
        Some(f) => require_live_folder(tx, f).await?,
        None => folder_on(tx, &cur.folder_id).await?,
    };
    if (target.id != cur.folder_id || name != cur.name) && !cur.trashed {
        name_free_on(tx, &target.id, &name).await?;
    }
    sqlx::query("UPDATE files SET name = $1, folder_id = $2, room_id = $3 WHERE id = $4")
        .bind(name.clone())
        .bind(s(&target.id))
        .bind(s(&target.room_id))
        .bind(s(id))
        .execute(&mut *tx)
        .await
        .map_err(|e| name_taken(e, &name))?;
    if target.room_id != cur.room_id {
        delete_grants_on(tx, NodeKind::File, id.as_str()).await?;
    }
    file_on(tx, id).await
}

pub(crate) fn encryption_from_row(r: &AnyRow) -> Result<Option<BlobEncryption>> {
    let key_id: Option<String> = r.try_get("enc_key_id")?;
    let object_id: Option<String> = r.try_get("enc_object_id")?;
    Ok(match (key_id, object_id) {
        (Some(key_id), Some(object_id)) => Some(BlobEncryption { key_id, object_id }),
        (None, None) => None,
        _ => {
            return Err(StoreError::Corrupt(
                "a version has half of its encryption columns".into(),
            ));
        }
    })
}
