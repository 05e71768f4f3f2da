//! Watermarks on PNG and JPEG images.
