//! The audit trail through the API and the CLI: what an event records, every filter, the
//! cursor, exports (and that they are recorded), who may read it, the retention setting, and
//! `strongroom audit verify` on a trail the server wrote — untouched, then tampered with.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use common::{OWNER_EMAIL, PASSWORD, Server, backends, client};
use reqwest::StatusCode;
use serde_json::{Value, json};

const FIREFOX_ANDROID: &str = "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0";

fn seqs(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_trail_is_searchable_exportable_and_verifiable() {
    for backend in backends() {
        let srv = Server::start(&backend);
        let owner = srv.owner().await;
        let (room, _root) = owner.room("Legal").await;

        // A failed sign-in from a phone: recorded with its browser and platform.
        let r = client()
            .post(srv.url("/api/v1/auth/login"))
            .header("user-agent", FIREFOX_ANDROID)
            .json(&json!({"email": OWNER_EMAIL, "password": "wrong password here"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

        let created = owner
            .json(
                owner
                    .get(&format!("/api/v1/audit?action=room.create&target={room}"))
                    .await,
                StatusCode::OK,
            )
            .await;
        let e = &created[0];
        assert_eq!(
            (
                e["product"].as_str(),
                e["module"].as_str(),
                e["initiator"].as_str(),
                e["route"].as_str(),
                e["actor_name"].as_str(),
                e["actor_email"].as_str()
            ),
            (
                Some("documents"),
                Some("room"),
                Some("web"),
                Some("POST /api/v1/rooms"),
                Some("Olivia Owner"),
                Some(OWNER_EMAIL)
            ),
            "{e}"
        );
        assert!(
            e["description"]
                .as_str()
                .unwrap()
                .starts_with("Olivia Owner <owner@example.org>: A room was created."),
            "{e}"
        );

        let failed = owner
            .json(
                owner.get("/api/v1/audit?action=auth.login&outcome=failure").await,
                StatusCode::OK,
            )
            .await;
        let f = &failed[0];
        assert_eq!(
            (
                f["browser"].as_str(),
                f["platform"].as_str(),
                f["mobile"].as_bool(),
                f["ip"].as_str()
            ),
            (Some("Firefox"), Some("Android"), Some(true), Some("127.0.0.1")),
            "{f}"
        );
        assert!(f["description"].as_str().unwrap().ends_with("It failed."), "{f}");

        // Free text finds the room by name; a LIKE wildcard matches only itself.
        let by_text = owner
            .json(owner.get("/api/v1/audit?q=LEGAL").await, StatusCode::OK)
            .await;
        assert!(
            by_text.as_array().unwrap().iter().any(|e| e["target_id"] == room),
            "{by_text}"
        );
        let wild = owner.json(owner.get("/api/v1/audit?q=%25").await, StatusCode::OK).await;
        assert_eq!(wild, json!([]));
        // Filters narrow together; unknown values find nothing; bad values are refused.
        let mine = owner
            .json(
                owner
                    .get(&format!("/api/v1/audit?actor={}&product=documents", owner.user_id))
                    .await,
                StatusCode::OK,
            )
            .await;
        assert!(
            mine.as_array()
                .unwrap()
                .iter()
                .all(|e| e["product"] == "documents" && e["actor_id"] == owner.user_id.as_str())
        );
        assert!(!mine.as_array().unwrap().is_empty());
        let none = owner
            .json(owner.get("/api/v1/audit?ip=198.51.100.1").await, StatusCode::OK)
            .await;
        assert_eq!(none, json!([]));
        assert_eq!(
            owner.get("/api/v1/audit?order=sideways").await.status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            owner.get("/api/v1/audit?from=yesterday").await.status(),
            StatusCode::BAD_REQUEST
        );
        let future = owner
            .json(owner.get("/api/v1/audit?from=4102444800000").await, StatusCode::OK)
            .await;
        assert_eq!(future, json!([]));

        // Pages of two, followed through the Link header, give the whole trail once, newest first.
        let all = owner
            .json(owner.get("/api/v1/audit?limit=1000").await, StatusCode::OK)
            .await;
        let all = seqs(&all);
        assert_eq!(all, [4, 3, 2, 1], "setup, sign-in, room, failed sign-in");
        let mut paged = Vec::new();
        let mut next = Some("/api/v1/audit?limit=2".to_string());
        while let Some(path) = next.take() {
            let r = owner.get(&path).await;
            next = r.headers().get("link").map(|l| {
                l.to_str()
                    .unwrap()
                    .split('>')
                    .next()
                    .unwrap()
                    .trim_start_matches('<')
                    .to_string()
            });
            let page = owner.json(r, StatusCode::OK).await;
            paged.extend(seqs(&page));
        }
        // Reading the trail writes nothing to it, so the pages add up to what was there.
        assert_eq!(paged, all);
        let oldest = owner
            .json(owner.get("/api/v1/audit?order=oldest&limit=3").await, StatusCode::OK)
            .await;
        assert_eq!(seqs(&oldest), vec![1, 2, 3]);

        // Exports: every event, oldest first; the export itself is recorded with its filter.
        let r = owner.get("/api/v1/audit/export?format=csv").await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
        let csv = r.text().await.unwrap();
        let mut lines = csv.split("\r\n").filter(|l| !l.is_empty());
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with("seq,id,at,action,product,module,outcome,initiator,")
        );
        assert_eq!(lines.count(), all.len() + 1, "every event and the export's own:\n{csv}");
        let r = owner.get("/api/v1/audit/export?format=jsonl&action=room.create").await;
        assert_eq!(r.headers()["content-type"], "application/x-ndjson");
        let jsonl = r.text().await.unwrap();
        let rows: Vec<Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["target_id"], room);
        assert_eq!(
            owner.get("/api/v1/audit/export?format=xml").await.status(),
            StatusCode::BAD_REQUEST
        );
        let exports = owner
            .json(owner.get("/api/v1/audit?action=audit.export").await, StatusCode::OK)
            .await;
        assert_eq!(exports.as_array().unwrap().len(), 2);
        assert_eq!(exports[0]["details"]["format"], "jsonl");
        assert_eq!(exports[0]["details"]["filter"]["actions"], json!(["room.create"]));

        // Who may read it: the audit module; not an administrator of people, not a user.
        let people_admin = {
            let r = owner
                .post(
                    "/api/v1/users",
                    json!({"email": "pa@example.org", "role": "admin", "admin_modules": ["people"], "password": PASSWORD}),
                )
                .await;
            assert_eq!(r.status(), StatusCode::CREATED);
            srv.login("pa@example.org", PASSWORD).await
        };
        let user = srv.user(&owner, "u@example.org", "user").await;
        for who in [&people_admin, &user] {
            for path in [
                "/api/v1/audit",
                "/api/v1/audit/export",
                "/api/v1/audit/chain",
                "/api/v1/settings/audit",
            ] {
                assert_eq!(who.get(path).await.status(), StatusCode::FORBIDDEN, "{path}");
            }
        }
        let settings_admin = {
            let r = owner
                .post(
                    "/api/v1/users",
                    json!({"email": "sa@example.org", "role": "admin", "admin_modules": ["settings", "audit"], "password": PASSWORD}),
                )
                .await;
            assert_eq!(r.status(), StatusCode::CREATED);
            srv.login("sa@example.org", PASSWORD).await
        };
        // Retention: readable by the audit module, set by the Owner alone, within bounds.
        let s = settings_admin
            .json(settings_admin.get("/api/v1/settings/audit").await, StatusCode::OK)
            .await;
        assert_eq!(s, json!({"retention_days": 2190}));
        let r = settings_admin
            .put("/api/v1/settings/audit", json!({"retention_days": 365}))
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            owner
                .put("/api/v1/settings/audit", json!({"retention_days": 30}))
                .await
                .status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            owner
                .put("/api/v1/settings/audit", json!({"retention_days": 400, "extra": 1}))
                .await
                .status(),
            StatusCode::BAD_REQUEST
        );
        let s = owner
            .json(
                owner
                    .put("/api/v1/settings/audit", json!({"retention_days": 400}))
                    .await,
                StatusCode::OK,
            )
            .await;
        assert_eq!(s["retention_days"], 400);
        let set = owner
            .json(
                owner.get("/api/v1/audit?action=settings.audit.set").await,
                StatusCode::OK,
            )
            .await;
        assert_eq!(
            set[0]["details"]["changed"]["retention_days"],
            json!({"from": 2190, "to": 400})
        );

        // The chain: sealed on demand, verified by the CLI with this node's key and with the
        // public key the API gives an auditor.
        let out = srv.cli(&["audit", "seal"], "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let chain = owner.json(owner.get("/api/v1/audit/chain").await, StatusCode::OK).await;
        let public_key = chain["seal_public_key"].as_str().unwrap().to_string();
        let cli_key = String::from_utf8(srv.cli(&["audit", "public-key"], "").stdout).unwrap();
        assert_eq!(cli_key.trim(), public_key);
        assert_eq!(chain["latest_seal"]["public_key"], public_key.as_str());
        let out = srv.cli(&["audit", "verify", "--public-key", &public_key], "");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("the audit chain is intact"), "{text}");
        // A key nobody trusts: every seal is invalid, and it says so.
        let other = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
        let out = srv.cli(&["audit", "verify", "--public-key", other, "--json"], "");
        assert_eq!(out.status.code(), Some(1));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["kind"] == "seal_invalid"),
            "{report}"
        );
        // The verifications are themselves recorded, with their outcome.
        let verified = owner
            .json(owner.get("/api/v1/audit?action=audit.verify").await, StatusCode::OK)
            .await;
        assert_eq!(
            verified
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["outcome"].as_str().unwrap())
                .collect::<Vec<_>>(),
            ["failure", "success"]
        );

        // Someone edits an event in the database: named by place.
        let target = created[0]["seq"].as_i64().unwrap();
        let edit = format!("UPDATE audit_events SET details = '{{}}' WHERE seq = {target}");
        common::sql(&srv, &edit).await;
        let out = srv.cli(&["audit", "verify", "--json"], "");
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["findings"].as_array().unwrap().len(), 1, "{report}");
        assert_eq!(
            (
                report["findings"][0]["kind"].as_str(),
                report["findings"][0]["seq"].as_i64()
            ),
            (Some("edited"), Some(target))
        );
    }
}

/// The monitoring reports count what happened, on every backend: downloads per person and
/// day, refused sign-ins per address, sharing changes, link uses, administrative actions;
/// only for the audit module.
/// Each event names its target as it was then: a file by its name and its place in the room
/// (after a move, the destination), a folder by its path, a room, a group, a person.
#[tokio::test(flavor = "multi_thread")]
async fn events_name_their_targets_and_where_they_were() {
    for backend in backends() {
        let srv = Server::start(&backend);
        let owner = srv.owner().await;
        let (_room, root) = owner.room("Clinic").await;
        let sub = owner
            .json(
                owner
                    .post(
                        &format!("/api/v1/folders/{root}/folders"),
                        json!({"name": "Ärzte 2026"}),
                    )
                    .await,
                StatusCode::CREATED,
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let file = owner
            .json(
                owner.upload(&sub, "scan.pdf", b"%PDF-1.4".to_vec()).await,
                StatusCode::CREATED,
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let r = owner
            .patch(
                &format!("/api/v1/files/{file}"),
                json!({"name": "Befund.pdf", "folder_id": root}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let group = owner
            .json(
                owner.post("/api/v1/groups", json!({"name": "Nurses"})).await,
                StatusCode::CREATED,
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        srv.user(&owner, "nina@example.org", "user").await;

        let named = async |query: &str| {
            let v = owner
                .json(owner.get(&format!("/api/v1/audit?{query}")).await, StatusCode::OK)
                .await;
            let e = v[0].clone();
            (
                e["target_name"].as_str().map(str::to_string),
                e["target_path"].as_str().map(str::to_string),
            )
        };
        let s = |v: &str| Some(v.to_string());
        let want = [
            (
                format!("action=folder.create&target={sub}"),
                (s("Ärzte 2026"), s("Clinic/Ärzte 2026")),
            ),
            (
                format!("action=file.upload&target={file}"),
                (s("scan.pdf"), s("Clinic/Ärzte 2026/scan.pdf")),
            ),
            (
                format!("action=file.update&target={file}"),
                (s("Befund.pdf"), s("Clinic/Befund.pdf")),
            ),
            ("action=room.create".to_string(), (s("Clinic"), None)),
            (format!("action=group.create&target={group}"), (s("Nurses"), None)),
        ];
        for (query, expected) in want {
            assert_eq!(named(&query).await, expected, "{query}");
        }
        // A person is named by their display name, or their address when they have none.
        assert_eq!(named("action=user.create").await, (s("nina@example.org"), None));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn monitoring_reports_count_what_happened() {
    // The UTC day, from the system's `date`, not from our own calendar code.
    let today = String::from_utf8(
        std::process::Command::new("date")
            .args(["-u", "+%F"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    for backend in backends() {
        let srv = Server::start(&backend);
        let owner = srv.owner().await;
        let r = owner
            .post(
                "/api/v1/users",
                json!({"email": "una@example.org", "display_name": "Una User", "role": "user", "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let una = srv.login("una@example.org", PASSWORD).await;
        let (room, root) = owner.room("Reports").await;
        let f = owner
            .json(
                owner.upload(&root, "a.txt", b"hello".to_vec()).await,
                StatusCode::CREATED,
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let body = json!({"kind": "user", "id": una.user_id, "access": "view_only"});
        assert!(
            owner
                .put(&format!("/api/v1/rooms/{room}/members"), body)
                .await
                .status()
                .is_success()
        );
        for s in [&una, &una, &una, &owner] {
            assert_eq!(
                s.get(&format!("/api/v1/files/{f}/content")).await.status(),
                StatusCode::OK
            );
        }
        for _ in 0..2 {
            let r = client()
                .post(srv.url("/api/v1/auth/login"))
                .json(&json!({"email": "una@example.org", "password": "wrong password here"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        }
        let link = owner
            .json(
                owner
                    .post(&format!("/api/v1/files/{f}/links"), json!({"access": "view_only"}))
                    .await,
                StatusCode::CREATED,
            )
            .await;
        let token = link["token"].as_str().unwrap();
        let link_actor = format!("link:{}", link["id"].as_str().unwrap());
        assert_eq!(
            client()
                .get(srv.url(&format!("/api/v1/links/{token}")))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );

        let report = |name: &'static str| {
            let owner = owner.clone();
            async move {
                owner
                    .json(
                        owner.get(&format!("/api/v1/audit/reports/{name}")).await,
                        StatusCode::OK,
                    )
                    .await
            }
        };
        let strip = |v: Value| -> Vec<Value> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    let o = r.as_object_mut().unwrap();
                    assert!(
                        o.remove("first_at").unwrap().as_i64().unwrap()
                            <= o.remove("last_at").unwrap().as_i64().unwrap()
                    );
                    r
                })
                .collect()
        };
        assert_eq!(
            strip(report("downloads").await),
            vec![
                json!({"day": today, "actor_id": una.user_id, "actor_name": "Una User", "count": 3}),
                json!({"day": today, "actor_id": owner.user_id, "actor_name": "Olivia Owner", "count": 1}),
            ],
            "{}",
            backend.name
        );
        assert_eq!(
            strip(report("failed_sign_ins").await),
            vec![json!({"ip": "127.0.0.1", "count": 2})]
        );
        let sharing = strip(report("sharing").await);
        for want in [
            json!({"actor_id": owner.user_id, "actor_name": "Olivia Owner", "action": "grant.set", "count": 1}),
            json!({"actor_id": owner.user_id, "actor_name": "Olivia Owner", "action": "link.create", "count": 1}),
        ] {
            assert!(sharing.contains(&want), "{want} not in {sharing:?}");
        }
        assert_eq!(sharing.len(), 2, "{sharing:?}");
        let uses = strip(report("link_uses").await);
        assert_eq!(uses.len(), 1, "{uses:?}");
        assert_eq!(
            (
                uses[0]["actor_id"].as_str(),
                uses[0]["action"].as_str(),
                uses[0]["count"].as_i64()
            ),
            (Some(link_actor.as_str()), Some("link.open"), Some(1))
        );
        let admin = strip(report("admin_actions").await);
        assert!(
            admin.contains(
                &json!({"actor_id": owner.user_id, "actor_name": "Olivia Owner", "action": "user.create", "count": 1})
            ),
            "{admin:?}"
        );
        assert!(
            admin
                .iter()
                .all(|r| r["action"] != "file.download" && r["action"] != "auth.login"),
            "{admin:?}"
        );
        // A period before all of it is empty, and so is one that ends before it starts.
        let early = owner.get("/api/v1/audit/reports/downloads?from=0&to=1000").await;
        assert_eq!(owner.json(early, StatusCode::OK).await, json!([]));
        let r = owner.get("/api/v1/audit/reports/downloads?from=2000&to=1000").await;
        assert_eq!(owner.json(r, StatusCode::OK).await, json!([]), "an empty period");
        assert_eq!(
            owner.get("/api/v1/audit/reports/everything").await.status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            una.get("/api/v1/audit/reports/downloads").await.status(),
            StatusCode::FORBIDDEN
        );
    }
}
