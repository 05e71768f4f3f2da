//! Setup, sign-in, CSRF, API tokens, people and the authorization matrix over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should fail loudly

mod common;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn setup_login_csrf_logout_and_tokens() {
    for backend in backends() {
        eprintln!("backend: {}", backend.name);
        let srv = Server::start(&backend);
        let anon = client();
        // Wrong setup token, then the right one (once).
        let r = anon
            .post(srv.url("/api/v1/setup"))
            .json(&json!({"token": "sru_wrong", "email": OWNER_EMAIL, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        // A weak password or bad e-mail does not spend the token.
        for (email, pw) in [(OWNER_EMAIL, "short"), ("not-an-email", PASSWORD)] {
            let r = anon
                .post(srv.url("/api/v1/setup"))
                .json(&json!({"token": srv.setup_token.clone().unwrap(), "email": email, "password": pw}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        }
        let owner = srv.owner().await;
        let r = anon
            .post(srv.url("/api/v1/setup"))
            .json(&json!({"token": srv.setup_token.clone().unwrap(), "email": "second@example.org", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "setup works once");

        // The cookie is HttpOnly and SameSite=Strict.
        let r = anon
            .post(srv.url("/api/v1/auth/login"))
            .json(&json!({"email": OWNER_EMAIL, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && !cookie.contains("Secure"),
            "{cookie}"
        );
        let r = anon
            .post(srv.url("/api/v1/auth/login"))
            .json(&json!({"email": OWNER_EMAIL, "password": "wrong password!"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let r = anon
            .post(srv.url("/api/v1/auth/login"))
            .json(&json!({"email": "nobody@example.org", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

        let me = owner.json(owner.get("/api/v1/auth/me").await, StatusCode::OK).await;
        assert_eq!(me["role"], "owner");

        // Cookie without the CSRF header: refused, nothing created.
        let Auth::Cookie { cookie, .. } = owner.auth.clone() else {
            unreachable!()
        };
        let r = anon
            .post(srv.url("/api/v1/rooms"))
            .header("cookie", &cookie)
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = anon
            .post(srv.url("/api/v1/rooms"))
            .header("cookie", &cookie)
            .header("x-csrf-token", "src_forged")
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let rooms = owner.json(owner.get("/api/v1/rooms").await, StatusCode::OK).await;
        assert_eq!(rooms.as_array().unwrap().len(), 0);

        // API tokens: shown once, work as Bearer, listed without secrets, revocable.
        let t = owner
            .json(
                owner
                    .post("/api/v1/tokens", json!({"name": "backup script", "expires_in_days": 7}))
                    .await,
                StatusCode::CREATED,
            )
            .await;
        let secret = t["token"].as_str().unwrap().to_string();
        assert!(secret.starts_with("srt_"));
        let bearer = Session {
            auth: Auth::Bearer(secret.clone()),
            ..owner.clone()
        };
        bearer
            .json(
                bearer.post("/api/v1/rooms", json!({"name": "By token"})).await,
                StatusCode::CREATED,
            )
            .await;
        let list = owner.json(owner.get("/api/v1/tokens").await, StatusCode::OK).await;
        assert_eq!(list[0]["name"], "backup script");
        assert!(!list.to_string().contains(&secret));
        let bad = owner
            .post("/api/v1/tokens", json!({"name": "forever", "expires_in_days": 0}))
            .await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            owner
                .delete(&format!("/api/v1/tokens/{}", t["id"].as_str().unwrap()))
                .await
                .status(),
            StatusCode::NO_CONTENT
        );
        assert_eq!(bearer.get("/api/v1/rooms").await.status(), StatusCode::UNAUTHORIZED);

        // Sign-out ends the session.
        assert_eq!(
            owner.post("/api/v1/auth/logout", json!({})).await.status(),
            StatusCode::NO_CONTENT
        );
        assert_eq!(owner.get("/api/v1/auth/me").await.status(), StatusCode::UNAUTHORIZED);

        // Every sign-in attempt is in the audit trail, the secret nowhere in it or the log.
        let again = srv.login(OWNER_EMAIL, PASSWORD).await;
        let audit = again
            .json(again.get("/api/v1/audit?action=auth.login").await, StatusCode::OK)
            .await;
        let outcomes: Vec<&str> = audit
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(outcomes.iter().filter(|o| **o == "failure").count(), 2, "{outcomes:?}");
        assert!(audit.as_array().unwrap().iter().all(|e| e["ip"] == "127.0.0.1"));
        let everything = again
            .json(again.get("/api/v1/audit?limit=1000").await, StatusCode::OK)
            .await
            .to_string();
        for secret in [PASSWORD, secret.as_str()] {
            assert!(!everything.contains(secret), "a secret reached the audit trail");
            assert!(!srv.log().contains(secret), "a secret reached the log");
        }
    }
}

#[tokio::test]
async fn people_groups_roles_and_ownership() {
    for backend in backends() {
        eprintln!("backend: {}", backend.name);
        let srv = Server::start(&backend);
        let owner = srv.owner().await;
        let people_admin = {
            let r = owner.post("/api/v1/users", json!({"email": "hr@example.org", "role": "admin", "admin_modules": ["people"], "password": PASSWORD})).await;
            owner.json(r, StatusCode::CREATED).await;
            srv.login("hr@example.org", PASSWORD).await
        };
        // A people administrator manages users, but not administrators, settings or audit.
        let u = people_admin
            .json(
                people_admin
                    .post(
                        "/api/v1/users",
                        json!({"email": "Ann@Example.org ", "role": "user", "password": PASSWORD}),
                    )
                    .await,
                StatusCode::CREATED,
            )
            .await;
        assert_eq!(u["email"], "ann@example.org");
        let r = people_admin
            .post(
                "/api/v1/users",
                json!({"email": "boss@example.org", "role": "admin", "admin_modules": ["documents", "people", "settings", "audit"], "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(people_admin.get("/api/v1/audit").await.status(), StatusCode::FORBIDDEN);
        let r = owner
            .post("/api/v1/users", json!({"email": "ann@example.org", "role": "user"}))
            .await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        let r = owner
            .post(
                "/api/v1/users",
                json!({"email": "weak@example.org", "role": "user", "password": "short"}),
            )
            .await;
        assert_eq!(
            owner.json(r, StatusCode::BAD_REQUEST).await["error"]["code"],
            "weak_password"
        );
        let r = owner
            .post(
                "/api/v1/users",
                json!({"email": "o2@example.org", "role": "owner", "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "exactly one Owner");

        // Groups.
        let g = people_admin
            .json(
                people_admin.post("/api/v1/groups", json!({"name": "Lawyers"})).await,
                StatusCode::CREATED,
            )
            .await;
        let gid = g["id"].as_str().unwrap();
        let uid = u["id"].as_str().unwrap();
        assert_eq!(
            people_admin
                .put(&format!("/api/v1/groups/{gid}/members/{uid}"), json!({}))
                .await
                .status(),
            StatusCode::NO_CONTENT
        );
        let g = owner
            .json(owner.get(&format!("/api/v1/groups/{gid}")).await, StatusCode::OK)
            .await;
        assert_eq!(g["members"], json!([uid]));

        // A group grant reaches its members.
        let ann = srv.login("ann@example.org", PASSWORD).await;
        let (room, root) = owner.room("Litigation").await;
        assert_eq!(
            ann.get(&format!("/api/v1/folders/{root}")).await.status(),
            StatusCode::NOT_FOUND
        );
        let r = owner
            .put(
                &format!("/api/v1/rooms/{room}/members"),
                json!({"kind": "group", "id": gid, "access": "edit"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            ann.get(&format!("/api/v1/folders/{root}")).await.status(),
            StatusCode::OK
        );
        assert_eq!(
            ann.upload(&root, "brief.txt", b"brief".to_vec()).await.status(),
            StatusCode::CREATED
        );
        // An explicit deny for the person beats the group's grant.
        let r = owner
            .put(
                &format!("/api/v1/rooms/{room}/members"),
                json!({"kind": "user", "id": uid, "access": "deny"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            ann.get(&format!("/api/v1/folders/{root}")).await.status(),
            StatusCode::NOT_FOUND
        );
        let rooms = ann.json(ann.get("/api/v1/rooms").await, StatusCode::OK).await;
        assert_eq!(rooms, json!([]));

        // Disabling ends sessions and sign-in.
        owner
            .json(
                owner
                    .patch(&format!("/api/v1/users/{uid}"), json!({"active": false}))
                    .await,
                StatusCode::OK,
            )
            .await;
        assert_eq!(ann.get("/api/v1/auth/me").await.status(), StatusCode::UNAUTHORIZED);
        let r = client()
            .post(srv.url("/api/v1/auth/login"))
            .json(&json!({"email": "ann@example.org", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

        // Ownership moves; the old Owner becomes a full administrator, who cannot disable the
        // new Owner (nobody outranks the Owner).
        let hr_id = people_admin.user_id.clone();
        assert_eq!(
            people_admin
                .post(&format!("/api/v1/users/{hr_id}/transfer-ownership"), json!({}))
                .await
                .status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            owner
                .post(&format!("/api/v1/users/{hr_id}/transfer-ownership"), json!({}))
                .await
                .status(),
            StatusCode::NO_CONTENT
        );
        let users = owner.json(owner.get("/api/v1/users").await, StatusCode::OK).await;
        let role_of =
            |email: &str| users.as_array().unwrap().iter().find(|u| u["email"] == email).unwrap()["role"].clone();
        assert_eq!(role_of("hr@example.org"), "owner");
        assert_eq!(role_of(OWNER_EMAIL), "admin");
        let r = owner
            .patch(&format!("/api/v1/users/{hr_id}"), json!({"active": false}))
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
}

/// Every file, folder and room route, by id, for people outside the room: 404 for all of them,
/// and nothing changed. A view-only member reads but cannot write.
#[tokio::test]
async fn outsiders_get_404_for_every_route_of_a_room() {
    let backend = backends().remove(0);
    let srv = Server::start(&backend);
    let owner = srv.owner().await;
    let (room, root) = owner.room("Board").await;
    let sub = owner
        .json(
            owner
                .post(&format!("/api/v1/folders/{root}/folders"), json!({"name": "minutes"}))
                .await,
            StatusCode::CREATED,
        )
        .await;
    let sub = sub["id"].as_str().unwrap().to_string();
    let file = owner
        .json(
            owner.upload(&sub, "q1.txt", b"secret minutes".to_vec()).await,
            StatusCode::CREATED,
        )
        .await;
    let file = file["id"].as_str().unwrap().to_string();
    let (_, other_root) = owner.room("Elsewhere").await;

    let user = srv.user(&owner, "user@example.org", "user").await;
    let guest = srv.user(&owner, "guest@example.org", "guest").await;
    let viewer = srv.user(&owner, "viewer@example.org", "guest").await;
    let r = owner
        .put(
            &format!("/api/v1/rooms/{room}/members"),
            json!({"kind": "user", "id": viewer.user_id, "access": "view_only"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // The outsiders may write in a room of their own, so a move/copy target is not the reason.
    let (_, user_root) = user.room("Mine").await;

    struct Case {
        method: Method,
        path: String,
        body: Option<Value>,
        raw: bool,
        /// Expected for a view-only member.
        viewer: StatusCode,
    }
    let c = |method: Method, path: String, body: Option<Value>, raw: bool, viewer: StatusCode| Case {
        method,
        path,
        body,
        raw,
        viewer,
    };
    let (ok, forbidden) = (StatusCode::OK, StatusCode::FORBIDDEN);
    let cases = vec![
        c(Method::GET, format!("/api/v1/rooms/{room}"), None, false, ok),
        c(
            Method::PATCH,
            format!("/api/v1/rooms/{room}"),
            Some(json!({"name": "x"})),
            false,
            forbidden,
        ),
        c(Method::DELETE, format!("/api/v1/rooms/{room}"), None, false, forbidden),
        c(Method::GET, format!("/api/v1/rooms/{room}/members"), None, false, ok),
        c(
            Method::PUT,
            format!("/api/v1/rooms/{room}/members"),
            Some(json!({"kind": "user", "id": user.user_id, "access": "full_access"})),
            false,
            forbidden,
        ),
        c(
            Method::DELETE,
            format!("/api/v1/rooms/{room}/members/user/{}", viewer.user_id),
            None,
            false,
            forbidden,
        ),
        c(Method::GET, format!("/api/v1/rooms/{room}/trash"), None, false, ok),
        c(Method::GET, format!("/api/v1/folders/{root}"), None, false, ok),
        c(Method::GET, format!("/api/v1/folders/{sub}"), None, false, ok),
        c(
            Method::POST,
            format!("/api/v1/folders/{root}/folders"),
            Some(json!({"name": "new"})),
            false,
            forbidden,
        ),
        c(
            Method::PATCH,
            format!("/api/v1/folders/{sub}"),
            Some(json!({"name": "renamed"})),
            false,
            forbidden,
        ),
        c(
            Method::POST,
            format!("/api/v1/folders/{sub}/trash"),
            Some(json!({})),
            false,
            forbidden,
        ),
        c(
            Method::POST,
            format!("/api/v1/folders/{sub}/restore"),
            Some(json!({})),
            false,
            forbidden,
        ),
        c(Method::DELETE, format!("/api/v1/folders/{sub}"), None, false, forbidden),
        c(
            Method::POST,
            format!("/api/v1/folders/{sub}/files?name=new.txt"),
            None,
            true,
            forbidden,
        ),
        c(Method::GET, format!("/api/v1/files/{file}"), None, false, ok),
        c(Method::GET, format!("/api/v1/files/{file}/content"), None, false, ok),
        c(Method::GET, format!("/api/v1/files/{file}/versions"), None, false, ok),
        c(
            Method::GET,
            format!("/api/v1/files/{file}/versions/1/content"),
            None,
            false,
            ok,
        ),
        c(
            Method::POST,
            format!("/api/v1/files/{file}/versions"),
            None,
            true,
            forbidden,
        ),
        c(
            Method::PATCH,
            format!("/api/v1/files/{file}"),
            Some(json!({"name": "stolen.txt"})),
            false,
            forbidden,
        ),
        c(
            Method::PATCH,
            format!("/api/v1/files/{file}"),
            Some(json!({"folder_id": user_root})),
            false,
            forbidden,
        ),
        c(
            Method::POST,
            format!("/api/v1/files/{file}/copy"),
            Some(json!({"folder_id": user_root})),
            false,
            StatusCode::NOT_FOUND,
        ),
        c(
            Method::POST,
            format!("/api/v1/files/{file}/trash"),
            Some(json!({})),
            false,
            forbidden,
        ),
        c(
            Method::POST,
            format!("/api/v1/files/{file}/restore"),
            Some(json!({})),
            false,
            forbidden,
        ),
        c(Method::DELETE, format!("/api/v1/files/{file}"), None, false, forbidden),
    ];
    let send = |s: &Session, case: &Case| {
        let mut rb = s.request(case.method.clone(), &case.path);
        if let Some(b) = &case.body {
            rb = rb.json(b);
        }
        if case.raw {
            rb = rb.body(b"intruder".to_vec());
        }
        rb.send()
    };
    for case in &cases {
        for (who, s) in [("user", &user), ("guest", &guest)] {
            let r = send(s, case).await.unwrap();
            let status = r.status();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            assert_eq!(status, StatusCode::NOT_FOUND, "{who} {} {}", case.method, case.path);
            assert_eq!(
                body["error"]["code"], "not_found",
                "{who} {} {}",
                case.method, case.path
            );
        }
        let r = send(&viewer, case).await.unwrap();
        assert_eq!(r.status(), case.viewer, "viewer {} {}", case.method, case.path);
    }
    // Nothing changed.
    let listing = owner
        .json(owner.get(&format!("/api/v1/folders/{sub}")).await, StatusCode::OK)
        .await;
    assert_eq!(listing["files"][0]["name"], "q1.txt");
    assert_eq!(listing["files"][0]["version"], 1);
    assert_eq!(listing["name"], "minutes");
    let body = owner
        .get(&format!("/api/v1/files/{file}/content"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.as_ref(), b"secret minutes");
    // A member cannot move a file into a room they cannot write to either.
    let r = owner
        .patch(&format!("/api/v1/files/{file}"), json!({"folder_id": other_root}))
        .await;
    assert_eq!(r.status(), StatusCode::OK, "the owner can");
    // Guests cannot create rooms; users can.
    assert_eq!(
        guest.post("/api/v1/rooms", json!({"name": "g"})).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(guest.get("/api/v1/users").await.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn errors_are_json_and_never_500() {
    let backend = backends().remove(0);
    let srv = Server::start(&backend);
    let owner = srv.owner().await;
    let (_, root) = owner.room("R").await;
    let checks: Vec<(Method, String, Option<&str>, StatusCode)> = vec![
        (Method::GET, "/api/v1/nope".into(), None, StatusCode::NOT_FOUND),
        (
            Method::GET,
            "/api/v1/files/not-a-uuid".into(),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            "/api/v1/files/00000000-0000-7000-8000-000000000000".into(),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::POST,
            "/api/v1/rooms".into(),
            Some("{not json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/api/v1/rooms".into(),
            Some("{\"name\": 5}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/api/v1/rooms".into(),
            Some("{\"name\": \"   \"}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            format!("/api/v1/folders/{root}/files"),
            Some("no name given"),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::PATCH,
            format!("/api/v1/folders/{root}"),
            Some("{\"name\": \"x\"}"),
            StatusCode::CONFLICT,
        ),
        (
            Method::GET,
            format!("/api/v1/files/{root}/versions/abc/content"),
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            "/api/v1/audit?limit=abc".into(),
            None,
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (method, path, body, want) in checks {
        let mut rb = owner.request(method.clone(), &path);
        if let Some(b) = body {
            rb = rb
                .header(
                    "content-type",
                    if path.contains("/files") {
                        "application/octet-stream"
                    } else {
                        "application/json"
                    },
                )
                .body(b);
        }
        let r = rb.send().await.unwrap();
        assert_eq!(r.status(), want, "{method} {path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let v: Value = r.json().await.unwrap();
        assert!(
            v["error"]["code"].is_string() && v["error"]["message"].is_string(),
            "{v}"
        );
    }
    let big = vec![b' '; 2 * 1024 * 1024];
    let r = owner
        .request(Method::POST, "/api/v1/rooms")
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let r = owner
        .request(Method::POST, "/api/v1/rooms")
        .body("{\"name\":\"x\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

/// What the trail says about a person's changes: a password set by someone else is a reset,
/// one's own a change, and an update lists each field from → to.
#[tokio::test]
async fn the_audit_trail_says_what_changed_about_a_person() {
    for backend in backends() {
        eprintln!("backend: {}", backend.name);
        let srv = Server::start(&backend);
        let owner = srv.owner().await;
        let ann = srv.user(&owner, "ann@example.org", "user").await;
        let me = ann.json(ann.get("/api/v1/auth/me").await, StatusCode::OK).await;
        let id = me["id"].as_str().unwrap().to_string();
        let events = |action: &'static str| {
            let owner = &owner;
            async move {
                let all = owner
                    .json(
                        owner.get(&format!("/api/v1/audit?action={action}")).await,
                        StatusCode::OK,
                    )
                    .await;
                all.as_array().unwrap().clone()
            }
        };

        // The Owner sets Ann's password and makes her a Guest in one request: two events.
        let new = "another correct horse battery";
        let r = owner
            .patch(
                &format!("/api/v1/users/{id}"),
                json!({"password": new, "role": "guest"}),
            )
            .await;
        owner.json(r, StatusCode::OK).await;
        let reset = events("user.password.reset").await;
        assert_eq!(reset.len(), 1, "{reset:?}");
        assert_eq!(reset[0]["target_id"], id.as_str());
        assert_eq!(reset[0]["actor_email"], OWNER_EMAIL);
        assert_eq!(reset[0]["details"]["sign_ins_ended"], 1, "Ann's session ended");
        let update = events("user.update").await;
        assert_eq!(
            update[0]["details"]["changed"],
            json!({"role": {"from": "user", "to": "guest"}})
        );
        assert_eq!(ann.get("/api/v1/auth/me").await.status(), StatusCode::UNAUTHORIZED);

        // Ann changes her own password: a change, not a reset, and nothing else changed.
        let ann = srv.login("ann@example.org", new).await;
        let r = ann
            .patch(
                &format!("/api/v1/users/{id}"),
                json!({"password": PASSWORD, "current_password": new}),
            )
            .await;
        ann.json(r, StatusCode::OK).await;
        let change = events("user.password.change").await;
        assert_eq!((change.len(), change[0]["actor_id"].as_str()), (1, Some(id.as_str())));
        assert_eq!(events("user.password.reset").await.len(), 1);
        assert_eq!(
            events("user.update").await.len(),
            1,
            "a password alone is not an update"
        );

        // A rename of a folder says from and to.
        let (_, root) = owner.room("Board").await;
        let f = owner
            .json(
                owner
                    .post(&format!("/api/v1/folders/{root}/folders"), json!({"name": "Drafts"}))
                    .await,
                StatusCode::CREATED,
            )
            .await;
        let fid = f["id"].as_str().unwrap();
        owner
            .json(
                owner
                    .patch(&format!("/api/v1/folders/{fid}"), json!({"name": "Final"}))
                    .await,
                StatusCode::OK,
            )
            .await;
        let moved = events("folder.update").await;
        assert_eq!(
            moved[0]["details"]["changed"],
            json!({"name": {"from": "Drafts", "to": "Final"}})
        );
    }
}
