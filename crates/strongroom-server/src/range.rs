//! `Range: bytes=…` request headers (RFC 9110 §14). We serve one range; a header with several
//! ranges or another unit is ignored (the whole body is sent), as the RFC allows.

use std::ops::Range;

/// What to send for a Range header against a body of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeAnswer {
    /// No usable Range header: send everything with 200.
    Full,
    /// Send these bytes with 206.
    Partial(Range<u64>),
    /// The range lies outside the body: 416.
    Unsatisfiable,
}

pub fn parse(header: Option<&str>, size: u64) -> RangeAnswer {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeAnswer::Full;
    };
    if spec.contains(',') {
        return RangeAnswer::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeAnswer::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        // Suffix: the last N bytes.
        let Ok(n) = b.parse::<u64>() else {
            return RangeAnswer::Full;
        };
        if n == 0 {
            return RangeAnswer::Unsatisfiable;
        }
        size.saturating_sub(n)..size
    } else {
        let Ok(start) = a.parse::<u64>() else {
            return RangeAnswer::Full;
        };
        let end = if b.is_empty() {
            size
        } else {
            let Ok(last) = b.parse::<u64>() else {
                return RangeAnswer::Full;
            };
            if last < start {
                return RangeAnswer::Full;
            }
            last.saturating_add(1).min(size)
        };
        start..end
    };
    if range.start >= size || range.is_empty() {
        return RangeAnswer::Unsatisfiable;
    }
    RangeAnswer::Partial(range)
}

#[cfg(test)]
mod tests {
    use super::RangeAnswer::*;
    use super::parse;

    #[test]
    fn ranges() {
        assert_eq!(parse(None, 10), Full);
        assert_eq!(parse(Some("bytes=0-0"), 10), Partial(0..1));
        assert_eq!(parse(Some("bytes=2-5"), 10), Partial(2..6));
        assert_eq!(parse(Some("bytes=5-"), 10), Partial(5..10));
        assert_eq!(parse(Some("bytes=-3"), 10), Partial(7..10));
        assert_eq!(parse(Some("bytes=-30"), 10), Partial(0..10));
        assert_eq!(parse(Some("bytes=8-100"), 10), Partial(8..10));
        assert_eq!(parse(Some("bytes=10-"), 10), Unsatisfiable);
        assert_eq!(parse(Some("bytes=0-"), 0), Unsatisfiable);
        assert_eq!(parse(Some("bytes=-0"), 10), Unsatisfiable);
        assert_eq!(parse(Some("bytes=0-1,4-5"), 10), Full);
        assert_eq!(parse(Some("items=0-1"), 10), Full);
        assert_eq!(parse(Some("bytes=5-2"), 10), Full);
        assert_eq!(parse(Some("bytes=x-2"), 10), Full);
    }
}
