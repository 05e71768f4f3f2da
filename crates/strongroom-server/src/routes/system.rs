//! Health, metrics and the API description.

use crate::error::{ApiError, ApiResult};
use crate::extract::Caller;
use crate::state::Shared;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use strongroom_core::access::{Action, Resource, authorize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(metrics))
}

/// Liveness and readiness: 200 when the database answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200), (status = 503)))]
async fn healthz(State(st): State<Shared>) -> impl IntoResponse {
    if st.db.ping().await {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
    }
}

/// Prometheus metrics in the text exposition format: for the Owner and Administrators of
/// settings (a Bearer API token), or anyone when `[metrics] public = true`.
#[utoipa::path(get, path = "/metrics", responses((status = 200, content_type = "text/plain"), (status = 401), (status = 403)))]
async fn metrics(State(st): State<Shared>, caller: Result<Caller, ApiError>) -> ApiResult<impl IntoResponse> {
    if !st.metrics_public {
        authorize(&caller?.actor, Action::ReadMetrics, Resource::Instance)?;
    }
    let body = st.metrics.as_ref().map(|h| h.render()).unwrap_or_default();
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body))
}
