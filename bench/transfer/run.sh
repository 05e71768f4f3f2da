#!/usr/bin/env bash
# Upload then download a file (default 1 GiB) through Strongroom's HTTP API on loopback, next
# to the same transfers with dufs (a Rust file server) on the same machine, in one run.
# Reports MB/s both ways, the ratio to dufs, and the Strongroom server's RSS (before, peak).
#   bench/transfer/run.sh [SIZE_MIB]      (needs curl; dufs from `cargo install dufs`)
set -euo pipefail
cd "$(dirname "$0")/../.."
size_mib=${1:-1024}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/strongroom/target}"
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release -q -p strongroom
bin="$CARGO_TARGET_DIR/release/strongroom"
command -v dufs >/dev/null || { echo "dufs is missing: cargo install dufs" >&2; exit 1; }

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
echo "creating a ${size_mib} MiB test file"
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$work/big.bin"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
mbps() { python3 -c "print(f'{$1 / 1e6:.0f}')"; }

# Strongroom
pw="benchmark passphrase 1"
echo "$pw" | "$bin" admin user create --data-dir "$work/sr" --email bench@example.org --role owner --password-stdin >/dev/null
port=$(free_port)
"$bin" serve --data-dir "$work/sr" --listen "127.0.0.1:$port" 2>"$work/sr.log" &
sr_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
B="http://127.0.0.1:$port/api/v1"
csrf=$(curl -sf -c "$work/jar" "$B/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"bench@example.org\",\"password\":\"$pw\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
token=$(curl -sf -b "$work/jar" -H "X-CSRF-Token: $csrf" "$B/tokens" -H 'Content-Type: application/json' \
    -d '{"name":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
root=$(curl -sf -H "Authorization: Bearer $token" "$B/rooms" -H 'Content-Type: application/json' \
    -d '{"name":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["root_folder_id"])')
rss_before=$(awk '/VmRSS/ {print $2}' /proc/$sr_pid/status)
sr_up=$(curl -sf -X POST -T "$work/big.bin" -H "Authorization: Bearer $token" -H 'Content-Type: application/octet-stream' \
    "$B/folders/$root/files?name=big.bin" -o "$work/up.json" -w '%{speed_upload}')
file=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/up.json")
sr_down=$(curl -sf -H "Authorization: Bearer $token" "$B/files/$file/content" -o "$work/down.bin" -w '%{speed_download}')
rss_peak=$(awk '/VmHWM/ {print $2}' /proc/$sr_pid/status)
cmp -s "$work/big.bin" "$work/down.bin" || { echo "strongroom returned different bytes" >&2; exit 1; }
rm -f "$work/down.bin"
kill $sr_pid; wait $sr_pid 2>/dev/null || true

# dufs on the same disk
mkdir -p "$work/dufs"
dport=$(free_port)
dufs -A -b 127.0.0.1 -p "$dport" "$work/dufs" >/dev/null 2>&1 &
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$dport/" >/dev/null && break; sleep 0.1; done
d_up=$(curl -sf -T "$work/big.bin" "http://127.0.0.1:$dport/big.bin" -o /dev/null -w '%{speed_upload}')
d_down=$(curl -sf "http://127.0.0.1:$dport/big.bin" -o "$work/down.bin" -w '%{speed_download}')
cmp -s "$work/big.bin" "$work/down.bin" || { echo "dufs returned different bytes" >&2; exit 1; }

python3 - "$size_mib" "$sr_up" "$sr_down" "$d_up" "$d_down" "$rss_before" "$rss_peak" <<'PY'
import sys
mib, su, sd, du, dd, rb, rp = sys.argv[1], *map(float, sys.argv[2:])
print(f"file: {mib} MiB, loopback, one run")
print(f"{'':12}{'upload MB/s':>14}{'download MB/s':>16}")
print(f"{'strongroom':12}{su/1e6:>14.0f}{sd/1e6:>16.0f}")
print(f"{'dufs':12}{du/1e6:>14.0f}{dd/1e6:>16.0f}")
print(f"{'ratio':12}{su/du:>14.2f}{sd/dd:>16.2f}")
print(f"strongroom server RSS: {rb/1024:.1f} MiB before, {rp/1024:.1f} MiB peak, growth {(rp-rb)/1024:.1f} MiB")
PY
