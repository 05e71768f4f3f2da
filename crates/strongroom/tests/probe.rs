//! An HTTP probe generated from the server's own `openapi.json`: every operation whose path
//! takes an id, with the ids of one room's folder and file (and of the Owner, a full
//! Administrator, a group, a token, a link), asked by principals who must be refused there:
//! a non-member, a guest nothing was shared with, a viewer whose share forbids downloads, a
//! People administrator (against the Owner and a full Administrator), and the holders of an
//! expired and of a revoked link. Never a 2xx where the table below says no, never a 5xx, and
//! never the file's name or bytes in a refused answer. On SQLite and PostgreSQL.
//!
//! A route added later is probed by default: it comes from the document, and it is refused to
//! every principal unless this table says it is allowed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should fail loudly

mod common;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;

const SECRET_NAME: &str = "probe-secret-name.txt";
const SECRET_BYTES: &[u8] = b"PROBE-SECRET-BYTES-7f3a";

/// What each principal may get a 2xx for (method and path template), written by hand from
/// docs/permissions.md. Everything else must be refused.
fn allowed(principal: &str) -> &'static [&'static str] {
    match principal {
        // Any signed-in user may look people and groups up (to share with them).
        "non-member" => &["GET /api/v1/users/{id}", "GET /api/v1/groups/{id}"],
        "guest" => &[],
        "viewer-no-download" => &[
            "GET /api/v1/users/{id}",
            "GET /api/v1/groups/{id}",
            "GET /api/v1/rooms/{id}",
            "GET /api/v1/rooms/{id}/members",
            "GET /api/v1/rooms/{id}/trash",
            "GET /api/v1/rooms/{id}/policy",
            "GET /api/v1/folders/{id}",
            "GET /api/v1/files/{id}",
            "GET /api/v1/files/{id}/versions",
        ],
        // Asked only of the Owner's and a full Administrator's account (and a group).
        "people-admin" => &[
            "GET /api/v1/users/{id}",
            "GET /api/v1/groups/{id}",
            "DELETE /api/v1/groups/{id}",
        ],
        "expired-link" | "revoked-link" => &[],
        other => panic!("no table for {other}"),
    }
}

/// Whether a refused answer may name the item: only to those who may see it.
fn sees_the_item(principal: &str) -> bool {
    principal == "viewer-no-download"
}

struct Ids {
    room: String,
    root: String,
    folder: String,
    file: String,
    group: String,
    token_id: String,
    link_id: String,
}

/// The JSON bodies that would do harm if allowed; other operations get `{}`.
fn body_for(method: &Method, template: &str, caller_id: &str, own_root: &str) -> Value {
    match (method.as_str(), template) {
        ("PATCH", "/api/v1/users/{id}") => json!({"password": "probe passphrase 12345", "role": "guest"}),
        ("PATCH", "/api/v1/rooms/{id}") => json!({"name": "probe renamed"}),
        ("PUT", t) if t.ends_with("/members") || t.ends_with("/grants") => {
            json!({"kind": "user", "id": caller_id, "access": "full_access"})
        }
        ("PUT", "/api/v1/rooms/{id}/policy") => json!({}),
        ("PATCH", "/api/v1/folders/{id}") | ("PATCH", "/api/v1/files/{id}") => json!({"name": "probe renamed"}),
        ("POST", "/api/v1/folders/{id}/folders") => json!({"name": "probe child"}),
        ("POST", t) if t.ends_with("/links") => json!({"access": "view_only"}),
        ("POST", "/api/v1/files/{id}/copy") => json!({"folder_id": own_root}),
        ("POST", "/api/v1/files/{id}/protect") => json!({"password": "probe password 1"}),
        ("POST", "/api/v1/files/{id}/watermark") => json!({"text": "probe"}),
        ("POST", "/api/v1/links/{token}/unlock") => json!({"password": "probe"}),
        _ => json!({}),
    }
}

/// Fills a path template with the probe's ids (a template it cannot fill fails the probe: a
/// new kind of id needs a line here).
fn fill(template: &str, ids: &Ids, person: &str, link_token: &str) -> String {
    let mut out = template.to_string();
    let id = if template.starts_with("/api/v1/rooms/") {
        &ids.room
    } else if template.starts_with("/api/v1/folders/") || template.starts_with("/api/v1/link/folders/") {
        &ids.folder
    } else if template.starts_with("/api/v1/files/") || template.starts_with("/api/v1/link/files/") {
        &ids.file
    } else if template.starts_with("/api/v1/users/") {
        person
    } else if template.starts_with("/api/v1/groups/") {
        &ids.group
    } else if template.starts_with("/api/v1/tokens/") {
        &ids.token_id
    } else {
        ""
    };
    out = out.replace("{id}", id);
    out = out
        .replace("{user_id}", person)
        .replace("{subject}", person)
        .replace("{kind}", "user")
        .replace("{report}", "downloads");
    out = out
        .replace("{version}", "1")
        .replace("{link_id}", &ids.link_id)
        .replace("{token}", link_token);
    assert!(!out.contains('{'), "the probe cannot fill {template}: add its id");
    out
}

/// Every operation of the document with a path parameter: (method, template, body kind).
fn operations(doc: &Value) -> Vec<(Method, String, &'static str)> {
    let mut ops = vec![];
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.contains('{') {
            continue;
        }
        for (m, op) in item.as_object().unwrap() {
            let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
            let content = &op["requestBody"]["content"];
            let kind = if content.get("application/json").is_some() {
                "json"
            } else if content.get("application/octet-stream").is_some() {
                "raw"
            } else {
                "none"
            };
            ops.push((method, path.clone(), kind));
        }
    }
    ops.sort_by(|a, b| (&a.1, a.0.as_str()).cmp(&(&b.1, b.0.as_str())));
    ops
}

async fn probe(backend: Backend) {
    let srv = Server::start(&backend);
    let owner = srv.owner().await;
    let (room, root) = owner.room("Probe room").await;
    let folder = owner
        .json(
            owner
                .post(
                    &format!("/api/v1/folders/{root}/folders"),
                    json!({"name": "Probe folder"}),
                )
                .await,
            StatusCode::CREATED,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let file = owner
        .json(
            owner.upload(&folder, SECRET_NAME, SECRET_BYTES.to_vec()).await,
            StatusCode::CREATED,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let group = owner
        .json(
            owner.post("/api/v1/groups", json!({"name": "Probe group"})).await,
            StatusCode::CREATED,
        )
        .await;
    let group = group["id"].as_str().unwrap().to_string();
    let token = owner
        .json(
            owner.post("/api/v1/tokens", json!({"name": "probe"})).await,
            StatusCode::CREATED,
        )
        .await;
    let mk = |email: &'static str, role: &'static str, modules: Option<Value>| {
        let owner = owner.clone();
        async move {
            let mut body = json!({"email": email, "role": role, "password": PASSWORD});
            if let Some(m) = modules {
                body["admin_modules"] = m;
            }
            let v = owner
                .json(owner.post("/api/v1/users", body).await, StatusCode::CREATED)
                .await;
            v["id"].as_str().unwrap().to_string()
        }
    };
    let full_admin = mk(
        "full@example.org",
        "admin",
        Some(json!(["documents", "people", "settings", "audit"])),
    )
    .await;
    mk("outsider@example.org", "user", None).await;
    mk("guest@example.org", "guest", None).await;
    let viewer_id = mk("viewer@example.org", "user", None).await;
    mk("hr@example.org", "admin", Some(json!(["people"]))).await;
    let r = owner
        .put(
            &format!("/api/v1/rooms/{room}/members"),
            json!({"kind": "user", "id": viewer_id, "access": "view_only", "no_download": true}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // Two links to the folder, each unlocked, then one expired and one revoked.
    let anon = Session {
        base: srv.base.clone(),
        auth: Auth::None,
        user_id: String::new(),
    };
    let mut link_holders = vec![];
    for name in ["expired-link", "revoked-link"] {
        let l = owner
            .json(
                owner
                    .post(
                        &format!("/api/v1/folders/{folder}/links"),
                        json!({"access": "view_only"}),
                    )
                    .await,
                StatusCode::CREATED,
            )
            .await;
        let secret = l["token"].as_str().unwrap().to_string();
        let s = anon
            .json(
                anon.post(&format!("/api/v1/links/{secret}/unlock"), json!({})).await,
                StatusCode::OK,
            )
            .await;
        link_holders.push((
            name,
            l["id"].as_str().unwrap().to_string(),
            secret,
            s["session"].as_str().unwrap().to_string(),
        ));
    }
    let expire = format!("UPDATE links SET expires_at = 1 WHERE id = '{}'", link_holders[0].1);
    assert_eq!(common::sql(&srv, &expire).await, 1);
    let r = owner
        .delete(&format!("/api/v1/folders/{folder}/links/{}", link_holders[1].1))
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    let ids = Ids {
        room,
        root,
        folder,
        file,
        group,
        token_id: token["id"].as_str().unwrap().to_string(),
        link_id: link_holders[1].1.clone(),
    };
    let doc: Value = owner.get("/api/v1/openapi.json").await.json().await.unwrap();
    let ops = operations(&doc);
    assert!(ops.len() >= 50, "{} operations with ids", ops.len());

    // (principal, session, the people whose ids fill /users/{id} and members paths).
    let mut principals: Vec<(&str, Session, Vec<String>)> = vec![];
    for (name, email) in [
        ("non-member", "outsider@example.org"),
        ("guest", "guest@example.org"),
        ("viewer-no-download", "viewer@example.org"),
    ] {
        let s = srv.login(email, PASSWORD).await;
        principals.push((name, s, vec![owner.user_id.clone()]));
    }
    for (name, _, _, session) in &link_holders {
        let s = Session {
            base: srv.base.clone(),
            auth: Auth::Bearer(session.clone()),
            user_id: String::new(),
        };
        principals.push((name, s, vec![owner.user_id.clone()]));
    }
    // Last: a People administrator may delete the group.
    let hr = srv.login("hr@example.org", PASSWORD).await;
    principals.push(("people-admin", hr, vec![owner.user_id.clone(), full_admin.clone()]));

    let mut tried = 0;
    let mut answers: HashMap<String, usize> = HashMap::new();
    for (name, session, people) in &principals {
        let own_root = ids.root.clone();
        let link_token = link_holders
            .iter()
            .find(|(n, ..)| n == name)
            .map_or_else(|| link_holders[1].2.clone(), |(_, _, secret, _)| secret.clone());
        let caller_id = session.user_id.clone();
        for (method, template, kind) in &ops {
            let key = format!("{} {template}", method.as_str());
            if *name == "people-admin"
                && !template.starts_with("/api/v1/users/")
                && !template.starts_with("/api/v1/groups/")
            {
                continue;
            }
            for person in people {
                let mut path = fill(template, &ids, person, &link_token);
                if template.ends_with("/files") {
                    path.push_str("?name=probe.txt");
                }
                let rb = session.request(method.clone(), &path);
                let rb = match *kind {
                    "json" => rb.json(&body_for(method, template, &caller_id, &own_root)),
                    "raw" => rb.body("probe bytes"),
                    _ => rb,
                };
                let r = rb.send().await.unwrap();
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                tried += 1;
                *answers.entry(status.as_u16().to_string()).or_default() += 1;
                assert!(
                    !status.is_server_error(),
                    "{name}: {key} ({path}) answered {status}: {text}"
                );
                let may = allowed(name).contains(&key.as_str());
                if status.is_success() {
                    assert!(
                        may,
                        "{name}: {key} ({path}) answered {status}, the table says no: {text}"
                    );
                } else {
                    assert!(!text.contains("PROBE-SECRET-BYTES"), "{name}: {key} leaked bytes");
                    if !sees_the_item(name) {
                        assert!(!text.contains(SECRET_NAME), "{name}: {key} leaked the name: {text}");
                    }
                }
                if !may {
                    assert!(!text.contains("PROBE-SECRET-BYTES"), "{name}: {key} leaked bytes");
                }
            }
        }
    }
    eprintln!("probe on {}: {tried} requests, answers {answers:?}", backend.name);
    // The Owner's account is untouched: the password still works, the role is Owner.
    let again = srv.login(OWNER_EMAIL, PASSWORD).await;
    let me = again.json(again.get("/api/v1/auth/me").await, StatusCode::OK).await;
    assert_eq!(me["role"], json!("owner"));
}

#[tokio::test]
async fn the_probe_finds_no_hole_on_every_backend() {
    for backend in backends()
        .into_iter()
        .filter(|b| b.name == "sqlite+local" || b.name == "postgres+local")
    {
        probe(backend).await;
    }
}
