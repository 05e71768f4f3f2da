#!/usr/bin/env bash
# At-rest crypto core vs OpenSSL on this machine (issue 3, "Speed").
#
# Measures, in the same run and interleaved so machine noise hits both alike:
#   - openssl speed: AES-256-CBC encrypt, AES-256-CBC decrypt, HMAC-SHA256 (16 KiB blocks),
#     on one core and on all cores (N openssl processes in parallel, summed: `-multi` reports
#     HMAC as hmac(md5) in OpenSSL 3.0, so it is not used);
#   - strongroom-crypto (examples/at_rest_bench.rs): Encrypt-then-MAC and verify-then-decrypt
#     of a 64 MiB in-memory object with 64 KiB chunks, 1 thread and all threads.
# Limits: Encrypt-then-MAC limit = 1/(1/AES_enc + 1/HMAC); decrypt limit = 1/(1/AES_dec +
# 1/HMAC) — what one core gets doing the two OpenSSL passes one after the other.
# Each figure is the median of ROUNDS rounds of SECONDS seconds.
#
# Usage: bench/at-rest/run.sh [--write]   (--write also updates the figures in RESULTS.md)
# On a machine shared with builds, `nice -n -10 bench/at-rest/run.sh` keeps them from
# distorting the figures (how RESULTS.md was measured).
# Env:   ROUNDS (3), SECONDS_EACH (3), MIB (64), CARGO_TARGET_DIR.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
rounds="${ROUNDS:-3}"
secs="${SECONDS_EACH:-3}"
mib="${MIB:-64}"
cores="$(nproc)"
target="${CARGO_TARGET_DIR:-$repo/target}"
write=0
[ "${1:-}" = "--write" ] && write=1

command -v openssl >/dev/null || { echo "run.sh: openssl is needed" >&2; exit 1; }
(cd "$repo" && CARGO_TARGET_DIR="$target" cargo build --quiet --release -p strongroom-crypto --example at_rest_bench)
bench="$target/release/examples/at_rest_bench"

raw="$(mktemp)"
trap 'rm -f "$raw"' EXIT

# openssl_mb NAME THREADS ARGS...: MB/s (10^6 bytes/s) summed over THREADS parallel processes.
openssl_mb() {
    local name="$1" n="$2"; shift 2
    local outs=() i
    for ((i = 0; i < n; i++)); do
        outs+=("$(mktemp)")
        openssl speed -elapsed -seconds "$secs" -bytes 16384 "$@" >"${outs[$i]}" 2>/dev/null &
    done
    wait
    local total=0 k
    for f in "${outs[@]}"; do
        k="$(tail -1 "$f" | awk '{print $NF}' | tr -d k)"
        total="$(python3 -c "print($total + $k / 1000)")"
        rm -f "$f"
    done
    echo "$name $n $total" >>"$raw"
}

for ((r = 1; r <= rounds; r++)); do
    echo "round $r/$rounds" >&2
    for n in 1 "$cores"; do
        openssl_mb openssl-aes-256-cbc-encrypt "$n" -evp aes-256-cbc
        openssl_mb openssl-aes-256-cbc-decrypt "$n" -decrypt -evp aes-256-cbc
        openssl_mb openssl-hmac-sha256 "$n" -hmac sha256
    done
    BENCH_SECONDS="$secs" "$bench" "$mib" "$cores" >>"$raw"
done

python3 - "$raw" "$cores" "$write" "$here/RESULTS.md" <<'PY'
import statistics, sys, platform, subprocess, datetime
raw, cores, write, out = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
vals = {}
for line in open(raw):
    name, threads, mbs = line.split()
    vals.setdefault((name, int(threads)), []).append(float(mbs))
med = {k: statistics.median(v) for k, v in vals.items()}
def g(name, t): return med.get((name, t), float("nan"))
rows = []
for t in sorted({1, cores}):
    enc, dec, mac = (g("openssl-aes-256-cbc-encrypt", t), g("openssl-aes-256-cbc-decrypt", t),
                     g("openssl-hmac-sha256", t))
    enc_limit, dec_limit = 1 / (1 / enc + 1 / mac), 1 / (1 / dec + 1 / mac)
    ours_enc, ours_dec = g("encrypt-then-mac", t), g("verify-then-decrypt", t)
    rows.append((t, enc, dec, mac, enc_limit, ours_enc, ours_enc / enc_limit,
                 dec_limit, ours_dec, ours_dec / dec_limit))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
ossl = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
lines = [
    "| threads | OpenSSL AES-256-CBC enc | dec | HMAC-SHA256 | EtM limit | **ours EtM** | ratio | decrypt limit | **ours verify+decrypt** | ratio |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
]
for r in rows:
    lines.append("| %d | %.0f | %.0f | %.0f | %.0f | **%.0f** | **%.0f %%** | %.0f | **%.0f** | **%.0f %%** |"
                 % (r[0], r[1], r[2], r[3], r[4], r[5], 100 * r[6], r[7], r[8], 100 * r[9]))
prim = "Rust primitives alone, 1 core, 64 KiB: AES-256-CBC encrypt %.0f MB/s, HMAC-SHA256 %.0f MB/s." % (
    g("rust-aes-256-cbc-encrypt", 1), g("rust-hmac-sha256", 1))
table = "\n".join(lines)
print(table)
print(prim)
if write:
    load = open("/proc/loadavg").read().split()[:3]
    block = ("<!-- measured:begin (written by run.sh --write) -->\n"
             "Measured %s on %s; %s; %d cores; load average at the end %s.\n"
             "All figures MB/s (10^6 bytes/s), median of %d rounds.\n\n%s\n\n%s\n"
             "<!-- measured:end -->" % (datetime.date.today().isoformat(), cpu, ossl, cores,
                                        " ".join(load), len(next(iter(vals.values()))), table, prim))
    try:
        doc = open(out).read()
    except FileNotFoundError:
        doc = "# At-rest crypto core vs OpenSSL\n\n<!-- measured:begin -->\n<!-- measured:end -->\n"
    head, _, rest = doc.partition("<!-- measured:begin")
    _, _, tail = rest.partition("<!-- measured:end -->")
    with open(out, "w") as f:
        f.write(head + block + tail)
PY
