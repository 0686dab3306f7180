// A lost WebGPU device (the GPU reset, the driver updated, the tab backgrounded too long) is
// survived: `onDeviceLost` is called, the next detect rebuilds the model on a new device and
// gives the same detections; with no adapter left it falls back to the CPU and `backend` says
// so. The loss is made real: the page destroys the GPUDevice burn created.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, fixtureModel, openHarness } from "../lib/harness.mjs";

let server, browser;

before(async () => {
  server = await serve({ extra: { "/files/model.vidt": fixtureModel("lost") } });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test("device loss: rebuilt on a new device, then on the CPU when no adapter is left", async () => {
  const page = await openHarness(browser, server);
  const r = await page.evaluate(async () => {
    // Every GPUDevice the page creates, so the test can destroy burn's.
    const devices = [];
    const requestDevice = GPUAdapter.prototype.requestDevice;
    GPUAdapter.prototype.requestDevice = async function (...args) {
      const d = await requestDevice.apply(this, args);
      devices.push(d);
      return d;
    };
    const img = new Image();
    img.src = "/examples/sample.png";
    await img.decode();
    const opts = { threshold: 0.05, inputSize: 96 };
    const lost = [];
    const det = await vidt.Detector.fromUrl("/files/model.vidt", { onDeviceLost: (i) => lost.push(i) });
    const waitLost = async (n) => {
      for (let i = 0; i < 500 && lost.length < n; i++) await new Promise((ok) => setTimeout(ok, 20));
    };
    const out = { backends: [det.backend], devices: [devices.length] };
    out.before = await det.detect(img, opts);

    devices[0].destroy();
    await waitLost(1);
    out.backends.push(det.backend);
    out.afterLoss = await det.detect(img, opts); // rebuilt on a new device
    out.backends.push(det.backend);
    out.devices.push(devices.length);
    out.gpu = det.memory().gpuBytesInUse;

    // No adapter left: the CPU fallback.
    navigator.gpu.requestAdapter = async () => null;
    devices[devices.length - 1].destroy();
    await waitLost(2);
    out.reasons = [det.fallbackReason ?? null];
    out.afterSecondLoss = await det.detect(img, opts);
    out.backends.push(det.backend);
    out.reasons.push(det.fallbackReason);
    out.devices.push(devices.length);
    out.lost = lost;
    det.dispose();
    return out;
  });
  await page.close();
  assert.deepEqual(r.backends, ["webgpu", "webgpu", "webgpu", "cpu"],
    "WebGPU, still WebGPU after the loss (rebuilt), the CPU once no adapter is left");
  assert.deepEqual(r.devices, [1, 2, 2], "one new device after the first loss, none after the second");
  assert.equal(r.reasons[0], null, "no fallback while on WebGPU");
  assert.match(r.reasons[1], /requestAdapter\(\) gave no adapter/, "the fallback says why");
  assert.equal(r.lost.length, 2, "onDeviceLost called once per loss");
  for (const l of r.lost) assert.equal(l.reason, "destroyed");
  assert.ok(r.gpu > 0, "the rebuilt model lives on the new device");
  assert.ok(r.before.length > 0, "something detected");
  for (const [k, dets] of [["after the loss", r.afterLoss], ["on the CPU", r.afterSecondLoss]]) {
    assert.equal(dets.length, r.before.length, `${k}: as many detections`);
    let worst = 0;
    dets.forEach((d, i) => {
      assert.equal(d.labelId, r.before[i].labelId, `${k} #${i}: label`);
      worst = Math.max(worst, Math.abs(d.score - r.before[i].score));
    });
    assert.ok(worst <= 1e-3, `${k}: scores within 1e-3 (${worst})`);
  }
  console.log(`device loss: ${r.before.length} detections before, the same after a rebuild on a new ` +
    `device and on the CPU fallback`);
});
