//! Folders: open (list), create, rename and move, trash, restore, purge.

use crate::access::{Guarded, guard_folder, move_change, visible_listing};
use crate::{Caller, Result, Service};
use strongroom_core::Capability;
use strongroom_core::audit::AuditAction;
use strongroom_core::ids::FolderId;
use strongroom_store::content::{self, Folder, FolderListing};

/// A folder with its live folders and files, without what the caller may not see.
pub async fn list_folder(svc: &Service, caller: &Caller, id: &FolderId) -> Result<FolderListing> {
    let g = guard_folder(svc, caller, id, Capability::View).await?;
    visible_listing(svc, &g).await
}

/// Creates a folder inside `parent`.
pub async fn create_folder(svc: &Service, caller: &Caller, parent: &FolderId, name: &str) -> Result<Folder> {
    let g = guard_folder(svc, caller, parent, Capability::CreateFolders).await?;
    let mut change = svc.change_by(caller).await?;
    let f = content::create_folder(&mut change, &g.permit, parent, name, &caller.actor.user_id).await?;
    change
        .commit(
            &caller
                .event(AuditAction::FolderCreate)
                .target("folder", &f.id)
                .details(serde_json::json!({"name": f.name, "parent_id": parent})),
        )
        .await?;
    Ok(f)
}

/// Renames and/or moves a folder (a move may go to another room where the caller may create
/// folders; see [`crate::access::may_move`] for when it needs a room admin).
pub async fn update_folder(
    svc: &Service,
    caller: &Caller,
    id: &FolderId,
    name: Option<&str>,
    to: Option<&FolderId>,
) -> Result<Folder> {
    let g: Guarded<Folder> = guard_folder(svc, caller, id, Capability::Edit).await?;
    let quota = crate::uploads::move_quota(svc, &g.item.room_id, to).await?;
    let mut change = move_change(svc, caller, &g, to, Capability::CreateFolders).await?;
    if let Some(q) = &quota {
        q.check(&mut change, strongroom_store::usage::Moved::Folder(id)).await?;
    }
    let f = content::update_folder(&mut change, &g.permit, id, name, to).await?;
    change
        .commit(
            &caller
                .event(AuditAction::FolderUpdate)
                .target("folder", id)
                .details(moved(
                    &g.item.name,
                    &f.name,
                    g.item.parent_id.as_ref(),
                    f.parent_id.as_ref(),
                )),
        )
        .await?;
    Ok(f)
}

/// Moves a folder (and everything in it) to the room's trash, or takes it out.
pub async fn set_folder_trashed(svc: &Service, caller: &Caller, id: &FolderId, trashed: bool) -> Result<Folder> {
    let g = guard_folder(svc, caller, id, Capability::Trash).await?;
    let mut change = svc.change_by(caller).await?;
    let f = content::set_folder_trashed(&mut change, &g.permit, id, trashed).await?;
    let action = match trashed {
        true => AuditAction::FolderTrash,
        false => AuditAction::FolderRestore,
    };
    change.commit(&caller.event(action).target("folder", id)).await?;
    Ok(f)
}

/// Deletes a trashed folder and everything in it, permanently.
pub async fn purge_folder(svc: &Service, caller: &Caller, id: &FolderId) -> Result<()> {
    let g = guard_folder(svc, caller, id, Capability::Purge).await?;
    let mut change = svc.change_by(caller).await?;
    let n = content::purge_folder(&mut change, &g.permit, id).await?;
    change
        .commit(
            &caller
                .event(AuditAction::FolderPurge)
                .target("folder", id)
                .details(serde_json::json!({"name": g.item.name, "files": n})),
        )
        .await?;
    svc.sweep_now();
    Ok(())
}

/// What a rename or move changed, for the audit trail: the name and the parent, from → to.
pub fn moved<P: serde::Serialize + PartialEq>(
    name_before: &str,
    name_after: &str,
    parent_before: P,
    parent_after: P,
) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    if name_before != name_after {
        m.insert(
            "name".into(),
            serde_json::json!({"from": name_before, "to": name_after}),
        );
    }
    if parent_before != parent_after {
        m.insert(
            "parent_id".into(),
            serde_json::json!({"from": parent_before, "to": parent_after}),
        );
    }
    serde_json::json!({ "changed": m })
}
