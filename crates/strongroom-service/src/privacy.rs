//! The data-subject rights (GDPR art. 15, 17, 18, 20): a person's data as one archive,
//! their erasure, and restricting the processing of their data (freezing them).
//!
//! Who may: a person exports their own data; an Administrator of people who ranks above a
//! person may export and freeze them, and one who administers documents too may erase them
//! (their files go with them); export and erasure want a fresh second factor (both hand over
//! or destroy everything of a person); the console may do all. An export holds
//! only the files its operator may download: the right of access is no way around a room's
//! rights.

use crate::access::guard_file_for;
use crate::{Error, Operator, Requester, Result, Service};
use futures::StreamExt;
use rand::RngCore;
use std::collections::BTreeSet;
use std::io::{Seek, Write};
use strongroom_core::audit::AuditAction;
use strongroom_core::ids::UserId;
use strongroom_core::{Action, Capability, Rank, Resource, authorize};
use strongroom_store::people::{self, User};
use strongroom_store::privacy::{self as store, FileFate};
use strongroom_store::{audit, content, login_history, rooms, second_factors, sessions};
use zip::write::SimpleFileOptions;

/// What becomes of an erased person's files.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase", tag = "files", deny_unknown_fields)]
pub enum Files {
    /// Recorded as made by this person from now on.
    Transfer {
        #[schema(value_type = String)]
        transfer_to: UserId,
    },
    /// Deleted with every version.
    Delete,
}

/// What an erasure did, as its audit event records it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Erasure {
    /// What stands for the person in the audit trail from now on.
    pub pseudonym: String,
    /// How many audit events were pseudonymised.
    pub events: u64,
    /// SHA-256 (hex) over their ids (`docs/formats/audit-chain-v1.md` §6).
    pub events_digest: String,
    pub files_transferred: u64,
    pub files_deleted: u64,
    pub links_deleted: u64,
    pub login_history_deleted: u64,
}

/// What an export archive holds.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ExportSummary {
    pub files: u64,
    /// Owned files left out: the operator may not download them.
    pub files_withheld: u64,
    pub bytes: u64,
    pub login_history: u64,
    pub audit_events: u64,
}

/// Checks `by` may do `action` to `person`; a signed-in administrator needs a fresh second
/// factor for what hands over or destroys a person's data (`what` names it).
async fn may_act_on(
    svc: &Service,
    by: Operator<'_>,
    person: &User,
    action: Action,
    what: &'static str,
    fresh: bool,
) -> Result<()> {
    if let Operator::User(c) = by {
        let rank = Rank::of(person.role, person.modules());
        authorize(&c.actor, action, Resource::Person { rank })?;
        if fresh {
            crate::second_factor::require_fresh(svc, c, what).await?;
        }
    }
    Ok(())
}

/// Freezes a person (restricts the processing of their data: no sign-in, their sessions end,
/// their tokens and links stop working, nothing is mailed to them; nothing of theirs is
/// changed) or unfreezes them.
pub async fn set_frozen(svc: &Service, by: Operator<'_>, id: &UserId, frozen: bool) -> Result<User> {
    let person = people::get_user(&svc.db, id).await?;
    may_act_on(svc, by, &person, Action::ManagePerson, "freezing a person", false).await?;
    let mut change = svc.change_by_operator(by).await?;
    people::still_as_seen(&mut change, &person, None).await?;
    let (user, changed) = people::set_frozen(&mut change, id, frozen).await?;
    if !changed {
        return Err(Error::Conflict(
            if frozen {
                "the person is already frozen"
            } else {
                "the person is not frozen"
            }
            .into(),
        ));
    }
    let action = if frozen {
        AuditAction::UserFreeze
    } else {
        AuditAction::UserUnfreeze
    };
    change.commit(&by.event(action).target("user", id)).await?;
    Ok(user)
}

/// A new pseudonym: `erased-` and 24 random hex digits, recorded nowhere but in the events.
fn pseudonym() -> String {
    let mut b = [0u8; 12];
    rand::rng().fill_bytes(&mut b);
    format!("erased-{}", hex::encode(b))
}

/// Erases a person: their account and every row that names them, their files transferred or
/// deleted as `files` says, their audit events pseudonymised, in one change with the
/// `user.erase` event. The Owner cannot be erased.
pub async fn erase(svc: &Service, by: Operator<'_>, id: &UserId, files: &Files) -> Result<Erasure> {
    let person = people::get_user(&svc.db, id).await?;
    may_act_on(svc, by, &person, Action::ErasePerson, "erasing a person", true).await?;
    let heir = match files {
        Files::Transfer { transfer_to } => Some(people::get_user(&svc.db, transfer_to).await.map_err(|e| match e {
            strongroom_store::StoreError::NotFound(_) => Error::invalid("transfer_to names nobody"),
            e => e.into(),
        })?),
        Files::Delete => None,
    };
    let fate = match &heir {
        Some(h) => FileFate::Transfer(h),
        None => FileFate::Delete,
    };
    let pseudonym = pseudonym();
    let email = crate::account::typed_email(&person.email);
    let throttles = [
        crate::account::attempt_key(&person.email),
        strongroom_auth::token::hash(&format!("reset:{email}")),
        strongroom_auth::token::hash(&format!("sign-up:{email}")),
    ];
    // Their address leaves the alert rules too (read before the change: on SQLite a change
    // holds the one writer).
    let rules = crate::monitoring::rules_without(svc, &person.email).await?;
    let mut change = svc.change_by_operator(by).await?;
    let done = store::erase(&mut change, &person, fate, &pseudonym, &throttles).await?;
    if let Some(rules) = rules {
        strongroom_store::settings::put(&mut change, crate::monitoring::ALERT_RULES, &rules).await?;
        change
            .record(
                &by.event(AuditAction::AlertRulesSet)
                    .details(serde_json::json!({"removed_address_of": pseudonym})),
            )
            .await?;
    }
    let digest = hex::encode(audit::chain::erased_ids_digest(done.events.iter().map(String::as_str)));
    let erasure = Erasure {
        pseudonym: pseudonym.clone(),
        events: done.events.len() as u64,
        events_digest: digest,
        files_transferred: done.files_transferred,
        files_deleted: done.files_deleted,
        links_deleted: done.links_deleted,
        login_history_deleted: done.login_history_deleted,
    };
    let mut details = serde_json::to_value(&erasure).map_err(|e| Error::Internal(e.to_string()))?;
    details["files"] = serde_json::json!(if heir.is_some() { "transfer" } else { "delete" });
    if let Some(h) = &heir {
        details["transfer_to"] = serde_json::json!(h.id);
    }
    change
        .commit(
            &by.event(AuditAction::UserErase)
                .target("user", &pseudonym)
                .details(details),
        )
        .await?;
    store::flush(&svc.db).await?;
    Ok(erasure)
}

/// Exports running on this node (one at a time).
static EXPORTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// What the archive's README says.
const README: &str = "\
This archive holds the personal data Strongroom keeps about one person, as of the time in
profile.json (`exported_at`, milliseconds since 1970-01-01 UTC). Every file is in an open
format: JSON (RFC 8259), JSON lines (one JSON object per line) and the files as uploaded.

profile.json        The account: id, e-mail address, display name, role, modules
                    administered, state (active, frozen), when it was made.
settings.json       Second factors (kind, label, phone number for SMS, when added and last
                    used; never a secret), backup codes left, API tokens (name, scope, expiry;
                    never the token), browser sessions open now (address, browser, times).
login-history.json  Every sign-in, refusal (with its reason), sign-out and session expiry
                    kept for the account, newest first.
audit-events.jsonl  Every audit-trail event the person did or that was done to them, oldest
                    first: time, action, actor, target, address, browser, outcome, details.
files.json          The files the person owns (made), each with its room, path, size,
                    SHA-256 of its bytes and where it is in this archive; `withheld` counts
                    owned files the exporting operator may not download.
files/              Those files, the current version of each, byte for byte as uploaded,
                    under files/<room>/<folders>/<name>.

Where the data comes from and how long it is kept: docs/privacy.md of Strongroom.
";

fn zip_err(e: zip::result::ZipError) -> Error {
    Error::Internal(format!("writing the archive: {e}"))
}

fn io_err(e: std::io::Error) -> Error {
    Error::Internal(format!("writing the archive: {e}"))
}

/// A name inside the archive for a file: its room and path, unique (a repeat gets ` (2)`…).
fn archive_name(used: &mut BTreeSet<String>, room: &str, folders: &[String], name: &str) -> String {
    let clean = |s: &str| match s.replace(['/', '\\'], "_") {
        s if s.is_empty() || s == "." || s == ".." => "_".to_string(),
        s => s,
    };
    let mut dir: Vec<String> = vec!["files".into(), clean(room)];
    dir.extend(folders.iter().map(|f| clean(f)));
    let base = format!("{}/{}", dir.join("/"), clean(name));
    let mut candidate = base.clone();
    let mut n = 2;
    while !used.insert(candidate.clone()) {
        let (dir, file) = base.rsplit_once('/').unwrap_or(("", &base));
        candidate = match file.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => format!("{dir}/{stem} ({n}).{ext}"),
            _ => format!("{base} ({n})"),
        };
        n += 1;
    }
    candidate
}

/// Writes a person's data as one ZIP archive into `out` (a file the caller made, so nothing
/// is held in memory whole: the files stream in piece by piece). Recorded as `user.export`.
pub async fn export<W: Write + Seek>(svc: &Service, by: Operator<'_>, id: &UserId, out: W) -> Result<ExportSummary> {
    let person = people::get_user(&svc.db, id).await?;
    match by {
        Operator::User(c) if c.actor.user_id == *id => {
            authorize(&c.actor, Action::ManageOwnAccount, Resource::Instance)?;
            crate::second_factor::require_fresh(svc, c, "exporting your data").await?;
        }
        _ => may_act_on(svc, by, &person, Action::ManagePerson, "exporting someone's data", true).await?,
    }
    // One export at a time per node: each reads every file a person owns.
    let _turn = EXPORTS.try_acquire().map_err(|_| {
        Error::Conflict("an export is already running on this server: try again once it is done".into())
    })?;
    // What of the trail the operator may see: all of it for the audit module and the
    // console; otherwise only what the person did and, without anyone else's address,
    // browser or e-mail, what was done to them; never the alerts about them.
    let reads_audit = match by {
        Operator::User(c) => authorize(&c.actor, Action::ReadAudit, Resource::Instance).is_ok(),
        Operator::Console => true,
    };
    // The names and paths of documents the person worked on are theirs to take away, and
    // the audit module's to read; a people administrator exporting someone else's data may
    // not see into rooms that way.
    let sees_places = reads_audit || matches!(by, Operator::User(c) if c.actor.user_id == *id);
    let now = svc.now();
    let mut zip = zip::ZipWriter::new(out);
    let text = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let json = |v: &serde_json::Value| serde_json::to_vec_pretty(v).map_err(|e| Error::Internal(e.to_string()));
    let mut summary = ExportSummary::default();

    zip.start_file("README.txt", text).map_err(zip_err)?;
    zip.write_all(README.as_bytes()).map_err(io_err)?;

    let mut profile = serde_json::to_value(&person).map_err(|e| Error::Internal(e.to_string()))?;
    profile["exported_at"] = now.into();
    zip.start_file("profile.json", text).map_err(zip_err)?;
    zip.write_all(&json(&profile)?).map_err(io_err)?;

    let factors: Vec<serde_json::Value> = second_factors::list(&svc.db, id)
        .await?
        .into_iter()
        .map(|f| {
            serde_json::json!({"id": f.id.to_string(), "kind": f.kind, "label": f.label, "phone": f.phone,
                "confirmed_at": f.confirmed_at, "created_at": f.created_at, "last_used_at": f.last_used_at})
        })
        .collect();
    let open_sessions: Vec<serde_json::Value> = sessions::list_sessions(&svc.db, id, now)
        .await?
        .into_iter()
        .map(|s| {
            serde_json::json!({"id": s.id, "created_at": s.created_at, "last_seen_at": s.last_seen_at,
                "expires_at": s.expires_at, "ip": s.ip, "user_agent": s.user_agent, "factors": s.factors})
        })
        .collect();
    let settings = serde_json::json!({
        "second_factors": factors,
        "backup_codes_left": second_factors::backup_codes_left(&svc.db, id).await?,
        "api_tokens": sessions::list_tokens(&svc.db, id).await?,
        "sessions": open_sessions,
    });
    zip.start_file("settings.json", text).map_err(zip_err)?;
    zip.write_all(&json(&settings)?).map_err(io_err)?;

    let mut history = Vec::new();
    let mut before_id = None;
    loop {
        let page = login_history::list(
            &svc.db,
            &login_history::Filter {
                user_id: Some(id.clone()),
                before_id: before_id.clone(),
                limit: 1000,
                ..Default::default()
            },
        )
        .await?;
        let Some(last) = page.last() else { break };
        before_id = Some(last.id.clone());
        let full = page.len() == 1000;
        history.extend(page);
        if !full {
            break;
        }
    }
    summary.login_history = history.len() as u64;
    zip.start_file("login-history.json", text).map_err(zip_err)?;
    zip.write_all(&json(
        &serde_json::to_value(&history).map_err(|e| Error::Internal(e.to_string()))?,
    )?)
    .map_err(io_err)?;

    zip.start_file("audit-events.jsonl", text).map_err(zip_err)?;
    let mut after = 0;
    loop {
        let page = audit::query::about(&svc.db, id.as_str(), after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in &page {
            let by_them = e.actor_id.as_deref() == Some(id.as_str());
            if !reads_audit && !by_them && e.action == AuditAction::AlertFire.name() {
                continue;
            }
            let mut e = e.clone();
            if !reads_audit && !by_them {
                (e.actor_email, e.ip, e.user_agent, e.browser, e.platform) = (None, None, None, None, None);
                e.redescribe();
            }
            if !sees_places && matches!(e.target_kind.as_deref(), Some("file" | "folder" | "room")) {
                e.withhold_document();
            }
            zip.write_all(audit::query::json_line(&e).as_bytes()).map_err(io_err)?;
            summary.audit_events += 1;
        }
        if page.len() < 1000 {
            break;
        }
    }

    let mut listed = Vec::new();
    let mut used = BTreeSet::new();
    let mut trees = std::collections::HashMap::new();
    for file in content::owned_files(&svc.db, id).await? {
        // Only what the operator could download, unstamped: a room that stamps their
        // downloads keeps its files out of the archive (they download them, stamped).
        if let Operator::User(c) = by {
            let who = Requester::User(c);
            let allowed = match guard_file_for(svc, who, &file.id, Capability::Download).await {
                Ok(g) => crate::documents::refuse_unstamped_copy(svc, who, &g).await.is_ok(),
                Err(_) => false,
            };
            if !allowed {
                summary.files_withheld += 1;
                continue;
            }
        }
        let room = rooms::get_room(&svc.db, &file.room_id).await?;
        if !trees.contains_key(&room.id) {
            trees.insert(room.id.clone(), content::folder_tree(&svc.db, &room.id).await?);
        }
        let folders = trees[&room.id].names_to(&file.folder_id);
        let path = archive_name(&mut used, &room.name, &folders, &file.name);
        let v = content::get_version(&svc.db, &file.id, file.version).await?;
        let size = u64::try_from(v.size).unwrap_or(0);
        let opts = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(size >= u64::from(u32::MAX));
        zip.start_file(path.as_str(), opts).map_err(zip_err)?;
        let mut digest = <sha2::Sha256 as sha2::Digest>::new();
        if size > 0 {
            let mut stream = svc.blobs.get(&v.blob_key, None, v.encryption.as_ref(), size).await?;
            while let Some(piece) = stream.next().await {
                let piece = piece.map_err(strongroom_store::StoreError::Io)?;
                sha2::Digest::update(&mut digest, &piece);
                zip.write_all(&piece).map_err(io_err)?;
            }
        }
        // The bytes handed out are the ones stored, or the export fails (as a download does).
        if hex::encode(sha2::Digest::finalize(digest)) != v.sha256 {
            svc.audit(
                by.event(AuditAction::IntegrityFailure)
                    .target("file", &file.id)
                    .details(serde_json::json!({"version": v.version, "via": "export"})),
            )
            .await?;
            return Err(Error::Internal(format!(
                "file {} failed its integrity check; the export stopped",
                file.id
            )));
        }
        // Each file leaves like a download, and counts as one (reports, alert rules).
        svc.audit(
            by.event(AuditAction::FileDownload)
                .target("file", &file.id)
                .details(serde_json::json!({"version": v.version, "size": v.size, "via": "export"})),
        )
        .await?;
        summary.files += 1;
        summary.bytes += size;
        listed.push(serde_json::json!({
            "id": file.id.to_string(), "room": room.name, "folders": folders, "name": file.name,
            "version": v.version, "size": v.size, "sha256": v.sha256, "content_type": v.content_type,
            "created_at": file.created_at, "archive_path": path,
        }));
    }
    zip.start_file("files.json", text).map_err(zip_err)?;
    zip.write_all(&json(
        &serde_json::json!({"files": listed, "withheld": summary.files_withheld}),
    )?)
    .map_err(io_err)?;
    zip.finish().map_err(zip_err)?;
    svc.audit(
        by.event(AuditAction::UserExport)
            .target("user", id)
            .details(serde_json::to_value(&summary).map_err(|e| Error::Internal(e.to_string()))?),
    )
    .await?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names_are_unique_and_stay_inside_files() {
        let mut used = BTreeSet::new();
        let f = vec!["Cases".to_string(), "2026/Q4".to_string()];
        assert_eq!(
            archive_name(&mut used, "Board", &f, "a.pdf"),
            "files/Board/Cases/2026_Q4/a.pdf"
        );
        assert_eq!(
            archive_name(&mut used, "Board", &f, "a.pdf"),
            "files/Board/Cases/2026_Q4/a (2).pdf"
        );
        assert_eq!(
            archive_name(&mut used, "Board", &f, "a.pdf"),
            "files/Board/Cases/2026_Q4/a (3).pdf"
        );
        assert_eq!(archive_name(&mut used, "../x", &[], "..\\y"), "files/.._x/.._y");
        assert_eq!(archive_name(&mut used, "..", &[".".into()], ""), "files/_/_/_");
        assert_eq!(archive_name(&mut used, "R", &[], "notes"), "files/R/notes");
        assert_eq!(archive_name(&mut used, "R", &[], "notes"), "files/R/notes (2)");
        assert_eq!(archive_name(&mut used, "R.x", &[], "notes"), "files/R.x/notes");
        assert_eq!(archive_name(&mut used, "R.x", &[], "notes"), "files/R.x/notes (2)");
        assert_eq!(archive_name(&mut used, "R", &[], ".env"), "files/R/.env");
        assert_eq!(archive_name(&mut used, "R", &[], ".env"), "files/R/.env (2)");
    }

    #[test]
    fn pseudonyms_are_erased_and_24_hex_digits() {
        let p = pseudonym();
        assert!(store::is_pseudonym(&p), "{p}");
        assert_ne!(p, pseudonym());
    }
}
