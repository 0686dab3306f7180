#!/usr/bin/env node
// Speed of the browser build in headless Chromium (a benchmark, not a test):
//   node web/bench.mjs [--weights W] [--size 640] [--runs 5] [--backends webgpu,cpu] [--peer]
// For each backend: model build time, first detection (shader compilation, uploads) and the
// median steady-state latency of a SIZExSIZE frame, then the ratios against the first backend.
// --peer: onnxruntime-web (npm, installed on first use) runs the official model exported to ONNX
// (../shared/peers, 320x320) on the same frame, WebGPU beside our WebGPU and wasm (one thread)
// beside our CPU fallback, in the same Chromium; the ratios ours / peer are printed.
import fs from "node:fs";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { parseArgs } from "node:util";
import { ROOT, serve, launch, openPage, fixture, exportModel, scratch, isPytorch } from "./lib/harness.mjs";

const { values: a } = parseArgs({
  options: {
    weights: { type: "string" },
    size: { type: "string", default: "640" },
    runs: { type: "string", default: "5" },
    backends: { type: "string", default: "webgpu,cpu" },
    peer: { type: "boolean", default: false },
    "peer-model": { type: "string", default: path.join(ROOT, "../shared/peers/vidt_nano_perturbed_320.onnx") },
  },
});
const ORT_VERSION = "1.30.0";
if (a.peer) {
  if (!fs.existsSync(path.join(ROOT, "web/node_modules/onnxruntime-web/package.json"))) {
    console.log(`installing onnxruntime-web ${ORT_VERSION} (not saved to package.json)`);
    execFileSync("npm", ["install", "--no-save", "--no-audit", "--no-fund", `onnxruntime-web@${ORT_VERSION}`],
      { cwd: path.join(ROOT, "web"), stdio: "inherit" });
  }
  if (a.size === "640") a.size = "320"; // the peer model's size
}
let weights = a.weights ?? fixture("vidt_nano_perturbed.pth");
if (isPytorch(weights)) weights = exportModel(weights, path.join(scratch("bench"), "m.vidt"));
const size = Number(a.size), runs = Number(a.runs);
const extra = { "/files/model.vidt": path.resolve(weights) };
if (a.peer) extra["/files/peer.onnx"] = path.resolve(a["peer-model"]);
const server = await serve({ extra });
const rows = [];
for (const backend of a.backends.split(",")) {
  const browser = await launch({ webgpu: backend !== "cpu" });
  try {
    const page = await openPage(browser, `${server.origin}/web/harness.html`);
    const r = await page.evaluate(async ({ backend, size, runs }) => {
      await window.vidtReady;
      const t0 = performance.now();
      const det = await vidt.Detector.fromUrl("/files/model.vidt", { backend });
      const t1 = performance.now();
      const data = new Uint8ClampedArray(size * size * 4).map((_, i) => (i * 31) % 256);
      const frame = new ImageData(data, size, size);
      const opts = { threshold: 0, inputSize: size };
      await det.detect(frame, opts);
      const t2 = performance.now();
      const times = [];
      for (let i = 0; i < runs; i++) {
        const s = performance.now();
        await det.detect(frame, opts);
        times.push(performance.now() - s);
      }
      times.sort((x, y) => x - y);
      const adapter = await navigator.gpu?.requestAdapter();
      const info = adapter?.info ? `${adapter.info.vendor} ${adapter.info.architecture} ${adapter.info.description}`.trim() : "";
      det.dispose();
      return { backend: det.backend, load: t1 - t0, first: t2 - t1, median: times[times.length >> 1], info };
    }, { backend, size, runs });
    rows.push(r);
    console.log(`${r.backend.padEnd(7)} build ${r.load.toFixed(0).padStart(7)} ms  first detect ${r.first.toFixed(0).padStart(7)} ms  ` +
      `steady ${r.median.toFixed(0).padStart(7)} ms (median of ${runs})${r.info ? `  [${r.info}]` : ""}`);
    if (a.peer) {
      const ep = backend === "cpu" ? "wasm" : "webgpu";
      const p = await page.evaluate(async ({ ep, size, runs }) => {
        const ort = await import("/web/node_modules/onnxruntime-web/dist/ort.all.min.mjs");
        ort.env.wasm.wasmPaths = "/web/node_modules/onnxruntime-web/dist/";
        ort.env.wasm.numThreads = 1;
        const t0 = performance.now();
        const session = await ort.InferenceSession.create("/files/peer.onnx", { executionProviders: [ep] });
        const t1 = performance.now();
        // The same frame as ours, normalized as our preprocessing does (ImageNet mean / std).
        const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
        const x = new Float32Array(3 * size * size);
        for (let c = 0; c < 3; c++) {
          for (let i = 0; i < size * size; i++) x[c * size * size + i] = (((i * 4 + c) * 31) % 256 / 255 - mean[c]) / std[c];
        }
        const feed = { [session.inputNames[0]]: new ort.Tensor("float32", x, [1, 3, size, size]) };
        await session.run(feed);
        const t2 = performance.now();
        const times = [];
        for (let i = 0; i < runs; i++) {
          const s = performance.now();
          await session.run(feed);
          times.push(performance.now() - s);
        }
        times.sort((u, v) => u - v);
        await session.release();
        return { load: t1 - t0, first: t2 - t1, median: times[times.length >> 1] };
      }, { ep, size, runs });
      r.peer = p;
      console.log(`  onnxruntime-web ${ORT_VERSION} ${ep.padEnd(6)} build ${p.load.toFixed(0).padStart(7)} ms  first ${p.first.toFixed(0).padStart(7)} ms  ` +
        `steady ${p.median.toFixed(0).padStart(7)} ms;  ours / peer: steady x${(r.median / p.median).toFixed(2)}, first x${(r.first / p.first).toFixed(2)}`);
    }
  } finally {
    await browser.close();
  }
}
await server.close();
const base = rows[0];
for (const r of rows.slice(1)) {
  console.log(`${r.backend} / ${base.backend}: first detect x${(r.first / base.first).toFixed(2)}, ` +
    `steady x${(r.median / base.median).toFixed(2)}`);
}
console.log(`(${size}x${size} frame, model ${path.basename(weights)}, headless Chromium ${process.env.CHROMIUM ?? "/usr/bin/chromium"})`);
