//! The audit chain against someone with the database in hand: each tampering, done directly
//! in SQL on SQLite and PostgreSQL, is named by `verify` — and by the independent verifier
//! written from the spec (`tests/oracle/audit_chain.py`), which must find the same.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use common::exec;

use sqlx::Row;
use std::collections::BTreeSet;
use strongroom_core::audit::{AuditAction, AuditEvent, Outcome, RequestOrigin};
use strongroom_crypto::SealKey;
use strongroom_store::Db;
use strongroom_store::audit::verify::{FindingKind, verify};
use strongroom_store::audit::{COLUMNS, StoredEvent, chain, record, seal};

const T0: i64 = 1_767_225_600_000;

async fn text(db: &Db, sql: &str) -> String {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

/// 30 events, a seal at place 30, then 10 more (unsealed).
async fn trail(db: &Db, key: &SealKey) {
    for i in 0..40 {
        let action = [AuditAction::FileDownload, AuditAction::Login, AuditAction::RoomCreate][i % 3];
        let mut e = AuditEvent::new(action)
            .target("file", format!("f{i}"))
            .details(serde_json::json!({"n": i, "name": format!("doc {i}.pdf")}))
            .from_origin(&RequestOrigin {
                ip: Some(format!("192.0.2.{i}")),
                user_agent: Some("Mozilla/5.0".into()),
                request_id: Some(format!("req-{i}")),
                route: Some("GET /api/v1/files/{id}/content".into()),
            });
        e.actor_id = Some(format!("user-{}", i % 4));
        e.actor_email = Some(format!("person{}@example.org", i % 4));
        e.actor_name = Some("Zoë".into());
        if i % 7 == 0 {
            e = e.outcome(Outcome::Failure);
        }
        record(db, &e, T0 + i as i64 * 1000).await.unwrap();
        if i == 29 {
            seal::seal(db, key, T0 + 29_500).await.unwrap().unwrap();
        }
    }
}

async fn row(db: &Db, seq: i64) -> StoredEvent {
    let r = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM audit_events WHERE seq = $1"
    )))
    .bind(seq)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    StoredEvent::from_row(&r).unwrap()
}

/// What a careful forger does: change an event, then recompute every hash after it (and the
/// head) with the public spec. Only the seal can tell.
async fn rewrite_from(db: &Db, seq: i64) {
    let mut e = row(db, seq).await;
    let mut prev = chain::parse_hash(&e.prev_hash).unwrap();
    e.details = r#"{"n":-1,"name":"nothing to see.pdf"}"#.into();
    let head: i64 = sqlx::query("SELECT head_seq FROM audit_chain")
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .get(0);
    for s in seq..=head {
        if s != seq {
            e = row(db, s).await;
        }
        let salt: [u8; 16] = hex::decode(e.personal_salt.as_ref().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let digest = chain::personal_digest(&salt, &e.personal());
        let hash = chain::event_hash(&prev, &e.frame(&digest));
        sqlx::query(
            "UPDATE audit_events SET details = $1, personal_digest = $2, prev_hash = $3, hash = $4 WHERE seq = $5",
        )
        .bind(&e.details)
        .bind(hex::encode(digest))
        .bind(hex::encode(prev))
        .bind(hex::encode(hash))
        .bind(s)
        .execute(&db.pool)
        .await
        .unwrap();
        prev = hash;
    }
    sqlx::query("UPDATE audit_chain SET head_hash = $1")
        .bind(hex::encode(prev))
        .execute(&db.pool)
        .await
        .unwrap();
}

/// Moves every event from place `from` on one place up (in two steps: the places are unique).
async fn shift_up(db: &Db, from: i64) {
    exec(
        db,
        &format!("UPDATE audit_events SET seq = -seq - 1 WHERE seq >= {from}"),
    )
    .await;
    exec(db, "UPDATE audit_events SET seq = -seq WHERE seq < 0").await;
}

type Expected = &'static [(&'static str, Option<i64>)];

/// Each tampering and exactly what verify must say about it (kind, place).
const CASES: &[(&str, Expected)] = &[
    ("untouched", &[]),
    ("edit details", &[("edited", Some(5))]),
    ("edit actor e-mail", &[("edited", Some(6))]),
    ("edit action", &[("edited", Some(7))]),
    ("edit outcome", &[("edited", Some(22))]),
    ("delete one", &[("deleted", Some(8))]),
    ("delete three", &[("deleted", Some(33))]),
    ("insert between", &[("edited", Some(35)), ("inserted", Some(35))]),
    ("insert without a place", &[("inserted", None)]),
    ("append after the head", &[("edited", Some(41)), ("inserted", Some(41))]),
    ("swap two", &[("reordered", Some(14))]),
    ("cut the sealed tail", &[("truncated", None)]),
    ("cut the unsealed tail", &[("truncated", None)]),
    ("rewrite and rehash", &[("seal_mismatch", Some(30))]),
    ("forge a seal", &[("seal_invalid", Some(40))]),
    ("strip a salt", &[("erasure_mismatch", Some(16))]),
    ("cut the beginning", &[("deleted", None)]),
];

async fn tamper(db: &Db, case: &str) {
    match case {
        "untouched" => {}
        "edit details" => {
            exec(
                db,
                r#"UPDATE audit_events SET details = '{"n":5,"name":"other.pdf"}' WHERE seq = 5"#,
            )
            .await
        }
        "edit actor e-mail" => {
            exec(
                db,
                "UPDATE audit_events SET actor_email = 'someone@example.org' WHERE seq = 6",
            )
            .await
        }
        "edit action" => exec(db, "UPDATE audit_events SET action = 'auth.logout' WHERE seq = 7").await,
        "edit outcome" => exec(db, "UPDATE audit_events SET outcome = 'success' WHERE seq = 22").await,
        "delete one" => exec(db, "DELETE FROM audit_events WHERE seq = 8").await,
        "delete three" => exec(db, "DELETE FROM audit_events WHERE seq IN (33, 34, 35)").await,
        "insert between" => {
            shift_up(db, 35).await;
            let copy = COLUMNS.replacen("seq, id,", "35, 'forged-0001',", 1);
            exec(
                db,
                &format!("INSERT INTO audit_events ({COLUMNS}) SELECT {copy} FROM audit_events WHERE seq = 3"),
            )
            .await;
            // The new row's link is made right; the head too (a careful forger).
            let h34 = text(db, "SELECT hash FROM audit_events WHERE seq = 34").await;
            exec(
                db,
                &format!("UPDATE audit_events SET prev_hash = '{h34}' WHERE seq = 35"),
            )
            .await;
            exec(db, "UPDATE audit_chain SET head_seq = head_seq + 1").await;
        }
        "insert without a place" => {
            let copy = COLUMNS.replacen("seq, id,", "NULL, 'forged-0002',", 1);
            exec(
                db,
                &format!("INSERT INTO audit_events ({COLUMNS}) SELECT {copy} FROM audit_events WHERE seq = 3"),
            )
            .await;
        }
        "append after the head" => {
            let copy = COLUMNS.replacen("seq, id,", "41, 'forged-0003',", 1);
            exec(
                db,
                &format!("INSERT INTO audit_events ({COLUMNS}) SELECT {copy} FROM audit_events WHERE seq = 3"),
            )
            .await;
        }
        "swap two" => {
            exec(db, "UPDATE audit_events SET seq = -1 WHERE seq = 14").await;
            exec(db, "UPDATE audit_events SET seq = 14 WHERE seq = 15").await;
            exec(db, "UPDATE audit_events SET seq = 15 WHERE seq = -1").await;
        }
        "cut the sealed tail" => {
            exec(db, "DELETE FROM audit_events WHERE seq >= 25").await;
            let h24 = text(db, "SELECT hash FROM audit_events WHERE seq = 24").await;
            exec(
                db,
                &format!("UPDATE audit_chain SET head_seq = 24, head_hash = '{h24}'"),
            )
            .await;
        }
        "cut the unsealed tail" => exec(db, "DELETE FROM audit_events WHERE seq >= 38").await,
        "rewrite and rehash" => rewrite_from(db, 12).await,
        "forge a seal" => {
            let other = SealKey::generate();
            let h40 = text(db, "SELECT hash FROM audit_events WHERE seq = 40").await;
            let msg = chain::seal_message(40, &chain::parse_hash(&h40).unwrap(), T0 + 50_000);
            exec(
                db,
                &format!(
                    "INSERT INTO audit_seals (seq, hash, at, public_key, signature) VALUES (40, '{h40}', {}, '{}', '{}')",
                    T0 + 50_000,
                    other.public_key_hex(),
                    hex::encode(other.sign(&msg))
                ),
            )
            .await;
        }
        "strip a salt" => {
            exec(
                db,
                "UPDATE audit_events SET personal_salt = NULL, actor_email = 'x@example.org' WHERE seq = 16",
            )
            .await;
        }
        "cut the beginning" => {
            exec(db, "DELETE FROM audit_events WHERE seq <= 3").await;
            let h3 = text(db, "SELECT prev_hash FROM audit_events WHERE seq = 4").await;
            exec(
                db,
                &format!("UPDATE audit_chain SET start_seq = 4, start_prev = '{h3}'"),
            )
            .await;
        }
        other => panic!("no tampering {other}"),
    }
}

fn kind_name(k: FindingKind) -> String {
    serde_json::to_value(k).unwrap().as_str().unwrap().to_string()
}

/// The oracle's findings on a SQLite file or a PostgreSQL URL, if it can run here.
fn oracle(target: (&str, &str), key: &SealKey) -> Option<BTreeSet<(String, Option<i64>)>> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/oracle/audit_chain.py");
    let out = std::process::Command::new("python3")
        .args([
            script,
            "verify",
            target.0,
            target.1,
            "--public-key",
            &key.public_key_hex(),
            "--json",
        ])
        .output();
    let required = std::env::var("STRONGROOM_REQUIRE_ORACLES").is_ok_and(|v| v == "1");
    match out {
        Ok(o) if o.status.code().is_some_and(|c| c <= 1) => {
            let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
                panic!(
                    "oracle output is not JSON ({e}): {}",
                    String::from_utf8_lossy(&o.stdout)
                )
            });
            Some(
                report["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| (f["kind"].as_str().unwrap().to_string(), f["seq"].as_i64()))
                    .collect(),
            )
        }
        other if required => panic!("the audit chain oracle did not run: {other:?}"),
        _ => None,
    }
}

#[tokio::test]
async fn every_tampering_is_named_on_every_backend() {
    let dir = tempfile::tempdir().unwrap();
    let key = SealKey::generate();
    let trusted = [chain::parse_hash(&key.public_key_hex()).unwrap()];
    for (n, (case, expected)) in CASES.iter().enumerate() {
        for t in common::databases(dir.path(), &format!("chain{n}")).await {
            let db = &t.db;
            trail(db, &key).await;
            tamper(db, case).await;
            let report = verify(db, &trusted).await.unwrap();
            let found: BTreeSet<(String, Option<i64>)> =
                report.findings.iter().map(|f| (kind_name(f.kind), f.seq)).collect();
            let want: BTreeSet<(String, Option<i64>)> = expected.iter().map(|(k, s)| (k.to_string(), *s)).collect();
            assert_eq!(found, want, "{case} on {}: {:#?}", t.name, report.findings);
            assert_eq!(report.ok(), expected.is_empty());
            if *case == "untouched" {
                assert_eq!(
                    (report.events, report.last_sealed_seq, report.unsealed),
                    (40, Some(30), 10)
                );
            }
            let target = if t.name == "sqlite" {
                ("--sqlite", t.url.trim_start_matches("sqlite://").to_string())
            } else {
                ("--postgres", t.url.clone())
            };
            if let Some(theirs) = oracle((target.0, &target.1), &key) {
                assert_eq!(theirs, want, "the oracle on {case} ({})", t.name);
            }
            t.close().await;
        }
    }
}

#[tokio::test]
async fn pruning_starts_the_chain_at_a_seal_and_it_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let key = SealKey::generate();
    let trusted = [chain::parse_hash(&key.public_key_hex()).unwrap()];
    for t in common::databases(dir.path(), "prune").await {
        let db = &t.db;
        trail(db, &key).await;
        // Events before T0 + 35 s are due; the newest seal covering only those is at 30.
        let event = AuditEvent::new(AuditAction::AuditPrune).details(serde_json::json!({}));
        let p = seal::prune(db, T0 + 35_000, T0 + 60_000, event).await.unwrap().unwrap();
        assert_eq!((p.start_seq, p.events), (31, 30), "{}", t.name);
        let report = verify(db, &trusted).await.unwrap();
        assert!(report.ok(), "{}: {:#?}", t.name, report.findings);
        // The 10 kept events and the prune's own, which records the move.
        assert_eq!(
            (report.first_seq, report.last_seq, report.events),
            (Some(31), Some(41), 11)
        );
        assert_eq!(
            text(db, "SELECT action FROM audit_events WHERE seq = 41").await,
            "audit.prune"
        );
        // Nothing more is due until a later seal: a second run moves nothing.
        let again = AuditEvent::new(AuditAction::AuditPrune).details(serde_json::json!({}));
        assert_eq!(seal::prune(db, T0 + 35_000, T0 + 61_000, again).await.unwrap(), None);
        if let Some(theirs) = oracle(
            if t.name == "sqlite" {
                ("--sqlite", t.url.trim_start_matches("sqlite://"))
            } else {
                ("--postgres", t.url.as_str())
            },
            &key,
        ) {
            assert!(theirs.is_empty(), "the oracle after pruning: {theirs:?}");
        }
        t.close().await;
    }
}

/// An event naming a person who no longer exists (built before their erasure committed,
/// appended after it) is written without them: no id, name, e-mail, address or browser of
/// theirs, as actor or as target; links, pseudonyms and other targets are kept as given.
#[tokio::test]
async fn an_event_about_an_erased_person_does_not_name_them() {
    let dir = tempfile::tempdir().unwrap();
    for t in common::databases(dir.path(), "erased").await {
        let db = &t.db;
        let gone = strongroom_core::ids::UserId::generate().to_string();
        let mut by_them = AuditEvent::new(AuditAction::FileDownload)
            .target("file", "f1")
            .from_origin(&RequestOrigin {
                ip: Some("192.0.2.9".into()),
                user_agent: Some("Mozilla/5.0".into()),
                ..RequestOrigin::default()
            });
        by_them.actor_id = Some(gone.clone());
        by_them.actor_email = Some("gone@example.org".into());
        by_them.actor_name = Some("Gone Person".into());
        record(db, &by_them, T0).await.unwrap();
        let mut about_them = AuditEvent::new(AuditAction::UserUpdate).target("user", &gone);
        about_them.actor_id = Some("link:abc".into());
        record(db, &about_them, T0 + 1).await.unwrap();
        let pseudonym = AuditEvent::new(AuditAction::UserErase).target("user", "erased-0123456789abcdef01234567");
        record(db, &pseudonym, T0 + 2).await.unwrap();
        let got = |seq: i64| {
            let db = db.clone();
            async move { row(&db, seq).await }
        };
        let first = got(1).await;
        assert_eq!(
            (
                first.actor_id,
                first.actor_name,
                first.actor_email,
                first.ip,
                first.user_agent,
                first.target_id
            ),
            (None, None, None, None, None, Some("f1".into())),
            "{}",
            t.name
        );
        let second = got(2).await;
        assert_eq!((second.actor_id.as_deref(), second.target_id), (Some("link:abc"), None));
        assert_eq!(
            got(3).await.target_id.as_deref(),
            Some("erased-0123456789abcdef01234567")
        );
        assert!(verify(db, &[]).await.unwrap().findings.is_empty(), "{}", t.name);
        t.close().await;
    }
}
