#!/usr/bin/env node
// Serves the demo page: node web/serve.mjs [--port 8080]. Plain static files; the page is at
// http://127.0.0.1:PORT/web/ (WebGPU needs a secure context: localhost or https).
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { serve, ROOT } from "./lib/harness.mjs";

const { values } = parseArgs({ options: { port: { type: "string", default: "8080" } } });
for (const [file, how] of [
  ["pkg/vidt.js", "bash scripts/build-pkg.sh"],
  ["web/models/default.vidt", "bash web/demo.sh (exports the default model)"],
]) {
  if (!fs.existsSync(path.join(ROOT, file))) console.warn(`warning: ${file} is missing; run ${how}`);
}
const { origin } = await serve({ port: Number(values.port), log: true });
console.log(`vidt demo: ${origin}/web/  (Ctrl-C stops)`);
