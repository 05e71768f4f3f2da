//! The sign-in rules end to end, on every backend: the brute-force limit exact under 200
//! parallel attempts, address rules behind trusted and untrusted proxies, active sessions
//! ended by their holder and by an administrator, the login history and its CSV export, the
//! server's own request id, and a database outage answered 503 (not "signed out").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const RULES: &str = "/api/v1/settings/security/sign-in";

async fn attempt(srv: &Server, email: &str, password: &str) -> (StatusCode, Value) {
    let r = client()
        .post(srv.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let status = r.status();
    if status == StatusCode::TOO_MANY_REQUESTS {
        assert!(r.headers().contains_key("retry-after"));
    }
    (status, r.json().await.unwrap_or(Value::Null))
}

/// How many of 200 attempts sent at once were answered with each status.
async fn two_hundred_at_once(srv: &Server, email: &str) -> Vec<(u16, usize)> {
    let all = futures::future::join_all(
        (0..200).map(|i| attempt(srv, email, Box::leak(format!("wrong guess {i}").into_boxed_str()))),
    )
    .await;
    let mut counts = std::collections::BTreeMap::new();
    for (s, _) in &all {
        *counts.entry(s.as_u16()).or_insert(0) += 1;
    }
    counts.into_iter().collect()
}

async fn history(s: &Session, query: &str) -> Vec<Value> {
    let v = s
        .json(s.get(&format!("/api/v1/login-history?{query}")).await, StatusCode::OK)
        .await;
    v.as_array().unwrap().clone()
}

#[tokio::test]
async fn the_brute_force_limit_is_exact_under_200_parallel_attempts() {
    for backend in backends().into_iter().filter(|b| b.name != "sqlite+s3") {
        // 200 connections at once from one address: more than the default per-address limit.
        let srv = Server::start_with(
            &backend,
            Options {
                extra_toml: "[http]\nmax_connections_per_address = 400\n".into(),
                args: vec![],
            },
        );
        let owner = srv.owner().await;
        let ann = srv.user(&owner, "ann@example.org", "user").await;
        let bob_pw = "another correct horse battery";
        let r = owner
            .post(
                "/api/v1/users",
                json!({"email": "bob@example.org", "role": "user", "password": bob_pw}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let hr = srv.user(&owner, "hr@example.org", "user").await;
        let r = owner
            .patch(
                &format!("/api/v1/users/{}", hr.user_id),
                json!({"role": "admin", "admin_modules": ["people"]}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());

        // Five wrong attempts from one address in 15 minutes, blocked for 15.
        let got = two_hundred_at_once(&srv, "ann@example.org").await;
        assert_eq!(got, [(401, 5), (429, 195)], "{}", backend.name);
        let (status, body) = attempt(&srv, "ann@example.org", PASSWORD).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::TOO_MANY_REQUESTS, Some("locked"))
        );
        // Another account behind the same address is not locked out.
        assert_eq!(attempt(&srv, "bob@example.org", bob_pw).await.0, StatusCode::OK);

        // An unknown address is answered exactly alike: the same split, the same bodies.
        let got = two_hundred_at_once(&srv, "nobody@example.org").await;
        assert_eq!(got, [(401, 5), (429, 195)]);
        let (_, known) = attempt(&srv, "bob@example.org", "wrong password").await;
        let (_, unknown) = attempt(&srv, "nobody2@example.org", "wrong password").await;
        assert_eq!(known["error"]["code"], unknown["error"]["code"]);
        assert_eq!(known["error"]["message"], unknown["error"]["message"]);

        // The login history has every attempt, by reason; the unknown address is not kept.
        let audit = srv.login(OWNER_EMAIL, PASSWORD).await;
        let ann_id = &ann.user_id;
        assert_eq!(
            history(&audit, &format!("user_id={ann_id}&reason=bad_password&limit=1000"))
                .await
                .len(),
            5
        );
        assert_eq!(
            history(&audit, &format!("user_id={ann_id}&reason=locked&limit=1000"))
                .await
                .len(),
            196
        );
        let unknown = history(&audit, "reason=unknown_user&limit=1000").await;
        assert_eq!(unknown.len(), 6);
        assert!(
            unknown
                .iter()
                .all(|e| e["email"].is_null() && e["user_id"].is_null() && e["ip"] == "127.0.0.1")
        );
        // Only the audit module reads everyone's; each person reads their own.
        assert_eq!(hr.get("/api/v1/login-history").await.status(), StatusCode::FORBIDDEN);
        let own = hr
            .json(hr.get("/api/v1/auth/login-history").await, StatusCode::OK)
            .await;
        assert!(
            own.as_array()
                .unwrap()
                .iter()
                .all(|e| e["user_id"] == hr.user_id.as_str())
        );

        // CSV: a header and one line per event.
        let r = audit
            .get(&format!(
                "/api/v1/login-history?user_id={ann_id}&reason=bad_password&format=csv"
            ))
            .await;
        assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
        let csv = r.text().await.unwrap();
        let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(
            lines[0],
            "id,at,time_utc,event,reason,user_id,email,ip,browser,platform"
        );
        assert_eq!(lines.len(), 6);
        assert!(
            lines[1..]
                .iter()
                .all(|l| l.contains("\"failure\",\"bad_password\"") && l.contains("\"ann@example.org\""))
        );

        // An administrator of people unlocks someone below them, not the Owner.
        let lock = format!("/api/v1/users/{ann_id}/lockout");
        let v = hr.json(hr.get(&lock).await, StatusCode::OK).await;
        assert!(v["blocked_until"].as_i64().is_some());
        assert_eq!(
            hr.delete(&format!("/api/v1/users/{}/lockout", owner.user_id))
                .await
                .status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(ann.delete(&lock).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(hr.delete(&lock).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            hr.json(hr.get(&lock).await, StatusCode::OK).await["blocked_until"],
            Value::Null
        );
        assert_eq!(attempt(&srv, "ann@example.org", PASSWORD).await.0, StatusCode::OK);
        let v = audit
            .json(audit.get("/api/v1/audit?action=user.unlock").await, StatusCode::OK)
            .await;
        assert_eq!(v[0]["target_id"], ann_id.as_str());
        assert_eq!(v[0]["actor_id"], hr.user_id.as_str());
    }
}

/// A request from `ip` as a proxy would forward it (`X-Forwarded-For`).
fn via(s: &Session, method: Method, path: &str, forwarded_for: &str) -> reqwest::RequestBuilder {
    s.request(method, path).header("x-forwarded-for", forwarded_for)
}

async fn login_via(srv: &Server, email: &str, header: (&str, &str)) -> (StatusCode, Option<Session>) {
    let r = client()
        .post(srv.url("/api/v1/auth/login"))
        .header(header.0, header.1)
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let status = r.status();
    if status != StatusCode::OK {
        let v: Value = r.json().await.unwrap();
        if status == StatusCode::FORBIDDEN {
            assert_eq!(v["error"]["code"], "ip_denied");
        }
        return (status, None);
    }
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let v: Value = r.json().await.unwrap();
    (
        status,
        Some(Session {
            base: srv.base.clone(),
            auth: Auth::Cookie {
                cookie,
                csrf: v["csrf_token"].as_str().unwrap().to_string(),
            },
            user_id: v["user"]["id"].as_str().unwrap().to_string(),
        }),
    )
}

#[tokio::test]
async fn address_rules_apply_at_sign_in_and_on_every_request() {
    let backend = backends().remove(0);
    let mut srv = Server::start_with(
        &backend,
        Options {
            extra_toml: "[http]\ntrusted_proxies = [\"127.0.0.1\"]\n".into(),
            args: vec![],
        },
    );
    let owner = srv.owner().await;
    let ann = srv.user(&owner, "ann@example.org", "user").await;

    // Rules that would refuse the administrator's own address are refused.
    let r = owner.put(RULES, json!({"allowed_addresses": ["192.0.2.0/24"]})).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = owner
        .put(RULES, json!({"allowed_addresses": ["192.0.2.1/24", "not-an-address"]}))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = owner
        .put(
            RULES,
            json!({"allowed_addresses": ["127.0.0.1", "192.0.2.77/24", "2001:db8:1::/48"], "admin_allowed_addresses": ["127.0.0.1"]}),
        )
        .await;
    let v = owner.json(r, StatusCode::OK).await;
    // Stored canonical.
    assert_eq!(
        v["allowed_addresses"],
        json!(["127.0.0.1/32", "192.0.2.0/24", "2001:db8:1::/48"])
    );

    // The address rules bind the Owner too: an Administrator of settings changes the other
    // rules, not those.
    let sa = srv.user(&owner, "sa@example.org", "user").await;
    let r = owner
        .patch(
            &format!("/api/v1/users/{}", sa.user_id),
            json!({"role": "admin", "admin_modules": ["settings"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let mut wider = v.clone();
    wider["admin_allowed_addresses"] = json!(["127.0.0.1/32", "198.51.100.0/24"]);
    assert_eq!(sa.put(RULES, wider).await.status(), StatusCode::FORBIDDEN);
    let mut idle = v.clone();
    idle["idle_minutes"] = json!(30);
    assert_eq!(sa.put(RULES, idle).await.status(), StatusCode::OK);

    // (header, value, who, expected): the proxies write X-Forwarded-For.
    #[rustfmt::skip]
    let cases: &[(&str, &str, &str, StatusCode)] = &[
        ("x-forwarded-for", "192.0.2.7", "ann@example.org", StatusCode::OK),
        ("x-forwarded-for", "203.0.113.5", "ann@example.org", StatusCode::FORBIDDEN),
        // The client wrote the first entry; the nearest untrusted hop is the client.
        ("x-forwarded-for", "192.0.2.7, 203.0.113.5", "ann@example.org", StatusCode::FORBIDDEN),
        ("x-forwarded-for", "203.0.113.5, 192.0.2.7", "ann@example.org", StatusCode::OK),
        // A hop that is no address makes the client unknown, which no rule allows.
        ("x-forwarded-for", "unknown", "ann@example.org", StatusCode::FORBIDDEN),
        // Forwarded is not what these proxies write: a client's own is ignored (the peer,
        // a trusted proxy that forwarded nothing, is taken as the client).
        ("forwarded", "for=192.0.2.7", "ann@example.org", StatusCode::OK),
        // Administrators outside their own rule are answered as a wrong password would be
        // (a 403 would confirm the password); the history has the reason.
        ("x-forwarded-for", "192.0.2.7", OWNER_EMAIL, StatusCode::UNAUTHORIZED),
    ];
    for (header, value, who, want) in cases {
        assert_eq!(
            login_via(&srv, who, (header, value)).await.0,
            *want,
            "{header}: {value} for {who}"
        );
    }
    let denied = history(&owner, "reason=ip_denied").await;
    let ips: Vec<&str> = denied.iter().map(|e| e["ip"].as_str().unwrap_or("unknown")).collect();
    assert_eq!(ips, ["192.0.2.7", "unknown", "203.0.113.5", "203.0.113.5"]);
    assert_eq!(denied[0]["user_id"], owner.user_id.as_str());

    // Every request is checked, not only the sign-in.
    let path = "/api/v1/rooms";
    assert_eq!(
        via(&ann, Method::GET, path, "192.0.2.8").send().await.unwrap().status(),
        StatusCode::OK
    );
    let r = via(&ann, Method::GET, path, "203.0.113.5").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Proxies that write Forwarded (RFC 7239): that one is read, X-Forwarded-For ignored.
    srv.restart_with("[http]\ntrusted_proxies = [\"127.0.0.1\"]\nforwarded_header = \"forwarded\"\n");
    #[rustfmt::skip]
    let cases: &[(&str, &str, StatusCode)] = &[
        ("forwarded", "for=\"[2001:db8:1::9]:4711\";proto=https", StatusCode::OK),
        ("forwarded", "for=\"[2001:db8:2::9]:4711\"", StatusCode::FORBIDDEN),
        ("forwarded", "for=unknown", StatusCode::FORBIDDEN),
        ("x-forwarded-for", "203.0.113.5", StatusCode::OK),
    ];
    for (header, value, want) in cases {
        assert_eq!(
            login_via(&srv, "ann@example.org", (header, value)).await.0,
            *want,
            "{header}: {value}"
        );
    }

    // From a peer that is no trusted proxy, the headers are ignored: the peer is the client.
    srv.restart_with("[http]\ntrusted_proxies = [\"192.0.2.254\"]\n");
    let (status, _) = login_via(&srv, "ann@example.org", ("x-forwarded-for", "203.0.113.5")).await;
    assert_eq!(status, StatusCode::OK);
    let owner = srv.login(OWNER_EMAIL, PASSWORD).await;
    let logins = history(&owner, &format!("user_id={}&event=login&limit=1", ann.user_id)).await;
    assert_eq!(logins[0]["ip"], "127.0.0.1");
}

#[tokio::test]
async fn ended_sessions_answer_401_on_every_route() {
    let backend = backends().remove(0);
    let srv = Server::start(&backend);
    let owner = srv.owner().await;
    let ann = srv.user(&owner, "ann@example.org", "user").await;
    let ann2 = srv.login("ann@example.org", PASSWORD).await;
    let hr = srv.user(&owner, "hr@example.org", "user").await;
    let r = owner
        .patch(
            &format!("/api/v1/users/{}", hr.user_id),
            json!({"role": "admin", "admin_modules": ["people"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    let mine = ann.json(ann.get("/api/v1/auth/sessions").await, StatusCode::OK).await;
    let mine = mine.as_array().unwrap();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(
        mine.iter()
            .all(|s| s["ip"] == "127.0.0.1" && s["id"].as_str().unwrap().starts_with("ses_"))
    );
    let other = mine.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Someone else's session is not found by its id.
    assert_eq!(
        hr.delete(&format!("/api/v1/auth/sessions/{other}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ann.delete(&format!("/api/v1/auth/sessions/{other}")).await.status(),
        StatusCode::NO_CONTENT
    );

    // The ended session is refused everywhere that needs one.
    let spec: Value = client()
        .get(srv.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let public = [
        ("get", "/healthz"),
        ("get", "/metrics"),
        ("post", "/api/v1/setup"),
        ("post", "/api/v1/auth/login"),
        ("post", "/api/v1/auth/password-reset"),
        ("post", "/api/v1/auth/password-reset/confirm"),
        ("post", "/api/v1/auth/sign-up"),
        ("post", "/api/v1/auth/invitation"),
        ("post", "/api/v1/auth/invitation/accept"),
        ("post", "/api/v1/auth/second-factor"),
        ("post", "/api/v1/auth/second-factor/sms"),
        ("post", "/api/v1/auth/second-factor/passkey-options"),
        ("post", "/api/v1/auth/passkey/options"),
        ("post", "/api/v1/auth/passkey"),
        ("get", "/api/v1/links/{token}"),
        ("post", "/api/v1/links/{token}/unlock"),
    ];
    let mut checked = 0;
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            if public.contains(&(method.as_str(), path.as_str())) {
                continue;
            }
            let concrete = path
                .split('/')
                .map(|seg| {
                    if seg.starts_with('{') {
                        "0190a1b2-0000-7000-8000-000000000000"
                    } else {
                        seg
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = ann2
                .request(m, &concrete)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked} routes");

    // An administrator of people sees and ends the sessions of someone below them.
    let listed = hr
        .json(
            hr.get(&format!("/api/v1/users/{}/sessions", ann.user_id)).await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(
        hr.get(&format!("/api/v1/users/{}/sessions", owner.user_id))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ann.get(&format!("/api/v1/users/{}/sessions", hr.user_id))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let v = hr
        .json(
            hr.delete(&format!("/api/v1/users/{}/sessions", ann.user_id)).await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(v["ended"].as_array().unwrap().len(), 1);
    assert_eq!(ann.get("/api/v1/auth/me").await.status(), StatusCode::UNAUTHORIZED);

    // Ending every other session keeps this one.
    let a3 = srv.login("ann@example.org", PASSWORD).await;
    let a4 = srv.login("ann@example.org", PASSWORD).await;
    let v = a3
        .json(
            a3.post("/api/v1/auth/sessions/end-others", json!({})).await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(v["ended"].as_array().unwrap().len(), 1);
    assert_eq!(a4.get("/api/v1/auth/me").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(a3.get("/api/v1/auth/me").await.status(), StatusCode::OK);
    let ends: Vec<String> = history(&owner, &format!("user_id={}&event=logout", ann.user_id))
        .await
        .iter()
        .map(|e| e["reason"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ends, ["ended_by_user", "ended_by_admin", "ended_by_user"]);
}

#[tokio::test]
async fn the_request_id_is_the_servers_own() {
    let backend = backends().remove(0);
    let srv = Server::start(&backend);
    let owner = srv.owner().await;
    let r = owner
        .request(Method::GET, "/api/v1/rooms/not-a-room")
        .header("x-request-id", "forged-request-id")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_ne!(id, "forged-request-id");
    assert_eq!(id.len(), 36, "{id}");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["request_id"], id.as_str());
    // The audit trail records the server's id, the log line too.
    let r = owner
        .request(Method::POST, "/api/v1/rooms")
        .header("x-request-id", "forged-request-id")
        .json(&json!({"name": "Cases"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    let v = owner
        .json(owner.get("/api/v1/audit?action=room.create").await, StatusCode::OK)
        .await;
    assert_eq!(v[0]["request_id"], id.as_str());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        srv.log()
            .lines()
            .any(|l| l.contains(&id) && l.contains("/api/v1/rooms")),
        "{}",
        srv.log()
    );
}

/// A TCP relay to the database that can be cut, as an outage would: while cut, it holds no
/// connection and listens on nothing (connecting is refused, as to a stopped server).
async fn relay(to: std::net::SocketAddr) -> (u16, tokio::sync::watch::Sender<bool>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (cut, mut watch) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let mut listener = Some(listener);
        loop {
            let Some(l) = &listener else {
                if watch.wait_for(|c| !*c).await.is_err() {
                    return;
                }
                listener = Some(tokio::net::TcpListener::bind(addr).await.unwrap());
                continue;
            };
            let mut stop = watch.clone();
            tokio::select! {
                accepted = l.accept() => {
                    let Ok((mut inbound, _)) = accepted else { return };
                    let mut conn_watch = watch.clone();
                    tokio::spawn(async move {
                        let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await else { return };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            _ = conn_watch.wait_for(|c| *c) => {}
                        }
                    });
                }
                _ = stop.wait_for(|c| *c) => listener = None,
            }
        }
    });
    (addr.port(), cut)
}

// Multi-threaded: the relay must run while the test waits for the server to start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_answers_503_not_401() {
    let Some(backend) = backends().into_iter().find(|b| b.name == "postgres+local") else {
        return; // backends() already failed the run if PostgreSQL is required
    };
    let (port, cut) = relay("127.0.0.1:5432".parse().unwrap()).await;
    let relayed = Backend {
        toml: backend.toml.replace("127.0.0.1:5432", &format!("127.0.0.1:{port}")),
        ..backend.clone()
    };
    assert_ne!(relayed.toml, backend.toml, "the PostgreSQL URL names 127.0.0.1:5432");
    let srv = Server::start(&relayed);
    let owner = srv.owner().await;
    assert_eq!(owner.get("/api/v1/auth/me").await.status(), StatusCode::OK);
    cut.send(true).unwrap();
    for path in ["/api/v1/auth/me", "/api/v1/rooms"] {
        let r = owner.get(path).await;
        if r.status() != StatusCode::SERVICE_UNAVAILABLE {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            panic!("{path}: {}", srv.log());
        }
        assert!(r.headers().contains_key("retry-after"));
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "unavailable");
    }
    cut.send(false).unwrap();
    // Back: the same session works again, it was never signed out.
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..50 {
        status = owner.get("/api/v1/auth/me").await.status();
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_console_sets_the_rules_and_unlocks() {
    let srv = Server::start(&backends().remove(0));
    let owner = srv.owner().await;
    srv.user(&owner, "ann@example.org", "user").await;
    let out = srv.cli(
        &[
            "admin",
            "settings",
            "sign-in",
            "--max-attempts",
            "2",
            "--max-attempts-per-account",
            "4",
        ],
        "",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["max_attempts"].as_u64(), v["block_minutes"].as_u64()),
        (Some(2), Some(15))
    );
    let out = srv.cli(
        &["admin", "settings", "sign-in", "--allowed-addresses", "10.0.0.0/33"],
        "",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an IP address or CIDR range"));

    for want in [StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED] {
        assert_eq!(attempt(&srv, "ann@example.org", "wrong password").await.0, want);
    }
    assert_eq!(
        attempt(&srv, "ann@example.org", PASSWORD).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    let out = srv.cli(&["admin", "user", "unlock", "ann@example.org"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(attempt(&srv, "ann@example.org", PASSWORD).await.0, StatusCode::OK);
    let out = srv.cli(&["admin", "user", "sign-out", "ann@example.org"], "");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "2 sessions of ann@example.org ended"
    );

    let v = owner
        .json(
            owner.get("/api/v1/audit?action=settings.sign_in_rules.set").await,
            StatusCode::OK,
        )
        .await;
    assert_eq!(v[0]["actor_email"], "cli");
    assert_eq!(
        v[0]["details"]["changed"],
        json!({"max_attempts": {"from": 5, "to": 2}, "max_attempts_per_account": {"from": 50, "to": 4}})
    );
}
