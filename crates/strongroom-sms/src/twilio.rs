//! Twilio Programmable Messaging: create a Message resource.
//!
//! `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP Basic
//! `AccountSid:AuthToken`, form body `To`, `From` or `MessagingServiceSid`, `Body`.
//! Success: 201 and a Message (`sid`, `status`). Refusal: `{"code", "message", "more_info",
//! "status"}`. See <https://www.twilio.com/docs/messaging/api/message-resource> and
//! <https://www.twilio.com/docs/usage/twilios-response>.

use secrecy::{ExposeSecret, SecretString};

use crate::SmsError;
use crate::answer::{clean_message, code_of, exchange, str_of};

pub(crate) const NAME: &str = "Twilio";

/// Who the message is from: a number or sender ID, or a Messaging Service.
pub(crate) enum Sender {
    From(String),
    Service(String),
}

/// The path of the Messages list of an account (also what the fake serves).
pub(crate) fn messages_path(account_sid: &str) -> String {
    format!("/2010-04-01/Accounts/{account_sid}/Messages.json")
}

pub(crate) async fn send(
    http: &reqwest::Client,
    base: &str,
    account_sid: &str,
    auth_token: &SecretString,
    sender: &Sender,
    to: &str,
    body: &str,
) -> Result<String, SmsError> {
    // In a block of its own: the serializer is not Send, and must be gone before the await.
    let encoded = {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("To", to);
        match sender {
            Sender::From(from) => form.append_pair("From", from),
            Sender::Service(sid) => form.append_pair("MessagingServiceSid", sid),
        };
        form.append_pair("Body", body);
        form.finish()
    };
    let request = http
        .post(format!("{base}{}", messages_path(account_sid)))
        .basic_auth(account_sid, Some(auth_token.expose_secret()))
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(reqwest::header::ACCEPT, "application/json")
        .body(encoded);
    let (status, answer) = exchange(NAME, request).await?;
    let json: Option<serde_json::Value> = serde_json::from_slice(&answer).ok();
    let Some(json) = json.filter(serde_json::Value::is_object) else {
        return Err(SmsError::Unreachable(format!(
            "{NAME} answered HTTP {status} with something that is not a JSON object"
        )));
    };
    if (200..300).contains(&status) {
        // A Message that failed at once still comes back as a resource, with its error fields.
        let state = str_of(json.get("status")).unwrap_or("");
        if matches!(state, "failed" | "undelivered" | "canceled") {
            return Err(SmsError::Provider {
                provider: NAME,
                status,
                code: code_of(json.get("error_code")),
                message: clean_message(str_of(json.get("error_message")).unwrap_or(state)),
            });
        }
        return match str_of(json.get("sid")) {
            Some(sid) => Ok(sid.to_owned()),
            None => Err(SmsError::Unreachable(format!(
                "{NAME} answered HTTP {status} without a message sid"
            ))),
        };
    }
    // `more_info` is only https://www.twilio.com/docs/errors/{code}: the code says it all.
    let message = str_of(json.get("message")).unwrap_or("no reason given");
    Err(SmsError::Provider {
        provider: NAME,
        status,
        code: code_of(json.get("code")),
        message: clean_message(message),
    })
}
