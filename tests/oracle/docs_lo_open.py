#!/usr/bin/python3
"""Open documents in a real LibreOffice through UNO and export them, as an independent check
that Strongroom's password-protected files open with the password (and only with it).

Run with Debian's /usr/bin/python3 (it has the `uno` module). Reads a JSON list of jobs on
stdin: [{"in": PATH, "password": PW or null, "filter": "Text", "out": PATH}, ...] and prints a
JSON list of results [{"ok": true} | {"ok": false, "error": "..."}], one per job.

No InteractionHandler is passed, so a wrong or missing password makes loading fail instead
of prompting (`soffice --convert-to` cannot take a password and exits 0 even on failure).
"""
import contextlib
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
            raise EarlyExit("soffice exited early with %s" % proc.returncode)
        try:
            return resolver.resolve(
                "uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
        except Exception:
            time.sleep(0.3)
    raise RuntimeError("could not connect to soffice")


def run_job(desktop, job):
    url = uno.systemPathToFileUrl(os.path.abspath(job["in"]))
    props = [prop("Hidden", True), prop("ReadOnly", True)]
    if job.get("password") is not None:
        props.append(prop("Password", job["password"]))
    try:
        doc = desktop.loadComponentFromURL(url, "_blank", 0, tuple(props))
    except Exception as e:  # wrong password, unreadable file
        return {"ok": False, "error": "load: %s: %s" % (type(e).__name__, e)}
    if doc is None:
        return {"ok": False, "error": "load returned no document"}
    try:
        out = uno.systemPathToFileUrl(os.path.abspath(job["out"]))
        doc.storeToURL(out, (prop("FilterName", job["filter"]),))
        return {"ok": True}
    except Exception as e:
        return {"ok": False, "error": "store: %s: %s" % (type(e).__name__, e)}
    finally:
        try:
            doc.close(True)
        except Exception:
            pass


class EarlyExit(RuntimeError):
    pass


@contextlib.contextmanager
def desktop_session():
    """A private headless soffice and its Desktop; one at a time on this machine (tests run in
    parallel, and two first starts at once have been seen to abort), started again if it dies
    while starting."""
    import fcntl
    with open(os.path.join(tempfile.gettempdir(), "strongroom-lo.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for attempt in range(3):
            try:
                with _desktop_once() as desktop:
                    yield desktop
                return
            except EarlyExit:
                if attempt == 2:
                    raise
                time.sleep(1)


@contextlib.contextmanager
def _desktop_once():
    """A private headless soffice (own profile, own pipe) and its Desktop; always shut down."""
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
        yield desktop
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


def run_jobs(run_job):
    """Reads the JSON job list from stdin and prints one result per job."""
    jobs = json.load(sys.stdin)
    with desktop_session() as desktop:
        json.dump([run_job(desktop, job) for job in jobs], sys.stdout)


def main():
    run_jobs(run_job)


if __name__ == "__main__":
    main()
