//! CSV (RFC 4180) for the exports officers open in a spreadsheet: the login history and the
//! audit trail.

/// One cell: always quoted, quotes doubled. A cell a spreadsheet would run as a formula (`=`,
/// `+`, `-`, `@`, tab or carriage return first) is prefixed with `'`: file names, e-mail
/// addresses and browsers are what someone typed or sent, and opening an export must not run
/// them.
pub fn cell(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        "'"
    } else {
        ""
    };
    format!("\"{defused}{}\"", value.replace('"', "\"\""))
}

/// One line of cells, with its CRLF.
pub fn line<S: AsRef<str>>(cells: &[S]) -> String {
    let mut out = cells.iter().map(|c| cell(c.as_ref())).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        for (value, want) in [
            ("plain", "\"plain\""),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("two\nlines", "\"two\nlines\""),
            ("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""),
            ("-1", "\"'-1\""),
            ("@SUM(A1)", "\"'@SUM(A1)\""),
            ("", "\"\""),
        ] {
            assert_eq!(super::cell(value), want, "{value:?}");
        }
        assert_eq!(super::line(&["a", "b"]), "\"a\",\"b\"\r\n");
    }
}
