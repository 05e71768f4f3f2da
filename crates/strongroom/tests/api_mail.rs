//! Outgoing mail against a real SMTP server on loopback (aiosmtpd, writing each delivered
//! message to a maildir the test reads): the password-reset link (same answer for unknown
//! addresses, works once, a refused password leaves it usable, ends every session) and the
//! notice of a sign-in from a new device; invitations and self-sign-up (who may invite
//! whom, the link works once, a withdrawn, overtaken or no-longer-admitted one makes nothing).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod smtp;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use smtp::*;
use std::time::Duration;

/// The link secret (starting with `prefix`) in a mail.
fn token_in(mail: &str, prefix: &str) -> String {
    let t = mail
        .split("token=")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_else(|| panic!("no link in {mail}"))
        .to_string();
    assert!(t.starts_with(prefix), "{t}");
    t
}

const EDGE: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_reset_and_new_device_mail() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mail) = smtp(dir.path()).await else { return };
    let srv = Server::start(&backends().remove(0));
    let owner = srv.owner().await;
    let ann = srv.user(&owner, "ann@example.org", "user").await;

    // Mail is off until set: a reset request is answered as always, nothing is sent, and
    // the log says why.
    let r = post(
        &srv,
        "/api/v1/auth/password-reset",
        json!({"email": "ann@example.org"}),
        FIREFOX,
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(srv.log().contains("mail is not configured"), "{}", srv.log());

    // Plain SMTP only to this host.
    let r = owner
        .put(
            "/api/v1/settings/mail",
            json!({"host": "smtp.example.org", "security": "none", "from": "Strongroom <noreply@example.org>"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = owner
        .put(
            "/api/v1/settings/mail",
            json!({"host": "127.0.0.1", "port": mail.port, "security": "none", "from": "not an address"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let set = json!({"host": "127.0.0.1", "port": mail.port, "security": "none", "username": "", "from": "Strongroom <noreply@example.org>"});
    assert_eq!(
        owner
            .json(owner.put("/api/v1/settings/mail", set.clone()).await, StatusCode::OK)
            .await,
        set
    );
    let got = owner
        .json(owner.get("/api/v1/settings/mail").await, StatusCode::OK)
        .await;
    assert_eq!(got["password_set"], false);
    assert_eq!(ann.get("/api/v1/settings/mail").await.status(), StatusCode::FORBIDDEN);
    // An Administrator of settings may not pick the server reset links go through.
    let sa = srv.user(&owner, "sa@example.org", "user").await;
    let r = owner
        .patch(
            &format!("/api/v1/users/{}", sa.user_id),
            json!({"role": "admin", "admin_modules": ["settings"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let mut theirs = set.clone();
    theirs["port"] = json!(2525);
    assert_eq!(
        sa.put("/api/v1/settings/mail", theirs).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        owner
            .json(owner.get("/api/v1/settings/mail").await, StatusCode::OK)
            .await["port"],
        set["port"]
    );
    // The sealed password was given for one server: moving the server deletes it.
    let out = srv.cli(&["admin", "secret", "set", "mail.smtp.password"], "smtp secret\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got = owner
        .json(owner.get("/api/v1/settings/mail").await, StatusCode::OK)
        .await;
    assert_eq!(got["password_set"], true);
    let mut moved = set.clone();
    moved["port"] = json!(2525);
    assert_eq!(owner.put("/api/v1/settings/mail", moved).await.status(), StatusCode::OK);
    let got = owner
        .json(owner.get("/api/v1/settings/mail").await, StatusCode::OK)
        .await;
    assert_eq!(got["password_set"], false);
    let v = owner
        .json(
            owner.get("/api/v1/audit?action=settings.mail.set").await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(v[0]["details"]["password_deleted"], true);
    assert_eq!(
        owner.put("/api/v1/settings/mail", set.clone()).await.status(),
        StatusCode::OK
    );

    // The same answer for an account and for no account; only the account gets a mail.
    let known = post(
        &srv,
        "/api/v1/auth/password-reset",
        json!({"email": "Ann@Example.org"}),
        FIREFOX,
    )
    .await;
    let unknown = post(
        &srv,
        "/api/v1/auth/password-reset",
        json!({"email": "nobody@example.org"}),
        FIREFOX,
    )
    .await;
    assert_eq!(
        (known.status(), unknown.status()),
        (StatusCode::ACCEPTED, StatusCode::ACCEPTED)
    );
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());
    // The Owner is never reset by mail (the console recovers the Owner).
    let r = post(
        &srv,
        "/api/v1/auth/password-reset",
        json!({"email": OWNER_EMAIL}),
        FIREFOX,
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let msgs = mail.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        mail.messages().len(),
        1,
        "only the account's mail is sent, none for the Owner"
    );
    let reset = unfolded(&msgs[0]);
    assert!(reset.contains("To: ann@example.org"), "{reset}");
    assert!(reset.contains("Subject: Reset your Strongroom password"), "{reset}");
    // The secret rides in the fragment: no server, proxy or Referer sees it.
    assert!(reset.contains("/reset-password#token=srr_"), "{reset}");
    let token = token_in(&reset, "srr_");

    // A refused password leaves the link usable; then it works once, and ends every session.
    let confirm = |password: &str| json!({"token": token, "password": password});
    let r = post(
        &srv,
        "/api/v1/auth/password-reset/confirm",
        confirm("password1234"),
        FIREFOX,
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "weak_password");
    let fresh = "a brand new staple battery horse";
    let r = post(&srv, "/api/v1/auth/password-reset/confirm", confirm(fresh), FIREFOX).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = post(
        &srv,
        "/api/v1/auth/password-reset/confirm",
        confirm("yet another staple battery"),
        FIREFOX,
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(ann.get("/api/v1/auth/me").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        post(
            &srv,
            "/api/v1/auth/login",
            json!({"email": "ann@example.org", "password": PASSWORD}),
            FIREFOX
        )
        .await
        .status(),
        StatusCode::UNAUTHORIZED
    );

    // A sign-in from a browser and platform not seen before sends a notice; from one seen
    // before, nothing. (Ann's first sign-ins came from the test client: "Other".)
    let login = |ua: &'static str| {
        let srv = &srv;
        async move {
            post(
                srv,
                "/api/v1/auth/login",
                json!({"email": "ann@example.org", "password": fresh}),
                ua,
            )
            .await
            .status()
        }
    };
    assert_eq!(login(FIREFOX).await, StatusCode::OK);
    let notice = unfolded(&mail.wait_for(2).await[1]);
    assert!(notice.contains("To: ann@example.org"), "{notice}");
    assert!(
        notice.contains("Subject: New sign-in to your Strongroom account"),
        "{notice}"
    );
    assert!(notice.contains("Firefox on Linux, from 127.0.0.1"), "{notice}");
    assert_eq!(login(FIREFOX).await, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mail.messages().len(), 2);
    assert_eq!(login(EDGE).await, StatusCode::OK);
    let notice = unfolded(&mail.wait_for(3).await[2]);
    assert!(notice.contains("Edge on Windows, from 127.0.0.1"), "{notice}");

    let v = owner
        .json(
            owner.get("/api/v1/audit?action=user.password.reset").await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(v[0]["details"]["via"], "reset_link");
    assert_eq!(v[0]["target_id"], ann.user_id.as_str());
    let v = owner
        .json(
            owner.get("/api/v1/audit?action=user.password.reset_request").await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(v.as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_and_self_sign_up() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mail) = smtp(dir.path()).await else { return };
    let srv = Server::start(&backends().remove(0));
    let owner = srv.owner().await;
    let bob = srv.user(&owner, "bob@example.org", "user").await;
    let pa = srv.user(&owner, "pa@example.org", "user").await;
    let r = owner
        .patch(
            &format!("/api/v1/users/{}", pa.user_id),
            json!({"role": "admin", "admin_modules": ["people"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let invite = |who: &Session, email: &str, role: &str, modules: Value| {
        let body = json!({"email": email, "role": role, "admin_modules": modules});
        let who = who.clone();
        async move { who.post("/api/v1/invitations", body).await }
    };

    // Mail off: an invitation cannot go out, and says so.
    let r = invite(&pa, "carol@example.org", "user", Value::Null).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "not_configured");
    mail_on(&owner, &mail).await;

    // Who may invite whom: administrators of people, below their own rank; nobody twice
    // into an address that has an account.
    #[rustfmt::skip]
    let refused: &[(&Session, &str, &str, Value, StatusCode)] = &[
        (&bob, "carol@example.org", "guest", Value::Null, StatusCode::FORBIDDEN),
        (&pa, "carol@example.org", "admin", json!(["people"]), StatusCode::FORBIDDEN),
        (&pa, "carol@example.org", "admin", json!(["documents"]), StatusCode::FORBIDDEN),
        (&pa, "carol@example.org", "owner", Value::Null, StatusCode::BAD_REQUEST),
        (&owner, "carol@example.org", "admin", Value::Null, StatusCode::BAD_REQUEST),
        (&pa, "not an address", "user", Value::Null, StatusCode::BAD_REQUEST),
        (&pa, "Bob@Example.org", "user", Value::Null, StatusCode::CONFLICT),
    ];
    for (who, email, role, modules, want) in refused {
        let r = invite(who, email, role, modules.clone()).await;
        assert_eq!(r.status(), *want, "{email} as {role} {modules}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(mail.messages().len(), 0, "no refused invitation is mailed");

    let inv = pa
        .json(
            invite(&pa, "Carol@Example.org", "user", Value::Null).await,
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(inv["email"], "carol@example.org");
    assert_eq!(inv["role"], "user");
    assert_eq!(inv["kind"], "invitation");
    assert_eq!(inv["invited_by"], pa.user_id.as_str());
    assert!(inv.get("token").is_none() && inv.get("token_hash").is_none(), "{inv}");
    let msg = unfolded(&mail.wait_for(1).await[0]);
    assert!(msg.contains("To: carol@example.org"), "{msg}");
    assert!(msg.contains("Subject: Your invitation to Strongroom"), "{msg}");
    assert!(msg.contains("pa@example.org invites you"), "{msg}");
    assert!(msg.contains("/invitation#token=sri_"), "{msg}");
    let carol_token = token_in(&msg, "sri_");
    let listed = pa.json(pa.get("/api/v1/invitations").await, StatusCode::OK).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], inv["id"]);
    assert_eq!(bob.get("/api/v1/invitations").await.status(), StatusCode::FORBIDDEN);

    // The link shows what it is for; a refused password leaves it usable; it works once.
    let r = post(&srv, "/api/v1/auth/invitation", json!({"token": carol_token}), FIREFOX).await;
    let seen: Value = r.json().await.unwrap();
    assert_eq!(
        (seen["email"].as_str(), seen["role"].as_str()),
        (Some("carol@example.org"), Some("user"))
    );
    let accept = |token: &str, password: &str| json!({"token": token, "display_name": "Carol", "password": password});
    let r = post(
        &srv,
        "/api/v1/auth/invitation/accept",
        accept(&carol_token, "password1234"),
        FIREFOX,
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "weak_password");
    let r = post(
        &srv,
        "/api/v1/auth/invitation/accept",
        accept(&carol_token, PASSWORD),
        FIREFOX,
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let carol: Value = r.json().await.unwrap();
    assert_eq!(
        (
            carol["email"].as_str(),
            carol["role"].as_str(),
            carol["display_name"].as_str()
        ),
        (Some("carol@example.org"), Some("user"), Some("Carol"))
    );
    let r = post(
        &srv,
        "/api/v1/auth/invitation/accept",
        accept(&carol_token, PASSWORD),
        FIREFOX,
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        srv.login("carol@example.org", PASSWORD).await.user_id,
        carol["id"].as_str().unwrap()
    );
    assert_eq!(
        pa.json(pa.get("/api/v1/invitations").await, StatusCode::OK).await,
        json!([])
    );
    let created = owner
        .json(owner.get("/api/v1/audit?action=user.create").await, StatusCode::OK)
        .await;
    assert_eq!(created[0]["target_id"], carol["id"]);
    assert_eq!(created[0]["details"]["via"], "invitation");
    assert_eq!(created[0]["details"]["invited_by"], pa.user_id.as_str());

    // A withdrawn invitation, and one overtaken by a newer one, make nothing.
    let dave = pa
        .json(
            invite(&pa, "dave@example.org", "guest", Value::Null).await,
            StatusCode::CREATED,
        )
        .await;
    let first = token_in(&unfolded(&mail.wait_for(2).await[1]), "sri_");
    pa.json(
        invite(&pa, "dave@example.org", "guest", Value::Null).await,
        StatusCode::CREATED,
    )
    .await;
    let second = token_in(&unfolded(&mail.wait_for(3).await[2]), "sri_");
    let r = post(
        &srv,
        "/api/v1/auth/invitation/accept",
        accept(&first, PASSWORD),
        FIREFOX,
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "the older link was replaced");
    let listed = pa.json(pa.get("/api/v1/invitations").await, StatusCode::OK).await;
    assert_ne!(listed[0]["id"], dave["id"]);
    let id = listed[0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        bob.delete(&format!("/api/v1/invitations/{id}")).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        pa.delete(&format!("/api/v1/invitations/{id}")).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        pa.delete(&format!("/api/v1/invitations/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let r = post(
        &srv,
        "/api/v1/auth/invitation/accept",
        accept(&second, PASSWORD),
        FIREFOX,
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "withdrawn");

    // An inviter who may no longer invite for that rank (demoted since) admits nobody.
    pa.json(
        invite(&pa, "erin@example.org", "user", Value::Null).await,
        StatusCode::CREATED,
    )
    .await;
    let erin = token_in(&unfolded(&mail.wait_for(4).await[3]), "sri_");
    let r = owner
        .patch(&format!("/api/v1/users/{}", pa.user_id), json!({"role": "user"}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = post(&srv, "/api/v1/auth/invitation/accept", accept(&erin, PASSWORD), FIREFOX).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("no longer valid"));

    // Self-sign-up is off by default: answered as always, nothing sent.
    let sign_up = |email: &str| post(&srv, "/api/v1/auth/sign-up", json!({"email": email}), FIREFOX);
    let off = sign_up("frank@trusted.org").await;
    assert_eq!(off.status(), StatusCode::ACCEPTED);
    let answer = off.text().await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(mail.messages().len(), 4);

    // Opening it admits people: administrators of settings alone may not.
    let sa = srv.user(&owner, "sa@example.org", "user").await;
    let r = owner
        .patch(
            &format!("/api/v1/users/{}", sa.user_id),
            json!({"role": "admin", "admin_modules": ["settings"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let open = json!({"self_sign_up": "trusted_domains", "trusted_domains": ["Trusted.org", "example.org"]});
    assert_eq!(
        sa.put("/api/v1/settings/security/sign-up", open.clone()).await.status(),
        StatusCode::FORBIDDEN
    );
    for bad in [
        json!({"self_sign_up": "trusted_domains"}),
        json!({"self_sign_up": "any", "role": "admin"}),
        json!({"self_sign_up": "any", "role": "owner"}),
        json!({"trusted_domains": ["not a domain"]}),
        json!({"invitation_days": 0}),
        json!({"self_sign_up": "sometimes"}),
        json!([]),
    ] {
        let r = owner.put("/api/v1/settings/security/sign-up", bad.clone()).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let set = owner
        .json(
            owner.put("/api/v1/settings/security/sign-up", open).await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        set,
        json!({"self_sign_up": "trusted_domains", "trusted_domains": ["example.org", "trusted.org"], "role": "guest", "invitation_days": 7})
    );

    // The same answer for a trusted domain, another domain, and an address with an account;
    // only the first gets a link.
    for email in ["other@elsewhere.org", "Carol@example.org", "frank@trusted.org"] {
        let r = sign_up(email).await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        assert_eq!(r.text().await.unwrap(), answer);
    }
    let msgs = mail.wait_for(5).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mail.messages().len(), 5, "one link, to the trusted domain only");
    let msg = unfolded(&msgs[4]);
    assert!(msg.contains("To: frank@trusted.org"), "{msg}");
    assert!(msg.contains("Subject: Make your Strongroom account"), "{msg}");
    let frank = token_in(&msg, "sri_");
    let r = post(
        &srv,
        "/api/v1/auth/invitation/accept",
        json!({"token": frank, "password": PASSWORD}),
        FIREFOX,
    )
    .await;
    let made: Value = r.json().await.unwrap();
    assert_eq!(
        (made["email"].as_str(), made["role"].as_str()),
        (Some("frank@trusted.org"), Some("guest")),
        "{made}"
    );
    let created = owner
        .json(owner.get("/api/v1/audit?action=user.create").await, StatusCode::OK)
        .await;
    assert_eq!(created[0]["details"]["via"], "sign_up");

    // A link sent while sign-up was open makes nothing once it is closed.
    assert_eq!(sign_up("gina@trusted.org").await.status(), StatusCode::ACCEPTED);
    let gina = token_in(&unfolded(&mail.wait_for(6).await[5]), "sri_");
    owner
        .json(
            owner.put("/api/v1/settings/security/sign-up", json!({})).await,
            StatusCode::OK,
        )
        .await;
    let r = post(
        &srv,
        "/api/v1/auth/invitation/accept",
        json!({"token": gina, "password": PASSWORD}),
        FIREFOX,
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // A stranger's sign-up request never replaces an administrator's invitation.
    owner
        .json(
            owner
                .put("/api/v1/settings/security/sign-up", json!({"self_sign_up": "any"}))
                .await,
            StatusCode::OK,
        )
        .await;
    owner
        .json(
            invite(&owner, "hank@trusted.org", "user", Value::Null).await,
            StatusCode::CREATED,
        )
        .await;
    let hank = token_in(&unfolded(&mail.wait_for(7).await[6]), "sri_");
    assert_eq!(sign_up("hank@trusted.org").await.text().await.unwrap(), answer);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mail.messages().len(), 7);
    let r = post(&srv, "/api/v1/auth/invitation/accept", accept(&hank, PASSWORD), FIREFOX).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.json::<Value>().await.unwrap()["role"], "user");

    // People administrators see, replace and withdraw only invitations below their rank.
    let pa2 = srv.user(&owner, "pa2@example.org", "user").await;
    let r = owner
        .patch(
            &format!("/api/v1/users/{}", pa2.user_id),
            json!({"role": "admin", "admin_modules": ["people"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let ivy = owner
        .json(
            invite(&owner, "ivy@trusted.org", "admin", json!(["people"])).await,
            StatusCode::CREATED,
        )
        .await;
    mail.wait_for(8).await;
    let seen = pa2.json(pa2.get("/api/v1/invitations").await, StatusCode::OK).await;
    assert!(!seen.as_array().unwrap().iter().any(|i| i["id"] == ivy["id"]), "{seen}");
    let all = owner.json(owner.get("/api/v1/invitations").await, StatusCode::OK).await;
    assert!(all.as_array().unwrap().iter().any(|i| i["id"] == ivy["id"]), "{all}");
    assert_eq!(
        invite(&pa2, "ivy@trusted.org", "guest", Value::Null).await.status(),
        StatusCode::FORBIDDEN
    );
    let withdraw = format!("/api/v1/invitations/{}", ivy["id"].as_str().unwrap());
    assert_eq!(pa2.delete(&withdraw).await.status(), StatusCode::FORBIDDEN);
    // An address no mail server takes is refused before anything is made.
    for bad in ["a@b@example.org", "\"a b\"@example.org", "a@example.org,b@example.org"] {
        assert_eq!(
            invite(&owner, bad, "user", Value::Null).await.status(),
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }

    // One client has at most ten times the sign-in limit's mails sent a period, over all
    // addresses; only mails sent count (Frank's and Gina's above, not the refused ones): with
    // a limit of 10, eight of twenty more.
    let rules = json!({"max_attempts": 1, "max_attempts_per_account": 2});
    assert_eq!(
        owner.put("/api/v1/settings/security/sign-in", rules).await.status(),
        StatusCode::OK
    );
    for i in 0..20 {
        assert_eq!(
            sign_up(&format!("many{i}@trusted.org")).await.status(),
            StatusCode::ACCEPTED
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    mail.wait_for(16).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(mail.messages().len(), 16, "eight of the twenty");

    // The CLI reads and sets the same settings.
    let out = srv.cli(
        &[
            "admin",
            "settings",
            "sign-up",
            "--self-sign-up",
            "any",
            "--role",
            "user",
        ],
        "",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (printed["self_sign_up"].as_str(), printed["role"].as_str()),
        (Some("any"), Some("user"))
    );
    let got = owner
        .json(owner.get("/api/v1/settings/security/sign-up").await, StatusCode::OK)
        .await;
    assert_eq!(got, printed);
    for action in [
        "user.invitation.create",
        "user.invitation.withdraw",
        "user.sign_up.request",
        "settings.sign_up.set",
    ] {
        let v = owner
            .json(
                owner.get(&format!("/api/v1/audit?action={action}")).await,
                StatusCode::OK,
            )
            .await;
        assert!(!v.as_array().unwrap().is_empty(), "{action}");
    }
}
