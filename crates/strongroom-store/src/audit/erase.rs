//! Pseudonymising the events that name an erased person (`docs/formats/audit-chain-v1.md` §6).
//!
//! Which values are theirs: the actor's or target's id, name and e-mail where the event's
//! actor or target is them, the address and browser of events they did, and in `details`
//! every text that contains their id or e-mail address (the whole text goes) or is one of
//! the names they had (their display name now, as events recorded it, and every one a rename
//! changed from or to). A name is matched whole, not inside other text: a short name would
//! otherwise eat words of unrelated events.

use super::{COLUMNS, StoredEvent};
use crate::audit::query::like_pattern;
use crate::change::Change;
use crate::error::Result;
use crate::people::User;
use serde_json::Value;
use sqlx::Row;
use std::collections::BTreeSet;

/// Events examined per query.
const PAGE: i64 = 500;

/// What identifies the person in events.
struct Needles {
    id: String,
    /// Lower-case.
    email: String,
    names: BTreeSet<String>,
    pseudonym: String,
}

impl Needles {
    /// Whether a text is (or holds) something of the person's.
    fn names_them(&self, s: &str) -> bool {
        let lower = s.to_lowercase();
        self.names.contains(s) || lower.contains(&self.id) || (!self.email.is_empty() && lower.contains(&self.email))
    }

    /// Whether a folder or file on the path bears one of their names (`HR/Zeb Quux/…`,
    /// `…/Zeb Quux.pdf`).
    fn in_path(&self, path: &str) -> bool {
        path.split('/').any(|seg| {
            let stem = seg.rsplit_once('.').map_or(seg, |(stem, _)| stem);
            self.names_them(seg) || self.names.contains(stem)
        })
    }

    /// `details` with every text of the person's replaced by the pseudonym.
    fn scrub(&self, v: &mut Value) {
        match v {
            Value::String(s) if self.names_them(s) => *s = self.pseudonym.clone(),
            Value::Array(items) => items.iter_mut().for_each(|i| self.scrub(i)),
            Value::Object(map) => {
                let entries = std::mem::take(map);
                for (k, mut val) in entries {
                    self.scrub(&mut val);
                    let k = if self.names_them(&k) { self.pseudonym.clone() } else { k };
                    map.insert(k, val);
                }
            }
            _ => {}
        }
    }
}

/// Replaces the person's data in every event naming them with `pseudonym`; returns the ids
/// of the events so pseudonymised for the first time (ascending), which the erasure's own
/// event declares. An event an earlier erasure pseudonymised keeps that erasure's mark.
pub async fn pseudonymise(c: &mut Change, person: &User, pseudonym: &str) -> Result<Vec<String>> {
    // The chain's row held from now on: no event commits between this scan and the erasure.
    sqlx::query("UPDATE audit_chain SET head_seq = head_seq WHERE id = 1")
        .execute(&mut *c.conn())
        .await?;
    let needles = Needles {
        id: person.id.as_str().to_lowercase(),
        email: person.email.to_lowercase(),
        names: names_of(c, person).await?,
        pseudonym: pseudonym.to_string(),
    };
    // Candidates by SQL (a superset), decided exactly below.
    let mut sql = format!(
        "SELECT {COLUMNS} FROM audit_events WHERE seq > $1 AND (actor_id = $2 OR target_id = $2 \
         OR LOWER(COALESCE(actor_email, '')) = $3 OR LOWER(details) LIKE $4 ESCAPE '\\' \
         OR LOWER(details) LIKE $5 ESCAPE '\\'"
    );
    let names: Vec<&String> = needles.names.iter().collect();
    for (i, _) in names.iter().enumerate() {
        let n = 6 + 3 * i;
        sql.push_str(&format!(
            " OR actor_name = ${n} OR target_name = ${n} OR LOWER(details) LIKE ${} ESCAPE '\\' \
             OR LOWER(COALESCE(target_path, '')) LIKE ${} ESCAPE '\\'",
            n + 1,
            n + 2
        ));
    }
    sql.push_str(&format!(") ORDER BY seq LIMIT {PAGE}"));
    let mut after = 0i64;
    let mut first_time = Vec::new();
    loop {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(after)
            .bind(person.id.as_str().to_string())
            .bind(needles.email.clone())
            .bind(like_pattern(&needles.id))
            .bind(like_pattern(&needles.email));
        for name in &names {
            let quoted = serde_json::to_string(name).unwrap_or_default();
            q = q
                .bind((*name).clone())
                .bind(like_pattern(&quoted))
                .bind(like_pattern(name));
        }
        let rows = q.fetch_all(&mut *c.conn()).await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get("seq")?;
        let full = rows.len() as i64 == PAGE;
        for row in &rows {
            let e = StoredEvent::from_row(row)?;
            if let Some(new) = pseudonymised(&e, &needles) {
                let fresh = e.personal_salt.is_some();
                write(c, &new, pseudonym).await?;
                if fresh {
                    first_time.push(e.id);
                }
            }
        }
        if !full {
            break;
        }
    }
    first_time.sort();
    Ok(first_time)
}

/// Every name the person went by: now, as events recorded them, and each rename's from/to.
async fn names_of(c: &mut Change, person: &User) -> Result<BTreeSet<String>> {
    let id = person.id.as_str().to_string();
    let mut names = BTreeSet::from([person.display_name.clone()]);
    for sql in [
        "SELECT DISTINCT actor_name AS name FROM audit_events WHERE actor_id = $1 AND actor_name IS NOT NULL",
        "SELECT DISTINCT target_name AS name FROM audit_events WHERE target_id = $1 AND target_name IS NOT NULL",
    ] {
        for r in sqlx::query(sql).bind(id.clone()).fetch_all(&mut *c.conn()).await? {
            names.insert(r.try_get("name")?);
        }
    }
    let renames = sqlx::query(
        "SELECT details FROM audit_events WHERE target_id = $1 AND action = 'user.update' AND details LIKE '%display_name%'",
    )
    .bind(id)
    .fetch_all(&mut *c.conn())
    .await?;
    for r in renames {
        let details: String = r.try_get("details")?;
        let v: Value = serde_json::from_str(&details).unwrap_or(Value::Null);
        for end in ["from", "to"] {
            if let Some(n) = v["changed"]["display_name"][end].as_str() {
                names.insert(n.to_string());
            }
        }
    }
    names.retain(|n| !n.is_empty());
    Ok(names)
}

/// The event with the person's data replaced, or `None` when it holds none.
fn pseudonymised(e: &StoredEvent, n: &Needles) -> Option<StoredEvent> {
    let mut out = e.clone();
    let p = || Some(n.pseudonym.clone());
    let is = |v: &Option<String>| v.as_deref().is_some_and(|s| n.names_them(s));
    let by_them = e.actor_id.as_deref() == Some(n.id.as_str());
    if by_them || is(&e.actor_id) {
        out.actor_id = p();
        out.actor_name = p();
        out.actor_email = None;
        out.ip = None;
        out.user_agent = None;
    }
    if is(&e.actor_name) {
        out.actor_name = p();
    }
    if is(&e.actor_email) {
        out.actor_email = None;
    }
    if e.target_id.as_deref() == Some(n.id.as_str()) || is(&e.target_id) {
        out.target_id = p();
        out.target_name = p();
        out.target_path = None;
    }
    if is(&e.target_name) || e.target_name.as_deref().is_some_and(|t| n.in_path(t)) {
        out.target_name = p();
    }
    if is(&e.target_path) || e.target_path.as_deref().is_some_and(|p| n.in_path(p)) {
        out.target_path = None;
    }
    if let Ok(mut v) = serde_json::from_str::<Value>(&e.details) {
        n.scrub(&mut v);
        out.details = v.to_string();
    } else if n.names_them(&e.details) {
        out.details = Value::String(n.pseudonym.clone()).to_string();
    }
    let same = out.actor_id == e.actor_id
        && out.actor_name == e.actor_name
        && out.actor_email == e.actor_email
        && out.target_id == e.target_id
        && out.target_name == e.target_name
        && out.target_path == e.target_path
        && out.ip == e.ip
        && out.user_agent == e.user_agent
        && out.details == e.details;
    (!same).then_some(out)
}

/// Writes the pseudonymised columns; the salt goes (the digest can no longer be recomputed,
/// and the chain vouches for the rest), and the event is marked as this erasure's unless an
/// earlier one marked it.
async fn write(c: &mut Change, e: &StoredEvent, pseudonym: &str) -> Result<()> {
    sqlx::query(
        "UPDATE audit_events SET actor_id = $1, actor_name = $2, actor_email = $3, target_id = $4, \
         target_name = $5, target_path = $6, ip = $7, user_agent = $8, details = $9, personal_salt = NULL, \
         erased_by = COALESCE(erased_by, $10) WHERE id = $11",
    )
    .bind(e.actor_id.clone())
    .bind(e.actor_name.clone())
    .bind(e.actor_email.clone())
    .bind(e.target_id.clone())
    .bind(e.target_name.clone())
    .bind(e.target_path.clone())
    .bind(e.ip.clone())
    .bind(e.user_agent.clone())
    .bind(e.details.clone())
    .bind(pseudonym.to_string())
    .bind(e.id.clone())
    .execute(&mut *c.conn())
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needles() -> Needles {
        Needles {
            id: "0190aaaa-0000-7000-8000-000000000001".into(),
            email: "zeb@example.org".into(),
            names: BTreeSet::from(["Zeb Quux".to_string(), "Zebulon".to_string()]),
            pseudonym: "erased-0123456789abcdef01234567".into(),
        }
    }

    /// A folder or file named after them leaves the path (and the name) of events about
    /// documents; other paths stay.
    #[test]
    fn paths_through_a_folder_or_file_of_their_name_are_withheld() {
        let n = needles();
        let on = |name: &str, path: &str| StoredEvent {
            target_kind: Some("file".into()),
            target_id: Some("f1".into()),
            target_name: Some(name.into()),
            target_path: Some(path.into()),
            details: "null".into(),
            ..StoredEvent::default()
        };
        let p = "erased-0123456789abcdef01234567";
        let cases = [
            (
                on("payslip.pdf", "HR/Zeb Quux/payslip.pdf"),
                Some((Some("payslip.pdf"), None)),
            ),
            (on("Zebulon.pdf", "HR/Zebulon.pdf"), Some((Some(p), None))),
            (on("scan.pdf", "HR/Zeb/scan.pdf"), None),
        ];
        for (event, want) in cases {
            let got = pseudonymised(&event, &n);
            let got = got
                .as_ref()
                .map(|o| (o.target_name.as_deref(), o.target_path.as_deref()));
            assert_eq!(got, want, "{:?}", event.target_path);
        }
    }

    #[test]
    fn details_lose_every_text_of_theirs_and_keep_the_rest() {
        let n = needles();
        let mut v: Value = serde_json::from_str(
            r#"{"email": "Zeb@Example.org", "role": "user", "changed": {"display_name": {"from": "Zebulon", "to": "Zeb Quux"}},
                "note": "sent to zeb@example.org today", "subject_id": "0190AAAA-0000-7000-8000-000000000001",
                "file": "Zebulon's notes.txt", "count": 3, "0190aaaa-0000-7000-8000-000000000001": true}"#,
        )
        .unwrap();
        n.scrub(&mut v);
        let p = "erased-0123456789abcdef01234567";
        let expected = serde_json::json!({
            "email": p, "role": "user", "changed": {"display_name": {"from": p, "to": p}},
            "note": p, "subject_id": p, "file": "Zebulon's notes.txt", "count": 3,
            "erased-0123456789abcdef01234567": true
        });
        assert_eq!(v, expected);
    }

    #[test]
    fn an_event_by_them_loses_their_address_and_browser_an_event_about_them_keeps_the_actors() {
        let n = needles();
        let by = StoredEvent {
            actor_id: Some(n.id.clone()),
            actor_name: Some("Zeb Quux".into()),
            actor_email: Some("zeb@example.org".into()),
            ip: Some("192.0.2.7".into()),
            user_agent: Some("Firefox".into()),
            target_id: Some("room-1".into()),
            target_name: Some("Board".into()),
            details: "null".into(),
            ..Default::default()
        };
        let out = pseudonymised(&by, &n).unwrap();
        assert_eq!(out.actor_id.as_deref(), Some(n.pseudonym.as_str()));
        assert_eq!(out.actor_name.as_deref(), Some(n.pseudonym.as_str()));
        assert_eq!((out.actor_email, out.ip, out.user_agent), (None, None, None));
        assert_eq!(out.target_name.as_deref(), Some("Board"));
        let about = StoredEvent {
            actor_id: Some("admin-1".into()),
            actor_name: Some("Ada".into()),
            ip: Some("192.0.2.1".into()),
            target_id: Some(n.id.clone()),
            target_name: Some("Zebulon".into()),
            target_path: Some("/people/Zebulon".into()),
            details: r#"{"email":"zeb@example.org"}"#.into(),
            ..Default::default()
        };
        let out = pseudonymised(&about, &n).unwrap();
        assert_eq!(out.actor_name.as_deref(), Some("Ada"));
        assert_eq!(out.ip.as_deref(), Some("192.0.2.1"));
        assert_eq!(out.target_id.as_deref(), Some(n.pseudonym.as_str()));
        assert_eq!(out.target_path, None);
        assert_eq!(out.details, format!(r#"{{"email":"{}"}}"#, n.pseudonym));
        let unrelated = StoredEvent {
            actor_name: Some("Ada".into()),
            details: r#"{"name":"Zebulon's notes.txt"}"#.into(),
            ..Default::default()
        };
        assert!(pseudonymised(&unrelated, &n).is_none());
    }
}
