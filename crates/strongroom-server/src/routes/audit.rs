//! The audit trail: search with filters and a cursor, export, the chain's state, retention.

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, Json, Query};
use crate::state::Shared;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use strongroom_service::audit::{self as service, AuditSettings, ExportFormat};
use strongroom_service::monitoring::{self, AlertRules, Per, RuleOutcome};
use strongroom_store::audit::report::{Report, ReportRow};
use strongroom_store::audit::seal::Seal;
use strongroom_store::audit::{AuditEntry, AuditFilter};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(export))
        .routes(routes!(chain))
        .routes(routes!(get_settings, set_settings))
        .routes(routes!(report))
        .routes(routes!(get_alerts, set_alerts))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilterQuery {
    /// The actor: a user id, or `link:LINK_ID`.
    actor: Option<String>,
    /// One action or several, comma-separated (e.g. `file.download,file.copy`).
    action: Option<String>,
    /// `documents`, `people`, `settings` or `audit`.
    product: Option<String>,
    /// E.g. `file`, `folder`, `auth`, `user`, `sign_in_rules`.
    module: Option<String>,
    /// The target's id.
    target: Option<String>,
    ip: Option<String>,
    /// `success`, `failure` or `denied`.
    outcome: Option<String>,
    /// `web`, `api`, `cli`, `link` or `system`.
    initiator: Option<String>,
    /// From this time on (ms since the epoch, inclusive).
    from: Option<i64>,
    /// Before this time (ms since the epoch, exclusive).
    to: Option<i64>,
    /// Text in the actor's name or e-mail, the target's name or path, the address or the
    /// details (case-insensitive).
    q: Option<String>,
}

impl FilterQuery {
    fn filter(self) -> ApiResult<AuditFilter> {
        let nonempty = |v: Option<String>| v.filter(|s| !s.is_empty());
        let actions: Vec<String> = self
            .action
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect();
        if actions.len() > 100 {
            return Err(ApiError::bad_request("at most 100 actions at once"));
        }
        Ok(AuditFilter {
            actor: nonempty(self.actor),
            actions,
            product: nonempty(self.product),
            module: nonempty(self.module),
            target: nonempty(self.target),
            ip: nonempty(self.ip),
            outcome: nonempty(self.outcome),
            initiator: nonempty(self.initiator),
            from: self.from,
            to: self.to,
            text: nonempty(self.q),
            oldest_first: false,
            cursor: None,
        })
    }
}

/// Which end of the trail a page starts from.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    Newest,
    Oldest,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// `newest` (default) or `oldest` first.
    #[param(inline)]
    order: Option<Order>,
    /// The next page: where the previous one ended, as its `Link` header gives it (the `seq`
    /// of its last event, or for a free-text search the place its reading stopped).
    cursor: Option<i64>,
    /// At most this many (default 100, at most 1000).
    limit: Option<i64>,
}

/// The audit trail (the audit module): every filter narrows, newest first. A page with more
/// after it has a `Link: <…>; rel="next"` header with the address of the next one. A free-text
/// search (`q`) reads the trail for at most about 50 ms per page: its page may hold fewer
/// events than the limit, even none, and still have a next.
#[utoipa::path(get, path = "/api/v1/audit", params(FilterQuery, PageQuery),
    responses((status = 200, body = Vec<AuditEntry>), (status = 400), (status = 403)))]
async fn search(
    State(st): State<Shared>,
    caller: Caller,
    Query(f): Query<FilterQuery>,
    Query(p): Query<PageQuery>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let mut filter = f.filter()?;
    filter.oldest_first = matches!(p.order, Some(Order::Oldest));
    filter.cursor = p.cursor;
    let limit = p.limit.unwrap_or(100).clamp(1, service::MAX_PAGE);
    let page = service::search(&st, &caller, &filter, limit).await?;
    let mut res = Json(&page.events).into_response();
    if let Some(next) = page.next {
        let query = {
            let mut q = form_urlencoded::Serializer::new(String::new());
            for (k, v) in form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes()) {
                if k != "cursor" {
                    q.append_pair(&k, &v);
                }
            }
            q.append_pair("cursor", &next.to_string());
            q.finish()
        };
        if let Ok(v) = HeaderValue::from_str(&format!("</api/v1/audit?{query}>; rel=\"next\"")) {
            res.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(res)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (default) or `jsonl`.
    #[param(inline)]
    format: Option<ExportFormat>,
}

/// Every event matching the filters, oldest first, as one CSV or JSON-lines download
/// (streamed: any length). The export is itself recorded (`audit.export`).
#[utoipa::path(get, path = "/api/v1/audit/export", params(FilterQuery, ExportQuery),
    responses((status = 200, description = "text/csv or application/x-ndjson"), (status = 400), (status = 403)))]
async fn export(
    State(st): State<Shared>,
    caller: Caller,
    Query(f): Query<FilterQuery>,
    Query(e): Query<ExportQuery>,
) -> ApiResult<Response> {
    let mut filter = f.filter()?;
    filter.oldest_first = true;
    let format = e.format.unwrap_or(ExportFormat::Csv);
    let pieces = service::export(&st, &caller, filter, format).await?;
    let body = Body::from_stream(pieces.map(|p| {
        p.map(bytes::Bytes::from).map_err(|e| {
            tracing::error!(error = %e, "audit export cut short");
            std::io::Error::other("audit export failed")
        })
    }));
    let (kind, name) = match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "audit.csv"),
        ExportFormat::Jsonl => ("application/x-ndjson", "audit.jsonl"),
    };
    Ok((
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        body,
    )
        .into_response())
}

/// The audit chain's state.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ChainStatus {
    /// The last event's place and hash.
    pub head_seq: i64,
    pub head_hash: String,
    /// The first kept event's place (after retention pruning).
    pub start_seq: i64,
    /// The newest seal.
    pub latest_seal: Option<Seal>,
    /// The public key this node seals with (hex Ed25519): what `strongroom audit verify
    /// --public-key` and independent verifiers check the seals against.
    pub seal_public_key: String,
}

/// Where the audit chain stands and the key that seals it (the audit module).
#[utoipa::path(get, path = "/api/v1/audit/chain", responses((status = 200, body = ChainStatus), (status = 403)))]
async fn chain(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<ChainStatus>> {
    let (state, latest_seal) = service::chain(&st, &caller).await?;
    Ok(Json(ChainStatus {
        head_seq: state.head_seq,
        head_hash: state.head_hash,
        start_seq: state.start_seq,
        latest_seal,
        seal_public_key: st.seal_key.public_key_hex(),
    }))
}

/// How long the audit trail is kept (the audit module may read it).
#[utoipa::path(get, path = "/api/v1/settings/audit", responses((status = 200, body = AuditSettings), (status = 403)))]
async fn get_settings(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<AuditSettings>> {
    Ok(Json(service::read_audit_settings(&st, &caller).await?))
}

/// Sets how long the audit trail is kept: the Owner only, with a fresh second factor when
/// enrolled. A field left out takes its default; unknown fields are refused.
#[utoipa::path(put, path = "/api/v1/settings/audit", request_body = AuditSettings,
    responses((status = 200, body = AuditSettings), (status = 400), (status = 403)))]
async fn set_settings(
    State(st): State<Shared>,
    caller: Caller,
    Json(req): Json<serde_json::Value>,
) -> ApiResult<Json<AuditSettings>> {
    let settings = super::settings::setting_body(req, "audit settings")?;
    Ok(Json(
        service::set_audit_settings(&st, (&caller).into(), settings).await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// From this time on (ms since the epoch); default: 30 days before `to`.
    #[param(minimum = 0)]
    from: Option<i64>,
    /// Before this time (ms since the epoch); default: now.
    #[param(minimum = 1)]
    to: Option<i64>,
    /// At most this many lines (1 to 10,000; default 1,000), largest counts first.
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<i64>,
}

/// A monitoring report (the audit module), counted over the trail, largest counts first:
/// `downloads` (successful downloads per person or link and UTC day), `failed_sign_ins`
/// (refused sign-ins per client address), `sharing` (grants set or removed, links made or
/// revoked, room restrictions changed: per person and action), `link_uses` (what link holders
/// did, per link and action), `admin_actions` (per person and action). The events behind a
/// line: `GET /api/v1/audit` with the same filters.
#[utoipa::path(get, path = "/api/v1/audit/reports/{report}", params(("report" = inline(Report), Path), ReportQuery),
    responses((status = 200, body = Vec<ReportRow>), (status = 403)))]
async fn report(
    State(st): State<Shared>,
    caller: Caller,
    crate::extract::Path(which): crate::extract::Path<Report>,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Json<Vec<ReportRow>>> {
    let to = q.to.unwrap_or_else(|| st.now() + 1);
    let from = q.from.unwrap_or(to.saturating_sub(30 * 86_400_000));
    let limit = q.limit.unwrap_or(1000);
    if !(1..=monitoring::MAX_REPORT).contains(&limit) {
        return Err(strongroom_service::Error::invalid("limit must be 1 to 10000").into());
    }
    Ok(Json(monitoring::report(&st, &caller, which, from, to, limit).await?))
}

/// The alert rules (the audit module may read them).
#[utoipa::path(get, path = "/api/v1/settings/alerts", responses((status = 200, body = AlertRules), (status = 403)))]
async fn get_alerts(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<AlertRules>> {
    Ok(Json(monitoring::read_alert_rules(&st, &caller).await?))
}

/// Replaces the alert rules (administrators of the audit trail and of the settings both).
/// Each rule counts the events of its actions (and outcome) per person or per client address
/// over its window; more than its threshold fires it: an `audit.alert` event, and a mail to
/// each address of `notify` (when mail is set up). It fires again for the same person or
/// address only once its window has passed. Rules are checked every
/// `[audit] alert_interval_secs` seconds.
#[utoipa::path(put, path = "/api/v1/settings/alerts", request_body = AlertRulesBody,
    responses((status = 200, body = AlertRules), (status = 400), (status = 403)))]
async fn set_alerts(
    State(st): State<Shared>,
    caller: Caller,
    Json(req): Json<serde_json::Value>,
) -> ApiResult<Json<AlertRules>> {
    let rules = super::settings::setting_body(req, "alert rules")?;
    Ok(Json(monitoring::set_alert_rules(&st, (&caller).into(), rules).await?))
}

/// The alert rules as `PUT /api/v1/settings/alerts` takes them: `AlertRules` with the limits
/// the service checks written into the schema.
#[derive(utoipa::ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // only describes the request body in the OpenAPI document
pub(crate) struct AlertRulesBody {
    #[schema(max_items = 50)]
    rules: Vec<AlertRuleBody>,
}

/// One alert rule (see `AlertRule`).
#[derive(utoipa::ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // only describes the request body in the OpenAPI document
pub(crate) struct AlertRuleBody {
    #[schema(value_type = crate::openapi::Name)]
    name: String,
    #[schema(min_items = 1, max_items = 50, value_type = Vec<crate::openapi::ActionName>)]
    actions: Vec<String>,
    #[schema(required = false)]
    outcome: Option<RuleOutcome>,
    per: Per,
    #[schema(minimum = 1, maximum = 1000000)]
    threshold: u32,
    #[schema(minimum = 1, maximum = 10080)]
    window_minutes: u32,
    #[schema(max_items = 20, value_type = Vec<crate::openapi::Email>, required = false)]
    notify: Vec<String>,
}
