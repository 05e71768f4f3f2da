//! `detect_format`: never panics, depends only on the first KiB (callers pass exactly that
//! much), and each verdict is justified by the bytes it names.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strongroom_docs::{Format, detect_format};

const CFB_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

fuzz_target!(|data: &[u8]| {
    let f = detect_format(data);
    let window = data.get(..1024).unwrap_or(data);
    assert_eq!(
        detect_format(window),
        f,
        "the verdict changed with bytes past the first KiB"
    );
    if data.len() >= 1024 {
        let longer = [data, b"%PDF-PK\x03\x04"].concat();
        assert_eq!(detect_format(&longer), f, "appending bytes changed the verdict");
    }
    let has_pdf_header = window.windows(5).any(|w| w == b"%PDF-");
    match f {
        Format::CompoundFile => assert!(data.starts_with(&CFB_MAGIC)),
        Format::Zip => assert!(data.starts_with(b"PK\x03\x04")),
        Format::Odf => {
            assert!(data.starts_with(b"PK\x03\x04"));
            assert_eq!(data.get(30..38), Some(b"mimetype".as_slice()));
        }
        Format::Pdf => assert!(has_pdf_header && !data.starts_with(&CFB_MAGIC) && !data.starts_with(b"PK\x03\x04")),
        Format::Unknown => {
            assert!(!has_pdf_header && !data.starts_with(&CFB_MAGIC) && !data.starts_with(b"PK\x03\x04"))
        }
        _ => {}
    }
});
