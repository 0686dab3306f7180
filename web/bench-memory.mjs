#!/usr/bin/env node
// Memory over long use (a benchmark, not a test; minutes on SwiftShader):
//   node web/bench-memory.mjs [--weights W] [--cpu-calls 1000] [--gpu-calls 50] [--size 64]
//                             [--modes plain,worker] [--backends cpu,webgpu]
// For each backend and mode: `calls` detections of one frame, the memory figures read (after a
// forced GC) once the warm-up (10% of the calls) is over and at the end: the wasm heap, burn's
// GPU bytes in use / reserved, the page's JS heap, and in worker mode the worker's JS heap.
// Prints each figure before -> after with its growth, and FLAT when within 5%.
import path from "node:path";
import { parseArgs } from "node:util";
import { serve, launch, openPage, fixture, exportModel, scratch, isPytorch } from "./lib/harness.mjs";

const { values: a } = parseArgs({
  options: {
    weights: { type: "string" },
    "cpu-calls": { type: "string", default: "1000" },
    "gpu-calls": { type: "string", default: "50" },
    size: { type: "string", default: "64" },
    modes: { type: "string", default: "plain,worker" },
    backends: { type: "string", default: "cpu,webgpu" },
  },
});
let weights = a.weights ?? fixture("vidt_nano_perturbed.pth");
if (isPytorch(weights)) weights = exportModel(weights, path.join(scratch("bench-memory"), "m.vidt"));
const server = await serve({ extra: { "/files/model.vidt": path.resolve(weights) } });
const browser = await launch();
const KEYS = ["wasmBytes", "gpuBytesInUse", "gpuBytesReserved", "jsHeap", "workerJsHeap"];
let allFlat = true;
try {
  for (const backend of a.backends.split(",")) {
    for (const mode of a.modes.split(",")) {
      const calls = Number(backend === "cpu" ? a["cpu-calls"] : a["gpu-calls"]);
      const page = await openPage(browser, `${server.origin}/web/harness.html`);
      await page.evaluate(() => window.vidtReady);
      const r = await page.evaluate(async ({ backend, worker, calls, size }) => {
        const det = await vidt.Detector.fromUrl("/files/model.vidt", { backend, worker });
        const w = 120, h = 96;
        const data = new Uint8ClampedArray(w * h * 4).map((_, i) => (i * 37) % 251);
        const image = new ImageData(data, w, h);
        const snap = async () => {
          window.gc?.();
          const m = await det.memory();
          return { ...m, jsHeap: performance.memory.usedJSHeapSize };
        };
        const warmup = Math.max(1, Math.round(calls / 10));
        let first, t0;
        for (let i = 0; i < calls; i++) {
          if (i === warmup) {
            first = await snap();
            t0 = performance.now();
          }
          await det.detect(image, { threshold: 0, topK: 10, inputSize: size });
        }
        const msPerCall = (performance.now() - t0) / (calls - warmup);
        const last = await snap();
        const out = { first, last, msPerCall, backend: det.backend, warmup };
        det.dispose();
        return out;
      }, { backend, worker: mode === "worker", calls, size: Number(a.size) });
      await page.close();
      const cells = KEYS.filter((k) => r.first[k] != null && (r.first[k] > 0 || r.last[k] > 0)).map((k) => {
        const growth = r.first[k] ? (r.last[k] - r.first[k]) / r.first[k] : Infinity;
        const flat = growth <= 0.05;
        allFlat &&= flat;
        return `${k} ${(r.first[k] / 1e6).toFixed(2)} -> ${(r.last[k] / 1e6).toFixed(2)} MB ` +
          `(${(growth * 100).toFixed(1)}%${flat ? ", FLAT" : ", GROWS"})`;
      });
      console.log(`${r.backend} ${mode}: ${calls} detections at ${a.size}, ${r.msPerCall.toFixed(1)} ms each; ` +
        `calls ${r.warmup}..${calls}: ${cells.join("; ")}`);
    }
  }
} finally {
  await browser.close();
  await server.close();
}
console.log(allFlat ? "every figure flat within 5%" : "some figure grew by more than 5%");
process.exitCode = allFlat ? 0 : 1;
