//! What a person sees of a session's or a sign-in's device: a browser and a platform named
//! from the `User-Agent` header. Only a label for people to recognise their own devices by
//! (a client can send any header); never a security decision.

/// The browser and platform a `User-Agent` names (`Other` for what it does not know).
pub fn describe(user_agent: Option<&str>) -> (&'static str, &'static str) {
    let ua = user_agent.unwrap_or("");
    // Order matters: Edge and Opera also say Chrome, Chrome also says Safari, Android also
    // says Linux, iOS also says Mac OS X.
    const BROWSERS: &[(&str, &str)] = &[
        ("Edg/", "Edge"),
        ("EdgA/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
        ("python-requests/", "Python"),
        ("Python-urllib/", "Python"),
        ("Wget/", "Wget"),
    ];
    const PLATFORMS: &[(&str, &str)] = &[
        ("Windows", "Windows"),
        ("iPhone", "iOS"),
        ("iPad", "iOS"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Macintosh", "macOS"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
        ("FreeBSD", "FreeBSD"),
    ];
    let find = |table: &[(&str, &'static str)]| {
        table
            .iter()
            .find(|(needle, _)| ua.contains(needle))
            .map_or("Other", |(_, name)| *name)
    };
    (find(BROWSERS), find(PLATFORMS))
}

/// Whether a `User-Agent` is a phone's (or a tablet's): what browsers put there for them.
pub fn is_mobile(user_agent: Option<&str>) -> bool {
    let ua = user_agent.unwrap_or("");
    ["Mobile", "iPhone", "iPad", "Android"].iter().any(|m| ua.contains(m))
}

#[cfg(test)]
mod tests {
    #[test]
    fn phones_are_told_apart() {
        for (ua, mobile) in [
            (
                "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0",
                true,
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15",
                true,
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
                false,
            ),
            ("curl/8.5.0", false),
        ] {
            assert_eq!(super::is_mobile(Some(ua)), mobile, "{ua}");
        }
        assert!(!super::is_mobile(None));
    }

    #[test]
    fn names_common_browsers_and_platforms() {
        #[rustfmt::skip]
        let cases = [
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0", "Edge", "Windows"),
            ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox", "Linux"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15", "Safari", "macOS"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", "Safari", "iOS"),
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.43 Mobile Safari/537.36", "Chrome", "Android"),
            ("curl/8.5.0", "curl", "Other"),
            ("", "Other", "Other"),
        ];
        for (ua, browser, platform) in cases {
            assert_eq!(super::describe(Some(ua)), (browser, platform), "{ua}");
        }
        assert_eq!(super::describe(None), ("Other", "Other"));
    }
}
