#!/usr/bin/env bash
# Oracle for image watermarks in strongroom-docs: Python Pillow opens our stamped PNG/JPEG
# output and checks its size, mode and pixels independently of the `image` crate.
# Idempotent: installs only what is missing. Runs as root in CI (sourced or executed by
# .ci/run); installs into the default python3, the one the tests run.
set -euo pipefail

images_probe() {
    python3 -c 'import PIL.Image, PIL.PngImagePlugin, PIL.JpegImagePlugin' >/dev/null 2>&1
}

if ! command -v python3 >/dev/null 2>&1; then
    echo "35-images: installing python3"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-pip
fi
if ! images_probe; then
    echo "35-images: installing Pillow with pip"
    if ! python3 -m pip --version >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip
    fi
    # Debian's own python3 refuses plain pip installs (PEP 668); retry with its override.
    python3 -m pip install --quiet --disable-pip-version-check 'Pillow>=10' \
        || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages 'Pillow>=10'
fi
if images_probe; then
    echo "35-images: oracle ready ($(python3 -c 'import PIL; print("Pillow", PIL.__version__)'))"
else
    echo "35-images: python3 cannot import Pillow after install" >&2
    false
fi
