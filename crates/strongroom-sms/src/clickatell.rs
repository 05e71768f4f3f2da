//! Clickatell Platform SMS API: send message.
//!
//! `POST {base}/messages`, `Authorization: <API key>` (bare, no scheme), JSON both ways:
//! `{"content", "to": [msisdn without +], "from"?}` → 202
//! `{"messages": [{"apiMessageId", "accepted", "to", "errorCode", "error", "errorDescription"}],
//! "errorCode", "error", "errorDescription"}`. See
//! <https://help.clickatell.com/developers-api-reference/sms-api> and
//! <https://docs.clickatell.com/channels/sms-rest-api-platform-archived/sms-rest-api-send-message-2/>.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::SmsError;
use crate::answer::{clean_message, code_of, exchange, str_of};

pub(crate) const NAME: &str = "Clickatell";

pub(crate) const PATH: &str = "/messages";

/// Clickatell writes international numbers without the `+`.
pub(crate) fn msisdn(e164: &str) -> &str {
    e164.trim_start_matches('+')
}

pub(crate) async fn send(
    http: &reqwest::Client,
    base: &str,
    api_key: &SecretString,
    from: Option<&str>,
    to: &str,
    body: &str,
) -> Result<String, SmsError> {
    let mut payload = json!({ "content": body, "to": [msisdn(to)] });
    if let Some(from) = from {
        payload["from"] = Value::from(msisdn(from));
    }
    let mut key = reqwest::header::HeaderValue::from_str(api_key.expose_secret())
        .map_err(|_| SmsError::Invalid("the Clickatell API key must be plain ASCII".into()))?;
    key.set_sensitive(true);
    let request = http
        .post(format!("{base}{PATH}"))
        .header(reqwest::header::AUTHORIZATION, key)
        .header(reqwest::header::ACCEPT, "application/json")
        .json(&payload);
    let (status, answer) = exchange(NAME, request).await?;
    let json: Option<Value> = serde_json::from_slice(&answer).ok();
    let Some(json) = json.filter(Value::is_object) else {
        return Err(SmsError::Unreachable(format!(
            "{NAME} answered HTTP {status} with something that is not a JSON object"
        )));
    };
    // A refusal of the whole request comes first; then the one message's own verdict.
    if let Some(err) = refusal(&json, status) {
        return Err(err);
    }
    let message = json.get("messages").and_then(Value::as_array).and_then(|m| m.first());
    let Some(message) = message else {
        return Err(if (200..300).contains(&status) {
            SmsError::Unreachable(format!("{NAME} answered HTTP {status} without a message"))
        } else {
            SmsError::Provider {
                provider: NAME,
                status,
                code: None,
                message: "no reason given".into(),
            }
        });
    };
    if let Some(err) = refusal(message, status) {
        return Err(err);
    }
    let accepted = message.get("accepted").and_then(Value::as_bool) == Some(true);
    match str_of(message.get("apiMessageId")) {
        Some(id) if accepted && (200..300).contains(&status) => Ok(id.to_owned()),
        _ => Err(SmsError::Provider {
            provider: NAME,
            status,
            code: None,
            message: "the message was not accepted".into(),
        }),
    }
}

/// The `errorCode` / `error` / `errorDescription` of a response or of one of its messages.
fn refusal(obj: &Value, status: u16) -> Option<SmsError> {
    let code = code_of(obj.get("errorCode"));
    // `error` is a string here; Clickatell's One API nests an object, read that too.
    let nested = obj.get("error").filter(|e| e.is_object());
    let error = str_of(obj.get("error")).or_else(|| nested.and_then(|e| str_of(e.get("description"))));
    let code = code.or_else(|| nested.and_then(|e| code_of(e.get("code"))));
    let description = str_of(obj.get("errorDescription"));
    if code.is_none() && error.is_none() && description.is_none() {
        return None;
    }
    let message = match (error, description) {
        (Some(e), Some(d)) if e != d => format!("{e}: {d}"),
        (Some(e), _) => e.to_owned(),
        (None, Some(d)) => d.to_owned(),
        (None, None) => "no reason given".to_owned(),
    };
    Some(SmsError::Provider {
        provider: NAME,
        status,
        code,
        message: clean_message(&message),
    })
}
