// The `precision` load option: f16 where the WebGPU adapter has `shader-f16`, else f32 (the
// default); an explicit "f16" the device cannot run, and a misspelt value, reject with an Error
// naming the cause. Headless Chromium's SwiftShader has no `shader-f16`: the f16 forward itself
// is tested natively (tests/it/f16.rs, Vulkan on lavapipe).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, fixtureModel, openHarness } from "../lib/harness.mjs";

let server, browser;

before(async () => {
  server = await serve({ extra: { "/files/model.vidt": fixtureModel("precision", { dtype: "f16" }) } });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test("precision: the adapter's f16 by default, f32 on request, clear Errors otherwise", async () => {
  const page = await openHarness(browser, server);
  try {
    const r = await page.evaluate(async () => {
      const settle = (p) =>
        p.then((d) => {
          const v = { backend: d.backend, precision: d.precision };
          d.dispose();
          return v;
        }, (e) => ({ err: `${e.constructor.name}: ${e.message}` }));
      const adapter = await navigator.gpu?.requestAdapter();
      const load = (o) => settle(vidt.Detector.fromUrl("/files/model.vidt", o));
      return {
        f16: adapter?.features.has("shader-f16") ?? false,
        auto: await load({ backend: "webgpu" }),
        f32: await load({ backend: "webgpu", precision: "f32" }),
        f16Asked: await load({ backend: "webgpu", precision: "f16" }),
        cpuF16: await load({ backend: "cpu", precision: "f16" }),
        cpu: await load({ backend: "cpu" }),
        bad: await load({ precision: "f64" }),
      };
    });
    console.log(JSON.stringify(r));
    assert.equal(r.auto.backend, "webgpu");
    assert.equal(r.auto.precision, r.f16 ? "f16" : "f32", "default: f16 where the adapter has it");
    assert.deepEqual(r.f32, { backend: "webgpu", precision: "f32" });
    assert.deepEqual(r.cpu, { backend: "cpu", precision: "f32" });
    if (r.f16) {
      assert.deepEqual(r.f16Asked, { backend: "webgpu", precision: "f16" });
    } else {
      assert.match(r.f16Asked.err ?? "", /^Error: .*precision f16: this device does not compute in f16/);
    }
    assert.match(r.cpuF16.err ?? "", /^Error: .*precision f16: .*the CPU runs f32 only/);
    assert.match(r.bad.err ?? "", /^Error: bad load options: precision must be "f32" or "f16", not "f64"/);
  } finally {
    await page.close();
  }
});
