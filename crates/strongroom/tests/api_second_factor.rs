//! Second factors over HTTP, checked by independent oracles: pyotp computes the codes the
//! server accepts (and accepts the codes ours computes), zbarimg decodes the enrolment QR
//! code; replay refused across two nodes; backup codes; enforcement; the administrator's
//! reset; and SMS codes through a local fake of each provider's documented API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine;
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use strongroom_sms::fake::{FakeError, FakeProvider};
use strongroom_sms::{Provider, SmsConfig};

/// Runs a Python snippet (with `args` as `sys.argv[1:]`); its standard output, trimmed.
fn python(code: &str, args: &[&str]) -> String {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn pyotp_available() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import pyotp"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("STRONGROOM_REQUIRE_ORACLES").as_deref() != Ok("1"),
            "pyotp is required (STRONGROOM_REQUIRE_ORACLES=1)"
        );
        eprintln!("SKIP: pyotp is not installed; the TOTP oracle checks did not run");
    }
    ok
}

/// pyotp's code for the enrolment URI, `offset` seconds from now.
fn pyotp_code(uri: &str, offset: i64) -> String {
    python(
        "import sys, time, pyotp; print(pyotp.parse_uri(sys.argv[1]).at(time.time() + int(sys.argv[2])))",
        &[uri, &offset.to_string()],
    )
}

async fn raw_login(srv: &Server, email: &str) -> reqwest::Response {
    client()
        .post(srv.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
}

async fn second_step(srv: &Server, challenge: &str, method: &str, code: &str) -> reqwest::Response {
    client()
        .post(srv.url("/api/v1/auth/second-factor"))
        .json(&json!({"challenge": challenge, "method": method, "code": code}))
        .send()
        .await
        .unwrap()
}

/// A session from a second step's answer.
async fn session_from(srv: &Server, r: reqwest::Response) -> Session {
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap()
        .to_string();
    let v: Value = r.json().await.unwrap();
    Session {
        base: srv.url(""),
        auth: Auth::Cookie {
            cookie: cookie.split(';').next().unwrap().to_string(),
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

#[tokio::test(flavor = "multi_thread")]
async fn totp_with_oracles_across_nodes() {
    if !pyotp_available() || !tool("zbarimg") {
        return;
    }
    for backend in backends() {
        let srv = Server::start(&backend);
        let owner = srv.owner().await;

        // Enrol: the QR code decodes to the URI; the secret is in it; pending until confirmed.
        let e = owner
            .json(
                owner
                    .post("/api/v1/auth/second-factors/totp", json!({"label": "Phone"}))
                    .await,
                StatusCode::CREATED,
            )
            .await;
        let uri = e["uri"].as_str().unwrap().to_string();
        let secret = e["secret"].as_str().unwrap();
        assert!(uri.starts_with("otpauth://totp/Strongroom:"), "{uri}");
        assert!(uri.contains(&format!("secret={secret}")), "{uri}");
        let png = base64::engine::general_purpose::STANDARD
            .decode(e["qr_png"].as_str().unwrap())
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("qr.png"), &png).unwrap();
        let decoded = std::process::Command::new("zbarimg")
            .args(["-q", "--raw"])
            .arg(dir.path().join("qr.png"))
            .output()
            .unwrap();
        let first_line = String::from_utf8_lossy(&decoded.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        assert_eq!(first_line, uri, "the QR code holds the enrolment URI");
        assert!(e["qr_svg"].as_str().unwrap().starts_with("<?xml") || e["qr_svg"].as_str().unwrap().contains("<svg"));
        let id = e["factor"]["id"].as_str().unwrap().to_string();
        assert_eq!(e["factor"]["confirmed"], false);

        // Our codes are pyotp's: RFC 6238's seed at its vector times, and the enrolled seed.
        let seed_rfc = b"12345678901234567890";
        for t in [59u64, 1_111_111_109, 1_234_567_890, 2_000_000_000] {
            let ours = strongroom_auth::totp::code_at(seed_rfc, t / 30).unwrap();
            let theirs = python(
                "import sys, base64, pyotp; print(pyotp.TOTP(base64.b32encode(b'12345678901234567890').decode()).at(int(sys.argv[1])))",
                &[&t.to_string()],
            );
            assert_eq!(ours, theirs, "t = {t}");
        }
        let verified = python(
            "import sys, time, pyotp; t = pyotp.TOTP(sys.argv[1]); print(t.verify(t.at(time.time()), valid_window=0))",
            &[secret],
        );
        assert_eq!(verified, "True");

        // Confirm with pyotp's code: ten backup codes come with the first factor.
        let first = pyotp_code(&uri, 0);
        let c = owner
            .json(
                owner
                    .post(
                        &format!("/api/v1/auth/second-factors/{id}/confirm"),
                        json!({"code": first}),
                    )
                    .await,
                StatusCode::OK,
            )
            .await;
        let backup: Vec<String> = c["backup_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        assert_eq!(backup.len(), 10);

        // Sign-in answers the challenge, and no cookie.
        let r = raw_login(&srv, OWNER_EMAIL).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers().get("set-cookie").is_none());
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["second_factor_required"], true);
        assert_eq!(v["methods"], json!(["totp", "backup_code"]));
        let ch = v["challenge"].as_str().unwrap().to_string();
        assert!(ch.starts_with("srf_"));
        // The confirming code again: a replay. Two steps back: outside the window.
        assert_eq!(
            code_of(second_step(&srv, &ch, "totp", &first).await).await,
            "invalid_code"
        );
        assert_eq!(
            code_of(second_step(&srv, &ch, "totp", &pyotp_code(&uri, -60)).await).await,
            "invalid_code"
        );
        let ahead = pyotp_code(&uri, 30);
        let s = session_from(&srv, second_step(&srv, &ch, "totp", &ahead).await).await;
        assert_eq!(
            s.json(s.get("/api/v1/auth/me").await, StatusCode::OK).await["email"],
            OWNER_EMAIL
        );

        // The same code on another node is refused: the step is spent in the database.
        let node2 = srv.second_node();
        let r = raw_login(&node2, OWNER_EMAIL).await;
        let ch2 = r.json::<Value>().await.unwrap()["challenge"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            code_of(second_step(&node2, &ch2, "totp", &ahead).await).await,
            "invalid_code"
        );
        // A backup code works there, once.
        session_from(&node2, second_step(&node2, &ch2, "backup_code", &backup[0]).await).await;
        let r = raw_login(&node2, OWNER_EMAIL).await;
        let ch3 = r.json::<Value>().await.unwrap()["challenge"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            code_of(second_step(&node2, &ch3, "backup_code", &backup[0]).await).await,
            "invalid_code"
        );

        // The login history and the audit trail tell each outcome.
        let history = s
            .json(s.get("/api/v1/auth/login-history?limit=50").await, StatusCode::OK)
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
            "factor_added:totp",
            "factor_confirmed:totp",
            "failure:replayed_code",
            "failure:bad_code",
            "login:totp",
            "login:backup_code",
        ] {
            assert!(reasons.iter().any(|r| r == want), "{want} missing from {reasons:?}");
        }
        let audit = s.json(s.get("/api/v1/audit?limit=200").await, StatusCode::OK).await;
        let actions: Vec<&str> = audit
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        for want in [
            "auth.second_factor.add",
            "auth.second_factor.confirm",
            "auth.backup_code.use",
        ] {
            assert!(actions.contains(&want), "{want} missing from the audit trail");
        }

        // The rules require a factor of Users: one without is walked through enrolment.
        let uma = srv.user(&s, "uma@example.org", "user").await;
        let set = s
            .put(
                "/api/v1/settings/security/second-factor",
                json!({"required_roles": ["user"]}),
            )
            .await;
        assert_eq!(set.status(), StatusCode::OK, "{}", set.text().await.unwrap());
        let r = raw_login(&srv, "uma@example.org").await;
        assert_eq!(
            r.json::<Value>().await.unwrap()["second_factor_enrolment_required"],
            true
        );
        assert_eq!(
            code_of(uma.get("/api/v1/rooms").await).await,
            "second_factor_enrolment_required"
        );
        let status = uma
            .json(uma.get("/api/v1/auth/second-factors").await, StatusCode::OK)
            .await;
        assert_eq!(status["enrolment_required"], true);
        let e = uma
            .json(
                uma.post("/api/v1/auth/second-factors/totp", json!({})).await,
                StatusCode::CREATED,
            )
            .await;
        let uid = e["factor"]["id"].as_str().unwrap().to_string();
        let code = pyotp_code(e["uri"].as_str().unwrap(), 0);
        uma.json(
            uma.post(
                &format!("/api/v1/auth/second-factors/{uid}/confirm"),
                json!({"code": code}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(uma.get("/api/v1/rooms").await.status(), StatusCode::OK);

        // A User resets nobody's factors; the Owner resets hers (she is below).
        assert_eq!(
            uma.delete(&format!("/api/v1/users/{}/second-factors", s.user_id))
                .await
                .status(),
            StatusCode::FORBIDDEN
        );
        let reset = s
            .json(
                s.delete(&format!("/api/v1/users/{}/second-factors", uma.user_id)).await,
                StatusCode::OK,
            )
            .await;
        assert_eq!(reset["removed"], 1);
        let r = raw_login(&srv, "uma@example.org").await;
        let v: Value = r.json().await.unwrap();
        assert!(
            v.get("challenge").is_none() && v["second_factor_enrolment_required"] == true,
            "{v}"
        );
    }
}

/// The providers' fakes, each expecting these credentials.
fn providers() -> Vec<Provider> {
    let secret = |s: &str| secrecy::SecretString::from(s.to_string());
    vec![
        Provider::Twilio {
            account_sid: format!("AC{}", "0123456789abcdef".repeat(2)),
            auth_token: secret("twilio-auth-token-0123456789"),
            from: Some("+15005550006".into()),
            messaging_service_sid: None,
        },
        Provider::Clickatell {
            api_key: secret("clickatell-api-key-0123456789"),
            from: None,
        },
        Provider::Smsc {
            login: "strongroom".into(),
            password: secret("smsc-password-0123456789"),
            sender: Some("Strongroom".into()),
        },
    ]
}

/// The six-digit code in the last message the fake accepted for `to`.
fn last_code(fake: &FakeProvider, to: &str) -> String {
    let (got_to, body) = fake.messages().last().cloned().expect("a message was sent");
    assert_eq!(got_to, to);
    body.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap_or_else(|| panic!("no code in {body:?}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn sms_codes_through_each_provider() {
    let backend = backends().into_iter().next().unwrap();
    let srv = Server::start(&backend);
    let owner = srv.owner().await;
    let rules = json!({"max_attempts": 50, "max_attempts_per_account": 100});
    assert_eq!(
        owner.put("/api/v1/settings/security/sign-in", rules).await.status(),
        StatusCode::OK
    );
    let phone = "+447700900123";
    for provider in providers() {
        let name = provider.name().to_ascii_lowercase();
        let fake = FakeProvider::start(provider).await.unwrap();
        let cfg: SmsConfig = fake.config();
        let body = serde_json::to_value(&cfg).unwrap();
        let set = owner
            .json(owner.put("/api/v1/settings/sms", body).await, StatusCode::OK)
            .await;
        assert_eq!(set["provider"], name.as_str());
        let shown = owner
            .json(owner.get("/api/v1/settings/sms").await, StatusCode::OK)
            .await
            .to_string();
        assert!(!shown.contains("0123456789\""), "no credential is shown: {shown}");

        // Enrol the phone as people type it; the code the provider got confirms it.
        let e = owner
            .json(
                owner
                    .post(
                        "/api/v1/auth/second-factors/sms",
                        json!({"phone": "+44 7700 900-123", "label": "Mobile"}),
                    )
                    .await,
                StatusCode::CREATED,
            )
            .await;
        assert_eq!(e["factor"]["phone"], "+44•••••••123");
        let id = e["factor"]["id"].as_str().unwrap().to_string();
        let code = last_code(&fake, phone);
        owner
            .json(
                owner
                    .post(
                        &format!("/api/v1/auth/second-factors/{id}/confirm"),
                        json!({"code": code}),
                    )
                    .await,
                StatusCode::OK,
            )
            .await;

        // Sign in with a code sent for the challenge; a wrong one first.
        let r = raw_login(&srv, OWNER_EMAIL).await;
        let v: Value = r.json().await.unwrap();
        assert!(v["methods"].as_array().unwrap().contains(&json!("sms")), "{v}");
        let ch = v["challenge"].as_str().unwrap().to_string();
        let sent = client()
            .post(srv.url("/api/v1/auth/second-factor/sms"))
            .json(&json!({"challenge": ch}))
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), StatusCode::ACCEPTED);
        let code = last_code(&fake, phone);
        let wrong = if code == "000000" { "000001" } else { "000000" };
        assert_eq!(
            code_of(second_step(&srv, &ch, "sms", wrong).await).await,
            "invalid_code"
        );
        let s = session_from(&srv, second_step(&srv, &ch, "sms", &code).await).await;

        // The provider's refusal is a clear 502 with its own message.
        fake.fail_next(1, FakeError::InvalidNumber);
        let r = s.post("/api/v1/settings/sms/test", json!({"to": phone})).await;
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
        let text = r.text().await.unwrap();
        assert_eq!(error_body(&text)["error"]["code"], "sms_failed", "{text}");

        // Every request was as the provider documents it.
        assert_eq!(fake.deviations(), Vec::<String>::new(), "{name}");

        // Remove the phone (fresh from sign-in): the next provider starts over.
        assert_eq!(
            s.delete(&format!("/api/v1/auth/second-factors/{id}")).await.status(),
            StatusCode::NO_CONTENT
        );
    }

    // Codes sent to one person are limited by the sign-in rules (3 here).
    let fake = FakeProvider::start(providers().remove(0)).await.unwrap();
    let owner = srv.login(OWNER_EMAIL, PASSWORD).await;
    owner
        .json(
            owner
                .put("/api/v1/settings/sms", serde_json::to_value(fake.config()).unwrap())
                .await,
            StatusCode::OK,
        )
        .await;
    let rules = json!({"max_attempts": 3, "max_attempts_per_account": 100});
    assert_eq!(
        owner.put("/api/v1/settings/security/sign-in", rules).await.status(),
        StatusCode::OK
    );
    let rita = srv.user(&owner, "rita@example.org", "user").await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = rita
            .post("/api/v1/auth/second-factors/sms", json!({"phone": "+15005550009"}))
            .await;
        statuses.push(r.status().as_u16());
    }
    assert_eq!(
        statuses,
        vec![201, 201, 201, 429],
        "the fourth code within the period is refused"
    );
    assert_eq!(fake.deviations(), Vec::<String>::new());
}
