// The demo page as a person uses it: it loads the default model (the committed demo model,
// progress bar), detects on the sample image at the default threshold, finds every shape of it
// (ground truth: examples/shapes.json) and draws the boxes (checked on a screenshot); without
// WebGPU it says so and runs on the CPU, with the same detections.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { serve, launch, openPage, scratch, ROOT, iou } from "../lib/harness.mjs";

let dir, server;
const truth = JSON.parse(fs.readFileSync(path.join(ROOT, "examples/shapes.json"), "utf8"));

before(async () => {
  dir = scratch("demo");
  // What web/demo.sh serves as the page's default model.
  server = await serve({ extra: { "/web/models/default.vidt": path.join(ROOT, "models/demo.vidt") } });
});
after(() => server?.close());

/** Every ground-truth shape found with its class at IoU >= 0.5, and nothing else. */
function assertFindsTheShapes(dets) {
  for (const o of truth.annotations) {
    const [x, y, w, h] = o.bbox;
    const b = { xmin: x, ymin: y, xmax: x + w, ymax: y + h };
    const best = Math.max(0, ...dets.filter((d) => d.labelId === o.category_id).map((d) => iou(d.box, b)));
    assert.ok(best >= 0.5, `shape ${o.category_id} at [${o.bbox}] not found (best IoU ${best.toFixed(3)})`);
  }
  assert.equal(dets.length, truth.annotations.length, "one detection per shape");
}

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
    const dets = await page.evaluate(() => window.demo.detections);
    assertFindsTheShapes(dets);
    // The slider starts at the model's recommended threshold.
    const t0 = await page.locator("#threshold").inputValue();
    assert.equal(Number(t0).toFixed(2), (await page.evaluate(() => window.demo.threshold)).toFixed(2));
    // Above the threshold nothing is left to draw: the boxes' pixels are what appears.
    const threshold = (v) =>
      page.evaluate((v) => {
        const t = document.getElementById("threshold");
        t.value = v;
        t.dispatchEvent(new Event("input"));
      }, v);
    await threshold("1");
    await waitFrames(page, 2);
    assert.equal((await page.evaluate(() => window.demo.detections)).length, 0);
    const before = await paletteCount(page, await page.locator("#view").screenshot());
    await threshold(t0);
    await waitFrames(page, 3);
    for (const d of dets) {
      assert.ok(d.score >= Number(t0) && d.score <= 1, `score ${d.score}`);
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

test("demo page without WebGPU: says so and runs on the CPU; the webcam mode shows FPS", async () => {
  const browser = await launch({ webgpu: false, camera: true });
  try {
    const page = await openPage(browser, `${server.origin}/web/`);
    await waitFrames(page, 1);
    assert.equal(await page.evaluate(() => window.demo.backend), "cpu");
    assert.equal(await page.locator("#backend").textContent(), "CPU");
    assert.match(await page.locator("#notice").textContent(), /WebGPU is not available/);
    assertFindsTheShapes(await page.evaluate(() => window.demo.detections));
    // The page stays responsive (the model runs in a worker) and the webcam (Chromium's fake
    // one) goes through detectVideo: results keep coming, with an FPS figure.
    await page.locator("#webcam").click();
    await waitFrames(page, 6);
    const video = await page.evaluate(() => ({
      frames: window.demo.frames, fps: window.demo.fps, view: [document.getElementById("view").width, document.getElementById("view").height],
      size: [document.getElementById("video").videoWidth, document.getElementById("video").videoHeight],
    }));
    assert.ok(video.fps > 0, `an FPS figure (${video.fps})`);
    assert.deepEqual(video.view, video.size, "the canvas shows the camera's frames");
    assert.match(await page.locator("#stats").textContent(), /latency \d+ ms · [\d.]+ FPS/);
    await page.locator("#stop").click();
    const stopped = await page.evaluate(() => window.demo.frames);
    await new Promise((ok) => setTimeout(ok, 1500));
    assert.ok((await page.evaluate(() => window.demo.frames)) <= stopped + 1, "Stop stops the loop");
    console.log(`demo webcam on the CPU: ${video.frames - 1} frames, ${video.fps.toFixed(1)} FPS`);
  } finally {
    await browser.close();
  }
});
