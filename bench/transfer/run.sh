#!/usr/bin/env bash
# Upload then download a file (default 1 GiB) through Strongroom's HTTP API on loopback, with
# and without encryption at rest, next to the same transfers with dufs (a Rust file server) on
# the same machine, in one run. Reports MB/s both ways, the ratios, and the server's RSS growth.
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
best() { python3 -c "print(max(float('$1'), float('$2')))"; }
# CPU seconds (user + system) a process has used so far.
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{print ($14 + $15) / t}' "/proc/$1/stat"; }
want=$(sha256sum "$work/big.bin" | cut -d' ' -f1)

# Strongroom, once as it is and once with encryption at rest.
pw="benchmark passphrase 1"
"$bin" encryption keygen -o "$work/master.key" 2>/dev/null
run_strongroom() { # $1: name, $2: extra config; prints "up down rss_before rss_peak"
    local data="$work/$1" cfg="$work/$1.toml"
    printf '%s\n' "$2" >"$cfg"
    echo "$pw" | "$bin" admin user create --config "$cfg" --data-dir "$data" --email bench@example.org --role owner --password-stdin >/dev/null 2>&1
    local port; port=$(free_port)
    "$bin" serve --config "$cfg" --data-dir "$data" --listen "127.0.0.1:$port" 2>"$work/$1.log" &
    local pid=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    local B="http://127.0.0.1:$port/api/v1" csrf token root up down file rss_before rss_peak
    csrf=$(curl -sf -c "$work/jar" "$B/auth/login" -H 'Content-Type: application/json' \
        -d "{\"email\":\"bench@example.org\",\"password\":\"$pw\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
    token=$(curl -sf -b "$work/jar" -H "X-CSRF-Token: $csrf" "$B/tokens" -H 'Content-Type: application/json' \
        -d '{"name":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
    root=$(curl -sf -H "Authorization: Bearer $token" "$B/rooms" -H 'Content-Type: application/json' \
        -d '{"name":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["root_folder_id"])')
    rss_before=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
    up=0; down=0
    for try in 1 2; do  # best of two: the disk's writeback makes single runs noisy
        sync
        s0=$(cpu_s $pid)
        u=$(/usr/bin/time -f '%U %S' -o "$work/curl.cpu" curl -sf -X POST -T "$work/big.bin" -H "Authorization: Bearer $token" \
            -H 'Content-Type: application/octet-stream' "$B/folders/$root/files?name=big$try.bin" -o "$work/up.json" -w '%{speed_upload}')
        up_cpu="$(python3 -c "print($(cpu_s $pid) - $s0)") $(awk '{print $1 + $2}' "$work/curl.cpu")"
        file=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/up.json")
        s0=$(cpu_s $pid)
        d=$(/usr/bin/time -f '%U %S' -o "$work/curl.cpu" curl -sf -H "Authorization: Bearer $token" "$B/files/$file/content" \
            -o /dev/null -w '%{speed_download}')
        down_cpu="$(python3 -c "print($(cpu_s $pid) - $s0)") $(awk '{print $1 + $2}' "$work/curl.cpu")"
        up=$(best "$up" "$u"); down=$(best "$down" "$d")
    done
    rss_peak=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
    got=$(curl -sf -H "Authorization: Bearer $token" "$B/files/$file/content" | sha256sum | cut -d' ' -f1)
    [ "$got" = "$want" ] || { echo "strongroom ($1) returned different bytes" >&2; exit 1; }
    kill $pid; wait $pid 2>/dev/null || true
    rm -rf "$data"
    echo "$up $down $rss_before $rss_peak $up_cpu $down_cpu"
}
read -r sr_up sr_down rss_before rss_peak p_up_srv p_up_cli p_down_srv p_down_cli <<<"$(run_strongroom plain '')"
read -r se_up se_down erss_before erss_peak e_up_srv e_up_cli e_down_srv e_down_cli \
    <<<"$(run_strongroom encrypted "$(printf '[encryption]\nenabled = true\nkey_file = "%s"' "$work/master.key")")"

# dufs on the same disk
mkdir -p "$work/dufs"
dport=$(free_port)
dufs -A -b 127.0.0.1 -p "$dport" "$work/dufs" >/dev/null 2>&1 &
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$dport/" >/dev/null && break; sleep 0.1; done
d_up=0; d_down=0
for try in 1 2; do
    sync
    u=$(curl -sf -T "$work/big.bin" "http://127.0.0.1:$dport/big$try.bin" -o /dev/null -w '%{speed_upload}')
    d=$(curl -sf "http://127.0.0.1:$dport/big$try.bin" -o /dev/null -w '%{speed_download}')
    d_up=$(best "$d_up" "$u"); d_down=$(best "$d_down" "$d")
done
got=$(curl -sf "http://127.0.0.1:$dport/big1.bin" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || { echo "dufs returned different bytes" >&2; exit 1; }

python3 - "$size_mib" "$sr_up" "$sr_down" "$d_up" "$d_down" "$rss_before" "$rss_peak" \
    "$se_up" "$se_down" "$erss_before" "$erss_peak" \
    "$p_up_srv" "$p_up_cli" "$p_down_srv" "$p_down_cli" "$e_up_srv" "$e_up_cli" "$e_down_srv" "$e_down_cli" "$(nproc)" <<'PY'
import sys
mib = sys.argv[1]
su, sd, du, dd, rb, rp, eu, ed, erb, erp = map(float, sys.argv[2:12])
pus, puc, pds, pdc, eus, euc, eds, edc = map(float, sys.argv[12:20])
cores = int(sys.argv[20])
size = int(mib) * 1024 * 1024
print(f"file: {mib} MiB, loopback, one run (best of two transfers each way)")
print(f"{'':22}{'upload MB/s':>14}{'download MB/s':>16}{'RSS growth MiB':>16}")
print(f"{'strongroom':22}{su/1e6:>14.0f}{sd/1e6:>16.0f}{(rp-rb)/1024:>16.1f}")
print(f"{'strongroom encrypted':22}{eu/1e6:>14.0f}{ed/1e6:>16.0f}{(erp-erb)/1024:>16.1f}")
print(f"{'dufs':22}{du/1e6:>14.0f}{dd/1e6:>16.0f}")
print(f"{'strongroom / dufs':22}{su/du:>14.2f}{sd/dd:>16.2f}")
print(f"{'encrypted / plain':22}{eu/su:>14.2f}{ed/sd:>16.2f}")
# What the machine allows: a transfer cannot finish before its CPU work (server + curl, both
# on this machine) is spread over every core, whatever the scheduling.
print()
print(f"CPU seconds per transfer (server + curl), last transfer each way; {cores} cores")
print(f"{'':22}{'upload':>14}{'download':>16}")
print(f"{'strongroom':22}{pus:>8.2f} + {puc:.2f}{pds:>10.2f} + {pdc:.2f}")
print(f"{'strongroom encrypted':22}{eus:>8.2f} + {euc:.2f}{eds:>10.2f} + {edc:.2f}")
bu = size / ((eus + euc) / cores)
bd = size / ((eds + edc) / cores)
print(f"{'encrypted, CPU bound':22}{bu/1e6:>14.0f}{bd/1e6:>16.0f}   MB/s if every core were busy all the time")
print(f"{'bound / plain':22}{bu/su:>14.2f}{bd/sd:>16.2f}   highest encrypted/plain ratio this machine allows")
PY
