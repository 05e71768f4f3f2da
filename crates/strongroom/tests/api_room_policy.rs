//! A room's own rules over HTTP: its download watermark (stamped on the fly for members below a
//! level, the template filled in once, checked with pdftotext) and that a stamped room hands
//! out no unstamped copy.
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

/// A room can stamp every PDF downloaded by members below a level with their identity; room
/// admins and higher levels get the stored bytes. The template is filled in once: a file named
/// `{room}` stays `{room}`.
#[tokio::test]
async fn room_watermark_on_download() {
    let srv = Server::start(&backends().remove(0));
    let owner = srv.owner().await;
    let (room, root) = owner.room("Audit 2026").await;
    let original = fixtures::pdf(&["Quarterly figures"]);
    let pdf = id_of(&owner, owner.upload(&root, "{room}.pdf", original.clone()).await).await;
    let txt = id_of(&owner, owner.upload(&root, "notes.txt", b"plain".to_vec()).await).await;
    let viewer = srv.user(&owner, "auditor@example.org", "user").await;
    let editor = srv.user(&owner, "editor@example.org", "user").await;
    let members = format!("/api/v1/rooms/{room}/members");
    assert_eq!(
        grant(&owner, &members, &viewer, "view_only", json!({})).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        grant(&owner, &members, &editor, "edit", json!({})).await,
        StatusCode::NO_CONTENT
    );
    let policy = json!({"watermark_below": "edit", "watermark_text": "Copy for {email} of {file} in {room}"});
    assert_eq!(
        owner
            .put(&format!("/api/v1/rooms/{room}/policy"), policy)
            .await
            .status(),
        StatusCode::OK
    );

    let get = |s: Session, path: String| async move {
        let r = s.get(&path).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        r.bytes().await.unwrap().to_vec()
    };
    let content = format!("/api/v1/files/{pdf}/content");
    assert_eq!(
        get(owner.clone(), content.clone()).await,
        original,
        "room admins get the stored file"
    );
    assert_eq!(
        get(editor.clone(), content.clone()).await,
        original,
        "edit is not below edit"
    );
    let stamped = get(viewer.clone(), content.clone()).await;
    assert_ne!(stamped, original);
    assert!(stamped.starts_with(b"%PDF"));
    let stamped_v1 = get(viewer.clone(), format!("/api/v1/files/{pdf}/versions/1/content")).await;
    assert_ne!(stamped_v1, original, "version downloads are stamped too");
    assert_eq!(
        get(viewer.clone(), format!("/api/v1/files/{txt}/content")).await,
        b"plain",
        "other files as stored"
    );
    if tool("pdftotext") {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s.pdf");
        std::fs::write(&f, &stamped).unwrap();
        // `-raw`: in drawing order, which keeps the diagonal stamp's words together.
        let out = std::process::Command::new("pdftotext")
            .arg("-raw")
            .arg(&f)
            .arg("-")
            .output()
            .unwrap();
        // The diagonal stamp comes out one letter at a time: compared without spaces.
        let text: String = String::from_utf8_lossy(&out.stdout).split_whitespace().collect();
        assert!(
            text.contains("Copyforauditor@example.orgof{room}.pdfinAudit2026"),
            "{text}"
        );
        assert!(text.contains("Quarterlyfigures"), "{text}");
    }
    // Watermark settings are checked.
    #[rustfmt::skip]
    let bad: &[Value] = &[
        json!({"watermark_below": "deny", "watermark_text": "x"}),
        json!({"watermark_below": "edit", "watermark_text": "a\u{202E}b"}),
        json!({"watermark_below": "edit", "watermark_text": "x".repeat(501)}),
    ];
    for body in bad {
        let r = owner.put(&format!("/api/v1/rooms/{room}/policy"), body.clone()).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    // A watermark without a text gets the default one.
    let r = owner
        .put(
            &format!("/api/v1/rooms/{room}/policy"),
            json!({"watermark_below": "comment"}),
        )
        .await;
    let set = owner.json(r, StatusCode::OK).await;
    assert_eq!(set["watermark_text"], json!("{user} {email} {date}"));
}

/// Found by review: copies, protected and watermarked downloads, and pictures lent to a
/// watermark took a room's stamped documents out unstamped.
#[tokio::test]
async fn stamped_rooms_hand_out_no_unstamped_copy() {
    let srv = Server::start(&backends().remove(0));
    let owner = srv.owner().await;
    let (room, root) = owner.room("Press").await;
    let pdf = id_of(
        &owner,
        owner.upload(&root, "embargo.pdf", fixtures::pdf(&["Embargoed"])).await,
    )
    .await;
    let txt = id_of(&owner, owner.upload(&root, "notes.txt", b"plain".to_vec()).await).await;
    let viewer = srv.user(&owner, "reporter@example.org", "user").await;
    assert_eq!(
        grant(
            &owner,
            &format!("/api/v1/rooms/{room}/members"),
            &viewer,
            "view_only",
            json!({})
        )
        .await,
        StatusCode::NO_CONTENT
    );
    let (_, own_root) = viewer.room("Reporter's own").await;
    let r = owner
        .put(
            &format!("/api/v1/rooms/{room}/policy"),
            json!({"watermark_below": "edit", "watermark_text": "{email} 中文"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    #[rustfmt::skip]
    let refused: Vec<(String, Value)> = vec![
        (format!("/api/v1/files/{pdf}/copy"), json!({"folder_id": own_root})),
        (format!("/api/v1/files/{pdf}/watermark"), json!({"text": ".", "opacity": 0})),
        (format!("/api/v1/files/{pdf}/protect"), json!({"password": "my own password 1"})),
    ];
    for (path, body) in refused {
        let r = viewer.post(&path, body).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    // A plain download is stamped (characters the font lacks become `?`, never a refusal),
    // and files the room does not stamp are copied as before.
    let r = viewer.get(&format!("/api/v1/files/{pdf}/content")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.unwrap().len() > fixtures::pdf(&["Embargoed"]).len());
    let r = viewer
        .post(&format!("/api/v1/files/{txt}/copy"), json!({"folder_id": own_root}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // A token request with a misspelt scope is refused, not made a full token.
    let r = owner
        .post("/api/v1/tokens", json!({"name": "x", "readonly": true}))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // JSON is `application/json` (parameters allowed), not anything that starts like it.
    for (ctype, want) in [
        ("application/jsonx", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("application/json; charset=utf-8", StatusCode::CREATED),
    ] {
        let r = owner
            .request(reqwest::Method::POST, "/api/v1/tokens")
            .header("content-type", ctype)
            .body(r#"{"name":"typed"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want, "{ctype}");
    }
}
