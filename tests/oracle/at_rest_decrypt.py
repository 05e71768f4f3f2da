#!/usr/bin/env python3
"""Independent decryptor for the Strongroom at-rest format v1.

Written from docs/formats/at-rest-v1.md alone, with the `cryptography` package, to prove the
spec is complete and the Rust code follows it. It shares no code with the Rust crate.

Usage:
  at_rest_decrypt.py decrypt --key-text-file F (--object-id HEX | --secret-name NAME) IN OUT [--range A:B]
      Decrypt a stored object (or plaintext bytes A..B of it, reading only the chunks
      involved). Exit 0 on success; exit 1 with a message naming the failure otherwise.
      The key may also come from env STRONGROOM_ENCRYPTION_KEY (key-file text).
      --secret-name: the object is a sealed secret of that name (spec section 8).
  at_rest_decrypt.py vectors DIR
      Check every vector file in DIR (format: spec section 9): key ids, derived keys, exact
      re-encryption with the given data key and IVs, decryption, rotation, passphrase
      derivation; and that every negative vector is rejected with exactly its `error` by the
      length-first procedure (spec 5.1) and its `error_streaming` by the streaming one (5.2).

Rejections are reported by the spec's error names (section 5.3), e.g. "chunk-integrity 1".
"""

import argparse
import base64
import hmac as std_hmac
import os
import re
import sys

from cryptography.hazmat.primitives import hashes, hmac, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = bytes([0x89, 0x53, 0x52, 0x41, 0x52, 0x0D, 0x0A, 0x1A])
HEADER_LEN = 160
OVERHEAD = 64


class FormatError(Exception):
    """Any reason an object is rejected, named as in spec section 5.3: `name`, plus the chunk
    number `index` for the names that carry one (truncated, chunk-integrity, ...)."""

    def __init__(self, name, index=None, detail=None):
        self.name, self.index = name, index
        token = name if index is None else "%s %d" % (name, index)
        self.token = token
        super().__init__(token if detail is None else "%s (%s)" % (token, detail))


def hkdf(ikm, info, length=32):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info.encode()).derive(ikm)


def mac(key, *parts):
    h = hmac.HMAC(key, hashes.SHA256())
    for p in parts:
        h.update(p)
    return h.finalize()


def mac_ok(key, tag, *parts):
    # Constant-time comparison.
    return std_hmac.compare_digest(mac(key, *parts), tag)


def cbc_encrypt(key, iv, data):
    e = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return e.update(data) + e.finalize()


def cbc_decrypt(key, iv, data):
    d = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return d.update(data) + d.finalize()


class Master:
    def __init__(self, key):
        if len(key) != 32:
            raise FormatError("invalid-key-text", detail="master key must be 32 bytes")
        self.key = key
        self.kid = hkdf(key, "strongroom at-rest v1 master key id", 16)
        self.kwe = hkdf(key, "strongroom at-rest v1 key wrap encryption")
        self.kwm = hkdf(key, "strongroom at-rest v1 key wrap mac")

    @staticmethod
    def from_text(text):
        text = text.strip(" \t\r\n")
        m = re.fullmatch(r"strongroom-master-key-v1:([0-9a-f]{32}):([A-Za-z0-9+/=]+)", text)
        if not m:
            raise FormatError("invalid-key-text", detail="not a master key text")
        key = base64.b64decode(m.group(2), validate=True)
        master = Master(key)
        if master.kid.hex() != m.group(1):
            raise FormatError("invalid-key-text", detail="key id in key text does not match the key")
        return master

    def text(self):
        return "strongroom-master-key-v1:%s:%s" % (self.kid.hex(), base64.b64encode(self.key).decode())


def parse_header(header, masters, expected_id):
    """Spec section 5, steps 1-6. `header` is the first 160 bytes (fewer if the object is
    shorter). Returns (chunk_size, KE, KM, HM)."""
    # Step 1: fewer than 160 bytes. Bytes that cannot be the start of the magic name the
    # object as not ours; otherwise it was cut short.
    if len(header) < HEADER_LEN:
        if header[:8] != MAGIC[:len(header[:8])]:
            raise FormatError("not-at-rest-object")
        raise FormatError("truncated", 0, "inside the header")
    # Step 2.
    if header[0:8] != MAGIC:
        raise FormatError("not-at-rest-object")
    version = int.from_bytes(header[8:10], "big")
    if version != 1:
        raise FormatError("unsupported-version", detail="version %d" % version)
    if header[10] != 1:
        raise FormatError("unsupported-algorithm", detail="algorithm %d" % header[10])
    if header[11] != 0:
        raise FormatError("unsupported-flags", detail="flags 0x%02x" % header[11])
    s = int.from_bytes(header[12:16], "big")
    if s % 16 != 0 or not (16 <= s <= 16 * 1024 * 1024):
        raise FormatError("invalid-chunk-size", detail="chunk size %d" % s)
    object_id = header[16:32]
    hm = header[32:64]
    kid = header[64:80]
    wrap_iv = header[80:96]
    wrapped = header[96:128]
    env_mac = header[128:160]
    # Step 3.
    master = next((m for m in masters if m.kid == kid), None)
    if master is None:
        raise FormatError("unknown-master-key", detail=kid.hex())
    # Step 4.
    if not mac_ok(master.kwm, env_mac, header[0:128]):
        raise FormatError("header-integrity", detail="envelope MAC")
    # Step 5.
    dk = cbc_decrypt(master.kwe, wrap_iv, wrapped)
    if not mac_ok(hkdf(dk, "strongroom at-rest v1 header mac"), hm, header[0:32]):
        raise FormatError("header-integrity", detail="header MAC")
    # Step 6.
    if object_id != expected_id:
        raise FormatError("object-id-mismatch", detail="found %s" % object_id.hex())
    ke = hkdf(dk, "strongroom at-rest v1 chunk encryption")
    km = hkdf(dk, "strongroom at-rest v1 chunk mac")
    return s, ke, km, hm


def layout(cipher_len, s):
    """Spec section 5 step 7 (the lengths of section 4): (chunk count N, plaintext length L)."""
    r = s + OVERHEAD
    b = cipher_len - HEADER_LEN
    if b < OVERHEAD:
        # Not even one record: every object has one, an empty one included.
        raise FormatError("truncated", 0, "no complete record after the header")
    n = max(1, -(-b // r))
    last = b - (n - 1) * r
    if last < OVERHEAD or (n > 1 and last == OVERHEAD):
        raise FormatError("invalid-object-length", detail="%d bytes" % cipher_len)
    return n, b - OVERHEAD * n


def open_record(ke, km, hm, s, index, final, record):
    """Spec section 5, steps 8-9: verify, then decrypt one record. The caller has made sure
    the record holds at least 64 bytes and at most S + 64."""
    n = len(record) - OVERHEAD
    signed, tag = record[:-32], record[-32:]

    def tag_ok(f):
        return mac_ok(km, tag, hm, index.to_bytes(8, "big"), bytes([1 if f else 0]), signed)

    # Step 8: the tag first; nothing is decrypted before it verifies. Then name the failure
    # by trying the other final flag.
    if not tag_ok(final):
        if tag_ok(not final):
            if final:
                raise FormatError("truncated", index + 1, "record %d was written as non-final" % index)
            raise FormatError("data-after-final-chunk", index)
        raise FormatError("chunk-integrity", index)
    # Step 9: only a faulty writer holding the key gets here with bad contents.
    # (A reader that did step 7 never sees a bad length here; a streaming one can: an empty
    # final record after full ones.)
    length_fits = (n > 0 or index == 0) if final else n == s
    if not length_fits:
        raise FormatError("malformed", index, "chunk length does not fit its position")
    iv = signed[:16]
    clen = 16 * (n // 16 + 1)
    c = signed[16:16 + clen]
    z = signed[16 + clen:]
    if len(z) != n % 16 or any(z):
        raise FormatError("malformed", index, "length filler not zero")
    d = cbc_decrypt(ke, iv, c)
    pad = 16 - n % 16
    if any(x != pad for x in d[n:]):
        raise FormatError("malformed", index, "padding disagrees with length")
    return d[:n]


def seal_record(ke, km, hm, index, final, iv, p):
    """Spec section 3.2, for the exact-bytes check of the vectors."""
    pad = padding.PKCS7(128).padder()
    c = cbc_encrypt(ke, iv, pad.update(p) + pad.finalize())
    body = iv + c + bytes(len(p) % 16)
    return body + mac(km, hm, index.to_bytes(8, "big"), bytes([1 if final else 0]), body)


def decrypt_object(f, cipher_len, masters, expected_id, out, rng=None):
    """Spec section 5.1 (the length is known): decrypt all (rng None) or plaintext range
    rng = (a, b) of the object in file f."""
    f.seek(0)
    s, ke, km, hm = parse_header(f.read(HEADER_LEN), masters, expected_id)
    n, length = layout(cipher_len, s)
    a, b = (0, length) if rng is None else rng
    if not (0 <= a <= b <= length):
        raise FormatError("range-out-of-bounds", detail="object of %d bytes" % length)
    if a == b:
        if rng is None:
            # An empty object still has its final chunk to verify.
            f.seek(HEADER_LEN)
            open_record(ke, km, hm, s, 0, True, f.read(cipher_len - HEADER_LEN))
        return 0
    r = s + OVERHEAD
    first, last = a // s, (b - 1) // s
    f.seek(HEADER_LEN + first * r)
    skip, left = a - first * s, b - a
    for i in range(first, last + 1):
        rec_len = min(r, cipher_len - (HEADER_LEN + i * r))
        record = f.read(rec_len)
        if len(record) != rec_len:
            raise FormatError("truncated", i, "file shorter than its size")
        p = open_record(ke, km, hm, s, i, i == n - 1, record)
        piece = p[skip:skip + left]
        out.write(piece)
        left -= len(piece)
        skip = 0
    return b - a


def decrypt_streaming(data, masters, expected_id):
    """Spec section 5.2: a reader that learns the stored length only when its input ends.
    No step 7; records of R bytes are verified as soon as a byte follows them."""
    s, ke, km, hm = parse_header(data[:HEADER_LEN], masters, expected_id)
    r = s + OVERHEAD
    body = data[HEADER_LEN:]
    plain, pos, i = [], 0, 0
    while len(body) - pos > r:
        plain.append(open_record(ke, km, hm, s, i, False, body[pos:pos + r]))
        pos += r
        i += 1
    last = body[pos:]
    if len(last) < OVERHEAD:
        raise FormatError("truncated", i, "%d bytes of a record left" % len(last))
    plain.append(open_record(ke, km, hm, s, i, True, last))
    return b"".join(plain)


def read_vector(path):
    fields = {}
    for line in open(path, encoding="ascii"):
        if line.startswith("#") or ": " not in line:
            continue
        k, v = line.rstrip("\n").split(": ", 1)
        fields.setdefault(k, []).append(v)
    return fields


def one(fields, k):
    return fields[k][0]


def pattern(n):
    return bytes((7 * i + 3) % 256 for i in range(n))


def check_negative(v):
    """A damaged object: both procedures must reject it, each with the stated name."""
    import io
    master = Master.from_text(one(v, "master_key_text"))
    expected_id = bytes.fromhex(one(v, "object_id"))
    ct = bytes.fromhex(one(v, "ciphertext"))
    for what, want, run in (
        ("length-first", one(v, "error"),
         lambda: decrypt_object(io.BytesIO(ct), len(ct), [master], expected_id, io.BytesIO())),
        ("streaming", one(v, "error_streaming"),
         lambda: decrypt_streaming(ct, [master], expected_id)),
    ):
        try:
            run()
        except FormatError as e:
            assert e.token == want, "%s reader: %s, expected %s" % (what, e, want)
            continue
        raise AssertionError("%s reader accepted a negative vector" % what)


def check_vector(path):
    v = read_vector(path)
    if "error" in v:
        check_negative(v)
        return
    if "passphrase_params" in v:
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
        passphrase = bytes.fromhex(one(v, "passphrase_utf8"))
        text = passphrase.decode("utf-8")  # strict: the KDF input is UTF-8
        if "passphrase_codepoints" in v:
            points = "".join(chr(int(p[2:], 16)) for p in one(v, "passphrase_codepoints").split(" "))
            assert points == text, "code points and UTF-8 bytes disagree"
        m = re.fullmatch(r"strongroom-passphrase-v1:argon2id:m=(\d+),t=(\d+),p=(\d+):(\S+)",
                         one(v, "passphrase_params"))
        assert m, "bad passphrase params"
        mem, t, p = int(m.group(1)), int(m.group(2)), int(m.group(3))
        salt = base64.b64decode(m.group(4), validate=True)
        key = Argon2id(salt=salt, length=32, iterations=t, lanes=p, memory_cost=mem).derive(passphrase)
        assert key.hex() == one(v, "master_key"), "argon2id master key"
        master = Master(key)
        assert master.kid.hex() == one(v, "master_key_id"), "passphrase key id"
        assert master.text() == one(v, "master_key_text"), "passphrase key text"
        return
    master = Master.from_text(one(v, "master_key_text"))
    assert master.key.hex() == one(v, "master_key"), "key text decodes to the master key"
    expected_id = bytes.fromhex(one(v, "object_id"))
    ct = bytes.fromhex(one(v, "ciphertext"))
    length = int(one(v, "plaintext_len").split()[0])
    plain = bytes.fromhex(one(v, "plaintext")) if "plaintext" in v else pattern(length)
    assert len(plain) == length

    import io
    out = io.BytesIO()
    decrypt_object(io.BytesIO(ct), len(ct), [master], expected_id, out)
    assert out.getvalue() == plain, "decrypted plaintext"
    assert decrypt_streaming(ct, [master], expected_id) == plain, "streaming plaintext"

    if "old_master_key" in v:
        # Rotation: the old key no longer opens it; the ciphertext re-wraps byte for byte.
        old = Master(bytes.fromhex(one(v, "old_master_key")))
        try:
            decrypt_object(io.BytesIO(ct), len(ct), [old], expected_id, io.BytesIO())
            raise AssertionError("old key must not open a rewrapped object")
        except FormatError:
            pass
        dk = cbc_decrypt(master.kwe, ct[80:96], ct[96:128])
        wrap_iv = bytes.fromhex(one(v, "wrap_iv"))
        env = ct[0:64] + master.kid + wrap_iv + cbc_encrypt(master.kwe, wrap_iv, dk)
        assert env + mac(master.kwm, env) == ct[:HEADER_LEN], "rewrapped header bytes"
        return

    # Exact re-encryption from the given data key and IVs (spec sections 2-3).
    assert master.kid.hex() == one(v, "master_key_id")
    assert master.kwe.hex() == one(v, "wrap_enc_key") and master.kwm.hex() == one(v, "wrap_mac_key")
    dk = bytes.fromhex(one(v, "data_key"))
    ke = hkdf(dk, "strongroom at-rest v1 chunk encryption")
    km = hkdf(dk, "strongroom at-rest v1 chunk mac")
    kh = hkdf(dk, "strongroom at-rest v1 header mac")
    assert (ke.hex(), km.hex(), kh.hex()) == (one(v, "chunk_enc_key"), one(v, "chunk_mac_key"),
                                              one(v, "header_mac_key"))
    s = int(one(v, "chunk_size").split()[0])
    obj = MAGIC + (1).to_bytes(2, "big") + bytes([1, 0]) + s.to_bytes(4, "big") + expected_id
    hm = mac(kh, obj)
    wrap_iv = bytes.fromhex(one(v, "wrap_iv"))
    env = obj + hm + master.kid + wrap_iv + cbc_encrypt(master.kwe, wrap_iv, dk)
    header = env + mac(master.kwm, env)
    assert header.hex() == one(v, "header"), "header bytes"
    ivs = [bytes.fromhex(x) for x in v["chunk_iv"]]
    n = max(1, -(-length // s))
    assert len(ivs) == n
    body = b"".join(seal_record(ke, km, hm, i, i == n - 1, ivs[i], plain[i * s:(i + 1) * s])
                    for i in range(n))
    assert header + body == ct, "ciphertext bytes"
    assert len(ct) == HEADER_LEN + length + OVERHEAD * n, "ciphertext length formula"
    # Every range at chunk borders, read through the random-access path.
    edges = sorted({0, 1, s - 1, s, s + 1, length - 1, length} & set(range(length + 1)))
    for a in edges:
        for b in edges:
            if a <= b:
                o = io.BytesIO()
                decrypt_object(io.BytesIO(ct), len(ct), [master], expected_id, o, (a, b))
                assert o.getvalue() == plain[a:b], "range %d:%d" % (a, b)


def secret_object_id(name):
    """Spec section 8: a sealed secret's object id comes from its name."""
    h = hashes.Hash(hashes.SHA256())
    h.update(b"strongroom secret v1\x00" + name.encode())
    return h.finalize()[:16]


def expected_id(args):
    if args.secret_name is not None:
        return secret_object_id(args.secret_name)
    return bytes.fromhex(args.object_id)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("decrypt")
    d.add_argument("--key-text-file")
    which = d.add_mutually_exclusive_group(required=True)
    which.add_argument("--object-id")
    which.add_argument("--secret-name")
    d.add_argument("--range")
    d.add_argument("input")
    d.add_argument("output")
    vec = sub.add_parser("vectors")
    vec.add_argument("dir")
    args = ap.parse_args()

    if args.cmd == "vectors":
        passed = failed = negatives = 0
        for name in sorted(os.listdir(args.dir)):
            if not name.endswith(".txt"):
                continue
            negatives += "error" in read_vector(os.path.join(args.dir, name))
            try:
                check_vector(os.path.join(args.dir, name))
                passed += 1
            except (AssertionError, FormatError, KeyError, ValueError) as e:
                print("FAIL %s: %s" % (name, e))
                failed += 1
        print("at-rest vectors: %d passed, %d failed (%d negative)" % (passed, failed, negatives))
        sys.exit(1 if failed or not passed else 0)

    text = open(args.key_text_file).read() if args.key_text_file else os.environ.get("STRONGROOM_ENCRYPTION_KEY", "")
    rng = None
    if args.range:
        a, b = args.range.split(":")
        rng = (int(a), int(b))
    try:
        master = Master.from_text(text)
        size = os.path.getsize(args.input)
        with open(args.input, "rb") as f, open(args.output, "wb") as out:
            n = decrypt_object(f, size, [master], expected_id(args), out, rng)
    except FormatError as e:
        try:
            os.unlink(args.output)
        except OSError:
            pass
        print("at_rest_decrypt: rejected: %s" % e, file=sys.stderr)
        sys.exit(1)
    print("at_rest_decrypt: %d bytes" % n)


if __name__ == "__main__":
    main()
