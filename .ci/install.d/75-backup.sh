#!/usr/bin/env bash
# The standard tools a backup archive must open with in an emergency (age, zstd, tar): the
# archive tests decrypt and unpack what we wrote with them alone.
set -euo pipefail
missing=()
for tool in age zstd tar sha256sum; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "75-backup: age, zstd, tar present"
    exit 0
fi
echo "75-backup: installing ${missing[*]}"
apt-get install -y -qq age zstd tar coreutils >/dev/null || { apt-get update -qq && apt-get install -y -qq age zstd tar coreutils >/dev/null; }
age --version
