#!/usr/bin/env bash
# Oracles for strongroom-docs (Office agile encryption, PDF R6, xlsx protection, ODF
# encryption through LibreOffice UNO, PDF watermarks through pdftotext).
# Idempotent: installs only what is missing; runs `apt-get update` only when an apt package
# is missing. Runs as root in CI (sourced or executed by .ci/run).
set -euo pipefail

docs_missing_apt=()
for pkg in libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui \
           python3-uno qpdf poppler-utils; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        docs_missing_apt+=("$pkg")
    fi
done
if [ "${#docs_missing_apt[@]}" -gt 0 ]; then
    echo "30-docs: installing apt packages: ${docs_missing_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${docs_missing_apt[@]}"
fi

# Python oracles go into the default python3 (the one `pip` installs for and whose
# scripts are on PATH); LibreOffice's UNO bridge lives in Debian's /usr/bin/python3.
docs_missing_pip=()
command -v msoffcrypto-tool >/dev/null 2>&1 || docs_missing_pip+=("msoffcrypto-tool")
python3 -c "import openpyxl" >/dev/null 2>&1 || docs_missing_pip+=("openpyxl")
if [ "${#docs_missing_pip[@]}" -gt 0 ]; then
    echo "30-docs: installing pip packages: ${docs_missing_pip[*]}"
    python3 -m pip install --quiet --disable-pip-version-check "${docs_missing_pip[@]}"
    # pyenv needs its shims refreshed to expose new console scripts.
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
fi
echo "30-docs: oracles ready"
