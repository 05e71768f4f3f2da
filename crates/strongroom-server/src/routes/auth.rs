//! Setup, sign-in, sign-out and personal API tokens.

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, Json, Origin, Path};
use crate::state::Shared;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use strongroom_core::ids::{RoomId, TokenId};
use strongroom_service::account;
use strongroom_store::people::User;
use strongroom_store::sessions::ApiToken;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(setup))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(create_token, list_tokens))
        .routes(routes!(revoke_token))
        .routes(routes!(request_password_reset))
        .routes(routes!(reset_password))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ResetRequest {
    email: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ResetRequested {
    message: &'static str,
}

/// Asks for a password-reset link by e-mail. The answer is the same whether or not the
/// address is an account's; the link works once, for 30 minutes.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", request_body = ResetRequest,
    responses((status = 202, body = ResetRequested)))]
async fn request_password_reset(
    State(st): State<Shared>,
    Origin(origin): Origin,
    Json(req): Json<ResetRequest>,
) -> ApiResult<impl IntoResponse> {
    strongroom_service::mail::request_password_reset(&st, &req.email, &origin);
    Ok((
        StatusCode::ACCEPTED,
        Json(ResetRequested {
            message: "if an account has this address, a reset link is on its way to it",
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ResetPassword {
    /// The `srr_…` secret from the reset link.
    token: String,
    #[schema(value_type = crate::openapi::NewPassword)]
    password: SecretString,
}

/// Sets a new password with a reset link: every session and API token of the account ends.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", request_body = ResetPassword,
    responses((status = 204), (status = 400, description = "the link is invalid, used or expired (`invalid_request`), or the password breaks the policy (`weak_password`)")))]
async fn reset_password(
    State(st): State<Shared>,
    Origin(origin): Origin,
    Json(req): Json<ResetPassword>,
) -> ApiResult<StatusCode> {
    strongroom_service::mail::reset_password(&st, &req.token, req.password, &origin).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SetupRequest {
    /// The one-time token printed by `strongroom serve` on first start.
    token: String,
    #[schema(value_type = crate::openapi::Email)]
    email: String,
    /// Empty or omitted: the e-mail address.
    #[serde(default)]
    #[schema(value_type = crate::openapi::OptionalName)]
    display_name: String,
    #[schema(value_type = crate::openapi::NewPassword)]
    password: SecretString,
}

/// Creates the Owner account on a fresh instance, with the one-time setup token.
#[utoipa::path(post, path = "/api/v1/setup", request_body = SetupRequest,
    responses((status = 201, body = User), (status = 403, description = "bad or spent setup token, or an Owner exists (`bad_setup_token`)"),
        (status = 400, description = "malformed e-mail address, name or body (`invalid_request`), or the password breaks the policy (`weak_password`)"),
        (status = 503, description = "too many password hashes queued (`busy`); retry after `Retry-After` seconds")))]
async fn setup(
    State(st): State<Shared>,
    Origin(origin): Origin,
    Json(req): Json<SetupRequest>,
) -> ApiResult<impl IntoResponse> {
    let user = account::setup_owner(&st, &req.token, &req.email, &req.display_name, req.password, &origin).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    email: String,
    #[schema(value_type = String, format = Password)]
    password: SecretString,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    user: User,
    /// Send this back in an `X-CSRF-Token` header with every state-changing request.
    csrf_token: String,
    expires_at: i64,
    /// The rules require a second factor this person has not got: until they enrol one
    /// (`POST /api/v1/auth/second-factors/totp`), the session can do nothing else.
    second_factor_enrolment_required: bool,
}

/// A sign-in's answer: a session, or (for someone with a second factor) the challenge to
/// send a code for to `POST /api/v1/auth/second-factor`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum LoginAnswer {
    Session(LoginResponse),
    SecondFactor(strongroom_service::second_factor::verify::SignInChallenge),
}

/// Signs in with e-mail and password; sets an HttpOnly, SameSite=Strict session cookie. For
/// someone with a second factor, answers `{"second_factor_required": true, "methods": […],
/// "challenge": …}` instead, and no cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginRequest,
    responses((status = 200, body = LoginAnswer), (status = 401, body = crate::error::ErrorBody, description = "wrong e-mail or password, or the account is disabled (`unauthenticated`)"),
        (status = 403, description = "the sign-in rules do not allow this address (`ip_denied`)"),
        (status = 429, description = "too many failed attempts (`locked`); retry after `Retry-After` seconds"),
        (status = 503, description = "too many password hashes queued (`busy`); retry after `Retry-After` seconds")))]
async fn login(
    State(st): State<Shared>,
    Origin(origin): Origin,
    Json(req): Json<LoginRequest>,
) -> ApiResult<axum::response::Response> {
    match account::login(&st, &req.email, req.password, &origin).await? {
        account::SignedIn::Session(l) => Ok(session_response(&st, l)?.into_response()),
        account::SignedIn::SecondFactor(c) => Ok((
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            Json(LoginAnswer::SecondFactor(c)),
        )
            .into_response()),
    }
}

/// A new session's answer: its cookie, and the CSRF token in the body.
pub(crate) fn session_response(st: &Shared, l: account::Login) -> ApiResult<impl IntoResponse + use<>> {
    let max_age = (l.expires_at - st.now()).max(0) / 1000;
    let cookie = st.session_cookie_header(&l.session_secret, max_age);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|_| ApiError::bad_request("cookie"))?,
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok((
        headers,
        Json(LoginAnswer::Session(LoginResponse {
            user: l.user,
            csrf_token: l.csrf_token,
            expires_at: l.expires_at,
            second_factor_enrolment_required: l.enrolment_required,
        })),
    ))
}

/// Ends the current browser session.
#[utoipa::path(post, path = "/api/v1/auth/logout", responses((status = 204)))]
async fn logout(State(st): State<Shared>, caller: Caller) -> ApiResult<impl IntoResponse> {
    account::logout(&st, &caller).await?;
    let clear = st.session_cookie_header("", 0);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&clear).map_err(|_| ApiError::bad_request("cookie"))?,
    );
    Ok((StatusCode::NO_CONTENT, headers))
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/auth/me", responses((status = 200, body = User)))]
async fn me(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<User>> {
    Ok(Json(account::me(&st, &caller).await?))
}

/// Unknown fields are refused: a misspelt `read_only` must not make a full token.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    #[schema(value_type = crate::openapi::Name)]
    name: String,
    /// Days until the token expires; omitted: 90. At most 3650.
    #[schema(minimum = 1, maximum = 3650)]
    #[serde(default, deserialize_with = "whole_number")]
    expires_in_days: Option<u32>,
    /// The token only reads: view, download, list rooms. Nothing it sends changes anything.
    #[serde(default)]
    read_only: bool,
    /// The token only reaches this room (which the caller must see); everything else answers
    /// as if it did not exist, and nothing instance-wide is allowed.
    #[schema(value_type = Option<crate::openapi::Id>)]
    #[serde(default)]
    room_id: Option<RoomId>,
}

/// A whole number as JSON has it: `7` and `7.0` are the same number (and JSON Schema's
/// `integer` accepts both), so both are read; `7.5` is refused.
pub(crate) fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    Option::<serde_json::Number>::deserialize(d)?.map(whole).transpose()
}

/// A whole number (see [`whole_number`]) that must be given.
pub(crate) fn whole_required<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u32>,
{
    let n = whole::<D::Error>(serde_json::Number::deserialize(d)?)?;
    T::try_from(n).map_err(|_| serde::de::Error::custom(format!("{n} is out of range")))
}

fn whole<E: serde::de::Error>(n: serde_json::Number) -> Result<u32, E> {
    let w = n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= 4e9)
            .map(|f| f as u64)
    });
    w.and_then(|w| u32::try_from(w).ok())
        .ok_or_else(|| E::custom(format!("expected a whole number, not {n}")))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NewTokenResponse {
    /// The secret, shown this once; use it as `Authorization: Bearer …`.
    token: String,
    #[serde(flatten)]
    info: ApiToken,
}

/// Creates a personal API token for the caller.
#[utoipa::path(post, path = "/api/v1/tokens", request_body = NewTokenRequest, responses((status = 201, body = NewTokenResponse),
        (status = 403, description = "not allowed, or signed in with an API token: only a session can create tokens (`session_required`)")))]
async fn create_token(
    State(st): State<Shared>,
    caller: Caller,
    Json(req): Json<NewTokenRequest>,
) -> ApiResult<impl IntoResponse> {
    let req = account::TokenRequest {
        name: req.name,
        expires_in_days: req.expires_in_days,
        read_only: req.read_only,
        room_id: req.room_id,
    };
    let (token, info) = account::create_token(&st, &caller, req).await?;
    Ok((StatusCode::CREATED, Json(NewTokenResponse { token, info })))
}

/// The caller's API tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/tokens", responses((status = 200, body = Vec<ApiToken>)))]
async fn list_tokens(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<Vec<ApiToken>>> {
    Ok(Json(account::list_tokens(&st, &caller).await?))
}

/// Revokes one of the caller's API tokens.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", params(("id" = crate::openapi::Id, Path)), responses((status = 204), (status = 404)))]
async fn revoke_token(State(st): State<Shared>, caller: Caller, Path(id): Path<TokenId>) -> ApiResult<StatusCode> {
    account::revoke_token(&st, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
