#!/usr/bin/env bash
# Fuzzing: cargo-fuzz (libFuzzer driver) for scripts/fuzz, which scripts/test runs at the end.
# The toolchain stays stable Rust; scripts/fuzz sets RUSTC_BOOTSTRAP=1 for the nightly-only
# flags cargo fuzz passes. libFuzzer itself is built from source by the libfuzzer-sys crate
# (needs a C++ compiler, which the machine has).
# Idempotent: installs only when the pinned version is missing.
set -euo pipefail
export PATH="$HOME/.cargo/bin:$PATH"

CARGO_FUZZ_VERSION=0.13.2
if cargo fuzz --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION\$"; then
    echo "40-fuzz: cargo-fuzz $CARGO_FUZZ_VERSION ready"
    exit 0
fi
if ! command -v c++ >/dev/null 2>&1; then
    echo "40-fuzz: installing g++ (libFuzzer is C++)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++
fi
echo "40-fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION (about a minute, once)"
CARGO_TARGET_DIR=/var/cache/strongroom/cargo-fuzz-install \
    cargo install --locked --quiet "cargo-fuzz@$CARGO_FUZZ_VERSION"
cargo fuzz --version
echo "40-fuzz: cargo-fuzz ready"
