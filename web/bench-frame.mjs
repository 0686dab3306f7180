#!/usr/bin/env node
// What a video frame costs before the model (a benchmark, not a test):
//   node web/bench-frame.mjs [--weights W] [--input-size 96] [--runs 9]
// Detects on a 1920x1080 and a 192x108 canvas at the same input size, with the official CPU
// resize (the full frame read back, then resized in wasm) and with the fast one (the browser
// draws the frame at the input size, only those pixels are read back). The model's work is
// the same for both frame sizes, so the difference of the medians is the host time the larger
// frame costs before the model. Also counts the bytes read back per detection (getImageData
// calls, wrapped) and checks which path a VideoFrame takes by default. CPU backend: the
// preparation does not depend on it, and the model's time stays small at this input size.
import path from "node:path";
import { parseArgs } from "node:util";
import {
  serve, launch, openPage, fixture, exportModel, scratch, isPytorch, countReadback,
} from "./lib/harness.mjs";

const { values: a } = parseArgs({
  options: {
    weights: { type: "string" },
    "input-size": { type: "string", default: "96" },
    runs: { type: "string", default: "9" },
  },
});
let weights = a.weights ?? fixture("vidt_nano_perturbed.pth");
if (isPytorch(weights)) weights = exportModel(weights, path.join(scratch("bench-frame"), "m.vidt"));
const server = await serve({ extra: { "/files/model.vidt": path.resolve(weights) } });
const browser = await launch({ webgpu: false });
try {
  const page = await openPage(browser, `${server.origin}/web/harness.html`);
  await countReadback(page); // every pixel read back, counted where the page reads them
  const r = await page.evaluate(async ({ inputSize, runs }) => {
    await window.vidtReady;
    const canvas = (w, h) => {
      const c = document.createElement("canvas");
      Object.assign(c, { width: w, height: h });
      const g = c.getContext("2d");
      const grad = g.createLinearGradient(0, 0, w, h);
      grad.addColorStop(0, "#203040");
      grad.addColorStop(1, "#e0c090");
      g.fillStyle = grad;
      g.fillRect(0, 0, w, h);
      g.fillStyle = "#c03020";
      g.fillRect(w * 0.3, h * 0.3, w * 0.2, h * 0.3);
      return c;
    };
    const det = await vidt.Detector.fromUrl("/files/model.vidt", { backend: "cpu" });
    const frames = { "1920x1080": canvas(1920, 1080), "192x108": canvas(192, 108) };
    const out = { rows: [] };
    for (const resize of ["official", "fast"]) {
      for (const [name, src] of Object.entries(frames)) {
        const opts = { threshold: 0, inputSize, resize };
        await det.detect(src, opts);
        const times = [];
        window.vidtReadBytes = 0;
        for (let i = 0; i < runs; i++) {
          const s = performance.now();
          await det.detect(src, opts);
          times.push(performance.now() - s);
        }
        times.sort((x, y) => x - y);
        out.rows.push({ resize, name, median: times[times.length >> 1], bytes: window.vidtReadBytes / runs });
      }
    }
    // The default for a VideoFrame (a video's frame): what it reads back.
    const frame = new VideoFrame(frames["1920x1080"], { timestamp: 0 });
    window.vidtReadBytes = 0;
    await det.detect(frame, { threshold: 0, inputSize });
    out.videoFrameBytes = window.vidtReadBytes;
    window.vidtReadBytes = 0;
    await det.detect(frames["1920x1080"], { threshold: 0, inputSize });
    out.canvasBytes = window.vidtReadBytes;
    frame.close();
    det.dispose();
    return out;
  }, { inputSize: Number(a["input-size"]), runs: Number(a.runs) });
  const cost = {};
  for (const row of r.rows) {
    console.log(`${row.resize.padEnd(8)} ${row.name.padStart(9)}: detect ${row.median.toFixed(1).padStart(7)} ms (median), ` +
      `${(row.bytes / 1e6).toFixed(3)} MB read back`);
    cost[row.resize] = (cost[row.resize] ?? 0) + (row.name === "1920x1080" ? row.median : -row.median);
  }
  for (const k of ["official", "fast"]) {
    console.log(`${k}: a 1920x1080 frame costs ${cost[k].toFixed(1)} ms more than a 192x108 one before the model`);
  }
  console.log(cost.fast > 0.5
    ? `official / fast, the 1080p frame's extra cost: x${(cost.official / cost.fast).toFixed(1)}`
    : `fast: no extra cost measurable for the 1080p frame (${cost.fast.toFixed(1)} ms: the runs' noise)`);
  console.log(`defaults: a 1080p VideoFrame reads back ${(r.videoFrameBytes / 1e6).toFixed(3)} MB (fast), ` +
    `a 1080p canvas ${(r.canvasBytes / 1e6).toFixed(3)} MB (official)`);
  console.log(`(input size ${a["input-size"]}, ${a.runs} runs, CPU backend, model ${path.basename(weights)})`);
} finally {
  await browser.close();
  await server.close();
}
