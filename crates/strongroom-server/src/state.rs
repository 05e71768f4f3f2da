//! What every request handler shares. Nothing here is per-process state that matters for
//! correctness: sessions, tokens and data live in the database and blob store, so several
//! server processes can run against one PostgreSQL and one bucket.

use crate::error::ApiResult;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use strongroom_core::Clock;
use strongroom_core::audit::AuditEvent;
use strongroom_store::{BlobStore, Db};

pub struct AppState {
    pub db: Db,
    pub blobs: BlobStore,
    pub clock: Arc<dyn Clock>,
    /// Browser session lifetime.
    pub session_ms: i64,
    /// Whether cookies get the `Secure` flag (served over TLS).
    pub tls: bool,
    pub metrics: Option<PrometheusHandle>,
    /// Serve `/metrics` without authentication (`[metrics] public`).
    pub metrics_public: bool,
}

pub type Shared = Arc<AppState>;

impl AppState {
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Records an audit event; the one path from handlers to the audit trail.
    pub async fn audit(&self, event: AuditEvent) -> ApiResult<()> {
        strongroom_store::audit::record(&self.db, &event, self.now()).await?;
        Ok(())
    }
}
