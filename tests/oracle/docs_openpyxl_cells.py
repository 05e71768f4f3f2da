#!/usr/bin/env python3
"""Print, as JSON, what independent readers see of allow-edit ranges and cell protection in
one sheet of an .xlsx: openpyxl for sheet/workbook protection and each cell's
`protection.locked` / `.hidden`; Python's own ElementTree for `protectedRanges` (openpyxl
3.1 does not read them at all) and for the order of the worksheet's children, which the
schema fixes. Usage: docs_openpyxl_cells.py FILE SHEET [CELL ...]
"""
import json
import sys
import zipfile
import xml.etree.ElementTree as ET

import openpyxl

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"

path, sheet, cells = sys.argv[1], sys.argv[2], sys.argv[3:]
wb = openpyxl.load_workbook(path)
ws = wb[sheet]
out = {
    "sheet_protected": bool(ws.protection.sheet),
    "sheet_hash": bool(ws.protection.hashValue),
    "workbook_protected": wb.security is not None and bool(
        wb.security.lockStructure or wb.security.lockWindows),
    "cells": {},
    "protected_ranges": [],
    "children": [],
}
for ref in cells:
    p = ws[ref].protection
    out["cells"][ref] = {"locked": bool(p.locked), "hidden": bool(p.hidden)}

with zipfile.ZipFile(path) as z:
    book = ET.fromstring(z.read("xl/workbook.xml"))
    rid = next(s.get(REL + "id") for s in book.iter(MAIN + "sheet") if s.get("name") == sheet)
    rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    target = next(r.get("Target") for r in rels.iter(PKG + "Relationship") if r.get("Id") == rid)
    part = target.lstrip("/") if target.startswith("/") else "xl/" + target
    root = ET.fromstring(z.read(part))
out["children"] = [c.tag.replace(MAIN, "") for c in root]
for pr in root.iter(MAIN + "protectedRange"):
    out["protected_ranges"].append({
        "name": pr.get("name"),
        "sqref": pr.get("sqref"),
        "algorithmName": pr.get("algorithmName"),
        "hashValue": pr.get("hashValue"),
        "saltValue": pr.get("saltValue"),
        "spinCount": pr.get("spinCount"),
    })
json.dump(out, sys.stdout)
