//! The SIEM export's message formats: JSON lines (one event per line, as `audit export`), and
//! RFC 5424 syslog messages, framed by octet counting (RFC 6587 §3.4.1, the framing RFC 5425
//! prescribes over TLS). Facility 13 (log audit); severity informational for a success,
//! warning for a failure or a refusal. The structured data `strongroom@32473` (32473 is the
//! example enterprise number of RFC 5612) carries the fields a collector indexes; the message
//! is the event's JSON line, after a byte-order mark as RFC 5424 §6.4 asks for UTF-8.

use strongroom_store::audit::AuditEntry;
use strongroom_store::audit::query::json_line;

/// The structured-data id of our parameters.
pub const SD_ID: &str = "strongroom@32473";

/// Printable US-ASCII (33 to 126) only, at most `max` characters, or `-` (RFC 5424 NILVALUE).
fn header_field(s: Option<&str>, max: usize) -> String {
    match s {
        Some(v) if !v.is_empty() && v.len() <= max && v.bytes().all(|b| (33..=126).contains(&b)) => v.to_string(),
        _ => "-".to_string(),
    }
}

/// The longest parameter value kept (in characters); a longer one is cut and ends in `…`.
const MAX_VALUE: usize = 256;

/// A structured-data parameter value: `"`, `\` and `]` escaped with a backslash (§6.3.3),
/// control characters (a line break would forge a line in a one-message-a-line file) as `?`,
/// at most [`MAX_VALUE`] characters.
fn param_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(4 * MAX_VALUE));
    for (i, c) in s.chars().enumerate() {
        if i == MAX_VALUE {
            out.push('…');
            break;
        }
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(if c.is_control() { '?' } else { c });
    }
    out
}

/// The RFC 3339 time of `ms` since the epoch, UTC, with milliseconds.
fn timestamp(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// One event as an RFC 5424 message (without framing).
pub fn syslog_message(e: &AuditEntry, hostname: &str) -> String {
    let severity = if e.outcome == "success" { 6 } else { 4 };
    let mut params = vec![
        ("seq", e.seq.to_string()),
        ("id", e.id.clone()),
        ("outcome", e.outcome.clone()),
        ("product", e.product.clone()),
    ];
    for (k, v) in [
        ("actor", &e.actor_id),
        ("actor_name", &e.actor_name),
        ("target", &e.target_id),
        ("ip", &e.ip),
        ("initiator", &e.initiator),
    ] {
        if let Some(v) = v {
            params.push((k, v.clone()));
        }
    }
    let sd: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", param_value(v)))
        .collect();
    let json = json_line(e);
    format!(
        "<{}>1 {} {} strongroom - {} [{SD_ID} {}] \u{feff}{}",
        13 * 8 + severity,
        timestamp(e.at),
        header_field(Some(hostname), 255),
        header_field(Some(&e.action), 32),
        sd.join(" "),
        json.trim_end_matches('\n')
    )
}

/// A message framed for TCP or TLS: its length in bytes, a space, the message.
pub fn octet_counted(message: &str) -> String {
    format!("{} {message}", message.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_follow_rfc5424() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(1_796_690_823_045), "2026-12-08T00:47:03.045Z");
        assert_eq!(header_field(Some("db-1.example"), 255), "db-1.example");
        assert_eq!(header_field(Some("two words"), 255), "-");
        assert_eq!(header_field(Some(""), 255), "-");
        assert_eq!(header_field(Some("é"), 255), "-");
        assert_eq!(param_value(r#"a "b" \c] d"#), r#"a \"b\" \\c\] d"#);
        assert_eq!(param_value("one\ntwo\r\0"), "one?two??");
        assert_eq!(param_value(&"x".repeat(300)), format!("{}…", "x".repeat(256)));
        assert_eq!(octet_counted("<110>1 é"), "9 <110>1 é");
    }
}
