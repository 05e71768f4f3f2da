#!/usr/bin/python3
"""What independent readers see of the drawing objects of the first sheet of an .xlsx:
Python's ElementTree reads each anchored object's lock flags from the DrawingML part
(`fLocksWithSheet`, `fLocksText`, defaults true), and LibreOffice (UNO) loads the workbook and
reports whether the sheet is protected and each shape's text, proving the patched file opens
with its objects intact. (LibreOffice does not map the per-object flags to its own
Move/Size protection: it locks objects through the sheet's `objects` flag only.)
Usage (Debian's /usr/bin/python3): docs_lo_shapes.py FILE DRAWING_PART
"""
import json
import os
import sys
import zipfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import docs_lo_open as lo  # noqa: E402  (shared soffice start/connect helpers)

XDR = "{http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing}"


def truthy(value):
    return value is None or value in ("1", "true")


def main():
    path, drawing = sys.argv[1], sys.argv[2]
    out = {"objects": [], "lo_shapes": []}
    with zipfile.ZipFile(path) as z:
        root = ET.fromstring(z.read(drawing))
    for anchor in root:
        data = anchor.find(XDR + "clientData")
        sp = anchor.find(XDR + "sp")
        out["objects"].append({
            "locked": truthy(data.get("fLocksWithSheet")) if data is not None else None,
            "text_locked": truthy(sp.get("fLocksText")) if sp is not None else None,
        })
    with lo.desktop_session() as desktop:
        url = lo.uno.systemPathToFileUrl(os.path.abspath(path))
        doc = desktop.loadComponentFromURL(url, "_blank", 0, (lo.prop("Hidden", True),))
        sheet = doc.getSheets().getByIndex(0)
        out["sheet_protected"] = bool(sheet.isProtected())
        page = sheet.getDrawPage()
        for i in range(page.getCount()):
            shape = page.getByIndex(i)
            out["lo_shapes"].append(shape.getString() if hasattr(shape, "getString") else "")
        doc.close(True)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
