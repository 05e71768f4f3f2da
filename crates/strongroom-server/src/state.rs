//! What every request handler shares. Nothing here is per-process state that matters for
//! correctness: sessions, tokens and data live in the database and blob store, so several
//! server processes can run against one PostgreSQL and one bucket.

use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use strongroom_service::Service;

pub struct AppState {
    /// The use cases' database, blob store and clock; handlers reach them (and
    /// `change_by`, `audit`, `now`) through `Deref`.
    pub service: Service,
    /// Whether this process terminates TLS (HSTS is sent).
    pub tls: bool,
    /// Whether browsers reach us over HTTPS: this process terminates TLS, or `public_url`
    /// is `https://` (a TLS reverse proxy in front). The session cookie is then `Secure`
    /// and `__Host-` prefixed, so it never travels in clear nor can be set by a sibling host.
    pub https: bool,
    /// How long a request body may send nothing (`[http] body_idle_timeout_secs`).
    pub body_idle_timeout: std::time::Duration,
    pub metrics: Option<PrometheusHandle>,
    /// Serve `/metrics` without authentication (`[metrics] public`).
    pub metrics_public: bool,
    /// Peers whose forwarding header is believed (`[http] trusted_proxies`,
    /// `forwarded_header`).
    pub proxies: crate::extract::TrustedProxies,
    /// The key this node seals the audit chain with (`[audit]`).
    pub seal_key: Arc<strongroom_crypto::SealKey>,
}

pub type Shared = Arc<AppState>;

impl AppState {
    /// The session cookie's name: `__Host-` prefixed over HTTPS (browsers then accept it
    /// only with `Secure`, `Path=/` and no `Domain`).
    pub fn session_cookie(&self) -> &'static str {
        if self.https {
            "__Host-strongroom_session"
        } else {
            "strongroom_session"
        }
    }

    /// `Set-Cookie` value for the session cookie (`secret` empty and `max_age` 0 clear it).
    pub fn session_cookie_header(&self, secret: &str, max_age: i64) -> String {
        let secure = if self.https { "; Secure" } else { "" };
        format!(
            "{}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}",
            self.session_cookie()
        )
    }
}

impl std::ops::Deref for AppState {
    type Target = Service;

    fn deref(&self) -> &Service {
        &self.service
    }
}
