//! External links over HTTP: made under an item within the maker's rights, opened
//! anonymously, unlocked with a password (guesses throttled), read as the link's holder only
//! inside the linked item, and dead alike when unknown, expired or revoked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should fail loudly

mod common;
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A client holding only a link session.
fn holder(srv_base: &str, session: &str) -> Session {
    Session {
        base: srv_base.to_string(),
        auth: Auth::Bearer(session.to_string()),
        user_id: String::new(),
    }
}

fn anonymous(base: &str) -> Session {
    Session {
        base: base.to_string(),
        auth: Auth::None,
        user_id: String::new(),
    }
}

async fn made(s: &Session, path: &str, body: Value) -> Value {
    s.json(s.post(path, body).await, StatusCode::CREATED).await
}

#[tokio::test]
async fn a_folder_link_reaches_inside_and_nowhere_else() {
    let srv = Server::start(&backends().remove(0));
    let owner = srv.owner().await;
    let (_, root) = owner.room("Deal room").await;
    let folder = |name: &str| {
        let owner = owner.clone();
        let root = root.clone();
        let name = name.to_string();
        async move {
            let v = made(
                &owner,
                &format!("/api/v1/folders/{root}/folders"),
                json!({"name": name}),
            )
            .await;
            v["id"].as_str().unwrap().to_string()
        }
    };
    let shared = folder("For the buyer").await;
    let sibling = folder("Internal").await;
    let inside = made(
        &owner,
        &format!("/api/v1/folders/{shared}/folders"),
        json!({"name": "Annexes"}),
    )
    .await;
    let inside = inside["id"].as_str().unwrap().to_string();
    let up = |folder: String, name: &'static str, body: &'static [u8]| {
        let owner = owner.clone();
        async move {
            let r = owner.upload(&folder, name, body.to_vec()).await;
            owner.json(r, StatusCode::CREATED).await["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let offer = up(shared.clone(), "offer.txt", b"the offer").await;
    let annex = up(inside.clone(), "annex.txt", b"annex one").await;
    let secret = up(sibling.clone(), "strategy.txt", b"walk-away price").await;
    let top = up(root.clone(), "top.txt", b"room level").await;

    let link = made(
        &owner,
        &format!("/api/v1/folders/{shared}/links"),
        json!({"access": "view_only"}),
    )
    .await;
    let token = link["token"].as_str().unwrap().to_string();
    assert!(
        token.starts_with("srl_") && token.len() >= 4 + 22,
        "at least 128 random bits: {token}"
    );
    let anon = anonymous(&srv.base);
    let landing = anon
        .json(anon.get(&format!("/api/v1/links/{token}")).await, StatusCode::OK)
        .await;
    assert_eq!(
        landing,
        json!({"item_kind": "folder", "access": "view_only", "password_required": false, "expires_at": null})
    );
    let unlocked = anon
        .json(
            anon.post(&format!("/api/v1/links/{token}/unlock"), json!({})).await,
            StatusCode::OK,
        )
        .await;
    let h = holder(&srv.base, unlocked["session"].as_str().unwrap());
    assert_eq!(unlocked["item_id"], json!(shared));

    // Inside: the folder, the folder in it, their files and their bytes.
    let listing = h
        .json(h.get(&format!("/api/v1/link/folders/{shared}")).await, StatusCode::OK)
        .await;
    assert_eq!(listing["files"][0]["name"], json!("offer.txt"));
    assert_eq!(
        h.get(&format!("/api/v1/link/folders/{inside}")).await.status(),
        StatusCode::OK
    );
    let r = h.get(&format!("/api/v1/link/files/{annex}/content")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"annex one");
    assert_eq!(
        h.get(&format!("/api/v1/link/files/{offer}")).await.status(),
        StatusCode::OK
    );
    // Outside: the sibling folder, its file, the room's root and its file — all 404, and
    // nothing of them in the body.
    for path in [
        format!("/api/v1/link/folders/{sibling}"),
        format!("/api/v1/link/files/{secret}"),
        format!("/api/v1/link/files/{secret}/content"),
        format!("/api/v1/link/folders/{root}"),
        format!("/api/v1/link/files/{top}/content"),
    ] {
        let r = h.get(&path).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        let body = r.text().await.unwrap();
        assert!(
            !body.contains("walk-away") && !body.contains("strategy") && !body.contains("room level"),
            "{body}"
        );
    }
    // A view link writes nothing.
    let r = h
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/link/folders/{shared}/files?name=x.txt"),
        )
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // An edit link uploads inside (recorded as made by the link's maker), never outside.
    let edit = made(
        &owner,
        &format!("/api/v1/folders/{shared}/links"),
        json!({"access": "edit"}),
    )
    .await;
    let s = anon
        .json(
            anon.post(
                &format!("/api/v1/links/{}/unlock", edit["token"].as_str().unwrap()),
                json!({}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
    let e = holder(&srv.base, s["session"].as_str().unwrap());
    let r = e
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/link/folders/{inside}/files?name=signed.txt"),
        )
        .body("signed")
        .send()
        .await
        .unwrap();
    let up = e.json(r, StatusCode::CREATED).await;
    let v = owner
        .json(
            owner
                .get(&format!("/api/v1/files/{}/versions", up["id"].as_str().unwrap()))
                .await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(v[0]["created_by"], json!(owner.user_id));
    let r = e
        .request(reqwest::Method::POST, &format!("/api/v1/link/files/{offer}/versions"))
        .body("counter-offer")
        .send()
        .await
        .unwrap();
    assert_eq!(e.json(r, StatusCode::CREATED).await["version"], json!(2));
    for path in [
        format!("/api/v1/link/folders/{sibling}/files?name=x.txt"),
        format!("/api/v1/link/folders/{root}/files?name=x.txt"),
    ] {
        let r = e.request(reqwest::Method::POST, &path).body("x").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let r = e
        .request(reqwest::Method::POST, &format!("/api/v1/link/files/{secret}/versions"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The link session is no API token: member routes refuse it.
    assert_eq!(
        h.get(&format!("/api/v1/files/{offer}")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(h.get("/api/v1/rooms").await.status(), StatusCode::UNAUTHORIZED);

    // The audit trail has every use, with the address and the browser.
    let audit = owner
        .json(owner.get("/api/v1/audit?limit=200").await, StatusCode::OK)
        .await;
    let uses: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "file.download")
        .collect();
    assert!(
        uses.iter()
            .any(|e| e["actor_id"].as_str().unwrap_or("").starts_with("link:") && e["ip"] == "127.0.0.1"),
        "{uses:?}"
    );

    // Revoked: the session ends at once, and the link answers like one that never existed.
    let id = link["id"].as_str().unwrap();
    assert_eq!(
        owner
            .delete(&format!("/api/v1/folders/{shared}/links/{id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.get(&format!("/api/v1/link/files/{offer}")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let revoked = anon.get(&format!("/api/v1/links/{token}")).await;
    assert_eq!(revoked.status(), StatusCode::NOT_FOUND);
    let revoked = revoked.text().await.unwrap();
    let unknown = anon
        .get("/api/v1/links/srl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(error_body(&revoked), error_body(&unknown));
    let r = anon.post(&format!("/api/v1/links/{token}/unlock"), json!({})).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // The log names the routes used, never a link's secret or a link session.
    let log = srv.log();
    assert!(log.contains("/api/v1/links/srl_/unlock"), "{log}");
    assert!(!log.contains(&token[4..]) && !log.contains(&unlocked["session"].as_str().unwrap()[4..]));
}

#[tokio::test]
async fn passwords_are_throttled_and_restrictions_hold() {
    let srv = Server::start(&backends().remove(0));
    let owner = srv.owner().await;
    let (room, root) = owner.room("Clinic").await;
    let r = owner.upload(&root, "scan.txt", b"patient scan".to_vec()).await;
    let file = owner.json(r, StatusCode::CREATED).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let pw = "correct horse battery";
    let link = made(
        &owner,
        &format!("/api/v1/files/{file}/links"),
        json!({"access": "view_only", "password": pw, "no_download": true, "expires_in_days": 7}),
    )
    .await;
    let token = link["token"].as_str().unwrap().to_string();
    assert_eq!(link["password_required"], json!(true));
    assert!(link.get("password_hash").is_none() && !link.to_string().contains("argon2"));
    let anon = anonymous(&srv.base);
    let unlock = |password: &'static str| {
        let anon = anon.clone();
        let token = token.clone();
        async move {
            anon.post(&format!("/api/v1/links/{token}/unlock"), json!({"password": password}))
                .await
        }
    };
    // Five wrong guesses are answered 401; then the link locks, even for the right password.
    for _ in 0..5 {
        assert_eq!(unlock("wrong guess").await.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = unlock(pw_static()).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = locked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    let events = owner
        .json(owner.get("/api/v1/audit?limit=200").await, StatusCode::OK)
        .await;
    let failures = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "link.unlock" && e["outcome"] == "failure")
        .count();
    assert_eq!(failures, 5);

    // A second link to the same file, unlocked with its password: no download.
    let link2 = made(
        &owner,
        &format!("/api/v1/files/{file}/links"),
        json!({"access": "view_only", "password": pw, "no_download": true}),
    )
    .await;
    let token2 = link2["token"].as_str().unwrap();
    let r = anon
        .post(&format!("/api/v1/links/{token2}/unlock"), json!({"password": pw}))
        .await;
    let s = anon.json(r, StatusCode::OK).await;
    let h = holder(&srv.base, s["session"].as_str().unwrap());
    assert_eq!(
        h.get(&format!("/api/v1/link/files/{file}")).await.status(),
        StatusCode::OK
    );
    let r = h.get(&format!("/api/v1/link/files/{file}/content")).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(!r.text().await.unwrap().contains("patient"));

    // Within the maker's rights: a viewer makes no links; a link carries no full access and
    // no unknown field; a weak password is refused.
    let viewer = srv.user(&owner, "viewer@example.org", "user").await;
    let r = owner
        .put(
            &format!("/api/v1/rooms/{room}/members"),
            json!({"kind": "user", "id": viewer.user_id, "access": "view_only"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    #[rustfmt::skip]
    let refused: &[(&Session, Value, StatusCode)] = &[
        (&viewer, json!({"access": "view_only"}), StatusCode::FORBIDDEN),
        (&owner, json!({"access": "full_access"}), StatusCode::BAD_REQUEST),
        (&owner, json!({"access": "deny"}), StatusCode::BAD_REQUEST),
        (&owner, json!({"access": "view_only", "no_donwload": true}), StatusCode::BAD_REQUEST),
        (&owner, json!({"access": "view_only", "password": "short"}), StatusCode::BAD_REQUEST),
        (&owner, json!({"access": "view_only", "expires_in_days": 0}), StatusCode::BAD_REQUEST),
    ];
    for (who, body, want) in refused {
        assert_eq!(
            who.post(&format!("/api/v1/files/{file}/links"), body.clone())
                .await
                .status(),
            *want,
            "{body}"
        );
    }
    assert_eq!(
        viewer.get(&format!("/api/v1/files/{file}/links")).await.status(),
        StatusCode::FORBIDDEN
    );
    let listed = owner
        .json(owner.get(&format!("/api/v1/files/{file}/links")).await, StatusCode::OK)
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(!listed.to_string().contains("token"), "no secrets in the list");

    // A link dies with its maker's rights: the maker removed from the room, the link is dead.
    let editor = srv.user(&owner, "editor@example.org", "user").await;
    let r = owner
        .put(
            &format!("/api/v1/rooms/{room}/members"),
            json!({"kind": "user", "id": editor.user_id, "access": "edit"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let l3 = made(
        &editor,
        &format!("/api/v1/files/{file}/links"),
        json!({"access": "view_only"}),
    )
    .await;
    let t3 = l3["token"].as_str().unwrap();
    assert_eq!(anon.get(&format!("/api/v1/links/{t3}")).await.status(), StatusCode::OK);
    assert_eq!(
        owner
            .delete(&format!("/api/v1/rooms/{room}/members/user/{}", editor.user_id))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        anon.get(&format!("/api/v1/links/{t3}")).await.status(),
        StatusCode::NOT_FOUND
    );
}

fn pw_static() -> &'static str {
    "correct horse battery"
}

/// Found by review: parallel guesses slipped past the lock, and a link session kept reaching
/// items after they went to the trash.
#[tokio::test]
async fn parallel_guesses_and_trashed_items() {
    let srv = Server::start(&backends().remove(0));
    let owner = srv.owner().await;
    let (_, root) = owner.room("Vault").await;
    let folder = made(
        &owner,
        &format!("/api/v1/folders/{root}/folders"),
        json!({"name": "Shared"}),
    )
    .await;
    let folder = folder["id"].as_str().unwrap().to_string();
    let r = owner.upload(&folder, "a.txt", b"alpha".to_vec()).await;
    let file = owner.json(r, StatusCode::CREATED).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let link = made(
        &owner,
        &format!("/api/v1/folders/{folder}/links"),
        json!({"access": "view_only", "password": "the right passphrase"}),
    )
    .await;
    let token = link["token"].as_str().unwrap().to_string();
    let anon = anonymous(&srv.base);
    let guesses = (0..40).map(|i| {
        let anon = anon.clone();
        let token = token.clone();
        async move {
            anon.post(
                &format!("/api/v1/links/{token}/unlock"),
                json!({"password": format!("guess {i}")}),
            )
            .await
            .status()
        }
    });
    let answers = futures::future::join_all(guesses).await;
    let checked = answers.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let locked = answers.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert!(checked <= 5, "{checked} guesses were checked: {answers:?}");
    assert_eq!(checked + locked, 40, "{answers:?}");

    // A session from before the trash reaches nothing in it.
    let link2 = made(
        &owner,
        &format!("/api/v1/folders/{folder}/links"),
        json!({"access": "view_only"}),
    )
    .await;
    let s = anon
        .json(
            anon.post(
                &format!("/api/v1/links/{}/unlock", link2["token"].as_str().unwrap()),
                json!({}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
    assert!(s["session_expires_at"].as_i64().unwrap() > 0);
    let h = holder(&srv.base, s["session"].as_str().unwrap());
    assert_eq!(
        h.get(&format!("/api/v1/link/files/{file}/content")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        owner
            .post(&format!("/api/v1/files/{file}/trash"), json!({}))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        h.get(&format!("/api/v1/link/files/{file}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.get(&format!("/api/v1/link/files/{file}/content")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        owner
            .post(&format!("/api/v1/folders/{folder}/trash"), json!({}))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        h.get(&format!("/api/v1/link/folders/{folder}")).await.status(),
        StatusCode::NOT_FOUND
    );
}
