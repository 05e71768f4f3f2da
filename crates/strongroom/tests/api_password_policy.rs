//! The password policy: set by an administrator of settings (API) or at the console (CLI),
//! audited rule by rule, stored in the database, and binding every account password set after
//! it, with one error that names every rule a password misses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const POLICY: &str = "/api/v1/settings/security/password-policy";

/// The `weak_password` message of a refused password.
async fn refused(s: &Session, r: reqwest::Response) -> String {
    let v: Value = s.json(r, StatusCode::BAD_REQUEST).await;
    assert_eq!(v["error"]["code"], "weak_password", "{v}");
    v["error"]["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_password_policy_binds_every_password_set_after_it() {
    for backend in backends() {
        let srv = Server::start(&backend);
        let owner = srv.owner().await;
        let defaults = owner.json(owner.get(POLICY).await, StatusCode::OK).await;
        assert_eq!(
            defaults,
            json!({"min_length": 10, "max_length": 1024, "require_uppercase": false, "require_lowercase": false,
                   "require_digit": false, "require_special": false, "min_strength": 3})
        );
        // The default already refuses what is easy to guess.
        let r = owner
            .post(
                "/api/v1/users",
                json!({"email": "a@example.org", "role": "user", "password": "password12345"}),
            )
            .await;
        assert!(refused(&owner, r).await.contains("harder to guess"));

        // Only administrators of settings change it; everyone signed in reads it.
        let hr = {
            let r = owner
                .post(
                    "/api/v1/users",
                    json!({"email": "hr@example.org", "role": "admin", "admin_modules": ["people"], "password": PASSWORD}),
                )
                .await;
            assert_eq!(r.status(), StatusCode::CREATED);
            srv.login("hr@example.org", PASSWORD).await
        };
        let strict =
            json!({"min_length": 14, "require_uppercase": true, "require_digit": true, "require_special": true});
        assert_eq!(hr.put(POLICY, strict.clone()).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(hr.get(POLICY).await.status(), StatusCode::OK);
        for bad in [
            json!({"min_length": 5}),
            json!({"min_strength": 7}),
            json!({"min_lenght": 14}),
            json!({"max_length": 10, "min_strength": 4}),
            json!([]),
            json!([12, 20, true]),
        ] {
            assert_eq!(
                owner.put(POLICY, bad.clone()).await.status(),
                StatusCode::BAD_REQUEST,
                "{bad}"
            );
        }
        let set = owner.json(owner.put(POLICY, strict).await, StatusCode::OK).await;
        assert_eq!(set["min_length"], 14);
        assert_eq!(set["min_strength"], 3, "a rule left out takes its default");
        let audit = owner
            .json(
                owner.get("/api/v1/audit?action=settings.password_policy.set").await,
                StatusCode::OK,
            )
            .await;
        assert_eq!(
            audit[0]["details"]["changed"]["min_length"],
            json!({"from": 10, "to": 14})
        );
        assert_eq!(
            audit[0]["details"]["changed"]["require_digit"],
            json!({"from": false, "to": true})
        );
        assert!(
            audit[0]["details"]["changed"].get("max_length").is_none(),
            "only what changed"
        );

        // One error names every rule missed, on creation, reset and one's own change.
        let r = owner
            .post(
                "/api/v1/users",
                json!({"email": "b@example.org", "role": "user", "password": "horsebattery"}),
            )
            .await;
        let message = refused(&owner, r).await;
        for rule in [
            "at least 14 characters",
            "a capital letter",
            "a digit",
            "a character that is neither a letter nor a digit",
        ] {
            assert!(message.contains(rule), "{rule}: {message}");
        }
        let good = "Tr0ub4dor&3-horse-Staple";
        let r = owner
            .post(
                "/api/v1/users",
                json!({"email": "b@example.org", "role": "user", "password": good}),
            )
            .await;
        let b = owner.json(r, StatusCode::CREATED).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let r = owner
            .patch(&format!("/api/v1/users/{b}"), json!({"password": "Short1!"}))
            .await;
        assert!(refused(&owner, r).await.contains("at least 14 characters"));
        let bob = srv.login("b@example.org", good).await;
        let r = bob
            .patch(
                &format!("/api/v1/users/{b}"),
                json!({"password": "no digits here at all!", "current_password": good}),
            )
            .await;
        let message = refused(&bob, r).await;
        assert!(
            message.contains("a capital letter") && message.contains("a digit"),
            "{message}"
        );

        // The console sets it too, through the same use case, and the API sees it at once.
        let out = srv.cli(&["admin", "settings", "password-policy", "--min-length", "16"], "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(printed["min_length"], 16);
        assert_eq!(printed["require_digit"], true, "the rules not given stay");
        assert_eq!(
            owner.json(owner.get(POLICY).await, StatusCode::OK).await["min_length"],
            16
        );
        let audit = owner
            .json(
                owner.get("/api/v1/audit?action=settings.password_policy.set").await,
                StatusCode::OK,
            )
            .await;
        assert_eq!(audit[0]["actor_email"], "cli");
        let r = owner
            .post(
                "/api/v1/users",
                json!({"email": "c@example.org", "role": "user", "password": "Tr0ub4dor&3-hrs"}),
            )
            .await;
        assert!(refused(&owner, r).await.contains("at least 16 characters"));
    }
}
