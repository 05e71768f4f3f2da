//! Reading providers' answers, shared by the three clients: bounded reads, no redirects,
//! errors without URLs, and provider text scrubbed of credentials.

use crate::SmsError;

/// Biggest answer read from a provider; theirs are a few hundred bytes.
const MAX_ANSWER: usize = 64 * 1024;

/// Posts a prepared request and reads the answer (status, body), never following redirects.
pub(crate) async fn exchange(
    provider: &'static str,
    request: reqwest::RequestBuilder,
) -> Result<(u16, Vec<u8>), SmsError> {
    let mut response = request.send().await.map_err(|e| unreachable(provider, &e))?;
    let status = response.status();
    if status.is_redirection() {
        return Err(SmsError::Unreachable(format!(
            "{provider} answered with a redirect (HTTP {}); check the base URL",
            status.as_u16()
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(provider, &e))? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(SmsError::Unreachable(format!(
                "{provider} answered HTTP {} with more than {MAX_ANSWER} bytes",
                status.as_u16()
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status.as_u16(), body))
}

pub(crate) fn unreachable(provider: &'static str, err: &reqwest::Error) -> SmsError {
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    SmsError::Unreachable(format!("{provider}: {what}: {}", chain(err)))
}

/// An error and its sources, one line. reqwest errors lose their URL first: the URL is ours,
/// and we keep URLs out of messages on principle.
pub(crate) fn chain(err: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    let head = err.to_string();
    let head = match err.url() {
        Some(url) => head
            .replace(&format!(" for url ({url})"), "")
            .replace(url.as_str(), "…"),
        None => head,
    };
    text.push_str(&head);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A provider's message text made safe to show: control characters dropped, length capped.
/// (Credentials are scrubbed from every error at the end of [`crate::send`].)
pub(crate) fn clean_message(message: &str) -> String {
    let mut out: String = message.chars().filter(|c| !c.is_control()).take(500).collect();
    if out.trim().is_empty() {
        out = "no reason given".to_owned();
    }
    out
}

pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(s, "[redacted]");
    }
    out
}

pub(crate) fn scrub_error(err: SmsError, secrets: &[&str]) -> SmsError {
    match err {
        SmsError::Invalid(m) => SmsError::Invalid(scrub(&m, secrets)),
        SmsError::Unreachable(m) => SmsError::Unreachable(scrub(&m, secrets)),
        SmsError::Provider {
            provider,
            status,
            code,
            message,
        } => SmsError::Provider {
            provider,
            status,
            code: code.map(|c| scrub(&c, secrets)),
            message: scrub(&message, secrets),
        },
    }
}

/// A JSON value as a code string: numbers and strings, nothing else.
pub(crate) fn code_of(v: Option<&serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) if !s.is_empty() => Some(clean_message(s)),
        _ => None,
    }
}

pub(crate) fn str_of(v: Option<&serde_json::Value>) -> Option<&str> {
    v?.as_str().filter(|s| !s.trim().is_empty())
}
