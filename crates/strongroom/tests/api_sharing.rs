//! Sharing over HTTP: restrictions on a share and on a room (every way content leaves counts
//! as a download), folder and file overrides, Deny, what a sharer may give, and guests.
//! Expected answers are written out per case. (Token scopes: `api_token_scopes.rs`; the
//! room's download watermark: `api_room_policy.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should fail loudly

mod common;
mod fixtures;
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn grant(by: &Session, path: &str, who: &Session, access: &str, extra: Value) -> StatusCode {
    let mut body = json!({"kind": "user", "id": who.user_id, "access": access});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    by.put(path, body).await.status()
}

async fn id_of(s: &Session, r: reqwest::Response) -> String {
    s.json(r, StatusCode::CREATED).await["id"].as_str().unwrap().to_string()
}

/// Every route that hands content out, for one file, and the answer expected from a viewer
/// whose share forbids downloads.
#[tokio::test]
async fn no_download_closes_every_way_content_leaves() {
    let srv = Server::start(&backends().remove(0));
    let owner = srv.owner().await;
    let (room, root) = owner.room("Board").await;
    let (_, elsewhere) = owner.room("Elsewhere").await;
    let pdf = id_of(
        &owner,
        owner.upload(&root, "minutes.pdf", fixtures::pdf(&["Minutes"])).await,
    )
    .await;
    let logo = id_of(&owner, owner.upload(&root, "logo.pdf", fixtures::pdf(&["Logo"])).await).await;
    let viewer = srv.user(&owner, "viewer@example.org", "user").await;
    let members = format!("/api/v1/rooms/{room}/members");
    assert_eq!(
        grant(&owner, &members, &viewer, "view_only", json!({"no_download": true})).await,
        StatusCode::NO_CONTENT
    );
    // The viewer also edits another room, so a copy has somewhere to go.
    let (other, other_root) = owner.room("Viewer's own").await;
    assert_eq!(
        grant(
            &owner,
            &format!("/api/v1/rooms/{other}/members"),
            &viewer,
            "edit",
            json!({})
        )
        .await,
        StatusCode::NO_CONTENT
    );
    let _ = elsewhere;

    // Sight is kept: metadata, versions, the listing.
    assert_eq!(
        viewer.get(&format!("/api/v1/files/{pdf}")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        viewer.get(&format!("/api/v1/files/{pdf}/versions")).await.status(),
        StatusCode::OK
    );
    let listing = viewer
        .json(viewer.get(&format!("/api/v1/folders/{root}")).await, StatusCode::OK)
        .await;
    assert_eq!(listing["files"].as_array().unwrap().len(), 2);

    let forbidden: Vec<(reqwest::Method, String, Option<Value>)> = vec![
        (reqwest::Method::GET, format!("/api/v1/files/{pdf}/content"), None),
        (
            reqwest::Method::GET,
            format!("/api/v1/files/{pdf}/versions/1/content"),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/files/{pdf}/copy"),
            Some(json!({"folder_id": other_root})),
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/files/{pdf}/protect"),
            Some(json!({"password": "open sesame 1"})),
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/files/{pdf}/protect"),
            Some(json!({"password": "open sesame 1", "deliver": "download"})),
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/files/{pdf}/watermark"),
            Some(json!({"text": "{user}"})),
        ),
        // The image source counts as a download too, whatever the document.
        (
            reqwest::Method::POST,
            format!("/api/v1/files/{pdf}/watermark"),
            Some(json!({"text": "x", "image_file_id": logo})),
        ),
    ];
    for (method, path, body) in &forbidden {
        let mut rb = viewer.request(method.clone(), path);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let r = rb.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {text}");
        assert!(
            !text.contains("Minutes") && !text.contains("%PDF"),
            "{method} {path} leaked content"
        );
    }
    // The same viewer without the restriction downloads.
    assert_eq!(
        grant(&owner, &members, &viewer, "view_only", json!({})).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        viewer.get(&format!("/api/v1/files/{pdf}/content")).await.status(),
        StatusCode::OK
    );

    // A room-wide no-download binds members, not the room's admins.
    let r = owner
        .put(&format!("/api/v1/rooms/{room}/policy"), json!({"no_download": true}))
        .await;
    let policy = owner.json(r, StatusCode::OK).await;
    assert_eq!(policy["no_download"], json!(true));
    assert_eq!(
        viewer.get(&format!("/api/v1/files/{pdf}/content")).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        owner.get(&format!("/api/v1/files/{pdf}/content")).await.status(),
        StatusCode::OK
    );
    let v = viewer
        .json(viewer.get(&format!("/api/v1/rooms/{room}")).await, StatusCode::OK)
        .await;
    assert_eq!(v["capabilities"], json!(["view", "print", "copy"]));
    // A misspelt policy field is refused, not read as "off".
    let r = owner
        .put(&format!("/api/v1/rooms/{room}/policy"), json!({"no_donwload": true}))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // A viewer may read the rules but not change them.
    assert_eq!(
        viewer.get(&format!("/api/v1/rooms/{room}/policy")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        viewer
            .put(&format!("/api/v1/rooms/{room}/policy"), json!({}))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}

/// Folder and file grants override the room's, both ways; Deny (for the person or a group)
/// wins and hides; listings leave out what the caller cannot see.
#[tokio::test]
async fn overrides_and_deny() {
    let srv = Server::start(&backends().remove(0));
    let owner = srv.owner().await;
    let (room, root) = owner.room("Firm").await;
    let hr = owner
        .json(
            owner
                .post(&format!("/api/v1/folders/{root}/folders"), json!({"name": "HR"}))
                .await,
            StatusCode::CREATED,
        )
        .await;
    let hr = hr["id"].as_str().unwrap().to_string();
    let cv = id_of(&owner, owner.upload(&hr, "cv.txt", b"private".to_vec()).await).await;
    let memo = id_of(&owner, owner.upload(&root, "memo.txt", b"memo".to_vec()).await).await;
    let ana = srv.user(&owner, "ana@example.org", "user").await;
    let members = format!("/api/v1/rooms/{room}/members");
    assert_eq!(
        grant(&owner, &members, &ana, "view_only", json!({})).await,
        StatusCode::NO_CONTENT
    );

    // More access on one file: a viewer of the room edits the memo, and only the memo.
    assert_eq!(
        grant(&owner, &format!("/api/v1/files/{memo}/grants"), &ana, "edit", json!({})).await,
        StatusCode::NO_CONTENT
    );
    let r = ana
        .request(reqwest::Method::POST, &format!("/api/v1/files/{memo}/versions"))
        .body("memo v2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        ana.upload(&root, "new.txt", b"x".to_vec()).await.status(),
        StatusCode::FORBIDDEN
    );

    // A Deny on a folder: the folder, its contents and its listing entry are gone for her.
    assert_eq!(
        grant(&owner, &format!("/api/v1/folders/{hr}/grants"), &ana, "deny", json!({})).await,
        StatusCode::NO_CONTENT
    );
    let listing = ana
        .json(ana.get(&format!("/api/v1/folders/{root}")).await, StatusCode::OK)
        .await;
    assert_eq!(listing["folders"], json!([]));
    for path in [
        format!("/api/v1/folders/{hr}"),
        format!("/api/v1/files/{cv}"),
        format!("/api/v1/files/{cv}/content"),
    ] {
        let r = ana.get(&path).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(!r.text().await.unwrap().contains("cv.txt"));
    }
    // The answer for a hidden file reads exactly like the one for a file that never existed.
    let hidden = ana.get(&format!("/api/v1/files/{cv}")).await.text().await.unwrap();
    let missing = ana
        .get("/api/v1/files/00000000-0000-4000-8000-000000000000")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(error_body(&hidden), error_body(&missing));

    // A Deny for her group wins over a grant for her in person.
    let group = owner
        .json(
            owner.post("/api/v1/groups", json!({"name": "Temps"})).await,
            StatusCode::CREATED,
        )
        .await;
    let gid = group["id"].as_str().unwrap();
    assert_eq!(
        owner
            .put(&format!("/api/v1/groups/{gid}/members/{}", ana.user_id), json!({}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        owner
            .delete(&format!("/api/v1/folders/{hr}/grants/user/{}", ana.user_id))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(ana.get(&format!("/api/v1/files/{cv}")).await.status(), StatusCode::OK);
    let r = owner
        .put(
            &format!("/api/v1/files/{cv}/grants"),
            json!({"kind": "group", "id": gid, "access": "deny"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        grant(
            &owner,
            &format!("/api/v1/files/{cv}/grants"),
            &ana,
            "full_access",
            json!({})
        )
        .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        ana.get(&format!("/api/v1/files/{cv}")).await.status(),
        StatusCode::NOT_FOUND
    );
    // The trash shows her only what she may see.
    assert_eq!(
        owner
            .post(&format!("/api/v1/files/{cv}/trash"), json!({}))
            .await
            .status(),
        StatusCode::OK
    );
    let trash = ana
        .json(ana.get(&format!("/api/v1/rooms/{room}/trash")).await, StatusCode::OK)
        .await;
    assert_eq!(trash["files"], json!([]));
    let trash = owner
        .json(owner.get(&format!("/api/v1/rooms/{room}/trash")).await, StatusCode::OK)
        .await;
    assert_eq!(trash["files"].as_array().unwrap().len(), 1);
}

/// Who may share what: a viewer not at all, an editor only what they hold (never Deny, never
/// room admin, never touching a grant above their own), nobody once the room says
/// "only room admins share".
#[tokio::test]
async fn sharers_give_only_what_they_hold() {
    let srv = Server::start(&backends().remove(0));
    let owner = srv.owner().await;
    let (room, root) = owner.room("Clinic").await;
    let editor = srv.user(&owner, "ed@example.org", "user").await;
    let viewer = srv.user(&owner, "vi@example.org", "user").await;
    let newcomer = srv.user(&owner, "new@example.org", "user").await;
    let members = format!("/api/v1/rooms/{room}/members");
    assert_eq!(
        grant(&owner, &members, &editor, "edit", json!({"no_print": true})).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        grant(&owner, &members, &viewer, "view_only", json!({})).await,
        StatusCode::NO_CONTENT
    );

    #[rustfmt::skip]
    let table: &[(&Session, &str, Value, StatusCode, &str)] = &[
        (&viewer, "view_only", json!({}), StatusCode::FORBIDDEN, "a viewer cannot share"),
        (&editor, "full_access", json!({}), StatusCode::FORBIDDEN, "an editor cannot make a room admin"),
        (&editor, "deny", json!({}), StatusCode::FORBIDDEN, "an editor cannot deny"),
        (&editor, "edit", json!({}), StatusCode::FORBIDDEN, "an editor without print cannot give print"),
        (&editor, "edit", json!({"no_print": true}), StatusCode::NO_CONTENT, "an editor gives what they hold"),
        (&editor, "view_only", json!({"no_print": true, "no_download": true}), StatusCode::FORBIDDEN, "but changes no grant once given"),
    ];
    for (who, access, extra, want, why) in table {
        assert_eq!(
            grant(who, &members, &newcomer, access, extra.clone()).await,
            *want,
            "{why}"
        );
    }
    // An editor cannot take away or lower the Owner's grant.
    let r = editor
        .delete(&format!("/api/v1/rooms/{room}/members/user/{}", owner.user_id))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = editor
        .put(
            &members,
            json!({"kind": "user", "id": owner.user_id, "access": "view_only"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Unknown people and misspelt restrictions are refused.
    let r = editor.put(&members, json!({"kind": "user", "id": "00000000-0000-4000-8000-000000000000", "access": "view_only", "no_print": true})).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = editor
        .put(
            &members,
            json!({"kind": "user", "id": newcomer.user_id, "access": "view_only", "no_downlaod": true}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // "Only room admins share": the editor loses it, the owner keeps it.
    let r = owner
        .put(
            &format!("/api/v1/rooms/{room}/policy"),
            json!({"sharing_admins_only": true}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        grant(&editor, &members, &newcomer, "view_only", json!({})).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        grant(&owner, &members, &newcomer, "comment", json!({})).await,
        StatusCode::NO_CONTENT
    );
    // The editor still edits.
    assert_eq!(
        editor.upload(&root, "a.txt", b"a".to_vec()).await.status(),
        StatusCode::CREATED
    );
    let list = owner.json(owner.get(&members).await, StatusCode::OK).await;
    let of = |id: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(of(&newcomer.user_id)["access"], json!("comment"));
    assert_eq!(of(&editor.user_id)["no_print"], json!(true));
}

/// A guest sees what was shared with them and nothing else: no directory, no new rooms, no
/// onward sharing.
#[tokio::test]
async fn guests_see_only_what_was_shared() {
    let srv = Server::start(&backends().remove(0));
    let owner = srv.owner().await;
    let (room, root) = owner.room("Deal").await;
    let (hidden_room, _) = owner.room("Other deal").await;
    let docs = owner
        .json(
            owner
                .post(
                    &format!("/api/v1/folders/{root}/folders"),
                    json!({"name": "For counsel"}),
                )
                .await,
            StatusCode::CREATED,
        )
        .await;
    let docs = docs["id"].as_str().unwrap().to_string();
    let guest = srv.user(&owner, "counsel@example.net", "guest").await;
    let colleague = srv.user(&owner, "colleague@example.net", "user").await;
    assert_eq!(
        grant(
            &owner,
            &format!("/api/v1/folders/{docs}/grants"),
            &guest,
            "edit",
            json!({})
        )
        .await,
        StatusCode::NO_CONTENT
    );

    let rooms = guest.json(guest.get("/api/v1/rooms").await, StatusCode::OK).await;
    let ids: Vec<&str> = rooms
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![room.as_str()]);
    assert_eq!(rooms[0]["access"], Value::Null, "no grant on the room itself");
    assert_eq!(
        guest.get(&format!("/api/v1/rooms/{room}")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        guest.get(&format!("/api/v1/rooms/{hidden_room}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        guest.get(&format!("/api/v1/folders/{root}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        guest.get(&format!("/api/v1/folders/{docs}")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        guest.upload(&docs, "draft.txt", b"d".to_vec()).await.status(),
        StatusCode::CREATED
    );
    // No onward sharing, even with edit access; no directory; no rooms of their own.
    assert_eq!(
        grant(
            &guest,
            &format!("/api/v1/folders/{docs}/grants"),
            &colleague,
            "view_only",
            json!({})
        )
        .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(guest.get("/api/v1/users").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        guest.post("/api/v1/rooms", json!({"name": "Mine"})).await.status(),
        StatusCode::FORBIDDEN
    );
}

/// Found by review: an editor could restrict a room admin on a folder, lift a restriction a
/// room admin set (on themselves or others) by removing the override, and drop a folder's
/// restrictions by moving a file out of it. Each is refused now; the room admin does all three.
#[tokio::test]
async fn editors_cannot_change_what_lies_above_them() {
    let srv = Server::start(&backends().remove(0));
    let owner = srv.owner().await;
    let (room, root) = owner.room("Chambers").await;
    let nd = owner
        .json(
            owner
                .post(&format!("/api/v1/folders/{root}/folders"), json!({"name": "Sealed"}))
                .await,
            StatusCode::CREATED,
        )
        .await;
    let nd = nd["id"].as_str().unwrap().to_string();
    let file = id_of(&owner, owner.upload(&nd, "brief.txt", b"sealed brief".to_vec()).await).await;
    let admin = srv.user(&owner, "admin@example.org", "user").await;
    let editor = srv.user(&owner, "editor@example.org", "user").await;
    let viewer = srv.user(&owner, "viewer@example.org", "user").await;
    let members = format!("/api/v1/rooms/{room}/members");
    for (who, level) in [(&admin, "full_access"), (&editor, "edit"), (&viewer, "view_only")] {
        assert_eq!(
            grant(&owner, &members, who, level, json!({})).await,
            StatusCode::NO_CONTENT
        );
    }
    let on_nd = format!("/api/v1/folders/{nd}/grants");
    assert_eq!(
        grant(&owner, &on_nd, &editor, "edit", json!({"no_download": true})).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        grant(&owner, &on_nd, &viewer, "view_only", json!({"no_download": true})).await,
        StatusCode::NO_CONTENT
    );

    let restrict = json!({"no_download": true, "no_print": true, "no_copy": true});
    #[rustfmt::skip]
    let refused: Vec<(String, Value)> = vec![
        // Restricting a room admin on a folder or on the root folder.
        (format!("/api/v1/folders/{root}/grants"), json!({"kind": "user", "id": admin.user_id, "access": "view_only"})),
        (on_nd.clone(), json!({"kind": "user", "id": admin.user_id, "access": "view_only"})),
    ];
    for (path, mut body) in refused {
        body.as_object_mut()
            .unwrap()
            .extend(restrict.as_object().unwrap().clone());
        assert_eq!(
            editor.put(&path, body.clone()).await.status(),
            StatusCode::FORBIDDEN,
            "{path} {body}"
        );
    }
    // Removing the override that restricts the editor, or the viewer.
    for who in [&editor, &viewer] {
        let r = editor.delete(&format!("{on_nd}/user/{}", who.user_id)).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    // Moving the file out of the restricted folder.
    let r = editor
        .patch(&format!("/api/v1/files/{file}"), json!({"folder_id": root}))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        editor.get(&format!("/api/v1/files/{file}/content")).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        viewer.get(&format!("/api/v1/files/{file}/content")).await.status(),
        StatusCode::FORBIDDEN
    );
    // A move between folders without grants of their own stays an editor's right.
    let plain = owner
        .json(
            owner
                .post(&format!("/api/v1/folders/{root}/folders"), json!({"name": "Open"}))
                .await,
            StatusCode::CREATED,
        )
        .await;
    let plain = plain["id"].as_str().unwrap().to_string();
    let other = id_of(&owner, owner.upload(&root, "open.txt", b"open".to_vec()).await).await;
    assert_eq!(
        editor
            .patch(&format!("/api/v1/files/{other}"), json!({"folder_id": plain}))
            .await
            .status(),
        StatusCode::OK
    );
    // The room admin may do what the editor may not.
    assert_eq!(
        admin.delete(&format!("{on_nd}/user/{}", viewer.user_id)).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        viewer.get(&format!("/api/v1/files/{file}/content")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        admin
            .patch(&format!("/api/v1/files/{file}"), json!({"folder_id": root}))
            .await
            .status(),
        StatusCode::OK
    );
}

/// Found by the second review: restricting a room admin through a group, lifting a room
/// admin's restriction on someone else by a new or a nearer grant, sharing a room whose
/// subfolder the sharer is denied, and moving a file into a folder shared by link. Anyone but
/// a room admin now shares only by adding people who have no access yet, within what they
/// hold everywhere below, and a move into a linked folder needs a room admin.
#[tokio::test]
async fn sharers_only_add_people_within_what_they_hold_below() {
    let srv = Server::start(&backends().remove(0));
    let owner = srv.owner().await;
    let (room, root) = owner.room("Ward").await;
    let folder = |parent: String, name: &'static str| {
        let owner = owner.clone();
        async move {
            let v = owner
                .json(
                    owner
                        .post(&format!("/api/v1/folders/{parent}/folders"), json!({"name": name}))
                        .await,
                    StatusCode::CREATED,
                )
                .await;
            v["id"].as_str().unwrap().to_string()
        }
    };
    let a = folder(root.clone(), "A").await;
    let board = folder(a.clone(), "Board").await;
    let minutes = id_of(
        &owner,
        owner.upload(&board, "minutes.txt", b"board secret".to_vec()).await,
    )
    .await;
    let admin = srv.user(&owner, "admin@example.org", "user").await;
    let editor = srv.user(&owner, "editor@example.org", "user").await;
    let viewer = srv.user(&owner, "viewer@example.org", "user").await;
    let outsider = srv.user(&owner, "outsider@example.org", "user").await;
    let members = format!("/api/v1/rooms/{room}/members");
    for (who, level) in [(&admin, "full_access"), (&editor, "edit"), (&viewer, "view_only")] {
        assert_eq!(
            grant(&owner, &members, who, level, json!({})).await,
            StatusCode::NO_CONTENT
        );
    }
    let group = owner
        .json(
            owner.post("/api/v1/groups", json!({"name": "Admins only"})).await,
            StatusCode::CREATED,
        )
        .await;
    let gid = group["id"].as_str().unwrap().to_string();
    assert_eq!(
        owner
            .put(&format!("/api/v1/groups/{gid}/members/{}", admin.user_id), json!({}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );

    // F1: a group grant that would restrict the room admin.
    let restrict = json!({"kind": "group", "id": gid, "access": "view_only", "no_download": true});
    for node in [&a, &root] {
        let r = editor
            .put(&format!("/api/v1/folders/{node}/grants"), restrict.clone())
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "group grant on {node}");
    }
    // F2: the room admin restricts the viewer on A; the editor cannot lift it, neither on A,
    // nor nearer, nor through a group.
    let r = admin
        .put(
            &format!("/api/v1/folders/{a}/grants"),
            json!({"kind": "user", "id": viewer.user_id, "access": "view_only", "no_download": true}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let team = owner
        .json(
            owner.post("/api/v1/groups", json!({"name": "Team"})).await,
            StatusCode::CREATED,
        )
        .await;
    let team = team["id"].as_str().unwrap().to_string();
    assert_eq!(
        owner
            .put(&format!("/api/v1/groups/{team}/members/{}", viewer.user_id), json!({}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    #[rustfmt::skip]
    let lifts: Vec<(String, Value)> = vec![
        (format!("/api/v1/folders/{a}/grants"), json!({"kind": "user", "id": viewer.user_id, "access": "view_only"})),
        (format!("/api/v1/folders/{board}/grants"), json!({"kind": "user", "id": viewer.user_id, "access": "view_only"})),
        (format!("/api/v1/folders/{a}/grants"), json!({"kind": "group", "id": team, "access": "view_only"})),
    ];
    for (path, body) in lifts {
        assert_eq!(
            editor.put(&path, body.clone()).await.status(),
            StatusCode::FORBIDDEN,
            "{path} {body}"
        );
    }
    let r = editor
        .delete(&format!("/api/v1/folders/{a}/grants/user/{}", viewer.user_id))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        viewer.get(&format!("/api/v1/files/{minutes}/content")).await.status(),
        StatusCode::FORBIDDEN
    );

    // F3: the editor is denied Board; sharing the room (or A) would open Board to the outsider.
    let r = owner
        .put(
            &format!("/api/v1/folders/{board}/grants"),
            json!({"kind": "user", "id": editor.user_id, "access": "deny"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    for path in [members.clone(), format!("/api/v1/folders/{a}/grants")] {
        assert_eq!(
            grant(&editor, &path, &outsider, "view_only", json!({})).await,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    assert_eq!(
        outsider.get(&format!("/api/v1/files/{minutes}/content")).await.status(),
        StatusCode::NOT_FOUND
    );
    // Sharing a folder the editor fully holds still works.
    let open = folder(root.clone(), "Open").await;
    assert_eq!(
        grant(
            &editor,
            &format!("/api/v1/folders/{open}/grants"),
            &outsider,
            "view_only",
            json!({})
        )
        .await,
        StatusCode::NO_CONTENT
    );

    // F4: a file moved into a folder shared by link would reach the link's holders.
    let partners = folder(root.clone(), "For partners").await;
    let r = owner
        .post(
            &format!("/api/v1/folders/{partners}/links"),
            json!({"access": "view_only"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let internal = id_of(
        &owner,
        owner.upload(&root, "internal.txt", b"internal only".to_vec()).await,
    )
    .await;
    let r = editor
        .patch(&format!("/api/v1/files/{internal}"), json!({"folder_id": partners}))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        admin
            .patch(&format!("/api/v1/files/{internal}"), json!({"folder_id": partners}))
            .await
            .status(),
        StatusCode::OK
    );
}
