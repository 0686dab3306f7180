#!/usr/bin/env bash
# The demo page, from a fresh clone: builds the npm package and the default model when they
# are missing, then serves the page at http://127.0.0.1:${PORT:-8080}/web/.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vidt-target}"

[ -f pkg/vidt.js ] && [ -f pkg/vidt_bg.wasm ] || bash scripts/build-pkg.sh
[ -d web/node_modules/playwright-core ] || (cd web && npm ci --no-audit --no-fund)
mkdir -p web/models
if [ -f models/demo.vidt ]; then
  # The committed demo model (kept in step with the repository's copy).
  cmp -s models/demo.vidt web/models/default.vidt || cp models/demo.vidt web/models/default.vidt
elif [ ! -f web/models/default.vidt ]; then
  cargo run --quiet -- export --weights ../shared/fixtures/vidt_nano_perturbed.pth \
    --out web/models/default.vidt --dtype f16
fi
exec node web/serve.mjs --port "${PORT:-8080}"
