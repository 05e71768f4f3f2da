//! Fake SMSC: `POST /sys/send.php` with `fmt=3` (JSON answers, HTTP 200 even for errors).

use axum::http::Method;
use axum::response::Response;
use secrecy::ExposeSecret;
use serde_json::json;

use super::{FakeError, Findings, Request, Verdict, field, field_names, form_pairs, is_e164, json_answer, media_type};
use crate::Provider;
use crate::smsc::PATH;

/// SMSC's refusal, always with HTTP 200: `{"error", "error_code"}` (+ `"id"` for 3, 6, 7, 8).
fn error(code: u32, text: &str, id: Option<u64>) -> Response {
    let mut body = json!({ "error": text, "error_code": code });
    if let Some(id) = id {
        body["id"] = json!(id);
    }
    json_answer(200, body)
}

fn parameters() -> Response {
    error(1, "parameters error", None)
}

fn authorise() -> Response {
    error(2, "authorise error", None)
}

pub(super) fn check(expected: &Provider, req: &Request) -> Verdict {
    let Provider::Smsc {
        login,
        password,
        sender,
    } = expected
    else {
        return Verdict::Deviates(vec!["fake misconfigured".into()], authorise());
    };
    let mut f = Findings::new();
    if req.method == Method::GET {
        f.add(
            "method GET: documented, but it puts the password in the URL; Strongroom must POST",
            parameters(),
        );
    } else if req.method != Method::POST {
        f.add(
            format!("method {}, documented GET or POST (Strongroom: POST)", req.method),
            parameters(),
        );
    }
    if req.path != PATH {
        f.add(format!("path {:?}, documented {PATH:?}", req.path), parameters());
    }
    if req.query.is_some() {
        f.add(
            "a query string on the URL: login and psw must stay out of URLs",
            parameters(),
        );
    }
    let ctype = media_type(&req.headers);
    if ctype.as_deref() != Some("application/x-www-form-urlencoded") {
        f.add(
            format!("content type {ctype:?}, expected application/x-www-form-urlencoded"),
            parameters(),
        );
    }
    let pairs = form_pairs(&req.body).unwrap_or_else(|| {
        f.add("the body is not UTF-8 (charset=utf-8 was promised)", parameters());
        Vec::new()
    });
    let mut required = vec!["login", "psw", "phones", "mes", "fmt", "charset"];
    if sender.is_some() {
        required.push("sender");
    }
    for d in field_names(&pairs, &required, &[]) {
        let answer = if d.contains("\"login\"") || d.contains("\"psw\"") {
            authorise()
        } else {
            parameters()
        };
        f.add(d, answer);
    }
    let (got_login, got_psw) = (field(&pairs, "login"), field(&pairs, "psw"));
    if got_login.is_some()
        && got_psw.is_some()
        && (got_login != Some(login) || got_psw != Some(password.expose_secret()))
    {
        f.add("bad credentials (login / psw)", authorise());
    }
    if let Some(fmt) = field(&pairs, "fmt").filter(|v| *v != "3") {
        f.add(
            format!("fmt={fmt}: Strongroom reads JSON answers, documented fmt=3"),
            parameters(),
        );
    }
    if let Some(cs) = field(&pairs, "charset").filter(|v| *v != "utf-8") {
        f.add(format!("charset={cs}, expected utf-8"), parameters());
    }
    let phones = field(&pairs, "phones").unwrap_or("");
    if !phones.is_empty() && !is_e164(phones) {
        f.add(
            "phones is not one number with + (without it SMSC \"corrects\" numbers)",
            error(7, "invalid number", None),
        );
    }
    if let (Some(want), Some(got)) = (sender, field(&pairs, "sender"))
        && want != got
    {
        f.add("sender is not the configured one", error(6, "message is denied", None));
    }
    let mes = field(&pairs, "mes").unwrap_or("");
    if field(&pairs, "mes") == Some("") {
        f.add("mes is empty", parameters());
    }
    let to = phones.to_owned();
    let body = mes.to_owned();
    f.verdict(|| Verdict::Accept { to, body })
}

pub(super) fn failure(kind: FakeError, _to: &str, next_id: &mut u64) -> Response {
    match kind {
        FakeError::InvalidNumber => {
            *next_id += 1;
            error(7, "invalid number", Some(*next_id))
        }
        FakeError::Unauthorized => authorise(),
        FakeError::Unavailable => super::unavailable(),
    }
}

pub(super) fn accepted(n: u64) -> (String, Response) {
    (n.to_string(), json_answer(200, json!({ "id": n, "cnt": 1 })))
}
