#!/usr/bin/env bash
# Builds the npm package in pkg/ from the crate: a release wasm build (WebGPU + the CPU
# fallback), wasm-bindgen (the CLI pinned to the crate's wasm-bindgen version), wasm-opt
# (npm's binaryen, from web/node_modules). Prints the .wasm size raw and gzipped.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vidt-target}"
version=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
[ -n "$version" ] || { echo "no wasm-bindgen in Cargo.lock"; exit 1; }

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

# The CLI must match the library exactly; installing it takes ~12 min on 2 cores, so only when
# that version is missing. Its own target dir, so it neither pollutes nor waits on ours.
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$version" ]; then
  echo "== installing wasm-bindgen-cli $version"
  # It only rewrites one .wasm per build: a lightly optimised build without LTO is plenty and
  # installs faster on a cold machine.
  CARGO_TARGET_DIR="$HOME/.cache/wasm-bindgen-cli-target" CARGO_PROFILE_RELEASE_LTO=false \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_DEBUG=false \
    cargo install -q wasm-bindgen-cli --version "$version"
fi

[ -x web/node_modules/.bin/wasm-opt ] || (cd web && npm ci --no-audit --no-fund)

echo "== wasm build (release)"
# cdylib only here: native builds stay rlib-only (no shared library to link for every test).
cargo rustc --lib --release --target wasm32-unknown-unknown --crate-type cdylib
wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/vidt.wasm"

echo "== wasm-bindgen"
rm -f pkg/vidt.js pkg/vidt.d.ts pkg/vidt_bg.wasm pkg/vidt_bg.wasm.d.ts
wasm-bindgen --target web --out-dir pkg --out-name vidt "$wasm"

if [ "${VIDT_SKIP_WASM_OPT:-0}" != 1 ]; then
  echo "== wasm-opt"
  web/node_modules/.bin/wasm-opt -O3 --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
    pkg/vidt_bg.wasm -o pkg/vidt_bg.opt.wasm
  mv pkg/vidt_bg.opt.wasm pkg/vidt_bg.wasm
fi

raw=$(stat -c %s pkg/vidt_bg.wasm)
gz=$(gzip -9 -c pkg/vidt_bg.wasm | wc -c)
awk -v r="$raw" -v g="$gz" -v c="$(stat -c %s "$wasm")" 'BEGIN {
  printf "pkg/vidt_bg.wasm: %.2f MB raw, %.2f MB gzip -9 (before wasm-opt %.2f MB)\n", r/1e6, g/1e6, c/1e6 }'
