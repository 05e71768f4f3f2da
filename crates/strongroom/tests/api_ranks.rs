//! People administration by rank, over HTTP: nobody changes, disables or resets the password
//! of someone at or above their own rank (Owner > full Administrator > module Administrator >
//! User > Guest), nor raises anyone to it; password changes end the person's other sign-ins;
//! an API token cannot mint tokens; input is checked before any password is hashed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should fail loudly

mod common;
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const NEW_PASSWORD: &str = "a brand new passphrase 42";
/// Every module: a full Administrator.
const ALL: &[&str] = &["documents", "people", "settings", "audit"];

async fn make(srv: &Server, owner: &Session, email: &str, role: &str, modules: Option<&[&str]>) -> String {
    let mut body = json!({"email": email, "role": role, "password": PASSWORD});
    if let Some(m) = modules {
        body["admin_modules"] = json!(m);
    }
    let v = owner
        .json(owner.post("/api/v1/users", body).await, StatusCode::CREATED)
        .await;
    let _ = srv;
    v["id"].as_str().unwrap().to_string()
}

/// Every caller × every target × every kind of change, expected answers written out.
#[tokio::test]
async fn nobody_manages_their_equals_or_betters() {
    let backend = &backends()[0];
    let srv = Server::start(backend);
    let owner = srv.owner().await;
    // Callers.
    make(&srv, &owner, "full@example.org", "admin", Some(ALL)).await;
    make(&srv, &owner, "hr@example.org", "admin", Some(&["people"])).await;
    make(&srv, &owner, "docs@example.org", "admin", Some(&["documents"])).await;
    make(&srv, &owner, "user@example.org", "user", None).await;
    make(&srv, &owner, "guest@example.org", "guest", None).await;
    // Targets (other than the Owner, who is both).
    let owner_id = owner.user_id.clone();
    let t_full = make(&srv, &owner, "t-full@example.org", "admin", Some(ALL)).await;
    let t_module = make(&srv, &owner, "t-hr@example.org", "admin", Some(&["people"])).await;
    let t_user = make(&srv, &owner, "t-user@example.org", "user", None).await;
    let t_guest = make(&srv, &owner, "t-guest@example.org", "guest", None).await;
    let targets = [
        ("owner", owner_id.clone()),
        ("full", t_full),
        ("module", t_module),
        ("user", t_user),
        ("guest", t_guest),
    ];

    let full = srv.login("full@example.org", PASSWORD).await;
    let hr = srv.login("hr@example.org", PASSWORD).await;
    let docs = srv.login("docs@example.org", PASSWORD).await;
    let user = srv.login("user@example.org", PASSWORD).await;
    let guest = srv.login("guest@example.org", PASSWORD).await;

    // Y = 200, F = 403, for a password reset, a new display name, and disabling.
    #[rustfmt::skip]
    let table: &[(&str, &Session, &str)] = &[
        //                        owner full module user guest
        ("full",   &full,  "F     F    Y      Y    Y"),
        ("hr",     &hr,    "F     F    F      Y    Y"),
        ("docs",   &docs,  "F     F    F      F    F"),
        ("user",   &user,  "F     F    F      F    F"),
        ("guest",  &guest, "F     F    F      F    F"),
    ];
    for (name, caller, row) in table {
        let want: Vec<&str> = row.split_whitespace().collect();
        for ((tname, tid), want) in targets.iter().zip(want) {
            let status = if want == "Y" {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            for change in [
                json!({"password": NEW_PASSWORD}),
                json!({"display_name": format!("renamed by {name}")}),
                json!({"active": false}),
                json!({"active": true}),
            ] {
                let r = caller.patch(&format!("/api/v1/users/{tid}"), change.clone()).await;
                assert_eq!(r.status(), status, "{name} → {tname}: {change}");
            }
        }
    }
    // The Owner's account is untouched: old password signs in, name unchanged.
    let again = srv.login(OWNER_EMAIL, PASSWORD).await;
    let me = again.json(again.get("/api/v1/auth/me").await, StatusCode::OK).await;
    assert_eq!(me["display_name"], "Olivia Owner");
    // A reset by someone above works: the new password signs in.
    srv.login("t-user@example.org", NEW_PASSWORD).await;
    // The Owner manages everyone else, but changes their own role or state through nobody.
    for (tname, tid) in &targets[1..] {
        let r = owner
            .patch(&format!("/api/v1/users/{tid}"), json!({"display_name": "by the owner"}))
            .await;
        assert_eq!(r.status(), StatusCode::OK, "owner → {tname}");
    }
    for change in [json!({"active": false}), json!({"role": "admin"})] {
        let r = owner.patch(&format!("/api/v1/users/{owner_id}"), change.clone()).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "owner on themselves: {change}");
    }

    // Raising someone: only to a rank below one's own.
    let promote = |role: &str, modules: Option<&[&str]>| {
        let mut b = json!({"role": role});
        if let Some(m) = modules {
            b["admin_modules"] = json!(m);
        }
        b
    };
    let u = make(&srv, &owner, "climber@example.org", "user", None).await;
    let path = format!("/api/v1/users/{u}");
    #[rustfmt::skip]
    let raises: &[(&str, &Session, Value, StatusCode)] = &[
        ("hr → module admin",   &hr,   promote("admin", Some(&["people"])), StatusCode::FORBIDDEN),
        ("hr → full admin",     &hr,   promote("admin", Some(ALL)),         StatusCode::FORBIDDEN),
        ("full → full admin",   &full, promote("admin", Some(ALL)),         StatusCode::FORBIDDEN),
        ("full → owner",        &full, promote("owner", None),              StatusCode::FORBIDDEN),
        ("hr → guest",          &hr,   promote("guest", None),              StatusCode::OK),
        ("full → module admin", &full, promote("admin", Some(&["audit"])),  StatusCode::OK),
        ("full → all modules",  &full, promote("admin", Some(&["documents", "people", "settings", "audit"])), StatusCode::FORBIDDEN),
    ];
    for (what, caller, body, want) in raises {
        let r = caller.patch(&path, body.clone()).await;
        assert_eq!(r.status(), *want, "{what}");
    }
    // Nobody creates someone at their own rank.
    let r = hr
        .post(
            "/api/v1/users",
            json!({"email": "hr2@example.org", "role": "admin", "admin_modules": ["people"], "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = full
        .post(
            "/api/v1/users",
            json!({"email": "full2@example.org", "role": "admin", "admin_modules": ALL, "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A forgotten admin_modules is an error, never "all modules".
    let r = owner
        .post(
            "/api/v1/users",
            json!({"email": "vague@example.org", "role": "admin", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("admin_modules"));
    // Self-service: name yes, own role, modules or state no.
    let r = hr
        .patch(&format!("/api/v1/users/{}", hr.user_id), json!({"display_name": "HR"}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    for change in [
        json!({"admin_modules": ["people", "audit"]}),
        json!({"role": "admin"}),
        json!({"active": false}),
    ] {
        let r = hr.patch(&format!("/api/v1/users/{}", hr.user_id), change.clone()).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "hr on themselves: {change}");
    }
}

#[tokio::test]
async fn password_changes_end_other_sign_ins_and_tokens_cannot_mint_tokens() {
    let backend = &backends()[0];
    let srv = Server::start(backend);
    let owner = srv.owner().await;
    make(&srv, &owner, "ann@example.org", "user", None).await;
    let ann = srv.login("ann@example.org", PASSWORD).await;
    let ann_laptop = srv.login("ann@example.org", PASSWORD).await;
    let t = ann
        .json(
            ann.post("/api/v1/tokens", json!({"name": "script"})).await,
            StatusCode::CREATED,
        )
        .await;
    let token = Session {
        base: ann.base.clone(),
        auth: Auth::Bearer(t["token"].as_str().unwrap().to_string()),
        user_id: ann.user_id.clone(),
    };
    // A token cannot make tokens (revoking a leaked one must end its holder's access).
    let r = token.post("/api/v1/tokens", json!({"name": "child"})).await;
    assert_eq!(
        token.json(r, StatusCode::FORBIDDEN).await["error"]["code"],
        "session_required"
    );

    let me = format!("/api/v1/users/{}", ann.user_id);
    // A well-formed request without the proof: refused like a wrong current password (403),
    // not as malformed input (the OpenAPI document cannot say "required for yourself").
    let r = ann.patch(&me, json!({"password": NEW_PASSWORD})).await;
    assert_eq!(
        ann.json(r, StatusCode::FORBIDDEN).await["error"]["code"],
        "current_password_required",
        "own password change needs the current one"
    );
    let r = ann
        .patch(
            &me,
            json!({"password": NEW_PASSWORD, "current_password": "not my password"}),
        )
        .await;
    assert_eq!(
        ann.json(r, StatusCode::FORBIDDEN).await["error"]["code"],
        "wrong_password"
    );
    assert_eq!(
        token.get("/api/v1/auth/me").await.status(),
        StatusCode::OK,
        "a refused change ends nothing"
    );
    let r = ann
        .patch(&me, json!({"password": NEW_PASSWORD, "current_password": PASSWORD}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        ann.get("/api/v1/auth/me").await.status(),
        StatusCode::OK,
        "the session it came through stays"
    );
    assert_eq!(
        ann_laptop.get("/api/v1/auth/me").await.status(),
        StatusCode::UNAUTHORIZED,
        "other sessions end"
    );
    assert_eq!(
        token.get("/api/v1/auth/me").await.status(),
        StatusCode::UNAUTHORIZED,
        "API tokens end"
    );
    srv.login("ann@example.org", NEW_PASSWORD).await;

    // A reset by an administrator ends every session of the person.
    let ann2 = srv.login("ann@example.org", NEW_PASSWORD).await;
    let r = owner.patch(&me, json!({"password": PASSWORD})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(ann2.get("/api/v1/auth/me").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(ann.get("/api/v1/auth/me").await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn huge_input_is_refused_short_and_before_hashing() {
    let backend = &backends()[0];
    let srv = Server::start(backend);
    let owner = srv.owner().await;
    let email = format!("{}@example.org", "a".repeat(900_000));
    let r = owner
        .post(
            "/api/v1/users",
            json!({"email": email, "role": "user", "password": "short"}),
        )
        .await;
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{}", &text[..text.len().min(300)]);
    assert!(
        text.len() < 1024,
        "the error echoes at most an excerpt: {} bytes",
        text.len()
    );
    // The e-mail was checked first: a weak password would have been named otherwise.
    assert!(text.contains("e-mail"), "{text}");
    // A 1 MB password at login costs no hash and gets the ordinary answer.
    let r = client()
        .post(srv.url("/api/v1/auth/login"))
        .json(&json!({"email": OWNER_EMAIL, "password": "p".repeat(1_000_000)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

/// Names that display as other names are refused everywhere a name is given.
#[tokio::test]
async fn names_with_direction_overrides_are_refused() {
    let backend = &backends()[0];
    let srv = Server::start(backend);
    let owner = srv.owner().await;
    let (room, root) = owner.room("Invoices").await;
    let spoof = "invoice\u{202E}gpj.exe";
    let r = owner.upload(&root, spoof, b"MZ".to_vec()).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let f = owner
        .json(
            owner.upload(&root, "invoice.jpg", b"jpg".to_vec()).await,
            StatusCode::CREATED,
        )
        .await;
    let fid = f["id"].as_str().unwrap();
    let r = owner
        .patch(&format!("/api/v1/files/{fid}"), json!({"name": spoof}))
        .await;
    let e = owner.json(r, StatusCode::BAD_REQUEST).await;
    assert!(e["error"]["message"].as_str().unwrap().contains("U+202E"), "{e}");
    let r = owner
        .post(
            &format!("/api/v1/folders/{root}/folders"),
            json!({"name": "a\u{2067}b"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = owner
        .patch(&format!("/api/v1/rooms/{room}"), json!({"name": "pay\u{200B}roll"}))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = owner.post("/api/v1/rooms", json!({"name": "\u{FEFF}Board"})).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // The file kept its name.
    let v = owner
        .json(owner.get(&format!("/api/v1/files/{fid}")).await, StatusCode::OK)
        .await;
    assert_eq!(v["name"], "invoice.jpg");
}

/// Group membership carries the group's room access, so it follows the rank rule: a `people`
/// Administrator adds and removes Users and Guests, never themselves, an equal, a full
/// Administrator or the Owner.
#[tokio::test]
async fn group_membership_follows_the_rank_rule() {
    let backend = &backends()[0];
    let srv = Server::start(backend);
    let owner = srv.owner().await;
    let hr_id = make(&srv, &owner, "hr@example.org", "admin", Some(&["people"])).await;
    let peer = make(&srv, &owner, "peer@example.org", "admin", Some(&["people"])).await;
    let full = make(&srv, &owner, "full@example.org", "admin", Some(ALL)).await;
    let user = make(&srv, &owner, "user@example.org", "user", None).await;
    let guest = make(&srv, &owner, "guest@example.org", "guest", None).await;
    let group = owner
        .json(
            owner.post("/api/v1/groups", json!({"name": "Board"})).await,
            StatusCode::CREATED,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let hr = srv.login("hr@example.org", PASSWORD).await;
    for (who, id, want) in [
        ("themselves", &hr_id, StatusCode::FORBIDDEN),
        ("an equal", &peer, StatusCode::FORBIDDEN),
        ("a full Administrator", &full, StatusCode::FORBIDDEN),
        ("the Owner", &owner.user_id, StatusCode::FORBIDDEN),
        ("a User", &user, StatusCode::NO_CONTENT),
        ("a Guest", &guest, StatusCode::NO_CONTENT),
    ] {
        let path = format!("/api/v1/groups/{group}/members/{id}");
        let r = hr.request(reqwest::Method::PUT, &path).send().await.unwrap();
        assert_eq!(r.status(), want, "hr adds {who}");
        // The Owner puts everyone in, so removal is tried on a real membership.
        let r = owner.request(reqwest::Method::PUT, &path).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "owner adds {who}");
        assert_eq!(hr.delete(&path).await.status(), want, "hr removes {who}");
    }
    // Deleting a group takes from every member what it gave, and what it denied: it is
    // changing each of them. With hr in it (say, under a Deny), hr cannot delete it, nor with
    // a full Administrator in it; once only Users and Guests are left, hr can.
    let member = |id: &str| format!("/api/v1/groups/{group}/members/{id}");
    let r = owner
        .request(reqwest::Method::PUT, &member(&hr_id))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let delete = format!("/api/v1/groups/{group}");
    assert_eq!(hr.delete(&delete).await.status(), StatusCode::FORBIDDEN, "hr is in it");
    for id in [&hr_id, &peer, &owner.user_id] {
        assert_eq!(owner.delete(&member(id)).await.status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(
        hr.delete(&delete).await.status(),
        StatusCode::FORBIDDEN,
        "a full Administrator is in it"
    );
    assert_eq!(owner.delete(&member(&full)).await.status(), StatusCode::NO_CONTENT);
    let r = owner
        .request(reqwest::Method::PUT, &member(&user))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(hr.delete(&delete).await.status(), StatusCode::NO_CONTENT);
    let left = owner.get(&delete).await;
    assert_eq!(
        left.status(),
        StatusCode::NOT_FOUND,
        "deleted once its members were all below hr"
    );
}

/// Disabling an account revokes its API tokens: enabling it again brings none back.
#[tokio::test]
async fn disabling_ends_tokens_for_good() {
    let backend = &backends()[0];
    let srv = Server::start(backend);
    let owner = srv.owner().await;
    let id = make(&srv, &owner, "ann@example.org", "user", None).await;
    let ann = srv.login("ann@example.org", PASSWORD).await;
    let t = ann
        .json(
            ann.post("/api/v1/tokens", json!({"name": "script"})).await,
            StatusCode::CREATED,
        )
        .await;
    let token = Session {
        base: ann.base.clone(),
        auth: Auth::Bearer(t["token"].as_str().unwrap().to_string()),
        user_id: id.clone(),
    };
    assert_eq!(token.get("/api/v1/auth/me").await.status(), StatusCode::OK);
    for active in [false, true] {
        let r = owner
            .patch(&format!("/api/v1/users/{id}"), json!({"active": active}))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    assert_eq!(
        token.get("/api/v1/auth/me").await.status(),
        StatusCode::UNAUTHORIZED,
        "a token does not come back with the account"
    );
    let ann = srv.login("ann@example.org", PASSWORD).await;
    let tokens = ann.json(ann.get("/api/v1/tokens").await, StatusCode::OK).await;
    assert_eq!(tokens.as_array().unwrap().len(), 1, "{tokens}");
    assert_eq!(tokens[0]["revoked"], true, "listed as revoked: {tokens}");
}
