//! The typeface built into the binary for watermark text: DejaVu Sans (Bitstream Vera
//! licence, `fonts/DejaVuSans-LICENSE.txt`). It covers Latin, Greek, Cyrillic, Armenian,
//! Georgian, Hebrew and Arabic, so a watermark in those scripts needs nothing installed on
//! the server, and PDF watermarks embed (a subset of) it so every reader draws the same text.

/// The TrueType file.
pub(crate) const DEJAVU_SANS: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
