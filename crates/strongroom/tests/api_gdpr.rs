//! The data-subject rights end to end, on every backend: a person's export holds their files
//! byte for byte (read back by Python's `zipfile`, not by our code); freezing stops their
//! sign-in, sessions and links and unfreezing restores them; erasure needs people and
//! documents administration, leaves their e-mail address, name and id nowhere in the database
//! (searched table by table, and on SQLite in the raw database bytes), and the audit chain still
//! verifies, by `strongroom audit verify` and by the independent verifier.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use common::{PASSWORD, Server, Session, backends, client, data, sha256_hex};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const EMAIL: &str = "quentin.zwoboda@clinic.example";
const NAME: &str = "Quentin Zwoboda";

/// Every entry of a ZIP archive and the SHA-256 of its bytes, as Python's `zipfile` reads
/// them (an independent reader; under `STRONGROOM_REQUIRE_ORACLES=1` it must run), and the
/// text of the JSON entries.
fn unzip(zip: &[u8]) -> Option<(BTreeMap<String, String>, BTreeMap<String, String>)> {
    if !common::tool("python3") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.zip");
    std::fs::write(&path, zip).unwrap();
    let script = r#"
import hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None, "a damaged entry"
out = {"sha256": {}, "text": {}}
for n in z.namelist():
    b = z.read(n)
    out["sha256"][n] = hashlib.sha256(b).hexdigest()
    if n.endswith((".json", ".jsonl", ".txt")) and not n.startswith("files/"):
        out["text"][n] = b.decode("utf-8")
print(json.dumps(out))
"#;
    let o = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let map = |k: &str| {
        v[k].as_object()
            .unwrap()
            .iter()
            .map(|(n, h)| (n.clone(), h.as_str().unwrap().to_string()))
            .collect()
    };
    Some((map("sha256"), map("text")))
}

/// Counts, table by table, the rows whose text contains `needle` (case-insensitive).
async fn rows_naming(srv: &Server, needle: &str) -> Vec<(String, i64)> {
    sqlx::any::install_default_drivers();
    let pg = srv.backend.pg_db.clone();
    let url = match &pg {
        Some(db) => {
            let url = std::env::var("STRONGROOM_TEST_POSTGRES_URL").unwrap();
            format!("{}/{db}", url.rsplit_once('/').unwrap().0)
        }
        None => format!(
            "sqlite://{}?mode=ro",
            srv.dir.path().join("data").join("strongroom.db").display()
        ),
    };
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    use sqlx::Row as _;
    let tables: Vec<String> = sqlx::query(if pg.is_some() {
        "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables WHERE table_schema = 'public'"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table'"
    })
    .fetch_all(&pool)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>("name"))
    .collect();
    assert!(tables.len() > 20, "{tables:?}");
    let pattern = format!("%{}%", needle.to_lowercase());
    let mut found = vec![];
    for t in tables {
        let sql = if pg.is_some() {
            format!("SELECT COUNT(*) AS n FROM \"{t}\" AS r WHERE LOWER(CAST(r AS TEXT)) LIKE $1")
        } else {
            let cols: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT name FROM pragma_table_info('{t}')"
            )))
            .fetch_all(&pool)
            .await
            .unwrap()
            .iter()
            .map(|r| format!("LOWER(CAST(\"{}\" AS TEXT)) LIKE $1", r.get::<String, _>("name")))
            .collect();
            format!("SELECT COUNT(*) AS n FROM \"{t}\" WHERE {}", cols.join(" OR "))
        };
        let n: i64 = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(pattern.clone())
            .fetch_one(&pool)
            .await
            .unwrap()
            .get("n");
        if n > 0 {
            found.push((t, n));
        }
    }
    pool.close().await;
    found
}

/// Whether `needle` occurs in the SQLite database's files (the database and its write-ahead
/// log), as bytes: what someone with a copy of the disk would find.
fn in_sqlite_files(srv: &Server, needle: &str) -> Vec<String> {
    let data = srv.dir.path().join("data");
    let mut hits = vec![];
    for name in ["strongroom.db", "strongroom.db-wal"] {
        let Ok(bytes) = std::fs::read(data.join(name)) else {
            continue;
        };
        for n in [needle.to_string(), needle.to_lowercase()] {
            if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                hits.push(format!("{name}: {n}"));
            }
        }
    }
    hits
}

async fn create_person(owner: &Session, email: &str, name: &str, role: &str, modules: Option<&[&str]>) -> String {
    let mut body = json!({"email": email, "display_name": name, "role": role, "password": PASSWORD});
    if let Some(m) = modules {
        body["admin_modules"] = json!(m);
    }
    owner
        .json(owner.post("/api/v1/users", body).await, StatusCode::CREATED)
        .await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn login_status(srv: &Server, email: &str) -> StatusCode {
    client()
        .post(srv.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread")]
async fn export_freeze_and_erase_a_person() {
    for backend in backends() {
        let srv = Server::start(&backend);
        let owner = srv.owner().await;
        let quentin_id = create_person(&owner, EMAIL, NAME, "user", None).await;
        create_person(&owner, "pam@clinic.example", "Pam People", "admin", Some(&["people"])).await;
        let pam = srv.login("pam@clinic.example", PASSWORD).await;
        let carol_id = create_person(&owner, "carol@clinic.example", "Carol Colleague", "user", None).await;
        let carol = srv.login("carol@clinic.example", PASSWORD).await;

        // Quentin's life in the workspace: a refused sign-in, a room, two files, a link.
        let r = client()
            .post(srv.url("/api/v1/auth/login"))
            .json(&json!({"email": EMAIL, "password": "not the password at all"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let quentin = srv.login(EMAIL, PASSWORD).await;
        assert_eq!(quentin.user_id, quentin_id);
        let (_, root) = quentin.room("Zwoboda intake").await;
        let scan = data(300_000, 41);
        let notes = format!("Notes of {NAME} <{EMAIL}>").into_bytes();
        let scan_id = quentin
            .json(
                quentin.upload(&root, "scan.pdf", scan.clone()).await,
                StatusCode::CREATED,
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        quentin
            .json(
                quentin.upload(&root, "notes.txt", notes.clone()).await,
                StatusCode::CREATED,
            )
            .await;
        let link = quentin
            .json(
                quentin
                    .post(
                        &format!("/api/v1/files/{scan_id}/links"),
                        json!({"access": "view_only"}),
                    )
                    .await,
                StatusCode::CREATED,
            )
            .await;
        let token = link["token"].as_str().unwrap().to_string();
        let landing = |token: String| {
            let url = srv.url(&format!("/api/v1/links/{token}"));
            async move { client().get(url).send().await.unwrap().status() }
        };
        assert_eq!(landing(token.clone()).await, StatusCode::OK);

        // Their own export: one archive, every part there, files byte for byte.
        let r = quentin.get(&format!("/api/v1/users/{quentin_id}/export")).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "application/zip");
        let zip = r.bytes().await.unwrap();
        if let Some((entries, text)) = unzip(&zip) {
            let names: Vec<&str> = entries.keys().map(String::as_str).collect();
            assert_eq!(
                names,
                [
                    "README.txt",
                    "audit-events.jsonl",
                    "files.json",
                    "files/Zwoboda intake/notes.txt",
                    "files/Zwoboda intake/scan.pdf",
                    "login-history.json",
                    "profile.json",
                    "settings.json",
                ],
                "{backend:?}"
            );
            assert_eq!(entries["files/Zwoboda intake/scan.pdf"], sha256_hex(&scan));
            assert_eq!(entries["files/Zwoboda intake/notes.txt"], sha256_hex(&notes));
            let profile: Value = serde_json::from_str(&text["profile.json"]).unwrap();
            assert_eq!(
                (profile["email"].as_str(), profile["display_name"].as_str()),
                (Some(EMAIL), Some(NAME))
            );
            let history: Value = serde_json::from_str(&text["login-history.json"]).unwrap();
            let events: Vec<&str> = history
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|h| h["event"].as_str())
                .collect();
            assert_eq!(events, ["login", "failure"], "{history}");
            let actions: Vec<String> = text["audit-events.jsonl"]
                .lines()
                .map(|l| {
                    serde_json::from_str::<Value>(l).unwrap()["action"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect();
            for want in ["user.create", "room.create", "file.upload", "link.create"] {
                assert!(actions.iter().any(|a| a == want), "{want} missing from {actions:?}");
            }
            let files: Value = serde_json::from_str(&text["files.json"]).unwrap();
            assert_eq!(files["withheld"], 0);
            assert_eq!(files["files"].as_array().unwrap().len(), 2);
            assert!(text["README.txt"].contains("audit-events.jsonl"));
        }
        // Each exported file counts as a download by the exporter.
        let downloads = owner
            .json(
                owner
                    .get(&format!("/api/v1/audit?action=file.download&actor={quentin_id}"))
                    .await,
                StatusCode::OK,
            )
            .await;
        assert_eq!(downloads.as_array().unwrap().len(), 2, "{downloads}");
        assert!(
            downloads
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["details"]["via"] == "export"),
            "{downloads}"
        );
        // Someone else's data is not theirs to export.
        let r = carol.get(&format!("/api/v1/users/{quentin_id}/export")).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        // A people administrator's export of it names no document or room of the person's:
        // the files stay out, and so do their names and paths in the events.
        let r = pam.get(&format!("/api/v1/users/{quentin_id}/export")).await;
        assert_eq!(r.status(), StatusCode::OK);
        if let Some((_, text)) = unzip(&r.bytes().await.unwrap()) {
            let events = &text["audit-events.jsonl"];
            assert!(events.contains("file.upload"), "{events}");
            for secret in ["Zwoboda intake", "scan.pdf", "notes.txt"] {
                assert!(!events.contains(secret), "{secret} in {events}");
            }
        }

        // Frozen (by a people administrator): no sign-in, the session and the link stop.
        let frozen = pam
            .json(
                pam.post(&format!("/api/v1/users/{quentin_id}/freeze"), json!({})).await,
                StatusCode::OK,
            )
            .await;
        assert!(frozen["frozen_at"].is_i64() && frozen["active"] == false, "{frozen}");
        let r = pam.post(&format!("/api/v1/users/{quentin_id}/freeze"), json!({})).await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert_eq!(quentin.get("/api/v1/auth/me").await.status(), StatusCode::UNAUTHORIZED);
        assert_ne!(login_status(&srv, EMAIL).await, StatusCode::OK);
        assert_eq!(landing(token.clone()).await, StatusCode::NOT_FOUND);
        // Enabling does not lift a freeze; unfreezing does.
        let r = pam
            .patch(&format!("/api/v1/users/{quentin_id}"), json!({"active": true}))
            .await;
        assert_eq!(r.status(), StatusCode::CONFLICT, "{}", r.text().await.unwrap());
        pam.json(
            pam.post(&format!("/api/v1/users/{quentin_id}/unfreeze"), json!({}))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(login_status(&srv, EMAIL).await, StatusCode::OK);
        assert_eq!(landing(token.clone()).await, StatusCode::OK);

        // A people administrator may not erase: the files would go too. Nothing changes.
        let r = pam
            .post(&format!("/api/v1/users/{quentin_id}/erase"), json!({"files": "delete"}))
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = carol
            .post(&format!("/api/v1/users/{quentin_id}/erase"), json!({"files": "delete"}))
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        owner
            .json(owner.get(&format!("/api/v1/users/{quentin_id}")).await, StatusCode::OK)
            .await;
        // Bad bodies are refused before anything happens.
        for bad in [
            json!({}),
            json!({"files": "transfer"}),
            json!({"files": "keep"}),
            json!({"files": "transfer", "transfer_to": quentin_id}),
        ] {
            let r = owner
                .post(&format!("/api/v1/users/{quentin_id}/erase"), bad.clone())
                .await;
            assert!(r.status().is_client_error(), "{bad}: {}", r.status());
        }
        owner
            .json(owner.get(&format!("/api/v1/users/{quentin_id}")).await, StatusCode::OK)
            .await;

        // Erased by the Owner, files handed to Carol.
        let done = owner
            .json(
                owner
                    .post(
                        &format!("/api/v1/users/{quentin_id}/erase"),
                        json!({"files": "transfer", "transfer_to": carol_id}),
                    )
                    .await,
                StatusCode::OK,
            )
            .await;
        assert_eq!(
            (done["files_transferred"].as_u64(), done["links_deleted"].as_u64()),
            (Some(2), Some(1)),
            "{done}"
        );
        assert!(done["events"].as_u64().unwrap() >= 6, "{done}");
        assert!(done["login_history_deleted"].as_u64().unwrap() >= 3, "{done}");
        let pseudonym = done["pseudonym"].as_str().unwrap().to_string();
        assert!(pseudonym.starts_with("erased-") && pseudonym.len() == 31, "{pseudonym}");
        assert_eq!(
            owner.get(&format!("/api/v1/users/{quentin_id}")).await.status(),
            StatusCode::NOT_FOUND
        );
        let again = owner
            .post(&format!("/api/v1/users/{quentin_id}/erase"), json!({"files": "delete"}))
            .await;
        assert_eq!(again.status(), StatusCode::NOT_FOUND);
        assert_eq!(login_status(&srv, EMAIL).await, StatusCode::UNAUTHORIZED);
        assert_eq!(landing(token.clone()).await, StatusCode::NOT_FOUND);
        // The files are Carol's now, their bytes unchanged.
        let versions = owner
            .json(
                owner.get(&format!("/api/v1/files/{scan_id}/versions")).await,
                StatusCode::OK,
            )
            .await;
        assert_eq!(versions[0]["created_by"], json!(carol_id), "{versions}");
        let body = owner
            .get(&format!("/api/v1/files/{scan_id}/content"))
            .await
            .bytes()
            .await
            .unwrap();
        assert_eq!(sha256_hex(&body), sha256_hex(&scan));

        // Their e-mail address, name and id are nowhere in the database.
        for needle in [EMAIL, NAME, quentin_id.as_str()] {
            assert_eq!(rows_naming(&srv, needle).await, vec![], "{needle} on {}", backend.name);
            if backend.pg_db.is_none() {
                assert_eq!(in_sqlite_files(&srv, needle), Vec::<String>::new(), "{needle} on disk");
            }
        }
        // The erasure is recorded under the pseudonym; the person's events keep their place.
        let erased = owner
            .json(owner.get("/api/v1/audit?action=user.erase").await, StatusCode::OK)
            .await;
        assert_eq!(erased[0]["target_id"], json!(pseudonym), "{erased}");
        let theirs = owner
            .json(
                owner.get(&format!("/api/v1/audit?actor={pseudonym}")).await,
                StatusCode::OK,
            )
            .await;
        assert!(theirs.as_array().unwrap().len() >= 4, "{theirs}");

        // The chain still verifies: ours, and the independent verifier.
        let out = srv.cli(&["audit", "verify"], "");
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{report}{}", String::from_utf8_lossy(&out.stderr));
        assert!(report.contains("the audit chain is intact"), "{report}");
        let key = owner.json(owner.get("/api/v1/audit/chain").await, StatusCode::OK).await["seal_public_key"]
            .as_str()
            .unwrap()
            .to_string();
        oracle_finds_nothing(&srv, &key);
    }
}

/// The independent verifier (`tests/oracle/audit_chain.py`) on this server's database.
fn oracle_finds_nothing(srv: &Server, key: &str) {
    if !common::tool("python3") {
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/oracle/audit_chain.py");
    let target = match &srv.backend.pg_db {
        Some(db) => {
            let url = std::env::var("STRONGROOM_TEST_POSTGRES_URL").unwrap();
            ("--postgres", format!("{}/{db}", url.rsplit_once('/').unwrap().0))
        }
        None => (
            "--sqlite",
            srv.dir.path().join("data").join("strongroom.db").display().to_string(),
        ),
    };
    let out = std::process::Command::new("python3")
        .args([script, "verify", target.0, &target.1, "--public-key", key, "--json"])
        .output()
        .unwrap();
    let required = std::env::var("STRONGROOM_REQUIRE_ORACLES").is_ok_and(|v| v == "1");
    match out.status.code() {
        Some(0) => {}
        Some(2) if !required => eprintln!(
            "SKIP: the chain oracle cannot run: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        _ => panic!(
            "the oracle: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// The console's `strongroom gdpr`: export to standard output and through `/dev/null`, erasure
/// only with `--yes`, freezing.
#[tokio::test(flavor = "multi_thread")]
async fn the_console_exports_freezes_and_erases() {
    let srv = Server::start(&backends().remove(0));
    let owner = srv.owner().await;
    let id = create_person(&owner, EMAIL, NAME, "user", None).await;
    let quentin = srv.login(EMAIL, PASSWORD).await;
    let (_, root) = quentin.room("Cases").await;
    let body = data(70_000, 5);
    quentin
        .json(quentin.upload(&root, "a.bin", body.clone()).await, StatusCode::CREATED)
        .await;

    let out = srv.cli(&["gdpr", "export", "--user", EMAIL, "-o", "-"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(&out.stdout[..4], b"PK\x03\x04");
    if let Some((entries, _)) = unzip(&out.stdout) {
        assert_eq!(entries["files/Cases/a.bin"], sha256_hex(&body));
    }
    let out = srv.cli(&["gdpr", "export", "--user", &id, "-o", "/dev/null"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    use std::os::unix::fs::FileTypeExt as _;
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
    let out = srv.cli(&["gdpr", "export", "--user", "nobody@clinic.example", "-o", "-"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user with e-mail nobody@clinic.example"));

    let out = srv.cli(&["gdpr", "freeze", "--user", EMAIL], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_ne!(login_status(&srv, EMAIL).await, StatusCode::OK);
    let out = srv.cli(&["gdpr", "unfreeze", "--user", EMAIL], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(login_status(&srv, EMAIL).await, StatusCode::OK);

    // Neither way for the files named: refused by the argument parser.
    let out = srv.cli(&["gdpr", "erase", "--user", EMAIL, "--yes"], "");
    assert!(!out.status.success());
    let out = srv.cli(&["gdpr", "erase", "--user", EMAIL, "--delete-files"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("add --yes"));
    owner
        .json(owner.get(&format!("/api/v1/users/{id}")).await, StatusCode::OK)
        .await;

    let out = srv.cli(&["gdpr", "erase", "--user", EMAIL, "--delete-files", "--yes"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let done: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(done["files_deleted"], 1, "{done}");
    assert_eq!(
        owner.get(&format!("/api/v1/users/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let erased = owner
        .json(owner.get("/api/v1/audit?action=user.erase").await, StatusCode::OK)
        .await;
    assert_eq!(erased[0]["initiator"], "cli", "{erased}");
}
