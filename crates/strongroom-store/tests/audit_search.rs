//! Searching the audit trail by date on SQLite and PostgreSQL: a date range is turned into a
//! range of places through `audit_hours`, and must still find every event stamped in it when
//! the clock stepped back between events (another node's clock, a correction).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use strongroom_core::audit::{AuditAction, AuditEvent};
use strongroom_store::audit::{AuditFilter, record, search};

const HOUR: i64 = 3_600_000;
/// 2026-01-01 00:00 UTC.
const T0: i64 = 1_767_225_600_000;

/// Minutes after T0 each event is stamped, in the order they are written (places 1 to 8):
/// the clock steps back twice.
const STAMPS: [i64; 8] = [600, 720, 570, 750, 660, 839, 840, 60];

#[tokio::test]
async fn date_ranges_find_every_event_stamped_in_them_whatever_the_clock_did() {
    let dir = tempfile::tempdir().unwrap();
    for t in common::databases(dir.path(), "audit_search").await {
        let db = &t.db;
        for (i, m) in STAMPS.iter().enumerate() {
            let e = AuditEvent::new(if i % 2 == 0 {
                AuditAction::Login
            } else {
                AuditAction::FileDownload
            })
            .details(serde_json::json!({ "n": i }));
            record(db, &e, T0 + m * 60_000).await.unwrap();
        }
        // (from, to) in minutes after T0 → the places found, newest first.
        let cases: [(Option<i64>, Option<i64>, &[i64]); 8] = [
            (Some(600), Some(601), &[1]),
            (Some(540), Some(600), &[3]),
            (Some(540), Some(720), &[5, 3, 1]),
            (Some(720), None, &[7, 6, 4, 2]),
            (None, Some(570), &[8]),
            (Some(839), Some(840), &[6]),
            (Some(0), Some(60), &[]),
            (Some(10_000), None, &[]),
        ];
        for (from, to, want) in cases {
            let f = AuditFilter {
                from: from.map(|m| T0 + m * 60_000),
                to: to.map(|m| T0 + m * 60_000),
                ..AuditFilter::default()
            };
            let got: Vec<i64> = search(db, &f, 50).await.unwrap().events.iter().map(|e| e.seq).collect();
            assert_eq!(got, want, "{}: from {from:?} to {to:?}", t.name);
        }
        // With another filter and oldest first, across pages of one.
        let mut f = AuditFilter {
            actions: vec!["auth.login".into()],
            from: Some(T0 + 9 * HOUR),
            to: Some(T0 + 14 * HOUR),
            oldest_first: true,
            ..AuditFilter::default()
        };
        let mut got = Vec::new();
        loop {
            let page = search(db, &f, 1).await.unwrap();
            got.extend(page.events.iter().map(|e| e.seq));
            match page.next {
                Some(c) if got.len() < 20 => f.cursor = Some(c),
                _ => break,
            }
        }
        assert_eq!(got, [1, 3, 5], "{}", t.name);

        // A node of an older release (no `audit_hours`) appends place 9 at 10:00:30: found
        // before any newer node notes it, and after.
        let ten = |from: i64, to: i64| AuditFilter {
            from: Some(T0 + from * 60_000),
            to: Some(T0 + to * 60_000),
            ..AuditFilter::default()
        };
        sqlx::query("UPDATE audit_chain SET head_seq = head_seq + 1 WHERE id = 1")
            .execute(&db.pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO audit_events (seq, id, at, action, product, module, outcome, details, prev_hash, hash) \
             SELECT 9, 'old-node', $1, action, product, module, outcome, details, prev_hash, hash FROM audit_events WHERE seq = 1",
        )
        .bind(T0 + 600 * 60_000 + 30_000)
        .execute(&db.pool)
        .await
        .unwrap();
        let places = |p: strongroom_store::audit::AuditPage| p.events.iter().map(|e| e.seq).collect::<Vec<_>>();
        assert_eq!(
            places(search(db, &ten(600, 601), 50).await.unwrap()),
            [9, 1],
            "{}",
            t.name
        );
        record(db, &AuditEvent::new(AuditAction::Login), T0 + 900 * 60_000)
            .await
            .unwrap();
        assert_eq!(
            places(search(db, &ten(600, 601), 50).await.unwrap()),
            [9, 1],
            "{}",
            t.name
        );
        assert_eq!(
            places(search(db, &ten(900, 901), 50).await.unwrap()),
            [10],
            "{}",
            t.name
        );
        t.close().await;
    }
}
