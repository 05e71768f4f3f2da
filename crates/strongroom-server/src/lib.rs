//! The HTTP server: a thin shell of routes over the core, auth and store crates.
#![forbid(unsafe_code)]

pub mod config;
pub mod error;
pub mod extract;
pub mod http;
pub mod keys;
pub mod limits;
pub mod openapi;
pub mod range;
pub mod routes;
pub mod state;
pub mod tls;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use config::Config;
use state::{AppState, Shared};
use std::net::SocketAddr;
use std::sync::Arc;
use strongroom_core::{Clock, SystemClock};
use strongroom_store::encryption::KeyRing;
use strongroom_store::{BlobStore, Db, blob::S3Settings};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Strongroom API",
        description = "Self-hosted secure document workspace. Authenticate with a session cookie (plus X-CSRF-Token) or `Authorization: Bearer <API token>`."
    ),
    components(schemas(
        error::ErrorBody,
        openapi::Id,
        openapi::Name,
        openapi::OptionalName,
        openapi::ItemName,
        openapi::Email,
        openapi::NewPassword,
        openapi::DocumentPassword
    ))
)]
struct ApiDoc;

/// Every route with its OpenAPI description.
pub fn api() -> (Router<Shared>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::system::router())
        .merge(routes::auth::router())
        .merge(routes::people::router())
        .merge(routes::privacy::router())
        .merge(routes::audit::router())
        .merge(routes::rooms::router())
        .merge(routes::grants::router())
        .merge(routes::links::router())
        .merge(routes::content::router())
        .merge(routes::files::router())
        .merge(routes::settings::router())
        .merge(routes::sign_in::router())
        .merge(routes::second_factor::router())
        .merge(routes::passkeys::router())
        .merge(routes::invitations::router())
        .merge(routes::transform::router())
        .split_for_parts();
    // After the merge: the error answers are added from each operation's shape.
    utoipa::Modify::modify(&openapi::ErrorResponses, &mut doc);
    (router, doc)
}

/// The complete application with middleware.
pub fn app(state: Shared) -> Router {
    let (router, openapi) = api();
    let spec = Arc::new(openapi.to_json().unwrap_or_default());
    let tls = state.tls;
    let session_cookie = state.session_cookie();
    let body_idle = state.body_idle_timeout;
    router
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let spec = spec.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        spec.as_str().to_owned(),
                    )
                }
            }),
        )
        .fallback(|| async { error::ApiError::not_found("route") })
        // Uploads stream without a size limit; JSON bodies are bounded by `extract::Json`.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(move |req, next| {
            limits::body_idle_timeout(body_idle, req, next)
        }))
        .layer(axum::middleware::from_fn(limits::close_after_unread_body))
        .layer(axum::middleware::from_fn(move |req, next| {
            http::csrf(session_cookie, req, next)
        }))
        .layer(axum::middleware::from_fn(http::observe))
        .layer(axum::middleware::from_fn(move |req, next| {
            http::security_headers(tls, req, next)
        }))
        .layer(axum::middleware::from_fn(http::request_id))
        .with_state(state)
}

/// Name of the sealed secret holding the S3 secret access key, used when the configuration
/// does not give one (`strongroom admin secret set storage.s3.secret_access_key`).
pub const S3_SECRET_NAME: &str = "storage.s3.secret_access_key";

/// Opens the configured database and the master keys, refusing keys that cannot open what is
/// stored. Enough for commands that touch no document body.
pub async fn open_database(cfg: &Config) -> Result<(Db, KeyRing), String> {
    std::fs::create_dir_all(&cfg.data_dir)
        .map_err(|e| format!("cannot create data directory {}: {e}", cfg.data_dir.display()))?;
    warn_if_shared(&cfg.data_dir);
    let db = Db::connect(&cfg.database_url())
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    let ring = keys::ring(&cfg.encryption)?;
    keys::check_keys_in_use(&db, &ring).await?;
    Ok((db, ring))
}

/// Warns when the data directory (made before this version, or by hand) lets other accounts
/// on the host in: it holds password hashes, sealed secrets, the audit trail and, without
/// encryption at rest, every document.
fn warn_if_shared(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(dir) {
        let mode = m.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(dir = %dir.display(), mode = format!("{mode:o}"), "data directory is accessible to other users");
            eprintln!(
                "warning: data directory {} has mode {mode:o}: other accounts on this host can read it; run `chmod -R go-rwx {}`",
                dir.display(),
                dir.display()
            );
        }
    }
}

/// How long a browser session lasts (`[auth] session_hours`, at least one).
fn session_ms(cfg: &Config) -> i64 {
    i64::from(cfg.auth.session_hours.max(1)) * 3_600_000
}

/// The use cases on the configured database and blob store, for the CLI.
pub async fn open_service(cfg: &Config) -> Result<strongroom_service::Service, String> {
    let (db, blobs) = open_storage(cfg).await?;
    Ok(strongroom_service::Service {
        db,
        blobs,
        clock: Arc::new(SystemClock),
        session_ms: session_ms(cfg),
        public_url: cfg.base_url(),
        uploads: Default::default(),
    })
}

/// Opens the configured database and blob store.
pub async fn open_storage(cfg: &Config) -> Result<(Db, BlobStore), String> {
    let (db, ring) = open_database(cfg).await?;
    let blobs = match cfg.storage.kind.as_str() {
        "local" => BlobStore::local(&cfg.blob_dir()),
        "s3" => BlobStore::s3(&S3Settings {
            endpoint: Some(cfg.storage.endpoint.clone()).filter(|e| !e.is_empty()),
            bucket: cfg.storage.bucket.clone(),
            region: cfg.storage.region.clone(),
            access_key_id: cfg.storage.access_key_id.clone(),
            secret_access_key: s3_secret_key(cfg, &db, &ring).await?,
            path_style: cfg.storage.path_style,
            allow_http: cfg.storage.allow_http,
            prefix: cfg.storage.prefix.clone(),
        }),
        other => return Err(format!("storage.kind must be \"local\" or \"s3\", not {other:?}")),
    }
    .map_err(|e| format!("cannot open the blob store: {e}"))?;
    Ok((db, blobs.with_keys(ring)))
}

/// The S3 secret key: from the configuration, else the sealed secret in the database.
async fn s3_secret_key(cfg: &Config, db: &Db, ring: &KeyRing) -> Result<String, String> {
    if !cfg.storage.secret_access_key.0.is_empty() {
        return Ok(cfg.storage.secret_access_key.0.clone());
    }
    let stored = strongroom_store::secrets::get(db, ring, S3_SECRET_NAME)
        .await
        .map_err(|e| format!("cannot read the S3 secret key from the database: {e}"))?
        .ok_or_else(|| {
            format!(
                "storage.secret_access_key is not set: set it in the configuration (or STRONGROOM_STORAGE__SECRET_ACCESS_KEY), \
                 or keep it sealed in the database with `strongroom admin secret set {S3_SECRET_NAME}`"
            )
        })?;
    String::from_utf8(stored.to_vec()).map_err(|_| format!("secret {S3_SECRET_NAME} is not UTF-8 text"))
}

/// Prints a one-time setup link when the instance has no Owner yet.
async fn announce_setup(cfg: &Config, db: &Db, clock: &dyn Clock) -> Result<(), String> {
    if strongroom_store::people::owner_exists(db)
        .await
        .map_err(|e| e.to_string())?
    {
        return Ok(());
    }
    let (secret, hash) = strongroom_auth::token::generate(strongroom_auth::token::Kind::Setup);
    let now = clock.now_ms();
    strongroom_store::sessions::create_setup_token(db, &hash, now, now + 24 * 3_600_000)
        .await
        .map_err(|e| e.to_string())?;
    // Printed to the terminal of whoever started the server, never to the structured log.
    eprintln!(
        "\nNo Owner account yet. Create it within 24 hours with this one-time setup token:\n\n  curl -X POST {base}/api/v1/setup -H 'Content-Type: application/json' \\\n    -d '{{\"token\":\"{secret}\",\"email\":\"you@example.org\",\"password\":\"…\"}}'\n\n  setup token: {secret}\n",
        base = cfg.base_url()
    );
    Ok(())
}

/// Runs the server until Ctrl-C / SIGTERM.
pub async fn serve(cfg: Config) -> Result<(), String> {
    let (db, blobs) = open_storage(&cfg).await?;
    let seal_key = Arc::new(keys::seal_key(&cfg, blobs.keys())?);
    if !(10..=86_400).contains(&cfg.audit.seal_interval_secs) {
        return Err("[audit] seal_interval_secs must be 10 to 86400".into());
    }
    if !(1..=3600).contains(&cfg.audit.alert_interval_secs) {
        return Err("[audit] alert_interval_secs must be 1 to 3600".into());
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    announce_setup(&cfg, &db, clock.as_ref()).await?;
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .ok();
    let state = Arc::new(AppState {
        service: strongroom_service::Service {
            db: db.clone(),
            blobs: blobs.clone(),
            clock,
            session_ms: session_ms(&cfg),
            public_url: cfg.base_url(),
            uploads: Default::default(),
        },
        tls: cfg.tls.enabled(),
        body_idle_timeout: std::time::Duration::from_secs(u64::from(cfg.http.body_idle_timeout_secs.max(1))),
        https: cfg.tls.enabled() || cfg.public_url.trim().to_ascii_lowercase().starts_with("https://"),
        metrics,
        metrics_public: cfg.metrics.public,
        proxies: cfg.http.proxies()?,
        seal_key: seal_key.clone(),
    });
    if cfg.encryption.enabled {
        state.spawn_conversion(strongroom_store::convert::Target::Encrypted);
    }
    // Blobs of purged files and uploads left unfinished by a killed process are deleted, and
    // expired sessions removed, by a sweep on every node each minute; all are idempotent.
    let sweeper = state.clone();
    tokio::spawn(async move {
        loop {
            sweeper.sweep_now();
            match sweeper.blobs.sweep_partial_uploads(sweeper.now()).await {
                Ok(removed) => {
                    for p in removed {
                        tracing::info!(upload = %p.name, "removed a partial upload left by a killed process");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "removing partial uploads failed; will retry"),
            }
            if let Err(e) = strongroom_store::sessions::purge_expired(&sweeper.db, sweeper.now()).await {
                tracing::warn!(error = %e, "removing expired link sessions failed; will retry");
            }
            if let Err(e) = strongroom_service::account::sweep_sign_in(&sweeper).await {
                tracing::warn!(error = %e, "ending expired sessions failed; will retry");
            }
            if let Err(e) = strongroom_service::audit::sweep(&sweeper).await {
                tracing::warn!(error = %e, "removing audit events past their retention failed; will retry");
            }
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        }
    });
    // The chain's head is sealed every few minutes when it moved (every node may: a place
    // is sealed once), and once more on the way out.
    let sealer = state.clone();
    let every = std::time::Duration::from_secs(u64::from(cfg.audit.seal_interval_secs));
    tokio::spawn(async move {
        loop {
            seal_head(&sealer).await;
            tokio::time::sleep(every).await;
        }
    });
    // Alert rules are checked on every node; a firing is claimed in the database, once.
    let watcher = state.clone();
    let every = std::time::Duration::from_secs(u64::from(cfg.audit.alert_interval_secs));
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            match strongroom_service::monitoring::check_alerts(&watcher).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(alerts = n, "alert rules fired"),
                Err(e) => tracing::warn!(error = %e, "checking the alert rules failed; will retry"),
            }
        }
    });
    let last_seal = state.clone();
    let addr: SocketAddr = cfg
        .listen
        .parse()
        .map_err(|e| format!("listen address {:?}: {e}", cfg.listen))?;
    let app = app(state).into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    let scheme = if cfg.tls.enabled() { "https" } else { "http" };
    let announce = handle.clone();
    tokio::spawn(async move {
        // The bound address, which differs from the configured one for port 0.
        if let Some(bound) = announce.listening().await {
            tracing::info!(addr = %bound, "listening");
            eprintln!("strongroom listening on {scheme}://{bound}");
        }
    });
    let h = handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        h.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    });
    let per_address = limits::PerAddressLimit::new(cfg.http.max_connections_per_address as usize);
    let header_timeout = limits::header_timeout(&cfg.http);
    let served = if cfg.tls.enabled() {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let (cert, key) = tls::cert_files(&cfg.tls, &cfg.data_dir)?;
        let rustls_cfg = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
            .await
            .map_err(|e| {
                format!(
                    "cannot load TLS certificate {} / key {}: {e}",
                    cert.display(),
                    key.display()
                )
            })?;
        let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(rustls_cfg).acceptor(per_address);
        let mut server = axum_server::bind(addr).acceptor(acceptor);
        limit_slow_clients(server.http_builder(), &cfg);
        server
            .first_request_timeout(header_timeout)
            .handle(handle)
            .serve(app)
            .await
            .map_err(|e| format!("server error: {e}"))
    } else {
        let mut server = axum_server::bind(addr).acceptor(per_address);
        limit_slow_clients(server.http_builder(), &cfg);
        server
            .first_request_timeout(header_timeout)
            .handle(handle)
            .serve(app)
            .await
            .map_err(|e| format!("server error: {e}"))
    };
    seal_head(&last_seal).await;
    served
}

/// Seals the audit chain's head if it moved since the last seal.
async fn seal_head(st: &AppState) {
    match strongroom_store::audit::seal::seal(&st.db, &st.seal_key, st.now()).await {
        Ok(Some(s)) => tracing::debug!(seq = s.seq, "audit chain sealed"),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "sealing the audit chain failed; will retry"),
    }
}

/// Header-read (and keep-alive idle) timeout for HTTP/1, keep-alive pings for HTTP/2.
fn limit_slow_clients(b: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>, cfg: &Config) {
    let t = limits::header_timeout(&cfg.http);
    b.http1().header_read_timeout(t);
    b.http2().keep_alive_interval(Some(t)).keep_alive_timeout(t);
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
