//! Second factors on the service's clock (no sleeping): a TOTP factor enrolled, confirmed and
//! used at sign-in with replay and skew refused; backup codes spent once; step-up expiring;
//! the rules walking someone through enrolment; lockout; the administrator's reset.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use secrecy::SecretString;
use std::sync::Arc;
use strongroom_auth::{AuthError, totp};
use strongroom_core::audit::RequestOrigin;
use strongroom_core::clock::ManualClock;
use strongroom_core::{Clock, Denied, ModuleSet, Role};
use strongroom_service::account::{self, SignedIn, TokenRequest};
use strongroom_service::second_factor::verify::{self, Proof};
use strongroom_service::second_factor::{self, Method, SecondFactorRules, enrol};
use strongroom_service::{Caller, Error, Operator, Service};
use strongroom_store::login_history::{self, Filter};
use strongroom_store::people::{self, NewUser};
use strongroom_store::{BlobStore, Db};

const PASSWORD: &str = "correct horse battery staple";
const MINUTE: i64 = 60_000;
const STEP_MS: i64 = 30_000;

fn origin() -> RequestOrigin {
    RequestOrigin {
        ip: Some("192.0.2.9".into()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0".into()),
        request_id: None,
        route: None,
    }
}

fn service(db: Db, blobs: &std::path::Path, clock: Arc<ManualClock>) -> Service {
    Service {
        db,
        blobs: BlobStore::local(blobs).unwrap(),
        clock,
        session_ms: 12 * 3_600_000,
        // A host name, not an address: passkeys need one (WebAuthn takes no IP as relying party).
        public_url: "http://localhost".into(),
        uploads: Default::default(),
    }
}

async fn person(svc: &Service, email: &str, role: Role) {
    let hash = strongroom_auth::password::hash(SecretString::from(PASSWORD))
        .await
        .unwrap();
    let mut c = svc.change().await.unwrap();
    people::create_user(
        &mut c,
        NewUser {
            email,
            display_name: "",
            role,
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

/// Signs in with the password: the session's caller, or the challenge of the second step.
async fn login(svc: &Service, email: &str) -> SignedIn {
    account::login(svc, email, SecretString::from(PASSWORD), &origin())
        .await
        .unwrap()
}

async fn caller_of(svc: &Service, signed: SignedIn) -> Caller {
    match signed {
        SignedIn::Session(l) => {
            account::session_caller(svc, &l.session_secret, origin())
                .await
                .unwrap()
                .0
        }
        SignedIn::SecondFactor(_) => panic!("expected a session, got a second-factor challenge"),
    }
}

fn challenge(signed: SignedIn) -> verify::SignInChallenge {
    match signed {
        SignedIn::SecondFactor(c) => c,
        SignedIn::Session(_) => panic!("expected a second-factor challenge, got a session"),
    }
}

fn proof(method: Method, code: &str) -> Proof {
    Proof {
        method,
        code: SecretString::from(code.to_string()),
        credential: None,
    }
}

/// RFC 4648 base32 without padding, as the enrolment gives the seed.
fn base32_decode(s: &str) -> Vec<u8> {
    let (mut buf, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("not base32: {c}"),
        };
        buf = (buf << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    out
}

fn code(seed: &[u8], at_ms: i64) -> String {
    totp::code_at(seed, totp::step_of(at_ms)).unwrap()
}

#[tokio::test]
async fn second_factors_in_time() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (db, drop)) in common::databases(dir.path(), "second_factor")
        .await
        .into_iter()
        .enumerate()
    {
        let blobs = dir.path().join(format!("blobs{i}"));
        totp_sign_in_step_up_and_reset(db.clone(), &blobs).await;
        common::drop_database(db, drop).await;
    }
}

async fn totp_sign_in_step_up_and_reset(db: Db, blobs: &std::path::Path) {
    // Mid-step, so "one step later" is unambiguous.
    let clock = Arc::new(ManualClock::new(1_800_000_000_000 + 10_000));
    let svc = service(db, blobs, clock.clone());
    person(&svc, "olivia@example.org", Role::Owner).await;
    person(&svc, "uma@example.org", Role::User).await;

    // Enrol an app: pending until its first code; a wrong first code does not confirm it.
    let ann = caller_of(&svc, login(&svc, "olivia@example.org").await).await;
    let e = enrol::enrol_totp(&svc, &ann, "Phone").await.unwrap();
    assert!(
        e.uri.starts_with("otpauth://totp/Strongroom:olivia%40example.org?"),
        "{}",
        e.uri
    );
    assert!(e.uri.contains(&format!("secret={}", e.secret)));
    assert!(e.qr_svg.contains("<svg"));
    let seed = base32_decode(&e.secret);
    assert_eq!(seed.len(), 20);
    assert!(!enrol::status(&svc, &ann).await.unwrap().factors[0].confirmed);
    // Not confirmed yet: the password alone still signs in.
    assert!(matches!(login(&svc, "olivia@example.org").await, SignedIn::Session(_)));
    let err = enrol::confirm(&svc, &ann, &e.factor.id, "000000").await;
    assert!(matches!(err, Err(Error::Invalid(_))), "{:?}", err.as_ref().map(|_| ()));
    let first = code(&seed, clock.now_ms());
    let confirmed = enrol::confirm(&svc, &ann, &e.factor.id, &first).await.unwrap();
    let backup = confirmed
        .backup_codes
        .expect("the first factor comes with backup codes");
    assert_eq!(backup.len(), 10);
    assert!(confirmed.factor.confirmed);

    // Sign-in now needs the second step.
    let ch = challenge(login(&svc, "olivia@example.org").await);
    assert!(ch.second_factor_required && ch.challenge.starts_with("srf_"));
    assert_eq!(ch.methods, vec![Method::Totp, Method::BackupCode]);
    // (what is sent, outcome): the confirming code again is a replay; two steps back is
    // out of the window; one step ahead is within it.
    let now = clock.now_ms();
    #[rustfmt::skip]
    let attempts: [(Proof, &str); 4] = [
        (proof(Method::Totp, &first), "invalid_code"),
        (proof(Method::Totp, &code(&seed, now - 2 * STEP_MS)), "invalid_code"),
        (proof(Method::Sms, "123456"), "invalid_code"),
        (proof(Method::Totp, &code(&seed, now + STEP_MS)), "ok"),
    ];
    let mut opened = None;
    for (p, want) in attempts {
        let got = verify::finish_sign_in(&svc, &ch.challenge, p, &origin()).await;
        let got_name = match &got {
            Ok(_) => "ok".to_string(),
            Err(Error::Auth(AuthError::InvalidCode)) => "invalid_code".into(),
            Err(e) => format!("{e}"),
        };
        assert_eq!(got_name, want);
        if let Ok(l) = got {
            opened = Some(l);
        }
    }
    let login_row = opened.unwrap();
    // The challenge is spent.
    let again = verify::finish_sign_in(&svc, &ch.challenge, proof(Method::Totp, &code(&seed, now)), &origin()).await;
    assert!(
        matches!(again, Err(Error::Invalid(_))),
        "{:?}",
        again.as_ref().map(|_| ())
    );
    let ann = account::session_caller(&svc, &login_row.session_secret, origin())
        .await
        .unwrap()
        .0;

    // The history names each outcome.
    let history = login_history::list(
        &svc.db,
        &Filter {
            user_id: Some(ann.actor.user_id.clone()),
            limit: 20,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let seen: Vec<(String, Option<String>)> = history
        .iter()
        .rev()
        .map(|e| (e.event.clone(), e.reason.clone()))
        .collect();
    let s = |a: &str, b: Option<&str>| (a.to_string(), b.map(str::to_string));
    assert_eq!(
        seen,
        vec![
            s("login", None),
            s("factor_added", Some("totp")),
            s("login", None),
            s("factor_confirmed", Some("totp")),
            s("failure", Some("replayed_code")),
            s("failure", Some("bad_code")),
            s("failure", Some("bad_code")),
            s("login", Some("totp")),
        ]
    );

    // Fresh from sign-in: a token may be made. Eleven minutes later it needs a step-up.
    let token = || TokenRequest {
        name: "ci".into(),
        expires_in_days: None,
        read_only: false,
        room_id: None,
    };
    account::create_token(&svc, &ann, token()).await.unwrap();
    clock.advance_ms(11 * MINUTE);
    let ann = account::session_caller(&svc, &login_row.session_secret, origin())
        .await
        .unwrap()
        .0;
    match account::create_token(&svc, &ann, token()).await {
        Err(Error::StepUpRequired { methods }) => assert_eq!(methods, vec![Method::Totp, Method::BackupCode]),
        other => panic!("expected a step-up, got {:?}", other.map(|_| ())),
    }
    // A stale session loosens no brute-force limit and resets nobody's factors.
    let looser = strongroom_service::settings::SignInRules {
        max_attempts: 20,
        ..Default::default()
    };
    let stale = strongroom_service::settings::set_sign_in_rules(&svc, Operator::User(&ann), looser).await;
    assert!(
        matches!(stale, Err(Error::StepUpRequired { .. })),
        "{:?}",
        stale.map(|_| ())
    );
    let uma_id = people::find_by_email(&svc.db, "uma@example.org")
        .await
        .unwrap()
        .unwrap()
        .0
        .id;
    let stale = enrol::reset(&svc, Operator::User(&ann), &uma_id).await;
    assert!(matches!(stale, Err(Error::StepUpRequired { .. })), "{stale:?}");
    let wrong = verify::step_up(&svc, &ann, proof(Method::Totp, "999999")).await;
    assert!(matches!(wrong, Err(Error::Auth(AuthError::InvalidCode))), "{wrong:?}");
    let fresh_until = verify::step_up(&svc, &ann, proof(Method::Totp, &code(&seed, clock.now_ms())))
        .await
        .unwrap();
    assert_eq!(fresh_until, clock.now_ms() + 10 * MINUTE);
    let ann = account::session_caller(&svc, &login_row.session_secret, origin())
        .await
        .unwrap()
        .0;
    account::create_token(&svc, &ann, token()).await.unwrap();

    // Narrowing the methods limits enrolment only: her app still guards her sign-in. Rules
    // nobody could enrol under (SMS without a provider) are refused.
    let narrow = SecondFactorRules {
        methods: vec![Method::Passkey],
        ..SecondFactorRules::default()
    };
    second_factor::set_rules(&svc, Operator::Console, narrow).await.unwrap();
    let ch = challenge(login(&svc, "olivia@example.org").await);
    assert_eq!(ch.methods, vec![Method::Totp, Method::BackupCode]);
    let sms_only = SecondFactorRules {
        methods: vec![Method::Sms],
        ..SecondFactorRules::default()
    };
    let refused = second_factor::set_rules(&svc, Operator::Console, sms_only).await;
    assert!(matches!(refused, Err(Error::Invalid(_))), "{refused:?}");
    let passwordless_without_passkeys = SecondFactorRules {
        methods: vec![Method::Totp],
        passwordless: true,
        ..SecondFactorRules::default()
    };
    let refused = second_factor::set_rules(&svc, Operator::Console, passwordless_without_passkeys).await;
    assert!(matches!(refused, Err(Error::Invalid(_))), "{refused:?}");
    second_factor::set_rules(&svc, Operator::Console, SecondFactorRules::default())
        .await
        .unwrap();

    // A backup code signs in once.
    let ch = challenge(login(&svc, "olivia@example.org").await);
    let typed = backup[3].to_uppercase().replace('-', " ");
    verify::finish_sign_in(&svc, &ch.challenge, proof(Method::BackupCode, &typed), &origin())
        .await
        .unwrap();
    let ch = challenge(login(&svc, "olivia@example.org").await);
    let reused = verify::finish_sign_in(&svc, &ch.challenge, proof(Method::BackupCode, &backup[3]), &origin()).await;
    assert!(
        matches!(reused, Err(Error::Auth(AuthError::InvalidCode))),
        "{:?}",
        reused.as_ref().map(|_| ())
    );
    assert_eq!(enrol::status(&svc, &ann).await.unwrap().backup_codes_left, 9);

    // Wrong codes run into the brute-force limit of the sign-in rules (5 from one address).
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let ch = match account::login(&svc, "olivia@example.org", SecretString::from(PASSWORD), &origin()).await {
            Ok(signed) => challenge(signed),
            Err(Error::TooMany { .. }) => {
                outcomes.push("locked");
                break;
            }
            Err(e) => panic!("{e}"),
        };
        for _ in 0..2 {
            let r = verify::finish_sign_in(&svc, &ch.challenge, proof(Method::Totp, "000000"), &origin()).await;
            outcomes.push(match r {
                Err(Error::Auth(AuthError::InvalidCode)) => "wrong",
                Err(Error::TooMany { .. }) => "locked",
                _ => "other",
            });
        }
        if outcomes.last() == Some(&"locked") {
            break;
        }
    }
    assert!(outcomes.contains(&"locked"), "{outcomes:?}");
    clock.advance_ms(60 * MINUTE);

    // The rules require a factor of Users: Uma, without one, is walked through enrolment.
    let rules = SecondFactorRules {
        required_roles: vec![Role::User],
        ..SecondFactorRules::default()
    };
    second_factor::set_rules(&svc, Operator::Console, rules).await.unwrap();
    let uma = caller_of(&svc, login(&svc, "uma@example.org").await).await;
    assert!(uma.actor.scope.enrolment_only);
    let refused = strongroom_service::rooms::create_room(&svc, &uma, "Plans").await;
    assert!(
        matches!(refused, Err(Error::Denied(Denied::EnrolmentRequired))),
        "{:?}",
        refused.map(|_| ())
    );
    let e = enrol::enrol_totp(&svc, &uma, "App").await.unwrap();
    let useed = base32_decode(&e.secret);
    enrol::confirm(&svc, &uma, &e.factor.id, &code(&useed, clock.now_ms()))
        .await
        .unwrap();
    let uma_user = people::get_user(&svc.db, &uma.actor.user_id).await.unwrap();
    assert!(!second_factor::must_enrol(&svc, &uma_user).await.unwrap());
    // Her last factor may not go while the rules require one.
    let last = enrol::remove(&svc, &uma, &e.factor.id).await;
    assert!(matches!(last, Err(Error::Conflict(_))), "{last:?}");

    // The console resets her factors: the password alone signs her in, into enrolment.
    let uma_id = uma.actor.user_id.clone();
    assert_eq!(enrol::reset(&svc, Operator::Console, &uma_id).await.unwrap(), 1);
    match login(&svc, "uma@example.org").await {
        SignedIn::Session(l) => assert!(l.enrolment_required),
        SignedIn::SecondFactor(_) => panic!("her factors were reset"),
    }
    // Nobody resets their own; a User resets nobody.
    let own = enrol::reset(&svc, Operator::User(&ann), &ann.actor.user_id).await;
    assert!(matches!(own, Err(Error::Forbidden(_))), "{own:?}");
}
