//! Users and groups.

use crate::change::Change;
use crate::db::{Db, flag};
use crate::error::{Result, StoreError};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use strongroom_core::ids::{GroupId, UserId};
use strongroom_core::{ModuleSet, Role};

/// A person's account.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct User {
    #[schema(value_type = String)]
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// For an Administrator: the modules they administer (all four = full access).
    pub admin_modules: Vec<strongroom_core::Module>,
    pub active: bool,
    /// When processing was restricted (the person frozen: disabled until unfrozen).
    pub frozen_at: Option<i64>,
    pub created_at: i64,
}

impl User {
    pub fn modules(&self) -> ModuleSet {
        ModuleSet::from_modules(&self.admin_modules)
    }
}

pub(crate) const USER_COLS: &str = "id, email, display_name, role, admin_modules, active, frozen_at, created_at";

pub(crate) fn user_from_row(r: &AnyRow) -> Result<User> {
    let role: String = r.try_get("role")?;
    let modules: String = r.try_get("admin_modules")?;
    Ok(User {
        id: UserId::from_trusted(r.try_get("id")?),
        email: r.try_get("email")?,
        display_name: r.try_get("display_name")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("unknown role {role}")))?,
        admin_modules: ModuleSet::from_db(&modules).modules(),
        active: flag(r, "active")?,
        frozen_at: r.try_get("frozen_at")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Lower-cases and trims an e-mail address and checks its rough shape.
pub fn normalize_email(email: &str) -> Result<String> {
    let e = email.trim().to_lowercase();
    let ok = e.len() <= 254
        && e.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.'))
        // Invisible characters too: `evil\u{202E}@x.org` must not pass for another address.
        && !e.chars().any(|c| c.is_whitespace() || c.is_control() || is_hidden_format(c));
    if ok {
        Ok(e)
    } else {
        Err(StoreError::Invalid(format!(
            "not a valid e-mail address: {:?}",
            excerpt(email)
        )))
    }
}

/// Normalises the address of a new account or invitation, which must also be one a mail
/// server takes: one `@`, no quoted local part, no domain literal (`a@b@example.org` is none,
/// and "the domain" must be one thing for every reader of it). Checked only for new ones, so
/// an account made before this rule still signs in.
pub fn normalize_new_email(email: &str) -> Result<String> {
    let e = normalize_email(email)?;
    if e.matches('@').count() == 1 && !e.contains(['"', '\\', '(', ')', ',', ';', ':', '<', '>', '[', ']']) {
        Ok(e)
    } else {
        Err(StoreError::Invalid(format!(
            "not an e-mail address a mail server takes: {:?}",
            excerpt(email)
        )))
    }
}

/// The start of a piece of client input, for an error message: never echo more than this
/// (a 1 MB "e-mail" must not come back as a 1 MB error).
pub fn excerpt(s: &str) -> String {
    const MAX_CHARS: usize = 64;
    if s.chars().count() <= MAX_CHARS {
        s.to_string()
    } else {
        let mut e: String = s.chars().take(MAX_CHARS).collect();
        e.push('…');
        e
    }
}

/// Checks a display or item name: not empty, not too long, no control characters.
pub fn check_name(kind: &str, name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() {
        return Err(StoreError::Invalid(format!("{kind} name must not be empty")));
    }
    if n.chars().count() > 255 {
        return Err(StoreError::Invalid(format!(
            "{kind} name is longer than 255 characters"
        )));
    }
    if n.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!("{kind} name contains control characters")));
    }
    if let Some(c) = n.chars().find(|c| is_hidden_format(*c)) {
        return Err(StoreError::Invalid(format!(
            "{kind} name contains the invisible or text-direction character U+{:04X}, which can make a name look like another",
            u32::from(c)
        )));
    }
    Ok(n.to_string())
}

/// Characters that change how a name is displayed without being seen: bidirectional
/// controls (the "right-to-left override" that shows `invoice\u{202E}gpj.exe` as
/// `invoiceexe.jpg`), zero-width and invisible characters, the byte order mark, and tag
/// characters. The zero-width joiner and non-joiner (U+200C, U+200D) stay allowed: Persian,
/// Indic scripts and emoji sequences need them, and they cannot reorder text.
pub fn is_hidden_format(c: char) -> bool {
    HIDDEN_FORMAT.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// The ranges [`is_hidden_format`] refuses: Unicode's Default_Ignorable_Code_Point and
/// Bidi_Control characters, and the line and paragraph separators — except ZWNJ/ZWJ
/// (U+200C, U+200D) and the variation selectors U+FE00–U+FE0F, which emoji and several
/// scripts need and which cannot reorder text. One table, also read by the OpenAPI document.
pub const HIDDEN_FORMAT: &[(char, char)] = &[
    ('\u{00AD}', '\u{00AD}'),   // soft hyphen
    ('\u{034F}', '\u{034F}'),   // combining grapheme joiner
    ('\u{061C}', '\u{061C}'),   // Arabic letter mark
    ('\u{115F}', '\u{1160}'),   // Hangul fillers
    ('\u{17B4}', '\u{17B5}'),   // Khmer inherent vowels
    ('\u{180B}', '\u{180F}'),   // Mongolian free variation selectors, vowel separator
    ('\u{200B}', '\u{200B}'),   // zero-width space
    ('\u{200E}', '\u{200F}'),   // left-to-right / right-to-left mark
    ('\u{2028}', '\u{2029}'),   // line and paragraph separators
    ('\u{202A}', '\u{202E}'),   // embeddings and overrides
    ('\u{2060}', '\u{206F}'),   // word joiner, invisible operators, isolates, deprecated
    ('\u{3164}', '\u{3164}'),   // Hangul filler
    ('\u{FEFF}', '\u{FEFF}'),   // byte order mark / zero-width no-break space
    ('\u{FFA0}', '\u{FFA0}'),   // halfwidth Hangul filler
    ('\u{FFF0}', '\u{FFFB}'),   // unassigned specials, interlinear annotation
    ('\u{1BCA0}', '\u{1BCA3}'), // shorthand format controls
    ('\u{1D173}', '\u{1D17A}'), // musical format controls
    ('\u{E0000}', '\u{E0FFF}'), // tags, variation selectors supplement
];

/// What is needed to create a user.
pub struct NewUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub modules: ModuleSet,
    /// An Argon2id PHC string, or `None` for an account that signs in another way.
    pub password_hash: Option<String>,
}

pub async fn create_user(c: &mut Change, u: NewUser<'_>) -> Result<User> {
    let email = normalize_new_email(u.email)?;
    let display = if u.display_name.trim().is_empty() {
        email.clone()
    } else {
        check_name("display", u.display_name)?
    };
    let id = UserId::generate();
    let modules = if u.role == Role::Admin {
        u.modules
    } else {
        ModuleSet::NONE
    };
    sqlx::query(
        "INSERT INTO users (id, email, display_name, role, admin_modules, active, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $7)",
    )
    .bind(id.as_str().to_string())
    .bind(email.clone())
    .bind(display)
    .bind(u.role.as_str())
    .bind(modules.to_db())
    .bind(u.password_hash)
    .bind(c.now())
    .execute(c.conn())
    .await
    .map_err(|e| {
        if u.role == Role::Owner && owner_conflict(&e) {
            StoreError::Conflict("the instance already has an Owner; transfer ownership instead".into())
        } else {
            StoreError::unique(e, &format!("a user with e-mail {email} already exists"))
        }
    })?;
    user_on(c.conn(), &id).await
}

fn owner_conflict(e: &sqlx::Error) -> bool {
    // PostgreSQL names the index, SQLite the column.
    matches!(e, sqlx::Error::Database(d)
        if d.is_unique_violation() && (d.message().contains("users_one_owner") || d.message().contains("users.role")))
}

pub async fn get_user(db: &Db, id: &UserId) -> Result<User> {
    user_on(&mut *db.read.acquire().await?, id).await
}

async fn user_on(conn: &mut AnyConnection, id: &UserId) -> Result<User> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLS} FROM users WHERE id = $1"
    )))
    .bind(id.as_str().to_string())
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound("user"))?;
    user_from_row(&row)
}

/// The user with this e-mail and their password hash, if any.
pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<(User, Option<String>)>> {
    let Ok(email) = normalize_email(email) else {
        return Ok(None);
    };
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLS}, password_hash FROM users WHERE email = $1"
    )))
    .bind(email)
    .fetch_optional(&db.read)
    .await?;
    match row {
        None => Ok(None),
        Some(r) => Ok(Some((user_from_row(&r)?, r.try_get("password_hash")?))),
    }
}

pub async fn list_users(db: &Db) -> Result<Vec<User>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLS} FROM users ORDER BY email"
    )))
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(user_from_row).collect()
}

pub async fn owner_exists(db: &Db) -> Result<bool> {
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = 'owner'")
        .fetch_one(&db.pool)
        .await?
        .try_get("n")?;
    Ok(n > 0)
}

/// A change to a user; `None` fields stay as they are.
#[derive(Default)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub modules: Option<ModuleSet>,
    pub active: Option<bool>,
}

/// Applies `p` at `now` (ms). Disabling ends the person's sessions and revokes their API
/// tokens in the same transaction: enabling the account again later brings none of them back.
pub async fn update_user(c: &mut Change, id: &UserId, p: UserPatch) -> Result<User> {
    let now = c.now();
    let tx = c.conn();
    let cur = user_on(tx, id).await?;
    if cur.role == Role::Owner && (p.role.is_some_and(|r| r != Role::Owner) || p.active == Some(false)) {
        return Err(StoreError::Conflict(
            "the Owner cannot be demoted or disabled; transfer ownership first".into(),
        ));
    }
    if p.role == Some(Role::Owner) && cur.role != Role::Owner {
        return Err(StoreError::Conflict(
            "use transfer-ownership to make someone the Owner".into(),
        ));
    }
    let display = match p.display_name {
        Some(d) => check_name("display", &d)?,
        None => cur.display_name.clone(),
    };
    let role = p.role.unwrap_or(cur.role);
    let modules = if role == Role::Admin {
        p.modules.unwrap_or(cur.modules())
    } else {
        ModuleSet::NONE
    };
    if p.active == Some(true) && cur.frozen_at.is_some() {
        return Err(StoreError::Conflict(
            "the person is frozen (processing restricted): unfreeze them to enable the account".into(),
        ));
    }
    let active = p.active.unwrap_or(cur.active);
    sqlx::query("UPDATE users SET display_name = $1, role = $2, admin_modules = $3, active = $4 WHERE id = $5")
        .bind(display)
        .bind(role.as_str())
        .bind(modules.to_db())
        .bind(i64::from(active))
        .bind(id.as_str().to_string())
        .execute(&mut *tx)
        .await?;
    if !active {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(id.as_str().to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id.as_str().to_string())
            .execute(&mut *tx)
            .await?;
    }
    user_on(tx, id).await
}

/// Freezes a person (restriction of processing: disabled, their sessions ended and tokens
/// revoked as by [`update_user`], kept so until unfrozen) or unfreezes them (enabled again).
/// The Owner cannot be frozen. Returns the person, and whether anything changed.
pub async fn set_frozen(c: &mut Change, id: &UserId, frozen: bool) -> Result<(User, bool)> {
    let now = c.now();
    let cur = user_on(c.conn(), id).await?;
    if cur.frozen_at.is_some() == frozen {
        return Ok((cur, false));
    }
    if frozen {
        update_user(
            c,
            id,
            UserPatch {
                active: Some(false),
                ..Default::default()
            },
        )
        .await?;
    }
    sqlx::query("UPDATE users SET frozen_at = $1, active = $2 WHERE id = $3")
        .bind(frozen.then_some(now))
        .bind(i64::from(!frozen))
        .bind(id.as_str().to_string())
        .execute(&mut *c.conn())
        .await?;
    Ok((user_on(c.conn(), id).await?, true))
}

/// Holds a person's row for the rest of the change and checks they still have the role and
/// modules a decision about them was made on (their rank), so that a promotion committed in
/// between is not overridden by someone who now ranks below them. `password_hash`, when given,
/// must be unchanged too (a sign-in checked against it).
pub async fn still_as_seen(c: &mut Change, user: &User, password_hash: Option<&str>) -> Result<()> {
    let r = sqlx::query(
        "UPDATE users SET role = role WHERE id = $1 AND role = $2 AND admin_modules = $3 AND active = $4 \
         AND ($5 = '' OR password_hash = $5)",
    )
    .bind(user.id.as_str().to_string())
    .bind(user.role.as_str())
    .bind(user.modules().to_db())
    .bind(i64::from(user.active))
    .bind(password_hash.unwrap_or("").to_string())
    .execute(c.conn())
    .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::Conflict(
            "the person was changed at the same time; look again and retry".into(),
        ));
    }
    Ok(())
}

/// The sign-ins a password change leaves alive: the one it was made through, if any.
#[derive(Default)]
pub struct KeepSignIn<'a> {
    /// SHA-256 of the session secret (hex), as stored.
    pub session_hash: Option<&'a str>,
    /// SHA-256 of the API token (hex), as stored.
    pub token_hash: Option<&'a str>,
}

/// Sets a person's password hash and, in the same transaction, ends every other session and
/// revokes every other API token of theirs: whoever knew the old password (or stole a session
/// or token with it) loses access with it. Returns how many sessions and tokens ended.
pub async fn change_password(c: &mut Change, id: &UserId, hash: &str, keep: KeepSignIn<'_>) -> Result<u64> {
    let now = c.now();
    let tx = c.conn();
    let r = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash.to_string())
        .bind(id.as_str().to_string())
        .execute(&mut *tx)
        .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound("user"));
    }
    // '' matches no stored hash (they are 64 hex digits), so "keep nothing" needs no second query.
    let sessions = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
        .bind(id.as_str().to_string())
        .bind(keep.session_hash.unwrap_or("").to_string())
        .execute(&mut *tx)
        .await?;
    let tokens = sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND token_hash <> $3",
    )
    .bind(now)
    .bind(id.as_str().to_string())
    .bind(keep.token_hash.unwrap_or("").to_string())
    .execute(&mut *tx)
    .await?;
    // A reset link asked for before stays no way in past a new password.
    sqlx::query("DELETE FROM password_resets WHERE user_id = $1")
        .bind(id.as_str().to_string())
        .execute(&mut *tx)
        .await?;
    Ok(sessions.rows_affected() + tokens.rows_affected())
}

/// Makes `to` the Owner and the current Owner a full-access Administrator, in one transaction.
pub async fn transfer_ownership(c: &mut Change, from: &UserId, to: &UserId) -> Result<()> {
    if from == to {
        return Err(StoreError::Conflict("you are already the Owner".into()));
    }
    let tx = c.conn();
    let target = user_on(tx, to).await?;
    if !target.active {
        return Err(StoreError::Conflict("ownership can only go to an active user".into()));
    }
    if target.role == Role::Guest {
        return Err(StoreError::Conflict("ownership cannot go to a Guest".into()));
    }
    let r = sqlx::query("UPDATE users SET role = 'admin', admin_modules = $1 WHERE id = $2 AND role = 'owner'")
        .bind(ModuleSet::ALL.to_db())
        .bind(from.as_str().to_string())
        .execute(&mut *tx)
        .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::Conflict("only the Owner can transfer ownership".into()));
    }
    sqlx::query("UPDATE users SET role = 'owner', admin_modules = '' WHERE id = $1")
        .bind(to.as_str().to_string())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// A group of users.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Group {
    #[schema(value_type = String)]
    pub id: GroupId,
    pub name: String,
    #[schema(value_type = Vec<String>)]
    pub members: Vec<UserId>,
}

pub async fn create_group(c: &mut Change, name: &str) -> Result<Group> {
    let name = check_name("group", name)?;
    let id = GroupId::generate();
    sqlx::query("INSERT INTO groups_ (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(id.as_str().to_string())
        .bind(name.clone())
        .bind(c.now())
        .execute(c.conn())
        .await
        .map_err(|e| StoreError::unique(e, &format!("a group named {name:?} already exists")))?;
    Ok(Group {
        id,
        name,
        members: vec![],
    })
}

pub async fn get_group(db: &Db, id: &GroupId) -> Result<Group> {
    group_on(&mut *db.read.acquire().await?, id).await
}

async fn group_on(conn: &mut AnyConnection, id: &GroupId) -> Result<Group> {
    let row = sqlx::query("SELECT id, name FROM groups_ WHERE id = $1")
        .bind(id.as_str().to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("group"))?;
    let members = sqlx::query("SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY user_id")
        .bind(id.as_str().to_string())
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>("user_id").map(UserId::from_trusted))
        .collect::<std::result::Result<_, _>>()?;
    Ok(Group {
        id: GroupId::from_trusted(row.try_get("id")?),
        name: row.try_get("name")?,
        members,
    })
}

pub async fn find_group_by_name(db: &Db, name: &str) -> Result<Group> {
    let id: String = sqlx::query("SELECT id FROM groups_ WHERE name = $1")
        .bind(name.trim().to_string())
        .fetch_optional(&db.read)
        .await?
        .ok_or(StoreError::NotFound("group"))?
        .try_get("id")?;
    get_group(db, &GroupId::from_trusted(id)).await
}

pub async fn list_groups(db: &Db) -> Result<Vec<Group>> {
    let ids: Vec<String> = sqlx::query("SELECT id FROM groups_ ORDER BY name")
        .fetch_all(&db.read)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<std::result::Result<_, _>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(get_group(db, &GroupId::from_trusted(id)).await?);
    }
    Ok(out)
}

/// Deletes a group, its grants and its memberships, if its members are still `members` (the
/// people the deletion was authorized for): someone added meanwhile was not judged.
pub async fn delete_group(c: &mut Change, id: &GroupId, members: &[UserId]) -> Result<()> {
    let tx = c.conn();
    let mut now: Vec<String> = sqlx::query("SELECT user_id FROM group_members WHERE group_id = $1")
        .bind(id.as_str().to_string())
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get("user_id"))
        .collect::<std::result::Result<_, _>>()?;
    let mut seen: Vec<String> = members.iter().map(|m| m.as_str().to_string()).collect();
    now.sort();
    seen.sort();
    if now != seen {
        return Err(StoreError::Conflict(
            "the group's members changed at the same time; look again and retry".into(),
        ));
    }
    sqlx::query("DELETE FROM grants WHERE subject_kind = 'group' AND subject_id = $1")
        .bind(id.as_str().to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM group_members WHERE group_id = $1")
        .bind(id.as_str().to_string())
        .execute(&mut *tx)
        .await?;
    let r = sqlx::query("DELETE FROM groups_ WHERE id = $1")
        .bind(id.as_str().to_string())
        .execute(&mut *tx)
        .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound("group"));
    }
    Ok(())
}

pub async fn add_group_member(c: &mut Change, group: &GroupId, user: &UserId) -> Result<()> {
    let tx = c.conn();
    group_on(tx, group).await?;
    user_on(tx, user).await?;
    let exists = sqlx::query("SELECT 1 AS x FROM group_members WHERE group_id = $1 AND user_id = $2")
        .bind(group.as_str().to_string())
        .bind(user.as_str().to_string())
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if !exists {
        sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)")
            .bind(group.as_str().to_string())
            .bind(user.as_str().to_string())
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::unique(e, "already a member"))?;
    }
    Ok(())
}

pub async fn remove_group_member(c: &mut Change, group: &GroupId, user: &UserId) -> Result<()> {
    let r = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
        .bind(group.as_str().to_string())
        .bind(user.as_str().to_string())
        .execute(c.conn())
        .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound("group member"));
    }
    Ok(())
}

#[cfg(test)]
mod name_tests {
    use super::*;

    /// Names as a person types them → accepted or not (written out, not derived).
    #[test]
    fn names_that_look_like_other_names_are_refused() {
        #[rustfmt::skip]
        let table: &[(&str, bool)] = &[
            ("invoice.pdf", true),
            ("Überweisung März.xlsx", true),
            ("قرارداد.docx", true),                  // right-to-left script itself is fine
            ("می\u{200C}خواهم.txt", true),            // ZWNJ, needed in Persian
            ("👩\u{200D}⚖️ notes.md", true),          // ZWJ in an emoji sequence
            ("invoice\u{202E}gpj.exe", false),       // right-to-left override
            ("a\u{202A}b", false),                    // left-to-right embedding
            ("a\u{2066}b\u{2069}", false),            // isolates
            ("a\u{200F}b", false),                    // right-to-left mark
            ("a\u{061C}b", false),                    // Arabic letter mark
            ("pay\u{200B}pal.pdf", false),            // zero-width space
            ("\u{FEFF}report.pdf", false),            // byte order mark
            ("re\u{00AD}port.pdf", false),            // soft hyphen
            ("a\u{2060}b", false),                    // word joiner
            ("a\u{E0041}b", false),                   // tag character
            ("tab\there", false),                     // control character
            ("a\u{2028}b", false),                    // line separator
            ("a\u{2029}b", false),                    // paragraph separator
            ("a\u{034F}b", false),                    // combining grapheme joiner
            ("a\u{180B}b", false),                    // Mongolian variation selector
            ("a\u{17B4}b", false),                    // Khmer inherent vowel
            ("a\u{E0100}b", false),                   // variation selector supplement
            ("a\u{1BCA0}b", false),                   // shorthand format control
            ("❤\u{FE0F} notes", true),                // emoji presentation selector
        ];
        for (name, ok) in table {
            assert_eq!(check_name("file", name).is_ok(), *ok, "{name:?}");
        }
        let e = check_name("file", "invoice\u{202E}gpj.exe").unwrap_err().to_string();
        assert!(e.contains("U+202E"), "{e}");
    }

    /// E-mail addresses as typed → the stored form, or refused (written out, not derived).
    #[test]
    fn e_mail_addresses_with_invisible_characters_are_refused() {
        for (typed, want) in [
            (" Ann@Example.org ", Some("ann@example.org")),
            ("evil\u{202E}@x.org", None),
            ("a\u{200B}@x.org", None),
            ("ann@exa\u{00AD}mple.org", None),
            ("a b@x.org", None),
            ("ann@x", None),
        ] {
            assert_eq!(normalize_email(typed).ok().as_deref(), want, "{typed:?}");
        }
    }
}
