// WebGPU that half-works never hangs the page: when `requestDevice` rejects (a blocklisted
// driver, a lost adapter) or the adapter lacks a limit our kernels need, `backend: "auto"`
// settles on the CPU with the reason on `detector.fallbackReason`, and `backend: "webgpu"`
// rejects with an Error naming the cause. Each case gets a fresh page (one device per page).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, fixtureModel, openHarness } from "../lib/harness.mjs";

let server, browser;

before(async () => {
  server = await serve({ extra: { "/files/model.vidt": fixtureModel("fallback", { dtype: "f16" }) } });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** In a fresh page broken by `breakWebGpu` (source of a function run first): loads with
 *  `auto` and with `webgpu`, each raced against 60 s so a hang shows as "pending". */
async function loadBroken(breakWebGpu) {
  const page = await openHarness(browser, server);
  try {
    return await page.evaluate(async (breakWebGpu) => {
      new Function(breakWebGpu)();
      const settle = (p) => Promise.race([
        p.then((v) => ({ ok: v }), (e) => ({ err: `${e.constructor.name}: ${e.message}` })),
        new Promise((ok) => setTimeout(() => ok({ pending: true }), 60_000)),
      ]);
      const img = { data: new Uint8Array(64 * 48 * 4).fill(100), width: 64, height: 48 };
      const opts = { threshold: 0, topK: 5, inputSize: 64 };
      const out = {};
      const auto = await settle(vidt.Detector.fromUrl("/files/model.vidt", { backend: "auto" }));
      if (auto.ok) {
        out.auto = { backend: auto.ok.backend, reason: auto.ok.fallbackReason };
        out.autoDets = await auto.ok.detect(img, opts);
        auto.ok.dispose();
      } else {
        out.auto = auto;
      }
      const cpu = await vidt.Detector.fromUrl("/files/model.vidt", { backend: "cpu" });
      out.cpuDets = await cpu.detect(img, opts);
      out.cpuReason = cpu.fallbackReason ?? null;
      cpu.dispose();
      out.webgpu = await settle(vidt.Detector.fromUrl("/files/model.vidt", { backend: "webgpu" }));
      if (out.webgpu.ok) out.webgpu = { ok: out.webgpu.ok.backend };
      return out;
    }, `(${breakWebGpu})()`);
  } finally {
    await page.close();
  }
}

test("requestDevice rejects: auto settles on the CPU with the reason; webgpu is an Error", async () => {
  const r = await loadBroken(() => {
    GPUAdapter.prototype.requestDevice = () =>
      Promise.reject(new DOMException("the driver is blocklisted", "OperationError"));
  });
  assert.equal(r.auto.pending, undefined, "fromUrl settled");
  assert.equal(r.auto.backend, "cpu");
  assert.match(r.auto.reason, /requestDevice\(\) failed: .*the driver is blocklisted/);
  assert.deepEqual(r.autoDets, r.cpuDets, "detections come from the CPU");
  assert.equal(r.cpuReason, null, "backend: cpu is no fallback");
  assert.match(r.webgpu.err, /^Error: WebGPU is not available: GPUAdapter\.requestDevice\(\) failed: .*blocklisted/);
});

test("no adapter, or one short of a limit our kernels need: the CPU, saying why", async () => {
  const none = await loadBroken(() => {
    navigator.gpu.requestAdapter = async () => null;
  });
  assert.equal(none.auto.backend, "cpu");
  assert.match(none.auto.reason, /requestAdapter\(\) gave no adapter/);
  assert.match(none.webgpu.err, /^Error: WebGPU is not available: navigator\.gpu\.requestAdapter\(\) gave no adapter/);

  const small = await loadBroken(() => {
    const limits = Object.getOwnPropertyDescriptor(GPUAdapter.prototype, "limits");
    Object.defineProperty(GPUAdapter.prototype, "limits", {
      get() {
        const l = limits.get.call(this);
        const copy = {};
        for (const k in l) copy[k] = l[k];
        copy.maxComputeWorkgroupStorageSize = 8192;
        return copy;
      },
    });
  });
  assert.equal(small.auto.backend, "cpu");
  assert.equal(small.auto.reason, "the adapter's maxComputeWorkgroupStorageSize is 8192; our kernels need 16384");
  assert.deepEqual(small.autoDets, small.cpuDets);
});
