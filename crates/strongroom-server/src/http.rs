//! Middleware shared by every route: the server's own request ids, security headers, metrics and request logs
//! (method, path and status only: never query strings, headers, bodies or tokens).

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;

/// The server's own id for a request: a fresh UUID, in the request's extensions, its log
/// lines, its audit events, every error body and the `X-Request-Id` response header. A
/// client's `X-Request-Id` is never used for it (anyone could make their requests look like
/// someone else's in the audit trail); it is logged apart, as `client_request_id`.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

tokio::task_local! {
    /// The id of the request being answered, for error bodies built far from the request.
    pub static REQUEST_ID: String;
}

pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().hyphenated().to_string();
    let client: String = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(128).collect())
        .unwrap_or_default();
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, client_request_id = ?client);
    let mut res = REQUEST_ID
        .scope(id.clone(), tracing::Instrument::instrument(next.run(req), span))
        .await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HeaderName::from_static("x-request-id"), v);
    }
    res
}

/// Headers every response carries. `tls` adds HSTS.
pub async fn security_headers(tls: bool, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: HeaderName, v: &'static str| {
        h.entry(k).or_insert(HeaderValue::from_static(v));
    };
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    set(h, HeaderName::from_static("cross-origin-opener-policy"), "same-origin");
    set(
        h,
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    set(
        h,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=()",
    );
    if tls {
        set(
            h,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        );
    }
    res
}

/// Cross-site request forgery, refused for every route at once: a state-changing request that
/// a browser could send on its own with our session cookie (no `Authorization` header) must
/// carry `X-CSRF-Token`, or it is answered 403 `csrf` before any handler runs. The `Caller`
/// extractor then checks the value against the session; this layer keeps the rule for a route
/// added later that reads the cookie some other way. Operations anyone may call (sign-in,
/// setup, opening a link) take no session and are exempt.
pub async fn csrf(cookie_name: &'static str, req: Request, next: Next) -> Response {
    let state_changing = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let public = req
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|p| crate::openapi::is_public(req.method(), p.as_str()));
    let h = req.headers();
    let has_cookie = h
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|kv| kv.trim().split_once('=').is_some_and(|(k, _)| k == cookie_name));
    let bearer = h.contains_key(header::AUTHORIZATION);
    let token = h.get(crate::extract::CSRF_HEADER).is_some_and(|v| !v.is_empty());
    if state_changing && !public && has_cookie && !bearer && !token {
        return crate::error::ApiError::from(strongroom_auth::AuthError::Csrf).into_response();
    }
    next.run(req).await
}

/// Counts and times requests per route template (never per concrete URL: ids would explode
/// the label space) and logs one line per request.
pub async fn observe(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let path = redacted(req.uri().path());
    let res = next.run(req).await;
    let status = res.status().as_u16();
    let secs = start.elapsed().as_secs_f64();
    metrics::counter!("strongroom_http_requests_total", "method" => method.to_string(), "route" => route.clone(), "status" => status.to_string()).increment(1);
    metrics::histogram!("strongroom_http_request_duration_seconds", "method" => method.to_string(), "route" => route)
        .record(secs);
    tracing::info!(%method, %path, status, ms = (secs * 1000.0) as u64, "request");
    res
}

/// A path as the log shows it: a segment holding one of our secrets (an external link's
/// `srl_…`, whatever route it reached) is replaced by its kind, so the log never holds a
/// working link.
fn redacted(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            let b = seg.as_bytes();
            let secret = b.len() > 4 && b[0] == b's' && b[1] == b'r' && b[2].is_ascii_lowercase() && b[3] == b'_';
            if secret { &seg[..4] } else { seg }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    /// The layer alone, on routes that never look at the caller.
    #[tokio::test]
    async fn state_changing_cookie_requests_need_the_csrf_header() {
        let app = axum::Router::new()
            .route(
                "/api/v1/anything",
                axum::routing::post(|| async { "done" }).get(|| async { "read" }),
            )
            .route("/api/v1/auth/login", axum::routing::post(|| async { "signed in" }))
            .layer(axum::middleware::from_fn(|req, next| super::csrf("sid", req, next)));
        type Case = (
            &'static str,
            &'static str,
            &'static [(&'static str, &'static str)],
            StatusCode,
        );
        #[rustfmt::skip]
        let cases: &[Case] = &[
            ("POST", "/api/v1/anything", &[("cookie", "sid=x")], StatusCode::FORBIDDEN),
            ("POST", "/api/v1/anything", &[("cookie", "a=1; sid=x")], StatusCode::FORBIDDEN),
            ("POST", "/api/v1/anything", &[("cookie", "sid=x"), ("x-csrf-token", "t")], StatusCode::OK),
            ("POST", "/api/v1/anything", &[("cookie", "sid=x"), ("authorization", "Bearer t")], StatusCode::OK),
            ("POST", "/api/v1/anything", &[("cookie", "other=x")], StatusCode::OK),
            ("POST", "/api/v1/anything", &[], StatusCode::OK),
            ("GET", "/api/v1/anything", &[("cookie", "sid=x")], StatusCode::OK),
            ("POST", "/api/v1/auth/login", &[("cookie", "sid=stale")], StatusCode::OK),
        ];
        for (method, path, headers, want) in cases {
            let mut rb = Request::builder().method(*method).uri(*path);
            for (k, v) in *headers {
                rb = rb.header(*k, *v);
            }
            let res = app.clone().oneshot(rb.body(Body::empty()).unwrap()).await.unwrap();
            assert_eq!(res.status(), *want, "{method} {path} {headers:?}");
        }
    }

    #[test]
    fn secrets_in_paths_are_not_logged() {
        let cases = [
            ("/api/v1/links/srl_AbC-123/unlock", "/api/v1/links/srl_/unlock"),
            ("/api/v1/links/srl_x", "/api/v1/links/srl_"),
            ("/api/v1/files/0190-ab/content", "/api/v1/files/0190-ab/content"),
            ("/api/v1/folders/sr_x", "/api/v1/folders/sr_x"),
            ("/", "/"),
        ];
        for (path, logged) in cases {
            assert_eq!(super::redacted(path), logged, "{path}");
        }
    }
}
