//! Fake Twilio: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`.

use axum::http::{Method, header};
use axum::response::Response;
use base64::Engine as _;
use secrecy::ExposeSecret;
use serde_json::json;

use super::{FakeError, Findings, Request, Verdict, field, field_names, form_pairs, is_e164, json_answer, media_type};
use crate::Provider;
use crate::twilio::messages_path;

/// Twilio's error body: `{"code", "message", "more_info", "status"}`.
fn error(status: u16, code: Option<u32>, message: &str) -> Response {
    let more_info = code.map(|c| format!("https://www.twilio.com/docs/errors/{c}"));
    let mut body = json!({ "message": message, "status": status });
    if let Some(code) = code {
        body["code"] = json!(code);
        body["more_info"] = json!(more_info);
    }
    json_answer(status, body)
}

fn unauthorized() -> Response {
    error(401, Some(20003), "Authenticate")
}

pub(super) fn check(expected: &Provider, req: &Request) -> Verdict {
    let Provider::Twilio {
        account_sid,
        auth_token,
        from,
        messaging_service_sid,
    } = expected
    else {
        return Verdict::Deviates(vec!["fake misconfigured".into()], unauthorized());
    };
    let mut f = Findings::new();
    let path = messages_path(account_sid);
    if req.method != Method::POST {
        f.add(
            format!("method {}, documented POST", req.method),
            error(405, Some(20004), "Method not allowed"),
        );
    }
    if req.path != path {
        let msg = format!("The requested resource {} was not found", req.path);
        f.add(
            format!("path {:?}, documented {path:?}", req.path),
            error(404, Some(20404), &msg),
        );
    }
    if req.query.is_some() {
        f.add(
            "a query string on the URL; parameters go in the form body",
            error(400, None, "Bad Request"),
        );
    }
    match req.headers.get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or("")) {
        None => f.add("no Authorization header (documented: HTTP Basic)", unauthorized()),
        Some(value) => match value.strip_prefix("Basic ") {
            None => f.add("Authorization is not HTTP Basic", unauthorized()),
            Some(b64) => {
                let decoded = base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok();
                let decoded = decoded.and_then(|d| String::from_utf8(d).ok()).unwrap_or_default();
                let expected = format!("{account_sid}:{}", auth_token.expose_secret());
                if decoded != expected {
                    f.add(
                        "bad credentials (Basic user must be the Account SID, password the Auth Token)",
                        unauthorized(),
                    );
                }
            }
        },
    }
    let ctype = media_type(&req.headers);
    if ctype.as_deref() != Some("application/x-www-form-urlencoded") {
        f.add(
            format!("content type {ctype:?}, documented application/x-www-form-urlencoded"),
            error(400, Some(21604), "A 'To' phone number is required."),
        );
    }
    let pairs = form_pairs(&req.body).unwrap_or_else(|| {
        f.add("the body is not UTF-8", error(400, None, "Bad Request"));
        Vec::new()
    });
    let sender = if messaging_service_sid.is_some() {
        "MessagingServiceSid"
    } else {
        "From"
    };
    let other = if messaging_service_sid.is_some() {
        "From"
    } else {
        "MessagingServiceSid"
    };
    for d in field_names(&pairs, &["To", "Body", sender], &[]) {
        let answer = if d.contains("\"To\"") {
            error(400, Some(21604), "A 'To' phone number is required.")
        } else if d.contains("\"Body\"") {
            error(400, Some(21602), "Message body is required.")
        } else if d.contains(other) {
            error(400, None, "Bad Request: both From and MessagingServiceSid were given")
        } else if d.contains("\"From\"") || d.contains("\"MessagingServiceSid\"") {
            error(400, Some(21603), "A 'From' phone number is required.")
        } else {
            error(400, None, "Bad Request")
        };
        f.add(d, answer);
    }
    let to = field(&pairs, "To").unwrap_or("");
    if !to.is_empty() && !is_e164(to) {
        f.add(
            "To is not E.164 (+ and 8 to 15 digits)",
            error(400, Some(21211), "Invalid 'To' Phone Number"),
        );
    }
    if let (Some(want), Some(got)) = (from, field(&pairs, "From")) {
        let want = crate::sender(want, "From").unwrap_or_else(|_| want.clone());
        if got != want {
            f.add(
                "From is not the configured sender",
                error(400, Some(21212), "Invalid From Number (caller ID)"),
            );
        }
    }
    if let (Some(want), Some(got)) = (messaging_service_sid, field(&pairs, "MessagingServiceSid"))
        && got != want
    {
        f.add(
            "MessagingServiceSid is not the configured one",
            error(404, Some(20404), "The requested resource was not found"),
        );
    }
    let body = field(&pairs, "Body").unwrap_or("").to_owned();
    if field(&pairs, "Body") == Some("") {
        f.add("Body is empty", error(400, Some(21602), "Message body is required."));
    }
    let to = to.to_owned();
    f.verdict(|| Verdict::Accept { to, body })
}

pub(super) fn failure(error_kind: FakeError, to: &str) -> Response {
    match error_kind {
        FakeError::InvalidNumber => error(
            400,
            Some(21211),
            &format!("The 'To' number {to} is not a valid phone number."),
        ),
        FakeError::Unauthorized => unauthorized(),
        FakeError::Unavailable => super::unavailable(),
    }
}

/// 201 and a Message resource, as Twilio returns it (abridged to the documented main fields).
pub(super) fn accepted(expected: &Provider, n: u64, to: &str, body: &str) -> (String, Response) {
    let sid = format!("SM{n:032x}");
    let (account_sid, from, service) = match expected {
        Provider::Twilio {
            account_sid,
            from,
            messaging_service_sid,
            ..
        } => (account_sid.as_str(), from.clone(), messaging_service_sid.clone()),
        _ => ("", None, None),
    };
    let answer = json_answer(
        201,
        json!({
            "sid": sid,
            "account_sid": account_sid,
            "to": to,
            "from": from,
            "messaging_service_sid": service,
            "body": body,
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "error_code": null,
            "error_message": null,
            "uri": format!("/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json"),
        }),
    );
    (sid, answer)
}
