//! Tiny command-line front end for benchmarks (bench/docs/office_agile.sh):
//! `office_crypt encrypt|decrypt IN OUT` with the password in env `PW`.
//! Not the product CLI (that is `strongroom protect`), just a way to time the library.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::process::ExitCode;

use strongroom_docs::office::{self, Options};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(input), Some(output)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("usage: office_crypt encrypt|decrypt IN OUT   (password in env PW)");
        return ExitCode::from(2);
    };
    let password = std::env::var("PW").unwrap_or_default();
    let result = File::open(input).map_err(strongroom_docs::Error::from).and_then(|i| {
        let o = BufWriter::new(File::create(output)?);
        match mode.as_str() {
            "encrypt" => office::encrypt(BufReader::new(i), o, &password, &Options::default()),
            "decrypt" => office::decrypt(BufReader::new(i), o, &password),
            _ => Err(strongroom_docs::Error::InvalidOptions(
                "mode must be encrypt or decrypt",
            )),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("office_crypt: {e}");
            ExitCode::FAILURE
        }
    }
}
