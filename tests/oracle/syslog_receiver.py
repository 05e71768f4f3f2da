#!/usr/bin/env python3
"""A syslog collector for tests: accepts RFC 6587 octet-counted RFC 5424 messages over TCP, or
over TLS (RFC 5425) with --cert/--key, parses each one with the independent
`syslog-rfc5424-parser` package, and appends it as one JSON object per line to OUT.

Usage: syslog_receiver.py --port-file PORTFILE --out OUT [--cert CERT --key KEY]
Binds 127.0.0.1 on a free port and writes the port number to PORTFILE once listening.
A message that does not parse is written as {"unparsed": "..."} so the test fails on it.
"""

import argparse
import json
import socket
import ssl
import threading

from syslog_rfc5424_parser import SyslogMessage


def read_frames(conn, out, lock):
    buf = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        buf += chunk
        while True:
            space = buf.find(b" ")
            if space < 0:
                break
            length = int(buf[:space])
            if len(buf) < space + 1 + length:
                break
            msg = buf[space + 1 : space + 1 + length].decode("utf-8")
            buf = buf[space + 1 + length :]
            try:
                parsed = SyslogMessage.parse(msg).as_dict()
            except Exception as e:  # noqa: BLE001 - recorded for the test to see
                parsed = {"unparsed": msg, "error": str(e)}
            with lock:
                out.write(json.dumps(parsed) + "\n")
                out.flush()
    conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    a = ap.parse_args()
    ctx = None
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    import os

    os.rename(a.port_file + ".tmp", a.port_file)
    out = open(a.out, "a", encoding="utf-8")
    lock = threading.Lock()
    while True:
        conn, _ = srv.accept()
        if ctx:
            try:
                conn = ctx.wrap_socket(conn, server_side=True)
            except ssl.SSLError:
                conn.close()
                continue
        threading.Thread(target=read_frames, args=(conn, out, lock), daemon=True).start()


if __name__ == "__main__":
    main()
