//! What every request handler shares. Nothing here is per-process state that matters for
//! correctness: sessions, tokens and data live in the database and blob store, so several
//! server processes can run against one PostgreSQL and one bucket.

use crate::error::ApiResult;
use crate::extract::Requester;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use strongroom_auth::AuthError;
use strongroom_core::Clock;
use strongroom_core::audit::AuditEvent;
use strongroom_store::sessions::{self, SignIn};
use strongroom_store::{BlobStore, Change, Db};

pub struct AppState {
    pub db: Db,
    pub blobs: BlobStore,
    pub clock: Arc<dyn Clock>,
    /// Browser session lifetime.
    pub session_ms: i64,
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

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Starts a change: its writes and its audit event commit together, or not at all.
    pub async fn change(&self) -> ApiResult<Change> {
        Ok(Change::begin(&self.db, self.now()).await?)
    }

    /// Starts a change made by a signed-in person or a link holder. Their sign-in is checked
    /// again inside it: a session ended, a token revoked, a person disabled or a link revoked
    /// while the request was on its way (a long upload, a queued request) makes it 401, and
    /// nothing is written.
    pub async fn change_by<'a>(&self, who: impl Into<Requester<'a>>) -> ApiResult<Change> {
        let mut change = self.change().await?;
        let hashes;
        let how = match who.into() {
            Requester::User(c) => {
                hashes = c.sign_in_hashes();
                match &hashes {
                    (Some(session), _) => SignIn::Session(session),
                    (None, Some(token)) => SignIn::Token(token),
                    (None, None) => return Err(AuthError::Unauthenticated.into()),
                }
            }
            Requester::Link(l) => SignIn::Link(&l.link.id),
        };
        if !sessions::still_signed_in(&mut change, how).await? {
            return Err(AuthError::Unauthenticated.into());
        }
        Ok(change)
    }

    /// Records an audit event that changes nothing else (a download, a view, a refusal).
    /// Changes record theirs with [`Change::commit`].
    pub async fn audit(&self, event: AuditEvent) -> ApiResult<()> {
        strongroom_store::audit::record(&self.db, &event, self.now()).await?;
        Ok(())
    }
}
