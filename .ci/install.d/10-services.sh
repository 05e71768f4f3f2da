#!/usr/bin/env bash
# Services for the storage backends: the PostgreSQL client (psql creates one database per
# test run) and s3s-fs, a real S3-compatible server that checks request signatures.
# Idempotent: installs only what is missing.
set -euo pipefail

if ! command -v psql >/dev/null 2>&1; then
    echo "10-services: installing postgresql-client"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-client
fi
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v s3s-fs >/dev/null 2>&1; then
    echo "10-services: installing s3s-fs 0.14.1 (a few minutes, once)"
    CARGO_TARGET_DIR=/var/cache/strongroom/s3s-target \
        cargo install --locked s3s-fs@0.14.1 --features binary --quiet
fi
echo "10-services: psql and s3s-fs ready"
