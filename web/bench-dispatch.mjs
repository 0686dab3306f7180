#!/usr/bin/env node
// What one detection asks of WebGPU (a benchmark of counts, not a test):
//   node web/bench-dispatch.mjs [--weights W] [--sizes 320,640] [--runs 1]
// Wraps the page's GPUComputePassEncoder.dispatchWorkgroups, GPUCommandEncoder.beginComputePass,
// GPUQueue.submit / writeBuffer and GPUBuffer.mapAsync, then prints per steady-state `detect` at
// each input size: dispatches, compute passes, submits, writeBuffer calls and bytes, map-reads.
// These counts do not depend on the machine: they are what a real GPU pays per frame (a dispatch
// costs tens of microseconds in a browser whatever the arithmetic), while SwiftShader's times
// here only measure a CPU emulating a GPU.
import path from "node:path";
import { parseArgs } from "node:util";
import { serve, launch, openPage, fixture, exportModel, scratch, isPytorch } from "./lib/harness.mjs";

const { values: a } = parseArgs({
  options: {
    weights: { type: "string" },
    sizes: { type: "string", default: "320,640" },
    runs: { type: "string", default: "1" },
  },
});
let weights = a.weights ?? fixture("vidt_nano_perturbed.pth");
if (isPytorch(weights)) weights = exportModel(weights, path.join(scratch("bench-dispatch"), "m.vidt"));
const server = await serve({ extra: { "/files/model.vidt": path.resolve(weights) } });
const browser = await launch({ webgpu: true });
try {
  const page = await openPage(browser, `${server.origin}/web/harness.html`);
  const rows = await page.evaluate(async ({ sizes, runs }) => {
    await window.vidtReady;
    const n = { dispatches: 0, passes: 0, submits: 0, writes: 0, writeBytes: 0, mapReads: 0 };
    const wrap = (C, name, count) => {
      const f = C.prototype[name];
      C.prototype[name] = function (...args) {
        count(...args);
        return f.apply(this, args);
      };
    };
    wrap(GPUComputePassEncoder, "dispatchWorkgroups", () => n.dispatches++);
    wrap(GPUCommandEncoder, "beginComputePass", () => n.passes++);
    wrap(GPUQueue, "submit", () => n.submits++);
    wrap(GPUQueue, "writeBuffer", (_buf, _off, data, dataOff = 0, size) => {
      n.writes++;
      const bytesPer = data.BYTES_PER_ELEMENT ?? 1;
      n.writeBytes += size !== undefined ? size * bytesPer : data.byteLength - dataOff * bytesPer;
    });
    wrap(GPUBuffer, "mapAsync", (mode) => mode === GPUMapMode.READ && n.mapReads++);
    const det = await vidt.Detector.fromUrl("/files/model.vidt", { backend: "webgpu" });
    const out = [];
    for (const size of sizes) {
      const data = new Uint8ClampedArray(size * size * 4).map((_, i) => (i * 31) % 256);
      const frame = new ImageData(data, size, size);
      const opts = { threshold: 0, inputSize: size };
      await det.detect(frame, opts); // the first: shader compilation, uploads of the weights
      for (const k of Object.keys(n)) n[k] = 0;
      const s = performance.now();
      for (let i = 0; i < runs; i++) await det.detect(frame, opts);
      const ms = (performance.now() - s) / runs;
      out.push({ size, ms, ...Object.fromEntries(Object.entries(n).map(([k, v]) => [k, v / runs])) });
    }
    det.dispose();
    return out;
  }, { sizes: a.sizes.split(",").map(Number), runs: Number(a.runs) });
  for (const r of rows) {
    console.log(`input ${r.size}x${r.size}: ${r.dispatches} dispatches, ${r.passes} compute passes, ${r.submits} submits, ` +
      `${r.writes} writeBuffer (${(r.writeBytes / 1e6).toFixed(2)} MB), ${r.mapReads} map-reads per detect ` +
      `(SwiftShader ${r.ms.toFixed(0)} ms)`);
  }
  console.log(`(steady state, mean of ${a.runs}; model ${path.basename(weights)}; headless Chromium, SwiftShader)`);
} finally {
  await browser.close();
  await server.close();
}
