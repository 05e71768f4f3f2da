#!/usr/bin/env bash
# Protect and unprotect one sheet of a ~1 GB .xlsx and report time and peak RSS: the sheet
# streams through (two passes, nothing held), so memory must stay flat whatever the size.
# Usage: bench/docs/xlsx_large.sh [MEDIA_MB] [ROWS]   (defaults: 700 MiB of pictures and
# 4,000,000 rows, about 0.5 GB of sheet XML: a ~1 GB file). Needs: cargo, python3, GNU time.
set -euo pipefail
MEDIA_MB="${1:-700}"
ROWS="${2:-4000000}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export PW="bench password"

CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}" \
    cargo build --release --quiet -p strongroom-docs --example xlsx_sheet --manifest-path "$ROOT/Cargo.toml"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/xlsx_sheet"

python3 - "$WORK/in.xlsx" "$MEDIA_MB" "$ROWS" <<'PY'
import os, sys, zipfile
path, media_mb, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ct = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
      '<Default Extension="bin" ContentType="application/octet-stream"/>'
      '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
      '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
wb = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
      'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>')
wb_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
           '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
with zipfile.ZipFile(path, "w", allowZip64=True) as z:
    z.writestr("[Content_Types].xml", ct)
    z.writestr("_rels/.rels", rels)
    z.writestr("xl/workbook.xml", wb)
    z.writestr("xl/_rels/workbook.xml.rels", wb_rels)
    with z.open(zipfile.ZipInfo("xl/worksheets/sheet1.xml"), "w", force_zip64=True) as f:
        zi = f._zinfo
        f.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
        batch = []
        for r in range(1, rows + 1):
            batch.append(b'<row r="%d"><c r="A%d"><v>%d</v></c><c r="B%d"><v>%d.5</v></c><c r="C%d"><f>A%d*B%d</f><v>0</v></c></row>' % (r, r, r, r, r * 7, r, r, r))
            if len(batch) == 10000:
                f.write(b"".join(batch)); batch = []
        f.write(b"".join(batch))
        f.write(b'</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>')
    with z.open(zipfile.ZipInfo("xl/media/pictures.bin"), "w", force_zip64=True) as f:
        for _ in range(media_mb):
            f.write(os.urandom(1024 * 1024))
PY
python3 - "$WORK/in.xlsx" <<'PY'
import os, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
sheet = z.getinfo("xl/worksheets/sheet1.xml")
print("input: %.2f GB file, sheet XML %.2f GB uncompressed" % (os.path.getsize(sys.argv[1]) / 1e9, sheet.file_size / 1e9))
PY

for mode in protect unprotect; do
    src="$WORK/in.xlsx"; [ "$mode" = unprotect ] && src="$WORK/protected.xlsx"
    out="$WORK/protected.xlsx"; [ "$mode" = unprotect ] && out="$WORK/clear.xlsx"
    /usr/bin/time -f "$mode: %e s, peak RSS %M KiB" "$BIN" "$mode" "$src" "$out" Data
done
# Check the result: the protection element is there, then gone, and the sheet is intact.
python3 - "$WORK/in.xlsx" "$WORK/protected.xlsx" "$WORK/clear.xlsx" <<'PY'
import hashlib, sys, zipfile
def sheet(p):
    with zipfile.ZipFile(p) as z, z.open("xl/worksheets/sheet1.xml") as f:
        h, tail = hashlib.sha256(), b""
        while chunk := f.read(1 << 20):
            h.update(chunk); tail = (tail + chunk)[-4096:]
        return h.hexdigest(), tail
a, _ = sheet(sys.argv[1]); _, ptail = sheet(sys.argv[2]); c, _ = sheet(sys.argv[3])
assert b"<sheetProtection" in ptail, "protected sheet lacks sheetProtection"
assert a == c, "unprotect did not restore the sheet byte for byte"
print("check: protected sheet has sheetProtection; unprotect restores the sheet byte for byte")
PY
