//! Alert rules against a real SMTP server: a rule mails an officer of the audit module once a
//! window and writes an `audit.alert` event; an address outside the module is refused; a frozen
//! person is mailed nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod smtp;

use common::*;
use reqwest::StatusCode;
use serde_json::json;
use smtp::*;
use std::time::Duration;

/// An alert rule (more than 3 downloads by one person in 10 minutes) mails the officer once
/// a window and writes an `audit.alert` event; a frozen person gets no mail, not even a
/// password reset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_rules_mail_the_officer_and_frozen_people_get_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mail) = smtp(dir.path()).await else { return };
    let srv = Server::start_with(
        &backends().remove(0),
        Options {
            extra_toml: "[audit]\nalert_interval_secs = 1\n".into(),
            args: vec![],
        },
    );
    let owner = srv.owner().await;
    mail_on(&owner, &mail).await;
    // Alerts are mailed to people of the audit module only.
    let officer =
        json!({"email": "officer@clinic.example", "role": "admin", "admin_modules": ["audit"], "password": PASSWORD});
    assert_eq!(owner.post("/api/v1/users", officer).await.status(), StatusCode::CREATED);
    let outside = json!({"rules": [{"name": "x", "actions": ["file.download"], "per": "actor", "threshold": 3,
        "window_minutes": 10, "notify": ["someone@elsewhere.example"]}]});
    let r = owner.put("/api/v1/settings/alerts", outside).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("not an active person of the audit module")
    );
    let rules = json!({"rules": [{
        "name": "Bulk downloads", "actions": ["file.download"], "outcome": "success", "per": "actor",
        "threshold": 3, "window_minutes": 10, "notify": ["Officer@Clinic.Example"],
    }]});
    let set = owner
        .json(owner.put("/api/v1/settings/alerts", rules).await, StatusCode::OK)
        .await;
    assert_eq!(set["rules"][0]["notify"], json!(["officer@clinic.example"]));
    for bad in [
        json!({"rules": [{"name": "x", "actions": ["file.downloads"], "per": "actor", "threshold": 3, "window_minutes": 10}]}),
        json!({"rules": [{"name": "x", "actions": ["file.download"], "per": "actor", "threshold": 0, "window_minutes": 10}]}),
        json!({"rules": [{"name": "x", "actions": ["file.download"], "per": "room", "threshold": 3, "window_minutes": 10}]}),
        json!({"rules": [{"name": "x", "actions": ["file.download"], "per": "actor", "threshold": 3, "window_minutes": 10, "mail": []}]}),
    ] {
        let r = owner.put("/api/v1/settings/alerts", bad.clone()).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let u = srv.user(&owner, "dana@clinic.example", "user").await;
    let (_, root) = u.room("Records").await;
    let f = u
        .json(
            u.upload(&root, "chart.pdf", b"%PDF-1.4 chart".to_vec()).await,
            StatusCode::CREATED,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Three downloads are the threshold, not over it: nothing fires.
    for _ in 0..3 {
        assert_eq!(
            u.get(&format!("/api/v1/files/{f}/content")).await.status(),
            StatusCode::OK
        );
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(mail.messages().len(), 0);
    // The fourth and fifth: one alert, one mail.
    for _ in 0..2 {
        assert_eq!(
            u.get(&format!("/api/v1/files/{f}/content")).await.status(),
            StatusCode::OK
        );
    }
    let got = mail.wait_for(1).await;
    let text = unfolded(&got[0]);
    assert!(text.contains("Subject: Strongroom alert: Bulk downloads"), "{text}");
    assert!(
        text.contains("dana@clinic.example") && text.contains("threshold of 3"),
        "{text}"
    );
    assert!(text.to_lowercase().contains("to: officer@clinic.example"), "{text}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(mail.messages().len(), 1, "fired again within its window");
    let alerts = owner
        .json(owner.get("/api/v1/audit?action=audit.alert").await, StatusCode::OK)
        .await;
    let a = &alerts.as_array().unwrap()[..];
    assert_eq!(a.len(), 1, "{alerts}");
    assert_eq!(
        (a[0]["target_id"].as_str(), a[0]["details"]["notify"].as_i64()),
        (Some(u.user_id.as_str()), Some(1)),
        "{alerts}"
    );
    // Checked after the fourth download or after the fifth.
    assert!(matches!(a[0]["details"]["count"].as_i64(), Some(4 | 5)), "{alerts}");

    // Frozen: a password reset for them mails nothing (and answers as for anyone).
    let r = owner
        .post(&format!("/api/v1/users/{}/freeze", u.user_id), json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = post(
        &srv,
        "/api/v1/auth/password-reset",
        json!({"email": "dana@clinic.example"}),
        FIREFOX,
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(mail.messages().len(), 1, "a frozen person was mailed");
}
