//! External links: made, listed and revoked on the folder or file they point at; opened
//! anonymously by the secret in their URL; unlocked (with the password, if they have one) into
//! a short-lived link session; then the linked item is read as that link's holder.
//!
//! An unknown, expired or revoked link, and one whose maker may no longer make it, all answer
//! the same "link not found". Password guesses are counted per link before they are checked
//! (see `strongroom_store::links::begin_unlock`), and each check is an Argon2id verification
//! in the bounded password queue.

use crate::access::{InRoom, Item, Target, guard_file_for, guard_folder_for, target, visible_listing};
use crate::{Caller, Error, LinkCaller, Requester, Result, Service};
use secrecy::SecretString;
use strongroom_auth::{password, token};
use strongroom_core::audit::{AuditAction, AuditEvent, Outcome, RequestOrigin};
use strongroom_core::ids::{FileId, FolderId, LinkId};
use strongroom_core::rights::{Restrictions, may_link};
use strongroom_core::{AccessLevel, Capability};
use strongroom_store::content::{self, FileInfo, FolderListing};
use strongroom_store::grants::NodeKind;
use strongroom_store::links::{self, Link, LiveLink, NewLink};

/// How long an unlocked link's session lasts (never past the link's own expiry).
const SESSION_MS: i64 = 60 * 60 * 1000;

/// The longest a link may live, in days.
pub const MAX_DAYS: u32 = 3650;

/// What a new link gives.
pub struct LinkRequest {
    /// `view_only`, `form_filling`, `comment`, `review` or `edit` (at most what the maker holds).
    pub access: AccessLevel,
    pub restrictions: Restrictions,
    /// A password the holder must give; none: the URL alone opens it.
    pub password: Option<SecretString>,
    /// Days until the link stops working (1 to [`MAX_DAYS`]); none: until revoked.
    pub expires_in_days: Option<u32>,
}

/// A new link, with its secret (shown this once).
pub struct NewLinkSecret {
    pub token: String,
    pub link: Link,
}

/// Links to an item. Needs the right to manage links there.
pub async fn list_links(svc: &Service, caller: &Caller, item: Item<'_>) -> Result<Vec<Link>> {
    let at = linked(svc, caller, item).await?;
    Ok(links::list_links(&svc.db, &at.node).await?)
}

async fn linked(svc: &Service, caller: &Caller, item: Item<'_>) -> Result<Target> {
    match item {
        Item::Room(_) => Err(Error::invalid("links point at a folder or a file, not a room")),
        _ => target(svc, caller, item, Capability::ManageLinks).await,
    }
}

/// Makes an external link to a folder (it reaches what is inside) or a file.
pub async fn create_link(svc: &Service, caller: &Caller, item: Item<'_>, req: LinkRequest) -> Result<NewLinkSecret> {
    let at = linked(svc, caller, item).await?;
    if !req.access.allowed_for_links() {
        return Err(Error::invalid(
            "a link carries view_only, form_filling, comment, review or edit",
        ));
    }
    if !may_link(at.in_room.rights(&at.path), req.access, req.restrictions) {
        return Err(Error::forbidden("a link gives no more than you hold yourself"));
    }
    let expires_at = match req.expires_in_days {
        Some(days @ 1..=MAX_DAYS) => Some(svc.now().saturating_add(i64::from(days) * 86_400_000)),
        Some(_) => return Err(Error::invalid("expires_in_days must be between 1 and 3650")),
        None => None,
    };
    let password_hash = match req.password {
        Some(pw) => Some(password::hash(pw).await?),
        None => None,
    };
    let (secret, hash) = token::generate(token::Kind::Link);
    let mut change = svc.change_by(caller).await?;
    let link = links::create_link(
        &mut change,
        &at.permit,
        NewLink {
            token_hash: &hash,
            room: &at.in_room.access.room,
            node: &at.node,
            access: req.access,
            restrictions: req.restrictions,
            password_hash,
            expires_at,
            by: &caller.actor.user_id,
        },
    )
    .await?;
    change
        .commit(
            &caller
                .event(AuditAction::LinkCreate)
                .target(at.node.kind.as_str(), &at.node.id)
                .details(serde_json::json!({
                    "link": link.id, "access": link.access, "restrictions": req.restrictions,
                    "expires_at": link.expires_at, "password": link.password_required,
                })),
        )
        .await?;
    Ok(NewLinkSecret { token: secret, link })
}

/// Revokes a link at once (its sessions end too).
pub async fn revoke_link(svc: &Service, caller: &Caller, item: Item<'_>, link: &LinkId) -> Result<()> {
    let at = linked(svc, caller, item).await?;
    let mut change = svc.change_by(caller).await?;
    links::revoke_link(&mut change, &at.permit, &at.node, link).await?;
    change
        .commit(
            &caller
                .event(AuditAction::LinkRevoke)
                .target(at.node.kind.as_str(), &at.node.id)
                .details(serde_json::json!({"link": link})),
        )
        .await?;
    Ok(())
}

/// The one answer for a link that does not work, whatever the reason.
fn dead_link() -> Error {
    Error::NotFound("link")
}

/// A live link whose maker may still make it.
async fn live(svc: &Service, secret: &str) -> Result<LiveLink> {
    let found = links::find_live_link(&svc.db, &token::hash(secret), svc.now())
        .await?
        .ok_or_else(dead_link)?;
    let in_room = InRoom::for_link(svc, &found.link).await?;
    // A link to something in the trash works again when it is restored.
    let (path, live) = match found.link.node().kind {
        NodeKind::Folder => {
            let id = FolderId::from_trusted(found.link.item_id.clone());
            (
                content::folder_path(&svc.db, &id).await?,
                content::folder_is_live(&svc.db, &id).await?,
            )
        }
        _ => {
            let file = content::get_file(&svc.db, &FileId::from_trusted(found.link.item_id.clone())).await?;
            let live = !file.trashed && content::folder_is_live(&svc.db, &file.folder_id).await?;
            (content::file_path(&svc.db, &file).await?, live)
        }
    };
    if !live || !in_room.rights(&path).visible() {
        return Err(dead_link());
    }
    Ok(found)
}

fn link_event(action: AuditAction, l: &Link, origin: &RequestOrigin) -> AuditEvent {
    AuditEvent::new(action)
        .by_link(l.id.as_str())
        .target(l.node().kind.as_str(), &l.item_id)
        .from_origin(origin)
}

/// Opens a link (anonymous): the link as its landing page shows it. Audited.
pub async fn open_link(svc: &Service, secret: &str, origin: &RequestOrigin) -> Result<Link> {
    let found = live(svc, secret).await?;
    svc.audit(link_event(AuditAction::LinkOpen, &found.link, origin))
        .await?;
    Ok(found.link)
}

/// An unlocked link: its session's secret (shown this once) and when the session ends.
pub struct LinkSession {
    pub session: String,
    pub expires_at: i64,
    pub link: Link,
}

/// Unlocks a link into a session of at most an hour. After 5 wrong passwords the link locks
/// for 30 s, twice as long after each further one ([`Error::TooMany`]).
pub async fn unlock_link(
    svc: &Service,
    secret: &str,
    given: Option<SecretString>,
    origin: &RequestOrigin,
) -> Result<LinkSession> {
    let found = live(svc, secret).await?;
    let l = found.link;
    let now = svc.now();
    if let Some(hash) = found.password_hash {
        if let Err(until) = links::begin_unlock(&svc.db, &l.id, now).await? {
            let retry_after = u32::try_from((until - now).max(1000) / 1000).unwrap_or(3600);
            return Err(Error::TooMany { retry_after });
        }
        let given = given.unwrap_or_else(|| SecretString::from(String::new()));
        if !password::verify(Some(hash), given).await? {
            svc.audit(link_event(AuditAction::LinkUnlock, &l, origin).outcome(Outcome::Failure))
                .await?;
            return Err(Error::WrongPassword("the link's password is wrong"));
        }
    }
    let (session, session_hash) = token::generate(token::Kind::LinkSession);
    let expires_at = l.expires_at.map_or(now + SESSION_MS, |e| e.min(now + SESSION_MS));
    let mut change = svc.change().await?;
    links::create_link_session(&mut change, &session_hash, &l.id, expires_at).await?;
    change.commit(&link_event(AuditAction::LinkUnlock, &l, origin)).await?;
    Ok(LinkSession {
        session,
        expires_at,
        link: l,
    })
}

/// A folder reached through a link (the linked folder or one inside it), with what the link
/// holder may see in it. Audited.
pub async fn link_folder(svc: &Service, lc: &LinkCaller, id: &FolderId) -> Result<FolderListing> {
    let who = Requester::Link(lc);
    let g = guard_folder_for(svc, who, id, Capability::View).await?;
    let listing = visible_listing(svc, &g).await?;
    svc.audit(who.event(AuditAction::LinkFolderView).target("folder", id))
        .await?;
    Ok(listing)
}

/// A file reached through a link. Audited.
pub async fn link_file(svc: &Service, lc: &LinkCaller, id: &FileId) -> Result<FileInfo> {
    let who = Requester::Link(lc);
    let g = guard_file_for(svc, who, id, Capability::View).await?;
    svc.audit(who.event(AuditAction::LinkFileView).target("file", id))
        .await?;
    Ok(g.item)
}
