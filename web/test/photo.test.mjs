// A real photograph end to end in the browser: the page decodes the PNG itself (an <img>), the
// package resizes it by ViDT's rule and runs the model, and the detections are the official
// pipeline's (../shared/fixtures/photos/official_chelsea.json: PIL decode, the official resize,
// the perturbed nano, PostProcess), on the CPU fallback and on WebGPU (SwiftShader here).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { serve, launch, openHarness, fixture, exportModel, scratch, iou } from "../lib/harness.mjs";

let official, server, browser, page;

before(async () => {
  official = JSON.parse(fs.readFileSync(fixture("photos/official_chelsea.json"), "utf8"))["chelsea.png"];
  // f32: the checkpoint's own values, as the official pipeline ran them.
  const model = exportModel(fixture("vidt_nano_perturbed.pth"), path.join(scratch("photo"), "m.vidt"));
  server = await serve({
    extra: { "/files/model.vidt": model, "/files/chelsea.png": fixture("photos/chelsea.png") },
  });
  browser = await launch();
  page = await openHarness(browser, server);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

for (const backend of ["cpu", "webgpu"]) {
  test(`the photo's official top-10 detections in the browser on ${backend}`, async () => {
    const got = await page.evaluate(async ({ backend }) => {
      const det = await vidt.Detector.fromUrl("/files/model.vidt", { backend });
      const img = new Image();
      img.src = "/files/chelsea.png";
      await img.decode();
      // The official PostProcess: top-100, no threshold, no NMS, at the default input size.
      const dets = await det.detect(img, { threshold: 0, topK: 100, nmsIou: null });
      const out = { backend: det.backend, dets };
      det.dispose();
      return out;
    }, { backend });
    assert.equal(got.backend, backend);
    assert.equal(got.dets.length, 100, "the official top-100");
    let found = 0, worstIou = 1, worstScore = 0;
    const missing = [];
    for (const o of official.detections.slice(0, 10)) {
      const [xmin, ymin, xmax, ymax] = o.box;
      let best = null;
      for (const d of got.dets) {
        if (d.labelId !== o.label) continue;
        const i = iou(d.box, { xmin, ymin, xmax, ymax });
        const s = Math.abs(d.score - o.score);
        if (i >= 0.95 && s <= 0.02 && (!best || i > best.i)) best = { i, s };
      }
      if (best) {
        found++;
        worstIou = Math.min(worstIou, best.i);
        worstScore = Math.max(worstScore, best.s);
      } else missing.push(o);
    }
    console.log(`photo chelsea.png in the browser on ${backend}: ${found} of the official top-10 found; ` +
      `worst match IoU ${worstIou.toFixed(4)}, score gap ${worstScore.toExponential(2)}`);
    assert.equal(found, 10, `official top-10 found; missing ${JSON.stringify(missing)}`);
  });
}
