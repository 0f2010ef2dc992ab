#!/usr/bin/env bash
# Installs everything the platform needs on a fresh Debian machine: Debian packages, then the
# project with its Python dependencies. Used by the README's first command and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
# libusb-1.0-0: open3d needs it at import time.
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libusb-1.0-0 >/dev/null
python -m pip install --disable-pip-version-check -q -e ".[test]"
python -c "import open3d, trimesh, torch; print(f'installed: open3d {open3d.__version__}, torch {torch.__version__}')"
