// `{ worker: true }`: the model runs in a module Web Worker behind the same API. Same getters,
// detections, forward outputs and error messages as the plain detector; the caller's sources
// are left usable (a fresh ImageBitmap is transferred); and while a CPU-fallback detection runs
// the page keeps painting (requestAnimationFrame ticks), which in the plain mode it does not.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, fixtureModel, openHarness } from "../lib/harness.mjs";

let server, browser, page;

before(async () => {
  server = await serve({ extra: { "/files/model.vidt": fixtureModel("worker") } });
  browser = await launch();
  page = await openHarness(browser, server);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test("worker mode: the same answers and errors as the plain detector", async () => {
  const r = await page.evaluate(async () => {
    const opts = { threshold: 0.05, inputSize: 224 };
    const plain = await vidt.Detector.fromUrl("/files/model.vidt", { backend: "cpu" });
    const progress = [];
    const worker = await vidt.Detector.fromUrl("/files/model.vidt", {
      backend: "cpu", worker: true, onProgress: (l, t) => progress.push([l, t]),
    });
    const getters = (d) => Object.fromEntries(["threshold", "nmsIou", "backend", "classes", "inputSize",
      "decoderLayers", "preset", "dtype", "precision"].map((k) => [k, d[k]]));
    const img = new Image();
    img.src = "/examples/sample.png";
    await img.decode();
    const canvas = document.createElement("canvas");
    Object.assign(canvas, { width: img.naturalWidth, height: img.naturalHeight });
    canvas.getContext("2d").drawImage(img, 0, 0);
    const imageData = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    const bitmap = await createImageBitmap(img);
    const frame = new VideoFrame(bitmap, { timestamp: 0 });
    const sources = { img, canvas, imageData, bitmap, frame,
      rgba: { data: new Uint8Array(imageData.data.buffer), width: canvas.width, height: canvas.height } };
    const dets = {};
    for (const [k, s] of Object.entries(sources)) {
      dets[k] = { plain: await plain.detect(s, opts), worker: await worker.detect(s, opts) };
    }
    const leftUsable = bitmap.width > 0 && frame.displayWidth > 0;
    frame.close();

    // The raw forward: a 64x64 batch of one, as safetensors.
    const st = (tensors) => {
      let off = 0;
      const header = {};
      for (const [k, t] of Object.entries(tensors)) {
        header[k] = { dtype: "F32", shape: t.shape, data_offsets: [off, off + t.data.byteLength] };
        off += t.data.byteLength;
      }
      let json = JSON.stringify(header);
      json += " ".repeat((8 - (json.length % 8)) % 8);
      const out = new Uint8Array(8 + json.length + off);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(new TextEncoder().encode(json), 8);
      let at = 8 + json.length;
      for (const t of Object.values(tensors)) {
        out.set(new Uint8Array(t.data.buffer), at);
        at += t.data.byteLength;
      }
      return out;
    };
    const input = st({
      input: { shape: [1, 3, 64, 64], data: new Float32Array(3 * 64 * 64).map((_, i) => Math.sin(i) * 2) },
      mask: { shape: [1, 64, 64], data: new Float32Array(64 * 64) },
    });
    const fwd = { plain: await plain.forward(input, 2), worker: await worker.forward(input.slice(), 2) };
    const sameForward = fwd.plain.length > 0 && fwd.plain.length === fwd.worker.length &&
      fwd.plain.every((b, i) => b === fwd.worker[i]);

    const errorOf = async (f) => {
      try {
        await f();
        return null;
      } catch (e) {
        return `${e.constructor.name}: ${e.message}`;
      }
    };
    const errors = {};
    const calls = {
      notAnImage: (d) => d.detect(42),
      badThreshold: (d) => d.detect(imageData, { threshold: 2 }),
      unknownOption: (d) => d.detect(imageData, { treshold: 0.5 }),
      notLoaded: (d) => d.detect(new Image()),
      badForward: (d) => d.forward(new Uint8Array([1, 2, 3])),
    };
    for (const [k, f] of Object.entries(calls)) {
      errors[k] = { plain: await errorOf(() => f(plain)), worker: await errorOf(() => f(worker)) };
    }
    const loads = {
      missing: ["/files/missing.vidt", {}],
      badBackend: ["/files/model.vidt", { backend: "tpu" }],
      unknownLoadOption: ["/files/model.vidt", { onprogress: 1 }],
    };
    for (const [k, [url, o]] of Object.entries(loads)) {
      errors[k] = {
        plain: await errorOf(() => vidt.Detector.fromUrl(url, o)),
        worker: await errorOf(() => vidt.Detector.fromUrl(url, { ...o, worker: true })),
      };
    }
    errors.garbageBytes = {
      plain: await errorOf(() => vidt.Detector.fromBytes(new Uint8Array([1, 2, 3]))),
      worker: await errorOf(() => vidt.Detector.fromBytes(new Uint8Array([1, 2, 3]), { worker: true })),
    };
    const memory = await worker.memory();
    const out = { getters: { plain: getters(plain), worker: getters(worker) }, dets, sameForward,
      leftUsable, errors, memory, progress: progress.length };
    plain.dispose();
    worker.dispose();
    out.afterDispose = await errorOf(() => worker.detect(imageData));
    out.memoryAfterDispose = await errorOf(() => worker.memory());
    return out;
  });
  assert.deepEqual(r.getters.worker, r.getters.plain, "same getters");
  assert.equal(r.getters.worker.backend, "cpu");
  for (const [k, d] of Object.entries(r.dets)) {
    assert.ok(d.plain.length > 0, `${k}: something detected`);
    assert.deepEqual(d.worker, d.plain, `${k}: the worker's detections are the plain detector's`);
  }
  assert.ok(r.leftUsable, "the caller's ImageBitmap and VideoFrame are not taken");
  assert.ok(r.sameForward, "forward: the same safetensors bytes");
  for (const [k, e] of Object.entries(r.errors)) {
    assert.ok(e.plain, `${k}: the plain call fails`);
    assert.match(e.plain, /^Error: /);
    assert.equal(e.worker, e.plain, `${k}: the same Error in worker mode`);
  }
  assert.ok(r.progress > 0, "download progress reaches the page");
  assert.ok(r.memory.wasmBytes > 10e6, `the worker's wasm heap is reported (${r.memory.wasmBytes})`);
  assert.equal(r.afterDispose, "Error: this Detector has been disposed");
  assert.equal(r.memoryAfterDispose, "Error: this Detector has been disposed");
});

test("worker mode: the page keeps painting during a CPU detection; plain mode does not", async () => {
  const r = await page.evaluate(async () => {
    const img = new Image();
    img.src = "/examples/sample.png";
    await img.decode();
    const frames = async (det) => {
      await det.detect(img, { inputSize: 320 }); // warm-up
      let n = 0;
      let on = true;
      const tick = () => {
        if (!on) return;
        n++;
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
      // Let the counter start, as a page would be painting already.
      await new Promise((ok) => setTimeout(ok, 100));
      const start = n;
      const t0 = performance.now();
      await det.detect(img, { inputSize: 320 });
      const ms = performance.now() - t0;
      const ticks = n - start;
      on = false;
      det.dispose();
      return { ticks, ms };
    };
    return {
      plain: await frames(await vidt.Detector.fromUrl("/files/model.vidt", { backend: "cpu" })),
      worker: await frames(await vidt.Detector.fromUrl("/files/model.vidt", { backend: "cpu", worker: true })),
    };
  });
  console.log(`rAF ticks during one CPU detection at 320: plain ${r.plain.ticks} in ${r.plain.ms.toFixed(0)} ms, ` +
    `worker ${r.worker.ticks} in ${r.worker.ms.toFixed(0)} ms`);
  assert.ok(r.plain.ticks <= 1, `plain mode blocks the page (${r.plain.ticks} ticks)`);
  // ~60 per second when the page is free; a quarter of that is plainly not blocked.
  assert.ok(r.worker.ticks >= Math.max(5, (r.worker.ms / 1000) * 15),
    `worker mode leaves the page painting (${r.worker.ticks} ticks in ${r.worker.ms.toFixed(0)} ms)`);
});

test("worker mode: WebGPU in the worker, the plain detector's detections", async () => {
  const r = await page.evaluate(async () => {
    const opts = { threshold: 0.05, inputSize: 96 };
    const img = new Image();
    img.src = "/examples/sample.png";
    await img.decode();
    const plain = await vidt.Detector.fromUrl("/files/model.vidt");
    const worker = await vidt.Detector.fromUrl("/files/model.vidt", { worker: true });
    const out = { backends: [plain.backend, worker.backend],
      plain: await plain.detect(img, opts), worker: await worker.detect(img, opts) };
    out.gpu = (await worker.memory()).gpuBytesInUse;
    plain.dispose();
    worker.dispose();
    return out;
  });
  assert.deepEqual(r.backends, ["webgpu", "webgpu"], "WebGPU on the page and in the worker");
  assert.ok(r.gpu > 0, "the worker's GPU memory is reported");
  assert.ok(r.plain.length > 0);
  assert.equal(r.worker.length, r.plain.length);
  let worst = 0;
  r.worker.forEach((d, i) => {
    assert.equal(d.labelId, r.plain[i].labelId);
    worst = Math.max(worst, Math.abs(d.score - r.plain[i].score));
  });
  assert.ok(worst <= 1e-4, `scores within 1e-4 (${worst})`);
});
