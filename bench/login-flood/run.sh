#!/usr/bin/env bash
# A flood of unauthenticated sign-ins against a release build on loopback: N requests
# (default 192), C at a time (default 64), with a wrong password for a real account (the
# worst case: every request costs a full Argon2id hash). Meanwhile /healthz is timed.
# Reports the server's RSS before, its peak (VmHWM) and after, the answers by status, and
# /healthz latency, next to the bound we state (docs/architecture.md, "Password hashing is
# bounded"): baseline + 256 MiB.
#   bench/login-flood/run.sh [N] [C]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-192}
c=${2:-64}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/strongroom/target}"
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release -q -p strongroom
bin="$CARGO_TARGET_DIR/release/strongroom"

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
: >"$work/strongroom.toml"
echo "benchmark passphrase 1" | "$bin" admin user create --config "$work/strongroom.toml" --data-dir "$work/data" \
    --email bench@example.org --role owner --password-stdin >/dev/null 2>&1
"$bin" serve --config "$work/strongroom.toml" --data-dir "$work/data" --listen "127.0.0.1:$port" 2>"$work/log" &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
python3 bench/login-flood/flood.py "http://127.0.0.1:$port" "$pid" "$n" "$c"
