//! A move is judged on the room's sharing as loaded, then written in a change that holds the
//! room: sharing that changed in between (here: a link made on a folder the move crosses, by
//! someone else at the same moment) makes the change refuse instead of writing a move that
//! was never judged on it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use strongroom_core::audit::{AuditAction, AuditEvent, RequestOrigin};
use strongroom_core::ids::FolderId;
use strongroom_core::rights::Restrictions;
use strongroom_core::{AccessLevel, Capability, ModuleSet, Role, Scope, SystemClock};
use strongroom_service::access::{self, Item};
use strongroom_service::links::{self, LinkRequest};
use strongroom_service::{Caller, Error, Service, folders, rooms};
use strongroom_store::people::{self, NewUser};
use strongroom_store::{BlobStore, Db, sessions};

mod common;
use common::databases;

/// The Owner, signed in by an API token.
async fn owner(svc: &Service) -> Caller {
    let mut c = svc.change().await.unwrap();
    let user = people::create_user(
        &mut c,
        NewUser {
            email: "owner@example.org",
            display_name: "",
            role: Role::Owner,
            modules: ModuleSet::NONE,
            password_hash: None,
        },
    )
    .await
    .unwrap();
    let (secret, hash) = strongroom_auth::token::generate(strongroom_auth::token::Kind::ApiToken);
    sessions::create_token(&mut c, &user.id, "test", &hash, None, &Scope::default())
        .await
        .unwrap();
    c.commit(&AuditEvent::new(AuditAction::UserCreate)).await.unwrap();
    Caller {
        actor: strongroom_auth::session::from_api_token(&svc.db, &secret, svc.now())
            .await
            .unwrap(),
        origin: RequestOrigin::default(),
        session_hash: None,
        token_hash: Some(hash),
        verified_at: None,
    }
}

#[tokio::test]
async fn a_link_made_while_a_move_is_judged_stops_the_move() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (db, drop)) in databases(dir.path(), "moves").await.into_iter().enumerate() {
        a_link_made_meanwhile_stops_the_move(db.clone(), &dir.path().join(format!("blobs{i}"))).await;
        common::drop_database(db, drop).await;
    }
}

async fn a_link_made_meanwhile_stops_the_move(db: Db, blobs: &std::path::Path) {
    let svc = Service {
        db,
        blobs: BlobStore::local(blobs).unwrap(),
        clock: Arc::new(SystemClock),
        session_ms: 3_600_000,
        public_url: "http://127.0.0.1".into(),
        uploads: Default::default(),
    };
    let caller = owner(&svc).await;
    let (room, _) = rooms::create_room(&svc, &caller, "Cases").await.unwrap();
    let root = &room.root_folder_id;
    let a = folders::create_folder(&svc, &caller, root, "A").await.unwrap().id;
    let b = folders::create_folder(&svc, &caller, root, "B").await.unwrap().id;
    let x = folders::create_folder(&svc, &caller, &a, "X").await.unwrap().id;

    // X moves from A to B: judged while neither A nor B carries a link ...
    let source = access::guard_folder(&svc, &caller, &x, Capability::Edit).await.unwrap();
    let judged = access::judge_move(&svc, &caller, &source, Some(&b), Capability::CreateFolders)
        .await
        .unwrap();
    // ... then B gets one, before the move's change begins.
    let view = LinkRequest {
        access: AccessLevel::ViewOnly,
        restrictions: Restrictions::default(),
        password: None,
        expires_in_days: None,
    };
    links::create_link(&svc, &caller, Item::Folder(&b), view).await.unwrap();
    match access::begin_move(&svc, &caller, &source, judged).await {
        Err(Error::Store(strongroom_store::StoreError::Conflict(m)) | Error::Conflict(m)) => {
            assert!(m.contains("changed at the same time"), "{m}")
        }
        Err(e) => panic!("expected a conflict, got {e:?}"),
        Ok(_) => panic!("a move judged before the link was made was begun"),
    }
    // Nothing moved; judged again now, the same move is decided on the link (the Owner may).
    let still: FolderId = strongroom_store::content::folder_with_path(&svc.db, &x)
        .await
        .unwrap()
        .0
        .parent_id
        .unwrap();
    assert_eq!(still, a);
    let moved = folders::update_folder(&svc, &caller, &x, None, Some(&b)).await.unwrap();
    assert_eq!(moved.parent_id.as_ref(), Some(&b));
}
