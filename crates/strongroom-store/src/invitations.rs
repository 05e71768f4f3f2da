//! Invitations to make an account: single use, expiring, stored as the SHA-256 of the secret
//! in their link.

use crate::change::Change;
use crate::error::{Result, StoreError};
use sqlx::Row;
use strongroom_core::ids::{InvitationId, UserId};
use strongroom_core::{ModuleSet, Role};

/// Who asked for the invitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationKind {
    /// An administrator of people invited the person, with a role they chose.
    Invitation,
    /// The person asked for it themselves (self-sign-up), with the role the settings give.
    SignUp,
}

impl InvitationKind {
    fn as_str(self) -> &'static str {
        match self {
            InvitationKind::Invitation => "invitation",
            InvitationKind::SignUp => "sign_up",
        }
    }
    fn parse(s: &str) -> InvitationKind {
        match s {
            "invitation" => InvitationKind::Invitation,
            _ => InvitationKind::SignUp,
        }
    }
}

/// A pending invitation (never its secret).
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Invitation {
    #[schema(value_type = String)]
    pub id: InvitationId,
    pub kind: InvitationKind,
    /// Normalised (lower case): the account is made with this address.
    pub email: String,
    /// Empty: the person chooses it when they accept.
    pub display_name: String,
    pub role: Role,
    pub admin_modules: Vec<strongroom_core::Module>,
    /// `null` for a self-sign-up or an invitation made at the console.
    #[schema(value_type = Option<String>)]
    pub invited_by: Option<UserId>,
    pub created_at: i64,
    pub expires_at: i64,
}

impl Invitation {
    pub fn modules(&self) -> ModuleSet {
        ModuleSet::from_modules(&self.admin_modules)
    }
}

/// What is needed to record an invitation.
pub struct NewInvitation<'a> {
    pub kind: InvitationKind,
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub modules: ModuleSet,
    pub invited_by: Option<&'a UserId>,
    pub expires_at: i64,
}

const COLS: &str = "id, kind, email, display_name, role, admin_modules, invited_by, created_at, expires_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Invitation> {
    let role: String = r.try_get("role")?;
    let modules: String = r.try_get("admin_modules")?;
    Ok(Invitation {
        id: InvitationId::from_trusted(r.try_get("id")?),
        kind: InvitationKind::parse(&r.try_get::<String, _>("kind")?),
        email: r.try_get("email")?,
        display_name: r.try_get("display_name")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("invitation role {role:?}")))?,
        admin_modules: ModuleSet::from_db(&modules).modules(),
        invited_by: r.try_get::<Option<String>, _>("invited_by")?.map(UserId::from_trusted),
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
    })
}

/// Records an invitation; an earlier one to the same address stops working (one live link
/// per address: a new one replaces, never adds to, what a mailbox holds).
pub async fn create(c: &mut Change, token_hash: &str, n: NewInvitation<'_>) -> Result<Invitation> {
    let email = crate::people::normalize_new_email(n.email)?;
    let id = InvitationId::generate();
    let now = c.now();
    let modules = if n.role == Role::Admin {
        n.modules
    } else {
        ModuleSet::NONE
    };
    let tx = c.conn();
    sqlx::query("DELETE FROM invitations WHERE email = $1")
        .bind(email.clone())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO invitations (id, token_hash, kind, email, display_name, role, admin_modules, invited_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id.as_str().to_string())
    .bind(token_hash.to_string())
    .bind(n.kind.as_str())
    .bind(email.clone())
    .bind(n.display_name.to_string())
    .bind(n.role.as_str())
    .bind(modules.to_db())
    .bind(n.invited_by.map(|u| u.as_str().to_string()))
    .bind(now)
    .bind(n.expires_at)
    .execute(&mut *tx)
    .await?;
    Ok(Invitation {
        id,
        kind: n.kind,
        email,
        display_name: n.display_name.to_string(),
        role: n.role,
        admin_modules: modules.modules(),
        invited_by: n.invited_by.cloned(),
        created_at: now,
        expires_at: n.expires_at,
    })
}

/// The live invitation a link's secret is for, without spending it.
pub async fn find_live(db: &crate::Db, token_hash: &str, now: i64) -> Result<Option<Invitation>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM invitations WHERE token_hash = $1 AND expires_at > $2"
    )))
    .bind(token_hash.to_string())
    .bind(now)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}

const LIVE_FOR: &str = "WHERE email = $1 AND expires_at > $2";

/// The live invitation to an address (normalised), in a change about to replace it.
pub async fn live_for(c: &mut Change, email: &str) -> Result<Option<Invitation>> {
    let now = c.now();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM invitations {LIVE_FOR}"
    )))
    .bind(email.to_string())
    .bind(now)
    .fetch_optional(c.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The live invitation to an address (normalised), as read now, outside any change.
pub async fn find_live_for(db: &crate::Db, email: &str, now: i64) -> Result<Option<Invitation>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM invitations {LIVE_FOR}"
    )))
    .bind(email.to_string())
    .bind(now)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// One invitation, live or expired.
pub async fn get(db: &crate::Db, id: &InvitationId) -> Result<Invitation> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM invitations WHERE id = $1"
    )))
    .bind(id.as_str().to_string())
    .fetch_optional(&db.pool)
    .await?
    .ok_or(StoreError::NotFound("invitation"))?;
    from_row(&row)
}

/// The invitations not yet accepted nor expired, newest first.
pub async fn list_live(db: &crate::Db, now: i64) -> Result<Vec<Invitation>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM invitations WHERE expires_at > $1 ORDER BY created_at DESC, id DESC"
    )))
    .bind(now)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Spends a live invitation, in the change that makes the account: true if it was live. An
/// invitation accepted twice at once is spent by one of them only.
pub async fn take(c: &mut Change, id: &InvitationId, token_hash: &str) -> Result<bool> {
    let now = c.now();
    Ok(
        sqlx::query("DELETE FROM invitations WHERE id = $1 AND token_hash = $2 AND expires_at > $3")
            .bind(id.as_str().to_string())
            .bind(token_hash.to_string())
            .bind(now)
            .execute(c.conn())
            .await?
            .rows_affected()
            == 1,
    )
}

/// Withdraws an invitation: true if there was one.
pub async fn delete(c: &mut Change, id: &InvitationId) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM invitations WHERE id = $1")
        .bind(id.as_str().to_string())
        .execute(c.conn())
        .await?
        .rows_affected()
        == 1)
}

/// Deletes expired invitations.
pub async fn purge(db: &crate::Db, now: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM invitations WHERE expires_at <= $1")
        .bind(now)
        .execute(&db.pool)
        .await?
        .rows_affected())
}
