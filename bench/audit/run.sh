#!/usr/bin/env bash
# The audit trail at scale (issue: "Fast with history"): N events on SQLite and on PostgreSQL,
# appends through audit::record and the filtered searches of GET /api/v1/audit.
#
# Builds crates/strongroom-store/examples/audit_bench.rs in release mode, then for each
# backend: a fresh database (a SQLite file in a temporary directory; a PostgreSQL database
# created here and dropped at the end), N realistic hash-chained events loaded in bulk
# (multi-row INSERTs in big transactions, indexes re-created afterwards, ANALYZE), then
#   - appends: APPENDS x audit::record, one after the other (p50/p95/p99/max);
#   - chain: spot checks of re-hashed rows and, with VERIFY=1, a full audit::verify walk;
#   - searches: each filter kind RUNS times with random values (first page of PAGE, and
#     following the cursor 5 pages deep), capped at CAP_SECS seconds per kind;
#   - with EXPLAIN=1, the plan of one sample of each (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE).
# Prints markdown; each backend's report is also kept in OUT (default: a temporary directory).
#
# Usage: bench/audit/run.sh [EVENTS]          (default 10000000; 100000 for a quick run)
# Env:   BACKENDS ("sqlite postgres"), PG_URL (postgres://postgres@127.0.0.1:5432),
#        APPENDS (2000), RUNS (100), CAP_SECS (60), PAGE (50), VERIFY (1), EXPLAIN (1),
#        KEEP (0; 1 keeps the databases for experiments by hand and prints where they are),
#        ONLY (parts of kind names, comma-separated: only those searches, e.g. "q:,+ q"),
#        OUT, CARGO_TARGET_DIR.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
events="${1:-10000000}"
backends="${BACKENDS:-sqlite postgres}"
pg_url="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
keep="${KEEP:-0}"
target="${CARGO_TARGET_DIR:-$repo/target}"
out="${OUT:-$(mktemp -d)}"
mkdir -p "$out"

(cd "$repo" && CARGO_TARGET_DIR="$target" cargo build --quiet --release -p strongroom-store --example audit_bench)
bench="$target/release/examples/audit_bench"

flags=(--events "$events" --appends "${APPENDS:-2000}" --runs "${RUNS:-100}" --cap-secs "${CAP_SECS:-60}"
    --page "${PAGE:-50}")
[ "${VERIFY:-1}" = 1 ] && flags+=(--verify)
[ "${EXPLAIN:-1}" = 1 ] && flags+=(--explain)
[ -n "${ONLY:-}" ] && flags+=(--only "$ONLY")

tmp=""
pg_db=""
cleanup() {
    if [ "$keep" != 1 ]; then
        [ -n "$tmp" ] && rm -rf "$tmp"
        [ -n "$pg_db" ] && psql "$pg_url/postgres" -qAtc "DROP DATABASE IF EXISTS $pg_db" >/dev/null
    fi
    return 0
}
trap cleanup EXIT

echo "# Audit trail benchmark: $events events"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)," \
    "$(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GB RAM"
echo

for b in $backends; do
    case "$b" in
        sqlite)
            tmp="$(mktemp -d)"
            url="sqlite://$tmp/audit.db"
            ;;
        postgres)
            pg_db="audit_bench_$$"
            psql "$pg_url/postgres" -qAtc "DROP DATABASE IF EXISTS $pg_db" >/dev/null
            psql "$pg_url/postgres" -qAtc "CREATE DATABASE $pg_db" >/dev/null
            url="$pg_url/$pg_db"
            echo "PostgreSQL $(psql "$url" -qAtc 'SHOW server_version'): shared_buffers" \
                "$(psql "$url" -qAtc 'SHOW shared_buffers'), work_mem $(psql "$url" -qAtc 'SHOW work_mem')," \
                "synchronous_commit $(psql "$url" -qAtc 'SHOW synchronous_commit') (the server's own settings)."
            echo
            ;;
        *)
            echo "run.sh: unknown backend $b" >&2
            exit 1
            ;;
    esac
    echo "Load average before: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared)."
    echo
    echo "\$ audit_bench --url $url ${flags[*]}"
    echo
    "$bench" --url "$url" "${flags[@]}" | tee "$out/$b.md"
    echo
    echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
    [ "$keep" = 1 ] && echo "(kept: $url)" && echo
done
echo "Reports: $out"
