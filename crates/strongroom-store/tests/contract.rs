//! The store's contract, the same on SQLite and PostgreSQL: a change and its audit event
//! commit together or not at all, names stay unique among live items, the trash and purges
//! behave, and concurrent moves cannot make a folder its own ancestor.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use sqlx::Row;
use strongroom_core::access::{Action, Permit, Principal, Resource, authorize};
use strongroom_core::audit::{AuditAction, AuditEvent};
use strongroom_core::ids::{FolderId, UserId};
use strongroom_core::{Capability, ModuleSet, Role};
use strongroom_store::blob::StoredBlob;
use strongroom_store::content::{self, NewContent};
use strongroom_store::people::{self, NewUser};
use strongroom_store::{Backend, Change, Db, StoreError, rooms};

fn permit(c: Capability) -> Permit {
    authorize(Principal::System, Action::Item(c), Resource::Instance).unwrap()
}

async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .get::<i64, _>("n")
}

async fn owner(db: &Db) -> UserId {
    let mut c = Change::begin(db, 1).await.unwrap();
    let u = people::create_user(
        &mut c,
        NewUser {
            email: "owner@example.org",
            display_name: "Owner",
            role: Role::Owner,
            modules: ModuleSet::NONE,
            password_hash: Some("old-hash".into()),
        },
    )
    .await
    .unwrap();
    c.commit(&AuditEvent::new(AuditAction::SetupOwner)).await.unwrap();
    u.id
}

/// Makes every insert into the audit trail fail, as a full disk or a broken trigger would.
async fn break_audit(db: &Db, broken: bool) {
    let sql: &[&str] = match (db.backend, broken) {
        (Backend::Sqlite, true) => &[
            "CREATE TRIGGER audit_down BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit trail unavailable'); END",
        ],
        (Backend::Sqlite, false) => &["DROP TRIGGER audit_down"],
        (Backend::Postgres, true) => &[
            "CREATE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit trail unavailable'; END $$",
            "CREATE TRIGGER audit_down BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_down()",
        ],
        (Backend::Postgres, false) => &["DROP TRIGGER audit_down ON audit_events", "DROP FUNCTION audit_down()"],
    };
    for s in sql {
        sqlx::raw_sql(sqlx::AssertSqlSafe(s.to_string()))
            .execute(&db.pool)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_change_whose_audit_event_cannot_be_written_is_not_made() {
    let dir = tempfile::tempdir().unwrap();
    for t in common::databases(dir.path(), "contract_audit").await {
        let db = &t.db;
        let me = owner(db).await;
        let events = count(db, "SELECT COUNT(*) AS n FROM audit_events").await;
        break_audit(db, true).await;

        // A room: the change runs, its event fails, and nothing of it stays.
        let mut c = Change::begin(db, 2).await.unwrap();
        rooms::create_room(&mut c, "Board", &me).await.unwrap();
        assert!(
            c.commit(&AuditEvent::new(AuditAction::RoomCreate)).await.is_err(),
            "{}",
            t.name
        );
        for table in ["rooms", "folders", "grants"] {
            let n = count(db, &format!("SELECT COUNT(*) AS n FROM {table}")).await;
            assert_eq!(
                n, 0,
                "{}: {table} kept a row of a change whose audit event failed",
                t.name
            );
        }
        // A password reset: the old password stays.
        let mut c = Change::begin(db, 3).await.unwrap();
        people::change_password(&mut c, &me, "new-hash", people::KeepSignIn::default())
            .await
            .unwrap();
        assert!(c.commit(&AuditEvent::new(AuditAction::PasswordReset)).await.is_err());
        let (_, hash) = people::find_by_email(db, "owner@example.org").await.unwrap().unwrap();
        assert_eq!(hash.as_deref(), Some("old-hash"), "{}", t.name);
        // A change dropped before its commit (an error on the way, a client gone) leaves
        // nothing either.
        let mut c = Change::begin(db, 4).await.unwrap();
        people::create_group(&mut c, "Partners").await.unwrap();
        drop(c);
        assert_eq!(count(db, "SELECT COUNT(*) AS n FROM groups_").await, 0, "{}", t.name);
        assert_eq!(count(db, "SELECT COUNT(*) AS n FROM audit_events").await, events);

        // With the trail back, the same change commits with its event, at the change's time.
        break_audit(db, false).await;
        let mut c = Change::begin(db, 5).await.unwrap();
        let room = rooms::create_room(&mut c, "Board", &me).await.unwrap();
        c.commit(&AuditEvent::new(AuditAction::RoomCreate).target("room", &room.id))
            .await
            .unwrap();
        let e = &strongroom_store::audit::list(db, Some("room.create"), 10)
            .await
            .unwrap()[0];
        assert_eq!((e.at, e.product.as_str(), e.module.as_str()), (5, "documents", "room"));
        assert_eq!(e.target_id.as_deref(), Some(room.id.as_str()));
        assert_eq!(count(db, "SELECT COUNT(*) AS n FROM rooms").await, 1);
        t.close().await;
    }
}

fn blob(key: &str) -> StoredBlob {
    StoredBlob {
        key: key.into(),
        size: 3,
        sha256: "ab".repeat(32),
        encryption: None,
    }
}

#[tokio::test]
async fn live_names_are_unique_and_the_trash_and_purges_keep_to_it() {
    let dir = tempfile::tempdir().unwrap();
    for t in common::databases(dir.path(), "contract_names").await {
        let db = &t.db;
        let me = owner(db).await;
        let mut c = Change::begin(db, 10).await.unwrap();
        let room = rooms::create_room(&mut c, "Cases", &me).await.unwrap();
        let root = room.root_folder_id.clone();
        let folder = content::create_folder(&mut c, &permit(Capability::CreateFolders), &root, "2026", &me)
            .await
            .unwrap();
        let nc = NewContent {
            blob: &blob("k1"),
            content_type: "text/plain",
            by: &me,
        };
        let file = content::create_file(&mut c, &permit(Capability::Edit), &folder.id, "a.txt", nc)
            .await
            .unwrap();
        c.commit(&AuditEvent::new(AuditAction::FileUpload)).await.unwrap();

        // Each refusal is a conflict, and the refused change leaves the rest as it was.
        let conflict = |r: Result<_, StoreError>, what: &str| {
            assert!(matches!(r, Err(StoreError::Conflict(_))), "{}: {what}: {r:?}", t.name);
        };
        let mut c = Change::begin(db, 11).await.unwrap();
        let r = content::create_folder(&mut c, &permit(Capability::CreateFolders), &folder.id, "a.txt", &me).await;
        conflict(r.map(|_| ()), "a folder named like a live file");
        let r = content::purge_file(&mut c, &permit(Capability::Purge), &file.id).await;
        conflict(r, "purging a file that is not in the trash");
        let r = content::update_folder(&mut c, &permit(Capability::Edit), &folder.id, None, Some(&folder.id)).await;
        conflict(r.map(|_| ()), "a folder moved into itself");
        let r = content::update_folder(&mut c, &permit(Capability::Edit), &root, Some("x"), None).await;
        conflict(r.map(|_| ()), "renaming the root folder");
        drop(c);

        // In the trash, the name is free again; coming back while it is taken is refused.
        let mut c = Change::begin(db, 12).await.unwrap();
        content::set_file_trashed(&mut c, &permit(Capability::Trash), &file.id, true)
            .await
            .unwrap();
        content::create_folder(&mut c, &permit(Capability::CreateFolders), &folder.id, "a.txt", &me)
            .await
            .unwrap();
        c.commit(&AuditEvent::new(AuditAction::FileTrash)).await.unwrap();
        let mut c = Change::begin(db, 13).await.unwrap();
        let r = content::set_file_trashed(&mut c, &permit(Capability::Trash), &file.id, false).await;
        conflict(r.map(|_| ()), "restoring over a live name");
        drop(c);

        // A purge takes the rows and queues the blob, in the same change.
        let mut c = Change::begin(db, 14).await.unwrap();
        content::purge_file(&mut c, &permit(Capability::Purge), &file.id)
            .await
            .unwrap();
        c.commit(&AuditEvent::new(AuditAction::FilePurge)).await.unwrap();
        assert!(matches!(
            content::get_file(db, &file.id).await,
            Err(StoreError::NotFound("file"))
        ));
        let queued: Vec<String> = sqlx::query("SELECT blob_key FROM blob_garbage")
            .fetch_all(&db.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get("blob_key"))
            .collect();
        assert_eq!(queued, ["k1"], "{}", t.name);
        // A permit for something else is refused by the store itself.
        let mut c = Change::begin(db, 15).await.unwrap();
        let r = content::purge_folder(&mut c, &permit(Capability::View), &folder.id).await;
        assert!(matches!(r, Err(StoreError::Corrupt(_))), "{}: {r:?}", t.name);
        drop(c);
        t.close().await;
    }
}

/// Follows parents from `id` up; panics on a cycle.
async fn depth(db: &Db, id: &FolderId) -> usize {
    let mut at = Some(id.clone());
    let mut n = 0;
    while let Some(f) = at {
        n += 1;
        assert!(n < 100, "folder {id} is its own ancestor");
        at = content::get_folder(db, &f).await.unwrap().parent_id;
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_moves_cannot_make_a_folder_its_own_ancestor() {
    let dir = tempfile::tempdir().unwrap();
    for t in common::databases(dir.path(), "contract_moves").await {
        let db = &t.db;
        let me = owner(db).await;
        let mut c = Change::begin(db, 20).await.unwrap();
        let room = rooms::create_room(&mut c, "Moves", &me).await.unwrap();
        let root = room.root_folder_id.clone();
        let mut pair = vec![];
        for name in ["A", "B"] {
            pair.push(
                content::create_folder(&mut c, &permit(Capability::CreateFolders), &root, name, &me)
                    .await
                    .unwrap()
                    .id,
            );
        }
        c.commit(&AuditEvent::new(AuditAction::FolderCreate)).await.unwrap();
        let (a, b) = (pair[0].clone(), pair[1].clone());
        let mut moved = 0;
        for round in 0..25 {
            // A into B and B into A, at the same moment.
            let mv = |from: FolderId, into: FolderId| {
                let db = db.clone();
                tokio::spawn(async move {
                    let mut c = Change::begin(&db, 100 + round).await?;
                    content::update_folder(&mut c, &permit(Capability::Edit), &from, None, Some(&into)).await?;
                    c.commit(&AuditEvent::new(AuditAction::FolderUpdate)).await
                })
            };
            let (x, y) = (mv(a.clone(), b.clone()), mv(b.clone(), a.clone()));
            let results = [x.await.unwrap(), y.await.unwrap()];
            assert!(results.iter().any(Result::is_err), "{}: both moves succeeded", t.name);
            moved += results.iter().filter(|r| r.is_ok()).count();
            assert!(depth(db, &a).await + depth(db, &b).await <= 5, "{}", t.name);
            // Both back under the root for the next round.
            let mut c = Change::begin(db, 1000).await.unwrap();
            for f in [&a, &b] {
                let _ = content::update_folder(&mut c, &permit(Capability::Edit), f, None, Some(&root)).await;
            }
            c.commit(&AuditEvent::new(AuditAction::FolderUpdate)).await.unwrap();
        }
        assert!(moved > 0, "{}: no move ever succeeded", t.name);
        t.close().await;
    }
}

/// What a change re-checks before it writes, each against a change that committed first:
/// the sign-in it is made through, the person a decision was made about, the room an item
/// was judged in, and the version a copy was made from.
#[tokio::test]
async fn a_change_refuses_what_changed_under_it() {
    use strongroom_store::grants::{self, Member, Node, NodeKind, SubjectKind};
    use strongroom_store::sessions::{self, NewSession, SignIn};
    let dir = tempfile::tempdir().unwrap();
    for t in common::databases(dir.path(), "contract_stale").await {
        let db = &t.db;
        let me = owner(db).await;
        let mut c = Change::begin(db, 30).await.unwrap();
        let ann = people::create_user(
            &mut c,
            NewUser {
                email: "ann@example.org",
                display_name: "Ann",
                role: Role::User,
                modules: ModuleSet::NONE,
                password_hash: Some("ann-hash".into()),
            },
        )
        .await
        .unwrap();
        let session = NewSession {
            id_hash: "s1",
            user_id: &ann.id,
            csrf_hash: "c",
            expires_at: 10_000,
            ip: None,
            user_agent: None,
            factors: "password",
        };
        sessions::create_session(&mut c, session).await.unwrap();
        c.commit(&AuditEvent::new(AuditAction::UserCreate)).await.unwrap();
        let still = |how: SignIn<'static>| {
            let db = db.clone();
            async move {
                let mut c = Change::begin(&db, 40).await.unwrap();
                sessions::still_signed_in(&mut c, how).await.unwrap()
            }
        };
        assert!(still(SignIn::Session("s1")).await, "{}", t.name);
        assert!(!still(SignIn::Session("unknown")).await);

        // A reset ends the session: a change made through it afterwards is refused. And a
        // sign-in checked against the old password is refused too.
        let mut c = Change::begin(db, 41).await.unwrap();
        people::change_password(&mut c, &ann.id, "new-hash", people::KeepSignIn::default())
            .await
            .unwrap();
        c.commit(&AuditEvent::new(AuditAction::PasswordReset)).await.unwrap();
        assert!(!still(SignIn::Session("s1")).await, "{}", t.name);
        let mut c = Change::begin(db, 42).await.unwrap();
        let r = people::still_as_seen(&mut c, &ann, Some("ann-hash")).await;
        assert!(matches!(r, Err(StoreError::Conflict(_))), "{}: {r:?}", t.name);
        people::still_as_seen(&mut c, &ann, Some("new-hash")).await.unwrap();
        drop(c);

        // A promotion in between: a decision made on the old rank is refused.
        let mut c = Change::begin(db, 43).await.unwrap();
        let patch = people::UserPatch {
            role: Some(Role::Admin),
            modules: Some(ModuleSet::ALL),
            ..Default::default()
        };
        people::update_user(&mut c, &ann.id, patch).await.unwrap();
        c.commit(&AuditEvent::new(AuditAction::UserUpdate)).await.unwrap();
        let mut c = Change::begin(db, 44).await.unwrap();
        let r = people::still_as_seen(&mut c, &ann, None).await;
        assert!(matches!(r, Err(StoreError::Conflict(_))), "{}: {r:?}", t.name);
        drop(c);

        // A folder judged in one room and moved to another: no grant of the old room lands on it.
        let mut c = Change::begin(db, 45).await.unwrap();
        let (r1, r2) = (
            rooms::create_room(&mut c, "One", &me).await.unwrap(),
            rooms::create_room(&mut c, "Two", &me).await.unwrap(),
        );
        let f = content::create_folder(&mut c, &permit(Capability::CreateFolders), &r1.root_folder_id, "F", &me)
            .await
            .unwrap();
        c.commit(&AuditEvent::new(AuditAction::FolderCreate)).await.unwrap();
        let seen = grants::room_access(db, &r1.id).await.unwrap();
        let mut c = Change::begin(db, 46).await.unwrap();
        content::update_folder(&mut c, &permit(Capability::Edit), &f.id, None, Some(&r2.root_folder_id))
            .await
            .unwrap();
        c.commit(&AuditEvent::new(AuditAction::FolderUpdate)).await.unwrap();
        let grant = Member {
            kind: SubjectKind::User,
            id: ann.id.to_string(),
            access: strongroom_core::AccessLevel::ViewOnly,
            restrictions: Default::default(),
        };
        let node = Node::new(NodeKind::Folder, f.id.as_str());
        let mut c = Change::begin(db, 47).await.unwrap();
        let r = grants::set_grant(&mut c, &permit(Capability::Share), &seen, &node, &grant).await;
        assert!(matches!(r, Err(StoreError::Conflict(_))), "{}: {r:?}", t.name);
        drop(c);
        // And a grant decided on a room whose sharing changed since is refused as well.
        let seen = grants::room_access(db, &r2.id).await.unwrap();
        let mut c = Change::begin(db, 48).await.unwrap();
        grants::set_grant(&mut c, &permit(Capability::Share), &seen, &node, &grant)
            .await
            .unwrap();
        c.commit(&AuditEvent::new(AuditAction::GrantSet)).await.unwrap();
        let mut c = Change::begin(db, 49).await.unwrap();
        let r = grants::remove_grant(
            &mut c,
            &permit(Capability::Share),
            &seen,
            &node,
            SubjectKind::User,
            ann.id.as_str(),
        )
        .await;
        assert!(matches!(r, Err(StoreError::Conflict(_))), "{}: {r:?}", t.name);
        drop(c);

        // A version made from version 1 does not land on top of a version 2 uploaded meanwhile.
        let mut c = Change::begin(db, 50).await.unwrap();
        let blobs = [blob("v1"), blob("v2"), blob("v3")];
        let nc = |i: usize| NewContent {
            blob: &blobs[i],
            content_type: "text/plain",
            by: &me,
        };
        let file = content::create_file(&mut c, &permit(Capability::Edit), &r2.root_folder_id, "a.txt", nc(0))
            .await
            .unwrap();
        content::add_version(&mut c, &permit(Capability::Edit), &file.id, nc(1), None)
            .await
            .unwrap();
        let r = content::add_version(&mut c, &permit(Capability::Edit), &file.id, nc(2), Some(1)).await;
        assert!(matches!(r, Err(StoreError::Conflict(_))), "{}: {r:?}", t.name);
        drop(c);
        t.close().await;
    }
}
