//! Tiny command-line front end for benchmarks (bench/docs/pdf_encrypt.sh):
//! `pdf_crypt encrypt|decrypt IN OUT` with the user password in env `PW` and the owner
//! password `PW` followed by " (owner)".
//! Not the product CLI (that is `strongroom protect`), just a way to time the library.

use std::process::ExitCode;

use strongroom_docs::pdf::{self, PdfPermissions, PdfProtection};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(input), Some(output)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("usage: pdf_crypt encrypt|decrypt IN OUT   (password in env PW)");
        return ExitCode::from(2);
    };
    let password = std::env::var("PW").unwrap_or_default();
    let owner = format!("{password} (owner)");
    let result = std::fs::read(input)
        .map_err(strongroom_docs::Error::from)
        .and_then(|bytes| {
            let out = match mode.as_str() {
                "encrypt" => pdf::encrypt(
                    &bytes,
                    &PdfProtection {
                        user_password: &password,
                        owner_password: Some(&owner),
                        permissions: PdfPermissions::ALL,
                    },
                )?,
                "decrypt" => pdf::decrypt(&bytes, &password)?,
                _ => {
                    return Err(strongroom_docs::Error::InvalidOptions(
                        "mode must be encrypt or decrypt",
                    ));
                }
            };
            std::fs::write(output, out)?;
            Ok(())
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pdf_crypt: {e}");
            ExitCode::FAILURE
        }
    }
}
