//! External links to a folder or a file: their level and restrictions, expiry, password,
//! revocation, the throttle on password guesses, and the short-lived sessions an unlocked link
//! hands out. Only SHA-256 hashes of the link's secret and of its sessions are kept.
//!
//! What a link lets its holder do is decided by `strongroom_core::rights::effective` like any
//! other right; this module only keeps links and answers "is this link live".

use crate::change::Change;
use crate::db::{Db, flag};
use crate::error::{Result, StoreError};
use crate::grants::{self, Node, NodeKind};
use serde::Serialize;
use sqlx::{AnyConnection, Row};
use strongroom_core::access::Permit;
use strongroom_core::ids::{LinkId, RoomId, UserId};
use strongroom_core::rights::{LinkGrant, Restrictions};
use strongroom_core::{AccessLevel, Capability};

/// Failed unlocks allowed before the link locks; each further failure doubles the lock.
pub const FREE_ATTEMPTS: i64 = 5;
/// The first lock, and the longest.
const FIRST_LOCK_MS: i64 = 30_000;
const LONGEST_LOCK_MS: i64 = 3_600_000;

/// A link as its managers see it (never its secret, never its password).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Link {
    #[schema(value_type = String)]
    pub id: LinkId,
    #[schema(value_type = String)]
    pub room_id: RoomId,
    /// `folder` or `file`.
    pub item_kind: String,
    pub item_id: String,
    pub access: AccessLevel,
    #[serde(flatten)]
    pub restrictions: Restrictions,
    pub password_required: bool,
    pub expires_at: Option<i64>,
    #[schema(value_type = String)]
    pub created_by: UserId,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl Link {
    /// The node the link points at.
    pub fn node(&self) -> Node {
        let kind = if self.item_kind == "folder" {
            NodeKind::Folder
        } else {
            NodeKind::File
        };
        Node::new(kind, &self.item_id)
    }

    /// The link's own level and restrictions, for `rights::effective`.
    pub fn grant(&self) -> LinkGrant {
        LinkGrant {
            level: self.access,
            restrictions: self.restrictions,
        }
    }
}

const LINK_COLS: &str = "id, room_id, node_kind, node_id, access, no_download, no_print, no_copy, password_hash, \
     expires_at, created_by, created_at, revoked_at, failed_unlocks, locked_until";

fn link_from_row(r: &sqlx::any::AnyRow) -> Result<Link> {
    let access: String = r.try_get("access")?;
    let password: Option<String> = r.try_get("password_hash")?;
    Ok(Link {
        id: LinkId::from_trusted(r.try_get("id")?),
        room_id: RoomId::from_trusted(r.try_get("room_id")?),
        item_kind: r.try_get("node_kind")?,
        item_id: r.try_get("node_id")?,
        access: AccessLevel::parse(&access).ok_or_else(|| StoreError::Corrupt(format!("link level {access}")))?,
        restrictions: Restrictions {
            no_download: flag(r, "no_download")?,
            no_print: flag(r, "no_print")?,
            no_copy: flag(r, "no_copy")?,
        },
        password_required: password.is_some(),
        expires_at: r.try_get("expires_at")?,
        created_by: UserId::from_trusted(r.try_get("created_by")?),
        created_at: r.try_get("created_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

pub struct NewLink<'a> {
    pub token_hash: &'a str,
    pub room: &'a RoomId,
    pub node: &'a Node,
    pub access: AccessLevel,
    pub restrictions: Restrictions,
    pub password_hash: Option<String>,
    pub expires_at: Option<i64>,
    pub by: &'a UserId,
}

/// Creates a link. Needs a permit to manage links on the item.
pub async fn create_link(c: &mut Change, permit: &Permit, l: NewLink<'_>) -> Result<Link> {
    grants::require(permit, Capability::ManageLinks)?;
    if !l.access.allowed_for_links() {
        return Err(StoreError::Invalid(format!(
            "a link cannot carry the level {}; use view_only, form_filling, comment, review or edit",
            l.access.as_str()
        )));
    }
    if l.node.kind == NodeKind::Room {
        return Err(StoreError::Invalid("links point at a folder or a file".into()));
    }
    // Held like a sharing change, and the item must still be in the room it was judged in.
    sqlx::query("UPDATE rooms SET name = name WHERE id = $1")
        .bind(l.room.as_str().to_string())
        .execute(c.conn())
        .await?;
    if !grants::node_in_room(c.conn(), l.node, l.room).await? {
        return Err(StoreError::Conflict(
            "the item moved at the same time; try again".into(),
        ));
    }
    let id = LinkId::generate();
    sqlx::query(
        "INSERT INTO links (id, token_hash, room_id, node_kind, node_id, access, no_download, no_print, no_copy, \
         password_hash, expires_at, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(id.as_str().to_string())
    .bind(l.token_hash.to_string())
    .bind(l.room.as_str().to_string())
    .bind(l.node.kind.as_str())
    .bind(l.node.id.clone())
    .bind(l.access.as_str())
    .bind(i64::from(l.restrictions.no_download))
    .bind(i64::from(l.restrictions.no_print))
    .bind(i64::from(l.restrictions.no_copy))
    .bind(l.password_hash)
    .bind(l.expires_at)
    .bind(l.by.as_str().to_string())
    .bind(c.now())
    .execute(c.conn())
    .await?;
    link_on(c.conn(), &id).await
}

async fn link_on(conn: &mut AnyConnection, id: &LinkId) -> Result<Link> {
    let r = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {LINK_COLS} FROM links WHERE id = $1"
    )))
    .bind(id.as_str().to_string())
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound("link"))?;
    link_from_row(&r)
}

/// The nodes of a room that a live (not revoked) link points at.
pub async fn linked_nodes(db: &Db, room: &RoomId) -> Result<std::collections::HashSet<Node>> {
    let rows = sqlx::query(LIVE_LINKED)
        .bind(room.as_str().to_string())
        .fetch_all(&db.read)
        .await?;
    nodes_of(&rows)
}

/// Whether any of `nodes` carries a live link now, read inside a change that holds the room
/// (`grants::rooms_unchanged`; making a link holds it too): a link made since a decision was
/// taken on [`linked_nodes`] is seen.
pub async fn any_linked_now(c: &mut Change, room: &RoomId, nodes: &[Node]) -> Result<bool> {
    let rows = sqlx::query(LIVE_LINKED)
        .bind(room.as_str().to_string())
        .fetch_all(&mut *c.conn())
        .await?;
    let linked = nodes_of(&rows)?;
    Ok(nodes.iter().any(|n| linked.contains(n)))
}

const LIVE_LINKED: &str = "SELECT node_kind, node_id FROM links WHERE room_id = $1 AND revoked_at IS NULL";

fn nodes_of(rows: &[sqlx::any::AnyRow]) -> Result<std::collections::HashSet<Node>> {
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get("node_kind")?;
            let kind = if kind == "folder" {
                NodeKind::Folder
            } else {
                NodeKind::File
            };
            Ok(Node::new(kind, &r.try_get::<String, _>("node_id")?))
        })
        .collect()
}

/// The links on one item, newest first (revoked ones included, marked).
pub async fn list_links(db: &Db, node: &Node) -> Result<Vec<Link>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {LINK_COLS} FROM links WHERE node_kind = $1 AND node_id = $2 ORDER BY created_at DESC, id"
    )))
    .bind(node.kind.as_str())
    .bind(node.id.clone())
    .fetch_all(&db.read)
    .await?
    .iter()
    .map(link_from_row)
    .collect()
}

/// Revokes a link of this item (at once: its sessions end too). NotFound for a link of
/// another item.
pub async fn revoke_link(c: &mut Change, permit: &Permit, node: &Node, id: &LinkId) -> Result<Link> {
    grants::require(permit, Capability::ManageLinks)?;
    let now = c.now();
    let tx = c.conn();
    let r = sqlx::query(
        "UPDATE links SET revoked_at = $1 WHERE id = $2 AND node_kind = $3 AND node_id = $4 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(id.as_str().to_string())
    .bind(node.kind.as_str())
    .bind(node.id.clone())
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound("link"));
    }
    sqlx::query("DELETE FROM link_sessions WHERE link_id = $1")
        .bind(id.as_str().to_string())
        .execute(&mut *tx)
        .await?;
    link_on(tx, id).await
}

/// A live link found by its secret's hash: neither revoked nor expired, with its password
/// hash.
pub struct LiveLink {
    pub link: Link,
    pub password_hash: Option<String>,
}

pub async fn find_live_link(db: &Db, token_hash: &str, now: i64) -> Result<Option<LiveLink>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {LINK_COLS} FROM links WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)"
    )))
    .bind(token_hash.to_string())
    .bind(now)
    .fetch_optional(&db.read)
    .await?;
    row.map(|r| {
        Ok(LiveLink {
            link: link_from_row(&r)?,
            password_hash: r.try_get("password_hash")?,
        })
    })
    .transpose()
}

/// Counts an unlock attempt before its password is checked, so parallel guesses each use up
/// one: [`FREE_ATTEMPTS`] are free, the last of them locks the link (for 30 s, twice as long
/// after each further attempt, up to an hour) and no attempt is counted or checked while it
/// is locked. Counting and locking are one statement, so guesses sent at once cannot slip
/// past the lock. A right password clears the count ([`clear_failed_unlocks`]).
/// `Err(until)`: locked until then.
pub async fn begin_unlock(db: &Db, id: &LinkId, now: i64) -> Result<std::result::Result<(), i64>> {
    let r = sqlx::query(
        "UPDATE links SET failed_unlocks = failed_unlocks + 1, \
         locked_until = CASE WHEN failed_unlocks + 1 >= $3 THEN $4 ELSE locked_until END \
         WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2)",
    )
    .bind(id.as_str().to_string())
    .bind(now)
    .bind(FREE_ATTEMPTS)
    .bind(now + FIRST_LOCK_MS)
    .execute(&db.pool)
    .await?;
    let row = sqlx::query("SELECT failed_unlocks, locked_until FROM links WHERE id = $1")
        .bind(id.as_str().to_string())
        .fetch_one(&db.pool)
        .await?;
    if r.rows_affected() == 0 {
        let until: Option<i64> = row.try_get("locked_until")?;
        return Ok(Err(until.unwrap_or(now)));
    }
    // Past the free attempts, each one locks for longer (the lock above is the shortest).
    let attempts: i64 = row.try_get("failed_unlocks")?;
    if attempts > FREE_ATTEMPTS {
        let doublings = u32::try_from((attempts - FREE_ATTEMPTS).min(20)).unwrap_or(20);
        let until = now + FIRST_LOCK_MS.saturating_mul(1 << doublings).min(LONGEST_LOCK_MS);
        sqlx::query("UPDATE links SET locked_until = $1 WHERE id = $2 AND locked_until < $1")
            .bind(until)
            .bind(id.as_str().to_string())
            .execute(&db.pool)
            .await?;
    }
    Ok(Ok(()))
}

/// Opens a link session (after a right password, which clears the count of wrong ones).
pub async fn create_link_session(c: &mut Change, id_hash: &str, link: &LinkId, expires_at: i64) -> Result<()> {
    let now = c.now();
    let tx = c.conn();
    sqlx::query("UPDATE links SET failed_unlocks = 0, locked_until = NULL WHERE id = $1")
        .bind(link.as_str().to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO link_sessions (id_hash, link_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(id_hash.to_string())
        .bind(link.as_str().to_string())
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The live link behind a live link session (an expired or revoked link ends its sessions).
pub async fn find_link_session(db: &Db, id_hash: &str, now: i64) -> Result<Option<Link>> {
    let cols: Vec<String> = LINK_COLS.split(", ").map(|c| format!("l.{c}")).collect();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM link_sessions s JOIN links l ON l.id = s.link_id \
         WHERE s.id_hash = $1 AND s.expires_at > $2 AND l.revoked_at IS NULL AND (l.expires_at IS NULL OR l.expires_at > $2)",
        cols.join(", ")
    )))
    .bind(id_hash.to_string())
    .bind(now)
    .fetch_optional(&db.read)
    .await?;
    row.map(|r| link_from_row(&r)).transpose()
}
