#!/usr/bin/env node
// The browser build's raw forward pass, run in headless Chromium:
//   node web/forward.mjs --weights W --input IN.safetensors --output OUT.safetensors
//        [--backend auto|webgpu|cpu] [--decoder-layers K]
// IN holds `input` (B,3,H,W) and `mask` (B,H,W); OUT gets the tensors `vidt forward` writes.
// W is a .vidt model file or a safetensors checkpoint; a .pth is converted first (f32: the same
// weights) with the native `vidt export` (VIDT_BIN, or the cargo build), so the parity runs go
// through the .vidt reader the package ships with (the page reads .pth too: api.test.mjs).
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { serve, launch, openPage, isPytorch, findVidtBin, exportModel, scratch } from "./lib/harness.mjs";

const usage =
  "usage: node web/forward.mjs --weights W --input IN.safetensors --output OUT.safetensors " +
  "[--backend auto|webgpu|cpu] [--decoder-layers K]";

function fail(msg) {
  console.error(`forward.mjs: ${msg}`);
  process.exit(1);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      weights: { type: "string" },
      input: { type: "string" },
      output: { type: "string" },
      backend: { type: "string", default: "auto" },
      "decoder-layers": { type: "string" },
    },
  }));
} catch (e) {
  fail(`${e.message}\n${usage}`);
}
for (const k of ["weights", "input", "output"]) if (!args[k]) fail(`--${k} is required\n${usage}`);
for (const k of ["weights", "input"]) if (!fs.existsSync(args[k])) fail(`${args[k]}: no such file`);
if (!["auto", "webgpu", "cpu"].includes(args.backend)) fail(`unknown --backend ${args.backend}`);
const decoderLayers = args["decoder-layers"] ? Number(args["decoder-layers"]) : undefined;

function convertPth(weights) {
  if (!findVidtBin()) {
    fail(`${weights} is a PyTorch checkpoint; the browser reads .vidt or safetensors. Build the ` +
      "native CLI (cargo build) or set VIDT_BIN, or convert it: vidt export --weights W --out W.vidt --dtype f32");
  }
  return exportModel(weights, path.join(scratch("forward"), "weights.vidt"));
}

const weights = isPytorch(args.weights) ? convertPth(args.weights) : path.resolve(args.weights);
const server = await serve({
  extra: { "/files/weights": weights, "/files/input": path.resolve(args.input) },
});
const browser = await launch({ webgpu: args.backend !== "cpu" });
try {
  const page = await openPage(browser, `${server.origin}/web/harness.html`);
  const r = await page.evaluate(
    async ({ backend, decoderLayers }) => {
      await window.vidtReady;
      const get = async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer());
      const t0 = performance.now();
      const det = await vidt.Detector.fromBytes(await get("/files/weights"), { backend });
      const t1 = performance.now();
      const out = await det.forward(await get("/files/input"), decoderLayers);
      const t2 = performance.now();
      det.dispose();
      let s = "";
      for (let i = 0; i < out.length; i += 0x8000) {
        s += String.fromCharCode.apply(null, out.subarray(i, i + 0x8000));
      }
      return { backend: det.backend, b64: btoa(s), loadMs: t1 - t0, forwardMs: t2 - t1 };
    },
    { backend: args.backend, decoderLayers },
  );
  fs.writeFileSync(args.output, Buffer.from(r.b64, "base64"));
  console.log(
    `backend=${r.backend} load_ms=${r.loadMs.toFixed(0)} forward_ms=${r.forwardMs.toFixed(0)} -> ${args.output}`,
  );
} catch (e) {
  fail(e.message.split("\n")[0]);
} finally {
  await browser.close();
  await server.close();
}
