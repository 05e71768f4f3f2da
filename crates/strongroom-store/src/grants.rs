//! Grants: who holds which access level (with which restrictions) on a room, folder or file.
//!
//! The store only keeps and loads grants; `strongroom_core::rights::effective` decides what
//! they mean. [`RoomAccess`] holds everything that decision needs for one room, loaded in two
//! queries, so a folder listing computes the rights of every child without asking the database
//! again.

use crate::change::Change;
use crate::db::{Db, flag};
use crate::error::{Result, StoreError};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;
use strongroom_core::access::{Action, Permit};
use strongroom_core::ids::{GroupId, RoomId, UserId};
use strongroom_core::rights::{self, Grant, Holder, Restrictions, Rights, RoomPolicy, Subject};
use strongroom_core::{AccessLevel, Capability};

/// Whether a grant's subject is a single user or a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// What a grant sits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeKind {
    Room,
    Folder,
    File,
}

impl NodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Room => "room",
            NodeKind::Folder => "folder",
            NodeKind::File => "file",
        }
    }
}

/// One node of an item's ancestry: the room, a folder, or the file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Node {
    pub kind: NodeKind,
    pub id: String,
}

impl Node {
    pub fn new(kind: NodeKind, id: &str) -> Node {
        Node {
            kind,
            id: id.to_string(),
        }
    }
}

/// One grant as the API shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Member {
    pub kind: SubjectKind,
    pub id: String,
    pub access: AccessLevel,
    #[serde(flatten)]
    pub restrictions: Restrictions,
}

/// Everything needed to decide rights inside one room.
#[derive(Clone, Debug)]
pub struct RoomAccess {
    pub room: RoomId,
    pub policy: RoomPolicy,
    grants: HashMap<Node, Vec<Grant>>,
    /// The room's download watermark: members below this level get PDFs and pictures
    /// stamped with this template.
    pub watermark: Option<(AccessLevel, String)>,
    /// The grants and policy as stored when loaded, sorted: a sharing change decided on this
    /// view is written only if the room still looks the same (see [`set_grant`]).
    seen: Vec<String>,
}

impl RoomAccess {
    /// Rights of `holder` on the item at `path` (folders from the root down, then the item
    /// itself; the room node is added here).
    pub fn rights(&self, holder: &Holder<'_>, path: &[Node]) -> Rights {
        let room_node = Node::new(NodeKind::Room, self.room.as_str());
        let empty: &[Grant] = &[];
        let mut ancestry: Vec<&[Grant]> = Vec::with_capacity(path.len() + 1);
        ancestry.push(self.grants.get(&room_node).map_or(empty, Vec::as_slice));
        for n in path {
            ancestry.push(self.grants.get(n).map_or(empty, Vec::as_slice));
        }
        rights::effective(holder, &ancestry, &self.policy)
    }

    /// Whether any grant sits on `node`.
    pub fn has_grants(&self, node: &Node) -> bool {
        self.grants.get(node).is_some_and(|g| !g.is_empty())
    }

    /// Every folder or file node that carries grants.
    pub fn granted_nodes(&self) -> impl Iterator<Item = &Node> {
        self.grants
            .iter()
            .filter(|(n, g)| n.kind != NodeKind::Room && !g.is_empty())
            .map(|(n, _)| n)
    }

    /// This room's grants as they would be with `subject`'s grant on `node` replaced by
    /// `grant` (`None`: removed), to see what a change would do before making it.
    pub fn with_grant(&self, node: &Node, subject: &Subject, grant: Option<Grant>) -> RoomAccess {
        let mut next = self.clone();
        let on = next.grants.entry(node.clone()).or_default();
        on.retain(|g| g.subject != *subject);
        on.extend(grant);
        next
    }

    /// Whether `user` (or one of `groups`) is denied the room itself.
    pub fn denies_room(&self, user: &UserId, groups: &[GroupId]) -> bool {
        let room_node = Node::new(NodeKind::Room, self.room.as_str());
        self.grants.get(&room_node).is_some_and(|gs| {
            gs.iter()
                .any(|g| g.level == AccessLevel::Deny && holds(g, user, groups))
        })
    }

    /// Whether any grant below the room reaches `user` (directly or through `groups`), so the
    /// room is listed for them even without a grant on the room itself.
    pub fn reaches_below(&self, user: &UserId, groups: &[GroupId]) -> bool {
        self.grants.iter().any(|(node, gs)| {
            node.kind != NodeKind::Room
                && gs
                    .iter()
                    .any(|g| g.level != AccessLevel::Deny && holds(g, user, groups))
        })
    }
}

fn holds(g: &Grant, user: &UserId, groups: &[GroupId]) -> bool {
    match &g.subject {
        Subject::User(u) => u == user,
        Subject::Group(id) => groups.contains(id),
    }
}

fn grant_from_row(r: &sqlx::any::AnyRow) -> Result<(Node, Grant)> {
    grant_from(GrantRow(
        r.try_get("node_kind")?,
        r.try_get("node_id")?,
        r.try_get("subject_kind")?,
        r.try_get("subject_id")?,
        r.try_get("access")?,
        r.try_get("no_download")?,
        r.try_get("no_print")?,
        r.try_get("no_copy")?,
    ))
}

/// A grant's columns in order (as the room's grants arrive, in one JSON array).
#[derive(Deserialize)]
struct GrantRow(String, String, String, String, String, i64, i64, i64);

fn grant_from(
    GrantRow(kind, node_id, subject_kind, subject_id, access, no_download, no_print, no_copy): GrantRow,
) -> Result<(Node, Grant)> {
    let kind = match kind.as_str() {
        "room" => NodeKind::Room,
        "folder" => NodeKind::Folder,
        "file" => NodeKind::File,
        other => return Err(StoreError::Corrupt(format!("grant on a {other}"))),
    };
    let subject = match subject_kind.as_str() {
        "user" => Subject::User(UserId::from_trusted(subject_id)),
        "group" => Subject::Group(GroupId::from_trusted(subject_id)),
        other => return Err(StoreError::Corrupt(format!("grant for a {other}"))),
    };
    let level = AccessLevel::parse(&access).ok_or_else(|| StoreError::Corrupt(format!("access level {access}")))?;
    Ok((
        Node { kind, id: node_id },
        Grant {
            subject,
            level,
            restrictions: Restrictions {
                no_download: no_download != 0,
                no_print: no_print != 0,
                no_copy: no_copy != 0,
            },
        },
    ))
}

pub(crate) fn restrictions_of(r: &sqlx::any::AnyRow) -> Result<Restrictions> {
    Ok(Restrictions {
        no_download: flag(r, "no_download")?,
        no_print: flag(r, "no_print")?,
        no_copy: flag(r, "no_copy")?,
    })
}

const GRANT_COLS: &str = "node_kind, node_id, subject_kind, subject_id, access, no_download, no_print, no_copy";

/// Loads the policy and every grant of a room. NotFound if the room does not exist.
pub async fn room_access(db: &Db, room: &RoomId) -> Result<RoomAccess> {
    Ok(room_access_query(&mut *db.read.acquire().await?, room, None).await?.0)
}

/// A room's policy and grants, and the groups `user` is in, in one query: what deciding a
/// person's rights anywhere in the room needs (every request inside a room asks).
pub async fn room_access_for(db: &Db, room: &RoomId, user: &UserId) -> Result<(RoomAccess, Vec<GroupId>)> {
    room_access_query(&mut *db.read.acquire().await?, room, Some(user)).await
}

async fn room_access_on(conn: &mut AnyConnection, room: &RoomId) -> Result<RoomAccess> {
    Ok(room_access_query(conn, room, None).await?.0)
}

/// The room's policy and all its grants in one query, with the groups of `user` if named.
async fn room_access_query(
    conn: &mut AnyConnection,
    room: &RoomId,
    user: Option<&UserId>,
) -> Result<(RoomAccess, Vec<GroupId>)> {
    let (agg, tuple, text) = crate::db::Backend::of(conn).json_aggregate();
    let groups = match user {
        Some(_) => format!(
            ", (SELECT COALESCE({agg}(m.group_id){text}, '[]') FROM group_members m WHERE m.user_id = $2) AS user_groups"
        ),
        None => String::new(),
    };
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {}, (SELECT COALESCE({agg}({tuple}(g.node_kind, g.node_id, g.subject_kind, g.subject_id, \
           g.access, g.no_download, g.no_print, g.no_copy)){text}, '[]') FROM grants g WHERE g.room_id = r.id) AS grants{groups} \
         FROM rooms r WHERE r.id = $1",
        crate::rooms::POLICY_COLS
    )))
    .bind(room.as_str().to_string());
    let row = match user {
        Some(u) => row.bind(u.as_str().to_string()),
        None => row,
    }
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound("room"))?;
    let user_groups: Vec<GroupId> = match user {
        Some(_) => serde_json::from_str::<Vec<String>>(&row.try_get::<String, _>("user_groups")?)
            .map_err(|e| StoreError::Corrupt(format!("a person's groups: {e}")))?
            .into_iter()
            .map(GroupId::from_trusted)
            .collect(),
        None => vec![],
    };
    let policy = crate::rooms::policy_from_row(&row)?;
    let rows: Vec<GrantRow> = serde_json::from_str(&row.try_get::<String, _>("grants")?)
        .map_err(|e| StoreError::Corrupt(format!("a room's grants: {e}")))?;
    let mut grants: HashMap<Node, Vec<Grant>> = HashMap::new();
    let mut seen = vec![format!("{policy:?}")];
    for r in rows {
        let (node, g) = grant_from(r)?;
        seen.push(format!("{node:?} {g:?}"));
        grants.entry(node).or_default().push(g);
    }
    seen.sort();
    let watermark = match (policy.watermark_below, policy.watermark_text) {
        (Some(below), Some(text)) => Some((below, text)),
        _ => None,
    };
    let access = RoomAccess {
        room: room.clone(),
        policy: policy.policy,
        grants,
        watermark,
        seen,
    };
    Ok((access, user_groups))
}

/// Whether the node is (still) in this room: an item moved out of it since it was loaded gets
/// no grant or link of its old room.
pub(crate) async fn node_in_room(conn: &mut AnyConnection, node: &Node, room: &RoomId) -> Result<bool> {
    let sql = match node.kind {
        NodeKind::Room => return Ok(node.id == room.as_str()),
        NodeKind::Folder => "SELECT room_id FROM folders WHERE id = $1",
        NodeKind::File => "SELECT room_id FROM files WHERE id = $1",
    };
    let found = sqlx::query(sql)
        .bind(node.id.clone())
        .fetch_optional(conn)
        .await?
        .map(|r| r.try_get::<String, _>("room_id"))
        .transpose()?;
    Ok(found.as_deref() == Some(room.as_str()))
}

/// Holds the room's sharing for the rest of the change (a row lock on PostgreSQL, the write
/// lock on SQLite) and checks that its grants and policy are still what `seen` was loaded
/// with. A sharing decision is made on what the sharer saw (who has access where); if another
/// change got in between, this one is refused rather than written on a stale view.
async fn still_as_seen(c: &mut Change, seen: &RoomAccess, node: &Node) -> Result<()> {
    rooms_unchanged(c, &[seen]).await?;
    if !node_in_room(c.conn(), node, &seen.room).await? {
        return Err(StoreError::Conflict(
            "the item moved to another room at the same time; look again and retry".into(),
        ));
    }
    Ok(())
}

/// Holds these rooms (in id order, as every change does) and checks that their grants and
/// policy are still what the views were loaded with: for a decision that rests on them and is
/// not itself a sharing change (a move judged not to cross anyone's sharing).
pub async fn rooms_unchanged(c: &mut Change, seen: &[&RoomAccess]) -> Result<()> {
    let mut seen = seen.to_vec();
    seen.sort_by(|a, b| a.room.as_str().cmp(b.room.as_str()));
    seen.dedup_by(|a, b| a.room == b.room);
    let tx = c.conn();
    for view in seen {
        sqlx::query("UPDATE rooms SET name = name WHERE id = $1")
            .bind(view.room.as_str().to_string())
            .execute(&mut *tx)
            .await?;
        if room_access_on(tx, &view.room).await?.seen != view.seen {
            return Err(StoreError::Conflict(
                "the room's sharing changed at the same time; look again and retry".into(),
            ));
        }
    }
    Ok(())
}

/// The paths (root folder first, the node last) of `nodes`, folders and files of one room, in
/// two queries: for checking what a change on one node does to everything below it.
pub async fn paths_of(db: &Db, room: &RoomId, nodes: &[&Node]) -> Result<Vec<(Node, Vec<Node>)>> {
    let tree = crate::content::folder_tree(db, room).await?;
    let files: HashMap<String, String> = sqlx::query("SELECT id, folder_id FROM files WHERE room_id = $1")
        .bind(room.as_str().to_string())
        .fetch_all(&db.read)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("folder_id")?)))
        .collect::<Result<_>>()?;
    let mut out = vec![];
    for n in nodes {
        let path = match n.kind {
            NodeKind::Room => vec![],
            NodeKind::Folder => tree.path_to(&strongroom_core::ids::FolderId::from_trusted(n.id.clone())),
            NodeKind::File => match files.get(&n.id) {
                Some(folder) => {
                    let mut p = tree.path_to(&strongroom_core::ids::FolderId::from_trusted(folder.clone()));
                    p.push((*n).clone());
                    p
                }
                None => continue,
            },
        };
        out.push(((*n).clone(), path));
    }
    Ok(out)
}

/// The groups a user belongs to.
pub async fn groups_of(db: &Db, user: &UserId) -> Result<Vec<GroupId>> {
    sqlx::query("SELECT group_id FROM group_members WHERE user_id = $1")
        .bind(user.as_str().to_string())
        .fetch_all(&db.read)
        .await?
        .iter()
        .map(|r| Ok(GroupId::from_trusted(r.try_get("group_id")?)))
        .collect()
}

/// The grants on one node, for the API.
pub async fn list_grants(db: &Db, node: &Node) -> Result<Vec<Member>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {GRANT_COLS} FROM grants WHERE node_kind = $1 AND node_id = $2 ORDER BY subject_kind, subject_id"
    )))
    .bind(node.kind.as_str())
    .bind(node.id.clone())
    .fetch_all(&db.read)
    .await?;
    rows.iter()
        .map(|r| {
            let (_, g) = grant_from_row(r)?;
            let (kind, id) = match g.subject {
                Subject::User(u) => (SubjectKind::User, u.as_str().to_string()),
                Subject::Group(gid) => (SubjectKind::Group, gid.as_str().to_string()),
            };
            Ok(Member {
                kind,
                id,
                access: g.level,
                restrictions: g.restrictions,
            })
        })
        .collect()
}

/// The grant a subject holds on a node, if any.
pub async fn grant_on(db: &Db, node: &Node, kind: SubjectKind, subject: &str) -> Result<Option<Member>> {
    Ok(list_grants(db, node)
        .await?
        .into_iter()
        .find(|m| m.kind == kind && m.id == subject))
}

/// Sets (or replaces) the grant of a user or group on a node of the room `seen` was loaded
/// for. Needs a permit to share, and the room's sharing unchanged since `seen`.
pub async fn set_grant(c: &mut Change, permit: &Permit, seen: &RoomAccess, node: &Node, grant: &Member) -> Result<()> {
    require(permit, Capability::Share)?;
    still_as_seen(c, seen, node).await?;
    let room = &seen.room;
    let (kind, subject, access, restrictions) = (grant.kind, grant.id.as_str(), grant.access, grant.restrictions);
    let table = match kind {
        SubjectKind::User => "users",
        SubjectKind::Group => "groups_",
    };
    let tx = c.conn();
    let exists = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT id FROM {table} WHERE id = $1")))
        .bind(subject.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if !exists {
        return Err(StoreError::NotFound(kind.as_str()));
    }
    sqlx::query("DELETE FROM grants WHERE node_kind = $1 AND node_id = $2 AND subject_kind = $3 AND subject_id = $4")
        .bind(node.kind.as_str())
        .bind(node.id.clone())
        .bind(kind.as_str())
        .bind(subject.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO grants (room_id, node_kind, node_id, subject_kind, subject_id, access, no_download, no_print, no_copy) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(room.as_str().to_string())
    .bind(node.kind.as_str())
    .bind(node.id.clone())
    .bind(kind.as_str())
    .bind(subject.to_string())
    .bind(access.as_str())
    .bind(i64::from(restrictions.no_download))
    .bind(i64::from(restrictions.no_print))
    .bind(i64::from(restrictions.no_copy))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Removes a grant. NotFound when there is none; refused if the room's sharing changed
/// since `seen`.
pub async fn remove_grant(
    c: &mut Change,
    permit: &Permit,
    seen: &RoomAccess,
    node: &Node,
    kind: SubjectKind,
    subject: &str,
) -> Result<()> {
    require(permit, Capability::Share)?;
    still_as_seen(c, seen, node).await?;
    let r = sqlx::query(
        "DELETE FROM grants WHERE node_kind = $1 AND node_id = $2 AND subject_kind = $3 AND subject_id = $4",
    )
    .bind(node.kind.as_str())
    .bind(node.id.clone())
    .bind(kind.as_str())
    .bind(subject.to_string())
    .execute(c.conn())
    .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound("member"));
    }
    Ok(())
}

/// Refuses a permit given for another action: a bug in a caller, never the user's doing.
pub(crate) fn require(permit: &Permit, c: Capability) -> Result<()> {
    if permit.allows(Action::Item(c)) {
        Ok(())
    } else {
        Err(StoreError::Corrupt(format!(
            "a permit for {:?} was offered for {c}",
            permit.action()
        )))
    }
}
