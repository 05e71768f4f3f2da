#!/usr/bin/env python3
"""Print, as JSON, the workbook and sheet protection that openpyxl reads from an .xlsx:
an independent reader of the flags strongroom-docs writes. Usage: docs_openpyxl_protection.py FILE
"""
import json
import sys

import openpyxl

wb = openpyxl.load_workbook(sys.argv[1])
sec = wb.security
out = {
    "workbook": None if sec is None else {
        "lockStructure": bool(sec.lockStructure),
        "lockWindows": bool(sec.lockWindows),
        "algorithmName": sec.workbookAlgorithmName,
        "hashValue": sec.workbookHashValue,
        "saltValue": sec.workbookSaltValue,
        "spinCount": sec.workbookSpinCount,
    },
    "sheets": {},
}
for ws in wb.worksheets:
    p = ws.protection
    out["sheets"][ws.title] = {
        name: getattr(p, name)
        for name in ["sheet", "objects", "scenarios", "formatCells", "formatColumns",
                     "formatRows", "insertColumns", "insertRows", "insertHyperlinks",
                     "deleteColumns", "deleteRows", "selectLockedCells", "sort",
                     "autoFilter", "pivotTables", "selectUnlockedCells", "algorithmName",
                     "hashValue", "saltValue", "spinCount"]
    }
    out["sheets"][ws.title]["cells"] = [c.value for c in ws["A"]]
json.dump(out, sys.stdout)
