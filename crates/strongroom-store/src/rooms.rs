//! Rooms and their members. A member is a user or a group with an access level; a person's
//! effective level in a room combines every grant that reaches them ([`AccessLevel::combine`]).

use crate::db::Db;
use crate::error::{Result, StoreError};
use crate::people::check_name;
use serde::Serialize;
use sqlx::Row;
use std::collections::BTreeMap;
use strongroom_core::AccessLevel;
use strongroom_core::ids::{FolderId, RoomId, UserId};

/// A room as the caller sees it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Room {
    #[schema(value_type = String)]
    pub id: RoomId,
    pub name: String,
    #[schema(value_type = String)]
    pub root_folder_id: FolderId,
    pub created_at: i64,
}

/// Whether a member is a single user or a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SubjectKind {
    User,
    Group,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::User => "user",
            SubjectKind::Group => "group",
        }
    }
}

/// One grant of access in a room.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Member {
    pub kind: SubjectKind,
    pub id: String,
    pub access: AccessLevel,
}

fn room_from_row(r: &sqlx::any::AnyRow) -> Result<Room> {
    Ok(Room {
        id: RoomId::from_trusted(r.try_get("id")?),
        name: r.try_get("name")?,
        root_folder_id: FolderId::from_trusted(r.try_get("root_folder_id")?),
        created_at: r.try_get("created_at")?,
    })
}

/// Creates a room with its root folder; the creator becomes a full-access member.
pub async fn create_room(db: &Db, name: &str, creator: &UserId, now: i64) -> Result<Room> {
    let name = check_name("room", name)?;
    let id = RoomId::generate();
    let root = FolderId::generate();
    let mut tx = db.pool.begin().await?;
    sqlx::query("INSERT INTO rooms (id, name, root_folder_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id.as_str().to_string())
        .bind(name.clone())
        .bind(root.as_str().to_string())
        .bind(creator.as_str().to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO folders (id, room_id, parent_id, name, created_by, created_at) VALUES ($1, $2, NULL, $3, $4, $5)",
    )
    .bind(root.as_str().to_string())
    .bind(id.as_str().to_string())
    .bind(name.clone())
    .bind(creator.as_str().to_string())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO room_members (room_id, subject_kind, subject_id, access) VALUES ($1, 'user', $2, 'full_access')",
    )
    .bind(id.as_str().to_string())
    .bind(creator.as_str().to_string())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Room {
        id,
        name,
        root_folder_id: root,
        created_at: now,
    })
}

pub async fn get_room(db: &Db, id: &RoomId) -> Result<Room> {
    let row = sqlx::query("SELECT id, name, root_folder_id, created_at FROM rooms WHERE id = $1")
        .bind(id.as_str().to_string())
        .fetch_optional(&db.pool)
        .await?
        .ok_or(StoreError::NotFound("room"))?;
    room_from_row(&row)
}

/// Every grant reaching `user`, per room: direct and through their groups.
async fn grants_of(db: &Db, user: &UserId, room: Option<&RoomId>) -> Result<BTreeMap<String, Vec<AccessLevel>>> {
    let mut sql = String::from(
        "SELECT room_id, access FROM room_members WHERE ((subject_kind = 'user' AND subject_id = $1) \
         OR (subject_kind = 'group' AND subject_id IN (SELECT group_id FROM group_members WHERE user_id = $1)))",
    );
    if room.is_some() {
        sql.push_str(" AND room_id = $2");
    }
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user.as_str().to_string());
    if let Some(r) = room {
        q = q.bind(r.as_str().to_string());
    }
    let mut out: BTreeMap<String, Vec<AccessLevel>> = BTreeMap::new();
    for r in q.fetch_all(&db.pool).await? {
        let access: String = r.try_get("access")?;
        let level = AccessLevel::parse(&access).ok_or_else(|| StoreError::Corrupt(format!("access level {access}")))?;
        out.entry(r.try_get("room_id")?).or_default().push(level);
    }
    Ok(out)
}

/// The user's effective access in a room (`None`: no grant). Fails with NotFound only if the
/// room does not exist.
pub async fn access_in_room(db: &Db, room: &RoomId, user: &UserId) -> Result<Option<AccessLevel>> {
    get_room(db, room).await?;
    let grants = grants_of(db, user, Some(room)).await?;
    Ok(grants.into_values().next().and_then(AccessLevel::combine))
}

/// Rooms visible to a user: every room for a documents administrator, otherwise those where
/// their effective access is not `Deny`. Paired with that access.
pub async fn list_rooms(db: &Db, user: &UserId, all: bool) -> Result<Vec<(Room, Option<AccessLevel>)>> {
    let grants = grants_of(db, user, None).await?;
    let rows = sqlx::query("SELECT id, name, root_folder_id, created_at FROM rooms ORDER BY name, id")
        .fetch_all(&db.pool)
        .await?;
    let mut out = vec![];
    for r in rows {
        let room = room_from_row(&r)?;
        let access = grants
            .get(room.id.as_str())
            .and_then(|g| AccessLevel::combine(g.iter().copied()));
        let visible = all || matches!(access, Some(a) if a != AccessLevel::Deny);
        if visible {
            out.push((room, access));
        }
    }
    Ok(out)
}

pub async fn rename_room(db: &Db, id: &RoomId, name: &str) -> Result<Room> {
    let name = check_name("room", name)?;
    let r = sqlx::query("UPDATE rooms SET name = $1 WHERE id = $2")
        .bind(name)
        .bind(id.as_str().to_string())
        .execute(&db.pool)
        .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound("room"));
    }
    get_room(db, id).await
}

pub async fn list_members(db: &Db, room: &RoomId) -> Result<Vec<Member>> {
    let rows = sqlx::query("SELECT subject_kind, subject_id, access FROM room_members WHERE room_id = $1 ORDER BY subject_kind, subject_id")
        .bind(room.as_str().to_string())
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get("subject_kind")?;
            let access: String = r.try_get("access")?;
            Ok(Member {
                kind: if kind == "group" {
                    SubjectKind::Group
                } else {
                    SubjectKind::User
                },
                id: r.try_get("subject_id")?,
                access: AccessLevel::parse(&access)
                    .ok_or_else(|| StoreError::Corrupt(format!("access level {access}")))?,
            })
        })
        .collect()
}

/// Grants (or changes) a member's access.
pub async fn set_member(db: &Db, room: &RoomId, kind: SubjectKind, subject: &str, access: AccessLevel) -> Result<()> {
    let table = match kind {
        SubjectKind::User => "users",
        SubjectKind::Group => "groups_",
    };
    let exists = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT id FROM {table} WHERE id = $1")))
        .bind(subject.to_string())
        .fetch_optional(&db.pool)
        .await?
        .is_some();
    if !exists {
        return Err(StoreError::NotFound(kind.as_str()));
    }
    let mut tx = db.pool.begin().await?;
    sqlx::query("DELETE FROM room_members WHERE room_id = $1 AND subject_kind = $2 AND subject_id = $3")
        .bind(room.as_str().to_string())
        .bind(kind.as_str())
        .bind(subject.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO room_members (room_id, subject_kind, subject_id, access) VALUES ($1, $2, $3, $4)")
        .bind(room.as_str().to_string())
        .bind(kind.as_str())
        .bind(subject.to_string())
        .bind(access.as_str())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn remove_member(db: &Db, room: &RoomId, kind: SubjectKind, subject: &str) -> Result<()> {
    let r = sqlx::query("DELETE FROM room_members WHERE room_id = $1 AND subject_kind = $2 AND subject_id = $3")
        .bind(room.as_str().to_string())
        .bind(kind.as_str())
        .bind(subject.to_string())
        .execute(&db.pool)
        .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound("member"));
    }
    Ok(())
}
