#!/usr/bin/env node
// Speed of the browser build in headless Chromium (a benchmark, not a test):
//   node web/bench.mjs [--weights W] [--size 640] [--runs 5] [--backends webgpu,cpu]
// For each backend: model build time, first detection (shader compilation, uploads) and the
// median steady-state latency of a SIZExSIZE frame, then the ratios against the first backend.
import path from "node:path";
import { parseArgs } from "node:util";
import { serve, launch, openPage, fixture, exportModel, scratch, isPytorch } from "./lib/harness.mjs";

const { values: a } = parseArgs({
  options: {
    weights: { type: "string" },
    size: { type: "string", default: "640" },
    runs: { type: "string", default: "5" },
    backends: { type: "string", default: "webgpu,cpu" },
  },
});
let weights = a.weights ?? fixture("vidt_nano_perturbed.pth");
if (isPytorch(weights)) weights = exportModel(weights, path.join(scratch("bench"), "m.vidt"));
const size = Number(a.size), runs = Number(a.runs);
const server = await serve({ extra: { "/files/model.vidt": path.resolve(weights) } });
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
