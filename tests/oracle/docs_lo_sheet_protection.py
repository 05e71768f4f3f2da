#!/usr/bin/python3
"""Check sheet/workbook protection passwords in a real LibreOffice (UNO): for FILE, print JSON
with each sheet's isProtected, whether unprotect(WRONG) was refused and unprotect(RIGHT)
accepted, and the same for the document (workbook structure).
Usage (Debian's /usr/bin/python3): docs_lo_sheet_protection.py FILE RIGHT WRONG
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import docs_lo_open as lo  # noqa: E402  (shared soffice start/connect helpers)



def check(target, right, wrong):
    res = {"protected": bool(target.isProtected())}
    try:
        target.unprotect(wrong)
        res["wrong_refused"] = bool(target.isProtected())
    except Exception:
        res["wrong_refused"] = True
    try:
        target.unprotect(right)
        res["right_accepted"] = not target.isProtected()
    except Exception as e:
        res["right_accepted"] = False
        res["error"] = str(e)
    return res


def main():
    path, right, wrong = sys.argv[1], sys.argv[2], sys.argv[3]
    with lo.desktop_session() as desktop:
        url = lo.uno.systemPathToFileUrl(os.path.abspath(path))
        doc = desktop.loadComponentFromURL(url, "_blank", 0, (lo.prop("Hidden", True),))
        out = {"sheets": {}}
        sheets = doc.getSheets()
        for i in range(sheets.getCount()):
            sheet = sheets.getByIndex(i)
            out["sheets"][sheet.getName()] = check(sheet, right, wrong)
        out["document"] = check(doc, right, wrong)
        doc.close(True)
        json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
