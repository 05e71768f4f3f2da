//! Invitation and password-reset links in time, with the time set by the test: live until
//! their expiry, spent once, replaced by a newer one to the same address or person, and (a
//! reset link) gone with a password change.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use strongroom_core::audit::{AuditAction as Action, AuditEvent};
use strongroom_core::{ModuleSet, Role};
use strongroom_store::invitations::{self, InvitationKind, NewInvitation};
use strongroom_store::people::{self, KeepSignIn, NewUser};
use strongroom_store::{Change, Db, password_resets};

fn invitation(email: &str, expires_at: i64) -> NewInvitation<'_> {
    NewInvitation {
        kind: InvitationKind::Invitation,
        email,
        display_name: "",
        role: Role::Admin,
        modules: ModuleSet::from_modules(&[strongroom_core::Module::Documents]),
        invited_by: None,
        expires_at,
    }
}

#[tokio::test]
async fn links_live_until_expiry_work_once_and_are_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    let commit = |c: Change| async move { c.commit(&AuditEvent::new(Action::UserCreate)).await.unwrap() };

    let mut c = Change::begin(&db, 1_000).await.unwrap();
    let inv = invitations::create(&mut c, "h1", invitation("Dana@Example.org", 5_000))
        .await
        .unwrap();
    commit(c).await;
    assert_eq!(inv.email, "dana@example.org");
    assert_eq!(inv.admin_modules, vec![strongroom_core::Module::Documents]);
    // Live just before its expiry, not at it.
    assert!(invitations::find_live(&db, "h1", 4_999).await.unwrap().is_some());
    assert!(invitations::find_live(&db, "h1", 5_000).await.unwrap().is_none());
    assert!(invitations::find_live(&db, "other", 1_000).await.unwrap().is_none());
    let mut c = Change::begin(&db, 5_000).await.unwrap();
    assert!(!invitations::take(&mut c, &inv.id, "h1").await.unwrap(), "expired");
    commit(c).await;

    // A newer invitation to the address replaces it; the newer one is spent once.
    let mut c = Change::begin(&db, 2_000).await.unwrap();
    let newer = invitations::create(&mut c, "h2", invitation("dana@example.org", 9_000))
        .await
        .unwrap();
    commit(c).await;
    assert!(invitations::find_live(&db, "h1", 2_000).await.unwrap().is_none());
    assert_eq!(invitations::list_live(&db, 2_000).await.unwrap().len(), 1);
    let mut c = Change::begin(&db, 3_000).await.unwrap();
    assert!(
        !invitations::take(&mut c, &newer.id, "h1").await.unwrap(),
        "the secret must match"
    );
    assert!(invitations::take(&mut c, &newer.id, "h2").await.unwrap());
    assert!(!invitations::take(&mut c, &newer.id, "h2").await.unwrap(), "once");
    commit(c).await;
    let mut c = Change::begin(&db, 3_000).await.unwrap();
    invitations::create(&mut c, "h3", invitation("eve@example.org", 4_000))
        .await
        .unwrap();
    commit(c).await;
    assert_eq!(invitations::purge(&db, 4_000).await.unwrap(), 1);

    // Reset links: one per person, 30 minutes, none past a password change.
    let mut c = Change::begin(&db, 0).await.unwrap();
    let u = people::create_user(
        &mut c,
        NewUser {
            email: "a@example.org",
            display_name: "",
            role: Role::User,
            modules: ModuleSet::NONE,
            password_hash: None,
        },
    )
    .await
    .unwrap();
    password_resets::create(&mut c, "r1", &u.id, 1_800_000).await.unwrap();
    password_resets::create(&mut c, "r2", &u.id, 1_800_000).await.unwrap();
    commit(c).await;
    assert!(password_resets::peek(&db, "r1", 0).await.unwrap().is_none(), "replaced");
    assert!(password_resets::peek(&db, "r2", 1_799_999).await.unwrap().is_some());
    assert!(password_resets::peek(&db, "r2", 1_800_000).await.unwrap().is_none());
    let mut c = Change::begin(&db, 10).await.unwrap();
    let none = KeepSignIn {
        session_hash: None,
        token_hash: None,
    };
    people::change_password(&mut c, &u.id, "$argon2id$new", none)
        .await
        .unwrap();
    commit(c).await;
    assert!(
        password_resets::peek(&db, "r2", 20).await.unwrap().is_none(),
        "a password change ends the link"
    );
}
