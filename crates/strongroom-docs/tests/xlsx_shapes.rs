//! Locking the shapes and text boxes of a sheet: our own checks on the patched drawing, with
//! ElementTree (the lock flags) and LibreOffice (the workbook opens, protected, with its
//! shapes and their text) as oracles.

// Test code: helpers outside #[test] fns may unwrap and index (clippy.toml only covers #[test]).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::io::Cursor;
use std::path::Path;
use std::process::Command;

use strongroom_docs::Error;
use strongroom_docs::xlsx::{self, SheetActions, SheetProtection};

const DRAWING: &str = "xl/drawings/drawing1.xml";

/// One anchored object: a text box or a picture, with the lock flags as given (`None` = not
/// written, which means locked).
fn anchor(text: Option<&str>, locks_text: Option<&str>, locks_with_sheet: Option<&str>) -> String {
    let flag = |name: &str, v: Option<&str>| v.map(|v| format!(" {name}=\"{v}\"")).unwrap_or_default();
    let object = match text {
        Some(t) => format!(
            r#"<xdr:sp macro="" textlink=""{}><xdr:nvSpPr><xdr:cNvPr id="2" name="TextBox"/><xdr:cNvSpPr txBox="1"/></xdr:nvSpPr><xdr:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="2000000" cy="700000"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr><xdr:txBody><a:bodyPr/><a:lstStyle/><a:p><a:r><a:t>{t}</a:t></a:r></a:p></xdr:txBody></xdr:sp>"#,
            flag("fLocksText", locks_text)
        ),
        None => r#"<xdr:cxnSp macro=""><xdr:nvCxnSpPr><xdr:cNvPr id="3" name="Line"/><xdr:cNvCxnSpPr/></xdr:nvCxnSpPr><xdr:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="900000" cy="0"/></a:xfrm><a:prstGeom prst="line"><a:avLst/></a:prstGeom></xdr:spPr></xdr:cxnSp>"#.to_owned(),
    };
    format!(
        r#"<xdr:twoCellAnchor><xdr:from><xdr:col>1</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>4</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>5</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>{object}<xdr:clientData{}/></xdr:twoCellAnchor>"#,
        flag("fLocksWithSheet", locks_with_sheet)
    )
}

/// A workbook whose sheet "Shapes" has a drawing with an unlocked text box (text unlocked
/// too), a text box with default flags, and an unlocked connector line.
fn workbook() -> Vec<u8> {
    let ct = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/drawings/drawing1.xml" ContentType="application/vnd.openxmlformats-officedocument.drawing+xml"/></Types>"#;
    let rels = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
    let wb = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Shapes" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
    let wb_rels = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;
    let ws = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData><drawing r:id="rId1"/></worksheet>"#;
    let ws_rels = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/drawing" Target="../drawings/drawing1.xml"/></Relationships>"#;
    let drawing = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">{}{}{}</xdr:wsDr>"#,
        anchor(Some("Unlocked box"), Some("0"), Some("0")),
        anchor(Some("Default box"), None, None),
        anchor(None, None, Some("false")),
    );
    common::zip_parts(
        &[
            ("[Content_Types].xml", ct.as_bytes()),
            ("_rels/.rels", rels.as_bytes()),
            ("xl/workbook.xml", wb.as_bytes()),
            ("xl/_rels/workbook.xml.rels", wb_rels.as_bytes()),
            ("xl/worksheets/sheet1.xml", ws.as_bytes()),
            ("xl/worksheets/_rels/sheet1.xml.rels", ws_rels.as_bytes()),
            (DRAWING, drawing.as_bytes()),
        ],
        true,
    )
}

fn protect(input: &[u8], p: &SheetProtection<'_>) -> Result<Vec<u8>, Error> {
    let mut out = Cursor::new(Vec::new());
    xlsx::protect_sheet(Cursor::new(input), &mut out, "Shapes", p)?;
    Ok(out.into_inner())
}

fn text(zip: &[u8], name: &str) -> String {
    String::from_utf8(common::zip_entry(zip, name)).unwrap()
}

#[test]
fn lock_shapes_locks_every_object_and_touches_nothing_else() {
    let src = workbook();
    let out = protect(
        &src,
        &SheetProtection {
            password: Some("pw"),
            lock_shapes: true,
            ..SheetProtection::default()
        },
    )
    .unwrap();
    let drawing = text(&out, DRAWING);
    assert_eq!(drawing.matches("fLocksWithSheet=\"1\"").count(), 3, "{drawing}");
    assert_eq!(drawing.matches("fLocksText=\"1\"").count(), 2, "{drawing}");
    for unlocked in ["fLocksWithSheet=\"0\"", "fLocksWithSheet=\"false\"", "fLocksText=\"0\""] {
        assert!(!drawing.contains(unlocked), "{drawing}");
    }
    // Only the flags changed: the drawing minus them is the original minus them.
    let strip = |s: &str| {
        s.replace(" fLocksWithSheet=\"1\"", "")
            .replace(" fLocksWithSheet=\"0\"", "")
            .replace(" fLocksWithSheet=\"false\"", "")
            .replace(" fLocksText=\"1\"", "")
            .replace(" fLocksText=\"0\"", "")
    };
    assert_eq!(strip(&drawing), strip(&text(&src, DRAWING)));
    let sheet = text(&out, "xl/worksheets/sheet1.xml");
    assert!(sheet.contains(" objects=\"1\""), "objects locked by the sheet: {sheet}");
    for (name, bytes) in common::zip_entries(&src) {
        if name != DRAWING && name != "xl/worksheets/sheet1.xml" {
            assert_eq!(common::zip_entry(&out, &name), bytes, "{name} must be unchanged");
        }
    }

    // Without the option the drawing is left as it was.
    let plain = protect(&src, &SheetProtection::default()).unwrap();
    assert_eq!(text(&plain, DRAWING), text(&src, DRAWING));
    // Allowing users to edit objects and locking them contradict each other.
    let contradiction = SheetProtection {
        lock_shapes: true,
        allow: SheetActions {
            objects: true,
            ..SheetActions::default()
        },
        ..SheetProtection::default()
    };
    assert!(matches!(protect(&src, &contradiction), Err(Error::InvalidOptions(_))));
    // A sheet without drawings: nothing to lock, still protected.
    let bare = common::xlsx("S", &["a"]);
    let mut out2 = Cursor::new(Vec::new());
    let p = SheetProtection {
        lock_shapes: true,
        ..SheetProtection::default()
    };
    xlsx::protect_sheet(Cursor::new(bare), &mut out2, "S", &p).unwrap();
}

#[test]
fn independent_readers_see_the_locks() {
    if !common::oracle_available(
        "LibreOffice + python3-uno",
        Command::new("/usr/bin/python3").args([
            "-c",
            "import uno, shutil, sys; sys.exit(0 if shutil.which('soffice') else 1)",
        ]),
    ) {
        return;
    }
    let out = protect(
        &workbook(),
        &SheetProtection {
            password: Some("pw"),
            lock_shapes: true,
            ..SheetProtection::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let f = common::write_file(dir.path(), "shapes.xlsx", &out);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oracle/docs_lo_shapes.py");
    let (ok, json, err) = common::run(Command::new("/usr/bin/python3").arg(script).arg(&f).arg(DRAWING));
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["objects"],
        serde_json::json!([
            {"locked": true, "text_locked": true},
            {"locked": true, "text_locked": true},
            {"locked": true, "text_locked": null},
        ]),
        "{v}"
    );
    assert_eq!(v["sheet_protected"], true, "{v}");
    let shapes: Vec<&str> = v["lo_shapes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        shapes.contains(&"Unlocked box") && shapes.contains(&"Default box"),
        "{v}"
    );
}
