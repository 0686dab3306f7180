#!/usr/bin/env bash
# Builds what scripts/gpu-check.sh runs on a GPU machine that has no Rust toolchain and no
# network: the `vidt` binary and the integration-test binary, both with `--features cuda`
# beside the defaults (wgpu, flex), x86-64 Linux, copied (stripped) into gpu-check/ of the
# working tree and xz-compressed (~22 MB: the device tool carries at most 64 MiB; the two
# binaries are 130 MB). burn 0.21's CUDA backend loads libcuda/libnvrtc at run time, so this builds
# on a machine without CUDA. One cargo build (the test build links the binary too).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vidt-target}"

json=$(mktemp)
cargo test --no-run --features cuda --test it --message-format=json-render-diagnostics >"$json"
# The test executable: the `it` test target's artifact.
test_bin=$(python3 - "$json" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "it" and m.get("executable"):
        print(m["executable"])
PY
)
rm -f "$json"
[ -n "$test_bin" ] || { echo "no test executable in cargo's output"; exit 1; }
mkdir -p gpu-check
install -m 755 "$CARGO_TARGET_DIR/debug/vidt" gpu-check/vidt
install -m 755 "$test_bin" gpu-check/it
strip gpu-check/vidt gpu-check/it
gpu-check/vidt --help >/dev/null
xz -T0 -6 -f gpu-check/vidt gpu-check/it
git describe --always --dirty --abbrev=40 >gpu-check/COMMIT
ls -l gpu-check
echo "gpu-check/: vidt and it (cuda, wgpu, cpu) for commit $(cat gpu-check/COMMIT)"
