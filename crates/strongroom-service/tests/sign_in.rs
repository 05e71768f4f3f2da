//! The sign-in rules in time, on the service's clock (no sleeping): the brute-force limit's
//! period and block, a session's idle timeout and lifetime, and what the login history keeps.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use secrecy::SecretString;
use std::sync::Arc;
use strongroom_auth::AuthError;
use strongroom_core::audit::RequestOrigin;
use strongroom_core::clock::ManualClock;
use strongroom_core::{ModuleSet, Role};
use strongroom_service::settings::{self, SignInRules};
use strongroom_service::{Error, Operator, Service, account};
use strongroom_store::login_history::{self, Filter};
use strongroom_store::people::{self, NewUser};
use strongroom_store::{BlobStore, Db};

const PASSWORD: &str = "correct horse battery staple";
const MINUTE: i64 = 60_000;

fn from(ip: &str) -> RequestOrigin {
    RequestOrigin {
        ip: Some(ip.into()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0".into()),
        request_id: None,
        route: None,
    }
}

async fn person(svc: &Service, email: &str) {
    let hash = strongroom_auth::password::hash(SecretString::from(PASSWORD))
        .await
        .unwrap();
    let mut c = svc.change().await.unwrap();
    people::create_user(
        &mut c,
        NewUser {
            email,
            display_name: "",
            role: Role::User,
            modules: ModuleSet::NONE,
            password_hash: Some(hash),
        },
    )
    .await
    .unwrap();
    c.commit(&strongroom_core::audit::AuditEvent::new(
        strongroom_core::audit::AuditAction::UserCreate,
    ))
    .await
    .unwrap();
}

/// What one sign-in attempt came to: `ok`, `wrong` (401) or `blocked N` (429, retry after N s).
async fn attempt(svc: &Service, email: &str, password: &str, ip: &str) -> String {
    match account::login(svc, email, SecretString::from(password), &from(ip)).await {
        Ok(_) => "ok".into(),
        Err(Error::Auth(AuthError::InvalidCredentials)) => "wrong".into(),
        Err(Error::TooMany { retry_after }) => format!("blocked {retry_after}"),
        Err(e) => format!("error {e}"),
    }
}

#[tokio::test]
async fn sign_in_rules_in_time() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (db, drop)) in common::databases(dir.path(), "sign_in").await.into_iter().enumerate() {
        let blobs = dir.path().join(format!("blobs{i}"));
        brute_force_limit_in_time(db.clone(), &blobs).await;
        common::drop_database(db, drop).await;
    }
}

fn service(db: Db, blobs: &std::path::Path, clock: Arc<ManualClock>) -> Service {
    Service {
        db,
        blobs: BlobStore::local(blobs).unwrap(),
        clock,
        session_ms: 12 * 3_600_000,
        public_url: "http://127.0.0.1".into(),
        uploads: Default::default(),
    }
}

async fn brute_force_limit_in_time(db: Db, blobs: &std::path::Path) {
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let svc = service(db, blobs, clock.clone());
    person(&svc, "ann@example.org").await;
    person(&svc, "bob@example.org").await;
    let rules = SignInRules {
        max_attempts: 3,
        max_attempts_per_account: 6,
        attempt_period_minutes: 5,
        block_minutes: 10,
        session_hours: 2,
        idle_minutes: 30,
        ..SignInRules::default()
    };
    settings::set_sign_in_rules(&svc, Operator::Console, rules)
        .await
        .unwrap();

    // (minutes to advance, e-mail, password, address, outcome)
    #[rustfmt::skip]
    let steps: &[(i64, &str, &str, &str, &str)] = &[
        (0, "ann@example.org", "guess one", "192.0.2.1", "wrong"),
        (0, "ann@example.org", "guess two", "192.0.2.1", "wrong"),
        (0, "ann@example.org", "guess three", "192.0.2.1", "wrong"),
        // The fourth is not checked, right password or not, for the whole block.
        (0, "ann@example.org", "guess four", "192.0.2.1", "blocked 600"),
        (0, "ann@example.org", PASSWORD, "192.0.2.1", "blocked 600"),
        (9, "ann@example.org", PASSWORD, "192.0.2.1", "blocked 60"),
        // Another account behind the same address, and the same account elsewhere, sign in.
        (0, "bob@example.org", PASSWORD, "192.0.2.1", "ok"),
        (0, "ann@example.org", PASSWORD, "198.51.100.7", "ok"),
        // The block is over: the address starts afresh.
        (1, "ann@example.org", PASSWORD, "192.0.2.1", "ok"),
        // Two guesses, a period later two more: the count restarted, nothing blocks.
        (0, "ann@example.org", "guess", "192.0.2.1", "wrong"),
        (0, "ann@example.org", "guess", "192.0.2.1", "wrong"),
        (5, "ann@example.org", "guess", "192.0.2.1", "wrong"),
        (0, "ann@example.org", "guess", "192.0.2.1", "wrong"),
        (0, "ann@example.org", PASSWORD, "192.0.2.1", "ok"),
        // Guesses spread over addresses reach the account's own limit (6 in the period,
        // counting the 2 above; a right password's attempt is taken back): then the account is blocked everywhere.
        (0, "ann@example.org", "guess", "203.0.113.1", "wrong"),
        (0, "ann@example.org", "guess", "203.0.113.2", "wrong"),
        (0, "ann@example.org", "guess", "203.0.113.3", "wrong"),
        (0, "ann@example.org", "guess", "2001:db8:7::1", "wrong"),
        (0, "ann@example.org", PASSWORD, "198.51.100.7", "blocked 600"),
        // One IPv6 host holds a /64: its addresses count as one.
        (10, "bob@example.org", "guess", "2001:db8:5::1", "wrong"),
        (0, "bob@example.org", "guess", "2001:db8:5::2", "wrong"),
        (0, "bob@example.org", "guess", "2001:db8:5::3", "wrong"),
        (0, "bob@example.org", PASSWORD, "2001:db8:5:0:ffff::9", "blocked 600"),
        (0, "bob@example.org", PASSWORD, "2001:db8:6::1", "ok"),
        // An unknown address is counted and answered exactly alike.
        (0, "nobody@example.org", "guess", "192.0.2.1", "wrong"),
        (0, "nobody@example.org", "guess", "192.0.2.1", "wrong"),
        (0, "nobody@example.org", "guess", "192.0.2.1", "wrong"),
        (0, "nobody@example.org", "guess", "192.0.2.1", "blocked 600"),
    ];
    for (n, (advance, email, password, ip, want)) in steps.iter().enumerate() {
        clock.advance_ms(advance * MINUTE);
        assert_eq!(
            &attempt(&svc, email, password, ip).await,
            want,
            "step {n}: {email} from {ip}"
        );
    }

    // The history names accounts, never what was typed for an unknown one.
    let all = login_history::list(
        &svc.db,
        &Filter {
            limit: 1000,
            ..Filter::default()
        },
    )
    .await
    .unwrap();
    let count = |event: &str, reason: Option<&str>| {
        all.iter()
            .filter(|e| e.event == event && e.reason.as_deref() == reason)
            .count()
    };
    assert_eq!(count("failure", Some("bad_password")), 14);
    assert_eq!(count("failure", Some("locked")), 6);
    assert_eq!(count("failure", Some("unknown_user")), 3);
    assert_eq!(
        count("login", None),
        5,
        "{:#?}",
        all.iter().filter(|e| e.event == "login").collect::<Vec<_>>()
    );
    assert!(all.iter().all(|e| e.email.as_deref() != Some("nobody@example.org")));
    assert!(all.iter().filter(|e| e.email.is_some()).all(|e| e.user_id.is_some()));
    let first = all.last().unwrap();
    assert_eq!(
        (first.ip.as_deref(), first.browser.as_deref(), first.platform.as_deref()),
        (Some("192.0.2.1"), Some("Firefox"), Some("Linux"))
    );

    // A password typed into the e-mail field is stored nowhere.
    clock.advance_ms(60 * MINUTE);
    let typo = "Tr0ub4dor&3-horse";
    assert_eq!(attempt(&svc, typo, typo, "192.0.2.9").await, "wrong");
    for table in ["login_history", "audit_events", "login_throttle"] {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {table}")))
            .fetch_all(&svc.db.pool)
            .await
            .unwrap();
        for r in rows {
            use sqlx::Row;
            for i in 0..r.len() {
                if let Ok(Some(v)) = r.try_get::<Option<String>, _>(i) {
                    assert!(!v.contains(typo), "{table} keeps what was typed: {v}");
                }
            }
        }
    }

    sessions_end_when_idle_or_old(&svc, &clock).await;
}

/// A session unused for the idle time, or older than the lifetime, ends: at the next request
/// or at the sweep, each in the login history.
async fn sessions_end_when_idle_or_old(svc: &Service, clock: &ManualClock) {
    let open = || async {
        account::login(
            svc,
            "bob@example.org",
            SecretString::from(PASSWORD),
            &from("192.0.2.50"),
        )
        .await
        .unwrap()
    };
    let open = || async {
        match open().await {
            account::SignedIn::Session(l) => l.session_secret,
            account::SignedIn::SecondFactor(_) => panic!("bob has no second factor"),
        }
    };
    let alive = |secret: String| async move { account::session_caller(svc, &secret, from("192.0.2.50")).await.is_ok() };

    // Idle: each use within 30 minutes keeps it; 31 unused minutes end it.
    let s = open().await;
    for (advance, want) in [(29, true), (29, true), (29, true), (31, false), (1, false)] {
        clock.advance_ms(advance * MINUTE);
        assert_eq!(
            alive(s.clone()).await,
            want,
            "idle session after {advance} more minutes"
        );
    }
    // Lifetime: used every 20 minutes, it still ends 2 hours after sign-in.
    let s = open().await;
    for step in 1..=6 {
        clock.advance_ms(20 * MINUTE);
        assert_eq!(alive(s.clone()).await, step < 6, "session at {} minutes", step * 20);
    }
    // Left alone, the sweep ends it.
    let _left = open().await;
    clock.advance_ms(31 * MINUTE);
    account::sweep_sign_in(svc).await.unwrap();
    let bob = people::find_by_email(&svc.db, "bob@example.org")
        .await
        .unwrap()
        .unwrap()
        .0;
    let open_now = strongroom_store::sessions::list_sessions(&svc.db, &bob.id, svc.now())
        .await
        .unwrap();
    assert!(open_now.is_empty(), "{open_now:?}");
    let mut expired: Vec<String> = login_history::list(
        &svc.db,
        &Filter {
            event: Some("expired".into()),
            user_id: Some(bob.id.clone()),
            limit: 100,
            ..Filter::default()
        },
    )
    .await
    .unwrap()
    .into_iter()
    .map(|e| e.reason.unwrap_or_default())
    .collect();
    expired.sort();
    // At the request: the idle one and the old one; at the sweep: the one left alone (idle)
    // and the two of the steps above (past their lifetime by now).
    assert_eq!(expired, ["idle", "idle", "lifetime", "lifetime", "lifetime"]);
}
