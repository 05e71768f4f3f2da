//! Phone numbers: E.164 as typed by people, and how much of one to show.

use crate::SmsError;

/// Characters people type between digits, dropped silently.
fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}' | '\u{202f}')
}

/// E.164 normalisation: `+` then 8 to 15 digits, the first not `0`. Spaces (also no-break
/// spaces), dashes, dots and parentheses are dropped, and so is the national trunk `(0)` that
/// people write after the country code (`+44 (0)20 7946 0958`). Anything else is refused, with a
/// message that names the problem but does not repeat the number.
pub fn normalize_phone(s: &str) -> Result<String, SmsError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(SmsError::Invalid("enter a phone number".into()));
    }
    let Some(rest) = s.strip_prefix('+') else {
        return Err(SmsError::Invalid(
            "a phone number must start with + and the country code, e.g. +1 415 555 2671".into(),
        ));
    };
    let rest = rest.replace("(0)", "");
    let mut digits = String::with_capacity(15);
    for c in rest.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if c == '+' {
            return Err(SmsError::Invalid("a phone number has only one +, at the start".into()));
        } else if !is_separator(c) {
            let shown = if c.is_control() {
                "a control character".to_owned()
            } else {
                format!("“{c}”")
            };
            return Err(SmsError::Invalid(format!(
                "{shown} is not allowed in a phone number; use digits, spaces, dashes, dots or parentheses"
            )));
        }
    }
    if digits.starts_with('0') {
        return Err(SmsError::Invalid(
            "the country code cannot start with 0: write + and the country code instead of 00 or a trunk 0".into(),
        ));
    }
    match digits.len() {
        0 => Err(SmsError::Invalid("the phone number has no digits".into())),
        1..8 => Err(SmsError::Invalid(
            "the phone number is too short: international numbers have 8 to 15 digits after the +".into(),
        )),
        8..=15 => Ok(format!("+{digits}")),
        _ => Err(SmsError::Invalid(
            "the phone number is too long: international numbers have at most 15 digits after the +".into(),
        )),
    }
}

/// What to show of a number, e.g. `+44•••••••123`: the country code and the last 3 digits.
/// Anything that is not a valid E.164 number shows as `•••`.
pub fn mask_phone(e164: &str) -> String {
    let Ok(n) = normalize_phone(e164) else {
        return "•••".to_owned();
    };
    let digits = &n[1..];
    let cc = country_code_len(digits);
    let hidden = digits.len() - cc - 3;
    format!(
        "+{}{}{}",
        &digits[..cc],
        "•".repeat(hidden),
        &digits[digits.len() - 3..]
    )
}

/// Length of the ITU-T E.164 country code a number starts with: 1 for zones 1 and 7, 2 for the
/// two-digit codes, 3 for the rest.
fn country_code_len(digits: &str) -> usize {
    const TWO: &[&str] = &[
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48", "49",
        "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81", "82", "84",
        "86", "90", "91", "92", "93", "94", "95", "98",
    ];
    if digits.starts_with('1') || digits.starts_with('7') {
        1
    } else if TWO.iter().any(|p| digits.starts_with(p)) {
        2
    } else {
        3
    }
}
