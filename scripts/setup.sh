#!/usr/bin/env bash
# What the tests need, installed only where missing (so `bash scripts/test.sh` works on a fresh
# machine, and a warm one pays nothing): Mesa lavapipe (Vulkan on the CPU, for the wgpu kernel
# tests), Chromium and Node (the browser tests), the wasm target, the browser test driver
# (npm: playwright-core, binaryen's wasm-opt), pycocotools (the reference of the COCO
# evaluation test) and Pillow (the photo test's resize reference). Debian/Ubuntu packages, via sudo when not root.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null || { echo "cargo is required: https://rustup.rs"; exit 1; }

pkgs=()
ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 || pkgs+=(mesa-vulkan-drivers libvulkan1)
[ -x /usr/bin/chromium ] || pkgs+=(chromium)
command -v node >/dev/null || pkgs+=(nodejs)
command -v npm >/dev/null || pkgs+=(npm)
python3 -m pip --version >/dev/null 2>&1 || pkgs+=(python3-pip)
if [ ${#pkgs[@]} -gt 0 ]; then
  echo "== installing ${pkgs[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi

if command -v rustup >/dev/null; then
  rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
fi
# A fresh install on CI (the lock file decides); kept where already installed from it.
if [ -n "${CI:-}" ] || [ ! -d web/node_modules/playwright-core ]; then
  (cd web && npm ci --no-audit --no-fund)
fi
# pycocotools: the COCO evaluation test's reference; Pillow: the photo test's resize reference
# (the official pipeline resizes with PIL).
if ! python3 -c "import pycocotools, PIL" 2>/dev/null; then
  python3 -m pip install -q pycocotools pillow 2>/dev/null || python3 -m pip install -q --break-system-packages pycocotools pillow
fi
test -f ../shared/fixtures/fixtures.json || { echo "../shared/fixtures is missing: the parity tests need it"; exit 1; }
echo "setup: node $(node --version), $(/usr/bin/chromium --version)"
