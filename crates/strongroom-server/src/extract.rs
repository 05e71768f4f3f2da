//! Typed extractors: the authenticated caller, and JSON/query/path extractors whose
//! rejections are answered in our JSON error format.

use crate::error::ApiError;
use crate::state::Shared;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use strongroom_auth::AuthError;
use strongroom_core::audit::RequestOrigin;
use strongroom_service::account;

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

/// Where the request came from: the client's address (see [`client_address`]), its
/// browser, and the server's own id for the request (never the client's `X-Request-Id`).
pub fn origin_of(parts: &Parts, proxies: &TrustedProxies) -> RequestOrigin {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let header_str = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect())
    };
    RequestOrigin {
        ip: client_address(peer, &parts.headers, proxies).map(|a| a.to_string()),
        user_agent: header_str("user-agent"),
        request_id: parts.extensions.get::<crate::http::RequestId>().map(|r| r.0.clone()),
        route: parts
            .extensions
            .get::<axum::extract::MatchedPath>()
            .map(|p| format!("{} {}", parts.method, p.as_str())),
    }
}

/// The reverse proxies whose word on the client's address is believed (`[http]
/// trusted_proxies`), and the one header they write it in (`[http] forwarded_header`).
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies {
    pub ranges: Vec<IpNet>,
    /// `x-forwarded-for` or `forwarded`. Only this one is read: proxies append to the header
    /// they write and pass the other through as the client sent it.
    pub header: ForwardedHeader,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    #[default]
    XForwardedFor,
    Forwarded,
}

/// The client's address: the direct peer, unless the peer is a trusted proxy; then the
/// configured forwarding header is read from the nearest hop back, past every trusted
/// proxy, to the first address that is not one. From any other peer the headers are
/// ignored: anyone can send them. A hop that is no address (`unknown`, a name, garbage)
/// makes the client unknown (`None`, which no address rule allows): what lies beyond it
/// cannot be told apart from what a client wrote.
pub fn client_address(peer: Option<IpAddr>, headers: &HeaderMap, proxies: &TrustedProxies) -> Option<IpAddr> {
    let peer = peer?.to_canonical();
    let is_trusted = |a: &IpAddr| proxies.ranges.iter().any(|n| n.contains(a));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut client = peer;
    for hop in forwarded_chain(headers, proxies.header).iter().rev() {
        client = parse_hop(hop)?;
        if !is_trusted(&client) {
            break;
        }
    }
    Some(client)
}

/// The addresses the proxies recorded in `header`, farthest first. Each entry is decoded on
/// its own, so one byte a client wrote in its part of a line does not hide the part the
/// proxy appended.
fn forwarded_chain(headers: &HeaderMap, header: ForwardedHeader) -> Vec<String> {
    let name = match header {
        ForwardedHeader::XForwardedFor => "x-forwarded-for",
        ForwardedHeader::Forwarded => "forwarded",
    };
    let entries = headers
        .get_all(name)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .map(|e| String::from_utf8_lossy(e).trim().to_string());
    match header {
        ForwardedHeader::XForwardedFor => entries.collect(),
        ForwardedHeader::Forwarded => entries
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                    .map_or_else(String::new, |(_, v)| v.trim().trim_matches('"').to_string())
            })
            .collect(),
    }
}

/// One hop's address: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(a) = hop.parse::<IpAddr>() {
        return Some(a.to_canonical());
    }
    if let Ok(sa) = hop.parse::<SocketAddr>() {
        return Some(sa.ip().to_canonical());
    }
    let inner = hop.strip_prefix('[')?.split(']').next()?;
    inner.parse::<IpAddr>().ok().map(|a| a.to_canonical())
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
pub struct Caller(pub strongroom_service::Caller);

impl std::ops::Deref for Caller {
    type Target = strongroom_service::Caller;

    fn deref(&self) -> &strongroom_service::Caller {
        &self.0
    }
}

impl<'a> From<&'a Caller> for Requester<'a> {
    fn from(c: &'a Caller) -> Self {
        Requester::User(&c.0)
    }
}

impl<'a> From<&'a Caller> for strongroom_service::Operator<'a> {
    fn from(c: &'a Caller) -> Self {
        strongroom_service::Operator::User(&c.0)
    }
}

impl FromRequestParts<Shared> for Caller {
    type Rejection = ApiError;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let origin = origin_of(parts, &state.proxies);
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let value = auth.to_str().map_err(|_| AuthError::Unauthenticated)?;
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .ok_or(AuthError::Unauthenticated)?
                .trim();
            return Ok(Caller(account::token_caller(state, token, origin).await?));
        }
        let secret = cookie(parts, state.session_cookie()).ok_or(AuthError::Unauthenticated)?;
        let (caller, csrf_hash) = account::session_caller(state, secret, origin).await?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let given = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if given.is_empty() || !strongroom_auth::token::matches(given, &csrf_hash) {
                return Err(AuthError::Csrf.into());
            }
        }
        Ok(Caller(caller))
    }
}

/// Where an unauthenticated request came from (for auditing sign-in and setup).
pub struct Origin(pub RequestOrigin);

impl FromRequestParts<Shared> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Self::Rejection> {
        Ok(Origin(origin_of(parts, &state.proxies)))
    }
}

/// The holder of an unlocked external link, by `Authorization: Bearer srk_…` (the session
/// `POST /api/v1/links/{token}/unlock` handed out). The link is live: neither expired nor
/// revoked, which ends its sessions at once.
pub struct LinkCaller(pub strongroom_service::LinkCaller);

impl std::ops::Deref for LinkCaller {
    type Target = strongroom_service::LinkCaller;

    fn deref(&self) -> &strongroom_service::LinkCaller {
        &self.0
    }
}

impl<'a> From<&'a LinkCaller> for Requester<'a> {
    fn from(l: &'a LinkCaller) -> Self {
        Requester::Link(&l.0)
    }
}

impl FromRequestParts<Shared> for LinkCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let origin = origin_of(parts, &state.proxies);
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
        Ok(LinkCaller(strongroom_service::LinkCaller {
            holder: strongroom_core::LinkHolder {
                link_id: link.id.to_string(),
            },
            link,
            session_hash: hash,
            origin,
        }))
    }
}

pub use strongroom_service::Requester;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_address_is_believed_only_from_trusted_proxies() {
        let proxies = |header| TrustedProxies {
            ranges: vec!["10.0.0.0/8".parse().unwrap(), "2001:db8:ffff::/48".parse().unwrap()],
            header,
        };
        let (xff, fwd) = (ForwardedHeader::XForwardedFor, ForwardedHeader::Forwarded);
        // (peer, header values, which header the proxies write, client)
        type Case = (
            &'static str,
            &'static [(&'static str, &'static [u8])],
            ForwardedHeader,
            Option<&'static str>,
        );
        #[rustfmt::skip]
        let cases: &[Case] = &[
            ("203.0.113.9", &[("x-forwarded-for", b"192.0.2.1")], xff, Some("203.0.113.9")),
            ("10.0.0.1", &[], xff, Some("10.0.0.1")),
            ("10.0.0.1", &[("x-forwarded-for", b"192.0.2.1")], xff, Some("192.0.2.1")),
            ("10.0.0.1", &[("x-forwarded-for", b"198.51.100.1, 192.0.2.1")], xff, Some("192.0.2.1")),
            ("10.0.0.1", &[("x-forwarded-for", b"192.0.2.1, 10.0.0.2")], xff, Some("192.0.2.1")),
            ("10.0.0.1", &[("x-forwarded-for", b"192.0.2.1"), ("x-forwarded-for", b"10.0.0.2")], xff, Some("192.0.2.1")),
            ("10.0.0.1", &[("x-forwarded-for", b"unknown")], xff, None),
            ("10.0.0.1", &[("x-forwarded-for", b"\xff\xfe, 192.0.2.1")], xff, Some("192.0.2.1")),
            ("10.0.0.1", &[("x-forwarded-for", b"192.0.2.1, \xff")], xff, None),
            ("10.0.0.1", &[("x-forwarded-for", b"::ffff:192.0.2.1")], xff, Some("192.0.2.1")),
            // The header the proxies do not write is the client's own: ignored.
            ("10.0.0.1", &[("forwarded", b"for=198.51.100.1"), ("x-forwarded-for", b"192.0.2.1")], xff, Some("192.0.2.1")),
            ("10.0.0.1", &[("forwarded", b"for=198.51.100.1")], xff, Some("10.0.0.1")),
            ("10.0.0.1", &[("forwarded", b"for=\"[2001:db8::1]:4711\";proto=https")], fwd, Some("2001:db8::1")),
            ("10.0.0.1", &[("forwarded", b"for=192.0.2.1:80, for=10.0.0.3")], fwd, Some("192.0.2.1")),
            ("10.0.0.1", &[("forwarded", b"for=unknown")], fwd, None),
            ("10.0.0.1", &[("x-forwarded-for", b"192.0.2.1")], fwd, Some("10.0.0.1")),
            ("::ffff:10.0.0.1", &[("x-forwarded-for", b"192.0.2.1")], xff, Some("192.0.2.1")),
        ];
        for (peer, hdrs, header, want) in cases {
            let mut map = HeaderMap::new();
            for (k, v) in *hdrs {
                map.append(*k, axum::http::HeaderValue::from_bytes(v).unwrap());
            }
            let got = client_address(Some(peer.parse().unwrap()), &map, &proxies(*header));
            assert_eq!(got.map(|a| a.to_string()).as_deref(), *want, "{peer} {hdrs:?}");
        }
    }
}
