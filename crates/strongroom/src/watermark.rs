//! `strongroom watermark`: stamp a document's pages with a text or an image on the command
//! line, a thin shell over `strongroom-docs` with the same rules as [`crate::protect`] (the
//! format from the content, nothing in OUT unless the command succeeded, OUT written by
//! [`crate::output`]).

use std::io::Read;
use std::path::PathBuf;

use clap::Args;
use strongroom_docs::Error as DocError;

use crate::output::{self, Existing};
use crate::protect::{check_paths, describe, open, quiet, read_all};

/// `strongroom watermark`.
#[derive(Args)]
pub struct WatermarkArgs {
    /// The document to stamp: a PDF, a PNG or JPEG image, or a Word (.docx) document
    /// (recognised by content).
    file: PathBuf,
    /// The text; `{file}` becomes the input's file name and `{date}` today's date (UTC,
    /// YYYY-MM-DD). Any left-to-right script of the built-in font (DejaVu Sans): Latin, Greek,
    /// Cyrillic, Armenian, Georgian. At least one of --text and --image is needed.
    #[arg(long, value_name = "TEMPLATE", required_unless_present = "image")]
    text: Option<String>,
    /// An image (PNG, with transparency, or JPEG) to stamp on every page, under the text if
    /// both are given.
    #[arg(long, value_name = "PNG")]
    image: Option<PathBuf>,
    /// Size of the image (0.01–1): its longer side becomes this fraction of the shorter side
    /// of the visible page (or picture), aspect ratio kept, so it always fits.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.5, requires = "image")]
    image_scale: f32,
    /// Font size in points.
    #[arg(long, default_value_t = 48.0)]
    font_size: f32,
    /// Colour of the text as RRGGBB hex.
    #[arg(long, default_value = "808080", value_parser = parse_colour)]
    color: [f32; 3],
    /// Opacity from 0 (invisible) to 1 (opaque), of the text and of the image.
    #[arg(long, default_value_t = 0.3)]
    opacity: f32,
    /// Counter-clockwise angle of the text on the page, in degrees (an image stays upright).
    #[arg(long, default_value_t = 45.0, allow_negative_numbers = true)]
    rotation: f32,
    /// Repeat the text and the image over the whole page.
    #[arg(long)]
    tiled: bool,
    /// Where to write the stamped document (must not be the input file).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    out: PathBuf,
}

fn parse_colour(s: &str) -> Result<[f32; 3], String> {
    let hex = s.trim_start_matches('#');
    let bad = || format!("{s:?} is not a colour: use RRGGBB hex, e.g. 808080");
    if hex.len() != 6 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut rgb = [0f32; 3];
    for (i, slot) in rgb.iter_mut().enumerate() {
        let byte = hex.get(2 * i..2 * i + 2).ok_or_else(bad)?;
        *slot = f32::from(u8::from_str_radix(byte, 16).map_err(|_| bad())?) / 255.0;
    }
    Ok(rgb)
}

/// Run `strongroom watermark`.
pub fn watermark(args: &WatermarkArgs) -> Result<(), String> {
    quiet(|| watermark_inner(args))
}

fn watermark_inner(args: &WatermarkArgs) -> Result<(), String> {
    use strongroom_docs::watermark::{self, ImageWatermark, PdfStamp, TextWatermark};
    check_paths(&args.file, &args.out)?;
    if let Some(image) = &args.image {
        // The image is an input too: never replaced by the output.
        check_paths(image, &args.out)?;
    }
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = args
        .text
        .as_deref()
        .map(|t| expand_template(t, &name, &today(&strongroom_core::SystemClock)));
    // PDF pages and pictures are drawn with the built-in font; Word draws with its own fonts.
    let mut head = Vec::with_capacity(1024);
    open(&args.file)?
        .take(1024)
        .read_to_end(&mut head)
        .map_err(|e| format!("{}: cannot read: {e}", args.file.display()))?;
    let check_font = watermark::draws_text_itself(&head);
    if let Some((c, why)) = text
        .as_deref()
        .filter(|_| check_font)
        .and_then(watermark::first_unsupported)
    {
        return Err(format!(
            "the watermark text cannot be drawn: {c:?} (U+{:04X}) {why}",
            u32::from(c)
        ));
    }
    let image = match &args.image {
        Some(path) => {
            let len = std::fs::metadata(path)
                .map_err(|e| format!("{}: cannot open: {e}", path.display()))?
                .len();
            if len > watermark::MAX_IMAGE_BYTES as u64 {
                return Err(format!("{}: the watermark image is larger than 20 MiB", path.display()));
            }
            Some(read_all(path)?)
        }
        None => None,
    };
    let input = read_all(&args.file)?;
    let stamp = PdfStamp {
        text: text.as_deref().map(|text| TextWatermark {
            text,
            font_size: args.font_size,
            rgb: args.color,
            opacity: args.opacity,
            rotation_deg: args.rotation,
            tiled: args.tiled,
        }),
        image: image.as_deref().map(|png| ImageWatermark {
            png,
            scale: args.image_scale,
            opacity: args.opacity,
            tiled: args.tiled,
        }),
    };
    let stamped = watermark::stamp(&input, &stamp);
    let out = stamped.map_err(|e| match e {
        DocError::AlreadyProtected => format!(
            "{}: the document is password-protected; stamp the watermark before protecting it",
            args.file.display()
        ),
        // Problems with the image are the image file's, not the PDF's.
        DocError::Malformed {
            what: "watermark image" | "watermark picture",
            detail,
        } => format!(
            "{}: damaged or unreadable image ({detail})",
            args.image.as_deref().unwrap_or(&args.file).display()
        ),
        DocError::InvalidOptions(msg) if msg.contains("image") => match &args.image {
            Some(path) => format!("{}: {msg}", path.display()),
            None => describe(&args.file, DocError::InvalidOptions(msg)),
        },
        e => describe(&args.file, e),
    })?;
    Ok(output::write_bytes(&args.out, Existing::Replace, &out)?)
}

/// `{file}` and `{date}` substituted; other text (and unknown `{…}`) kept as written.
fn expand_template(template: &str, file: &str, date: &str) -> String {
    template.replace("{file}", file).replace("{date}", date)
}

/// Today's date (UTC) as YYYY-MM-DD, from the project's one clock.
fn today(clock: &dyn strongroom_core::Clock) -> String {
    strongroom_core::clock::utc_date(clock.now_ms())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(
            today(&strongroom_core::clock::ManualClock::new(951_782_400_000)),
            "2000-02-29"
        );
    }

    #[test]
    fn templates_and_colours() {
        assert_eq!(
            expand_template("{file} · {date} {x}", "a.pdf", "2026-01-02"),
            "a.pdf · 2026-01-02 {x}"
        );
        assert_eq!(parse_colour("#ff0080").unwrap(), [1.0, 0.0, 128.0 / 255.0]);
        assert!(parse_colour("red").is_err());
        assert!(parse_colour("ééé").is_err());
    }
}
