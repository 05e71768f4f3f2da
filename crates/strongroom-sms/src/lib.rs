//! Sign-in codes by text message: one small client for each of three SMS providers, each
//! speaking that provider's own documented HTTP API, and (behind the `fake` feature) a local
//! fake of each provider that checks requests against the same documentation.
//!
//! ```no_run
//! # async fn demo() -> Result<(), strongroom_sms::SmsError> {
//! use strongroom_sms::{Provider, SmsConfig};
//! let cfg = SmsConfig {
//!     provider: Provider::Smsc {
//!         login: "strongroom".into(),
//!         password: "…".to_owned().into(),
//!         sender: None,
//!     },
//!     base_url: None,
//! };
//! cfg.validate()?;
//! let http = strongroom_sms::client()?;
//! let to = strongroom_sms::normalize_phone("+44 7700 900123")?;
//! let id = strongroom_sms::send(&http, &cfg, &to, "Your Strongroom code is 123456").await?;
//! # let _ = id; Ok(()) }
//! ```
//!
//! # The providers, and why each is shaped as it is
//!
//! **Twilio** Programmable Messaging, "create a Message resource"
//! (<https://www.twilio.com/docs/messaging/api/message-resource>; the OpenAPI-generated
//! `twilio-go` docs list `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` relative to
//! `https://api.twilio.com`). HTTP Basic authentication with the Account SID as user and the
//! Auth Token as password (<https://www.twilio.com/docs/api/errors/20003>). The body is
//! `application/x-www-form-urlencoded` with `To` (E.164), `Body` and exactly one of `From` or
//! `MessagingServiceSid`. Success is `201 Created` with a JSON Message whose `sid` (`SM…`) is the
//! id and whose `status` is e.g. `queued`. Errors are JSON
//! `{"code": 21211, "message": "…", "more_info": "https://www.twilio.com/docs/errors/21211",
//! "status": 400}` (<https://www.twilio.com/docs/usage/twilios-response>); a bad token is
//! `401` with code `20003` "Authenticate".
//!
//! **Clickatell** Platform "SMS API", `POST https://platform.clickatell.com/messages`
//! (OpenAPI at <https://help.clickatell.com/developers-api-reference/sms-api>; request example at
//! <https://docs.clickatell.com/channels/sms-rest-api-platform-archived/sms-rest-api-send-message-2/>;
//! the official `clickatell/clickatell-php` v3 client posts to the same URL). The API key goes
//! bare in the `Authorization` header (no `Bearer`), with `Content-Type: application/json` and
//! `Accept: application/json`. The body is `{"content": "…", "to": ["447700900123"], "from":
//! "…"}` where `to` is a list of international numbers *without* the `+` (every Clickatell
//! example and the archived error 105 text: "international format, without a '00' prefix or
//! leading '+' symbol"). Success is `202 Accepted` with
//! `{"messages": [{"apiMessageId": "…", "accepted": true, "to": "…", "errorCode": null, "error":
//! null, "errorDescription": null}], "errorCode": null, "error": null, "errorDescription": null}`;
//! a refusal fills `errorCode` / `error` / `errorDescription`, for the whole request (e.g. `401`
//! code 1 "Invalid or missing Integration API Key") or for the one message (`accepted: false`).
//! Clickatell's newer "One API" (`POST /v1/message`, `{"messages": [{"channel": "sms", …}]}`)
//! is a different integration type and is not spoken here.
//!
//! **SMSC** (smsc.ru, smsc.kz, smscentre.com: one HTTP API on several domains),
//! `{base}/sys/send.php` (<https://smscentre.com/api/http/send/sms/>, answers at
//! <https://smscentre.com/api/http/send/sms/sms_answer/>). Parameters `login`, `psw`, `phones`,
//! `mes`, plus `fmt=3` for a JSON answer, `charset=utf-8` and optionally `sender`. The
//! documentation allows GET or POST; we always POST a form, because the password is a
//! parameter and must never sit in a URL (proxies and access logs keep URLs). The number keeps
//! its `+`: SMSC "corrects" numbers sent without it, and passing the `+` disables that.
//! Success is `{"id": 123, "cnt": 1}`; a refusal is `{"error": "…", "error_code": N}` (with
//! `"id"` for codes 3, 6, 7, 8) and arrives with HTTP 200, so the JSON decides, not the status.
//!
//! # Secrets
//!
//! Credentials are [`SecretString`]s: `Debug` prints them redacted, and no error or log line
//! carries them. SMSC puts its password in the request body, so neither a request URL nor a
//! request body ever appears in an error, and provider messages are scrubbed of any credential
//! they might echo. `Serialize` writes the secrets out in clear on purpose (the caller seals the
//! JSON before storing it).
#![forbid(unsafe_code)]

mod answer;
mod clickatell;
#[cfg(feature = "fake")]
pub mod fake;
mod phone;
mod smsc;
mod twilio;

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::answer::{chain, scrub_error};

pub use phone::{mask_phone, normalize_phone};

/// Public API base of each provider, used when [`SmsConfig::base_url`] is `None`.
pub const TWILIO_BASE: &str = "https://api.twilio.com";
/// See [`TWILIO_BASE`].
pub const CLICKATELL_BASE: &str = "https://platform.clickatell.com";
/// See [`TWILIO_BASE`]; smsc.kz and smscentre.com serve the same API.
pub const SMSC_BASE: &str = "https://smsc.ru";

/// Longest message body accepted (characters); SMSC's documented limit, the smallest of the three.
pub const MAX_BODY_CHARS: usize = 1000;

/// Which provider, and its credentials.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Provider {
    /// Twilio Programmable Messaging.
    Twilio {
        /// `AC` and 32 hexadecimal digits.
        account_sid: String,
        #[serde(serialize_with = "expose")]
        auth_token: SecretString,
        /// A Twilio number (E.164), short code or alphanumeric sender ID; or use a Messaging Service.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        /// `MG` and 32 hexadecimal digits, instead of `from`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        messaging_service_sid: Option<String>,
    },
    /// Clickatell Platform, an "SMS" integration with its API key.
    Clickatell {
        #[serde(serialize_with = "expose")]
        api_key: SecretString,
        /// Optional sender: a number of the integration (E.164) or a registered sender ID.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
    },
    /// SMSC (smsc.ru / smsc.kz / smscentre.com).
    Smsc {
        login: String,
        #[serde(serialize_with = "expose")]
        password: SecretString,
        /// Optional sender name registered with SMSC.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sender: Option<String>,
    },
}

fn expose<S: serde::Serializer>(secret: &SecretString, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(secret.expose_secret())
}

impl Provider {
    /// The provider's name as errors show it.
    pub fn name(&self) -> &'static str {
        match self {
            Provider::Twilio { .. } => twilio::NAME,
            Provider::Clickatell { .. } => clickatell::NAME,
            Provider::Smsc { .. } => smsc::NAME,
        }
    }

    fn default_base(&self) -> &'static str {
        match self {
            Provider::Twilio { .. } => TWILIO_BASE,
            Provider::Clickatell { .. } => CLICKATELL_BASE,
            Provider::Smsc { .. } => SMSC_BASE,
        }
    }

    /// The credential strings, for scrubbing provider answers.
    fn secrets(&self) -> Vec<&str> {
        match self {
            Provider::Twilio { auth_token, .. } => vec![auth_token.expose_secret()],
            Provider::Clickatell { api_key, .. } => vec![api_key.expose_secret()],
            Provider::Smsc { password, .. } => vec![password.expose_secret()],
        }
    }
}

/// A provider and where to reach it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    pub provider: Provider,
    /// `None`: the provider's public API ([`TWILIO_BASE`], [`CLICKATELL_BASE`], [`SMSC_BASE`]).
    /// Otherwise an absolute `http(s)` URL with a host and at most a path prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

impl SmsConfig {
    /// Checks everything that can be checked without asking the provider.
    pub fn validate(&self) -> Result<(), SmsError> {
        if let Some(base) = &self.base_url {
            check_base_url(base)?;
        }
        match &self.provider {
            Provider::Twilio {
                account_sid,
                auth_token,
                from,
                messaging_service_sid,
            } => {
                check_sid(account_sid, "AC", "Twilio Account SID")?;
                check_secret(auth_token, "Twilio Auth Token")?;
                match (from, messaging_service_sid) {
                    (Some(_), Some(_)) => {
                        return Err(invalid(
                            "Twilio: set either a From number or a Messaging Service SID, not both",
                        ));
                    }
                    (None, None) => {
                        return Err(invalid(
                            "Twilio: a From number (or sender ID) or a Messaging Service SID is required",
                        ));
                    }
                    (Some(from), None) => {
                        sender(from, "Twilio From")?;
                    }
                    (None, Some(sid)) => check_sid(sid, "MG", "Twilio Messaging Service SID")?,
                }
            }
            Provider::Clickatell { api_key, from } => {
                check_secret(api_key, "Clickatell API key")?;
                if let Some(from) = from {
                    sender(from, "Clickatell from")?;
                }
            }
            Provider::Smsc {
                login,
                password,
                sender: name,
            } => {
                check_text(login, "SMSC login")?;
                check_secret(password, "SMSC password")?;
                if let Some(name) = name {
                    sender(name, "SMSC sender")?;
                }
            }
        }
        Ok(())
    }

    /// The base URL requests go to, without a trailing `/`.
    pub fn effective_base_url(&self) -> &str {
        self.base_url
            .as_deref()
            .unwrap_or_else(|| self.provider.default_base())
            .trim_end_matches('/')
    }
}

/// Why a message was not sent. No variant ever carries a credential.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// The configuration or the phone number is not usable; nothing was sent.
    #[error("{0}")]
    Invalid(String),
    /// The provider answered and refused, with its own code and message.
    #[error("{provider} refused the message: {message} ({}HTTP {status})",
        code.as_ref().map(|c| format!("code {c}, ")).unwrap_or_default())]
    Provider {
        provider: &'static str,
        status: u16,
        code: Option<String>,
        message: String,
    },
    /// No usable answer: network failure, timeout, redirect, or an answer that could not be read.
    #[error("SMS provider unreachable: {0}")]
    Unreachable(String),
}

fn invalid(msg: impl Into<String>) -> SmsError {
    SmsError::Invalid(msg.into())
}

/// An HTTP client for [`send`]: 10 s timeout, redirects are not followed (a redirect would
/// resend credentials to wherever it points), user agent `strongroom`.
pub fn client() -> Result<reqwest::Client, SmsError> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("strongroom")
        .build()
        .map_err(|e| SmsError::Unreachable(format!("cannot set up the HTTP client: {}", chain(&e))))
}

/// Sends `body` to `to` (E.164, e.g. `+447700900123`; see [`normalize_phone`]) and gives the
/// provider's id for the message.
pub async fn send(http: &reqwest::Client, cfg: &SmsConfig, to: &str, body: &str) -> Result<String, SmsError> {
    cfg.validate()?;
    let to = normalize_phone(to)?;
    if body.trim().is_empty() {
        return Err(invalid("the message is empty"));
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(invalid(format!(
            "the message is longer than {MAX_BODY_CHARS} characters"
        )));
    }
    if body.contains('\0') {
        return Err(invalid("the message contains a NUL character"));
    }
    let base = cfg.effective_base_url();
    let id = match &cfg.provider {
        Provider::Twilio {
            account_sid,
            auth_token,
            from,
            messaging_service_sid,
        } => {
            let from = match (from, messaging_service_sid) {
                (Some(f), _) => twilio::Sender::From(sender(f, "Twilio From")?),
                (None, Some(m)) => twilio::Sender::Service(m.clone()),
                (None, None) => return Err(invalid("Twilio: no sender configured")),
            };
            twilio::send(http, base, account_sid, auth_token, &from, &to, body).await
        }
        Provider::Clickatell { api_key, from } => {
            let from = from.as_deref().map(|f| sender(f, "Clickatell from")).transpose()?;
            clickatell::send(http, base, api_key, from.as_deref(), &to, body).await
        }
        Provider::Smsc {
            login,
            password,
            sender: name,
        } => smsc::send(http, base, login, password, name.as_deref(), &to, body).await,
    };
    // Whatever a provider echoed back, no credential leaves this function.
    let id = id.map_err(|e| scrub_error(e, &cfg.provider.secrets()))?;
    tracing::debug!(provider = cfg.provider.name(), to = %mask_phone(&to), id = %id, "text message accepted");
    Ok(id)
}

// ----- validation helpers -----

fn check_base_url(base: &str) -> Result<(), SmsError> {
    let url =
        reqwest::Url::parse(base).map_err(|e| invalid(format!("the SMS base URL is not an absolute URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "the SMS base URL must start with https:// (or http://), not {}:",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("the SMS base URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "the SMS base URL must not carry a user name or password; credentials go in their own fields",
        ));
    }
    if url.query().is_some() {
        return Err(invalid("the SMS base URL must not have a query (?…)"));
    }
    if url.fragment().is_some() {
        return Err(invalid("the SMS base URL must not have a fragment (#…)"));
    }
    Ok(())
}

fn check_sid(sid: &str, prefix: &str, what: &str) -> Result<(), SmsError> {
    let ok = sid.len() == 34 && sid.starts_with(prefix) && sid[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "the {what} must be {prefix} followed by 32 hexadecimal digits"
        )))
    }
}

fn check_text(value: &str, what: &str) -> Result<(), SmsError> {
    if value.is_empty() {
        return Err(invalid(format!("the {what} is required")));
    }
    if value.trim() != value {
        return Err(invalid(format!("the {what} has spaces at the start or end")));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(format!("the {what} contains control characters")));
    }
    Ok(())
}

fn check_secret(secret: &SecretString, what: &str) -> Result<(), SmsError> {
    let s = secret.expose_secret();
    check_text(s, what)?;
    // It travels in an HTTP header (Twilio, Clickatell): visible ASCII only.
    if !s.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Err(invalid(format!("the {what} must be plain ASCII")));
    }
    Ok(())
}

/// A sender: an E.164 number (returned normalised) or a short code / alphanumeric sender ID
/// of 1 to 11 ASCII letters, digits and inner spaces (returned as is).
fn sender(value: &str, what: &str) -> Result<String, SmsError> {
    check_text(value, what)?;
    if value.starts_with('+') {
        return normalize_phone(value).map_err(|e| invalid(format!("{what}: {e}")));
    }
    let ok = value.chars().count() <= 11 && value.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ');
    if ok {
        Ok(value.to_owned())
    } else {
        Err(invalid(format!(
            "{what} must be a number with + and country code, or a sender ID of at most 11 letters and digits"
        )))
    }
}

/// Compiles only if [`send`]'s future is `Send`: servers run it on a multi-threaded runtime.
#[cfg(test)]
#[allow(dead_code)]
fn _send_is_send(http: &reqwest::Client, cfg: &SmsConfig) {
    fn is_send<T: Send>(_: T) {}
    is_send(send(http, cfg, "+1", "x"));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn twilio() -> Provider {
        Provider::Twilio {
            account_sid: format!("AC{}", "a".repeat(32)),
            auth_token: SecretString::from("tok-secret"),
            from: Some("+15005550006".into()),
            messaging_service_sid: None,
        }
    }

    #[test]
    fn debug_redacts_and_serde_round_trips() {
        let cfg = SmsConfig {
            provider: twilio(),
            base_url: None,
        };
        assert!(!format!("{cfg:?}").contains("tok-secret"));
        let json = serde_json::to_string(&cfg).unwrap();
        assert!(json.contains(r#""kind":"twilio""#), "{json}");
        let back: SmsConfig = serde_json::from_str(&json).unwrap();
        match back.provider {
            Provider::Twilio { auth_token, .. } => assert_eq!(auth_token.expose_secret(), "tok-secret"),
            _ => panic!("wrong kind"),
        }
        let typo = r#"{"provider":{"kind":"smsc","login":"a","pasword":"b"}}"#;
        assert!(serde_json::from_str::<SmsConfig>(typo).is_err());
    }

    #[test]
    fn validate_twilio_sender_rules() {
        let sid = format!("AC{}", "0".repeat(32));
        let mk = |from: Option<&str>, mg: Option<String>| SmsConfig {
            provider: Provider::Twilio {
                account_sid: sid.clone(),
                auth_token: SecretString::from("x"),
                from: from.map(str::to_owned),
                messaging_service_sid: mg,
            },
            base_url: None,
        };
        assert!(mk(Some("+15005550006"), None).validate().is_ok());
        assert!(mk(Some("Strongroom"), None).validate().is_ok());
        assert!(mk(None, Some(format!("MG{}", "f".repeat(32)))).validate().is_ok());
        assert!(mk(None, None).validate().is_err());
        assert!(
            mk(Some("+15005550006"), Some(format!("MG{}", "f".repeat(32))))
                .validate()
                .is_err()
        );
        assert!(mk(None, Some("MG123".into())).validate().is_err());
        assert!(mk(Some("Far too long sender"), None).validate().is_err());
        let mut bad_sid = mk(Some("+15005550006"), None);
        if let Provider::Twilio { account_sid, .. } = &mut bad_sid.provider {
            *account_sid = format!("AX{}", "0".repeat(32));
        }
        assert!(bad_sid.validate().is_err());
    }

    #[test]
    fn scrub_removes_secrets() {
        let e = SmsError::Provider {
            provider: "SMSC",
            status: 200,
            code: Some("2".into()),
            message: "bad psw hunter2".into(),
        };
        assert!(!scrub_error(e, &["hunter2"]).to_string().contains("hunter2"));
    }
}
