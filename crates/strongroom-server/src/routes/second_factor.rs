//! Second factors: the second step of signing in, a person's own factors and backup codes,
//! step-up, an administrator's reset, and the rules and SMS provider settings.

use crate::error::ApiResult;
use crate::extract::{Caller, Json, Origin, Path};
use crate::routes::auth::session_response;
use crate::state::Shared;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use strongroom_core::ids::{FactorId, UserId};
use strongroom_service::second_factor::enrol::{self, Confirmed, FactorInfo, SecondFactorStatus, TotpEnrolment};
use strongroom_service::second_factor::verify::{self, Proof};
use strongroom_service::second_factor::{self, Method, SecondFactorRules};
use strongroom_service::sms::{self, SmsSettings};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(second_factor))
        .routes(routes!(send_sign_in_code))
        .routes(routes!(my_factors))
        .routes(routes!(enrol_totp))
        .routes(routes!(enrol_sms))
        .routes(routes!(confirm))
        .routes(routes!(resend))
        .routes(routes!(remove))
        .routes(routes!(backup_codes))
        .routes(routes!(step_up))
        .routes(routes!(step_up_code))
        .routes(routes!(user_factors, reset_user_factors))
        .routes(routes!(get_rules, set_rules))
        .routes(routes!(get_sms, set_sms, clear_sms))
        .routes(routes!(test_sms))
}

/// Secrets shown once (a seed, backup codes) are not to be kept by any cache.
const NO_STORE: [(axum::http::HeaderName, &str); 1] = [(axum::http::header::CACHE_CONTROL, "no-store")];

/// A code, as people type it.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(value_type = String, format = Password, min_length = 1, max_length = 64)]
pub struct Code(SecretString);

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SecondFactorRequest {
    /// The `srf_…` challenge the sign-in answered with.
    challenge: String,
    /// `totp`, `sms`, `passkey` or `backup_code` (one of the sign-in's `methods`).
    method: Method,
    /// The code (every method but `passkey`).
    #[serde(default)]
    code: Option<Code>,
    /// `passkey`: the authenticator's answer to the options of
    /// `POST /api/v1/auth/second-factor/passkey-options` (WebAuthn's `PublicKeyCredential`).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    credential: Option<serde_json::Value>,
}

/// A proof from a code or a passkey's answer (a missing code is a wrong one).
fn proof_of(method: Method, code: Option<Code>, credential: Option<serde_json::Value>) -> Proof {
    Proof {
        method,
        code: code.map(|c| c.0).unwrap_or_else(|| SecretString::from(String::new())),
        credential,
    }
}

/// The second step of signing in: a code for the challenge a right password got. Sets the
/// session cookie, as `POST /api/v1/auth/login` does without a second factor.
#[utoipa::path(post, path = "/api/v1/auth/second-factor", request_body = SecondFactorRequest,
    responses((status = 200, body = crate::routes::auth::LoginResponse),
        (status = 400, description = "the challenge is unknown, used or expired, or took too many codes (`invalid_request`): sign in again"),
        (status = 401, description = "the code is wrong, expired or used already (`invalid_code`)"),
        (status = 403, description = "the sign-in rules do not allow this address (`ip_denied`)"),
        (status = 429, description = "too many failed attempts (`locked`); retry after `Retry-After` seconds")))]
async fn second_factor(
    State(st): State<Shared>,
    Origin(origin): Origin,
    Json(req): Json<SecondFactorRequest>,
) -> ApiResult<impl IntoResponse> {
    let proof = proof_of(req.method, req.code, req.credential);
    let login = verify::finish_sign_in(&st, &req.challenge, proof, &origin).await?;
    session_response(&st, login)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SignInCodeRequest {
    challenge: String,
    /// The phone to send to (a factor id); omitted: the person's first.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    factor_id: Option<FactorId>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CodeSent {
    /// Until when the code works (ms since the epoch).
    expires_at: i64,
}

/// Sends a code by SMS for a sign-in waiting for its second factor.
#[utoipa::path(post, path = "/api/v1/auth/second-factor/sms", request_body = SignInCodeRequest,
    responses((status = 202, body = CodeSent), (status = 400), (status = 404, description = "no such phone"),
        (status = 429, description = "too many codes sent to this person or number (`locked`)"),
        (status = 502, description = "the SMS provider refused (`sms_failed`)")))]
async fn send_sign_in_code(
    State(st): State<Shared>,
    Origin(origin): Origin,
    Json(req): Json<SignInCodeRequest>,
) -> ApiResult<impl IntoResponse> {
    let expires_at = verify::send_sign_in_code(&st, &req.challenge, req.factor_id.as_ref(), &origin).await?;
    Ok((StatusCode::ACCEPTED, Json(CodeSent { expires_at })))
}

/// The caller's second factors, backup codes left, and whether they must enrol.
#[utoipa::path(get, path = "/api/v1/auth/second-factors", responses((status = 200, body = SecondFactorStatus)))]
async fn my_factors(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<SecondFactorStatus>> {
    Ok(Json(enrol::status(&st, &caller).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TotpRequest {
    /// What the person calls it (`Phone`, `Authy`); omitted: `Authenticator app`.
    #[serde(default)]
    #[schema(max_length = 100)]
    label: Option<String>,
}

/// Starts enrolling an authenticator app: the `otpauth://` URI, its QR code (PNG and SVG)
/// and the secret, shown this once. Pending until confirmed with a first code. Needs a
/// fresh second factor (`step_up_required`).
#[utoipa::path(post, path = "/api/v1/auth/second-factors/totp", request_body = TotpRequest,
    responses((status = 201, body = TotpEnrolment), (status = 400), (status = 403, description = "not allowed, or a step-up is needed (`step_up_required`)"),
        (status = 409, description = "as many factors as one may have")))]
async fn enrol_totp(
    State(st): State<Shared>,
    caller: Caller,
    Json(req): Json<TotpRequest>,
) -> ApiResult<impl IntoResponse> {
    let label = req.label.unwrap_or_else(|| "Authenticator app".into());
    let enrolment = enrol::enrol_totp(&st, &caller, &label).await?;
    Ok((StatusCode::CREATED, NO_STORE, Json(enrolment)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SmsRequest {
    /// The number in international form (`+44 7700 900123`).
    #[schema(min_length = 1, max_length = 32)]
    phone: String,
    #[serde(default)]
    #[schema(max_length = 100)]
    label: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SmsEnrolment {
    factor: FactorInfo,
    /// Until when the code just sent works.
    code_expires_at: i64,
}

/// Starts enrolling a phone: a code is sent to it; confirm with it. Needs a fresh second
/// factor.
#[utoipa::path(post, path = "/api/v1/auth/second-factors/sms", request_body = SmsRequest,
    responses((status = 201, body = SmsEnrolment), (status = 400, description = "not a phone number in international form"),
        (status = 403), (status = 409, description = "SMS is not set up (`not_configured`), or as many factors as one may have"),
        (status = 429), (status = 502, description = "the SMS provider refused (`sms_failed`)")))]
async fn enrol_sms(
    State(st): State<Shared>,
    caller: Caller,
    Json(req): Json<SmsRequest>,
) -> ApiResult<impl IntoResponse> {
    let label = req.label.unwrap_or_default();
    let (factor, code_expires_at) = enrol::enrol_sms(&st, &caller, &req.phone, &label).await?;
    Ok((
        StatusCode::CREATED,
        Json(SmsEnrolment {
            factor,
            code_expires_at,
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ConfirmRequest {
    code: Code,
}

/// Confirms a pending factor with its first code. A person's first factor comes with ten
/// backup codes, shown this once.
#[utoipa::path(post, path = "/api/v1/auth/second-factors/{id}/confirm", params(("id" = crate::openapi::Id, Path)),
    request_body = ConfirmRequest,
    responses((status = 200, body = Confirmed), (status = 400, description = "wrong or expired code, or too many"), (status = 404), (status = 409)))]
async fn confirm(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<FactorId>,
    Json(req): Json<ConfirmRequest>,
) -> ApiResult<impl IntoResponse> {
    use secrecy::ExposeSecret;
    let confirmed = enrol::confirm(&st, &caller, &id, req.code.0.expose_secret()).await?;
    Ok((NO_STORE, Json(confirmed)))
}

/// Sends a pending phone's code again.
#[utoipa::path(post, path = "/api/v1/auth/second-factors/{id}/send-code", params(("id" = crate::openapi::Id, Path)),
    responses((status = 202, body = CodeSent), (status = 404), (status = 409), (status = 429), (status = 502)))]
async fn resend(State(st): State<Shared>, caller: Caller, Path(id): Path<FactorId>) -> ApiResult<impl IntoResponse> {
    let expires_at = enrol::resend_confirmation(&st, &caller, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(CodeSent { expires_at })))
}

/// Removes one of the caller's factors (a confirmed one needs a fresh second factor; the
/// last one of someone the rules require a factor of is refused).
#[utoipa::path(delete, path = "/api/v1/auth/second-factors/{id}", params(("id" = crate::openapi::Id, Path)),
    responses((status = 204), (status = 403), (status = 404), (status = 409)))]
async fn remove(State(st): State<Shared>, caller: Caller, Path(id): Path<FactorId>) -> ApiResult<StatusCode> {
    enrol::remove(&st, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BackupCodes {
    /// Ten one-time codes, shown this once; the earlier ones stop working.
    codes: Vec<String>,
}

/// Makes ten new backup codes for the caller (needs a fresh second factor).
#[utoipa::path(post, path = "/api/v1/auth/backup-codes", responses((status = 201, body = BackupCodes), (status = 403), (status = 409)))]
async fn backup_codes(State(st): State<Shared>, caller: Caller) -> ApiResult<impl IntoResponse> {
    let codes = enrol::regenerate_backup_codes(&st, &caller).await?;
    Ok((StatusCode::CREATED, NO_STORE, Json(BackupCodes { codes })))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct StepUpRequest {
    /// One of the person's methods; `password` only for someone without a second factor.
    method: Method,
    /// The code, or the password (every method but `passkey`).
    #[serde(default)]
    code: Option<Code>,
    /// `passkey`: the authenticator's answer to the options of
    /// `POST /api/v1/auth/step-up/passkey-options`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    credential: Option<serde_json::Value>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SteppedUp {
    /// Until when this session may make sensitive changes (ms since the epoch).
    fresh_until: i64,
}

/// Gives a fresh second factor for this session: sensitive changes (second factors, API
/// tokens, encryption, the rules) are allowed for the next `step_up_minutes`.
#[utoipa::path(post, path = "/api/v1/auth/step-up", request_body = StepUpRequest,
    responses((status = 200, body = SteppedUp), (status = 401, description = "wrong code or password (`invalid_code`)"),
        (status = 403, description = "signed in with an API token (`session_required`)"), (status = 429)))]
async fn step_up(
    State(st): State<Shared>,
    caller: Caller,
    Json(req): Json<StepUpRequest>,
) -> ApiResult<Json<SteppedUp>> {
    let proof = proof_of(req.method, req.code, req.credential);
    Ok(Json(SteppedUp {
        fresh_until: verify::step_up(&st, &caller, proof).await?,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct StepUpCodeRequest {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    factor_id: Option<FactorId>,
}

/// Sends an SMS code for a step-up of this session.
#[utoipa::path(post, path = "/api/v1/auth/step-up/sms", request_body = StepUpCodeRequest,
    responses((status = 202, body = CodeSent), (status = 403), (status = 404), (status = 429), (status = 502)))]
async fn step_up_code(
    State(st): State<Shared>,
    caller: Caller,
    Json(req): Json<StepUpCodeRequest>,
) -> ApiResult<impl IntoResponse> {
    let expires_at = verify::send_step_up_code(&st, &caller, req.factor_id.as_ref()).await?;
    Ok((StatusCode::ACCEPTED, Json(CodeSent { expires_at })))
}

/// A person's second factors (administrators of people, for someone ranking below them).
#[utoipa::path(get, path = "/api/v1/users/{id}/second-factors", params(("id" = crate::openapi::Id, Path)),
    responses((status = 200, body = SecondFactorStatus), (status = 403), (status = 404)))]
async fn user_factors(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<UserId>,
) -> ApiResult<Json<SecondFactorStatus>> {
    Ok(Json(enrol::status_for(&st, &caller, &id).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Reset {
    /// How many factors were removed.
    removed: usize,
}

/// Removes every second factor and backup code of a person who lost theirs (administrators
/// of people, for someone ranking below them); they are told by e-mail.
#[utoipa::path(delete, path = "/api/v1/users/{id}/second-factors", params(("id" = crate::openapi::Id, Path)),
    responses((status = 200, body = Reset), (status = 403), (status = 404)))]
async fn reset_user_factors(
    State(st): State<Shared>,
    caller: Caller,
    Path(id): Path<UserId>,
) -> ApiResult<Json<Reset>> {
    Ok(Json(Reset {
        removed: enrol::reset(&st, (&caller).into(), &id).await?,
    }))
}

/// Who must have a second factor, and with what (anyone signed in may read them).
#[utoipa::path(get, path = "/api/v1/settings/security/second-factor", responses((status = 200, body = SecondFactorRules)))]
async fn get_rules(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<SecondFactorRules>> {
    Ok(Json(second_factor::read_rules(&st, &caller).await?))
}

/// Sets who must have a second factor (administrators of settings, with a fresh second
/// factor). A field left out takes its default; unknown fields are refused.
#[utoipa::path(put, path = "/api/v1/settings/security/second-factor", request_body = SecondFactorRules,
    responses((status = 200, body = SecondFactorRules), (status = 400), (status = 403), (status = 404, description = "a group named does not exist")))]
async fn set_rules(
    State(st): State<Shared>,
    caller: Caller,
    Json(req): Json<SecondFactorRules>,
) -> ApiResult<Json<SecondFactorRules>> {
    Ok(Json(second_factor::set_rules(&st, (&caller).into(), req).await?))
}

/// The SMS provider set up (administrators of settings; never a credential).
#[utoipa::path(get, path = "/api/v1/settings/sms", responses((status = 200, body = SmsSettings), (status = 403)))]
async fn get_sms(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<SmsSettings>> {
    Ok(Json(sms::read_settings(&st, &caller).await?))
}

/// What `PUT /api/v1/settings/sms` takes (credentials are sealed, never shown again).
#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SmsConfigBody {
    provider: SmsProviderBody,
    /// Where requests go (only the Owner sets one); omitted: the provider's public API.
    base_url: Option<String>,
}

/// One of the providers, by `kind`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[allow(dead_code)]
pub enum SmsProviderBody {
    Twilio {
        /// `AC` and 32 hexadecimal digits.
        account_sid: String,
        #[schema(format = Password)]
        auth_token: String,
        /// A Twilio number (E.164) or sender ID; or `messaging_service_sid` instead.
        from: Option<String>,
        messaging_service_sid: Option<String>,
    },
    Clickatell {
        #[schema(format = Password)]
        api_key: String,
        from: Option<String>,
    },
    Smsc {
        login: String,
        #[schema(format = Password)]
        password: String,
        sender: Option<String>,
    },
}

/// Sets up the SMS provider (administrators of settings, with a fresh second factor).
#[utoipa::path(put, path = "/api/v1/settings/sms", request_body = SmsConfigBody,
    responses((status = 200, body = SmsSettings), (status = 400), (status = 403)))]
async fn set_sms(
    State(st): State<Shared>,
    caller: Caller,
    Json(cfg): Json<strongroom_sms::SmsConfig>,
) -> ApiResult<Json<SmsSettings>> {
    Ok(Json(sms::set_settings(&st, (&caller).into(), Some(cfg)).await?))
}

/// Turns SMS off (its credentials are deleted).
#[utoipa::path(delete, path = "/api/v1/settings/sms", responses((status = 200, body = SmsSettings), (status = 403)))]
async fn clear_sms(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<SmsSettings>> {
    Ok(Json(sms::set_settings(&st, (&caller).into(), None).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TestSms {
    #[schema(min_length = 1, max_length = 32)]
    to: String,
}

/// Sends a test message through the provider set up.
#[utoipa::path(post, path = "/api/v1/settings/sms/test", request_body = TestSms,
    responses((status = 204), (status = 400), (status = 403), (status = 409, description = "SMS is not set up"), (status = 502)))]
async fn test_sms(State(st): State<Shared>, caller: Caller, Json(req): Json<TestSms>) -> ApiResult<StatusCode> {
    sms::send_test(&st, &caller, &req.to).await?;
    Ok(StatusCode::NO_CONTENT)
}
