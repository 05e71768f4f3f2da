//! Tiny command-line front end for benchmarks (bench/docs/xlsx_large.sh):
//! `xlsx_sheet protect|unprotect IN OUT SHEET` with the password in env `PW`.
//! Not the product CLI (that is `strongroom sheet protect`), just a way to time the library.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::process::ExitCode;

use strongroom_docs::xlsx::{self, SheetProtection};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(input), Some(output), Some(sheet)) = (args.get(1), args.get(2), args.get(3), args.get(4))
    else {
        eprintln!("usage: xlsx_sheet protect|unprotect IN OUT SHEET   (password in env PW)");
        return ExitCode::from(2);
    };
    let password = std::env::var("PW").unwrap_or_default();
    let result = File::open(input).map_err(strongroom_docs::Error::from).and_then(|i| {
        let o = BufWriter::new(File::create(output)?);
        let i = BufReader::new(i);
        match mode.as_str() {
            "protect" => xlsx::protect_sheet(
                i,
                o,
                sheet,
                &SheetProtection {
                    password: Some(&password),
                    ..SheetProtection::default()
                },
            ),
            "unprotect" => xlsx::unprotect_sheet(i, o, sheet, Some(&password)),
            _ => Err(strongroom_docs::Error::InvalidOptions(
                "mode must be protect or unprotect",
            )),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xlsx_sheet: {e}");
            ExitCode::FAILURE
        }
    }
}
