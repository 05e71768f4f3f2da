//! Rooms: list, create, open, rename, delete; their rules (policy) and their trash.

use crate::access::{InRoom, guard_room};
use crate::{Caller, Result, Service};
use strongroom_core::audit::AuditAction;
use strongroom_core::ids::{FolderId, RoomId};
use strongroom_core::rights::Rights;
use strongroom_core::{Action, Capability, Resource, authorize};
use strongroom_store::content::{self, FileInfo, Folder};
use strongroom_store::grants::{Node, NodeKind};
use strongroom_store::rooms::{self, Room, RoomSettings};

/// Rooms the caller can see, each with the caller's rights on the room itself.
pub async fn list_rooms(svc: &Service, caller: &Caller) -> Result<Vec<(Room, Rights)>> {
    authorize(&caller.actor, Action::ListRooms, Resource::Instance)?;
    let person = crate::access::person_of(svc, caller).await?;
    let list = rooms::list_rooms(&svc.db, &person).await?;
    let scope = caller.actor.scope.room.as_ref();
    Ok(list
        .into_iter()
        .filter(|(room, _)| scope.is_none_or(|r| *r == room.id))
        .collect())
}

/// Creates a room; the caller becomes a full-access member.
pub async fn create_room(svc: &Service, caller: &Caller, name: &str) -> Result<(Room, Rights)> {
    authorize(&caller.actor, Action::CreateRoom, Resource::Instance)?;
    let mut change = svc.change_by(caller).await?;
    let room = rooms::create_room(&mut change, name, &caller.actor.user_id).await?;
    change
        .commit(
            &caller
                .event(AuditAction::RoomCreate)
                .target("room", &room.id)
                .details(serde_json::json!({"name": room.name})),
        )
        .await?;
    let rights = InRoom::load(svc, caller, &room.id).await?.rights(&[]);
    Ok((room, rights))
}

/// A room the caller can see: one they are a member of, or one where only something inside
/// was shared with them (listed rooms can be opened).
pub async fn get_room(svc: &Service, caller: &Caller, id: &RoomId) -> Result<(Room, Rights)> {
    let in_room = match guard_room(svc, caller, id, Capability::View).await {
        Ok((in_room, _)) => in_room,
        Err(e) if e.is_not_found() => {
            let in_room = InRoom::load(svc, caller, id).await?;
            let scoped_out = caller.actor.scope.room.as_ref().is_some_and(|r| r != id);
            if scoped_out || !in_room.room_listed() {
                return Err(e);
            }
            in_room
        }
        Err(e) => return Err(e),
    };
    Ok((rooms::get_room(&svc.db, id).await?, in_room.rights(&[])))
}

pub async fn rename_room(svc: &Service, caller: &Caller, id: &RoomId, name: &str) -> Result<Room> {
    let (_, permit) = guard_room(svc, caller, id, Capability::ManageRoom).await?;
    let before = rooms::get_room(&svc.db, id).await?;
    let mut change = svc.change_by(caller).await?;
    let room = rooms::rename_room(&mut change, &permit, id, name).await?;
    change
        .commit(
            &caller
                .event(AuditAction::RoomRename)
                .target("room", id)
                .details(serde_json::json!({"changed": {"name": {"from": before.name, "to": room.name}}})),
        )
        .await?;
    Ok(room)
}

/// Deletes a room and everything in it, permanently.
pub async fn delete_room(svc: &Service, caller: &Caller, id: &RoomId) -> Result<()> {
    let (_, permit) = guard_room(svc, caller, id, Capability::ManageRoom).await?;
    let room = rooms::get_room(&svc.db, id).await?;
    let mut change = svc.change_by(caller).await?;
    content::purge_room(&mut change, &permit, id).await?;
    change
        .commit(
            &caller
                .event(AuditAction::RoomDelete)
                .target("room", id)
                .details(serde_json::json!({"name": room.name})),
        )
        .await?;
    svc.sweep_now();
    Ok(())
}

/// The room's items in the trash, each shown only to those who may see it where it lies.
pub async fn list_trash(svc: &Service, caller: &Caller, id: &RoomId) -> Result<(Vec<Folder>, Vec<FileInfo>)> {
    let (in_room, _) = guard_room(svc, caller, id, Capability::View).await?;
    let (mut folders, mut files) = content::list_trash(&svc.db, id).await?;
    let tree = content::folder_tree(&svc.db, id).await?;
    let sees = |folder: &FolderId, item: Option<Node>| {
        let mut path = tree.path_to(folder);
        path.extend(item);
        in_room.rights(&path).visible()
    };
    folders.retain(|f| sees(&f.id, None));
    files.retain(|f| sees(&f.folder_id, Some(Node::new(NodeKind::File, f.id.as_str()))));
    Ok((folders, files))
}

/// The room's rules. Every member may read them.
pub async fn get_policy(svc: &Service, caller: &Caller, id: &RoomId) -> Result<RoomSettings> {
    guard_room(svc, caller, id, Capability::View).await?;
    Ok(rooms::room_policy(&svc.db, id).await?)
}

/// Changes the room's rules. Needs the right to manage the room.
pub async fn set_policy(svc: &Service, caller: &Caller, id: &RoomId, settings: &RoomSettings) -> Result<RoomSettings> {
    let (_, permit) = guard_room(svc, caller, id, Capability::ManageRoom).await?;
    let before = rooms::room_policy(&svc.db, id).await?;
    let mut change = svc.change_by(caller).await?;
    let after = rooms::set_room_policy(&mut change, &permit, id, settings).await?;
    change
        .commit(
            &caller
                .event(AuditAction::RoomPolicy)
                .target("room", id)
                .details(serde_json::json!({"before": before, "after": after})),
        )
        .await?;
    Ok(after)
}
