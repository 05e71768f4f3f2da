//! An instance made by an earlier release (`fixtures/upgrade/`, made with `make.py` by the
//! binary of commit a9d1cd0, before grants replaced room members) upgrades in place, on SQLite
//! and on PostgreSQL, with every user, group, room, member, folder, file, version, API token
//! and audit event kept, and the upgraded data works under today's rules.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should fail loudly

mod common;
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::Path;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/upgrade");
const PASSWORD: &str = "correct horse battery staple";

/// Copies a directory tree with the modes a data directory has (0700 / 0600).
fn copy_tree(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700)).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
}

fn expected(kind: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(FIXTURE).join(kind).join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Everything the old instance held, read back through today's API.
async fn everything_is_kept(srv: &Server, want: &Value) {
    let id = |k: &str| want[k].as_str().unwrap().to_string();
    let owner = srv.login("owner@example.org", PASSWORD).await;
    assert_eq!(owner.user_id, id("owner"));

    let users = owner.json(owner.get("/api/v1/users").await, StatusCode::OK).await;
    let mut emails: Vec<(String, String)> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["email"].as_str().unwrap().to_string(),
                u["role"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    emails.sort();
    let want_users = [
        ("admin@example.org", "admin"),
        ("ed@example.org", "user"),
        ("guest@example.org", "guest"),
        ("owner@example.org", "owner"),
        ("vi@example.org", "user"),
    ];
    assert_eq!(emails, want_users.map(|(e, r)| (e.to_string(), r.to_string())));
    let admin = owner
        .json(
            owner.get(&format!("/api/v1/users/{}", id("admin"))).await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(admin["admin_modules"], json!(["people"]));

    let group = owner
        .json(
            owner.get(&format!("/api/v1/groups/{}", id("group"))).await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(group["name"], json!("Auditors"));
    assert_eq!(group["members"], json!([id("vi")]));

    // Room members became grants on the room, level for level.
    let room = id("room");
    let members = owner
        .json(
            owner.get(&format!("/api/v1/rooms/{room}/members")).await,
            StatusCode::OK,
        )
        .await;
    let mut got: Vec<(String, String, String)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["kind"].as_str().unwrap().to_string(),
                m["id"].as_str().unwrap().to_string(),
                m["access"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let mut want_members = vec![
        ("user".to_string(), id("owner"), "full_access".to_string()),
        ("user".to_string(), id("ed"), "edit".to_string()),
        ("user".to_string(), id("guest"), "comment".to_string()),
        ("group".to_string(), id("group"), "view_only".to_string()),
    ];
    want_members.sort();
    assert_eq!(got, want_members);

    // Files, versions and their bytes.
    let file = id("file");
    let versions = owner
        .json(
            owner.get(&format!("/api/v1/files/{file}/versions")).await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(versions.as_array().unwrap().len(), 2);
    for (v, body) in [(1, "first quarter, version one"), (2, "first quarter, version two")] {
        let r = owner.get(&format!("/api/v1/files/{file}/versions/{v}/content")).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.text().await.unwrap(), body);
    }
    let listing = owner
        .json(
            owner.get(&format!("/api/v1/folders/{}", id("folder"))).await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(listing["files"][0]["name"], json!("q1.txt"));

    // The old API token still signs in, with its old reach (no scope).
    let token = Session {
        auth: Auth::Bearer(id("token")),
        ..owner.clone()
    };
    let me = token.json(token.get("/api/v1/auth/me").await, StatusCode::OK).await;
    assert_eq!(me["id"], json!(id("owner")));
    let r = token.upload(&id("root"), "after-upgrade.txt", b"new".to_vec()).await;
    assert_eq!(r.status(), StatusCode::CREATED);

    // The audit trail kept every event (and got new ones since).
    let audit = owner
        .json(owner.get("/api/v1/audit?limit=1000").await, StatusCode::OK)
        .await;
    assert!(audit.as_array().unwrap().len() as u64 > want["audit_events"].as_u64().unwrap());

    // Members act under today's rules: the group's viewer reads, the editor writes, the guest
    // comments (sees, cannot write).
    let vi = srv.login("vi@example.org", PASSWORD).await;
    let r = vi.get(&format!("/api/v1/files/{file}/content")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        vi.upload(&id("root"), "x.txt", b"x".to_vec()).await.status(),
        StatusCode::FORBIDDEN
    );
    let ed = srv.login("ed@example.org", PASSWORD).await;
    assert_eq!(
        ed.upload(&id("root"), "ed.txt", b"e".to_vec()).await.status(),
        StatusCode::CREATED
    );
    let guest = srv.login("guest@example.org", PASSWORD).await;
    assert_eq!(
        guest.get(&format!("/api/v1/files/{file}")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        guest.upload(&id("root"), "g.txt", b"g".to_vec()).await.status(),
        StatusCode::FORBIDDEN
    );
    // And today's features work on the upgraded data: a Deny on the folder hides it from the
    // group's viewer.
    let r = owner
        .put(
            &format!("/api/v1/folders/{}/grants", id("folder")),
            json!({"kind": "user", "id": id("vi"), "access": "deny"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        vi.get(&format!("/api/v1/files/{file}")).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_sqlite_instance_of_the_previous_release_upgrades_in_place() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&Path::new(FIXTURE).join("sqlite/data"), &dir.path().join("data"));
    let config = dir.path().join("strongroom.toml");
    std::fs::write(&config, "").unwrap();
    let srv = Server::start_in_existing(&backends().remove(0), dir, config);
    everything_is_kept(&srv, &expected("sqlite")).await;
}

#[tokio::test]
async fn a_postgresql_instance_of_the_previous_release_upgrades_in_place() {
    let Some(pg) = backends()
        .into_iter()
        .find(|b| b.pg_db.is_some() && b.name == "postgres+local")
    else {
        eprintln!("SKIP: PostgreSQL upgrade (set STRONGROOM_TEST_POSTGRES_URL to test it)");
        return;
    };
    // Load the old release's dump into this test's empty database.
    let url = std::env::var("STRONGROOM_TEST_POSTGRES_URL").unwrap();
    let base = url.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap();
    let db_url = format!("{base}/{}", pg.pg_db.as_deref().unwrap());
    let out = std::process::Command::new("psql")
        .args([db_url.as_str(), "-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(Path::new(FIXTURE).join("postgres/dump.sql"))
        .output()
        .unwrap();
    assert!(out.status.success(), "psql: {}", String::from_utf8_lossy(&out.stderr));
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&Path::new(FIXTURE).join("postgres/data"), &dir.path().join("data"));
    let config = dir.path().join("strongroom.toml");
    std::fs::write(&config, &pg.toml).unwrap();
    let srv = Server::start_in_existing(&pg, dir, config);
    everything_is_kept(&srv, &expected("postgres")).await;
}
