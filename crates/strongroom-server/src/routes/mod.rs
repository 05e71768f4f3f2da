//! HTTP routes. Each handler follows one shape: extract the caller, look up the resource,
//! `authorize`, act through the store, record an audit event, answer.

pub mod auth;
pub mod content;
pub mod files;
pub mod people;
pub mod rooms;
pub mod settings;
pub mod system;
pub mod transform;

use crate::error::ApiResult;
use crate::extract::Caller;
use crate::state::AppState;
use strongroom_core::ids::{FileId, FolderId, RoomId};
use strongroom_core::{Action, Resource, authorize};
use strongroom_store::content::{self as store_content, FileInfo, Folder};
use strongroom_store::rooms as store_rooms;

/// The caller's standing in a room, as the resource `authorize` decides on.
pub async fn room_resource(state: &AppState, caller: &Caller, room: &RoomId) -> ApiResult<Resource> {
    let access = store_rooms::access_in_room(&state.db, room, &caller.actor.user_id).await?;
    Ok(Resource::Room { access })
}

/// Looks up a room and checks the caller may do `action` in it.
pub async fn guard_room(state: &AppState, caller: &Caller, room: &RoomId, action: Action) -> ApiResult<()> {
    let res = room_resource(state, caller, room).await?;
    authorize(&caller.actor, action, res)?;
    Ok(())
}

/// Looks up a folder and checks the caller may do `action` in its room.
pub async fn guard_folder(state: &AppState, caller: &Caller, id: &FolderId, action: Action) -> ApiResult<Folder> {
    let folder = store_content::get_folder(&state.db, id).await?;
    guard_room(state, caller, &folder.room_id, action).await?;
    Ok(folder)
}

/// Looks up a file and checks the caller may do `action` in its room.
pub async fn guard_file(state: &AppState, caller: &Caller, id: &FileId, action: Action) -> ApiResult<FileInfo> {
    let file = store_content::get_file(&state.db, id).await?;
    guard_room(state, caller, &file.room_id, action).await?;
    Ok(file)
}
