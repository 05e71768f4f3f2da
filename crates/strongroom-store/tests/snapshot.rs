//! The database as rows (what a backup holds): dumped in one snapshot and loaded into a fresh
//! database of the other engine, every row comes back as it was — nested folders written
//! child-first, non-ASCII names, NULLs, the audit chain (which still verifies).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use common::exec;

use std::collections::BTreeMap;
use strongroom_core::audit::{AuditAction, AuditEvent};
use strongroom_store::Db;
use strongroom_store::audit::{record, verify::verify};
use strongroom_store::snapshot::{Snapshot, load, prepare_fresh};

const T0: i64 = 1_767_225_600_000;

/// A small instance: a person, a room whose folders nest three deep (ids chosen so that a
/// child sorts before its parent), a file with two versions, audit events.
async fn populate(db: &Db) {
    exec(
        db,
        "INSERT INTO users (id, email, display_name, role, admin_modules, active, password_hash, created_at) \
              VALUES ('u1', 'zoë@example.org', 'Zoë Ångström 日本', 'owner', '', 1, NULL, 1)",
    )
    .await;
    exec(
        db,
        "INSERT INTO rooms (id, name, root_folder_id, created_by, created_at) VALUES ('r1', 'Ärzte', 'f9', 'u1', 2)",
    )
    .await;
    exec(db, "INSERT INTO folders (id, room_id, parent_id, name, created_by, created_at) VALUES ('f9', 'r1', NULL, 'Ärzte', 'u1', 2)").await;
    exec(db, "INSERT INTO folders (id, room_id, parent_id, name, created_by, created_at) VALUES ('f5', 'r1', 'f9', 'a', 'u1', 3)").await;
    exec(db, "INSERT INTO folders (id, room_id, parent_id, name, created_by, created_at) VALUES ('f1', 'r1', 'f5', 'b', 'u1', 4)").await;
    exec(db, "INSERT INTO folders (id, room_id, parent_id, name, created_by, created_at, trashed_at) VALUES ('f0', 'r1', 'f1', 'c \"quoted\"\n', 'u1', 5, 6)").await;
    exec(db, "INSERT INTO files (id, room_id, folder_id, name, current_version, created_by, created_at) VALUES ('x1', 'r1', 'f0', 'leer.txt', 2, 'u1', 7)").await;
    for v in [1, 2] {
        exec(db, &format!("INSERT INTO file_versions (file_id, version, blob_key, size, sha256, content_type, created_by, created_at) \
                           VALUES ('x1', {v}, 'blob{v}', 0, 'e3b0', 'text/plain', 'u1', {v})")).await;
    }
    for i in 0..5 {
        let e = AuditEvent::new(AuditAction::FileDownload)
            .target("file", "x1")
            .details(serde_json::json!({"n": i}));
        record(db, &e, T0 + i * 1000).await.unwrap();
    }
}

/// Every table's rows, as parsed JSON lines (order kept).
async fn dump_all(db: &Db) -> BTreeMap<String, Vec<serde_json::Value>> {
    let mut snap = Snapshot::begin(db).await.unwrap();
    let mut out = BTreeMap::new();
    for t in snap.tables().await.unwrap() {
        let mut buf = Vec::new();
        let n = snap.dump(&t, &mut buf).await.unwrap();
        let rows: Vec<serde_json::Value> = buf
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        assert_eq!(rows.len() as u64, n);
        out.insert(t.name.clone(), rows);
    }
    out
}

#[tokio::test]
async fn rows_come_back_as_they_were_on_either_engine() {
    let dir = tempfile::tempdir().unwrap();
    let sources = common::databases(dir.path(), "snapshot_from").await;
    // Only folders point at their own table: the dump writes them parents first, and a new
    // table like it must be added to the dump's list.
    let selfref: Vec<String> = sqlx::query_scalar(
        "SELECT m.name FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE f.\"table\" = m.name",
    )
    .fetch_all(&sources[0].db.pool)
    .await
    .unwrap();
    assert_eq!(selfref, ["folders"]);
    for from in &sources {
        populate(&from.db).await;
        let before = dump_all(&from.db).await;
        // Folders parents first: the root, then each level.
        let folders: Vec<&str> = before["folders"].iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(folders, ["f9", "f5", "f1", "f0"], "{}", from.name);
        assert_eq!(before["folders"][3]["trashed_at"], 6);
        assert_eq!(before["folders"][2]["trashed_at"], serde_json::Value::Null);
        assert_eq!(before["users"][0]["display_name"], "Zoë Ångström 日本");
        assert_eq!(before["audit_events"].len(), 5);
        assert!(!before.contains_key("_sqlx_migrations"));

        for to in common::databases(dir.path(), &format!("snapshot_to_{}", from.name)).await {
            prepare_fresh(&to.db).await.unwrap();
            let mut snap = Snapshot::begin(&from.db).await.unwrap();
            for t in snap.tables().await.unwrap() {
                let mut buf = Vec::new();
                snap.dump(&t, &mut buf).await.unwrap();
                load(&to.db, &t.name, &buf[..]).await.unwrap();
            }
            drop(snap);
            let after = dump_all(&to.db).await;
            assert_eq!(after, before, "{} → {}", from.name, to.name);
            // The index of hours is rebuilt from the events, and dated searches find them.
            strongroom_store::audit::rebuild_hours(&to.db).await.unwrap();
            let dated = strongroom_store::audit::AuditFilter {
                from: Some(T0 + 1000),
                to: Some(T0 + 3000),
                ..Default::default()
            };
            let found = strongroom_store::audit::search(&to.db, &dated, 50).await.unwrap();
            assert_eq!(found.events.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 2]);
            let report = verify(&to.db, &[]).await.unwrap();
            assert!(report.ok(), "{} → {}: {:#?}", from.name, to.name, report.findings);
            assert_eq!(report.events, 5);
            // A database in use is refused; a row of the wrong kind names its line.
            let refused = prepare_fresh(&to.db).await.unwrap_err().to_string();
            assert!(refused.contains("not empty"), "{refused}");
            let bad = load(&to.db, "rooms", &b"{\"id\": 7}\n"[..])
                .await
                .unwrap_err()
                .to_string();
            assert!(bad.contains("rooms, row 1") && bad.contains("id"), "{bad}");
            let unknown = load(&to.db, "rooms", &b"{\"colour\": \"red\"}\n"[..])
                .await
                .unwrap_err()
                .to_string();
            assert!(unknown.contains("\"colour\" is not in the table"), "{unknown}");
            to.close().await;
        }
    }
    for s in sources {
        s.close().await;
    }
}
