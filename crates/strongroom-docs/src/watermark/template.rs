//! Watermark templates: `{user}`, `{email}`, `{date}`, `{ip}`, `{file}` and `{room}` replaced
//! by the viewer's and the document's details.
//!
//! Expansion is one pass over the template: what a placeholder is replaced with is never read
//! again, so a file named `{room}` stays `{room}` and a display name cannot smuggle in another
//! person's e-mail address. A brace that does not open a known placeholder is kept as written.

/// The details a template can name.
#[derive(Clone, Debug, Default)]
pub struct Identity<'a> {
    /// The viewer's display name.
    pub user: &'a str,
    pub email: &'a str,
    /// When the copy was made, as the server prints it.
    pub date: &'a str,
    /// The viewer's IP address (empty when unknown).
    pub ip: &'a str,
    /// The document's name.
    pub file: &'a str,
    /// The room's name.
    pub room: &'a str,
}

/// Fills in `template` (see the module documentation).
pub fn expand(template: &str, id: &Identity<'_>) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let found = [
            ("{user}", id.user),
            ("{email}", id.email),
            ("{date}", id.date),
            ("{ip}", id.ip),
            ("{file}", id.file),
            ("{room}", id.room),
        ]
        .into_iter()
        .find(|(name, _)| after.starts_with(name));
        match found {
            Some((name, value)) => {
                out.push_str(value);
                rest = &after[name.len()..];
            }
            None => {
                out.push('{');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who() -> Identity<'static> {
        Identity {
            user: "Ana {email}",
            email: "ana@example.org",
            date: "2026-12-03 08:00 UTC",
            ip: "192.0.2.7",
            file: "{room}",
            room: "Board {user}",
        }
    }

    #[test]
    fn expanded_once_and_values_are_never_read_again() {
        let cases: &[(&str, &str)] = &[
            ("{user} {date}", "Ana {email} 2026-12-03 08:00 UTC"),
            ("{file}", "{room}"),
            ("{room}/{file}", "Board {user}/{room}"),
            ("{ip}{email}", "192.0.2.7ana@example.org"),
            ("{{user}}", "{Ana {email}}"),
            ("{unknown} { user} {USER}", "{unknown} { user} {USER}"),
            ("{", "{"),
            ("}{", "}{"),
            ("{use", "{use"),
            ("Confidential", "Confidential"),
            ("", ""),
            ("é{user}ü", "éAna {email}ü"),
        ];
        for (template, want) in cases {
            assert_eq!(expand(template, &who()), *want, "template {template:?}");
        }
    }
}
