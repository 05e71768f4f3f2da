#!/usr/bin/env bash
# Listing a 100-file folder as JSON through Strongroom's API (bearer token), at 1 and 32
# connections, on SQLite and on PostgreSQL, next to dufs listing the same 100 files as JSON
# (`?json`), in one run. Also file metadata (GET /files/{id}). Reports requests/s, p99
# latency and the ratio to dufs.
#   bench/listing/run.sh [SECONDS]     (needs wrk from apt, dufs from `cargo install dufs`;
#                                       PostgreSQL at STRONGROOM_BENCH_POSTGRES_URL or 127.0.0.1)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/strongroom/target}"
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release -q -p strongroom
bin="$CARGO_TARGET_DIR/release/strongroom"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
command -v dufs >/dev/null || { echo "dufs is missing: cargo install dufs" >&2; exit 1; }
pg_base=${STRONGROOM_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# wrk: "requests/s p99_ms"
measure() { # $1 connections, $2 url, rest: extra wrk args
    local c=$1 url=$2; shift 2
    local t=$(( c < 2 ? 1 : 2 ))  # wrk needs at least one connection per thread
    wrk -t"$t" -c"$c" -d"${secs}s" --latency "$@" "$url" >"$work/wrk.out" 2>&1 || { cat "$work/wrk.out" >&2; exit 1; }
    python3 - "$work/wrk.out" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"Requests/sec:\s+([\d.]+)", t)
if not m:
    sys.exit("wrk failed:\n" + t)
rps = float(m.group(1))
m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", t)
p99 = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
if errors:
    sys.exit("wrk saw %s failed answers:\n%s" % (errors.group(1), t))
print("%.0f %.1f" % (rps, p99))
PY
}

pw="benchmark passphrase 1"
results="$work/results"
run_strongroom() { # $1: name, $2: config
    local data="$work/$1" cfg="$work/$1.toml"
    printf '%s\n' "$2" >"$cfg"
    echo "$pw" | "$bin" admin user create --config "$cfg" --data-dir "$data" --email bench@example.org --role owner --password-stdin >/dev/null 2>&1
    local port; port=$(free_port)
    "$bin" serve --config "$cfg" --data-dir "$data" --listen "127.0.0.1:$port" 2>"$work/$1.log" &
    local pid=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    local B="http://127.0.0.1:$port/api/v1" csrf token root file
    csrf=$(curl -sf -c "$work/jar" "$B/auth/login" -H 'Content-Type: application/json' \
        -d "{\"email\":\"bench@example.org\",\"password\":\"$pw\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
    token=$(curl -sf -b "$work/jar" -H "X-CSRF-Token: $csrf" "$B/tokens" -H 'Content-Type: application/json' \
        -d '{"name":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
    root=$(curl -sf -H "Authorization: Bearer $token" "$B/rooms" -H 'Content-Type: application/json' \
        -d '{"name":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["root_folder_id"])')
    for i in $(seq -w 1 100); do
        file=$(curl -sf -H "Authorization: Bearer $token" --data-binary "file $i" "$B/folders/$root/files?name=f$i.txt" \
            | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    done
    local n; n=$(curl -sf -H "Authorization: Bearer $token" "$B/folders/$root" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["files"]))')
    [ "$n" = 100 ] || { echo "strongroom ($1) lists $n files, not 100" >&2; exit 1; }
    for c in 1 32; do
        echo "$1 listing $c $(measure $c "$B/folders/$root" -H "Authorization: Bearer $token")" >>"$results"
        echo "$1 metadata $c $(measure $c "$B/files/$file" -H "Authorization: Bearer $token")" >>"$results"
    done
    kill $pid; wait $pid 2>/dev/null || true
}
run_strongroom sqlite ''
pg_db="sr_bench_$$"
if psql "$pg_base/postgres" -qc "CREATE DATABASE $pg_db" 2>/dev/null; then
    run_strongroom postgres "$(printf '[database]\nurl = "%s/%s"\n' "$pg_base" "$pg_db")"
    psql "$pg_base/postgres" -qc "DROP DATABASE $pg_db" || true
else
    echo "PostgreSQL not reachable at $pg_base: SQLite only" >&2
fi

# dufs on the same 100 files
mkdir -p "$work/dufs"
for i in $(seq -w 1 100); do echo "file $i" >"$work/dufs/f$i.txt"; done
dport=$(free_port)
dufs -b 127.0.0.1 -p "$dport" "$work/dufs" >/dev/null 2>&1 &
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$dport/" >/dev/null && break; sleep 0.1; done
n=$(curl -sf "http://127.0.0.1:$dport/?json" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["paths"]))')
[ "$n" = 100 ] || { echo "dufs lists $n entries, not 100" >&2; exit 1; }
for c in 1 32; do
    echo "dufs listing $c $(measure $c "http://127.0.0.1:$dport/?json")" >>"$results"
    # dufs stalls ~40 ms per keep-alive request under wrk (delayed ACK): also without keep-alive.
    echo "dufs-close listing $c $(measure $c "http://127.0.0.1:$dport/?json" -H 'Connection: close')" >>"$results"
done

python3 - "$results" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
peer = {}
for name, what, c, rps, p99 in rows:
    if name.startswith("dufs") and what == "listing":
        peer[c] = max(peer.get(c, 0), float(rps))
print("%-10s %-9s %5s %10s %9s %s" % ("server", "request", "conns", "req/s", "p99 ms", "vs best dufs listing"))
for name, what, c, rps, p99 in rows:
    ratio = float(rps) / peer[c] if c in peer else float("nan")
    print("%-10s %-9s %5s %10s %9s %6.2fx" % (name, what, c, rps, p99, ratio))
PY
