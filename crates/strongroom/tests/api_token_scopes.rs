//! API tokens narrower than their user, over HTTP: read-only, one room, and a token for a room
//! its user cannot see.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should fail loudly

mod common;
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn id_of(s: &Session, r: reqwest::Response) -> String {
    s.json(r, StatusCode::CREATED).await["id"].as_str().unwrap().to_string()
}

/// A token can be narrower than its user: read-only, or one room.
#[tokio::test]
async fn token_scopes_narrow_what_a_token_does() {
    let srv = Server::start(&backends().remove(0));
    let owner = srv.owner().await;
    let (room, root) = owner.room("Scoped").await;
    let (other, other_root) = owner.room("Not in scope").await;
    let file = id_of(&owner, owner.upload(&root, "a.txt", b"alpha".to_vec()).await).await;
    let token = |body: Value| {
        let owner = owner.clone();
        async move {
            let v = owner
                .json(owner.post("/api/v1/tokens", body).await, StatusCode::CREATED)
                .await;
            Session {
                auth: Auth::Bearer(v["token"].as_str().unwrap().to_string()),
                ..owner.clone()
            }
        }
    };
    let ro = token(json!({"name": "backup reader", "read_only": true})).await;
    assert_eq!(
        ro.get(&format!("/api/v1/files/{file}/content")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        ro.upload(&root, "b.txt", b"b".to_vec()).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ro.post(&format!("/api/v1/files/{file}/trash"), json!({}))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ro.post("/api/v1/rooms", json!({"name": "x"})).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ro.patch(
            &format!("/api/v1/users/{}", owner.user_id),
            json!({"display_name": "x"})
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );

    let one = token(json!({"name": "one room", "room_id": room})).await;
    assert_eq!(
        one.upload(&root, "c.txt", b"c".to_vec()).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        one.get(&format!("/api/v1/rooms/{other}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        one.get(&format!("/api/v1/folders/{other_root}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(one.get("/api/v1/users").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(one.get("/api/v1/audit").await.status(), StatusCode::FORBIDDEN);
    let rooms = one.json(one.get("/api/v1/rooms").await, StatusCode::OK).await;
    assert_eq!(rooms.as_array().unwrap().len(), 1);
    assert_eq!(rooms[0]["id"], json!(room));
    let listed = owner.json(owner.get("/api/v1/tokens").await, StatusCode::OK).await;
    let scoped = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "one room")
        .unwrap();
    assert_eq!(scoped["room_id"], json!(room));
    assert_eq!(scoped["read_only"], json!(false));
    // A token for a room the caller cannot see is refused like an unknown room.
    let viewer = srv.user(&owner, "v@example.org", "user").await;
    let r = viewer
        .post("/api/v1/tokens", json!({"name": "peek", "room_id": room}))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
