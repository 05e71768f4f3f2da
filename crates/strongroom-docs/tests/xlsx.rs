//! xlsx workbook/sheet protection: our own checks, openpyxl (flags) and LibreOffice (the
//! password hash really unlocks) as oracles.

// Test code: helpers outside #[test] fns may unwrap and index (clippy.toml only covers #[test]).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::io::{Cursor, Read};
use std::path::Path;
use std::process::Command;

use base64::Engine;
use strongroom_docs::xlsx::{self, SheetActions, SheetProtection, WorkbookProtection};
use strongroom_docs::{Error, office};

fn protect_sheet(input: &[u8], sheet: &str, p: &SheetProtection<'_>) -> Result<Vec<u8>, Error> {
    let mut out = Cursor::new(Vec::new());
    xlsx::protect_sheet(Cursor::new(input), &mut out, sheet, p)?;
    Ok(out.into_inner())
}

fn protect_workbook(input: &[u8], p: &WorkbookProtection<'_>) -> Result<Vec<u8>, Error> {
    let mut out = Cursor::new(Vec::new());
    xlsx::protect_workbook(Cursor::new(input), &mut out, p)?;
    Ok(out.into_inner())
}

fn part(zip: &[u8], name: &str) -> String {
    let mut a = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    let mut s = String::new();
    a.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

fn attr<'a>(xml: &'a str, name: &str) -> &'a str {
    let key = format!(" {name}=\"");
    let start = xml.find(&key).unwrap() + key.len();
    &xml[start..start + xml[start..].find('"').unwrap()]
}

fn sample() -> Vec<u8> {
    common::xlsx("Budget 2026", &["alpha", "beta"])
}

fn allow() -> SheetActions {
    SheetActions {
        format_cells: true,
        sort: true,
        select_locked_cells: false,
        ..SheetActions::default()
    }
}

/// Sheet, range and workbook passwords follow the document password rules
/// (`strongroom_docs::password`): refused before anything is written, and the error names the
/// code point, never the password.
#[test]
fn protection_passwords_with_controls_or_bidi_are_refused() {
    let src = sample();
    for pw in [
        "tab\there",
        "nul\0here",
        "rlo\u{202e}gpj",
        "line\u{2028}sep",
        "cr\rlf\n",
    ] {
        let sheet = protect_sheet(
            &src,
            "Budget 2026",
            &SheetProtection {
                password: Some(pw),
                ..SheetProtection::default()
            },
        );
        let range = [xlsx::EditRange {
            name: "Inputs",
            sqref: "A1:B2",
            password: Some(pw),
        }];
        let ranged = protect_sheet(
            &src,
            "Budget 2026",
            &SheetProtection {
                edit_ranges: &range,
                ..SheetProtection::default()
            },
        );
        let book = protect_workbook(
            &src,
            &WorkbookProtection {
                password: Some(pw),
                lock_structure: true,
                lock_windows: false,
            },
        );
        for (what, r) in [("sheet", sheet), ("range", ranged), ("workbook", book)] {
            match r {
                Err(e @ Error::UnusablePassword { .. }) => {
                    let msg = e.to_string();
                    assert!(msg.contains("U+"), "{what} {pw:?}: {msg}");
                    assert!(!msg.contains(pw), "{what}: the message quotes the password: {msg}");
                }
                other => panic!("{what} {pw:?}: {other:?}"),
            }
        }
    }
    // Emoji and other scripts are fine.
    assert!(
        protect_workbook(
            &src,
            &WorkbookProtection {
                password: Some("emoji-🔒-пароль"),
                lock_structure: true,
                lock_windows: false,
            },
        )
        .is_ok()
    );
}

#[test]
fn sheet_protection_hash_and_untouched_parts() {
    let src = sample();
    let out = protect_sheet(
        &src,
        "Budget 2026",
        &SheetProtection {
            password: Some("sheet pw"),
            allow: allow(),
            ..SheetProtection::default()
        },
    )
    .unwrap();
    let sheet = part(&out, "xl/worksheets/sheet1.xml");
    assert!(sheet.contains("</sheetData><sheetProtection "), "{sheet}");
    assert_eq!(attr(&sheet, "algorithmName"), "SHA-512");
    assert_eq!(attr(&sheet, "spinCount"), "100000");
    assert_eq!(attr(&sheet, "sheet"), "1");
    assert_eq!(attr(&sheet, "formatCells"), "0");
    assert_eq!(attr(&sheet, "sort"), "0");
    assert_eq!(attr(&sheet, "selectLockedCells"), "1");
    assert_eq!(attr(&sheet, "deleteRows"), "1");
    let b64 = base64::engine::general_purpose::STANDARD;
    let salt = b64.decode(attr(&sheet, "saltValue")).unwrap();
    let hash = b64.decode(attr(&sheet, "hashValue")).unwrap();
    assert_eq!(hash, xlsx::hash_password("sheet pw", &salt, 100_000));

    // Every other part: same bytes, same compression (raw copy), same order.
    let mut a = zip::ZipArchive::new(Cursor::new(&src)).unwrap();
    let mut b = zip::ZipArchive::new(Cursor::new(&out)).unwrap();
    assert_eq!(a.len(), b.len());
    for i in 0..a.len() {
        let (fa, fb) = (a.by_index_raw(i).unwrap(), b.by_index_raw(i).unwrap());
        assert_eq!(fa.name().unwrap(), fb.name().unwrap());
        if fa.name().unwrap() != "xl/worksheets/sheet1.xml" {
            assert_eq!(fa.compressed_size(), fb.compressed_size());
            assert_eq!(fa.crc32(), fb.crc32());
        }
    }
    assert!(matches!(
        protect_sheet(&out, "Budget 2026", &SheetProtection::default()),
        Err(Error::AlreadyProtected)
    ));
}

#[test]
fn workbook_protection_in_schema_order() {
    let out = protect_workbook(
        &sample(),
        &WorkbookProtection {
            password: Some("wb pw"),
            lock_structure: true,
            lock_windows: false,
        },
    )
    .unwrap();
    let wb = part(&out, "xl/workbook.xml");
    assert!(
        wb.contains("<workbookProtection ") && wb.find("<workbookProtection").unwrap() < wb.find("<sheets>").unwrap()
    );
    assert_eq!(attr(&wb, "lockStructure"), "1");
    assert_eq!(attr(&wb, "workbookAlgorithmName"), "SHA-512");
    let b64 = base64::engine::general_purpose::STANDARD;
    let salt = b64.decode(attr(&wb, "workbookSaltValue")).unwrap();
    assert_eq!(
        b64.decode(attr(&wb, "workbookHashValue")).unwrap(),
        xlsx::hash_password("wb pw", &salt, 100_000)
    );
}

#[test]
fn refusals() {
    let p = SheetProtection::default();
    assert!(matches!(
        protect_sheet(&sample(), "Nope", &p),
        Err(Error::Malformed { .. })
    ));
    assert!(matches!(
        protect_sheet(b"not a zip", "x", &p),
        Err(Error::WrongFormat { .. })
    ));
    assert!(matches!(
        protect_sheet(&common::docx(&["x"]), "x", &p),
        Err(Error::WrongFormat { .. })
    ));
    let enc = office::encrypt_bytes(&sample(), "pw", &office::Options { spin_count: 10 }).unwrap();
    assert!(matches!(
        protect_sheet(&enc, "Budget 2026", &p),
        Err(Error::AlreadyProtected)
    ));
    let s = sample();
    assert!(protect_sheet(&s[..s.len() - 10], "Budget 2026", &p).is_err());
    let empty = SheetProtection {
        password: Some(""),
        ..p
    };
    assert!(matches!(
        protect_sheet(&s, "Budget 2026", &empty),
        Err(Error::InvalidPassword(_))
    ));
    let nothing = WorkbookProtection {
        password: None,
        lock_structure: false,
        lock_windows: false,
    };
    assert!(matches!(protect_workbook(&s, &nothing), Err(Error::InvalidOptions(_))));
}

#[test]
fn openpyxl_reads_every_flag() {
    if !common::oracle_available("openpyxl", Command::new("python3").args(["-c", "import openpyxl"])) {
        return;
    }
    let sheet = protect_sheet(
        &sample(),
        "Budget 2026",
        &SheetProtection {
            password: Some("pw"),
            allow: allow(),
            ..SheetProtection::default()
        },
    )
    .unwrap();
    let both = protect_workbook(
        &sheet,
        &WorkbookProtection {
            password: Some("wb"),
            lock_structure: true,
            lock_windows: true,
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let f = common::write_file(dir.path(), "p.xlsx", &both);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oracle/docs_openpyxl_protection.py");
    let (ok, out, err) = common::run(Command::new("python3").arg(script).arg(&f));
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let wb = &v["workbook"];
    assert_eq!(wb["lockStructure"], true);
    assert_eq!(wb["lockWindows"], true);
    assert_eq!(wb["algorithmName"], "SHA-512");
    assert_eq!(wb["spinCount"], 100_000);
    let s = &v["sheets"]["Budget 2026"];
    assert_eq!(s["cells"], serde_json::json!(["alpha", "beta"]));
    assert_eq!(s["sheet"], true);
    assert_eq!(s["algorithmName"], "SHA-512");
    assert_eq!(s["spinCount"], 100_000);
    // openpyxl uses the OOXML meaning: true = locked.
    for (flag, locked) in [
        ("formatCells", false),
        ("sort", false),
        ("selectLockedCells", true),
        ("selectUnlockedCells", false),
        ("formatColumns", true),
        ("insertRows", true),
        ("deleteColumns", true),
        ("autoFilter", true),
        ("pivotTables", true),
        ("objects", true),
        ("scenarios", true),
    ] {
        assert_eq!(s[flag], locked, "{flag}");
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let salt = b64.decode(s["saltValue"].as_str().unwrap()).unwrap();
    assert_eq!(
        b64.decode(s["hashValue"].as_str().unwrap()).unwrap(),
        xlsx::hash_password("pw", &salt, 100_000)
    );
}

#[test]
fn libreoffice_unlocks_only_with_the_right_password() {
    if !common::oracle_available(
        "LibreOffice + python3-uno",
        Command::new("/usr/bin/python3").args([
            "-c",
            "import uno, shutil, sys; sys.exit(0 if shutil.which('soffice') else 1)",
        ]),
    ) {
        return;
    }
    let sheet = protect_sheet(
        &sample(),
        "Budget 2026",
        &SheetProtection {
            password: Some("Sheet-Pw ü"),
            allow: allow(),
            ..SheetProtection::default()
        },
    )
    .unwrap();
    let both = protect_workbook(
        &sheet,
        &WorkbookProtection {
            password: Some("Sheet-Pw ü"),
            lock_structure: true,
            lock_windows: false,
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let f = common::write_file(dir.path(), "p.xlsx", &both);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oracle/docs_lo_sheet_protection.py");
    let (ok, out, err) = common::run(
        Command::new("/usr/bin/python3")
            .arg(script)
            .arg(&f)
            .args(["Sheet-Pw ü", "wrong"]),
    );
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // Only the sheet: LibreOffice 7.4's document-level XProtectable reports even an
    // openpyxl-written lockStructure workbook as unprotected, so it cannot judge ours; the
    // workbook hash is checked by openpyxl (flags) and hash_password above.
    let target = &v["sheets"]["Budget 2026"];
    assert_eq!(target["protected"], true, "{v}");
    assert_eq!(target["wrong_refused"], true, "{v}");
    assert_eq!(target["right_accepted"], true, "{v}");
}
