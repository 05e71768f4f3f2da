//! A room's folder tree in memory, for the paths of many items at once.

use super::*;

/// Every folder of a room with its parent, loaded in one query, to find the paths of many items
/// (the trash, search results) without asking the database once per item.
pub struct FolderTree {
    parents: std::collections::HashMap<String, Option<String>>,
    names: std::collections::HashMap<String, String>,
}

impl FolderTree {
    /// The nodes from the root folder down to `folder` (empty if it is not in this room).
    pub fn path_to(&self, folder: &FolderId) -> Vec<Node> {
        let mut path = vec![];
        let mut at = Some(folder.as_str().to_string());
        while let Some(id) = at {
            let Some(parent) = self.parents.get(&id) else {
                return vec![];
            };
            if path.len() > MAX_DEPTH {
                return vec![];
            }
            path.push(Node::new(NodeKind::Folder, &id));
            at = parent.clone();
        }
        path.reverse();
        path
    }

    /// The names of the folders below the root down to `folder` (a file's place as a path).
    pub fn names_to(&self, folder: &FolderId) -> Vec<String> {
        self.path_to(folder)
            .iter()
            .skip(1)
            .filter_map(|n| self.names.get(&n.id).cloned())
            .collect()
    }
}

pub async fn folder_tree(db: &Db, room: &RoomId) -> Result<FolderTree> {
    let rows = sqlx::query("SELECT id, parent_id, name FROM folders WHERE room_id = $1")
        .bind(s(room))
        .fetch_all(&db.read)
        .await?;
    let mut parents = std::collections::HashMap::with_capacity(rows.len());
    let mut names = std::collections::HashMap::with_capacity(rows.len());
    for r in &rows {
        let id: String = r.try_get("id")?;
        parents.insert(id.clone(), r.try_get::<Option<String>, _>("parent_id")?);
        names.insert(id, r.try_get::<String, _>("name")?);
    }
    Ok(FolderTree { parents, names })
}
