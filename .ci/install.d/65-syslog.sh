#!/usr/bin/env bash
# The independent RFC 5424 parser the SIEM export's collector (tests/oracle/syslog_receiver.py)
# reads every message with, and openssl for the TLS collector's certificate.
set -euo pipefail
if ! command -v openssl >/dev/null; then
    echo "65-syslog: installing openssl"
    apt-get install -y -qq openssl >/dev/null
fi
if python3 -c 'import syslog_rfc5424_parser' 2>/dev/null; then
    echo "65-syslog: syslog-rfc5424-parser present"
    exit 0
fi
echo "65-syslog: installing syslog-rfc5424-parser with pip"
python3 -m pip install --quiet --disable-pip-version-check 'syslog-rfc5424-parser==0.3.2' \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages 'syslog-rfc5424-parser==0.3.2'
python3 -c 'import syslog_rfc5424_parser'
