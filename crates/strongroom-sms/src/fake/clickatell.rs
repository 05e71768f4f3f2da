//! Fake Clickatell Platform: `POST /messages`.

use axum::http::{Method, header};
use axum::response::Response;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::{FakeError, Findings, Request, Verdict, is_msisdn, json_answer, media_type};
use crate::Provider;
use crate::clickatell::{PATH, msisdn};

/// A refusal of the whole request: top-level `errorCode` / `error` / `errorDescription`.
fn global(status: u16, code: u32, error: &str, description: &str) -> Response {
    json_answer(
        status,
        json!({ "messages": [], "errorCode": code, "error": error, "errorDescription": description }),
    )
}

fn unauthorized() -> Response {
    global(
        401,
        1,
        "Invalid or missing Integration API Key",
        "The API key is missing or not valid.",
    )
}

fn bad_parameter(name: &str) -> Response {
    global(
        400,
        23,
        &format!("Invalid or missing parameter: {name}"),
        "A parameter is missing or invalid.",
    )
}

/// A refusal of the one message: `accepted: false` with the message-level error fields.
fn message_refused(to: &str, code: u32, error: &str) -> Response {
    json_answer(
        400,
        json!({
            "messages": [{
                "apiMessageId": null, "accepted": false, "to": to,
                "errorCode": code, "error": error, "errorDescription": error,
            }],
            "errorCode": null, "error": null, "errorDescription": null,
        }),
    )
}

pub(super) fn check(expected: &Provider, req: &Request) -> Verdict {
    let Provider::Clickatell { api_key, from } = expected else {
        return Verdict::Deviates(vec!["fake misconfigured".into()], unauthorized());
    };
    let mut f = Findings::new();
    if req.method != Method::POST {
        let answer = global(405, 42, "HTTP method is not supported on this resource", "Use POST.");
        f.add(format!("method {}, documented POST", req.method), answer);
    }
    if req.path != PATH {
        let answer = global(404, 41, "Resource does not exist", "Unknown resource.");
        f.add(format!("path {:?}, documented {PATH:?}", req.path), answer);
    }
    if req.query.is_some() {
        f.add(
            "a query string on the URL; the API key goes in a header and the rest in the JSON body",
            bad_parameter("query"),
        );
    }
    match req.headers.get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or("")) {
        None => f.add("no Authorization header (documented: the bare API key)", unauthorized()),
        Some(v) if v == api_key.expose_secret() => {}
        Some(v) if v.split_once(' ').is_some_and(|(_, k)| k == api_key.expose_secret()) => f.add(
            "Authorization has a scheme; Clickatell documents the bare API key (no \"Bearer\")",
            unauthorized(),
        ),
        Some(_) => f.add("bad credentials (Authorization is not the API key)", unauthorized()),
    }
    let ctype = media_type(&req.headers);
    if ctype.as_deref() != Some("application/json") {
        let answer = global(400, 21, "Payload data is malformed", "Expected application/json.");
        f.add(format!("content type {ctype:?}, documented application/json"), answer);
    }
    let accept = req.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    if accept != Some("application/json") {
        let answer = global(
            400,
            21,
            "Payload data is malformed",
            "Expected Accept: application/json.",
        );
        f.add(format!("Accept {accept:?}, documented application/json"), answer);
    }
    let payload: Option<Value> = serde_json::from_slice(&req.body).ok();
    let Some(obj) = payload.as_ref().and_then(Value::as_object) else {
        f.add(
            "the body is not a JSON object",
            global(400, 21, "Payload data is malformed", "Not JSON."),
        );
        return f.verdict(|| Verdict::Accept {
            to: String::new(),
            body: String::new(),
        });
    };
    for key in obj.keys() {
        if !matches!(key.as_str(), "content" | "to" | "from") {
            let near = ["content", "to", "from"]
                .into_iter()
                .find(|k| k.eq_ignore_ascii_case(key));
            let what = match near {
                Some(k) => format!("field {key:?} is misspelt: the documented name is {k:?}"),
                None => format!("unexpected field {key:?} (Strongroom sends only content, to, from)"),
            };
            f.add(what, bad_parameter(key));
        }
    }
    let content = obj.get("content").and_then(Value::as_str).unwrap_or("");
    if content.is_empty() {
        f.add(
            "\"content\" is missing, empty or not a string",
            bad_parameter("content"),
        );
    }
    let to = match obj.get("to").and_then(Value::as_array).map(Vec::as_slice) {
        Some([Value::String(to)]) => to.as_str(),
        Some(_) => {
            f.add("\"to\" must be a list of exactly one number", bad_parameter("to"));
            ""
        }
        None => {
            f.add(
                "\"to\" is missing or not a list (documented: [\"447700900123\"])",
                bad_parameter("to"),
            );
            ""
        }
    };
    if !to.is_empty() && !is_msisdn(to) {
        let what = if to.starts_with('+') {
            "\"to\" carries a +; Clickatell documents international numbers without it"
        } else {
            "\"to\" is not an international number (8 to 15 digits)"
        };
        f.add(
            what,
            message_refused(to, 25, &format!("Invalid recipient address: {to}")),
        );
    }
    let want_from = from
        .as_deref()
        .map(|w| crate::sender(w, "from").unwrap_or_else(|_| w.to_owned()));
    let want_from = want_from.as_deref().map(msisdn);
    let got_from = obj.get("from");
    match (want_from, got_from) {
        (None, None) => {}
        (Some(w), Some(Value::String(g))) if w == g => {}
        (None, Some(_)) => f.add("\"from\" sent but no sender is configured", bad_parameter("from")),
        (Some(_), None) => f.add(
            "\"from\" is missing: the configured sender was not sent",
            bad_parameter("from"),
        ),
        (Some(_), Some(_)) => f.add(
            "\"from\" is not the configured sender (numbers go without +)",
            global(400, 45, "FROM number is not related to integration", "Unknown sender."),
        ),
    }
    let to = format!("+{to}");
    let body = content.to_owned();
    f.verdict(|| Verdict::Accept { to, body })
}

pub(super) fn failure(kind: FakeError, to: &str) -> Response {
    match kind {
        FakeError::InvalidNumber => {
            message_refused(msisdn(to), 25, &format!("Invalid recipient address: {}", msisdn(to)))
        }
        FakeError::Unauthorized => unauthorized(),
        FakeError::Unavailable => super::unavailable(),
    }
}

pub(super) fn accepted(n: u64, to: &str) -> (String, Response) {
    let id = format!("{n:032x}");
    let answer = json_answer(
        202,
        json!({
            "messages": [{
                "apiMessageId": id, "accepted": true, "to": msisdn(to),
                "errorCode": null, "error": null, "errorDescription": null,
            }],
            "errorCode": null, "error": null, "errorDescription": null,
        }),
    );
    (id, answer)
}
