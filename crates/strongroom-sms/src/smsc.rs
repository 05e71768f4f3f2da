//! SMSC (smsc.ru / smsc.kz / smscentre.com) HTTP API: send an SMS.
//!
//! `POST {base}/sys/send.php`, form `login`, `psw`, `phones`, `mes`, `fmt=3`, `charset=utf-8`,
//! `sender`?. Answer, HTTP 200 either way: `{"id": 123, "cnt": 1}` or
//! `{"error": "…", "error_code": N}`. See <https://smscentre.com/api/http/send/sms/> and
//! <https://smscentre.com/api/http/send/sms/sms_answer/>.
//!
//! The password is a form field, so this module never puts the request into an error, a log
//! line or a URL: the documentation also allows GET, which we never use.

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::SmsError;
use crate::answer::{clean_message, code_of, exchange, str_of};

pub(crate) const NAME: &str = "SMSC";

pub(crate) const PATH: &str = "/sys/send.php";

pub(crate) async fn send(
    http: &reqwest::Client,
    base: &str,
    login: &str,
    password: &SecretString,
    sender: Option<&str>,
    to: &str,
    body: &str,
) -> Result<String, SmsError> {
    // In a block of its own: the serializer is not Send, and must be gone before the await.
    let encoded = {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("login", login)
            .append_pair("psw", password.expose_secret())
            // With its +, SMSC takes the number as given instead of "correcting" it.
            .append_pair("phones", to)
            .append_pair("mes", body)
            .append_pair("fmt", "3")
            .append_pair("charset", "utf-8");
        if let Some(sender) = sender {
            form.append_pair("sender", sender);
        }
        form.finish()
    };
    let request = http
        .post(format!("{base}{PATH}"))
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(reqwest::header::ACCEPT, "application/json")
        .body(encoded);
    let (status, answer) = exchange(NAME, request).await?;
    let json: Option<Value> = serde_json::from_slice(&answer).ok();
    let Some(json) = json.filter(Value::is_object) else {
        return Err(SmsError::Unreachable(format!(
            "{NAME} answered HTTP {status} with something that is not a JSON object"
        )));
    };
    // SMSC answers HTTP 200 to refusals too: `error_code` decides.
    if json.get("error_code").is_some_and(|c| !c.is_null()) || str_of(json.get("error")).is_some() {
        return Err(SmsError::Provider {
            provider: NAME,
            status,
            code: code_of(json.get("error_code")),
            message: clean_message(str_of(json.get("error")).unwrap_or("no reason given")),
        });
    }
    if !(200..300).contains(&status) {
        return Err(SmsError::Unreachable(format!("{NAME} answered HTTP {status}")));
    }
    match code_of(json.get("id")) {
        Some(id) => Ok(id),
        None => Err(SmsError::Unreachable(format!("{NAME} answered without a message id"))),
    }
}
