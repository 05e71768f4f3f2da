//! Passkeys (WebAuthn): enrolling one, the options of a sign-in's or a step-up's second step
//! by passkey, and passwordless sign-in when the rules allow it. The WebAuthn bodies are
//! passed as they are (`CreationChallengeResponse`, `RegisterPublicKeyCredential`,
//! `RequestChallengeResponse`, `PublicKeyCredential`), as JSON objects.

use crate::error::ApiResult;
use crate::extract::{Caller, Json, Origin};
use crate::routes::auth::session_response;
use crate::state::Shared;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use strongroom_service::second_factor::enrol::Confirmed;
use strongroom_service::second_factor::passkey::{self, PasswordlessOptions};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(start_registration))
        .routes(routes!(finish_registration))
        .routes(routes!(sign_in_options))
        .routes(routes!(step_up_options))
        .routes(routes!(passwordless_options))
        .routes(routes!(passwordless))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasskeyRequest {
    /// What the person calls it (`YubiKey`, `Laptop`); omitted: `Passkey`.
    #[serde(default)]
    #[schema(max_length = 100)]
    label: Option<String>,
}

/// Starts enrolling a passkey: the options for `navigator.credentials.create()` (WebAuthn's
/// `CreationChallengeResponse`), the caller's passkeys excluded. Send the authenticator's
/// answer to `POST /api/v1/auth/second-factors/passkey/finish` within five minutes. Needs a
/// fresh second factor (`step_up_required`).
#[utoipa::path(post, path = "/api/v1/auth/second-factors/passkey", request_body = PasskeyRequest,
    responses((status = 200, body = Object, description = "WebAuthn's `CreationChallengeResponse`"),
        (status = 400), (status = 403, description = "not allowed, or a step-up is needed (`step_up_required`)"),
        (status = 409, description = "`public_url` names no host (`not_configured`), or as many factors as one may have")))]
async fn start_registration(
    State(st): State<Shared>,
    caller: Caller,
    Json(req): Json<PasskeyRequest>,
) -> ApiResult<Json<serde_json::Value>> {
    let label = req.label.unwrap_or_default();
    Ok(Json(passkey::start_registration(&st, &caller, &label).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasskeyRegistrationRequest {
    /// The authenticator's answer (WebAuthn's `RegisterPublicKeyCredential`).
    #[schema(value_type = Object)]
    credential: serde_json::Value,
}

/// Finishes enrolling a passkey: a confirmed second factor (a person's first comes with ten
/// backup codes, shown this once).
#[utoipa::path(post, path = "/api/v1/auth/second-factors/passkey/finish", request_body = PasskeyRegistrationRequest,
    responses((status = 201, body = Confirmed),
        (status = 400, description = "no registration under way, or the answer does not pass"),
        (status = 403), (status = 409, description = "this passkey is registered already")))]
async fn finish_registration(
    State(st): State<Shared>,
    caller: Caller,
    Json(req): Json<PasskeyRegistrationRequest>,
) -> ApiResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(passkey::finish_registration(&st, &caller, req.credential).await?),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasskeyOptionsRequest {
    /// The `srf_…` challenge the sign-in answered with.
    challenge: String,
}

/// The passkey options of a sign-in waiting for its second factor (WebAuthn's
/// `RequestChallengeResponse`, for `navigator.credentials.get()`); send the answer as
/// `credential` with method `passkey` to `POST /api/v1/auth/second-factor`.
#[utoipa::path(post, path = "/api/v1/auth/second-factor/passkey-options", request_body = PasskeyOptionsRequest,
    responses((status = 200, body = Object, description = "WebAuthn's `RequestChallengeResponse`"),
        (status = 400, description = "the challenge is unknown, used or expired"),
        (status = 404, description = "the person has no passkey"), (status = 409, description = "`not_configured`")))]
async fn sign_in_options(
    State(st): State<Shared>,
    Origin(origin): Origin,
    Json(req): Json<PasskeyOptionsRequest>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(passkey::sign_in_options(&st, &req.challenge, &origin).await?))
}

/// The passkey options of a step-up of this session; send the answer as `credential` with
/// method `passkey` to `POST /api/v1/auth/step-up`.
#[utoipa::path(post, path = "/api/v1/auth/step-up/passkey-options",
    responses((status = 200, body = Object, description = "WebAuthn's `RequestChallengeResponse`"),
        (status = 403, description = "signed in with an API token (`session_required`)"),
        (status = 404, description = "the caller has no passkey"), (status = 409)))]
async fn step_up_options(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(passkey::step_up_options(&st, &caller).await?))
}

/// Starts a passwordless sign-in with a passkey (only when the second-factor rules set
/// `passwordless`): a discoverable ceremony and the challenge naming it.
#[utoipa::path(post, path = "/api/v1/auth/passkey/options",
    responses((status = 200, body = PasswordlessOptions),
        (status = 403, description = "the rules do not allow passwordless sign-in"), (status = 409)))]
async fn passwordless_options(State(st): State<Shared>) -> ApiResult<Json<PasswordlessOptions>> {
    Ok(Json(passkey::start_passwordless(&st).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordlessRequest {
    /// The `srf_…` challenge of `POST /api/v1/auth/passkey/options`.
    challenge: String,
    /// The authenticator's answer (WebAuthn's `PublicKeyCredential`).
    #[schema(value_type = Object)]
    credential: serde_json::Value,
}

/// Signs in with a passkey alone (only when the rules set `passwordless`). Sets the session
/// cookie, as `POST /api/v1/auth/login` does.
#[utoipa::path(post, path = "/api/v1/auth/passkey", request_body = PasswordlessRequest,
    responses((status = 200, body = crate::routes::auth::LoginResponse),
        (status = 400, description = "the challenge is unknown, used or expired, or the answer is not WebAuthn's"),
        (status = 401, description = "an unknown passkey, or an answer that does not pass"),
        (status = 403, description = "the rules do not allow passwordless sign-in, or this address (`ip_denied`)"),
        (status = 429, description = "too many failed attempts (`locked`)")))]
async fn passwordless(
    State(st): State<Shared>,
    Origin(origin): Origin,
    Json(req): Json<PasswordlessRequest>,
) -> ApiResult<impl IntoResponse> {
    let login = passkey::finish_passwordless(&st, &req.challenge, req.credential, &origin).await?;
    session_response(&st, login)
}
