#!/usr/bin/env bash
# Every test: native (CPU parity on flex, WGSL kernels and the model on wgpu/lavapipe), then the
# npm package build and the browser tests in headless Chromium (parity on WebGPU and on the CPU
# fallback, the demo page, memory, the package installed from a tarball).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vidt-target}"

echo "== setup (scripts/setup.sh: installs what is missing)"
bash scripts/setup.sh

# The tests' scratch files (model exports, checkpoints cut short, training runs, bundler builds:
# ~2 GB a run) go to one temporary folder, removed when this script ends, pass or fail.
scratch_root=$(mktemp -d "${TMPDIR:-/tmp}/vidt-tests-XXXXXX")
trap 'rm -rf "$scratch_root"' EXIT
export TMPDIR="$scratch_root"

echo "== native tests (cargo test)"
cargo test
# The browser tests export models with the CLI that cargo test just built.
export VIDT_BIN="$CARGO_TARGET_DIR/debug/vidt"

echo "== npm package (scripts/build-pkg.sh)"
bash scripts/build-pkg.sh

echo "== browser tests (web/test, headless Chromium)"
(cd web && npm test)
