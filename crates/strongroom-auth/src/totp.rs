//! Authenticator-app codes (TOTP, RFC 6238) as every app reads them: HMAC-SHA-1, 6 digits,
//! 30-second steps, a 160-bit seed. The code of the current step and of one step either side
//! is accepted (clocks of phones drift); which step matched is given back so the caller can
//! refuse a second use of the same step or an earlier one (replay), which this module alone
//! cannot know.

use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};
use zeroize::Zeroizing;

/// Seconds per step.
pub const STEP_SECONDS: u64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// Bytes of a fresh seed (160 bits, as RFC 4226 recommends).
pub const SEED_BYTES: usize = 20;

/// A fresh random seed.
pub fn generate_seed() -> Zeroizing<Vec<u8>> {
    let mut seed = Zeroizing::new(vec![0u8; SEED_BYTES]);
    rand::fill(seed.as_mut_slice());
    seed
}

fn totp(seed: &[u8], issuer: &str, account: &str) -> Result<TOTP, String> {
    // The otpauth label may hold no ':' in the issuer or account (it separates them).
    let clean = |s: &str| s.replace(':', " ");
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP_SECONDS,
        seed.to_vec(),
        Some(clean(issuer)),
        clean(account),
    )
    .map_err(|e| format!("TOTP parameters refused: {e}"))
}

/// The `otpauth://totp/…` URI an app enrols from (its QR code shows the same text).
pub fn uri(seed: &[u8], issuer: &str, account: &str) -> Result<String, String> {
    Ok(totp(seed, issuer, account)?.get_url())
}

/// The seed as base32 (no padding), for typing it into an app by hand.
pub fn seed_base32(seed: &[u8]) -> String {
    base32_encode(seed)
}

fn base32_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The step a moment (ms since the epoch) falls in.
pub fn step_of(now_ms: i64) -> u64 {
    u64::try_from(now_ms.max(0)).unwrap_or(0) / 1000 / STEP_SECONDS
}

/// The code of one step.
pub fn code_at(seed: &[u8], step: u64) -> Result<String, String> {
    Ok(totp(seed, "x", "x")?.generate(step * STEP_SECONDS))
}

/// The step whose code `code` is, among the current one and one either side; none: no match.
/// Every candidate is compared (in constant time), so the answer takes as long whichever
/// matched.
pub fn matching_step(seed: &[u8], code: &str, now_ms: i64) -> Result<Option<u64>, String> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let now = step_of(now_ms);
    let mut found = None;
    for step in [now.saturating_sub(1), now, now + 1] {
        let expected = code_at(seed, step)?;
        let same: bool = expected.as_bytes().ct_eq(code.as_bytes()).into();
        if same && found.is_none() {
            found = Some(step);
        }
    }
    Ok(found)
}

/// The QR code of `text` as a PNG image (black on white, a quiet zone around it).
pub fn qr_png(text: &str) -> Result<Vec<u8>, String> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| format!("QR code: {e}"))?;
    let img = code.render::<image::Luma<u8>>().min_dimensions(240, 240).build();
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| format!("QR code PNG: {e}"))?;
    Ok(out.into_inner())
}

/// The QR code of `text` as an SVG document.
pub fn qr_svg(text: &str) -> Result<String, String> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| format!("QR code: {e}"))?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(240, 240)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 seed "12345678901234567890"; our codes are the last six
    /// digits of its eight-digit ones.
    #[test]
    fn rfc6238_vectors() {
        let seed = b"12345678901234567890";
        #[rustfmt::skip]
        let table: [(u64, &str); 6] = [
            (59, "287082"), (1_111_111_109, "081804"), (1_111_111_111, "050471"),
            (1_234_567_890, "005924"), (2_000_000_000, "279037"), (20_000_000_000, "353130"),
        ];
        for (t, code) in table {
            assert_eq!(code_at(seed, t / STEP_SECONDS).unwrap(), code, "t = {t}");
        }
    }

    #[test]
    fn one_step_of_skew_either_side_and_no_more() {
        let seed = b"12345678901234567890";
        let now_ms = 1_111_111_111_000;
        let now = step_of(now_ms);
        for (offset, accepted) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
            let step = now.checked_add_signed(offset).unwrap();
            let code = code_at(seed, step).unwrap();
            let got = matching_step(seed, &code, now_ms).unwrap();
            assert_eq!(got, accepted.then_some(step), "offset {offset}");
        }
        assert_eq!(matching_step(seed, "12345", now_ms).unwrap(), None);
        assert_eq!(matching_step(seed, "", now_ms).unwrap(), None);
    }

    #[test]
    fn base32_and_uri() {
        assert_eq!(seed_base32(b"12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(seed_base32(b"f"), "MY");
        let uri = uri(b"12345678901234567890", "Strongroom", "ann@example.org").unwrap();
        assert!(uri.starts_with("otpauth://totp/Strongroom:ann%40example.org?"), "{uri}");
        assert!(uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), "{uri}");
        assert!(uri.contains("issuer=Strongroom"), "{uri}");
    }
}
