//! Every change to the instance writes its audit event: the store's writers either take a
//! `Change` (which cannot commit without its event, by its type) or are listed here, each
//! with why it writes no event of its own. The test walks every `async fn` of the store's
//! source; a new writer outside a `Change` fails it until someone decides, in this table,
//! that it needs no event (and says why) — or, better, moves it into a `Change`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::BTreeMap;
use std::path::Path;

/// (file, function) → why it writes outside a `Change` without an event of its own.
const OUTSIDE_A_CHANGE: &[(&str, &str, &str)] = &[
    (
        "audit/mod.rs",
        "rebuild_hours",
        "an index of the trail rebuilt from the trail itself; no state of its own",
    ),
    (
        "snapshot.rs",
        "load",
        "a restore's rows, into a fresh database that refuses to be one in use; the restored trail is the backup's own",
    ),
    (
        "snapshot.rs",
        "prepare_fresh",
        "removes only what a fresh database's migrations wrote, and refuses a database anyone used",
    ),
    ("audit/seal.rs", "seal", "writes the audit trail's own seal"),
    (
        "audit/seal.rs",
        "prune",
        "writes its `audit.prune` event in the same transaction",
    ),
    (
        "audit/siem.rs",
        "advance",
        "the SIEM export's position; the export is an `audit.export` event",
    ),
    (
        "audit/report.rs",
        "claim_alert",
        "writes its `audit.alert` event in the same transaction",
    ),
    ("audit/report.rs", "forget_alerts", "old alert firings (housekeeping)"),
    (
        "content/stored.rs",
        "swap_blob",
        "re-encrypts stored bytes; the run is `settings.encryption.convert`",
    ),
    ("content/stored.rs", "set_blob_encryption", "the same conversion"),
    (
        "content/stored.rs",
        "record_conversion_run",
        "the same conversion's progress",
    ),
    (
        "content/trash.rs",
        "discard_blob",
        "queues bytes whose rows a recorded purge deleted",
    ),
    ("content/trash.rs", "sweep_garbage", "deletes those queued bytes"),
    ("invitations.rs", "purge", "removes expired invitations (housekeeping)"),
    (
        "links.rs",
        "begin_unlock",
        "counts a link's password attempts; the unlock is `link.unlock`",
    ),
    (
        "login_history.rs",
        "purge",
        "the login history's retention (housekeeping)",
    ),
    (
        "passkey_ceremonies.rs",
        "create",
        "a passkey ceremony's state for the next minutes",
    ),
    ("passkey_ceremonies.rs", "take", "the same ceremony, used once"),
    ("passkey_ceremonies.rs", "purge", "expired ceremonies (housekeeping)"),
    ("password_resets.rs", "purge", "expired reset links (housekeeping)"),
    (
        "second_factors.rs",
        "create_challenge",
        "a sign-in's pending second-factor challenge",
    ),
    (
        "second_factors.rs",
        "count_attempt",
        "counts its attempts; the outcome is `auth.login`",
    ),
    ("second_factors.rs", "set_sms_code", "the challenge's code"),
    ("second_factors.rs", "set_ceremony", "the challenge's passkey ceremony"),
    ("second_factors.rs", "delete_challenge", "a used or failed challenge"),
    ("second_factors.rs", "purge", "expired challenges (housekeeping)"),
    (
        "secrets.rs",
        "reseal_all",
        "re-encrypts secrets under a new master key: `settings.encryption.rotate`",
    ),
    ("sessions.rs", "touch", "a session's last-seen time"),
    (
        "sessions.rs",
        "expire",
        "ends an idle or expired session; the sweep records `auth.session.end`",
    ),
    (
        "sessions.rs",
        "create_setup_token",
        "the one-time setup token printed at first start",
    ),
    ("sessions.rs", "purge_expired", "expired link sessions (housekeeping)"),
    (
        "throttle.rs",
        "begin_attempt",
        "counts a sign-in attempt; its outcome is `auth.login`",
    ),
    ("throttle.rs", "purge", "old counters (housekeeping)"),
];

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every `async fn` of the store (outside its unit tests) that runs an INSERT, UPDATE or
/// DELETE and takes the database handle rather than a `Change` or a transaction.
fn writers_outside_a_change() -> BTreeMap<(String, String), ()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    walk(&root, &mut files);
    let mut found = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(&f).unwrap();
        let text = text.split("#[cfg(test)]").next().unwrap();
        for piece in text.split("async fn ").skip(1) {
            let name: String = piece.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let Some(open) = piece.find('{') else { continue };
            let signature = &piece[..open];
            // The body: up to the next function.
            let body = &piece[open..piece[open..].find("\nfn ").map_or(piece.len(), |i| open + i)];
            let writes = ["INSERT INTO", "DELETE FROM", " SET "].iter().any(|w| body.contains(w));
            let by_handle =
                signature.contains("Db") && !signature.contains("Change") && !signature.contains("Transaction");
            if writes && by_handle {
                found.insert((rel.clone(), name), ());
            }
        }
    }
    found
}

#[test]
fn every_writer_outside_a_change_is_accounted_for() {
    let found = writers_outside_a_change();
    let listed: BTreeMap<(String, String), ()> = OUTSIDE_A_CHANGE
        .iter()
        .map(|(f, n, _)| ((f.to_string(), n.to_string()), ()))
        .collect();
    let unlisted: Vec<_> = found.keys().filter(|k| !listed.contains_key(*k)).collect();
    assert!(
        unlisted.is_empty(),
        "these store functions change the database outside a Change (so without an audit event): \
         move them into a Change, or list them in OUTSIDE_A_CHANGE with the reason: {unlisted:?}"
    );
    let stale: Vec<_> = listed.keys().filter(|k| !found.contains_key(*k)).collect();
    assert!(
        stale.is_empty(),
        "listed but no longer writing outside a Change: {stale:?}"
    );
}
