#!/usr/bin/env bash
# Oracle for the OpenAPI document: schemathesis (`st`) runs generated requests against the
# real server and checks every answer against the document (crates/strongroom/tests/openapi.rs).
# Idempotent: installs only when `st` is missing. Pinned, so a new release cannot turn CI red.
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5
if ! command -v st >/dev/null 2>&1; then
    echo "50-openapi: installing schemathesis $SCHEMATHESIS_VERSION"
    python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" \
        || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages \
            "schemathesis==$SCHEMATHESIS_VERSION"
    # pyenv needs its shims refreshed to expose new console scripts.
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
fi
echo "50-openapi: oracle ready ($(st --version 2>/dev/null || echo 'st missing'))"
