//! Rooms: the unit of membership. A room member is a grant on the room (see [`crate::grants`]);
//! a room also has its own policy (restrictions, who may share, the download watermark).

use crate::change::Change;
use crate::db::{Db, flag};
use crate::error::{Result, StoreError};
use crate::grants;
use crate::people::check_name;
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};
use strongroom_core::access::Permit;
use strongroom_core::ids::{FolderId, GroupId, RoomId, UserId};
use strongroom_core::rights::{Holder, Person, Rights, RoomPolicy};
use strongroom_core::{AccessLevel, Capability};

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

/// A room's own rules.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RoomSettings {
    #[serde(flatten)]
    pub policy: RoomPolicy,
    /// Stamp PDFs and images downloaded by members whose level is below this one (room admins
    /// excepted) with `watermark_text`; `null`: no watermark.
    #[serde(default)]
    pub watermark_below: Option<AccessLevel>,
    /// The watermark's text: `{user}`, `{email}`, `{date}`, `{ip}`, `{file}` and `{room}` are
    /// replaced by the downloader's and the document's details.
    #[serde(default)]
    pub watermark_text: Option<String>,
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
pub async fn create_room(c: &mut Change, name: &str, creator: &UserId) -> Result<Room> {
    let name = check_name("room", name)?;
    let id = RoomId::generate();
    let root = FolderId::generate();
    let now = c.now();
    let tx = c.conn();
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
        "INSERT INTO grants (room_id, node_kind, node_id, subject_kind, subject_id, access) VALUES ($1, 'room', $1, 'user', $2, 'full_access')",
    )
    .bind(id.as_str().to_string())
    .bind(creator.as_str().to_string())
    .execute(&mut *tx)
    .await?;
    Ok(Room {
        id,
        name,
        root_folder_id: root,
        created_at: now,
    })
}

pub async fn get_room(db: &Db, id: &RoomId) -> Result<Room> {
    room_on(&mut *db.read.acquire().await?, id).await
}

async fn room_on(conn: &mut AnyConnection, id: &RoomId) -> Result<Room> {
    let row = sqlx::query("SELECT id, name, root_folder_id, created_at FROM rooms WHERE id = $1")
        .bind(id.as_str().to_string())
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::NotFound("room"))?;
    room_from_row(&row)
}

pub async fn rename_room(c: &mut Change, permit: &Permit, id: &RoomId, name: &str) -> Result<Room> {
    grants::require(permit, Capability::ManageRoom)?;
    let name = check_name("room", name)?;
    let r = sqlx::query("UPDATE rooms SET name = $1 WHERE id = $2")
        .bind(name)
        .bind(id.as_str().to_string())
        .execute(c.conn())
        .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound("room"));
    }
    room_on(c.conn(), id).await
}

/// A room's policy and watermark settings.
pub async fn room_policy(db: &Db, id: &RoomId) -> Result<RoomSettings> {
    policy_on(&mut *db.read.acquire().await?, id).await
}

/// The columns of `rooms` that hold its policy (unqualified, so also `r.`-free in joins).
pub(crate) const POLICY_COLS: &str =
    "no_download, no_print, no_copy, sharing_admins_only, watermark_below, watermark_text";

async fn policy_on(conn: &mut AnyConnection, id: &RoomId) -> Result<RoomSettings> {
    let r = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {POLICY_COLS} FROM rooms WHERE id = $1"
    )))
    .bind(id.as_str().to_string())
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound("room"))?;
    policy_from_row(&r)
}

pub(crate) fn policy_from_row(r: &sqlx::any::AnyRow) -> Result<RoomSettings> {
    let below: Option<String> = r.try_get("watermark_below")?;
    Ok(RoomSettings {
        policy: RoomPolicy {
            restrictions: grants::restrictions_of(r)?,
            sharing_admins_only: flag(r, "sharing_admins_only")?,
        },
        watermark_below: match below {
            None => None,
            Some(b) => Some(AccessLevel::parse(&b).ok_or_else(|| StoreError::Corrupt(format!("access level {b}")))?),
        },
        watermark_text: r.try_get("watermark_text")?,
    })
}

/// The stamp of a room that asks for a watermark without saying which.
pub const DEFAULT_WATERMARK_TEXT: &str = "{user} {email} {date}";

/// Longest watermark text accepted (before its placeholders are filled in).
pub const MAX_WATERMARK_TEXT: usize = 500;

/// Changes a room's policy and watermark settings.
pub async fn set_room_policy(c: &mut Change, permit: &Permit, id: &RoomId, s: &RoomSettings) -> Result<RoomSettings> {
    grants::require(permit, Capability::ManageRoom)?;
    let text = match &s.watermark_text {
        Some(t) if t.trim().is_empty() => None,
        Some(t) => {
            if t.chars().count() > MAX_WATERMARK_TEXT {
                return Err(StoreError::Invalid(format!(
                    "the watermark text is longer than {MAX_WATERMARK_TEXT} characters"
                )));
            }
            if let Some(c) = t
                .chars()
                .find(|c| c.is_control() || crate::people::is_hidden_format(*c))
            {
                return Err(StoreError::Invalid(format!(
                    "the watermark text contains the control or invisible character U+{:04X}",
                    u32::from(c)
                )));
            }
            Some(t.clone())
        }
        None => None,
    };
    let text = match (s.watermark_below, text) {
        (Some(_), None) => Some(DEFAULT_WATERMARK_TEXT.to_string()),
        (_, text) => text,
    };
    if s.watermark_below == Some(AccessLevel::Deny) {
        return Err(StoreError::Invalid("watermark_below cannot be deny".into()));
    }
    let r = sqlx::query(
        "UPDATE rooms SET no_download = $1, no_print = $2, no_copy = $3, sharing_admins_only = $4, \
         watermark_below = $5, watermark_text = $6 WHERE id = $7",
    )
    .bind(i64::from(s.policy.restrictions.no_download))
    .bind(i64::from(s.policy.restrictions.no_print))
    .bind(i64::from(s.policy.restrictions.no_copy))
    .bind(i64::from(s.policy.sharing_admins_only))
    .bind(s.watermark_below.map(|l| l.as_str().to_string()))
    .bind(text)
    .bind(id.as_str().to_string())
    .execute(c.conn())
    .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound("room"));
    }
    policy_on(c.conn(), id).await
}

/// Rooms the person can see, each with their rights on the room itself: those where a grant
/// on the room gives them sight, and those where a grant below the room reaches them (unless
/// they are denied the room). A documents administrator sees every room.
pub async fn list_rooms(db: &Db, person: &Person) -> Result<Vec<(Room, Rights)>> {
    let rows = sqlx::query("SELECT id, name, root_folder_id, created_at FROM rooms ORDER BY name, id")
        .fetch_all(&db.read)
        .await?;
    let mine = rooms_with_grants_for(db, &person.user, &person.groups).await?;
    let mut out = vec![];
    for r in rows {
        let room = room_from_row(&r)?;
        if !person.documents_admin && !mine.contains(room.id.as_str()) {
            continue;
        }
        let access = grants::room_access(db, &room.id).await?;
        let rights = access.rights(&Holder::Person(person), &[]);
        let visible = rights.visible()
            || (!access.denies_room(&person.user, &person.groups)
                && access.reaches_below(&person.user, &person.groups));
        if visible {
            out.push((room, rights));
        }
    }
    Ok(out)
}

/// Ids of rooms holding any grant for the user or one of their groups.
async fn rooms_with_grants_for(
    db: &Db,
    user: &UserId,
    groups: &[GroupId],
) -> Result<std::collections::HashSet<String>> {
    let mut sql = String::from("SELECT DISTINCT room_id FROM grants WHERE (subject_kind = 'user' AND subject_id = $1)");
    if !groups.is_empty() {
        let marks: Vec<String> = (0..groups.len()).map(|i| format!("${}", i + 2)).collect();
        sql.push_str(&format!(
            " OR (subject_kind = 'group' AND subject_id IN ({}))",
            marks.join(", ")
        ));
    }
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user.as_str().to_string());
    for g in groups {
        q = q.bind(g.as_str().to_string());
    }
    q.fetch_all(&db.read)
        .await?
        .iter()
        .map(|r| r.try_get("room_id").map_err(StoreError::from))
        .collect()
}
