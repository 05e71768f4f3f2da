//! Active sessions, the unlock of an account after failed sign-ins, and the login history.

use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path, Query};
use crate::state::Shared;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use strongroom_core::ids::UserId;
use strongroom_service::sign_in::{self, SessionInfo};
use strongroom_store::login_history::{Filter, LoginEvent};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(my_sessions))
        .routes(routes!(end_my_session))
        .routes(routes!(end_my_other_sessions))
        .routes(routes!(my_login_history))
        .routes(routes!(user_sessions, end_user_sessions))
        .routes(routes!(user_lockout, unlock_user))
        .routes(routes!(login_history))
}

/// The caller's active browser sessions (`current` marks this one).
#[utoipa::path(get, path = "/api/v1/auth/sessions", responses((status = 200, body = Vec<SessionInfo>)))]
async fn my_sessions(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<Vec<SessionInfo>>> {
    Ok(Json(sign_in::list_sessions(&st, &caller, &caller.actor.user_id).await?))
}

/// Ends one of the caller's sessions (this one too, if named: a sign-out).
#[utoipa::path(delete, path = "/api/v1/auth/sessions/{id}", params(("id" = String, Path, description = "`ses_…`")),
    responses((status = 204), (status = 404)))]
async fn end_my_session(State(st): State<Shared>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    sign_in::end_sessions(&st, (&caller).into(), &caller.actor.user_id, Some(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Ended {
    /// The ids of the sessions ended.
    ended: Vec<String>,
}

/// Ends every session of the caller's but the one this request came with.
#[utoipa::path(post, path = "/api/v1/auth/sessions/end-others", responses((status = 200, body = Ended)))]
async fn end_my_other_sessions(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<Ended>> {
    let ended = sign_in::end_sessions(&st, (&caller).into(), &caller.actor.user_id, None).await?;
    Ok(Json(Ended { ended }))
}

/// A person's active sessions (administrators of people, for someone ranking below them).
#[utoipa::path(get, path = "/api/v1/users/{id}/sessions", params(("id" = crate::openapi::Id, Path)),
    responses((status = 200, body = Vec<SessionInfo>), (status = 403), (status = 404)))]
async fn user_sessions(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<UserId>,
) -> ApiResult<Json<Vec<SessionInfo>>> {
    Ok(Json(sign_in::list_sessions(&st, &caller, &id).await?))
}

/// Ends every session of a person (administrators of people, for someone ranking below
/// them; one's own: every one but this).
#[utoipa::path(delete, path = "/api/v1/users/{id}/sessions", params(("id" = crate::openapi::Id, Path)),
    responses((status = 200, body = Ended), (status = 403), (status = 404)))]
async fn end_user_sessions(State(st): State<Shared>, caller: Caller, Path(id): Path<UserId>) -> ApiResult<Json<Ended>> {
    let ended = sign_in::end_sessions(&st, (&caller).into(), &id, None).await?;
    Ok(Json(Ended { ended }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Lockout {
    /// Until when sign-in is blocked after failed attempts, from some address or from all
    /// (ms since the epoch); `null`: it is not.
    blocked_until: Option<i64>,
}

/// Whether a person's sign-in is blocked after too many failed attempts.
#[utoipa::path(get, path = "/api/v1/users/{id}/lockout", params(("id" = crate::openapi::Id, Path)),
    responses((status = 200, body = Lockout), (status = 403), (status = 404)))]
async fn user_lockout(State(st): State<Shared>, caller: Caller, Path(id): Path<UserId>) -> ApiResult<Json<Lockout>> {
    Ok(Json(Lockout {
        blocked_until: sign_in::blocked_until(&st, &caller, &id).await?,
    }))
}

/// Lifts every block and count of failed sign-ins on a person (administrators of people,
/// for someone ranking below them).
#[utoipa::path(delete, path = "/api/v1/users/{id}/lockout", params(("id" = crate::openapi::Id, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
async fn unlock_user(State(st): State<Shared>, caller: Caller, Path(id): Path<UserId>) -> ApiResult<StatusCode> {
    sign_in::unlock(&st, (&caller).into(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Only this person's events (the whole history needs the audit module).
    #[param(value_type = Option<crate::openapi::Id>)]
    user_id: Option<UserId>,
    /// `login`, `failure`, `logout` or `expired`.
    event: Option<String>,
    /// E.g. `bad_password`, `unknown_user`, `locked`, `ip_denied`, `disabled`, `idle`.
    reason: Option<String>,
    ip: Option<String>,
    /// From this time on (ms since the epoch, inclusive).
    from: Option<i64>,
    /// Before this time (ms since the epoch, exclusive).
    to: Option<i64>,
    /// The next page: events older than the event with this id.
    before: Option<String>,
    /// At most this many (default 100, at most 10,000).
    limit: Option<i64>,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

/// The caller's own login history, newest first.
#[utoipa::path(get, path = "/api/v1/auth/login-history", params(HistoryQuery),
    responses((status = 200, body = Vec<LoginEvent>, description = "JSON, or CSV with `format=csv`")))]
async fn my_login_history(
    State(st): State<Shared>,
    caller: Caller,
    Query(mut q): Query<HistoryQuery>,
) -> ApiResult<Response> {
    q.user_id = Some(caller.actor.user_id.clone());
    history(&st, &caller, q).await
}

/// The login history of everyone (administrators of the audit module), newest first, as JSON
/// or CSV.
#[utoipa::path(get, path = "/api/v1/login-history", params(HistoryQuery),
    responses((status = 200, body = Vec<LoginEvent>, description = "JSON, or CSV with `format=csv`"), (status = 403)))]
async fn login_history(State(st): State<Shared>, caller: Caller, Query(q): Query<HistoryQuery>) -> ApiResult<Response> {
    history(&st, &caller, q).await
}

async fn history(st: &Shared, caller: &Caller, q: HistoryQuery) -> ApiResult<Response> {
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(crate::error::ApiError::bad_request(format!(
                "format must be json or csv, not {other:?}"
            )));
        }
    };
    let filter = Filter {
        user_id: q.user_id,
        event: q.event,
        reason: q.reason,
        ip: q.ip,
        from: q.from,
        to: q.to,
        before_id: q.before,
        limit: q.limit.unwrap_or(100),
    };
    let events = sign_in::login_history(st, caller, filter).await?;
    if !csv {
        return Ok(Json(events).into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"login-history.csv\"",
            ),
        ],
        to_csv(&events),
    )
        .into_response())
}

/// The events as CSV (RFC 4180, cells as `strongroom_store::csv` writes them), one header row.
fn to_csv(events: &[LoginEvent]) -> String {
    let mut out = String::from("id,at,time_utc,event,reason,user_id,email,ip,browser,platform\r\n");
    for e in events {
        let time = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(e.at) * 1_000_000)
            .ok()
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_default();
        let cols = [
            e.id.clone(),
            e.at.to_string(),
            time,
            e.event.clone(),
            e.reason.clone().unwrap_or_default(),
            e.user_id.as_ref().map(|u| u.as_str().to_string()).unwrap_or_default(),
            e.email.clone().unwrap_or_default(),
            e.ip.clone().unwrap_or_default(),
            e.browser.clone().unwrap_or_default(),
            e.platform.clone().unwrap_or_default(),
        ];
        out.push_str(&strongroom_store::csv::line(&cols));
    }
    out
}

#[cfg(test)]
mod tests {
    use strongroom_store::login_history::LoginEvent;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let e = LoginEvent {
            id: "0190".into(),
            at: 951_782_400_000,
            event: "failure".into(),
            reason: Some("bad_password".into()),
            user_id: None,
            email: Some("=HYPERLINK(\"x\")@example.org".into()),
            ip: Some("192.0.2.1".into()),
            browser: Some("Other".into()),
            platform: Some("Other".into()),
        };
        assert_eq!(
            super::to_csv(&[e]),
            "id,at,time_utc,event,reason,user_id,email,ip,browser,platform\r\n\
             \"0190\",\"951782400000\",\"2000-02-29T00:00:00Z\",\"failure\",\"bad_password\",\"\",\"'=HYPERLINK(\"\"x\"\")@example.org\",\"192.0.2.1\",\"Other\",\"Other\"\r\n"
        );
    }
}
