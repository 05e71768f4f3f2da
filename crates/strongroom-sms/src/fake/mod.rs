//! Local fakes of the three providers, for tests (cargo feature `fake`).
//!
//! A [`FakeProvider`] is an axum server on `127.0.0.1:0` that speaks one provider's documented
//! API (see the crate documentation for the shapes and sources) and checks every request
//! against it exactly: method, path (with the Account SID for Twilio), query, auth scheme and
//! credentials, content type, each field name and value format, and the configured sender.
//! Each difference is recorded in [`FakeProvider::deviations`] and answered with the error the
//! provider documents for it, so a test catches a deviation either way:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use strongroom_sms::{Provider, fake::FakeProvider};
//! let fake = FakeProvider::start(Provider::Clickatell {
//!     api_key: "test-key".to_owned().into(),
//!     from: None,
//! })
//! .await?;
//! let http = strongroom_sms::client().map_err(std::io::Error::other)?;
//! let id = strongroom_sms::send(&http, &fake.config(), "+447700900123", "code 123456").await;
//! assert!(fake.deviations().is_empty());
//! assert_eq!(fake.messages(), vec![("+447700900123".to_owned(), "code 123456".to_owned())]);
//! # let _ = id; Ok(()) }
//! ```
//!
//! Where the documentation allows more than Strongroom sends (SMSC also takes GET; Clickatell
//! and SMSC take many optional fields), the fake accepts only what Strongroom is meant to send,
//! and says so in the deviation.

mod clickatell;
mod smsc;
mod twilio;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::{Provider, SmsConfig};

/// A documented refusal to answer with, instead of accepting (see [`FakeProvider::fail_next`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FakeError {
    /// The recipient is refused: Twilio 400 code 21211, Clickatell 400 with the message's
    /// `errorCode` 25, SMSC `error_code` 7 (HTTP 200).
    InvalidNumber,
    /// The credentials are refused: Twilio 401 code 20003, Clickatell 401 `errorCode` 1, SMSC
    /// `error_code` 2 "authorise error" (HTTP 200).
    Unauthorized,
    /// Not the provider answering: HTTP 503 with an HTML page, as a load balancer would.
    Unavailable,
}

#[derive(Default)]
struct Record {
    messages: Vec<(String, String)>,
    ids: Vec<String>,
    deviations: Vec<String>,
    failures: VecDeque<FakeError>,
    requests: usize,
    next_id: u64,
}

struct Shared {
    expected: Provider,
    record: Mutex<Record>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One request as the fake saw it.
struct Request {
    method: Method,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
}

/// What one request did: its deviations (with the provider's answer to the first), or a
/// failure to simulate, or an accepted message.
enum Verdict {
    Deviates(Vec<String>, Response),
    Accept { to: String, body: String },
}

/// A running fake provider; the server stops when this is dropped.
pub struct FakeProvider {
    base_url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeProvider {
    /// Starts a fake of `expected`'s provider that accepts exactly `expected`'s credentials and
    /// sender (Twilio `from` / `messaging_service_sid`, Clickatell `from`, SMSC `sender`).
    pub async fn start(expected: Provider) -> std::io::Result<FakeProvider> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            expected,
            record: Mutex::new(Record::default()),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "fake SMS provider stopped");
            }
        });
        Ok(FakeProvider { base_url, shared, task })
    }

    /// `http://127.0.0.1:port`, for [`SmsConfig::base_url`].
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The expected provider pointed at this fake: what a correct client is configured with.
    pub fn config(&self) -> SmsConfig {
        SmsConfig {
            provider: self.shared.expected.clone(),
            base_url: Some(self.base_url()),
        }
    }

    /// The messages received and accepted: (recipient in E.164, body), in order. (Clickatell's
    /// wire form has no `+`; it is put back here so every fake reads alike.)
    pub fn messages(&self) -> Vec<(String, String)> {
        self.shared.lock().messages.clone()
    }

    /// The ids the fake gave the accepted messages, in the same order as [`Self::messages`].
    pub fn message_ids(&self) -> Vec<String> {
        self.shared.lock().ids.clone()
    }

    /// Every way a request differed from the documented format, in order.
    pub fn deviations(&self) -> Vec<String> {
        self.shared.lock().deviations.clone()
    }

    /// How many requests arrived, whatever became of them.
    pub fn requests(&self) -> usize {
        self.shared.lock().requests
    }

    /// Answers the next `n` well-formed requests with `error` instead of accepting them.
    /// (A deviating request gets the error for its deviation and does not use one up.)
    pub fn fail_next(&self, n: usize, error: FakeError) {
        self.shared.lock().failures.extend(std::iter::repeat_n(error, n));
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    AxState(shared): AxState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = Request {
        method,
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers,
        body,
    };
    let verdict = match &shared.expected {
        Provider::Twilio { .. } => twilio::check(&shared.expected, &request),
        Provider::Clickatell { .. } => clickatell::check(&shared.expected, &request),
        Provider::Smsc { .. } => smsc::check(&shared.expected, &request),
    };
    let mut record = shared.lock();
    record.requests += 1;
    match verdict {
        Verdict::Deviates(found, answer) => {
            let name = shared.expected.name();
            record
                .deviations
                .extend(found.into_iter().map(|d| format!("{name}: {d}")));
            answer
        }
        Verdict::Accept { to, body } => {
            if let Some(error) = record.failures.pop_front() {
                return match (&shared.expected, error) {
                    (_, FakeError::Unavailable) => unavailable(),
                    (Provider::Twilio { .. }, e) => twilio::failure(e, &to),
                    (Provider::Clickatell { .. }, e) => clickatell::failure(e, &to),
                    (Provider::Smsc { .. }, e) => smsc::failure(e, &to, &mut record.next_id),
                };
            }
            record.next_id += 1;
            let n = record.next_id;
            let (id, answer) = match &shared.expected {
                Provider::Twilio { .. } => twilio::accepted(&shared.expected, n, &to, &body),
                Provider::Clickatell { .. } => clickatell::accepted(n, &to),
                Provider::Smsc { .. } => smsc::accepted(n),
            };
            record.messages.push((to, body));
            record.ids.push(id);
            answer
        }
    }
}

// ----- helpers for the provider modules -----

fn json_answer(status: u16, value: serde_json::Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, "application/json")], value.to_string()).into_response()
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "text/html")],
        "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
    )
        .into_response()
}

/// Collects deviations; the first one decides the answer.
struct Findings {
    found: Vec<String>,
    answer: Option<Response>,
}

impl Findings {
    fn new() -> Self {
        Findings {
            found: Vec::new(),
            answer: None,
        }
    }

    fn add(&mut self, what: impl Into<String>, answer: Response) {
        self.found.push(what.into());
        if self.answer.is_none() {
            self.answer = Some(answer);
        }
    }

    fn verdict(self, accept: impl FnOnce() -> Verdict) -> Verdict {
        match self.answer {
            Some(answer) => Verdict::Deviates(self.found, answer),
            None => accept(),
        }
    }
}

/// The media type of the request (`type/subtype`, lower case, without parameters).
fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

/// A form body as pairs; `None` when it is not UTF-8.
fn form_pairs(body: &[u8]) -> Option<Vec<(String, String)>> {
    std::str::from_utf8(body).ok()?;
    Some(
        form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
    )
}

/// Checks a form's field names: each of `required` once, each of `optional` at most once, and
/// nothing else. Returns the deviations.
fn field_names(pairs: &[(String, String)], required: &[&str], optional: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for name in required {
        if !pairs.iter().any(|(k, _)| k == name) {
            let near = pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name));
            out.push(match near {
                Some((k, _)) => format!("field {k:?} is misspelt: the documented name is {name:?}"),
                None => format!("required field {name:?} is missing"),
            });
        }
    }
    for (i, (k, _)) in pairs.iter().enumerate() {
        let known = required.contains(&k.as_str()) || optional.contains(&k.as_str());
        if !known && !required.iter().any(|r| r.eq_ignore_ascii_case(k)) {
            out.push(format!("unexpected field {k:?}"));
        }
        if known && pairs[..i].iter().any(|(p, _)| p == k) {
            out.push(format!("field {k:?} is sent more than once"));
        }
    }
    out
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Whether `s` is E.164 exactly as Strongroom sends it: `+`, 8 to 15 digits, no leading 0.
fn is_e164(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(is_msisdn)
}

/// International digits without the `+`.
fn is_msisdn(s: &str) -> bool {
    (8..=15).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0')
}
