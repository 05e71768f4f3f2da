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
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import uno
from com.sun.star.beans import PropertyValue


def prop(name, value):
    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


def connect(pipe, proc):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("soffice exited early with %s" % proc.returncode)
        try:
            return resolver.resolve(
                "uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
        except Exception:
            time.sleep(0.3)
    raise RuntimeError("could not connect to soffice")


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


def main():
    jobs = json.load(sys.stdin)
    profile = tempfile.mkdtemp(prefix="strongroom-lo-")
    pipe = "strongroom_docs_%s" % uuid.uuid4().hex
    proc = subprocess.Popen(
        ["soffice", "--headless", "--invisible", "--norestore", "--nolockcheck",
         "--nodefault", "--nologo",
         "-env:UserInstallation=file://%s" % profile,
         "--accept=pipe,name=%s;urp;StarOffice.ComponentContext" % pipe],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    desktop = None
    try:
        ctx = connect(pipe, proc)
        desktop = ctx.ServiceManager.createInstanceWithContext(
            "com.sun.star.frame.Desktop", ctx)
        results = [run_job(desktop, job) for job in jobs]
        json.dump(results, sys.stdout)
    finally:
        if desktop is not None:
            try:
                desktop.terminate()
            except Exception:
                pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
