// `detectVideo`: detection on a playing <video> (here a canvas stream, as a webcam would be),
// one frame at a time (frames arriving while a detection runs are skipped, never queued),
// `{ detections, frameTime, latency }` per frame, `stop()` ends it; with
// requestVideoFrameCallback and without it (the requestAnimationFrame fallback), in the plain
// and the worker mode.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, fixtureModel, openHarness } from "../lib/harness.mjs";

let server, browser, page;

before(async () => {
  server = await serve({ extra: { "/files/model.vidt": fixtureModel("video") } });
  browser = await launch();
  page = await openHarness(browser, server);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

for (const [mode, worker, rvfc] of [["plain", false, true], ["plain, no rVFC", false, false],
  ["worker", true, true]]) {
  test(`detectVideo (${mode}): one detection at a time, results per frame, stop()`, async () => {
    const r = await page.evaluate(async ({ worker, rvfc }) => {
      const img = new Image();
      img.src = "/examples/sample.png";
      await img.decode();
      // A live stream from a canvas redrawn every frame (as a camera would deliver).
      const canvas = document.createElement("canvas");
      Object.assign(canvas, { width: 160, height: 120 });
      const g = canvas.getContext("2d");
      let drawing = true;
      let t = 0;
      const paint = () => {
        if (!drawing) return;
        g.drawImage(img, 0, 0, 160, 120);
        g.fillStyle = `rgb(${t++ % 255}, 0, 0)`;
        g.fillRect(0, 0, 2, 2);
        requestAnimationFrame(paint);
      };
      paint();
      const video = document.createElement("video");
      video.muted = true;
      video.srcObject = canvas.captureStream(30);
      if (!rvfc) video.requestVideoFrameCallback = undefined;
      await video.play();
      const det = await vidt.Detector.fromUrl("/files/model.vidt", { backend: "cpu", worker });
      // Counts overlapping calls (the loop must never make two at once).
      let inFlight = 0;
      let maxInFlight = 0;
      const detect = det.detect.bind(det);
      det.detect = async (...a) => {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        try {
          return await detect(...a);
        } finally {
          inFlight--;
        }
      };
      const results = [];
      const errors = [];
      const loop = det.detectVideo(video, (res) => results.push(res), {
        threshold: 0.05, inputSize: 128, onError: (e) => errors.push(e.message),
      });
      const t0 = performance.now();
      while (results.length < 4 && performance.now() - t0 < 120_000) {
        await new Promise((ok) => setTimeout(ok, 50));
      }
      loop.stop();
      const atStop = results.length;
      await new Promise((ok) => setTimeout(ok, 1500));
      const out = { results, atStop, after: results.length, maxInFlight, errors,
        detected: loop.detected, skipped: loop.skipped };
      // Bad detect options end the loop through onError.
      const bad = [];
      const loop2 = det.detectVideo(video, () => {}, { threshold: 7, onError: (e) => bad.push(e.message) });
      for (let i = 0; i < 100 && !bad.length; i++) await new Promise((ok) => setTimeout(ok, 50));
      loop2.stop();
      out.bad = bad;
      out.notAVideo = (() => {
        try {
          det.detectVideo(img, () => {});
        } catch (e) {
          return e.message;
        }
      })();
      drawing = false;
      for (const tr of video.srcObject.getTracks()) tr.stop();
      det.dispose();
      return out;
    }, { worker, rvfc });
    console.log(`detectVideo (${mode}): ${r.atStop} results, ${r.skipped} frames skipped, latency ` +
      `${r.results.map((x) => x.latency.toFixed(0)).join(", ")} ms`);
    assert.deepEqual(r.errors, []);
    assert.ok(r.atStop >= 4, `results arrive (${r.atStop})`);
    assert.ok(r.after <= r.atStop + 1, "stop() ends the loop (at most the detection in flight finishes)");
    assert.equal(r.maxInFlight, 1, "never two detections at once");
    // On the page's thread a detection blocks the page, so the browser drops those frames
    // itself; in a worker they arrive and the loop skips them.
    if (worker) assert.ok(r.skipped > 0, "frames arriving during a detection are skipped");
    assert.equal(r.detected, r.after);
    for (const res of r.results) {
      assert.ok(Array.isArray(res.detections) && res.detections.length > 0, "detections");
      // Box centres (a sigmoid times the frame's size) lie in the 160x120 frame.
      const inFrame = (d) => (d.box.xmin + d.box.xmax) / 2 <= 160.01 && (d.box.ymin + d.box.ymax) / 2 <= 120.01 &&
        d.box.xmin + d.box.xmax >= 0 && d.box.ymin + d.box.ymax >= 0;
      assert.ok(res.detections.every(inFrame), "in the frame's pixels");
      assert.ok(Number.isFinite(res.frameTime) && res.frameTime >= 0, "frameTime");
      assert.ok(res.latency > 0, "latency");
    }
    const times = r.results.map((x) => x.frameTime);
    assert.ok(times.every((v, i) => i === 0 || v >= times[i - 1]), "frames in order");
    assert.match(r.bad[0] ?? "", /threshold 7 is not in \[0, 1\]/, "bad options reach onError");
    assert.equal(r.notAVideo, "detectVideo needs a <video> element");
  });
}
