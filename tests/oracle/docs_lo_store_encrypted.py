#!/usr/bin/python3
"""Have a real LibreOffice write password-encrypted OpenDocument files, so that Strongroom's
ODF decryption is tested against files it did not write itself.

Run with Debian's /usr/bin/python3 (it has the `uno` module). Reads a JSON list of jobs on
stdin: [{"kind": "odt" | "ods", "text": TEXT, "password": PW or null, "out": PATH}, ...] and prints a
JSON list of results [{"ok": true} | {"ok": false, "error": "..."}], one per job. An odt gets
TEXT as its body; an ods gets TEXT in cell A1 of its first sheet. The document is stored with
`storeToURL` and `Password` in the media descriptor, LibreOffice's own encryption (or in
clear text when the password is null, to give us real LibreOffice files to encrypt).
"""
import os

import uno

import docs_lo_open as lo  # shared soffice start/connect helpers


prop = lo.prop

FACTORIES = {
    "odt": ("private:factory/swriter", "writer8"),
    "ods": ("private:factory/scalc", "calc8"),
}


def run_job(desktop, job):
    factory, filt = FACTORIES[job["kind"]]
    try:
        doc = desktop.loadComponentFromURL(factory, "_blank", 0, (prop("Hidden", True),))
    except Exception as e:
        return {"ok": False, "error": "new document: %s: %s" % (type(e).__name__, e)}
    try:
        if job["kind"] == "odt":
            doc.getText().setString(job["text"])
        else:
            doc.getSheets().getByIndex(0).getCellByPosition(0, 0).setString(job["text"])
        out = uno.systemPathToFileUrl(os.path.abspath(job["out"]))
        props = [prop("FilterName", filt)]
        if job.get("password") is not None:
            props.append(prop("Password", job["password"]))
        doc.storeToURL(out, tuple(props))
        return {"ok": True}
    except Exception as e:
        return {"ok": False, "error": "store: %s: %s" % (type(e).__name__, e)}
    finally:
        try:
            doc.close(True)
        except Exception:
            pass


if __name__ == "__main__":
    lo.run_jobs(run_job)
