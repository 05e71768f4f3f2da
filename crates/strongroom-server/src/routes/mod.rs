//! HTTP routes. Each handler follows one shape: extract the caller, look up the resource,
//! `authorize` (which hands back a permit), act through the store with that permit, record an
//! audit event, answer.

pub mod auth;
pub mod content;
pub mod files;
pub mod grants;
pub mod links;
pub mod people;
pub mod rooms;
pub mod settings;
pub mod system;
pub mod transform;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, Requester};
use crate::state::AppState;
use strongroom_core::ids::{FileId, FolderId, RoomId, UserId};
use strongroom_core::rights::{Holder, LinkGrant, Person, Rights, may_link};
use strongroom_core::{Action, Capability, Denied, Module, ModuleSet, Permit, Principal, Resource, Role, authorize};
use strongroom_store::content::{self as store_content, FileInfo, Folder, FolderListing};
use strongroom_store::grants::{self as store_grants, Node, NodeKind, RoomAccess};
use strongroom_store::links::Link;

/// The caller as rights on items see them: their groups are loaded once per request.
pub async fn person_of(state: &AppState, caller: &Caller) -> ApiResult<Person> {
    let a = &caller.actor;
    person(state, &a.user_id, a.role, a.modules).await
}

/// Anyone, as rights on items see them.
pub async fn person(state: &AppState, user: &UserId, role: Role, modules: ModuleSet) -> ApiResult<Person> {
    Ok(Person {
        user: user.clone(),
        groups: store_grants::groups_of(&state.db, user).await?,
        guest: role == Role::Guest,
        documents_admin: role == Role::Owner || (role == Role::Admin && modules.contains(Module::Documents)),
    })
}

/// Who rights are computed for.
pub enum Asker {
    Person(Person),
    /// A link holder. The link gives no more than its maker still holds: `maker` is `None`
    /// when the maker's account is disabled, and then the link gives nothing.
    Link {
        grant: LinkGrant,
        node: Node,
        maker: Option<Person>,
    },
}

/// Everything needed to decide the caller's rights anywhere in one room, loaded once (three
/// queries), so a listing computes the rights of every child in memory.
pub struct InRoom {
    pub asker: Asker,
    pub access: RoomAccess,
}

impl InRoom {
    pub async fn load(state: &AppState, caller: &Caller, room: &RoomId) -> ApiResult<InRoom> {
        // Two independent reads, at the same time (two round trips in the time of one).
        let (person, access) = tokio::join!(person_of(state, caller), store_grants::room_access(&state.db, room));
        let (person, access) = (person?, access?);
        Ok(InRoom {
            asker: Asker::Person(person),
            access,
        })
    }

    /// For a link's holder: the link's room, the link and its maker as they are now.
    pub async fn for_link(state: &AppState, link: &Link) -> ApiResult<InRoom> {
        let maker = strongroom_store::people::get_user(&state.db, &link.created_by).await?;
        let maker = match maker.active {
            true => Some(person(state, &maker.id, maker.role, maker.modules()).await?),
            false => None,
        };
        let access = store_grants::room_access(&state.db, &link.room_id).await?;
        Ok(InRoom {
            asker: Asker::Link {
                grant: link.grant(),
                node: link.node(),
                maker,
            },
            access,
        })
    }

    /// The caller's rights on the item at `path` (root folder first, the item last; empty
    /// for the room itself).
    pub fn rights(&self, path: &[Node]) -> Rights {
        match &self.asker {
            Asker::Person(p) => self.access.rights(&Holder::Person(p), path),
            Asker::Link { grant, node, maker } => {
                let Some(at) = path.iter().position(|n| n == node) else {
                    return Rights::NONE;
                };
                let Some(maker) = maker else {
                    return Rights::NONE;
                };
                // The maker must still be allowed to make this link, and the link gives
                // nothing they could not do themselves where it is used.
                let maker_at_link = self.access.rights(&Holder::Person(maker), &path[..=at]);
                if !may_link(maker_at_link, grant.level, grant.restrictions) {
                    return Rights::NONE;
                }
                let maker_here = self.access.rights(&Holder::Person(maker), path);
                let link = self.access.rights(
                    &Holder::Link {
                        link: *grant,
                        inside: true,
                    },
                    path,
                );
                Rights {
                    caps: link.caps.intersect(maker_here.caps),
                    ..link
                }
            }
        }
    }

    /// Asks [`authorize`] whether `who` may do `cap` to the item at `path`. An item they may
    /// not see answers exactly like one that does not exist (`what not found`).
    pub fn authorize(&self, who: Principal<'_>, path: &[Node], cap: Capability, what: &str) -> ApiResult<Permit> {
        let rights = self.rights(path);
        let resource = Resource::Item {
            room: &self.access.room,
            rights,
        };
        authorize(who, Action::Item(cap), resource).map_err(|d| hidden(d, what))
    }

    /// Whether the room is listed for the caller: they see the room itself, or something in
    /// it was shared with them (and they are not denied the room).
    pub fn room_listed(&self) -> bool {
        let Asker::Person(p) = &self.asker else {
            return false;
        };
        self.rights(&[]).visible()
            || (!self.access.denies_room(&p.user, &p.groups) && self.access.reaches_below(&p.user, &p.groups))
    }
}

/// A refusal as the API answers it: "not found" reads exactly like a missing id of that kind.
pub fn hidden(d: Denied, what: &str) -> ApiError {
    match d {
        Denied::NotFound => ApiError::not_found(what),
        Denied::Forbidden => d.into(),
    }
}

/// Checks the caller may do `cap` to the room itself; gives the permit and what was loaded.
pub async fn guard_room(
    state: &AppState,
    caller: &Caller,
    room: &RoomId,
    cap: Capability,
) -> ApiResult<(InRoom, Permit)> {
    let in_room = InRoom::load(state, caller, room).await?;
    let permit = in_room.authorize(Principal::User(&caller.actor), &[], cap, "room")?;
    Ok((in_room, permit))
}

/// An item the caller may do `cap` to, with the permit, the item's path, the caller's rights
/// on it and the room's grants (to decide more in the same request without loading them
/// again).
pub struct Guarded<T> {
    pub item: T,
    pub permit: Permit,
    pub path: Vec<Node>,
    pub rights: Rights,
    pub in_room: InRoom,
}

async fn load_in_room(state: &AppState, who: Requester<'_>, room: &RoomId, what: &str) -> ApiResult<InRoom> {
    match who {
        Requester::User(c) => InRoom::load(state, c, room).await,
        // A link never reaches outside its room.
        Requester::Link(l) if l.link.room_id != *room => Err(ApiError::not_found(what)),
        Requester::Link(l) => InRoom::for_link(state, &l.link).await,
    }
}

async fn guarded<T>(
    state: &AppState,
    who: Requester<'_>,
    item: T,
    room: &RoomId,
    path: Vec<Node>,
    cap: Capability,
    what: &str,
) -> ApiResult<Guarded<T>> {
    let in_room = load_in_room(state, who, room, what).await?;
    let permit = in_room.authorize(who.principal(), &path, cap, what)?;
    Ok(Guarded {
        item,
        permit,
        rights: in_room.rights(&path),
        path,
        in_room,
    })
}

/// A folder's live contents without what the requester may not see (a Deny or a narrower
/// grant below): rights are decided in memory from the grants the guard loaded.
pub async fn visible_listing(state: &AppState, g: &Guarded<Folder>) -> ApiResult<FolderListing> {
    let mut listing = store_content::list_folder(&state.db, &g.item).await?;
    let sees = |kind, child: &str| {
        let mut path = g.path.clone();
        path.push(Node::new(kind, child));
        g.in_room.rights(&path).visible()
    };
    listing.folders.retain(|f| sees(NodeKind::Folder, f.id.as_str()));
    listing.files.retain(|f| sees(NodeKind::File, f.id.as_str()));
    Ok(listing)
}

/// Looks up a folder and checks the caller may do `cap` to it.
pub async fn guard_folder(
    state: &AppState,
    caller: &Caller,
    id: &FolderId,
    cap: Capability,
) -> ApiResult<Guarded<Folder>> {
    guard_folder_for(state, Requester::User(caller), id, cap).await
}

/// Looks up a folder and checks a user or a link holder may do `cap` to it.
pub async fn guard_folder_for(
    state: &AppState,
    who: Requester<'_>,
    id: &FolderId,
    cap: Capability,
) -> ApiResult<Guarded<Folder>> {
    let (folder, path, live) = store_content::folder_with_path(&state.db, id).await?;
    // A link never reaches into the trash (members see trashed items, to restore them).
    if matches!(who, Requester::Link(_)) && !live {
        return Err(ApiError::not_found("folder"));
    }
    let room = folder.room_id.clone();
    guarded(state, who, folder, &room, path, cap, "folder").await
}

/// Looks up a file and checks the caller may do `cap` to it.
pub async fn guard_file(
    state: &AppState,
    caller: &Caller,
    id: &FileId,
    cap: Capability,
) -> ApiResult<Guarded<FileInfo>> {
    guard_file_for(state, Requester::User(caller), id, cap).await
}

/// Looks up a file and checks a user or a link holder may do `cap` to it.
pub async fn guard_file_for(
    state: &AppState,
    who: Requester<'_>,
    id: &FileId,
    cap: Capability,
) -> ApiResult<Guarded<FileInfo>> {
    let file = store_content::get_file(&state.db, id).await?;
    let (_, mut path, live) = store_content::folder_with_path(&state.db, &file.folder_id).await?;
    if matches!(who, Requester::Link(_)) && (file.trashed || !live) {
        return Err(ApiError::not_found("file"));
    }
    path.push(Node::new(NodeKind::File, file.id.as_str()));
    let room = file.room_id.clone();
    guarded(state, who, file, &room, path, cap, "file").await
}

/// A room, folder or file node the caller acts on (sharing it, linking it), with what
/// authorization loaded for it.
pub struct Target {
    pub in_room: InRoom,
    /// The node's path inside the room (empty for the room itself).
    pub path: Vec<Node>,
    pub node: Node,
    pub permit: Permit,
}

pub async fn room_target(st: &AppState, caller: &Caller, id: &RoomId, cap: Capability) -> ApiResult<Target> {
    let (in_room, permit) = guard_room(st, caller, id, cap).await?;
    Ok(Target {
        in_room,
        path: vec![],
        node: Node::new(NodeKind::Room, id.as_str()),
        permit,
    })
}

pub async fn folder_target(st: &AppState, caller: &Caller, id: &FolderId, cap: Capability) -> ApiResult<Target> {
    let g = guard_folder(st, caller, id, cap).await?;
    Ok(Target {
        in_room: g.in_room,
        node: Node::new(NodeKind::Folder, id.as_str()),
        path: g.path,
        permit: g.permit,
    })
}

pub async fn file_target(st: &AppState, caller: &Caller, id: &FileId, cap: Capability) -> ApiResult<Target> {
    let g = guard_file(st, caller, id, cap).await?;
    Ok(Target {
        in_room: g.in_room,
        node: Node::new(NodeKind::File, id.as_str()),
        path: g.path,
        permit: g.permit,
    })
}

/// Begins the change of a rename or a move. A move needs `cap` on the destination and is
/// judged by [`may_move`] on both rooms' sharing as loaded; the change then holds both rooms
/// and refuses (409) if that sharing changed in between.
pub async fn move_change<T>(
    state: &AppState,
    caller: &Caller,
    source: &Guarded<T>,
    dest: Option<&FolderId>,
    cap: Capability,
) -> ApiResult<strongroom_store::Change> {
    let dest = match dest {
        Some(d) => {
            let d = guard_folder(state, caller, d, cap).await?;
            may_move(state, caller, source, &d).await?;
            Some(d)
        }
        None => None,
    };
    let mut change = state.change_by(caller).await?;
    if let Some(d) = &dest {
        store_grants::rooms_unchanged(&mut change, &[&source.in_room.access, &d.in_room.access]).await?;
    }
    Ok(change)
}

/// Whether the caller may move `source` into the folder `dest`. Moving changes what the item
/// inherits, so two kinds of move need the right to manage the room the item is in: into
/// another room (the item, and for a folder everything in it, whose own grants stay behind,
/// leaves its room's control) and, inside the room, out of or into a folder that carries
/// sharing of its own: grants (the move would drop a Deny or a restriction set there, or add
/// one) or an external link (the move would hand the item to the link's holders).
pub async fn may_move<T>(
    state: &AppState,
    caller: &Caller,
    source: &Guarded<T>,
    dest: &Guarded<Folder>,
) -> ApiResult<()> {
    let access = &source.in_room.access;
    let same_room = dest.item.room_id == access.room;
    if same_room {
        let from = &source.path[..source.path.len().saturating_sub(1)];
        let common = from.iter().zip(&dest.path).take_while(|(a, b)| a == b).count();
        let between: Vec<&Node> = from[common..].iter().chain(&dest.path[common..]).collect();
        // Links are looked up only here: no other request needs them.
        let linked = match between.is_empty() {
            true => Default::default(),
            false => strongroom_store::links::linked_nodes(&state.db, &access.room).await?,
        };
        let crosses = between.iter().any(|n| access.has_grants(n) || linked.contains(*n));
        if !crosses {
            return Ok(());
        }
    }
    // The caller sees the item, so its room's existence is no secret: a plain 403.
    source
        .in_room
        .authorize(Principal::User(&caller.actor), &[], Capability::ManageRoom, "room")
        .map(drop)
        .map_err(|_| {
            let why = if same_room {
                "moving an item out of or into a folder with its own sharing changes who may see it; only a room admin may do it"
            } else {
                "moving an item to another room needs the right to manage the room it is in"
            };
            ApiError::new(axum::http::StatusCode::FORBIDDEN, "forbidden", why)
        })
}
