#!/usr/bin/env bash
# Oracle for strongroom-crypto: tests/oracle/at_rest_decrypt.py needs python3 with the
# `cryptography` package, version 44 or newer (it has Argon2id, used by the passphrase
# vector). Idempotent: installs only what is missing. Runs as root in CI (sourced or
# executed by .ci/run); installs into the default python3, the one the tests run.
set -euo pipefail

crypto_probe() {
    python3 -c 'import cryptography.hazmat.primitives.kdf.argon2, cryptography.hazmat.primitives.kdf.hkdf' \
        >/dev/null 2>&1
}

if ! command -v python3 >/dev/null 2>&1; then
    echo "20-crypto: installing python3"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-pip
fi
if ! crypto_probe; then
    echo "20-crypto: installing cryptography>=44 with pip"
    if ! python3 -m pip --version >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip
    fi
    # Debian's own python3 refuses plain pip installs (PEP 668); retry with its override.
    python3 -m pip install --quiet --disable-pip-version-check 'cryptography>=44' \
        || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages 'cryptography>=44'
fi
if crypto_probe; then
    echo "20-crypto: oracle ready ($(python3 -c 'import cryptography; print("cryptography", cryptography.__version__)'))"
else
    echo "20-crypto: python3 cannot import cryptography>=44 after install" >&2
    false
fi
