//! Passkeys (WebAuthn) over HTTP, answered by an independent authenticator: the software
//! passkey of `webauthn-authenticator-rs`, which does the client's and the authenticator's
//! half of each ceremony (origin and RP id checks, signatures, counters). Enrolment, the
//! second step of sign-in and step-up with a passkey, a ceremony started on one node and
//! finished on another, replays refused, passwordless sign-in only when allowed, removal,
//! and the login history and audit trail of each.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse, Url,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

/// The relying party is `public_url`'s host: `localhost` (any port there), as browsers and
/// the software authenticator accept over plain HTTP.
const PUBLIC_URL: &str = "public_url = \"http://localhost:8080\"\n";

/// The origin a browser on this server would present.
fn origin_of(srv: &Server) -> Url {
    Url::parse(&srv.base.replace("127.0.0.1", "localhost")).unwrap()
}

async fn raw_login(srv: &Server, email: &str) -> reqwest::Response {
    client()
        .post(srv.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
}

async fn post(srv: &Server, path: &str, body: Value) -> reqwest::Response {
    client().post(srv.url(path)).json(&body).send().await.unwrap()
}

/// A session from a sign-in's answer.
async fn session_from(srv: &Server, r: reqwest::Response) -> Session {
    let status = r.status();
    let cookie = r.headers().get("set-cookie").map(|c| c.to_str().unwrap().to_string());
    let text = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    Session {
        base: srv.url(""),
        auth: Auth::Cookie {
            cookie: cookie.expect("a session cookie").split(';').next().unwrap().to_string(),
            csrf: v["csrf_token"].as_str().unwrap().to_string(),
        },
        user_id: v["user"]["id"].as_str().unwrap().to_string(),
    }
}

async fn code_of(r: reqwest::Response) -> String {
    let text = r.text().await.unwrap();
    error_body(&text)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The authenticator's answer to request options (as the server gave them).
fn assert_with(key: &mut SoftPasskey, origin: &Url, options: Value) -> Value {
    let rcr: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    let answer: PublicKeyCredential = key.do_authentication(origin.clone(), rcr).unwrap();
    serde_json::to_value(answer).unwrap()
}

/// A password sign-in's challenge (the person has a second factor).
async fn challenge_of(srv: &Server, email: &str) -> (String, Value) {
    let v: Value = raw_login(srv, email).await.json().await.unwrap();
    assert_eq!(v["second_factor_required"], true, "{v}");
    (v["challenge"].as_str().unwrap().to_string(), v["methods"].clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn passkeys_with_a_software_authenticator() {
    for backend in backends() {
        let srv = Server::start_with(
            &backend,
            Options {
                extra_toml: PUBLIC_URL.to_string(),
                args: vec![],
            },
        );
        let node2 = srv.second_node();
        let origin = origin_of(&srv);
        let origin2 = origin_of(&node2);
        let owner = srv.owner().await;
        let mut key = SoftPasskey::new(true);

        // Enrol: options from node 1, the answer finished there; a confirmed factor at once,
        // with the backup codes of a first factor.
        let options = owner
            .json(
                owner
                    .post("/api/v1/auth/second-factors/passkey", json!({"label": "Soft key"}))
                    .await,
                StatusCode::OK,
            )
            .await;
        assert_eq!(options["publicKey"]["rp"]["id"], "localhost", "{options}");
        let ccr: CreationChallengeResponse = serde_json::from_value(options).unwrap();
        let reg = key.do_registration(origin.clone(), ccr).unwrap();
        let reg = serde_json::to_value(reg).unwrap();
        let cred_id = reg["id"].as_str().unwrap().to_string();
        // A made-up answer does not pass, and leaves the registration under way.
        let mut forged = reg.clone();
        forged["response"]["clientDataJSON"] = json!("e30");
        let r = owner
            .post(
                "/api/v1/auth/second-factors/passkey/finish",
                json!({"credential": forged}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{}", r.text().await.unwrap());
        let done = owner
            .json(
                owner
                    .post("/api/v1/auth/second-factors/passkey/finish", json!({"credential": reg}))
                    .await,
                StatusCode::CREATED,
            )
            .await;
        assert_eq!(done["factor"]["kind"], "passkey");
        assert_eq!(done["factor"]["label"], "Soft key");
        assert_eq!(done["factor"]["confirmed"], true);
        assert_eq!(done["backup_codes"].as_array().unwrap().len(), 10);
        let factor_id = done["factor"]["id"].as_str().unwrap().to_string();
        // The same answer again: no registration under way any more.
        let r = owner
            .post("/api/v1/auth/second-factors/passkey/finish", json!({"credential": reg}))
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);

        // Signing in now asks for the passkey; node 1 starts the ceremony, node 2 ends it.
        let (ch, methods) = challenge_of(&srv, OWNER_EMAIL).await;
        assert_eq!(methods, json!(["passkey", "backup_code"]));
        let options = post(
            &srv,
            "/api/v1/auth/second-factor/passkey-options",
            json!({"challenge": ch}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
        let allowed = options["publicKey"]["allowCredentials"].as_array().unwrap();
        assert_eq!(allowed.len(), 1);
        assert_eq!(allowed[0]["id"], cred_id.as_str());
        let answer = assert_with(&mut key, &origin2, options);
        // No answer at all is a wrong one.
        let r = post(
            &node2,
            "/api/v1/auth/second-factor",
            json!({"challenge": ch, "method": "passkey"}),
        )
        .await;
        assert_eq!(code_of(r).await, "invalid_code");
        let s = session_from(
            &node2,
            post(
                &node2,
                "/api/v1/auth/second-factor",
                json!({"challenge": ch, "method": "passkey", "credential": answer}),
            )
            .await,
        )
        .await;
        assert_eq!(
            s.json(s.get("/api/v1/auth/me").await, StatusCode::OK).await["email"],
            OWNER_EMAIL
        );
        // The same answer again: its challenge is spent.
        let r = post(
            &srv,
            "/api/v1/auth/second-factor",
            json!({"challenge": ch, "method": "passkey", "credential": answer}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        // And replayed into a fresh sign-in's ceremony: the challenge signed is not this one.
        let (ch2, _) = challenge_of(&srv, OWNER_EMAIL).await;
        let r = post(
            &srv,
            "/api/v1/auth/second-factor/passkey-options",
            json!({"challenge": ch2}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        let r = post(
            &srv,
            "/api/v1/auth/second-factor",
            json!({"challenge": ch2, "method": "passkey", "credential": answer}),
        )
        .await;
        assert_eq!(code_of(r).await, "invalid_code");
        // A fresh answer for it works (the counter stored moved on).
        let options = post(
            &srv,
            "/api/v1/auth/second-factor/passkey-options",
            json!({"challenge": ch2}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
        let fresh = assert_with(&mut key, &origin, options);
        session_from(
            &srv,
            post(
                &srv,
                "/api/v1/auth/second-factor",
                json!({"challenge": ch2, "method": "passkey", "credential": fresh}),
            )
            .await,
        )
        .await;

        // Step-up with the passkey.
        let options = s
            .json(
                s.post("/api/v1/auth/step-up/passkey-options", json!({})).await,
                StatusCode::OK,
            )
            .await;
        let answer = assert_with(&mut key, &origin2, options);
        let up = s
            .json(
                s.post(
                    "/api/v1/auth/step-up",
                    json!({"method": "passkey", "credential": answer}),
                )
                .await,
                StatusCode::OK,
            )
            .await;
        assert!(up["fresh_until"].as_i64().unwrap() > 0);
        let r = s
            .post(
                "/api/v1/auth/step-up",
                json!({"method": "passkey", "credential": answer}),
            )
            .await;
        assert_eq!(code_of(r).await, "invalid_code", "a step-up answer works once");

        // Passwordless: refused until the rules allow it.
        let r = post(&srv, "/api/v1/auth/passkey/options", json!({})).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = post(
            &srv,
            "/api/v1/auth/passkey",
            json!({"challenge": "srf_x", "credential": {}}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let set = s
            .put("/api/v1/settings/security/second-factor", json!({"passwordless": true}))
            .await;
        assert_eq!(set.status(), StatusCode::OK, "{}", set.text().await.unwrap());
        let started = post(&srv, "/api/v1/auth/passkey/options", json!({}))
            .await
            .json::<Value>()
            .await
            .unwrap();
        let pch = started["challenge"].as_str().unwrap().to_string();
        assert!(pch.starts_with("srf_"));
        let mut options = started["options"].clone();
        assert_eq!(
            options["publicKey"]["allowCredentials"],
            json!([]),
            "discoverable: nobody named"
        );
        // The software passkey keeps no resident keys: it is told which of its own to use, as
        // a browser's account picker would choose it.
        options["publicKey"]["allowCredentials"] = json!([{"type": "public-key", "id": cred_id}]);
        let answer = assert_with(&mut key, &origin2, options);
        let p = session_from(
            &node2,
            post(
                &node2,
                "/api/v1/auth/passkey",
                json!({"challenge": pch, "credential": answer}),
            )
            .await,
        )
        .await;
        assert_eq!(p.user_id, s.user_id);
        let r = post(
            &srv,
            "/api/v1/auth/passkey",
            json!({"challenge": pch, "credential": answer}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "a ceremony works once");
        // An answer of a passkey nobody registered: refused.
        let mut stranger = SoftPasskey::new(true);
        let other = owner
            .json(
                owner.post("/api/v1/auth/second-factors/passkey", json!({})).await,
                StatusCode::OK,
            )
            .await;
        let other_reg = stranger
            .do_registration(origin.clone(), serde_json::from_value(other).unwrap())
            .unwrap();
        let other_id = serde_json::to_value(&other_reg).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let started = post(&srv, "/api/v1/auth/passkey/options", json!({}))
            .await
            .json::<Value>()
            .await
            .unwrap();
        let mut options = started["options"].clone();
        options["publicKey"]["allowCredentials"] = json!([{"type": "public-key", "id": other_id}]);
        let answer = assert_with(&mut stranger, &origin, options);
        let r = post(
            &srv,
            "/api/v1/auth/passkey",
            json!({"challenge": started["challenge"], "credential": answer}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        // Off again: refused.
        let set = p
            .put(
                "/api/v1/settings/security/second-factor",
                json!({"passwordless": false}),
            )
            .await;
        assert_eq!(set.status(), StatusCode::OK, "{}", set.text().await.unwrap());
        let r = post(&srv, "/api/v1/auth/passkey/options", json!({})).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        // The factors list shows it; removing it (fresh) works.
        let status = p.json(p.get("/api/v1/auth/second-factors").await, StatusCode::OK).await;
        assert!(
            status["methods"].as_array().unwrap().contains(&json!("passkey")),
            "{status}"
        );
        let r = p.delete(&format!("/api/v1/auth/second-factors/{factor_id}")).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{}", r.text().await.unwrap());
        let v: Value = raw_login(&srv, OWNER_EMAIL).await.json().await.unwrap();
        assert!(
            v.get("second_factor_required").is_none() || v["second_factor_required"] == false,
            "{v}"
        );

        // The login history and the audit trail tell each outcome.
        let history = p
            .json(p.get("/api/v1/auth/login-history?limit=100").await, StatusCode::OK)
            .await;
        let reasons: Vec<String> = history
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{}:{}",
                    e["event"].as_str().unwrap(),
                    e["reason"].as_str().unwrap_or("")
                )
            })
            .collect();
        for want in [
            "factor_added:passkey",
            "factor_removed:passkey",
            "login:passkey",
            "failure:bad_code",
        ] {
            assert!(reasons.iter().any(|r| r == want), "{want} missing from {reasons:?}");
        }
        let audit = p.json(p.get("/api/v1/audit?limit=300").await, StatusCode::OK).await;
        let events = audit.as_array().unwrap();
        let actions: Vec<&str> = events.iter().filter_map(|e| e["action"].as_str()).collect();
        for want in ["auth.second_factor.add", "auth.second_factor.remove", "auth.step_up"] {
            assert!(
                actions.contains(&want),
                "{want} missing from the audit trail: {actions:?}"
            );
        }
        assert!(
            events
                .iter()
                .any(|e| e["details"]["second_factor"] == "passkey" && e["outcome"] == "success"),
            "a sign-in by passkey in the audit trail"
        );
        let log = format!("{}{}", srv.log(), node2.log());
        assert!(!log.contains(&pch), "a ceremony's secret is never logged");
    }
}
