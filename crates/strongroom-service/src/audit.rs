//! The audit trail for those who read it (the audit module): search, export, retention. The
//! trail is written by the store alone, in each change's transaction; here it is only read,
//! and its reading is itself recorded when it hands the trail out (an export).

use crate::{Caller, Error, Operator, Result, Service};
use futures::stream::{self, BoxStream, StreamExt};
use strongroom_core::audit::AuditAction;
use strongroom_core::{Action, Resource, Role, authorize};
use strongroom_store::audit::{self as trail, AuditFilter, AuditPage};

/// The setting's name in the database.
const AUDIT_SETTINGS: &str = "audit";

/// How long the audit trail is kept (`/api/v1/settings/audit`, `strongroom admin settings
/// audit`). The login history has its own retention, in the sign-in rules.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AuditSettings {
    /// Days an event is kept (365 to 36,500; default 2,190, six years: HIPAA keeps its
    /// documentation that long). Older events are removed from a sealed place on.
    #[schema(minimum = 365, maximum = 36500)]
    pub retention_days: u32,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings { retention_days: 2190 }
    }
}

/// The audit settings in force.
pub async fn audit_settings(svc: &Service) -> Result<AuditSettings> {
    Ok(strongroom_store::settings::get(&svc.db, AUDIT_SETTINGS)
        .await?
        .unwrap_or_default())
}

/// The audit settings, for readers of the audit trail.
pub async fn read_audit_settings(svc: &Service, caller: &Caller) -> Result<AuditSettings> {
    authorize(&caller.actor, Action::ReadAudit, Resource::Instance)?;
    audit_settings(svc).await
}

/// Sets the audit settings: the Owner (with a fresh factor) or the console. A shorter
/// retention removes evidence, so no administrator of a module may choose it.
pub async fn set_audit_settings(svc: &Service, by: Operator<'_>, settings: AuditSettings) -> Result<AuditSettings> {
    if !(365..=36_500).contains(&settings.retention_days) {
        return Err(Error::invalid("retention_days must be 365 to 36500"));
    }
    if let Operator::User(c) = by {
        authorize(&c.actor, Action::ManageSettings, Resource::Instance)?;
        if c.actor.role != Role::Owner {
            return Err(Error::Forbidden(
                "only the Owner changes how long the audit trail is kept".into(),
            ));
        }
        crate::second_factor::require_fresh(svc, c, "changing the audit retention").await?;
    }
    crate::settings::put(
        svc,
        by,
        AUDIT_SETTINGS,
        AuditAction::AuditSettingsSet,
        settings,
        AuditSettings::default(),
    )
    .await
}

/// The longest page of a search.
pub const MAX_PAGE: i64 = 1000;

/// One page of events matching `filter` (the audit module), and where the next one starts.
pub async fn search(svc: &Service, caller: &Caller, filter: &AuditFilter, limit: i64) -> Result<AuditPage> {
    authorize(&caller.actor, Action::ReadAudit, Resource::Instance)?;
    Ok(trail::search(&svc.db, filter, limit.clamp(1, MAX_PAGE)).await?)
}

/// How an export is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// RFC 4180, with a header line.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl ExportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Jsonl => "jsonl",
        }
    }
}

/// Every event matching `filter`, rendered, as a stream of text pieces (pages of 1000 events:
/// memory stays flat however long the trail). The export is recorded first, with its filter:
/// who took the trail away is part of the trail.
pub async fn export(
    svc: &Service,
    caller: &Caller,
    filter: AuditFilter,
    format: ExportFormat,
) -> Result<BoxStream<'static, Result<String>>> {
    authorize(&caller.actor, Action::ReadAudit, Resource::Instance)?;
    svc.audit(
        caller
            .event(AuditAction::AuditExport)
            .details(serde_json::json!({"format": format.as_str(), "filter": describe(&filter)})),
    )
    .await?;
    Ok(export_stream(svc.db.clone(), filter, format))
}

/// The pages of an export, without authorization: for the console and for [`export`].
pub fn export_stream(
    db: strongroom_store::Db,
    filter: AuditFilter,
    format: ExportFormat,
) -> BoxStream<'static, Result<String>> {
    let header = match format {
        ExportFormat::Csv => Some(Ok(trail::query::csv_header())),
        ExportFormat::Jsonl => None,
    };
    let pages = stream::try_unfold(Some(filter), move |state| {
        let db = db.clone();
        async move {
            let Some(mut filter) = state else { return Ok(None) };
            let page = trail::search(&db, &filter, MAX_PAGE).await?;
            let text: String = page
                .events
                .iter()
                .map(|e| match format {
                    ExportFormat::Csv => trail::query::csv_line(e),
                    ExportFormat::Jsonl => trail::query::json_line(e),
                })
                .collect();
            let next = page.next.map(|cursor| {
                filter.cursor = Some(cursor);
                filter
            });
            Ok::<_, Error>(Some((text, next)))
        }
    })
    .filter(|t| std::future::ready(!matches!(t, Ok(s) if s.is_empty())));
    stream::iter(header).chain(pages).boxed()
}

/// A filter as the export's audit event records it.
fn describe(f: &AuditFilter) -> serde_json::Value {
    serde_json::json!({
        "actor": f.actor, "actions": f.actions, "product": f.product, "module": f.module,
        "target": f.target, "ip": f.ip, "outcome": f.outcome, "initiator": f.initiator,
        "from": f.from, "to": f.to, "text": f.text,
    })
}

/// Removes the events older than the retention (every node, each minute; idempotent and
/// cheap when nothing is due). The chain's start moves only to a sealed place.
pub async fn sweep(svc: &Service) -> Result<()> {
    let settings = audit_settings(svc).await?;
    let now = svc.now();
    let before = now - i64::from(settings.retention_days) * 86_400_000;
    let event = strongroom_core::audit::AuditEvent::new(AuditAction::AuditPrune)
        .details(serde_json::json!({"retention_days": settings.retention_days, "before": before}));
    // Alert firings a week past the longest window (a week) are of no more use.
    trail::report::forget_alerts(&svc.db, now - 14 * 86_400_000).await?;
    if let Some(p) = trail::seal::prune(&svc.db, before, now, event).await? {
        tracing::info!(
            start_seq = p.start_seq,
            events = p.events,
            "audit events past their retention removed"
        );
    }
    Ok(())
}

/// The chain's head and start, and its newest seal (the audit module).
pub async fn chain(svc: &Service, caller: &Caller) -> Result<(trail::seal::ChainState, Option<trail::seal::Seal>)> {
    authorize(&caller.actor, Action::ReadAudit, Resource::Instance)?;
    Ok((
        trail::seal::chain_state(&svc.db).await?,
        trail::seal::latest(&svc.db).await?,
    ))
}
