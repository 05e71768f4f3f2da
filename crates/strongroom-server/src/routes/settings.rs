//! Instance settings visible to administrators of the settings module.

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, Json};
use crate::state::Shared;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use strongroom_auth::password::PasswordPolicy;
use strongroom_service::invitations::SignUpSettings;
use strongroom_service::mail::MailSettings;
use strongroom_service::settings::{self, EncryptionState, SignInRules};
use strongroom_service::uploads::UploadLimits;
use strongroom_store::convert::Progress;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(encryption_status))
        .routes(routes!(encryption_convert))
        .routes(routes!(get_password_policy, set_password_policy))
        .routes(routes!(get_sign_in_rules, set_sign_in_rules))
        .routes(routes!(get_mail, set_mail))
        .routes(routes!(get_sign_up, set_sign_up))
        .routes(routes!(get_upload_limits, set_upload_limits))
}

/// Uploads at once per person (or link) and storage quotas per person and per room
/// (administrators of settings).
#[utoipa::path(get, path = "/api/v1/settings/security/uploads", responses((status = 200, body = UploadLimits), (status = 403)))]
async fn get_upload_limits(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<UploadLimits>> {
    Ok(Json(strongroom_service::uploads::read_limits(&st, &caller).await?))
}

/// Sets the upload limits (administrators of settings). A `PUT` sets every field: a field
/// left out takes its default; unknown fields are refused. A lower quota refuses new
/// uploads (413 `quota_exceeded`) and deletes nothing.
#[utoipa::path(put, path = "/api/v1/settings/security/uploads", request_body = UploadLimits,
    responses((status = 200, body = UploadLimits), (status = 400), (status = 403)))]
async fn set_upload_limits(
    State(st): State<Shared>,
    caller: Caller,
    Json(req): Json<serde_json::Value>,
) -> ApiResult<Json<UploadLimits>> {
    let l = setting_body(req, "upload limits")?;
    Ok(Json(
        strongroom_service::uploads::set_limits(&st, (&caller).into(), l).await?,
    ))
}

/// Self-sign-up (off, for trusted mail domains, or for anyone) and how long invitations
/// work (administrators of settings).
#[utoipa::path(get, path = "/api/v1/settings/security/sign-up", responses((status = 200, body = SignUpSettings), (status = 403)))]
async fn get_sign_up(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<SignUpSettings>> {
    Ok(Json(
        strongroom_service::invitations::read_settings(&st, &caller).await?,
    ))
}

/// Sets self-sign-up and invitations (administrators of both settings and people: it
/// admits people). A `PUT` sets every field: a field left out takes its default; unknown
/// fields are refused.
#[utoipa::path(put, path = "/api/v1/settings/security/sign-up", request_body = SignUpSettings,
    responses((status = 200, body = SignUpSettings), (status = 400), (status = 403)))]
async fn set_sign_up(
    State(st): State<Shared>,
    caller: Caller,
    Json(req): Json<serde_json::Value>,
) -> ApiResult<Json<SignUpSettings>> {
    let s = setting_body(req, "sign-up settings")?;
    Ok(Json(
        strongroom_service::invitations::set_settings(&st, (&caller).into(), s).await?,
    ))
}

/// The mail settings as read: each field of [`MailSettings`], and whether the password is set.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MailSettingsBody {
    host: String,
    port: u16,
    security: strongroom_service::mail::MailSecurity,
    username: String,
    from: String,
    /// Whether the SMTP password is set (`strongroom admin secret set mail.smtp.password`;
    /// it is never shown).
    password_set: bool,
}

/// Outgoing mail: the SMTP server password-reset links and new-device notices go through
/// (administrators of settings).
#[utoipa::path(get, path = "/api/v1/settings/mail", responses((status = 200, body = MailSettingsBody), (status = 403)))]
async fn get_mail(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<MailSettingsBody>> {
    let (s, password_set) = strongroom_service::mail::read_settings(&st, &caller).await?;
    Ok(Json(MailSettingsBody {
        host: s.host,
        port: s.port,
        security: s.security,
        username: s.username,
        from: s.from,
        password_set,
    }))
}

/// Sets outgoing mail (the Owner only: mail carries password-reset links). A `PUT` sets
/// every field; moving a configured server deletes the sealed SMTP password; `security`
/// `none` is refused unless the host is this machine.
#[utoipa::path(put, path = "/api/v1/settings/mail", request_body = MailSettings,
    responses((status = 200, body = MailSettings), (status = 400), (status = 403)))]
async fn set_mail(
    State(st): State<Shared>,
    caller: Caller,
    Json(req): Json<serde_json::Value>,
) -> ApiResult<Json<MailSettings>> {
    let s = setting_body(req, "mail settings")?;
    Ok(Json(
        strongroom_service::mail::set_settings(&st, (&caller).into(), s).await?,
    ))
}

/// A setting's JSON body: an object (serde reads a struct from an array too, by position:
/// `[]` would reset every rule), with whole numbers written `7.0` read as `7` (JSON Schema's
/// `integer` accepts both).
pub(crate) fn setting_body<T: serde::de::DeserializeOwned>(v: serde_json::Value, what: &str) -> ApiResult<T> {
    fn whole(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Number(n) if n.as_u64().is_none() => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && (0.0..=4e9).contains(&f) => serde_json::Value::from(f as u64),
                _ => serde_json::Value::Number(n),
            },
            serde_json::Value::Object(m) => m.into_iter().map(|(k, v)| (k, whole(v))).collect(),
            serde_json::Value::Array(a) => a.into_iter().map(whole).collect(),
            v => v,
        }
    }
    if !v.is_object() {
        return Err(ApiError::bad_request(format!("the {what} is a JSON object")));
    }
    serde_json::from_value(whole(v)).map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

/// The sign-in rules: the brute-force limit, session lifetime and idle timeout, login history
/// retention and the address rules (administrators of settings).
#[utoipa::path(get, path = "/api/v1/settings/security/sign-in", responses((status = 200, body = SignInRules), (status = 403)))]
async fn get_sign_in_rules(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<SignInRules>> {
    Ok(Json(settings::read_sign_in_rules(&st, &caller).await?))
}

/// Sets the sign-in rules (administrators of settings). A `PUT` sets all of them: a field
/// left out takes its default; unknown fields are refused. Every node applies them at once,
/// to sign-ins and to every request; address rules that would refuse the caller's own
/// address are refused (400).
#[utoipa::path(put, path = "/api/v1/settings/security/sign-in", request_body = SignInRules,
    responses((status = 200, body = SignInRules), (status = 400), (status = 403)))]
async fn set_sign_in_rules(
    State(st): State<Shared>,
    caller: Caller,
    Json(req): Json<serde_json::Value>,
) -> ApiResult<Json<SignInRules>> {
    let rules = setting_body(req, "sign-in rules")?;
    Ok(Json(settings::set_sign_in_rules(&st, (&caller).into(), rules).await?))
}

/// The rules account passwords must meet. A `PUT` sets all of them: a field left out takes
/// its default; unknown fields are refused.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordPolicyBody {
    /// Fewest characters (10 to 1024; default 10).
    #[schema(minimum = 10, maximum = 1024)]
    #[serde(deserialize_with = "super::auth::whole_required")]
    min_length: usize,
    /// Most characters (min_length to 1024; default 1024).
    #[schema(minimum = 10, maximum = 1024)]
    #[serde(deserialize_with = "super::auth::whole_required")]
    max_length: usize,
    require_uppercase: bool,
    require_lowercase: bool,
    require_digit: bool,
    /// A character that is neither a letter nor a digit (a space counts).
    require_special: bool,
    /// zxcvbn score 0 (off) to 4; default 3 (about 10^10 guesses, against common passwords,
    /// words, names, keyboard patterns and the person's own e-mail address and name).
    #[schema(minimum = 0, maximum = 4)]
    #[serde(deserialize_with = "super::auth::whole_required")]
    min_strength: u8,
}

impl Default for PasswordPolicyBody {
    fn default() -> Self {
        PasswordPolicy::default().into()
    }
}

impl From<PasswordPolicy> for PasswordPolicyBody {
    fn from(p: PasswordPolicy) -> Self {
        PasswordPolicyBody {
            min_length: p.min_length,
            max_length: p.max_length,
            require_uppercase: p.require_uppercase,
            require_lowercase: p.require_lowercase,
            require_digit: p.require_digit,
            require_special: p.require_special,
            min_strength: p.min_strength,
        }
    }
}

impl From<PasswordPolicyBody> for PasswordPolicy {
    fn from(p: PasswordPolicyBody) -> Self {
        PasswordPolicy {
            min_length: p.min_length,
            max_length: p.max_length,
            require_uppercase: p.require_uppercase,
            require_lowercase: p.require_lowercase,
            require_digit: p.require_digit,
            require_special: p.require_special,
            min_strength: p.min_strength,
        }
    }
}

/// The password policy (every signed-in person may read it, to choose a password).
#[utoipa::path(get, path = "/api/v1/settings/security/password-policy", responses((status = 200, body = PasswordPolicyBody)))]
async fn get_password_policy(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<PasswordPolicyBody>> {
    Ok(Json(settings::read_password_policy(&st, &caller).await?.into()))
}

/// Sets the password policy (administrators of settings). It binds every password set from
/// now on: at setup, creation, reset and change; a refused password is answered 400
/// `weak_password` naming every rule it misses.
#[utoipa::path(put, path = "/api/v1/settings/security/password-policy", request_body = PasswordPolicyBody,
    responses((status = 200, body = PasswordPolicyBody), (status = 400), (status = 403)))]
async fn set_password_policy(
    State(st): State<Shared>,
    caller: Caller,
    Json(req): Json<serde_json::Value>,
) -> ApiResult<Json<PasswordPolicyBody>> {
    let req: PasswordPolicyBody = setting_body(req, "password policy")?;
    Ok(Json(
        settings::set_password_policy(&st, (&caller).into(), req.into())
            .await?
            .into(),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EncryptionStatus {
    /// Whether new documents are encrypted at rest.
    enabled: bool,
    /// Hex id of the master key new documents are encrypted with.
    current_key_id: Option<String>,
    /// How far the instance is towards every stored version being in the configured state.
    progress: Progress,
    /// Every master key something stored still needs, with how many objects (versions and
    /// secrets) it encrypts: a retired key may be removed once it is no longer listed.
    keys_in_use: Vec<KeyUse>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct KeyUse {
    key_id: String,
    objects: i64,
}

impl From<EncryptionState> for EncryptionStatus {
    fn from(s: EncryptionState) -> Self {
        EncryptionStatus {
            enabled: s.current_key_id.is_some(),
            current_key_id: s.current_key_id,
            progress: s.progress,
            keys_in_use: s
                .keys_in_use
                .into_iter()
                .map(|(key_id, objects)| KeyUse { key_id, objects })
                .collect(),
        }
    }
}

/// Encryption at rest: whether it is on, how far the conversion of stored documents is, and
/// which master keys are still needed.
#[utoipa::path(get, path = "/api/v1/admin/encryption", responses((status = 200, body = EncryptionStatus), (status = 403)))]
async fn encryption_status(State(st): State<Shared>, caller: Caller) -> ApiResult<Json<EncryptionStatus>> {
    Ok(Json(settings::encryption_status(&st, &caller).await?.into()))
}

/// Starts converting stored documents to the configured state in the background: encrypting
/// them when encryption is enabled, decrypting them when it is disabled (with the key still
/// configured). Returns at once; follow it with `GET /api/v1/admin/encryption`.
#[utoipa::path(post, path = "/api/v1/admin/encryption/convert", responses((status = 202, body = EncryptionStatus), (status = 403)))]
async fn encryption_convert(
    State(st): State<Shared>,
    caller: Caller,
) -> ApiResult<(StatusCode, Json<EncryptionStatus>)> {
    Ok((
        StatusCode::ACCEPTED,
        Json(settings::start_conversion(&st, &caller).await?.into()),
    ))
}
