//! Who may do what, where: everything authorization needs for one room, loaded once per
//! request, and the guards every use case starts with. A guard loads the item and its path,
//! asks [`authorize`], and hands back the item, the permit, the rights and what it loaded (to
//! decide more in the same request without loading it again). A hidden item answers the same
//! `<kind> not found` as a missing id.

use crate::error::hidden;
use crate::{Caller, Error, Requester, Result, Service};
use strongroom_core::ids::{FileId, FolderId, GroupId, RoomId, UserId};
use strongroom_core::rights::{Holder, LinkGrant, Person, Rights, may_link};
use strongroom_core::{Action, Capability, Module, ModuleSet, Permit, Principal, Resource, Role, authorize};
use strongroom_store::content::{self as store_content, FileInfo, Folder, FolderListing};
use strongroom_store::grants::{self as store_grants, Node, NodeKind, RoomAccess};
use strongroom_store::links::Link;

/// The caller as rights on items see them: their groups are loaded once per request.
pub async fn person_of(svc: &Service, caller: &Caller) -> Result<Person> {
    let a = &caller.actor;
    person(svc, &a.user_id, a.role, a.modules).await
}

/// Anyone, as rights on items see them.
pub async fn person(svc: &Service, user: &UserId, role: Role, modules: ModuleSet) -> Result<Person> {
    let groups = store_grants::groups_of(&svc.db, user).await?;
    Ok(person_in(user, groups, role, modules))
}

fn person_in(user: &UserId, groups: Vec<GroupId>, role: Role, modules: ModuleSet) -> Person {
    Person {
        user: user.clone(),
        groups,
        guest: role == Role::Guest,
        documents_admin: role == Role::Owner || (role == Role::Admin && modules.contains(Module::Documents)),
    }
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
    pub async fn load(svc: &Service, caller: &Caller, room: &RoomId) -> Result<InRoom> {
        let a = &caller.actor;
        // The caller's groups come with the room's grants: one query.
        let (access, groups) = store_grants::room_access_for(&svc.db, room, &a.user_id).await?;
        Ok(InRoom {
            asker: Asker::Person(person_in(&a.user_id, groups, a.role, a.modules)),
            access,
        })
    }

    /// For a link's holder: the link's room, the link and its maker as they are now.
    pub async fn for_link(svc: &Service, link: &Link) -> Result<InRoom> {
        let maker = strongroom_store::people::get_user(&svc.db, &link.created_by).await?;
        let maker = match maker.active {
            true => Some(person(svc, &maker.id, maker.role, maker.modules()).await?),
            false => None,
        };
        let access = store_grants::room_access(&svc.db, &link.room_id).await?;
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
    pub fn authorize(&self, who: Principal<'_>, path: &[Node], cap: Capability, what: &'static str) -> Result<Permit> {
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

/// Checks the caller may do `cap` to the room itself; gives the permit and what was loaded.
pub async fn guard_room(svc: &Service, caller: &Caller, room: &RoomId, cap: Capability) -> Result<(InRoom, Permit)> {
    let in_room = InRoom::load(svc, caller, room).await?;
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

async fn load_in_room(svc: &Service, who: Requester<'_>, room: &RoomId, what: &'static str) -> Result<InRoom> {
    match who {
        Requester::User(c) => InRoom::load(svc, c, room).await,
        // A link never reaches outside its room.
        Requester::Link(l) if l.link.room_id != *room => Err(Error::NotFound(what)),
        Requester::Link(l) => InRoom::for_link(svc, &l.link).await,
    }
}

async fn guarded<T>(
    svc: &Service,
    who: Requester<'_>,
    item: T,
    room: &RoomId,
    path: Vec<Node>,
    cap: Capability,
    what: &'static str,
) -> Result<Guarded<T>> {
    let in_room = load_in_room(svc, who, room, what).await?;
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
pub async fn visible_listing(svc: &Service, g: &Guarded<Folder>) -> Result<FolderListing> {
    let mut listing = store_content::list_folder(&svc.db, &g.item).await?;
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
pub async fn guard_folder(svc: &Service, caller: &Caller, id: &FolderId, cap: Capability) -> Result<Guarded<Folder>> {
    guard_folder_for(svc, Requester::User(caller), id, cap).await
}

/// Looks up a folder and checks a user or a link holder may do `cap` to it.
pub async fn guard_folder_for(
    svc: &Service,
    who: Requester<'_>,
    id: &FolderId,
    cap: Capability,
) -> Result<Guarded<Folder>> {
    let (folder, path, live) = store_content::folder_with_path(&svc.db, id).await?;
    // A link never reaches into the trash (members see trashed items, to restore them).
    if matches!(who, Requester::Link(_)) && !live {
        return Err(Error::NotFound("folder"));
    }
    let room = folder.room_id.clone();
    guarded(svc, who, folder, &room, path, cap, "folder").await
}

/// Looks up a file and checks the caller may do `cap` to it.
pub async fn guard_file(svc: &Service, caller: &Caller, id: &FileId, cap: Capability) -> Result<Guarded<FileInfo>> {
    guard_file_for(svc, Requester::User(caller), id, cap).await
}

/// Looks up a file and checks a user or a link holder may do `cap` to it.
pub async fn guard_file_for(
    svc: &Service,
    who: Requester<'_>,
    id: &FileId,
    cap: Capability,
) -> Result<Guarded<FileInfo>> {
    let file = store_content::get_file(&svc.db, id).await?;
    let (_, mut path, live) = store_content::folder_with_path(&svc.db, &file.folder_id).await?;
    if matches!(who, Requester::Link(_)) && (file.trashed || !live) {
        return Err(Error::NotFound("file"));
    }
    path.push(Node::new(NodeKind::File, file.id.as_str()));
    let room = file.room_id.clone();
    guarded(svc, who, file, &room, path, cap, "file").await
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

/// A room, folder or file, by id.
#[derive(Clone, Copy)]
pub enum Item<'a> {
    Room(&'a RoomId),
    Folder(&'a FolderId),
    File(&'a FileId),
}

/// Loads an item to share or link and checks the caller may do `cap` to it.
pub async fn target(svc: &Service, caller: &Caller, item: Item<'_>, cap: Capability) -> Result<Target> {
    match item {
        Item::Room(id) => room_target(svc, caller, id, cap).await,
        Item::Folder(id) => folder_target(svc, caller, id, cap).await,
        Item::File(id) => file_target(svc, caller, id, cap).await,
    }
}

pub async fn room_target(svc: &Service, caller: &Caller, id: &RoomId, cap: Capability) -> Result<Target> {
    let (in_room, permit) = guard_room(svc, caller, id, cap).await?;
    Ok(Target {
        in_room,
        path: vec![],
        node: Node::new(NodeKind::Room, id.as_str()),
        permit,
    })
}

pub async fn folder_target(svc: &Service, caller: &Caller, id: &FolderId, cap: Capability) -> Result<Target> {
    let g = guard_folder(svc, caller, id, cap).await?;
    Ok(Target {
        in_room: g.in_room,
        node: Node::new(NodeKind::Folder, id.as_str()),
        path: g.path,
        permit: g.permit,
    })
}

pub async fn file_target(svc: &Service, caller: &Caller, id: &FileId, cap: Capability) -> Result<Target> {
    let g = guard_file(svc, caller, id, cap).await?;
    Ok(Target {
        in_room: g.in_room,
        node: Node::new(NodeKind::File, id.as_str()),
        path: g.path,
        permit: g.permit,
    })
}

/// Begins the change of a rename or a move: [`judge_move`], then [`begin_move`].
pub async fn move_change<T>(
    svc: &Service,
    caller: &Caller,
    source: &Guarded<T>,
    dest: Option<&FolderId>,
    cap: Capability,
) -> Result<strongroom_store::Change> {
    let judged = judge_move(svc, caller, source, dest, cap).await?;
    begin_move(svc, caller, source, judged).await
}

/// A move as judged on the sharing loaded for it, before its change begins.
pub struct JudgedMove {
    dest: Guarded<Folder>,
    /// The folders it crosses that carried no link (see [`may_move`]).
    unlinked: Vec<Node>,
}

/// Judges a move into `dest` (none: a rename, nothing to judge): it needs `cap` on the
/// destination and passes [`may_move`] on both rooms' sharing as loaded.
pub async fn judge_move<T>(
    svc: &Service,
    caller: &Caller,
    source: &Guarded<T>,
    dest: Option<&FolderId>,
    cap: Capability,
) -> Result<Option<JudgedMove>> {
    let Some(dest) = dest else {
        return Ok(None);
    };
    let dest = guard_folder(svc, caller, dest, cap).await?;
    let unlinked = may_move(svc, caller, source, &dest).await?;
    Ok(Some(JudgedMove { dest, unlinked }))
}

/// Begins the change of a judged move. The change holds both rooms and refuses (409) if
/// their sharing changed since it was judged: grants, the room's policy, or a link made on a
/// folder the move crosses.
pub async fn begin_move<T>(
    svc: &Service,
    caller: &Caller,
    source: &Guarded<T>,
    judged: Option<JudgedMove>,
) -> Result<strongroom_store::Change> {
    let mut change = svc.change_by(caller).await?;
    if let Some(j) = judged {
        let room = &source.in_room.access.room;
        store_grants::rooms_unchanged(&mut change, &[&source.in_room.access, &j.dest.in_room.access]).await?;
        if strongroom_store::links::any_linked_now(&mut change, room, &j.unlinked).await? {
            return Err(Error::Conflict(
                "the room's sharing changed at the same time; look again and retry".into(),
            ));
        }
    }
    Ok(change)
}

/// Whether the caller may move `source` into the folder `dest`. Moving changes what the item
/// inherits, so two kinds of move need the right to manage the room the item is in: into
/// another room (the item, and for a folder everything in it, whose own grants stay behind,
/// leaves its room's control) and, inside the room, out of or into a folder that carries
/// sharing of its own: grants (the move would drop a Deny or a restriction set there, or add
/// one) or an external link (the move would hand the item to the link's holders).
///
/// Gives the folders the move crosses that were judged to carry no link (empty when the
/// verdict did not depend on links), for the change to check no link was made on them since.
pub async fn may_move<T>(
    svc: &Service,
    caller: &Caller,
    source: &Guarded<T>,
    dest: &Guarded<Folder>,
) -> Result<Vec<Node>> {
    let access = &source.in_room.access;
    let same_room = dest.item.room_id == access.room;
    if same_room {
        let from = &source.path[..source.path.len().saturating_sub(1)];
        let common = from.iter().zip(&dest.path).take_while(|(a, b)| a == b).count();
        let between: Vec<&Node> = from[common..].iter().chain(&dest.path[common..]).collect();
        // Links are looked up only here: no other request needs them.
        let linked = match between.is_empty() {
            true => Default::default(),
            false => strongroom_store::links::linked_nodes(&svc.db, &access.room).await?,
        };
        let crosses = between.iter().any(|n| access.has_grants(n) || linked.contains(*n));
        if !crosses {
            return Ok(between.into_iter().cloned().collect());
        }
    }
    // The caller sees the item, so its room's existence is no secret: a plain 403.
    source
        .in_room
        .authorize(Principal::User(&caller.actor), &[], Capability::ManageRoom, "room")
        .map(|_| vec![])
        .map_err(|_| {
            let why = if same_room {
                "moving an item out of or into a folder with its own sharing changes who may see it; only a room admin may do it"
            } else {
                "moving an item to another room needs the right to manage the room it is in"
            };
            Error::forbidden(why)
        })
}
