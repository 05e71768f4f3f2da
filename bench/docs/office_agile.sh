#!/usr/bin/env bash
# Encrypt and decrypt a ~10 MB .docx with strongroom-docs vs msoffcrypto-tool (same machine,
# same run). Usage: bench/docs/office_agile.sh [SIZE_MB] [RUNS]
# Needs: cargo, python3, msoffcrypto-tool (.ci/install.d/30-docs.sh installs it);
# uses hyperfine when present, otherwise a plain timing loop. Also reports peak RSS.
set -euo pipefail
SIZE_MB="${1:-10}"
RUNS="${2:-5}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export PW="bench password"

CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}" \
    cargo build --release --quiet -p strongroom-docs --example office_crypt \
    --manifest-path "$ROOT/Cargo.toml"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/office_crypt"

# A docx: a short document.xml plus SIZE_MB of incompressible media (stored), like a report
# with photos.
python3 - "$WORK/in.docx" "$SIZE_MB" <<'PY'
import os, sys, zipfile
path, mb = sys.argv[1], int(sys.argv[2])
ct = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
      '<Default Extension="xml" ContentType="application/xml"/><Default Extension="bin" ContentType="application/octet-stream"/>'
      '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>')
doc = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
       '<w:body><w:p><w:r><w:t>benchmark</w:t></w:r></w:p></w:body></w:document>')
with zipfile.ZipFile(path, "w") as z:
    z.writestr("[Content_Types].xml", ct)
    z.writestr("_rels/.rels", rels)
    z.writestr("word/document.xml", doc)
    z.writestr("word/media/blob.bin", os.urandom(mb * 1024 * 1024), compress_type=zipfile.ZIP_STORED)
PY
ls -l "$WORK/in.docx" | awk '{printf "input: %.1f MB\n", $5/1e6}'

"$BIN" encrypt "$WORK/in.docx" "$WORK/ours.docx"
msoffcrypto-tool -e -p "$PW" "$WORK/in.docx" "$WORK/theirs.docx"
# Cross-check before timing: each decrypts the other's output to the original.
"$BIN" decrypt "$WORK/theirs.docx" "$WORK/x1.docx" || { echo "FAIL: we cannot decrypt theirs"; exit 1; }
cmp "$WORK/in.docx" "$WORK/x1.docx" || { echo "FAIL: their file decrypts to other bytes"; exit 1; }
msoffcrypto-tool -p "$PW" "$WORK/ours.docx" "$WORK/x2.docx" || { echo "FAIL: they cannot decrypt ours"; exit 1; }
cmp "$WORK/in.docx" "$WORK/x2.docx" || { echo "FAIL: our file decrypts to other bytes"; exit 1; }
echo "cross-check: each decrypts the other's output to the original bytes"

if command -v hyperfine >/dev/null 2>&1; then
    hyperfine --warmup 1 --runs "$RUNS" \
        -n "strongroom encrypt" "$BIN encrypt $WORK/in.docx $WORK/o1.docx" \
        -n "msoffcrypto encrypt" "msoffcrypto-tool -e -p '$PW' $WORK/in.docx $WORK/o2.docx" \
        -n "strongroom decrypt" "$BIN decrypt $WORK/ours.docx $WORK/o3.docx" \
        -n "msoffcrypto decrypt" "msoffcrypto-tool -p '$PW' $WORK/ours.docx $WORK/o4.docx"
else
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
    t "strongroom encrypt" "$BIN" encrypt "$WORK/in.docx" "$WORK/o1.docx"
    t "msoffcrypto encrypt" msoffcrypto-tool -e -p "$PW" "$WORK/in.docx" "$WORK/o2.docx"
    t "strongroom decrypt" "$BIN" decrypt "$WORK/ours.docx" "$WORK/o3.docx"
    t "msoffcrypto decrypt" msoffcrypto-tool -p "$PW" "$WORK/ours.docx" "$WORK/o4.docx"
fi

if [ -x /usr/bin/time ]; then
    for mode in encrypt decrypt; do
        src="$WORK/in.docx"; [ "$mode" = decrypt ] && src="$WORK/ours.docx"
        /usr/bin/time -f "strongroom $mode peak RSS: %M KiB" "$BIN" "$mode" "$src" "$WORK/r.docx"
    done
    /usr/bin/time -f "msoffcrypto encrypt peak RSS: %M KiB" msoffcrypto-tool -e -p "$PW" "$WORK/in.docx" "$WORK/r.docx"
    /usr/bin/time -f "msoffcrypto decrypt peak RSS: %M KiB" msoffcrypto-tool -p "$PW" "$WORK/ours.docx" "$WORK/r.docx"
fi
