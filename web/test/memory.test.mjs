// Repeated detect calls must leave memory flat: burn's GPU memory, the wasm heap and the JS
// heap (after a forced GC) are read after a warm-up and at the end, and printed.
// 200 calls run on the CPU fallback. SwiftShader (the only WebGPU here) takes ~35 s per call, so
// the WebGPU run is short by default; VIDT_MEMORY_GPU_CALLS=200 runs the full count on a real GPU.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, fixtureModel, openHarness } from "../lib/harness.mjs";

let server, browser;

before(async () => {
  server = await serve({ extra: { "/files/model.vidt": fixtureModel("memory") } });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function run(backend, calls, warmup, inputSize) {
  const page = await openHarness(browser, server);
  const r = await page.evaluate(
    async ({ backend, calls, warmup, inputSize }) => {
      const det = await vidt.Detector.fromUrl("/files/model.vidt", { backend });
      const w = 120, h = 96;
      const data = new Uint8ClampedArray(w * h * 4).map((_, i) => (i * 37) % 251);
      const image = new ImageData(data, w, h);
      const snap = () => {
        window.gc?.();
        return { ...det.memory(), jsHeap: performance.memory.usedJSHeapSize };
      };
      let first, t0;
      for (let i = 0; i < calls; i++) {
        if (i === warmup) {
          first = snap();
          t0 = performance.now();
        }
        const dets = await det.detect(image, { threshold: 0, topK: 10, inputSize });
        if (dets.length !== 10) throw new Error(`call ${i}: ${dets.length} detections`);
      }
      const msPerCall = (performance.now() - t0) / (calls - warmup);
      const last = snap();
      det.dispose();
      return { first, last, msPerCall, backend: det.backend };
    },
    { backend, calls, warmup, inputSize },
  );
  await page.close();
  const mb = (b) => (b / 1e6).toFixed(2);
  const row = (k) => `${k} ${mb(r.first[k])} -> ${mb(r.last[k])} MB`;
  console.log(`memory over calls ${warmup}..${calls} on ${r.backend} (${r.msPerCall.toFixed(0)} ms/call): ` +
    ["gpuBytesInUse", "gpuBytesReserved", "wasmBytes", "jsHeap"].map(row).join(", "));
  assert.equal(r.backend, backend);
  assert.ok(r.last.wasmBytes - r.first.wasmBytes <= 2 * 2 ** 20, "wasm heap grows by at most 2 MiB");
  assert.ok(r.last.jsHeap - r.first.jsHeap <= 2e6, "JS heap grows by at most 2 MB");
  return r;
}

test("200 detect calls on the CPU fallback leave wasm and JS memory flat", async () => {
  await run("cpu", 200, 20, 96);
});

test("detect calls on WebGPU leave GPU, wasm and JS memory flat", async () => {
  const calls = Number(process.env.VIDT_MEMORY_GPU_CALLS ?? 5);
  const r = await run("webgpu", calls, Math.min(2, calls - 1), 64);
  assert.ok(r.first.gpuBytesInUse > 0, "burn reports the model's GPU memory");
  assert.equal(r.last.gpuBytesInUse, r.first.gpuBytesInUse, "GPU memory in use is flat");
  assert.ok(r.last.gpuBytesReserved <= r.first.gpuBytesReserved, "GPU memory reserved is flat");
});
