//! Session bookkeeping against a real SQLite database, with time set by the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use strongroom_core::audit::{AuditAction as Action, AuditEvent};
use strongroom_core::{ModuleSet, Role};
use strongroom_store::people::{self, NewUser};
use strongroom_store::sessions::{self, NewSession};
use strongroom_store::{Change, Db};

#[tokio::test]
async fn expired_sessions_are_listed_and_setup_tokens_purged_live_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    let mut c = Change::begin(&db, 0).await.unwrap();
    let u = people::create_user(
        &mut c,
        NewUser {
            email: "a@example.org",
            display_name: "A",
            role: Role::User,
            modules: ModuleSet::NONE,
            password_hash: None,
        },
    )
    .await
    .unwrap();
    for (id, expires) in [("old", 1_000), ("live", 10_000)] {
        sessions::create_session(
            &mut c,
            NewSession {
                id_hash: id,
                user_id: &u.id,
                csrf_hash: "c",
                expires_at: expires,
                ip: None,
                user_agent: None,
                factors: "password",
            },
        )
        .await
        .unwrap();
    }
    c.commit(&AuditEvent::new(Action::Login)).await.unwrap();
    sessions::create_setup_token(&db, "setup", 0, 1_500).await.unwrap();
    assert!(sessions::find_session(&db, "old", 500).await.unwrap().is_some());
    assert!(
        sessions::find_session(&db, "old", 1_000).await.unwrap().is_none(),
        "expired at its expiry time"
    );
    // Browser sessions end one by one, each in the login history: listed, not purged.
    let expired = sessions::list_expired(&db, 2_000, i64::MAX / 4, i64::MAX / 4, 100)
        .await
        .unwrap();
    assert_eq!(expired.iter().map(|s| s.id_hash.as_str()).collect::<Vec<_>>(), ["old"]);
    assert_eq!(sessions::purge_expired(&db, 2_000).await.unwrap(), 1);
    assert!(sessions::find_session(&db, "live", 2_000).await.unwrap().is_some());
    assert!(
        !sessions::setup_token_valid(&db, "setup", 0).await.unwrap(),
        "the setup token row is gone"
    );
    assert_eq!(sessions::purge_expired(&db, 2_000).await.unwrap(), 0);
}
