//! Every provider client against its local fake, and the phone-number helpers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use strongroom_sms::fake::{FakeError, FakeProvider};
use strongroom_sms::{Provider, SmsConfig, SmsError, mask_phone, normalize_phone, send};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "twilio-auth-token-0042";
const SERVICE: &str = "MG00000000000000000000000000000001";
const API_KEY: &str = "clickatell-key-0042==";
const PASSWORD: &str = "smsc-password-0042";
const SECRETS: [&str; 3] = [TOKEN, API_KEY, PASSWORD];

const TO: &str = "+447700900123";
/// Characters that a form or JSON encoder must get right.
const BODY: &str = "Strongroom code 123 456 & more=+%; ✓ Код\nline two";

fn twilio_from() -> Provider {
    Provider::Twilio {
        account_sid: SID.into(),
        auth_token: TOKEN.to_owned().into(),
        from: Some("+1 500 555 0006".into()),
        messaging_service_sid: None,
    }
}

fn twilio_service() -> Provider {
    Provider::Twilio {
        account_sid: SID.into(),
        auth_token: TOKEN.to_owned().into(),
        from: None,
        messaging_service_sid: Some(SERVICE.into()),
    }
}

fn clickatell(from: Option<&str>) -> Provider {
    Provider::Clickatell {
        api_key: API_KEY.to_owned().into(),
        from: from.map(str::to_owned),
    }
}

fn smsc(sender: Option<&str>) -> Provider {
    Provider::Smsc {
        login: "strongroom".into(),
        password: PASSWORD.to_owned().into(),
        sender: sender.map(str::to_owned),
    }
}

fn all_providers() -> Vec<Provider> {
    vec![
        twilio_from(),
        twilio_service(),
        clickatell(None),
        clickatell(Some("+27 99 900 0001")),
        smsc(None),
        smsc(Some("Strongroom")),
    ]
}

fn http() -> reqwest::Client {
    strongroom_sms::client().unwrap()
}

fn assert_no_secret(err: &SmsError) {
    let shown = format!("{err} / {err:?}");
    for s in SECRETS {
        assert!(!shown.contains(s), "a secret leaked into {shown:?}");
    }
}

/// The same provider with its secret replaced.
fn with_wrong_secret(p: &Provider) -> Provider {
    let mut p = p.clone();
    match &mut p {
        Provider::Twilio { auth_token, .. } => *auth_token = "wrong-token".to_owned().into(),
        Provider::Clickatell { api_key, .. } => *api_key = "wrong-key".to_owned().into(),
        Provider::Smsc { password, .. } => *password = "wrong-password".to_owned().into(),
    }
    p
}

#[tokio::test]
async fn each_provider_sends_exactly_the_number_and_body() {
    let http = http();
    for provider in all_providers() {
        let fake = FakeProvider::start(provider.clone()).await.unwrap();
        let cfg = fake.config();
        cfg.validate().unwrap();
        let id = send(&http, &cfg, TO, BODY)
            .await
            .unwrap_or_else(|e| panic!("{provider:?}: {e}"));
        assert_eq!(fake.deviations(), Vec::<String>::new(), "{provider:?}");
        assert_eq!(fake.message_ids(), vec![id.clone()], "{provider:?}");
        assert_eq!(fake.messages(), vec![(TO.to_owned(), BODY.to_owned())], "{provider:?}");
        // A number typed by a person goes out normalised.
        let id2 = send(&http, &cfg, "+44 (0)7700-900.124", "second").await.unwrap();
        assert_ne!(id, id2);
        assert_eq!(fake.messages()[1].0, "+447700900124");
        assert!(fake.deviations().is_empty());
    }
}

#[tokio::test]
async fn ids_look_like_each_providers_ids() {
    let http = http();
    let fake = FakeProvider::start(twilio_from()).await.unwrap();
    let id = send(&http, &fake.config(), TO, "x").await.unwrap();
    assert!(id.starts_with("SM") && id.len() == 34, "{id}");
    let fake = FakeProvider::start(clickatell(None)).await.unwrap();
    let id = send(&http, &fake.config(), TO, "x").await.unwrap();
    assert_eq!(id.len(), 32, "{id}");
    let fake = FakeProvider::start(smsc(None)).await.unwrap();
    let id = send(&http, &fake.config(), TO, "x").await.unwrap();
    assert!(id.parse::<u64>().is_ok(), "{id}");
}

/// (provider, error to simulate) → (HTTP status, provider code, part of the message).
#[tokio::test]
async fn documented_errors_map_to_provider_errors() {
    let http = http();
    let table: Vec<(Provider, FakeError, u16, &str, &str)> = vec![
        (
            twilio_from(),
            FakeError::InvalidNumber,
            400,
            "21211",
            "is not a valid phone number",
        ),
        (twilio_from(), FakeError::Unauthorized, 401, "20003", "Authenticate"),
        (
            clickatell(None),
            FakeError::InvalidNumber,
            400,
            "25",
            "Invalid recipient address",
        ),
        (
            clickatell(None),
            FakeError::Unauthorized,
            401,
            "1",
            "Invalid or missing Integration API Key",
        ),
        (smsc(None), FakeError::InvalidNumber, 200, "7", "invalid number"),
        (smsc(None), FakeError::Unauthorized, 200, "2", "authorise error"),
    ];
    for (provider, error, want_status, want_code, want_text) in table {
        let fake = FakeProvider::start(provider.clone()).await.unwrap();
        fake.fail_next(1, error);
        let err = send(&http, &fake.config(), TO, BODY).await.unwrap_err();
        assert_no_secret(&err);
        match &err {
            SmsError::Provider {
                provider: name,
                status,
                code,
                message,
            } => {
                assert_eq!(*name, provider.name());
                assert_eq!(*status, want_status, "{err}");
                assert_eq!(code.as_deref(), Some(want_code), "{err}");
                assert!(message.contains(want_text), "{err}");
            }
            other => panic!("{provider:?} {error:?}: expected a provider error, got {other:?}"),
        }
        assert!(err.to_string().contains(want_code), "{err}");
        // The failure was used up; the next message goes through, and nothing deviated.
        send(&http, &fake.config(), TO, BODY).await.unwrap();
        assert_eq!(fake.messages().len(), 1);
        assert!(fake.deviations().is_empty(), "{:?}", fake.deviations());
    }
}

#[tokio::test]
async fn provider_errors_read_well() {
    let fake = FakeProvider::start(twilio_from()).await.unwrap();
    fake.fail_next(1, FakeError::Unauthorized);
    let err = send(&http(), &fake.config(), TO, BODY).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Twilio refused the message: Authenticate (code 20003, HTTP 401)"
    );
}

#[tokio::test]
async fn an_answer_that_is_not_the_provider_is_unreachable() {
    let http = http();
    for provider in [twilio_from(), clickatell(None), smsc(None)] {
        let fake = FakeProvider::start(provider).await.unwrap();
        fake.fail_next(1, FakeError::Unavailable);
        let err = send(&http, &fake.config(), TO, BODY).await.unwrap_err();
        assert!(matches!(err, SmsError::Unreachable(_)), "{err:?}");
        assert!(err.to_string().contains("503"), "{err}");
        assert_no_secret(&err);
    }
}

#[tokio::test]
async fn nothing_listening_is_unreachable_without_secrets_or_urls() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    for provider in [twilio_from(), clickatell(None), smsc(None)] {
        let cfg = SmsConfig {
            provider,
            base_url: Some(format!("http://127.0.0.1:{port}")),
        };
        let err = send(&http(), &cfg, TO, BODY).await.unwrap_err();
        assert!(matches!(err, SmsError::Unreachable(_)), "{err:?}");
        assert!(err.to_string().contains("could not connect"), "{err}");
        assert!(!err.to_string().contains("127.0.0.1"), "{err}");
        assert_no_secret(&err);
    }
}

#[tokio::test]
async fn wrong_credentials_are_refused_recorded_and_not_shown() {
    let http = http();
    let table = [(twilio_from(), "20003"), (clickatell(None), "1"), (smsc(None), "2")];
    for (provider, want_code) in table {
        let fake = FakeProvider::start(provider.clone()).await.unwrap();
        let cfg = SmsConfig {
            provider: with_wrong_secret(&provider),
            base_url: Some(fake.base_url()),
        };
        let err = send(&http, &cfg, TO, BODY).await.unwrap_err();
        assert_no_secret(&err);
        assert!(!err.to_string().contains("wrong-"), "{err}");
        match err {
            SmsError::Provider { code, .. } => assert_eq!(code.as_deref(), Some(want_code)),
            other => panic!("{other:?}"),
        }
        let deviations = fake.deviations();
        assert_eq!(deviations.len(), 1, "{deviations:?}");
        assert!(deviations[0].contains("bad credentials"), "{deviations:?}");
        assert!(fake.messages().is_empty());
    }
}

#[tokio::test]
async fn twilio_fake_catches_hand_built_deviations() {
    let http = http();
    let fake = FakeProvider::start(twilio_from()).await.unwrap();
    let url = format!("{}/2010-04-01/Accounts/{SID}/Messages.json", fake.base_url());
    // "to" instead of "To".
    let answer = http
        .post(&url)
        .basic_auth(SID, Some(TOKEN))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("to=%2B447700900123&From=%2B15005550006&Body=hi")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 400);
    let json: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(json["code"], 21604);
    // JSON instead of a form, and a bearer token.
    http.post(&url)
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"To": TO, "From": "+15005550006", "Body": "hi"}))
        .send()
        .await
        .unwrap();
    // The old SMS/Messages path, and GET.
    http.get(format!(
        "{}/2010-04-01/Accounts/{SID}/SMS/Messages.json",
        fake.base_url()
    ))
    .basic_auth(SID, Some(TOKEN))
    .send()
    .await
    .unwrap();
    let d = fake.deviations().join("\n");
    for expected in [
        "field \"to\" is misspelt",
        "Authorization is not HTTP Basic",
        "content type Some(\"application/json\")",
        "method GET",
        "path \"/2010-04-01/Accounts/",
    ] {
        assert!(d.contains(expected), "missing {expected:?} in\n{d}");
    }
    assert!(fake.messages().is_empty());
}

#[tokio::test]
async fn clickatell_fake_catches_hand_built_deviations() {
    let http = http();
    let fake = FakeProvider::start(clickatell(None)).await.unwrap();
    let url = format!("{}/messages", fake.base_url());
    // "Bearer", a + on the number, and "text" for "content" (the old REST API's name).
    let answer = http
        .post(&url)
        .header("authorization", format!("Bearer {API_KEY}"))
        .header("accept", "application/json")
        .json(&serde_json::json!({"text": "hi", "to": [TO]}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 401);
    let json: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(json["errorCode"], 1);
    let d = fake.deviations().join("\n");
    for expected in [
        "no \"Bearer\"",
        "unexpected field \"text\"",
        "\"content\" is missing",
        "carries a +",
    ] {
        assert!(d.contains(expected), "missing {expected:?} in\n{d}");
    }
    assert!(fake.messages().is_empty());
}

#[tokio::test]
async fn smsc_fake_catches_hand_built_deviations() {
    let http = http();
    let fake = FakeProvider::start(smsc(None)).await.unwrap();
    // GET with everything in the URL, as many examples do: refused, HTTP 200, error_code 1.
    let answer = http
        .get(format!(
            "{}/sys/send.php?login=strongroom&psw={PASSWORD}&phones=447700900123&mes=hi&fmt=3",
            fake.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let json: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(json["error_code"], 1);
    // "password" for "psw", and the number without +.
    http.post(format!("{}/sys/send.php", fake.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "login=strongroom&password={PASSWORD}&phones=447700900123&mes=hi&fmt=3&charset=utf-8"
        ))
        .send()
        .await
        .unwrap();
    let d = fake.deviations().join("\n");
    for expected in [
        "method GET",
        "a query string on the URL",
        "required field \"psw\" is missing",
        "unexpected field \"password\"",
        "phones is not one number with +",
    ] {
        assert!(d.contains(expected), "missing {expected:?} in\n{d}");
    }
    assert!(!d.contains(PASSWORD), "the fake must not record secrets either:\n{d}");
    assert!(fake.messages().is_empty());
}

#[tokio::test]
async fn a_sender_other_than_configured_is_a_deviation() {
    let http = http();
    let fake = FakeProvider::start(smsc(Some("Strongroom"))).await.unwrap();
    let cfg = SmsConfig {
        provider: smsc(Some("Other")),
        base_url: Some(fake.base_url()),
    };
    assert!(send(&http, &cfg, TO, BODY).await.is_err());
    let fake2 = FakeProvider::start(twilio_service()).await.unwrap();
    let cfg2 = SmsConfig {
        provider: twilio_from(),
        base_url: Some(fake2.base_url()),
    };
    assert!(send(&http, &cfg2, TO, BODY).await.is_err());
    assert_eq!(fake.deviations().len(), 1, "{:?}", fake.deviations());
    assert!(!fake2.deviations().is_empty());
}

#[tokio::test]
async fn send_refuses_bad_input_before_any_request() {
    let http = http();
    let fake = FakeProvider::start(smsc(None)).await.unwrap();
    let cfg = fake.config();
    for (to, body) in [("07700 900123", "x"), (TO, ""), (TO, "   "), (TO, &"x".repeat(1001))] {
        let err = send(&http, &cfg, to, body).await.unwrap_err();
        assert!(matches!(err, SmsError::Invalid(_)), "{err:?}");
    }
    assert_eq!(fake.requests(), 0);
}

#[test]
fn normalize_phone_table() {
    // input → Ok(normalised) or Err(part of the message)
    let table: &[(&str, Result<&str, &str>)] = &[
        ("+447700900123", Ok("+447700900123")),
        ("  +44 7700 900123 ", Ok("+447700900123")),
        ("+44 (0)20 7946 0958", Ok("+442079460958")),
        ("+1 (415) 555-2671", Ok("+14155552671")),
        ("+49.30.123456", Ok("+4930123456")),
        ("+7\u{a0}912\u{a0}345-67-89", Ok("+79123456789")),
        ("+86 138 0013 8000", Ok("+8613800138000")),
        ("+12345678", Ok("+12345678")),
        ("+123456789012345", Ok("+123456789012345")),
        ("", Err("enter a phone number")),
        ("   ", Err("enter a phone number")),
        ("447700900123", Err("must start with +")),
        ("07700 900123", Err("must start with +")),
        ("0044 7700 900123", Err("must start with +")),
        ("+0044 7700 900123", Err("cannot start with 0")),
        ("+1234567", Err("too short")),
        ("+1234567890123456", Err("too long")),
        ("+", Err("no digits")),
        ("++447700900123", Err("only one +")),
        ("+44 7700 900123 ext 5", Err("“e” is not allowed")),
        ("+44/7700/900123", Err("“/” is not allowed")),
        ("+44 7700\n900123", Err("a control character is not allowed")),
        ("+44 ٧٧٠٠ 900123", Err("is not allowed")),
        ("+44 7700 900123; DROP", Err("“;” is not allowed")),
    ];
    for (input, want) in table {
        let got = normalize_phone(input);
        match (want, &got) {
            (Ok(w), Ok(g)) => assert_eq!(g, w, "{input:?}"),
            (Err(w), Err(SmsError::Invalid(m))) => {
                assert!(m.contains(w), "{input:?}: {m:?} lacks {w:?}");
                assert!(!m.contains("7700"), "{input:?}: the message repeats the number: {m}");
            }
            _ => panic!("{input:?}: wanted {want:?}, got {got:?}"),
        }
    }
}

#[test]
fn mask_phone_table() {
    let table = [
        ("+447700900123", "+44•••••••123"),
        ("+14155552671", "+1•••••••671"),
        ("+79123456789", "+7•••••••789"),
        ("+35312345678", "+353•••••678"),
        ("+8613800138000", "+86••••••••000"),
        ("+12345678", "+1••••678"),
        ("not a number", "•••"),
        ("", "•••"),
    ];
    for (input, want) in table {
        assert_eq!(mask_phone(input), want, "{input:?}");
    }
}

#[test]
fn validate_refuses_unsafe_or_broken_base_urls() {
    let with = |base: &str| SmsConfig {
        provider: smsc(None),
        base_url: Some(base.to_owned()),
    };
    for (base, want) in [
        ("file:///etc/passwd", "https://"),
        ("ftp://smsc.ru", "https://"),
        ("https://user:secret@smsc.ru", "user name or password"),
        ("https://user@smsc.ru", "user name or password"),
        ("https://smsc.ru/?login=x", "query"),
        ("https://smsc.ru/#x", "fragment"),
        ("smsc.ru", "absolute URL"),
        ("/sys", "absolute URL"),
        ("", "absolute URL"),
    ] {
        match with(base).validate() {
            Err(SmsError::Invalid(m)) => assert!(m.contains(want), "{base:?}: {m}"),
            other => panic!("{base:?}: {other:?}"),
        }
    }
    for base in [
        "https://smsc.kz",
        "https://smscentre.com/",
        "http://127.0.0.1:8080/proxy",
    ] {
        with(base).validate().unwrap_or_else(|e| panic!("{base}: {e}"));
    }
}

#[test]
fn validate_checks_credentials_and_senders() {
    let ok = |p: Provider| {
        SmsConfig {
            provider: p,
            base_url: None,
        }
        .validate()
    };
    for p in all_providers() {
        ok(p).unwrap();
    }
    let bad = [
        Provider::Twilio {
            account_sid: "AC123".into(),
            auth_token: TOKEN.to_owned().into(),
            from: Some("+15005550006".into()),
            messaging_service_sid: None,
        },
        Provider::Twilio {
            account_sid: SID.into(),
            auth_token: "".to_owned().into(),
            from: Some("+15005550006".into()),
            messaging_service_sid: None,
        },
        Provider::Twilio {
            account_sid: SID.into(),
            auth_token: TOKEN.to_owned().into(),
            from: Some("+15005550006".into()),
            messaging_service_sid: Some(SERVICE.into()),
        },
        Provider::Clickatell {
            api_key: " key".to_owned().into(),
            from: None,
        },
        Provider::Clickatell {
            api_key: API_KEY.to_owned().into(),
            from: Some("+0123".into()),
        },
        Provider::Smsc {
            login: "".into(),
            password: PASSWORD.to_owned().into(),
            sender: None,
        },
        Provider::Smsc {
            login: "x".into(),
            password: "line\nbreak".to_owned().into(),
            sender: None,
        },
    ];
    for p in bad {
        let err = ok(p.clone()).unwrap_err();
        assert!(matches!(err, SmsError::Invalid(_)), "{p:?}");
        assert_no_secret(&err);
    }
}
