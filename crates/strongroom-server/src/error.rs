//! The one mapping from every error of the lower crates to an HTTP status and a JSON body
//! `{"error":{"code":"…","message":"…"}}`. Internal details (database messages) are logged
//! with the request id and replaced by a generic message in the response.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use strongroom_auth::AuthError;
use strongroom_core::Denied;
use strongroom_store::StoreError;

/// An error answered to an API client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds, for a `Retry-After` header (503 under load).
    pub retry_after: Option<u32>,
}

/// The longest message we send: messages may quote client input, and an error must never
/// echo a whole request back.
const MAX_MESSAGE_CHARS: usize = 300;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `not_found`, `conflict`, `invalid_request`.
    pub code: String,
    /// What went wrong, for a person.
    pub message: String,
    /// The server's id for the request (as in its `X-Request-Id` header and log lines): what
    /// to quote to an administrator.
    pub request_id: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }
    /// A stored object failed its integrity check: the server's data is damaged or was
    /// tampered with. Not the client's fault, so a 5xx, with a message an operator can act on.
    pub fn integrity(file_id: &str, version: i64) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "integrity",
            format!(
                "file {file_id} version {version} failed its integrity check; it was not served (run `strongroom storage verify`)"
            ),
        )
    }
    fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the server log has details",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut message = self.message;
        if let Some((cut, _)) = message.char_indices().nth(MAX_MESSAGE_CHARS) {
            message.truncate(cut);
            message.push('…');
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message,
                request_id: crate::http::REQUEST_ID.try_with(Clone::clone).ok(),
            },
        };
        let mut r = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut().insert(axum::http::header::RETRY_AFTER, s.into());
        }
        r
    }
}

impl From<Denied> for ApiError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::NotFound => ApiError::new(StatusCode::NOT_FOUND, "not_found", "not found"),
            Denied::Forbidden => ApiError::new(StatusCode::FORBIDDEN, "forbidden", d.to_string()),
            Denied::EnrolmentRequired => {
                ApiError::new(StatusCode::FORBIDDEN, "second_factor_enrolment_required", d.to_string())
            }
        }
    }
}

impl From<strongroom_service::Error> for ApiError {
    fn from(e: strongroom_service::Error) -> Self {
        use strongroom_service::Error as E;
        match e {
            E::NotFound(what) => ApiError::not_found(what),
            E::Forbidden(why) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", why),
            E::Invalid(why) => ApiError::bad_request(why),
            E::Conflict(why) => ApiError::new(StatusCode::CONFLICT, "conflict", why),
            E::NotConfigured(_) => ApiError::new(StatusCode::CONFLICT, "not_configured", e.to_string()),
            E::AddressDenied => ApiError::new(StatusCode::FORBIDDEN, "ip_denied", e.to_string()),
            E::TooMany { retry_after } => ApiError {
                retry_after: Some(retry_after),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "locked", e.to_string())
            },
            E::WrongPassword(why) => ApiError::new(StatusCode::UNAUTHORIZED, "wrong_password", why),
            E::TooManyUploads { .. } => ApiError {
                retry_after: Some(5),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_uploads", e.to_string())
            },
            E::QuotaExceeded(why) => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded", why),
            E::TooLarge(why) => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", why),
            E::Unsupported(why) => ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_format", why),
            E::AlreadyProtected(why) => ApiError::new(StatusCode::CONFLICT, "already_protected", why),
            E::Integrity { file, version } => ApiError::integrity(&file, version),
            E::Document(e) => document_error(e),
            E::Mail(why) => ApiError::new(StatusCode::BAD_GATEWAY, "mail_failed", why),
            E::Sms(why) => ApiError::new(StatusCode::BAD_GATEWAY, "sms_failed", why),
            E::StepUpRequired { ref methods } => {
                let names: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "step_up_required",
                    format!("{e}, with one of: {}", names.join(", ")),
                )
            }
            E::Internal(m) => ApiError::internal(m),
            E::Denied(d) => d.into(),
            E::Store(e) => e.into(),
            E::Auth(e) => e.into(),
        }
    }
}

/// A document that could not be protected or watermarked.
fn document_error(e: strongroom_docs::Error) -> ApiError {
    use strongroom_docs::Error as E;
    match e {
        E::AlreadyProtected => ApiError::new(StatusCode::CONFLICT, "already_protected", e.to_string()),
        E::WrongFormat { .. } | E::UnsupportedEncryption(_) => {
            ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_format", e.to_string())
        }
        E::Malformed { .. } | E::InvalidPassword(_) | E::InvalidOptions(_) | E::InvalidRange(_) => {
            ApiError::bad_request(e.to_string())
        }
        // Names the password and the problem (a character by code point), never the password.
        E::UnusablePassword { .. } => ApiError::new(StatusCode::BAD_REQUEST, "invalid_password", e.to_string()),
        _ => {
            tracing::error!(error = %e, "document transformation failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the document could not be processed",
            )
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::not_found(what),
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            StoreError::Invalid(m) => ApiError::bad_request(m),
            StoreError::Upload(m) => ApiError::bad_request(format!("upload failed: {m}")),
            StoreError::Integrity(m) => {
                tracing::error!(problem = %m, "stored data failed its integrity check");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "integrity",
                    "stored data failed its integrity check",
                )
            }
            StoreError::Db(_) if e.unavailable() => {
                tracing::error!(error = %e, "the database is unavailable");
                ApiError {
                    retry_after: Some(5),
                    ..ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "unavailable",
                        "the database is unavailable; try again shortly",
                    )
                }
            }
            StoreError::Db(_)
            | StoreError::Blob(_)
            | StoreError::Io(_)
            | StoreError::Corrupt(_)
            | StoreError::Encryption(_) => ApiError::internal(e),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidCredentials | AuthError::Unauthenticated | AuthError::Disabled => {
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", e.to_string())
            }
            AuthError::InvalidCode => ApiError::new(StatusCode::UNAUTHORIZED, "invalid_code", e.to_string()),
            AuthError::Csrf => ApiError::new(StatusCode::FORBIDDEN, "csrf", e.to_string()),
            AuthError::WeakPassword(m) => ApiError::new(StatusCode::BAD_REQUEST, "weak_password", m),
            AuthError::BadSetupToken => ApiError::new(StatusCode::FORBIDDEN, "bad_setup_token", e.to_string()),
            AuthError::WrongCurrentPassword => ApiError::new(StatusCode::FORBIDDEN, "wrong_password", e.to_string()),
            AuthError::CurrentPasswordRequired => {
                ApiError::new(StatusCode::FORBIDDEN, "current_password_required", e.to_string())
            }
            AuthError::SessionRequired(_) => ApiError::new(StatusCode::FORBIDDEN, "session_required", e.to_string()),
            AuthError::Busy => ApiError {
                retry_after: Some(1),
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", e.to_string())
            },
            AuthError::Store(s) => s.into(),
            AuthError::Internal(m) => ApiError::internal(m),
        }
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(r: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::bad_request(r.body_text())
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(r: axum::extract::rejection::PathRejection) -> Self {
        // An id that is not a UUID names nothing that exists.
        ApiError::new(StatusCode::NOT_FOUND, "not_found", r.body_text())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
