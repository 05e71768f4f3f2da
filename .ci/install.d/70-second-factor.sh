#!/usr/bin/env bash
# The second-factor oracles: pyotp (RFC 6238 codes computed apart from our code) and zbarimg
# (decodes the enrolment QR code).
set -euo pipefail
if ! python3 -c 'import pyotp' 2>/dev/null; then
    echo "70-second-factor: installing pyotp with pip"
    python3 -m pip install --quiet --disable-pip-version-check 'pyotp>=2.9' \
        || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages 'pyotp>=2.9'
fi
python3 -c 'import pyotp'
if ! command -v zbarimg >/dev/null; then
    echo "70-second-factor: installing zbar-tools"
    if [ "$(id -u)" = 0 ]; then
        apt-get update -q && apt-get install -y -q zbar-tools
    else
        sudo apt-get update -q && sudo apt-get install -y -q zbar-tools
    fi
fi
command -v zbarimg
echo "70-second-factor: pyotp and zbarimg present"
