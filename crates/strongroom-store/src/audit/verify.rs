//! `audit verify`: walks the chain from its start to its head in pages (memory stays flat
//! however long the trail) and names every break: an edited, deleted, inserted or reordered
//! event, a seal that does not match or is not signed by a trusted key, a tail cut after a
//! seal, and pseudonymised events that no erasure accounts for.

use super::chain::{self, parse_hash};
use super::seal::{Seal, chain_state, seals_after, signed_by};
use super::{COLUMNS, StoredEvent};
use crate::db::Db;
use crate::error::Result;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};

/// What kind of break a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The event's content no longer matches its hash (or its personal data its digest).
    Edited,
    /// Places are missing: events were deleted.
    Deleted,
    /// An event that does not belong to the chain where it stands.
    Inserted,
    /// Two events stand in each other's place.
    Reordered,
    /// An event does not follow the one before it, for a reason the neighbours do not show.
    BrokenLink,
    /// Events a seal or the chain's head vouches for are gone from the end.
    Truncated,
    /// A seal whose signature is bad or by a key not trusted.
    SealInvalid,
    /// The chain's hash at a sealed place differs from the seal: rewritten after sealing.
    SealMismatch,
    /// Pseudonymised events that the erasure they name does not account for.
    ErasureMismatch,
}

#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// The place it concerns.
    pub seq: Option<i64>,
    /// The event it concerns.
    pub id: Option<String>,
    pub message: String,
}

/// The outcome of a walk.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// Events walked.
    pub events: u64,
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
    /// Seals whose signatures were checked, and the newest good one's place.
    pub seals: u64,
    pub last_sealed_seq: Option<i64>,
    /// Events after the newest good seal: chained, but not yet vouched for by a signature.
    pub unsealed: u64,
    /// Events pseudonymised by erasures (their personal data is no longer covered).
    pub pseudonymised: u64,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }
}

/// At most this many findings are listed; a trail rewritten wholesale does not need a
/// million lines to say so.
const MAX_FINDINGS: usize = 1000;
const PAGE: i64 = 5000;

struct Walk {
    report: Report,
    /// Seals ahead of the walk, by place.
    seals: VecDeque<Seal>,
    seals_done: bool,
    /// The place of the last seal read (good or not).
    seals_read: i64,
    keys: Vec<[u8; 32]>,
    /// Pseudonymised event ids, by the pseudonym that replaced the person.
    erased: BTreeMap<String, Vec<String>>,
    /// Erasure events seen: pseudonym → (events, digest) they declare.
    erasures: BTreeMap<String, (u64, String)>,
}

impl Walk {
    fn find(&mut self, kind: FindingKind, seq: Option<i64>, id: Option<String>, message: String) {
        if self.report.findings.len() < MAX_FINDINGS {
            self.report.findings.push(Finding { kind, seq, id, message });
        }
    }

    fn find_at(&mut self, kind: FindingKind, row: &StoredEvent, message: String) {
        self.find(kind, Some(row.seq), Some(row.id.clone()), message);
    }

    /// Seals up to place `upto` are loaded (their signatures checked as they come).
    async fn load_seals(&mut self, db: &Db, upto: i64) -> Result<()> {
        while !self.seals_done && self.seals_read <= upto {
            let page = seals_after(db, self.seals_read, 1000).await?;
            if page.is_empty() {
                self.seals_done = true;
            }
            for s in page {
                self.seals_read = s.seq;
                self.report.seals += 1;
                if signed_by(&s, &self.keys) {
                    self.seals.push_back(s);
                } else {
                    let message = format!(
                        "the seal at place {} is not signed by a trusted key (key {})",
                        s.seq, s.public_key
                    );
                    self.find(FindingKind::SealInvalid, Some(s.seq), None, message);
                }
            }
        }
        Ok(())
    }

    /// Checks an event against itself: its personal digest and its hash.
    fn check_content(&mut self, r: &StoredEvent) {
        let Some(stored_digest) = parse_hash(&r.personal_digest) else {
            self.find_at(
                FindingKind::Edited,
                r,
                format!(
                    "event {} at place {}: its personal-data digest was altered",
                    r.id, r.seq
                ),
            );
            return;
        };
        match r.personal_salt.as_deref().map(hex::decode) {
            Some(Ok(salt)) if salt.len() == 16 => {
                let mut s = [0u8; 16];
                s.copy_from_slice(&salt);
                if chain::personal_digest(&s, &r.personal()) != stored_digest {
                    let m = format!(
                        "event {} at place {}: who or what it names (actor, target, address, details) was changed",
                        r.id, r.seq
                    );
                    self.find_at(FindingKind::Edited, r, m);
                }
            }
            Some(_) => {
                let m = format!("event {} at place {}: its salt was altered", r.id, r.seq);
                self.find_at(FindingKind::Edited, r, m);
            }
            None => {
                self.report.pseudonymised += 1;
                match &r.erased_by {
                    Some(by) => self.erased.entry(by.clone()).or_default().push(r.id.clone()),
                    None => {
                        let m = format!(
                            "event {} at place {}: its personal data is unprotected but no erasure names it",
                            r.id, r.seq
                        );
                        self.find_at(FindingKind::ErasureMismatch, r, m);
                    }
                }
            }
        }
        let computed = parse_hash(&r.prev_hash).map(|prev| chain::event_hash(&prev, &r.frame(&stored_digest)));
        if computed.map(hex::encode).as_deref() != Some(r.hash.as_str()) {
            let m = format!(
                "event {} at place {}: its content ({}) no longer matches its hash",
                r.id, r.seq, r.action
            );
            self.find_at(FindingKind::Edited, r, m);
        }
        if r.action == "user.erase" {
            let details: serde_json::Value = serde_json::from_str(&r.details).unwrap_or_default();
            let events = details.get("events").and_then(serde_json::Value::as_u64).unwrap_or(0);
            let digest = details
                .get("events_digest")
                .and_then(|d| d.as_str())
                .unwrap_or("")
                .to_string();
            if let Some(p) = details.get("pseudonym").and_then(|p| p.as_str()) {
                self.erasures.insert(p.to_string(), (events, digest));
            }
        }
    }

    /// Checks the seal at this event's place, if any.
    fn check_seal(&mut self, r: &StoredEvent) {
        while self.seals.front().is_some_and(|s| s.seq < r.seq) {
            self.seals.pop_front();
        }
        if let Some(s) = self.seals.front().filter(|s| s.seq == r.seq).cloned() {
            self.seals.pop_front();
            if s.hash == r.hash {
                self.report.last_sealed_seq = Some(r.seq);
            } else {
                let m = format!(
                    "the seal at place {} (signed {}) does not match the chain there: the events up to it were rewritten after they were sealed",
                    s.seq, s.at
                );
                self.find_at(FindingKind::SealMismatch, r, m);
            }
        }
    }
}

/// Walks the whole kept chain; `keys` are the seal public keys to trust.
pub async fn verify(db: &Db, keys: &[[u8; 32]]) -> Result<Report> {
    let state = chain_state(db).await?;
    let mut w = Walk {
        report: Report::default(),
        seals: VecDeque::new(),
        seals_done: false,
        seals_read: i64::MIN,
        keys: keys.to_vec(),
        erased: BTreeMap::new(),
        erasures: BTreeMap::new(),
    };

    let loose = sqlx::query("SELECT id FROM audit_events WHERE seq IS NULL LIMIT 100")
        .fetch_all(&db.read)
        .await?;
    for r in loose {
        let id: String = sqlx::Row::try_get(&r, "id")?;
        let m = format!("event {id} has no place in the chain: it was added outside the server");
        w.find(FindingKind::Inserted, None, Some(id), m);
    }

    // Where the kept chain starts, and who vouches for it.
    w.load_seals(db, state.start_seq - 1).await?;
    if state.start_seq > 1 {
        let vouched = w
            .seals
            .iter()
            .any(|s| s.seq == state.start_seq - 1 && s.hash == state.start_prev);
        if !vouched {
            let m = format!(
                "the chain starts at place {} but no trusted seal vouches for the hash before it: events were removed from its beginning",
                state.start_seq
            );
            w.find(FindingKind::Deleted, None, None, m);
        }
        w.report.last_sealed_seq = Some(state.start_seq - 1);
    }

    // The walk, with one event of lookahead to tell an insertion or a swap from a cut.
    let mut prev: Option<StoredEvent> = None;
    let mut expected_prev = state.start_prev.clone();
    let mut expected_seq = state.start_seq;
    // The link the previous event was judged by: an event that follows it instead of the
    // previous event shows that the previous one was inserted.
    let mut prev_judged_by = String::new();
    // After a swap or an insertion, the link that the next events are judged by.
    let mut accept: VecDeque<String> = VecDeque::new();
    let mut pending: VecDeque<StoredEvent> = VecDeque::new();
    let mut after = state.start_seq - 1;
    let mut exhausted = false;
    loop {
        if pending.len() < 2 && !exhausted {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2"
            )))
            .bind(after)
            .bind(PAGE)
            .fetch_all(&db.read)
            .await?;
            exhausted = (rows.len() as i64) < PAGE;
            for r in &rows {
                let e = StoredEvent::from_row(r)?;
                after = e.seq;
                pending.push_back(e);
            }
            continue;
        }
        let Some(r) = pending.pop_front() else { break };
        let next = pending.front();
        w.report.events += 1;
        w.report.first_seq.get_or_insert(r.seq);
        w.report.last_seq = Some(r.seq);
        w.load_seals(db, r.seq).await?;
        w.check_content(&r);
        w.check_seal(&r);

        let judged_by = accept.pop_front().unwrap_or(expected_prev.clone());
        if r.seq > state.head_seq {
            let m = format!(
                "event {} at place {} is beyond the chain's head (place {}): it was added outside the server",
                r.id, r.seq, state.head_seq
            );
            w.find_at(FindingKind::Inserted, &r, m);
        } else if r.seq > expected_seq {
            let m = if r.seq == expected_seq + 1 {
                format!("the event at place {expected_seq} was deleted")
            } else {
                format!("the events at places {expected_seq} to {} were deleted", r.seq - 1)
            };
            w.find(FindingKind::Deleted, Some(expected_seq), None, m);
        } else if r.prev_hash != judged_by {
            let before = prev
                .as_ref()
                .map_or("the chain's start".to_string(), |p| format!("place {}", p.seq));
            if let Some(n) = next.filter(|n| n.hash == r.prev_hash && n.prev_hash == judged_by) {
                let m = format!(
                    "the events at places {} and {} stand in each other's place",
                    r.seq, n.seq
                );
                w.find_at(FindingKind::Reordered, &r, m);
                accept.clear();
                accept.push_back(n.prev_hash.clone());
                accept.push_back(r.hash.clone());
            } else if let Some(p) = prev.as_ref().filter(|_| r.prev_hash == prev_judged_by) {
                let m = format!(
                    "event {} at place {} does not belong to the chain: the event after it follows the one before it",
                    p.id, p.seq
                );
                w.find_at(FindingKind::Inserted, p, m);
            } else if let Some(n) = next.filter(|n| n.prev_hash == judged_by) {
                let m = format!(
                    "event {} at place {} does not belong to the chain: the event after it follows {before}",
                    r.id, r.seq
                );
                w.find_at(FindingKind::Inserted, &r, m);
                accept.clear();
                accept.push_back(n.prev_hash.clone());
            } else {
                let m = format!(
                    "event {} at place {} does not follow {before}: an event before it was removed and the places renumbered, or it was replaced",
                    r.id, r.seq
                );
                w.find_at(FindingKind::BrokenLink, &r, m);
            }
        }
        expected_seq = r.seq + 1;
        expected_prev = r.hash.clone();
        prev_judged_by = judged_by;
        prev = Some(r);
    }

    // The end: seals or the head beyond the last event mean a cut tail.
    let last = prev.as_ref().map_or(state.start_seq - 1, |p| p.seq);
    w.load_seals(db, i64::MAX).await?;
    if let Some(s) = w.seals.iter().filter(|s| s.seq > last).max_by_key(|s| s.seq) {
        let m = format!(
            "the seal at place {} vouches for events that are gone: the trail ends at place {last}",
            s.seq
        );
        w.find(FindingKind::Truncated, None, None, m);
    } else if state.head_seq > last {
        let m = format!(
            "the chain's head is at place {} but the trail ends at place {last}: its last events were deleted",
            state.head_seq
        );
        w.find(FindingKind::Truncated, None, None, m);
    } else if let Some(p) = prev
        .as_ref()
        .filter(|p| p.seq == state.head_seq && p.hash != state.head_hash)
    {
        let m = format!(
            "event {} at place {} is not the one the chain's head recorded: it was replaced",
            p.id, p.seq
        );
        w.find_at(FindingKind::Edited, p, m);
    }
    w.report.unsealed = u64::try_from(last - w.report.last_sealed_seq.unwrap_or(state.start_seq - 1)).unwrap_or(0);

    // Every pseudonymised event is accounted for by the erasure it names.
    let erased = std::mem::take(&mut w.erased);
    for (by, mut ids) in erased {
        ids.sort();
        let digest = hex::encode(chain::erased_ids_digest(ids.iter().map(String::as_str)));
        let pruned = state.start_seq > 1;
        match w.erasures.get(&by) {
            Some((n, d)) if *n == ids.len() as u64 && *d == digest => {}
            // Retention may have pruned the erasure, or some of the events it pseudonymised.
            Some((n, _)) if pruned && (ids.len() as u64) < *n => {}
            None if pruned => {}
            _ => {
                let m = format!(
                    "{} events are pseudonymised as {by}, but no erasure accounts for them",
                    ids.len()
                );
                w.find(FindingKind::ErasureMismatch, None, None, m);
            }
        }
    }
    Ok(w.report)
}
