//! PDF text watermarks (`watermark::pdf`).
//!
//! Properties: a watermarked result is a PDF that reads back, with as many pages as the
//! input; an encrypted input is refused, not stamped over its ciphertext.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strongroom_docs::watermark::{self, TextWatermark};
use strongroom_docs::{Format, detect_format, pdf};

fn pages(bytes: &[u8]) -> Option<usize> {
    lopdf::Document::load_mem(bytes).ok().map(|d| d.get_pages().len())
}

fuzz_target!(|data: &[u8]| {
    // Options from the input's length: every angle class and both layouts get reached.
    let n = data.len();
    let wm = TextWatermark {
        text: if n % 3 == 0 {
            "CONFIDENTIAL — Ünïcödé café"
        } else {
            "CONFIDENTIAL"
        },
        font_size: [48.0, 7.5, 400.0][n % 3],
        rotation_deg: (n % 360) as f32,
        tiled: n % 4 == 0,
        ..TextWatermark::default()
    };
    let Ok(out) = watermark::pdf(data, &wm) else { return };
    assert_eq!(detect_format(&out), Format::Pdf);
    assert!(
        pdf::encryption_info(&out).is_ok(),
        "watermark output does not read back"
    );
    let encrypted = pdf::encryption_info(data);
    assert!(!matches!(encrypted, Ok(Some(_))), "stamped an encrypted PDF");
    if let Some(before) = pages(data) {
        assert_eq!(pages(&out), Some(before), "watermarking changed the page count");
    }
});
