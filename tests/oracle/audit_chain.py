#!/usr/bin/env python3
"""Independent verifier for the Strongroom audit chain, version 1.

Written from docs/formats/audit-chain-v1.md alone, with the standard library and the
`cryptography` package (Ed25519 only), to prove the spec is complete and the Rust code follows
it. It shares no code with the Rust crate.

Usage:
  audit_chain.py vectors
      Recompute every test vector of spec section 7 (both personal digests, both event hashes,
      the seal message, the seal signature -- verified under the stated public key and
      reproduced exactly from the stated RFC 8032 seed -- and the erasure digest). One line per
      vector; exit 0 if all match, exit 1 naming the first mismatch.
  audit_chain.py verify (--sqlite PATH | --postgres URL) --public-key HEX [--public-key HEX ...] [--json]
      Walk `audit_events`, `audit_chain` (row id = 1) and `audit_seals` as spec section 7 says,
      including the erasure accounting of section 6 and the check of a pruned start (sections
      5 and 7).
      SQLite is opened read-only; PostgreSQL is read through `psql` (COPY ... TO STDOUT, CSV).
      Only seals whose signature verifies under one of the --public-key keys are trusted,
      whatever their `public_key` column says.

Output of `verify`: one line per finding,
    <kind> seq=<seq or -> id=<id or -> <message>
with kind one of edited, deleted, inserted, reordered, broken_link, truncated, seal_invalid,
seal_mismatch, erasure_mismatch (seq is `-`, null in --json, for a finding without a place:
truncated, deleted from the beginning, an erasure mismatch for a pseudonym, an event with no
seq); then a summary line
    events=N first=.. last=.. seals=N last_sealed=.. unsealed=N findings=N
(events: events walked, i.e. with seq >= start_seq; seals: trusted seals, i.e. whose signature
verifies; unsealed: walked events after the last trusted seal -- not a finding). With --json,
one JSON object with the same content instead. Exit 0 without findings, 1 with findings,
2 on usage errors or unreadable input.
"""

import argparse
import csv
import hashlib
import io
import json
import os
import re
import sqlite3
import struct
import subprocess
import sys
import urllib.parse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

# Domain-separation prefixes (spec sections 2, 3, 5), each followed by a 0x00 byte.
PERSONAL_DOMAIN = b"strongroom audit personal v1\x00"
CHAIN_DOMAIN = b"strongroom audit chain v1\x00"
SEAL_DOMAIN = b"strongroom audit seal v1\x00"
GENESIS = bytes(32)

# Spec section 2, in order: the personal columns (details last, never absent).
PERSONAL_COLUMNS = ("actor_id", "actor_name", "actor_email", "target_id", "target_name",
                    "target_path", "ip", "user_agent", "details")
# Spec section 3, in order: the columns the event hash covers directly; `at` is the integer.
CHAIN_COLUMNS = ("id", "at", "action", "product", "module", "outcome",
                 "initiator", "target_kind", "route", "request_id")

EVENT_COLUMNS = ("seq", "id", "at", "action", "product", "module", "outcome", "initiator",
                 "actor_id", "actor_name", "actor_email", "target_kind", "target_id",
                 "target_name", "target_path", "ip", "user_agent", "route", "request_id",
                 "details", "prev_hash", "hash", "personal_salt", "personal_digest", "erased_by")
INTEGER_EVENT_COLUMNS = ("seq", "at")
SEAL_COLUMNS = ("seq", "hash", "at", "public_key", "signature")
CHAIN_ROW_COLUMNS = ("head_seq", "head_hash", "start_seq", "start_prev")

KINDS = ("edited", "deleted", "inserted", "reordered", "broken_link", "truncated",
         "seal_invalid", "seal_mismatch", "erasure_mismatch")

I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1


class InputError(Exception):
    """The input cannot be read or is not shaped like the spec's tables (exit 2)."""


# ---------------------------------------------------------------------------------------------
# Encodings (spec sections 1, 2, 3, 5, 6)
# ---------------------------------------------------------------------------------------------

def utf8(s):
    # Text read from the database is decoded with surrogateescape (see `decode_text`), so this
    # gives back exactly the stored bytes, even if they are not valid UTF-8.
    if isinstance(s, bytes):
        return s
    return s.encode("utf-8", "surrogateescape")


def f_text(x):
    """F(x) for a text-or-absent field: 0x00, or 0x01 || BE32(n) || n UTF-8 bytes."""
    if x is None:
        return b"\x00"
    b = utf8(x)
    return b"\x01" + struct.pack(">I", len(b)) + b


def f_int(x):
    """F(x) for an integer-or-absent field: 0x00, or 0x02 || BE64(x) (two's complement)."""
    if x is None:
        return b"\x00"
    return b"\x02" + struct.pack(">q", x)


def personal_digest(salt, fields):
    """Spec section 2. `fields` maps the PERSONAL_COLUMNS to text or None."""
    h = hashlib.sha256(PERSONAL_DOMAIN + salt)
    for c in PERSONAL_COLUMNS:
        h.update(f_text(fields[c]))
    return h.digest()


def event_hash(prev, fields, personal):
    """Spec section 3. `fields` maps the CHAIN_COLUMNS (`at` an int) to values or None."""
    h = hashlib.sha256(CHAIN_DOMAIN + prev)
    for c in CHAIN_COLUMNS:
        h.update(f_int(fields[c]) if c == "at" else f_text(fields[c]))
    h.update(personal)
    return h.digest()


def seal_message(seq, hash_, at):
    """Spec section 5."""
    return SEAL_DOMAIN + struct.pack(">q", seq) + hash_ + struct.pack(">q", at)


def erasure_digest(ids):
    """Spec section 6: SHA-256 of each id followed by 0x0A, ids in ascending byte order."""
    h = hashlib.sha256()
    for b in sorted(utf8(i) for i in ids):
        h.update(b + b"\x0a")
    return h.digest()


def public_key_bytes(pk):
    return pk.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


HEX_RE = re.compile(r"[0-9a-f]*\Z")


def parse_hex(s, n):
    """Strict lowercase hex of exactly n bytes (spec section 1: hex is lowercase); None if not."""
    if not isinstance(s, str) or len(s) != 2 * n or not HEX_RE.match(s):
        return None
    return bytes.fromhex(s)


def as_int(x):
    """An integer column's value as a Python int in i64 range, or None if it is not one."""
    if isinstance(x, bool):
        return None
    if isinstance(x, int):
        v = x
    elif isinstance(x, str) and re.fullmatch(r"-?[0-9]+", x):
        v = int(x)
    else:
        return None
    return v if I64_MIN <= v <= I64_MAX else None


def same(a, b):
    """Equality of two parsed hashes, where a malformed one (None) equals nothing."""
    return a is not None and a == b


def decode_text(b):
    return b.decode("utf-8", "surrogateescape")


# ---------------------------------------------------------------------------------------------
# Test vectors (spec section 7)
# ---------------------------------------------------------------------------------------------

VECTOR_PERSONAL_1 = {
    "actor_id": "0190a1b2-0000-7000-8000-000000000001",
    "actor_name": "Zo\u00eb Adams",
    "actor_email": "zoe@example.org",
    "target_id": "0190a1b2-0000-7000-8000-0000000000f1",
    "target_name": "report.pdf",
    "target_path": "Legal/2026/report.pdf",
    "ip": "192.0.2.7",
    "user_agent": "Mozilla/5.0",
    "details": '{"size":1234}',
}
VECTOR_EVENT = {
    "id": "0190a1b2-0000-7000-8000-00000000e001",
    "at": 1767225600000,
    "action": "file.download",
    "product": "documents",
    "module": "file",
    "outcome": "success",
    "initiator": "web",
    "target_kind": "file",
    "route": "GET /api/v1/files/{id}/content",
    "request_id": None,
}
EXPECTED = {
    "personal digest 1": "4114f6e9e34b3b9821a597636b798be4e96bc2da1d2b1f8f6e8d1c2e5cdce622",
    "personal digest 2": "3d94787353fece58b5b64604716d72bc1a72ec92a25ee30a5b1ac0b8450c7b55",
    "event 1 hash": "801ce3fd3f9ea9ea947a922df14b8ca8cec3acadd7e9d3891b4a6970e9690bb5",
    "event 2 hash": "7395b7fc797abea2e9afe9757279207fb76f48fe26446351ee4a73a9962dee43",
    "seal message": "7374726f6e67726f6f6d206175646974207365616c2076310000000000000000027395b7fc797a"
                    "bea2e9afe9757279207fb76f48fe26446351ee4a73a9962dee430000019b76df3be0",
    "seal signature": "62d515e263be80d95532cb951d067cd538e31196fc5e21f279fd4496087aea1bba48db457315"
                      "397b7a06c4f4b9b83e89f3e060ae090724fc75e91ba4184a2a09",
    "erasure digest": "911169ddaaf146aff539f58c26c489af3b892dff0fe283c1c264c65ae5aa59a2",
}
RFC8032_TEST1_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
RFC8032_TEST1_PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"


def cmd_vectors(_args):
    results = []  # (name, ok, computed)

    def check(name, computed_hex, expected_hex=None):
        expected_hex = EXPECTED[name] if expected_hex is None else expected_hex
        results.append((name, computed_hex == expected_hex, computed_hex))

    assert len(utf8(VECTOR_PERSONAL_1["actor_name"])) == 10  # "UTF-8, 10 bytes"
    p1 = personal_digest(b"0123456789abcdef", VECTOR_PERSONAL_1)
    check("personal digest 1", p1.hex())
    empty = {c: None for c in PERSONAL_COLUMNS}
    empty["details"] = "null"
    check("personal digest 2", personal_digest(bytes(16), empty).hex())

    h1 = event_hash(GENESIS, VECTOR_EVENT, p1)
    check("event 1 hash", h1.hex())
    h2 = event_hash(h1, VECTOR_EVENT, p1)
    check("event 2 hash", h2.hex())

    msg = seal_message(2, h2, 1767225900000)
    check("seal message", msg.hex())

    expected_sig = bytes.fromhex(EXPECTED["seal signature"])
    pub = Ed25519PublicKey.from_public_bytes(bytes.fromhex(RFC8032_TEST1_PUBLIC))
    try:
        pub.verify(expected_sig, msg)
        verdict = "verifies"
    except InvalidSignature:
        verdict = "does not verify"
    results.append(("seal signature verifies under the stated public key",
                    verdict == "verifies", verdict))
    priv = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(RFC8032_TEST1_SEED))
    derived_pub = public_key_bytes(priv.public_key()).hex()
    check("seed gives the stated public key", derived_pub, RFC8032_TEST1_PUBLIC)
    results.append(("seal signature", priv.sign(msg).hex() == EXPECTED["seal signature"],
                    priv.sign(msg).hex()))

    check("erasure digest", erasure_digest(["a", "b"]).hex())

    first_bad = None
    for name, ok, computed in results:
        print("%-4s %s: %s" % ("ok" if ok else "FAIL", name, computed))
        if not ok and first_bad is None:
            first_bad = name
    if first_bad is not None:
        print("mismatch: %s" % first_bad, file=sys.stderr)
        return 1
    print("all %d vectors match" % len(results))
    return 0


# ---------------------------------------------------------------------------------------------
# Readers: each yields plain dicts with text as str (surrogateescape) and integers as int
# (SQLite) or str (PostgreSQL; converted by as_int).
# ---------------------------------------------------------------------------------------------

def qi(name):
    return '"%s"' % name


class SqliteSource:
    def __init__(self, path):
        uri = "file:%s?mode=ro" % urllib.parse.quote(os.path.abspath(path))
        try:
            self.db = sqlite3.connect(uri, uri=True)
            self.db.text_factory = decode_text
            self.db.execute("SELECT 1 FROM audit_events LIMIT 0")
        except sqlite3.Error as e:
            raise InputError("cannot open %s read-only: %s" % (path, e))

    def _rows(self, sql, cols, params=()):
        try:
            cur = self.db.execute(sql, params)
            for row in cur:  # iterating the cursor streams; nothing is fetched in bulk
                yield dict(zip(cols, row))
        except sqlite3.Error as e:
            raise InputError("reading the database: %s" % e)

    def chain_row(self):
        rows = list(self._rows("SELECT %s FROM audit_chain WHERE id = 1"
                               % ", ".join(map(qi, CHAIN_ROW_COLUMNS)), CHAIN_ROW_COLUMNS))
        return rows[0] if rows else None

    def seals(self):
        return self._rows("SELECT %s FROM audit_seals ORDER BY seq"
                          % ", ".join(map(qi, SEAL_COLUMNS)), SEAL_COLUMNS)

    def events_from(self, start_seq):
        # Ties on seq (which a sound table never has) are broken by id, for a stable order.
        return self._rows("SELECT %s FROM audit_events WHERE seq IS NOT NULL AND seq >= ? "
                          "ORDER BY seq, id" % ", ".join(map(qi, EVENT_COLUMNS)),
                          EVENT_COLUMNS, (start_seq,))

    def unplaced_ids(self):
        return (r["id"] for r in self._rows(
            "SELECT id FROM audit_events WHERE seq IS NULL ORDER BY id", ("id",)))


class PostgresSource:
    """Reads through `psql ... -c "COPY (SELECT ...) TO STDOUT WITH (FORMAT csv, HEADER true)"`.

    NULL versus empty text: in CSV format COPY writes NULL as an unquoted empty field and ''
    as a quoted one (more so with FORCE_QUOTE *), but Python's csv module returns '' for both,
    so that distinction would be lost on parsing; and any NULL marker string ('\\N', ...) is
    itself a possible text value (COPY then quotes it, which csv again hides). So the SELECT
    encodes every column itself: NULL becomes the one-character field 'n' and any other value
    'v' followed by its text form. Every field is then non-empty and unambiguous whatever the
    data holds, and the reader strips the tag. Integers come as their decimal text form.
    """

    def __init__(self, url):
        self.url = url
        self.env = dict(os.environ, PGCLIENTENCODING="UTF8")

    def _copy(self, select, cols):
        sel = "SELECT %s FROM (%s) AS q" % (", ".join(
            "CASE WHEN q.%s IS NULL THEN 'n' ELSE 'v' || q.%s::text END" % (qi(c), qi(c))
            for c in cols), select)
        sql = "COPY (%s) TO STDOUT WITH (FORMAT csv, HEADER true)" % sel
        try:
            proc = subprocess.Popen(["psql", self.url, "-X", "-q", "-v", "ON_ERROR_STOP=1",
                                     "-c", sql], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=self.env)
        except OSError as e:
            raise InputError("cannot run psql: %s" % e)
        text = io.TextIOWrapper(proc.stdout, encoding="utf-8", errors="surrogateescape",
                                newline="")
        try:
            reader = csv.reader(text)
            header = next(reader, None)
            if header is not None:
                for rec in reader:  # streamed: one CSV record at a time
                    if len(rec) != len(cols) or any(not f or f[0] not in "nv" for f in rec):
                        raise InputError("unexpected psql output: %r" % (rec,))
                    yield {c: (None if f == "n" else f[1:]) for c, f in zip(cols, rec)}
        finally:
            text.close()
            err = proc.stderr.read().decode("utf-8", "replace")
            rc = proc.wait()
        if rc != 0 or header is None:
            raise InputError("psql failed (exit %d): %s" % (rc, err.strip()))

    def chain_row(self):
        rows = list(self._copy("SELECT %s FROM audit_chain WHERE id = 1"
                               % ", ".join(map(qi, CHAIN_ROW_COLUMNS)), CHAIN_ROW_COLUMNS))
        return rows[0] if rows else None

    def seals(self):
        return self._copy("SELECT %s FROM audit_seals ORDER BY seq"
                          % ", ".join(map(qi, SEAL_COLUMNS)), SEAL_COLUMNS)

    def events_from(self, start_seq):
        return self._copy('SELECT %s FROM audit_events WHERE seq IS NOT NULL AND seq >= %d '
                          'ORDER BY seq, id COLLATE "C"' % (", ".join(map(qi, EVENT_COLUMNS)),
                                                          int(start_seq)), EVENT_COLUMNS)

    def unplaced_ids(self):
        return (r["id"] for r in self._copy(
            'SELECT id FROM audit_events WHERE seq IS NULL ORDER BY id COLLATE "C"', ("id",)))


# ---------------------------------------------------------------------------------------------
# Verification (spec section 7, with sections 5 and 6)
# ---------------------------------------------------------------------------------------------

class Event:
    """One audit_events row, with the stored hex fields parsed (None where malformed)."""

    __slots__ = ("row", "seq", "id", "prev", "hash", "hash_hex", "prev_hex", "salt",
                 "salt_hex", "digest", "at")

    def __init__(self, row):
        self.row = row
        self.seq = as_int(row["seq"])
        self.id = row["id"]
        self.at = as_int(row["at"])
        self.prev_hex, self.hash_hex = row["prev_hash"], row["hash"]
        self.prev = parse_hex(row["prev_hash"], 32)
        self.hash = parse_hex(row["hash"], 32)
        self.salt_hex = row["personal_salt"]
        self.salt = parse_hex(row["personal_salt"], 16)
        self.digest = parse_hex(row["personal_digest"], 32)


class Verifier:
    def __init__(self, source, public_keys):
        self.src = source
        self.keys = public_keys  # list of Ed25519PublicKey
        self.findings = []

    def add(self, kind, seq, id_, message):
        assert kind in KINDS
        self.findings.append({"kind": kind, "seq": seq, "id": id_, "message": message})

    # -- seals -------------------------------------------------------------------------------

    def load_seals(self):
        """Check every seal's signature; return {seq: [hash bytes, ...]} of trusted seals."""
        trusted = {}
        for s in self.src.seals():
            seq, at = as_int(s["seq"]), as_int(s["at"])
            h = parse_hex(s["hash"], 32)
            sig = parse_hex(s["signature"], 64)
            shown_seq = seq if seq is not None else s["seq"]
            if seq is None or at is None or h is None or sig is None:
                self.add("seal_invalid", shown_seq, None,
                         "seal is malformed (seq, hash, at or signature not in the spec's form)")
                continue
            msg = seal_message(seq, h, at)
            ok = False
            for k in self.keys:
                try:
                    k.verify(sig, msg)
                    ok = True
                    break
                except InvalidSignature:
                    pass
            if not ok:
                claimed = s["public_key"]
                self.add("seal_invalid", seq, None,
                         "signature does not verify under any trusted key "
                         "(its public_key column says %s)" % claimed)
                continue
            trusted.setdefault(seq, []).append(h)
        return trusted

    # -- the walk ----------------------------------------------------------------------------

    def check_event_hashes(self, e):
        """Steps 1 and 2."""
        row = e.row
        if row["personal_salt"] is not None:
            if e.salt is None:
                self.add("edited", e.seq, e.id, "personal_salt is not 16 bytes of lowercase hex")
            elif e.digest is None:
                self.add("edited", e.seq, e.id,
                         "personal_digest is not 32 bytes of lowercase hex")
            elif personal_digest(e.salt, row) != e.digest:
                self.add("edited", e.seq, e.id,
                         "personal columns do not match personal_digest")
        if e.prev is None or e.digest is None or e.hash is None or e.at is None \
                or row["details"] is None:
            self.add("edited", e.seq, e.id,
                     "prev_hash, hash, personal_digest, at or details not in the spec's form; "
                     "hash cannot be recomputed")
            return
        fields = dict(row, at=e.at)  # `at` as the parsed integer (psql gives it as text)
        if event_hash(e.prev, fields, e.digest) != e.hash:
            self.add("edited", e.seq, e.id, "columns do not match hash")

    def run(self):
        chain = self.src.chain_row()
        if chain is None:
            raise InputError("audit_chain has no row with id = 1")
        head_seq, start_seq = as_int(chain["head_seq"]), as_int(chain["start_seq"])
        head_hash_hex = chain["head_hash"]
        head_hash = parse_hex(head_hash_hex, 32)
        start_prev = parse_hex(chain["start_prev"], 32)
        if head_seq is None or start_seq is None or start_seq < 1 or start_prev is None:
            raise InputError("audit_chain row id = 1 is malformed: %r" % (chain,))
        pruned = start_seq > 1

        trusted = self.load_seals()
        last_sealed = max(trusted) if trusted else None

        # Start check (spec sections 5 and 7): a pruned chain's start must be vouched for by a
        # trusted seal at start_seq - 1 with hash start_prev, else events were deleted from the
        # beginning (one finding, without a place).
        if pruned and not any(h == start_prev for h in trusted.get(start_seq - 1, ())):
            hs = trusted.get(start_seq - 1)
            self.add("deleted", None, None,
                     "events were deleted from the beginning: start_seq = %d but %s"
                     % (start_seq, "the trusted seal at seq %d has hash %s, not start_prev %s"
                        % (start_seq - 1, " / ".join(h.hex() for h in hs), start_prev.hex())
                        if hs else "no trusted seal at seq %d vouches for start_prev %s"
                        % (start_seq - 1, start_prev.hex())))

        # expected_prev is bytes, or None after an event whose stored hash is malformed (that
        # event is already reported edited; no prev_hash can match it).
        expected_prev = start_prev
        expected_seq = start_seq
        pending = None  # after a reorder: the expected_prev for the event after the next one
        p, p_expected = None, None  # the previous event and the link it was judged by
        count, first_seq, last, unsealed = 0, None, None, 0
        erased = {}     # pseudonym -> [id] of walked events whose erased_by names it
        erasures = {}   # pseudonym -> [(seq, events, events_digest)] of walked user.erase

        it = iter(self.src.events_from(start_seq))
        nxt = next(it, None)
        while nxt is not None:
            e = Event(nxt)
            nxt = next(it, None)
            n = Event(nxt) if nxt is not None else None  # the one-event lookahead
            if e.seq is None:  # seq >= start_seq was selected, so it is an integer
                raise InputError("audit_events.seq is not an integer: %r" % (e.row["seq"],))

            count += 1
            first_seq = e.seq if first_seq is None else first_seq
            last = e
            if last_sealed is None or e.seq > last_sealed:
                unsealed += 1

            # Steps 1 and 2.
            self.check_event_hashes(e)

            # Step 3.
            judged_by = expected_prev
            override, pending = pending, None
            next_prev = e.hash
            if e.seq > head_seq:
                self.add("inserted", e.seq, e.id,
                         "event is beyond audit_chain.head_seq = %d" % head_seq)
            elif e.seq > expected_seq:
                self.add("deleted", expected_seq, None,
                         "places %d..%d are missing (next event is at %d, id %s)"
                         % (expected_seq, e.seq - 1, e.seq, e.id))
            elif not same(e.prev, expected_prev):
                exp = expected_prev.hex() if expected_prev is not None else "(malformed)"
                if n is not None and same(n.hash, e.prev) and same(n.prev, expected_prev):
                    self.add("reordered", e.seq, e.id,
                             "this event and the next (seq %s, id %s) are in each other's "
                             "places" % (n.seq, n.id))
                    next_prev = expected_prev
                    pending = e.hash
                elif p is not None and same(e.prev, p_expected):
                    self.add("inserted", p.seq, p.id,
                             "event is not in the chain: the next event (seq %s, id %s) links "
                             "to the one before it" % (e.seq, e.id))
                elif n is not None and same(n.prev, expected_prev):
                    self.add("inserted", e.seq, e.id,
                             "event is not in the chain: the next event (seq %s, id %s) links "
                             "to the one before it" % (n.seq, n.id))
                    next_prev = expected_prev
                else:
                    self.add("broken_link", e.seq, e.id,
                             "prev_hash %s is not the previous event's hash %s"
                             % (e.prev_hex, exp))
            if override is not None:
                next_prev = override  # this is the `n` of a reorder: its successor links to e

            # Step 4.
            for h in trusted.get(e.seq, ()):
                if e.hash is None or h != e.hash:
                    self.add("seal_mismatch", e.seq, e.id,
                             "trusted seal says hash %s, event has %s: the events up to here "
                             "were rewritten after sealing" % (h.hex(), e.hash_hex))

            # Erasure bookkeeping (section 6).
            pseudonym = e.row["erased_by"]
            if pseudonym is not None:
                erased.setdefault(pseudonym, []).append(e.id)
            elif e.row["personal_salt"] is None:
                self.add("erasure_mismatch", e.seq, e.id,
                         "event has no personal_salt and names no pseudonym (erased_by)")
            if e.row["action"] == "user.erase":
                er = self.parse_erasure(e)
                if er[0] is not None:
                    erasures.setdefault(er[0], []).append((e.seq,) + er[1:])

            # Step 5.
            p, p_expected = e, judged_by
            expected_prev = next_prev
            expected_seq = e.seq + 1

        # Events with no place were inserted outside the server.
        for id_ in self.src.unplaced_ids():
            self.add("inserted", None, id_, "event has no seq: inserted outside the server")

        # The tail and the head.
        last_place = last.seq if last is not None else start_seq - 1
        beyond = sorted(s for s in trusted if s > last_place)
        if beyond:
            self.add("truncated", None, None,
                     "the tail was truncated: %d trusted seal(s) beyond the last event at %d, "
                     "the highest at %d" % (len(beyond), last_place, beyond[-1]))
        elif head_seq > last_place:
            self.add("truncated", None, None,
                     "the tail was truncated: audit_chain.head_seq = %d but the last event is "
                     "at %d" % (head_seq, last_place))
        elif last is not None and last.seq == head_seq and not same(last.hash, head_hash):
            self.add("edited", last.seq, last.id,
                     "the last event's hash %s is not audit_chain.head_hash %s: it was "
                     "replaced whole" % (last.hash_hex, head_hash_hex))

        self.check_erasures(erased, erasures, pruned)

        return {
            "events": count,
            "first_seq": first_seq,
            "last_seq": last.seq if last is not None else None,
            "seals": sum(len(v) for v in trusted.values()),
            "last_sealed_seq": last_sealed,
            "unsealed": unsealed,
            "findings": self.findings,
        }

    # -- erasure accounting (section 6) -------------------------------------------------------

    @staticmethod
    def parse_erasure(e):
        """(pseudonym, events, events_digest) of a user.erase event, None where malformed."""
        try:
            d = json.loads(e.row["details"])
        except (TypeError, ValueError):
            d = None
        if not isinstance(d, dict):
            d = {}
        p, n, dg = d.get("pseudonym"), d.get("events"), d.get("events_digest")
        if not isinstance(p, str):
            p = None
        if isinstance(n, bool) or not isinstance(n, int):
            n = None
        return (p, n, parse_hex(dg, 32))

    def check_erasures(self, erased, erasures, pruned):
        """For each pseudonym P named (erased_by) by walked events: those events must be
        exactly what the user.erase event with pseudonym P declares, in count and digest, else
        one erasure mismatch without a place. Pruned chain: a P with no user.erase, or with
        fewer events than it declares, is accepted. An erasure no walked event names is not a
        finding."""
        for p, ids in erased.items():
            ers = erasures.get(p)
            have_n, have_d = len(ids), erasure_digest(ids)
            if not ers:
                if pruned:
                    continue  # its user.erase may have been pruned
                self.add("erasure_mismatch", None, None,
                         "%d event(s) name pseudonym %s but no user.erase event declares it"
                         % (have_n, p))
                continue
            if any(n == have_n and dg == have_d for (_s, n, dg) in ers):
                continue
            if pruned and any(n is not None and have_n < n for (_s, n, _dg) in ers):
                continue  # some of its events may have been pruned
            self.add("erasure_mismatch", None, None,
                     "pseudonym %s: %s; the walked events naming it are %d, digest %s" % (
                         p, "; ".join("user.erase at seq %s declares events=%s "
                                      "events_digest=%s" % (s, n, dg.hex() if dg else None)
                                      for (s, n, dg) in ers), have_n, have_d.hex()))


def fmt(v):
    return "-" if v is None else str(v)


def cmd_verify(args):
    keys = []
    for h in args.public_key:
        b = parse_hex(h.strip().lower(), 32)
        if b is None:
            print("error: --public-key must be 64 hex digits (32 bytes): %r" % h,
                  file=sys.stderr)
            return 2
        try:
            keys.append(Ed25519PublicKey.from_public_bytes(b))
        except ValueError as e:
            print("error: bad public key %s: %s" % (h, e), file=sys.stderr)
            return 2
    try:
        src = SqliteSource(args.sqlite) if args.sqlite is not None \
            else PostgresSource(args.postgres)
        report = Verifier(src, keys).run()
    except InputError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        for f in report["findings"]:
            print("%s seq=%s id=%s %s" % (f["kind"], fmt(f["seq"]), fmt(f["id"]),
                                         f["message"]))
        print("events=%d first=%s last=%s seals=%d last_sealed=%s unsealed=%d findings=%d" % (
            report["events"], fmt(report["first_seq"]), fmt(report["last_seq"]),
            report["seals"], fmt(report["last_sealed_seq"]), report["unsealed"],
            len(report["findings"])))
    return 1 if report["findings"] else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("vectors", help="check the test vectors of spec section 7")
    v = sub.add_parser("verify", help="verify an audit trail")
    src = v.add_mutually_exclusive_group(required=True)
    src.add_argument("--sqlite", metavar="PATH")
    src.add_argument("--postgres", metavar="URL")
    v.add_argument("--public-key", metavar="HEX", action="append", required=True,
                   help="a trusted seal public key (Ed25519, 64 hex digits); repeatable")
    v.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.cmd == "vectors":
        return cmd_vectors(args)
    return cmd_verify(args)


if __name__ == "__main__":
    sys.exit(main())
