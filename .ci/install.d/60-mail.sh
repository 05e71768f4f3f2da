#!/usr/bin/env bash
# The SMTP server the mail tests deliver to and read from: aiosmtpd on loopback.
set -euo pipefail
if python3 -c 'import aiosmtpd' 2>/dev/null; then
    echo "60-mail: aiosmtpd present"
    exit 0
fi
echo "60-mail: installing aiosmtpd with pip"
python3 -m pip install --quiet --disable-pip-version-check 'aiosmtpd>=1.4' \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages 'aiosmtpd>=1.4'
python3 -c 'import aiosmtpd'
