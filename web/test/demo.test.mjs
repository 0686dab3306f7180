// The demo page as a person uses it: it loads the default model (progress bar), detects on the
// sample image and draws boxes (checked on a screenshot); without WebGPU it says so and runs
// on the CPU.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { serve, launch, openPage, fixture, exportModel, scratch } from "../lib/harness.mjs";

let dir, server;

before(async () => {
  dir = scratch("demo");
  // A small input size keeps SwiftShader and the wasm CPU path quick.
  const model = exportModel(fixture("vidt_nano_perturbed.pth"), path.join(dir, "default.vidt"), {
    dtype: "f16",
    inputSize: 224,
  });
  server = await serve({ extra: { "/web/models/default.vidt": model } });
});
after(() => server?.close());

/** Box-coloured pixels (the page's palette) in a PNG, counted by the page itself. */
function paletteCount(page, png) {
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = new OffscreenCanvas(img.width, img.height);
    const g = c.getContext("2d");
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, img.width, img.height).data;
    const pal = [[255, 45, 85], [0, 230, 118], [41, 121, 255], [255, 214, 0], [213, 0, 249], [0, 229, 255]];
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (pal.some(([r, gg, b]) => Math.abs(d[i] - r) + Math.abs(d[i + 1] - gg) + Math.abs(d[i + 2] - b) < 24)) n++;
    }
    return n;
  }, png.toString("base64"));
}

async function waitFrames(page, n) {
  await page.waitForFunction((n) => window.demo?.frames >= n || window.demo?.error, n, { timeout: 300_000 });
  const error = await page.evaluate(() => window.demo.error);
  assert.equal(error, null, `the page reported: ${error}`);
}

test("demo page: loads the model, detects on the sample image, draws boxes", async () => {
  const browser = await launch();
  try {
    const page = await openPage(browser, `${server.origin}/web/`);
    await waitFrames(page, 1);
    assert.equal(await page.evaluate(() => window.demo.backend), "webgpu");
    assert.equal(await page.locator("#backend").textContent(), "WebGPU");
    assert.ok(await page.locator("#notice").isHidden(), "no warning on WebGPU");
    assert.ok(await page.locator("#progress-wrap.done").count(), "progress bar hidden after loading");
    // The perturbed test model scores low: lower the threshold as a user would.
    const before = await paletteCount(page, await page.locator("#view").screenshot());
    await page.evaluate(() => {
      const t = document.getElementById("threshold");
      t.value = "0.05";
      t.dispatchEvent(new Event("input"));
    });
    await waitFrames(page, 2);
    const dets = await page.evaluate(() => window.demo.detections);
    assert.ok(dets.length > 0, "detections above threshold 0.05");
    for (const d of dets) {
      assert.ok(d.score >= 0.05 && d.score <= 1, `score ${d.score}`);
      assert.equal(typeof d.label, "string");
      assert.ok(d.box.xmin <= d.box.xmax && d.box.ymin <= d.box.ymax, "ordered box");
    }
    assert.match(await page.locator("#count").textContent(), new RegExp(`^${dets.length} detection`));
    assert.match(await page.locator("#stats").textContent(), /latency \d+ ms · [\d.]+ FPS/);
    const shot = await page.screenshot({ fullPage: true });
    const file = path.join(process.env.VIDT_ARTIFACTS ?? dir, "demo-page.png");
    fs.writeFileSync(file, shot);
    const drawn = await paletteCount(page, await page.locator("#view").screenshot());
    console.log(`demo: ${dets.length} detections, ${drawn - before} box pixels drawn, ` +
      `latency ${(await page.evaluate(() => window.demo.lastMs)).toFixed(0)} ms; screenshot ${file}`);
    assert.ok(drawn - before > 20 * dets.length, `boxes drawn: ${before} -> ${drawn} palette pixels`);
  } finally {
    await browser.close();
  }
});

test("demo page without WebGPU: says so and runs on the CPU", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const page = await openPage(browser, `${server.origin}/web/`);
    await waitFrames(page, 1);
    assert.equal(await page.evaluate(() => window.demo.backend), "cpu");
    assert.equal(await page.locator("#backend").textContent(), "CPU");
    assert.match(await page.locator("#notice").textContent(), /WebGPU is not available/);
  } finally {
    await browser.close();
  }
});
