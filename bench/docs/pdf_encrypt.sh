#!/usr/bin/env bash
# Encrypt (AES-256, R6) and decrypt a ~100 MB PDF with strongroom-docs vs qpdf (same machine,
# same run). Usage: bench/docs/pdf_encrypt.sh [SIZE_MB] [RUNS]
# Needs: cargo, python3, qpdf (.ci/install.d/30-docs.sh installs it). Reports the best of RUNS
# and peak RSS (GNU time, when present).
set -euo pipefail
SIZE_MB="${1:-100}"
RUNS="${2:-3}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export PW="bench password"
OWNER="$PW (owner)"

CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}" \
    cargo build --release --quiet -p strongroom-docs --example pdf_crypt \
    --manifest-path "$ROOT/Cargo.toml"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/pdf_crypt"

# A PDF like a scanned report: one page per MiB, each with a line of text and a 1 MiB image
# that is already Flate-compressed (so neither tool spends time compressing it).
python3 - "$WORK/in.pdf" "$SIZE_MB" <<'PY'
import os, sys, zlib
path, pages = sys.argv[1], int(sys.argv[2])
objs = []  # (number, bytes)
def add(body):
    objs.append(body)
    return len(objs)
font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
kids = []
pages_num = len(objs) + 1 + 3 * pages + 1  # placeholder, fixed below
page_ids = []
bodies = []
for i in range(pages):
    img = zlib.compress(os.urandom(1024 * 1024), 1)
    img_id = add(b"<< /Type /XObject /Subtype /Image /Width 1024 /Height 1024 /ColorSpace /DeviceGray"
                 b" /BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n" % len(img) + img + b"\nendstream")
    text = b"BT /F1 18 Tf 72 800 Td (Page %d of the benchmark report) Tj ET q 450 0 0 450 72 200 cm /Im0 Do Q" % (i + 1)
    content_id = add(b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream")
    page_ids.append(add(None))
    bodies.append((page_ids[-1], img_id, content_id))
pages_id = add(None)
catalog = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
for page_id, img_id, content_id in bodies:
    objs[page_id - 1] = (b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R"
                         b" /Resources << /Font << /F1 %d 0 R >> /XObject << /Im0 %d 0 R >> >> >>"
                         % (pages_id, content_id, font, img_id))
objs[pages_id - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
    b" ".join(b"%d 0 R" % p for p, _, _ in bodies), len(bodies))
out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
offsets = []
for n, body in enumerate(objs, 1):
    offsets.append(len(out))
    out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
xref = len(out)
out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
for off in offsets:
    out += b"%010d 00000 n \n" % off
out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, catalog, xref)
open(path, "wb").write(out)
PY
ls -l "$WORK/in.pdf" | awk '{printf "input: %.1f MB\n", $5/1e6}'
qpdf --check "$WORK/in.pdf" >/dev/null

"$BIN" encrypt "$WORK/in.pdf" "$WORK/ours.pdf"
qpdf --encrypt "$PW" "$OWNER" 256 -- "$WORK/in.pdf" "$WORK/theirs.pdf"
# Cross-check before timing: each decrypts the other's output.
info=$(qpdf --show-encryption --password="$PW" "$WORK/ours.pdf")
grep -q "R = 6" <<<"$info" || { echo "FAIL: ours is not R6"; exit 1; }
qpdf --password="$PW" --decrypt "$WORK/ours.pdf" "$WORK/x1.pdf" || { echo "FAIL: qpdf cannot decrypt ours"; exit 1; }
"$BIN" decrypt "$WORK/theirs.pdf" "$WORK/x2.pdf" || { echo "FAIL: we cannot decrypt qpdf's"; exit 1; }
for f in x1 x2; do
    [ "$(pdftotext -f 7 -l 7 "$WORK/$f.pdf" - | head -1)" = "Page 7 of the benchmark report" ] || { echo "FAIL: $f text"; exit 1; }
done
echo "cross-check: qpdf decrypts ours, we decrypt qpdf's, page text intact"

t() { # name, command...
    local name="$1"; shift
    local best=999999
    for _ in $(seq "$RUNS"); do
        local s e ms
        s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N)
        ms=$(( (e - s) / 1000000 )); (( ms < best )) && best=$ms
    done
    printf "%-22s best of %s: %6d ms\n" "$name" "$RUNS" "$best"
}
t "strongroom encrypt" "$BIN" encrypt "$WORK/in.pdf" "$WORK/o1.pdf"
t "qpdf encrypt" qpdf --encrypt "$PW" "$OWNER" 256 -- "$WORK/in.pdf" "$WORK/o2.pdf"
t "strongroom decrypt" "$BIN" decrypt "$WORK/ours.pdf" "$WORK/o3.pdf"
t "qpdf decrypt" qpdf --password="$PW" --decrypt "$WORK/ours.pdf" "$WORK/o4.pdf"

if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "strongroom encrypt peak RSS: %M KiB" "$BIN" encrypt "$WORK/in.pdf" "$WORK/r.pdf"
    /usr/bin/time -f "qpdf encrypt peak RSS: %M KiB" qpdf --encrypt "$PW" "$OWNER" 256 -- "$WORK/in.pdf" "$WORK/r.pdf"
    /usr/bin/time -f "strongroom decrypt peak RSS: %M KiB" "$BIN" decrypt "$WORK/ours.pdf" "$WORK/r.pdf"
    /usr/bin/time -f "qpdf decrypt peak RSS: %M KiB" qpdf --password="$PW" --decrypt "$WORK/ours.pdf" "$WORK/r.pdf"
fi
