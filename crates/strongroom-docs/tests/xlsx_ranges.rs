//! Allow-edit ranges, cell locking / formula hiding by range, and removing protection with the
//! password: our own checks, with openpyxl (cell protection, sheet/workbook protection) and
//! Python's ElementTree (protectedRanges, which openpyxl 3.1 does not read) as oracles.

// Test code: helpers outside #[test] fns may unwrap and index (clippy.toml only covers #[test]).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::io::{Cursor, Read};
use std::path::Path;
use std::process::Command;

use base64::Engine;
use strongroom_docs::Error;
use strongroom_docs::xlsx::{self, EditRange, SheetProtection, WorkbookProtection};

const SHEET: &str = "Plan";
const SHEET_PART: &str = "xl/worksheets/sheet1.xml";

/// A workbook as Excel saves it, with a styles part (xf 1 wraps text) and a sheet holding
/// values, formulas and merged cells (so `protectedRanges` must land before `mergeCells`).
fn workbook() -> Vec<u8> {
    let ct = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>"#;
    let rels = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
    let wb = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><bookViews><workbookView/></bookViews><sheets><sheet name="Plan" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
    let wb_rels = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#;
    let styles = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1"><alignment wrapText="1"/></xf></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"#;
    let ws = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1"><v>1</v></c><c r="B1"><v>2</v></c><c r="C1" s="1"><f>A1+B1</f><v>3</v></c></row><row r="2"><c r="A2" s="1"><v>4</v></c><c r="C2"><f>A2*2</f><v>8</v></c></row></sheetData><mergeCells count="1"><mergeCell ref="D1:E1"/></mergeCells><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>"#;
    common::zip_parts(
        &[
            ("[Content_Types].xml", ct.as_bytes()),
            ("_rels/.rels", rels.as_bytes()),
            ("xl/workbook.xml", wb.as_bytes()),
            ("xl/_rels/workbook.xml.rels", wb_rels.as_bytes()),
            ("xl/styles.xml", styles.as_bytes()),
            ("xl/worksheets/sheet1.xml", ws.as_bytes()),
        ],
        true,
    )
}

fn protect_sheet(input: &[u8], p: &SheetProtection<'_>) -> Result<Vec<u8>, Error> {
    let mut out = Cursor::new(Vec::new());
    xlsx::protect_sheet(Cursor::new(input), &mut out, SHEET, p)?;
    Ok(out.into_inner())
}

fn unprotect_sheet(input: &[u8], pw: Option<&str>) -> Result<Vec<u8>, Error> {
    let mut out = Cursor::new(Vec::new());
    xlsx::unprotect_sheet(Cursor::new(input), &mut out, SHEET, pw)?;
    Ok(out.into_inner())
}

fn unprotect_workbook(input: &[u8], pw: Option<&str>) -> Result<Vec<u8>, Error> {
    let mut out = Cursor::new(Vec::new());
    xlsx::unprotect_workbook(Cursor::new(input), &mut out, pw)?;
    Ok(out.into_inner())
}

fn protect_workbook(input: &[u8], pw: Option<&str>) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let p = WorkbookProtection {
        password: pw,
        lock_structure: true,
        lock_windows: false,
    };
    xlsx::protect_workbook(Cursor::new(input), &mut out, &p).unwrap();
    out.into_inner()
}

fn part(zip: &[u8], name: &str) -> String {
    let mut a = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    let mut s = String::new();
    a.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

const RANGES: &[EditRange<'static>] = &[
    EditRange {
        name: "Inputs & notes",
        sqref: "a1:b2",
        password: None,
    },
    EditRange {
        name: "Budget",
        sqref: "C5 $D$7:E9",
        password: Some("range pw"),
    },
];

fn full() -> SheetProtection<'static> {
    SheetProtection {
        password: Some("sheet pw"),
        edit_ranges: RANGES,
        unlock: &["A1:B1"],
        hide_formulas: &["C1:C2", "B1"],
        ..SheetProtection::default()
    }
}

#[test]
fn edit_ranges_in_schema_order_with_their_own_password() {
    let out = protect_sheet(&workbook(), &full()).unwrap();
    let sheet = part(&out, SHEET_PART);
    let (prot, ranges, merge) = (
        sheet.find("<sheetProtection ").unwrap(),
        sheet.find("<protectedRanges>").unwrap(),
        sheet.find("<mergeCells").unwrap(),
    );
    assert!(
        sheet.find("</sheetData>").unwrap() < prot && prot < ranges && ranges < merge,
        "{sheet}"
    );
    assert!(
        sheet.contains("sqref=\"A1:B2\" name=\"Inputs &amp; notes\"/>"),
        "{sheet}"
    );
    let budget = &sheet[sheet.find("<protectedRange algorithmName").unwrap()..];
    assert!(budget.contains("sqref=\"C5 D7:E9\" name=\"Budget\""), "{sheet}");
    let attr = |s: &str, name: &str| {
        let key = format!(" {name}=\"");
        let i = s.find(&key).unwrap() + key.len();
        s[i..i + s[i..].find('"').unwrap()].to_owned()
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let salt = b64.decode(attr(budget, "saltValue")).unwrap();
    assert_eq!(
        b64.decode(attr(budget, "hashValue")).unwrap(),
        xlsx::hash_password("range pw", &salt, 100_000)
    );
}

#[test]
fn cells_are_unlocked_and_formulas_hidden_through_new_styles() {
    let src = workbook();
    let out = protect_sheet(&src, &full()).unwrap();
    let sheet = part(&out, SHEET_PART);
    let styles = part(&out, "xl/styles.xml");
    // A1 (xf 0) unlocked; B1 (xf 0) unlocked + hidden; C1 and C2 hidden (xf 1 and xf 0).
    assert!(sheet.contains("<c r=\"A1\" s=\"2\">"), "{sheet}");
    assert!(sheet.contains("<c r=\"B1\" s=\"3\">"), "{sheet}");
    assert!(sheet.contains("<c r=\"C1\" s=\"4\">"), "{sheet}");
    assert!(sheet.contains("<c r=\"A2\" s=\"1\">"), "{sheet}");
    assert!(sheet.contains("<c r=\"C2\" s=\"5\">"), "{sheet}");
    assert!(styles.contains("<cellXfs count=\"6\">"), "{styles}");
    assert!(styles.contains(
        "<xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyAlignment=\"1\" applyProtection=\"1\"><alignment wrapText=\"1\"/><protection locked=\"1\" hidden=\"1\"/></xf>"
    ));
    // Every other part is copied raw.
    let mut a = zip::ZipArchive::new(Cursor::new(&src)).unwrap();
    let mut b = zip::ZipArchive::new(Cursor::new(&out)).unwrap();
    assert_eq!(a.len(), b.len());
    for i in 0..a.len() {
        let (fa, fb) = (a.by_index_raw(i).unwrap(), b.by_index_raw(i).unwrap());
        assert_eq!(fa.name().unwrap(), fb.name().unwrap());
        if ![SHEET_PART, "xl/styles.xml"].contains(&fa.name().unwrap().as_ref()) {
            assert_eq!(fa.crc32(), fb.crc32());
            assert_eq!(fa.compressed_size(), fb.compressed_size());
        }
    }
}

#[test]
fn bad_ranges_and_names_are_refused() {
    let src = workbook();
    for bad in ["", "A0", "A1:", "XFE1", "1A", "A1:B2:C3"] {
        let p = SheetProtection {
            unlock: &[bad],
            ..SheetProtection::default()
        };
        assert!(
            matches!(protect_sheet(&src, &p), Err(Error::InvalidRange(_))),
            "{bad:?}"
        );
    }
    let twice = [
        EditRange {
            name: "A",
            sqref: "A1",
            password: None,
        },
        EditRange {
            name: "a",
            sqref: "B1",
            password: None,
        },
    ];
    let p = SheetProtection {
        edit_ranges: &twice,
        ..SheetProtection::default()
    };
    assert!(matches!(protect_sheet(&src, &p), Err(Error::InvalidRange(_))));
    let unnamed = [EditRange {
        name: " ",
        sqref: "A1",
        password: None,
    }];
    let p = SheetProtection {
        edit_ranges: &unnamed,
        ..SheetProtection::default()
    };
    assert!(matches!(protect_sheet(&src, &p), Err(Error::InvalidRange(_))));
    // Cell protection needs the styles part; the minimal fixture has none.
    let p = SheetProtection {
        unlock: &["A1"],
        ..SheetProtection::default()
    };
    let mut out = Cursor::new(Vec::new());
    let e = xlsx::protect_sheet(Cursor::new(common::xlsx("S", &["a"])), &mut out, "S", &p).unwrap_err();
    assert!(e.to_string().contains("no styles part"), "{e}");
}

#[test]
fn unprotect_checks_the_password() {
    let src = workbook();
    let protected = protect_workbook(&protect_sheet(&src, &full()).unwrap(), Some("wb pw"));
    assert!(matches!(
        unprotect_sheet(&protected, Some("wrong")),
        Err(Error::WrongPassword)
    ));
    assert!(matches!(unprotect_sheet(&protected, None), Err(Error::WrongPassword)));
    assert!(matches!(
        unprotect_workbook(&protected, Some("sheet pw")),
        Err(Error::WrongPassword)
    ));
    let sheet_free = unprotect_sheet(&protected, Some("sheet pw")).unwrap();
    let sheet = part(&sheet_free, SHEET_PART);
    assert!(!sheet.contains("sheetProtection"), "{sheet}");
    assert!(sheet.contains("<protectedRanges>"), "ranges are kept: {sheet}");
    assert!(part(&sheet_free, "xl/workbook.xml").contains("<workbookProtection"));
    let free = unprotect_workbook(&sheet_free, Some("wb pw")).unwrap();
    assert!(!part(&free, "xl/workbook.xml").contains("workbookProtection"));
    assert!(matches!(unprotect_sheet(&free, Some("x")), Err(Error::NotProtected)));
    assert!(matches!(unprotect_workbook(&free, None), Err(Error::NotProtected)));
    // Protected without a password: removable without one.
    let nopw = protect_workbook(&protect_sheet(&src, &SheetProtection::default()).unwrap(), None);
    let clear = unprotect_workbook(&unprotect_sheet(&nopw, None).unwrap(), None).unwrap();
    assert_eq!(part(&clear, SHEET_PART), part(&src, SHEET_PART));
    assert_eq!(part(&clear, "xl/workbook.xml"), part(&src, "xl/workbook.xml"));
}

fn openpyxl() -> bool {
    common::oracle_available("openpyxl", Command::new("python3").args(["-c", "import openpyxl"]))
}

fn oracle(file: &[u8], cells: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let f = common::write_file(dir.path(), "p.xlsx", file);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oracle/docs_openpyxl_cells.py");
    let (ok, out, err) = common::run(Command::new("python3").arg(script).arg(&f).arg(SHEET).args(cells));
    assert!(ok, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn oracles_read_ranges_and_cell_protection() {
    if !openpyxl() {
        return;
    }
    let out = protect_sheet(&workbook(), &full()).unwrap();
    let v = oracle(&out, &["A1", "B1", "C1", "A2", "C2", "B2", "F9"]);
    assert_eq!(v["sheet_protected"], true, "{v}");
    let cell = |r: &str| (v["cells"][r]["locked"].clone(), v["cells"][r]["hidden"].clone());
    let t = serde_json::Value::Bool(true);
    let f = serde_json::Value::Bool(false);
    assert_eq!(cell("A1"), (f.clone(), f.clone()), "{v}");
    assert_eq!(cell("B1"), (f.clone(), t.clone()), "{v}");
    assert_eq!(cell("C1"), (t.clone(), t.clone()), "{v}");
    assert_eq!(cell("C2"), (t.clone(), t.clone()), "{v}");
    // Outside the ranges, and an empty cell inside one (B2 has no element): defaults.
    assert_eq!(cell("A2"), (t.clone(), f.clone()), "{v}");
    assert_eq!(cell("B2"), (t.clone(), f.clone()), "{v}");
    assert_eq!(cell("F9"), (t.clone(), f.clone()), "{v}");
    let ranges = v["protected_ranges"].as_array().unwrap();
    assert_eq!(ranges.len(), 2, "{v}");
    assert_eq!(ranges[0]["name"], "Inputs & notes");
    assert_eq!(ranges[0]["sqref"], "A1:B2");
    assert!(ranges[0]["hashValue"].is_null());
    assert_eq!(ranges[1]["name"], "Budget");
    assert_eq!(ranges[1]["sqref"], "C5 D7:E9");
    assert_eq!(ranges[1]["algorithmName"], "SHA-512");
    assert_eq!(ranges[1]["spinCount"], "100000");
    let children: Vec<&str> = v["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(
        children,
        [
            "sheetData",
            "sheetProtection",
            "protectedRanges",
            "mergeCells",
            "pageMargins"
        ]
    );
}

#[test]
fn oracle_sees_no_protection_after_unprotect() {
    if !openpyxl() {
        return;
    }
    let protected = protect_workbook(&protect_sheet(&workbook(), &full()).unwrap(), Some("wb pw"));
    let before = oracle(&protected, &[]);
    assert_eq!(before["sheet_protected"], true, "{before}");
    assert_eq!(before["workbook_protected"], true, "{before}");
    let free = unprotect_workbook(&unprotect_sheet(&protected, Some("sheet pw")).unwrap(), Some("wb pw")).unwrap();
    let after = oracle(&free, &[]);
    assert_eq!(after["sheet_protected"], false, "{after}");
    assert_eq!(after["sheet_hash"], false, "{after}");
    assert_eq!(after["workbook_protected"], false, "{after}");
}

/// Workbooks protected by older Excel versions and by libraries carry the pre-2010 16-bit
/// hash. openpyxl writes it (`ws.protection.password = …`), so it is the oracle here: we must
/// accept its hash for the right password and refuse a wrong one.
#[test]
fn legacy_hash_written_by_openpyxl_is_checked() {
    if !openpyxl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("legacy.xlsx");
    let script = r#"
import sys, openpyxl
from openpyxl.workbook.protection import WorkbookProtection
wb = openpyxl.Workbook()
ws = wb.active
ws.title = "Plan"
ws["A1"] = "kept"
ws.protection.sheet = True
ws.protection.password = "Legacy-pw 1"
wb.security = WorkbookProtection(workbookPassword="Book pw", lockStructure=True)
wb.save(sys.argv[1])
"#;
    let (ok, _, err) = common::run(Command::new("python3").args(["-c", script]).arg(&path));
    assert!(ok, "{err}");
    let protected = std::fs::read(&path).unwrap();
    let sheet = part(&protected, SHEET_PART);
    assert!(sheet.contains(" password=\""), "openpyxl wrote a legacy hash: {sheet}");
    assert!(!sheet.contains("hashValue"), "{sheet}");

    for wrong in [Some("legacy-pw 1"), Some("Legacy-pw"), None] {
        assert!(
            matches!(unprotect_sheet(&protected, wrong), Err(Error::WrongPassword)),
            "{wrong:?}"
        );
    }
    assert!(matches!(
        unprotect_workbook(&protected, Some("book pw")),
        Err(Error::WrongPassword)
    ));
    let free = unprotect_workbook(
        &unprotect_sheet(&protected, Some("Legacy-pw 1")).unwrap(),
        Some("Book pw"),
    )
    .unwrap();
    assert!(!part(&free, SHEET_PART).contains("sheetProtection"));
    assert!(!part(&free, "xl/workbook.xml").contains("workbookProtection"));
    // Only the protection element went: the rest of the sheet is what openpyxl wrote.
    let before = part(&protected, SHEET_PART);
    let start = before.find("<sheetProtection").unwrap();
    let end = start + before[start..].find("/>").unwrap() + 2;
    assert_eq!(
        part(&free, SHEET_PART),
        format!("{}{}", &before[..start], &before[end..])
    );
}

/// Cells a workbook had unlocked can be locked again by range (and a cell cannot be asked to
/// be both): openpyxl reads the result.
#[test]
fn lock_relocks_unlocked_cells() {
    let unlocked = protect_sheet(
        &workbook(),
        &SheetProtection {
            unlock: &["A1:B1"],
            ..SheetProtection::default()
        },
    )
    .unwrap();
    let open_again = unprotect_sheet(&unlocked, None).unwrap();
    let relocked = protect_sheet(
        &open_again,
        &SheetProtection {
            lock: &["A1"],
            ..SheetProtection::default()
        },
    )
    .unwrap();
    assert!(matches!(
        protect_sheet(
            &workbook(),
            &SheetProtection {
                lock: &["A1:B2"],
                unlock: &["B2:C3"],
                ..SheetProtection::default()
            },
        ),
        Err(Error::InvalidRange(_))
    ));
    if !openpyxl() {
        return;
    }
    let v = oracle(&relocked, &["A1", "B1"]);
    assert_eq!(v["sheet_protected"], true, "{v}");
    assert_eq!(
        v["cells"]["A1"],
        serde_json::json!({"locked": true, "hidden": false}),
        "{v}"
    );
    assert_eq!(
        v["cells"]["B1"],
        serde_json::json!({"locked": false, "hidden": false}),
        "{v}"
    );
}
