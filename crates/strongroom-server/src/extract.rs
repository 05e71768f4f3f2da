//! Typed extractors: the authenticated caller, and JSON/query/path extractors whose
//! rejections are answered in our JSON error format.

use crate::error::ApiError;
use crate::state::Shared;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, header};
use std::net::SocketAddr;
use strongroom_auth::{AuthError, session};
use strongroom_core::Actor;
use strongroom_core::audit::{AuditAction, AuditEvent, RequestOrigin};

pub const CSRF_HEADER: &str = "x-csrf-token";

/// Largest JSON request body we read. Uploads do not go through JSON, so this can be small;
/// it bounds the memory a request can make the server spend.
const JSON_LIMIT: usize = 1024 * 1024;

/// A JSON request body (at most [`JSON_LIMIT`]) or a JSON response.
pub struct Json<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, _: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            // The media type itself, not a prefix: `application/jsonx` is not JSON.
            .and_then(|v| v.split(';').next())
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected a JSON body with Content-Type: application/json",
            ));
        }
        let bytes = axum::body::to_bytes(req.into_body(), JSON_LIMIT).await.map_err(|_| {
            ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "JSON body larger than 1 MiB",
            )
        })?;
        serde_json::from_slice(&bytes)
            .map(Json)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// Where the request came from.
pub fn origin_of(parts: &Parts) -> RequestOrigin {
    let ip = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let header_str = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect())
    };
    RequestOrigin {
        ip,
        user_agent: header_str("user-agent"),
        request_id: header_str("x-request-id"),
    }
}

/// The value of one cookie.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The authenticated caller of a request: by `Authorization: Bearer` API token, or by session
/// cookie plus, for anything but GET/HEAD/OPTIONS, a matching `X-CSRF-Token` header.
pub struct Caller {
    pub actor: Actor,
    pub origin: RequestOrigin,
    /// The session cookie value, when authenticated by cookie (for sign-out).
    pub session: Option<String>,
    /// The stored hash of the API token, when authenticated by bearer token.
    pub api_token_hash: Option<String>,
}

impl Caller {
    /// An audit event by this caller, from where the request came.
    pub fn event(&self, action: AuditAction) -> AuditEvent {
        AuditEvent::new(action).by(&self.actor).from_origin(&self.origin)
    }

    /// The sign-in this request came through, to keep when the caller changes their own
    /// password (every other one ends).
    pub fn sign_in_hashes(&self) -> (Option<String>, Option<String>) {
        (
            self.session.as_deref().map(strongroom_auth::token::hash),
            self.api_token_hash.clone(),
        )
    }
}

impl FromRequestParts<Shared> for Caller {
    type Rejection = ApiError;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let origin = origin_of(parts);
        let now = state.now();
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let value = auth.to_str().map_err(|_| AuthError::Unauthenticated)?;
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .ok_or(AuthError::Unauthenticated)?
                .trim();
            let actor = session::from_api_token(&state.db, token, now).await?;
            return Ok(Caller {
                actor,
                origin,
                session: None,
                api_token_hash: Some(strongroom_auth::token::hash(token)),
            });
        }
        let secret = cookie(parts, state.session_cookie())
            .ok_or(AuthError::Unauthenticated)?
            .to_string();
        let s = session::from_session(&state.db, &secret, now).await?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let given = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if given.is_empty() || !strongroom_auth::token::matches(given, &s.csrf_hash) {
                return Err(AuthError::Csrf.into());
            }
        }
        Ok(Caller {
            actor: s.actor,
            origin,
            session: Some(secret),
            api_token_hash: None,
        })
    }
}

/// Where an unauthenticated request came from (for auditing sign-in and setup).
pub struct Origin(pub RequestOrigin);

impl<S: Send + Sync> FromRequestParts<S> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Origin(origin_of(parts)))
    }
}

/// The holder of an unlocked external link, by `Authorization: Bearer srk_…` (the session
/// `POST /api/v1/links/{token}/unlock` handed out). The link is live: neither expired nor
/// revoked, which ends its sessions at once.
pub struct LinkCaller {
    pub link: strongroom_store::links::Link,
    pub holder: strongroom_core::LinkHolder,
    pub origin: RequestOrigin,
}

impl FromRequestParts<Shared> for LinkCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let origin = origin_of(parts);
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or(AuthError::Unauthenticated)?;
        let hash = strongroom_auth::token::hash(secret);
        let link = strongroom_store::links::find_link_session(&state.db, &hash, state.now())
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        Ok(LinkCaller {
            holder: strongroom_core::LinkHolder {
                link_id: link.id.to_string(),
            },
            link,
            origin,
        })
    }
}

/// Who a request acts for, as the audit trail records them and a watermark names them.
#[derive(Clone, Copy)]
pub enum Requester<'a> {
    User(&'a Caller),
    Link(&'a LinkCaller),
}

impl<'a> From<&'a Caller> for Requester<'a> {
    fn from(c: &'a Caller) -> Self {
        Requester::User(c)
    }
}

impl Requester<'_> {
    /// An audit event by this requester, from where the request came.
    pub fn event(&self, action: AuditAction) -> AuditEvent {
        match self {
            Requester::User(c) => c.event(action),
            Requester::Link(l) => AuditEvent::new(action)
                .by_link(l.link.id.as_str())
                .from_origin(&l.origin),
        }
    }

    /// The principal `authorize` decides for.
    pub fn principal(&self) -> strongroom_core::Principal<'_> {
        match self {
            Requester::User(c) => strongroom_core::Principal::User(&c.actor),
            Requester::Link(l) => strongroom_core::Principal::Link(&l.holder),
        }
    }

    pub fn origin(&self) -> &RequestOrigin {
        match self {
            Requester::User(c) => &c.origin,
            Requester::Link(l) => &l.origin,
        }
    }
}
