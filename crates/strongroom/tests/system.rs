//! The binary as an operator sees it: configuration, CLI, TLS, logs, health, metrics, OpenAPI,
//! and several server processes sharing one database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should fail loudly

mod common;
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn openapi_health_metrics_and_security_headers() {
    let srv = Server::start(&backends().remove(0));
    let c = client();
    let r = c.get(srv.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert!(h.get("x-request-id").is_some_and(|v| v.len() >= 32));
    assert!(h.get("strict-transport-security").is_none(), "HSTS only over TLS");

    let spec: Value = c
        .get(srv.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(spec["openapi"].as_str().unwrap().chars().next(), Some('3'));
    let paths = spec["paths"].as_object().unwrap();
    let documented: Vec<String> = paths
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| format!("{} {p}", m.to_uppercase()))
        })
        .collect();
    let expected = [
        "GET /healthz",
        "GET /metrics",
        "POST /api/v1/setup",
        "POST /api/v1/auth/login",
        "POST /api/v1/auth/logout",
        "GET /api/v1/auth/me",
        "POST /api/v1/tokens",
        "GET /api/v1/tokens",
        "DELETE /api/v1/tokens/{id}",
        "GET /api/v1/users",
        "POST /api/v1/users",
        "GET /api/v1/users/{id}",
        "PATCH /api/v1/users/{id}",
        "POST /api/v1/users/{id}/transfer-ownership",
        "GET /api/v1/users/{id}/export",
        "POST /api/v1/users/{id}/erase",
        "POST /api/v1/users/{id}/freeze",
        "POST /api/v1/users/{id}/unfreeze",
        "GET /api/v1/groups",
        "POST /api/v1/groups",
        "GET /api/v1/groups/{id}",
        "DELETE /api/v1/groups/{id}",
        "PUT /api/v1/groups/{id}/members/{user_id}",
        "DELETE /api/v1/groups/{id}/members/{user_id}",
        "GET /api/v1/audit",
        "GET /api/v1/audit/export",
        "GET /api/v1/audit/chain",
        "GET /api/v1/settings/audit",
        "GET /api/v1/audit/reports/{report}",
        "GET /api/v1/settings/alerts",
        "PUT /api/v1/settings/alerts",
        "PUT /api/v1/settings/audit",
        "GET /api/v1/rooms",
        "POST /api/v1/rooms",
        "GET /api/v1/rooms/{id}",
        "PATCH /api/v1/rooms/{id}",
        "DELETE /api/v1/rooms/{id}",
        "GET /api/v1/rooms/{id}/members",
        "PUT /api/v1/rooms/{id}/members",
        "DELETE /api/v1/rooms/{id}/members/{kind}/{subject}",
        "GET /api/v1/rooms/{id}/trash",
        "GET /api/v1/rooms/{id}/policy",
        "PUT /api/v1/rooms/{id}/policy",
        "GET /api/v1/folders/{id}/grants",
        "PUT /api/v1/folders/{id}/grants",
        "DELETE /api/v1/folders/{id}/grants/{kind}/{subject}",
        "GET /api/v1/files/{id}/grants",
        "PUT /api/v1/files/{id}/grants",
        "DELETE /api/v1/files/{id}/grants/{kind}/{subject}",
        "GET /api/v1/folders/{id}/links",
        "POST /api/v1/folders/{id}/links",
        "DELETE /api/v1/folders/{id}/links/{link_id}",
        "GET /api/v1/files/{id}/links",
        "POST /api/v1/files/{id}/links",
        "DELETE /api/v1/files/{id}/links/{link_id}",
        "GET /api/v1/links/{token}",
        "POST /api/v1/links/{token}/unlock",
        "GET /api/v1/link/folders/{id}",
        "GET /api/v1/link/files/{id}",
        "GET /api/v1/link/files/{id}/content",
        "POST /api/v1/link/folders/{id}/files",
        "POST /api/v1/link/files/{id}/versions",
        "GET /api/v1/folders/{id}",
        "PATCH /api/v1/folders/{id}",
        "DELETE /api/v1/folders/{id}",
        "POST /api/v1/folders/{id}/folders",
        "POST /api/v1/folders/{id}/trash",
        "POST /api/v1/folders/{id}/restore",
        "POST /api/v1/folders/{id}/files",
        "GET /api/v1/files/{id}",
        "PATCH /api/v1/files/{id}",
        "DELETE /api/v1/files/{id}",
        "GET /api/v1/files/{id}/content",
        "GET /api/v1/files/{id}/versions",
        "POST /api/v1/files/{id}/versions",
        "GET /api/v1/files/{id}/versions/{version}/content",
        "POST /api/v1/files/{id}/copy",
        "POST /api/v1/files/{id}/trash",
        "POST /api/v1/files/{id}/restore",
        "GET /api/v1/admin/encryption",
        "GET /api/v1/settings/security/password-policy",
        "PUT /api/v1/settings/security/password-policy",
        "GET /api/v1/settings/security/sign-in",
        "PUT /api/v1/settings/security/sign-in",
        "GET /api/v1/auth/sessions",
        "DELETE /api/v1/auth/sessions/{id}",
        "POST /api/v1/auth/sessions/end-others",
        "GET /api/v1/auth/login-history",
        "GET /api/v1/users/{id}/sessions",
        "DELETE /api/v1/users/{id}/sessions",
        "GET /api/v1/users/{id}/lockout",
        "DELETE /api/v1/users/{id}/lockout",
        "GET /api/v1/login-history",
        "GET /api/v1/settings/mail",
        "PUT /api/v1/settings/mail",
        "POST /api/v1/auth/password-reset",
        "POST /api/v1/auth/password-reset/confirm",
        "GET /api/v1/settings/security/sign-up",
        "PUT /api/v1/settings/security/sign-up",
        "GET /api/v1/settings/security/uploads",
        "PUT /api/v1/settings/security/uploads",
        "GET /api/v1/invitations",
        "POST /api/v1/invitations",
        "DELETE /api/v1/invitations/{id}",
        "POST /api/v1/auth/sign-up",
        "POST /api/v1/auth/invitation",
        "POST /api/v1/auth/invitation/accept",
        "POST /api/v1/admin/encryption/convert",
        "POST /api/v1/files/{id}/protect",
        "POST /api/v1/files/{id}/watermark",
        "POST /api/v1/auth/second-factor",
        "POST /api/v1/auth/second-factor/sms",
        "GET /api/v1/auth/second-factors",
        "POST /api/v1/auth/second-factors/totp",
        "POST /api/v1/auth/second-factors/sms",
        "POST /api/v1/auth/second-factors/{id}/confirm",
        "POST /api/v1/auth/second-factors/{id}/send-code",
        "DELETE /api/v1/auth/second-factors/{id}",
        "POST /api/v1/auth/backup-codes",
        "POST /api/v1/auth/step-up",
        "POST /api/v1/auth/step-up/sms",
        "GET /api/v1/users/{id}/second-factors",
        "DELETE /api/v1/users/{id}/second-factors",
        "GET /api/v1/settings/security/second-factor",
        "PUT /api/v1/settings/security/second-factor",
        "GET /api/v1/settings/sms",
        "PUT /api/v1/settings/sms",
        "DELETE /api/v1/settings/sms",
        "POST /api/v1/settings/sms/test",
        "POST /api/v1/auth/second-factors/passkey",
        "POST /api/v1/auth/second-factors/passkey/finish",
        "POST /api/v1/auth/second-factor/passkey-options",
        "POST /api/v1/auth/step-up/passkey-options",
        "POST /api/v1/auth/passkey/options",
        "POST /api/v1/auth/passkey",
    ];
    for e in expected {
        assert!(documented.iter().any(|d| d == e), "{e} is not in the OpenAPI document");
    }
    assert_eq!(
        documented.len(),
        expected.len(),
        "undocumented or unexpected routes: {documented:?}"
    );

    // Metrics are for the Owner and Administrators of settings (a Prometheus scraper with an
    // API token), not for anyone who can reach the port.
    let anonymous = c.get(srv.url("/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let anonymous = anonymous.text().await.unwrap();
    assert!(!anonymous.contains("strongroom_http_requests_total"), "{anonymous}");
    let owner = srv.owner().await;
    let token = owner
        .json(
            owner
                .post("/api/v1/tokens", json!({"name": "prometheus", "expires_in_days": 30}))
                .await,
            StatusCode::CREATED,
        )
        .await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let m = c.get(srv.url("/metrics")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(m.status(), StatusCode::OK);
    let m = m.text().await.unwrap();
    assert!(
        m.contains("strongroom_http_requests_total") && m.contains("route=\"/healthz\""),
        "{m}"
    );
    let user = srv.user(&owner, "plain@example.org", "user").await;
    assert_eq!(user.get("/metrics").await.status(), StatusCode::FORBIDDEN);

    // An operator who walls the port off can open it to the monitoring network.
    let open = Server::start_with(
        &backends().remove(0),
        Options {
            extra_toml: "[metrics]\npublic = true".into(),
            args: vec![],
        },
    );
    let m = c.get(open.url("/metrics")).send().await.unwrap();
    assert_eq!(m.status(), StatusCode::OK);
}

#[tokio::test]
async fn admin_cli_creates_owner_users_and_groups() {
    let backend = backends().remove(0);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("strongroom.toml");
    std::fs::write(&config, "").unwrap();
    let out = run_cli(
        &config,
        dir.path(),
        &[
            "admin",
            "user",
            "create",
            "--email",
            "root@example.org",
            "--role",
            "owner",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run_cli(
        &config,
        dir.path(),
        &[
            "admin",
            "user",
            "create",
            "--email",
            "x@example.org",
            "--role",
            "owner",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already has an Owner"));
    let out = run_cli(
        &config,
        dir.path(),
        &[
            "admin",
            "user",
            "create",
            "--email",
            "bob@example.org",
            "--role",
            "chief",
        ],
        "",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown role"));
    for args in [
        &[
            "admin",
            "user",
            "create",
            "--email",
            "bob@example.org",
            "--role",
            "user",
            "--password-stdin",
        ][..],
        &["admin", "group", "create", "Finance"][..],
        &["admin", "group", "add-member", "Finance", "bob@example.org"][..],
    ] {
        let out = run_cli(&config, dir.path(), args, &format!("{PASSWORD}\n"));
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = run_cli(&config, dir.path(), &["admin", "user", "list", "--json"], "");
    let users: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(users.as_array().unwrap().len(), 2);
    let out = run_cli(&config, dir.path(), &["admin", "group", "list"], "");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Finance\tbob@example.org"));

    // The server on that data: no setup token (an Owner exists); the CLI's users sign in.
    let srv = Server::start_in_existing(&backend, dir, config);
    assert!(srv.setup_token.is_none());
    let root = srv.login("root@example.org", PASSWORD).await;
    assert_eq!(
        root.json(root.get("/api/v1/auth/me").await, StatusCode::OK).await["role"],
        "owner"
    );
    let out = srv.cli(&["admin", "user", "disable", "bob@example.org"], "");
    assert!(out.status.success());
    let r = client()
        .post(srv.url("/api/v1/auth/login"))
        .json(&json!({"email": "bob@example.org", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let audit = root
        .json(root.get("/api/v1/audit?action=user.create").await, StatusCode::OK)
        .await;
    assert_eq!(audit.as_array().unwrap().len(), 2, "CLI changes are audited");
    // The console goes through the same use cases as the API: the change says what changed,
    // by whom, and an Administrator needs the modules named.
    let disabled = root
        .json(root.get("/api/v1/audit?action=user.update").await, StatusCode::OK)
        .await;
    assert_eq!(disabled[0]["actor_email"], "cli");
    assert_eq!(
        disabled[0]["details"]["changed"]["active"],
        json!({"from": true, "to": false})
    );
    let admin = [
        "admin",
        "user",
        "create",
        "--email",
        "hr@example.org",
        "--role",
        "admin",
    ];
    let out = srv.cli(&admin, "");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--modules"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = srv.cli(&[&admin[..], &["--modules", ""]].concat(), "");
    assert!(!out.status.success(), "an empty --modules names no module");
    let out = srv.cli(&[&admin[..], &["--modules", "people"]].concat(), "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let users = root.json(root.get("/api/v1/users").await, StatusCode::OK).await;
    let hr = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "hr@example.org")
        .unwrap();
    assert_eq!(hr["admin_modules"], json!(["people"]));
}

#[tokio::test]
async fn bad_configuration_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    for (toml, needle) in [
        ("listen = 5", "invalid configuration"),
        ("[storage]\nkind = \"ftp\"", "storage.kind"),
        ("[database]\nurl = \"mysql://x\"", "database.url"),
        ("unknown_key = true", "unknown_key"),
    ] {
        std::fs::write(&config, toml).unwrap();
        let out = run_cli(&config, dir.path(), &["admin", "user", "list"], "");
        assert!(!out.status.success(), "{toml}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{toml}: {err}");
    }
}

#[tokio::test]
async fn tls_self_signed_hsts_secure_cookie_and_json_logs() {
    let backend = backends().remove(0);
    let srv = Server::start_with(
        &backend,
        Options {
            extra_toml: "[tls]\nself_signed = true\n".into(),
            args: vec!["--log-format".into(), "json".into()],
        },
    );
    assert!(srv.base.starts_with("https://"), "{}", srv.base);
    let owner = srv.owner().await;
    let r = client().get(srv.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    let r = client()
        .post(srv.url("/api/v1/auth/login"))
        .json(&json!({"email": OWNER_EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(r.headers()["set-cookie"].to_str().unwrap().contains("; Secure"));
    let (_, root) = owner.room("TLS").await;
    owner
        .json(
            owner
                .upload(&root, "x.txt", b"document content must not be logged".to_vec())
                .await,
            StatusCode::CREATED,
        )
        .await;
    let key = srv.dir.path().join("data/tls/self-signed-key.pem");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    // Structured logs: every log line is JSON; none holds a secret or content.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let log = srv.log();
    let json_lines: Vec<Value> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(json_lines.iter().any(|l| l["fields"]["message"] == "request"), "{log}");
    assert!(!log.contains(PASSWORD) && !log.contains("document content") && !log.contains("src_"));

    // Your own certificate and key files: here, the pair the first server generated.
    let tls_dir = srv.dir.path().join("data/tls");
    let own = Server::start_with(
        &backend,
        Options {
            extra_toml: format!(
                "[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
                tls_dir.join("self-signed-cert.pem").display(),
                tls_dir.join("self-signed-key.pem").display()
            ),
            args: vec![],
        },
    );
    assert!(own.base.starts_with("https://"));
    assert_eq!(
        client().get(own.url("/healthz")).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert!(
        !own.dir.path().join("data/tls").exists(),
        "no certificate generated when one is given"
    );
}

#[tokio::test]
async fn two_servers_share_one_database_and_blob_store() {
    // Needs a shared database: PostgreSQL (or SQLite on one machine, also tested here).
    for backend in backends() {
        eprintln!("backend: {}", backend.name);
        let a = Server::start(&backend);
        let owner = a.owner().await;
        let (_, root) = owner.room("Shared").await;
        let body = data(300_000, 9);
        let f = owner
            .json(owner.upload(&root, "a.bin", body.clone()).await, StatusCode::CREATED)
            .await;
        // Second node: same config and data directory, its own process and port.
        let b = a.second_node();
        let on_b = Session {
            base: b.base.clone(),
            ..owner.clone()
        };
        let got = on_b
            .get(&format!("/api/v1/files/{}/content", f["id"].as_str().unwrap()))
            .await;
        assert_eq!(got.status(), StatusCode::OK, "a session made on node A works on node B");
        assert_eq!(got.bytes().await.unwrap().as_ref(), &body[..]);
        let r = on_b.upload(&root, "a.bin", vec![1]).await;
        assert_eq!(r.status(), StatusCode::CONFLICT, "names are unique across nodes");
    }
}
