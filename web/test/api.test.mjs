// The wasm API's contract: every source kind gives the same answers as the native CLI on the
// same image, boxes are in the source's pixels, and bad input becomes an Error with a clear
// message (never a panic across the boundary). WebGPU here is SwiftShader, which takes tens of
// seconds per detection, so most checks run on the CPU fallback (same code above the backend)
// and WebGPU gets the CLI comparison on two source kinds.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import {
  ROOT, serve, launch, openHarness, fixture, exportModel, scratch, findVidtBin, iou,
} from "../lib/harness.mjs";

const SIZE = 224;
const THRESHOLD = 0.05;
let dir, model, plus, q8, server, browser, page;

before(async () => {
  dir = scratch("api");
  model = exportModel(fixture("vidt_nano_perturbed.pth"), path.join(dir, "m.vidt"));
  plus = exportModel(fixture("vidt_plus_nano_perturbed_f16.safetensors"), path.join(dir, "plus.vidt"),
    { dtype: "f16" });
  q8 = exportModel(fixture("vidt_nano_perturbed.pth"), path.join(dir, "q8.vidt"), { dtype: "q8" });
  // The official checkpoint cut in half: a truncated download.
  const pth = fs.readFileSync(fixture("vidt_nano_perturbed.pth"));
  fs.writeFileSync(path.join(dir, "cut.pth"), pth.subarray(0, pth.length >> 1));
  server = await serve({
    extra: {
      "/files/model.vidt": model,
      "/files/plus.vidt": plus,
      "/files/q8.vidt": q8,
      "/files/model.pth": fixture("vidt_nano_perturbed.pth"),
      "/files/cut.pth": path.join(dir, "cut.pth"),
      "/files/garbage.vidt": fixture("fixtures.json"),
      "/files/demo.vidt": path.join(ROOT, "models/demo.vidt"),
    },
  });
  browser = await launch();
  page = await openHarness(browser, server);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** Rejection message of an async call made in the page. */
const rejection = (fn, arg) =>
  page.evaluate(async ({ fn, arg }) => {
    try {
      await new Function("arg", `return (async () => { ${fn} })()`)(arg);
      return null;
    } catch (e) {
      return `${e.constructor.name}: ${e.message}`;
    }
  }, { fn, arg });

test("every source kind gives the native CLI's detections on the sample image", async () => {
  const native = JSON.parse(execFileSync(findVidtBin(), [
    "detect", path.join(ROOT, "examples/sample.png"), "--weights", model, "--device", "cpu",
    "--threshold", String(THRESHOLD), "--size", String(SIZE),
  ], { encoding: "utf8" }))[0].detections;
  assert.ok(native.length > 0, "the native CLI finds something at this threshold");
  for (const [backend, only] of [["webgpu", ["HTMLImageElement", "ImageData"]], ["cpu", null]]) {
    const kinds = await page.evaluate(async ({ backend, opts, only }) => {
      const det = await vidt.Detector.fromUrl("/files/model.vidt", { backend });
      const img = new Image();
      img.src = "/examples/sample.png";
      await img.decode();
      const canvas = document.createElement("canvas");
      Object.assign(canvas, { width: img.naturalWidth, height: img.naturalHeight });
      canvas.getContext("2d").drawImage(img, 0, 0);
      const imageData = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
      const offscreen = new OffscreenCanvas(canvas.width, canvas.height);
      offscreen.getContext("2d").drawImage(img, 0, 0);
      const sources = {
        HTMLImageElement: img,
        HTMLCanvasElement: canvas,
        ImageData: imageData,
        ImageBitmap: await createImageBitmap(img),
        OffscreenCanvas: offscreen,
        VideoFrame: new VideoFrame(await createImageBitmap(img), { timestamp: 0 }),
        rgba: { data: new Uint8Array(imageData.data.buffer), width: canvas.width, height: canvas.height },
      };
      const out = {};
      for (const [k, s] of Object.entries(sources)) {
        if (!only || only.includes(k)) out[k] = await det.detect(s, opts);
      }
      sources.VideoFrame.close();
      out.backend = det.backend;
      det.dispose();
      return out;
      // The official resize for every kind (a VideoFrame's default is the fast one:
      // photo.test.mjs), so that each is the CLI's.
    }, { backend, only, opts: { threshold: THRESHOLD, inputSize: SIZE, resize: "official" } });
    assert.equal(kinds.backend, backend);
    delete kinds.backend;
    for (const [kind, dets] of Object.entries(kinds)) {
      assert.equal(dets.length, native.length, `${backend} ${kind}: as many detections as the CLI`);
      let worstBox = 0, worstScore = 0;
      dets.forEach((d, i) => {
        const n = native[i];
        assert.equal(d.labelId, n.label_id, `${backend} ${kind} #${i} label`);
        assert.equal(d.label, n.label);
        worstScore = Math.max(worstScore, Math.abs(d.score - n.score));
        const b = [d.box.xmin, d.box.ymin, d.box.xmax, d.box.ymax];
        b.forEach((v, j) => (worstBox = Math.max(worstBox, Math.abs(v - n.box[j]))));
      });
      assert.ok(worstScore <= 1e-3, `${backend} ${kind}: scores within 1e-3 (${worstScore})`);
      assert.ok(worstBox <= 0.05, `${backend} ${kind}: boxes within 0.05 px (${worstBox})`);
      if (kind === "HTMLImageElement") {
        console.log(`${backend}: ${dets.length} detections = CLI; max |diff| score ${worstScore.toExponential(2)}, box ${worstBox.toExponential(2)} px`);
      }
    }
  }
});

/** pycocotools' compressed RLE string to an h x w row-major bitmap. */
function rleDecode({ size: [h, w], counts }) {
  const runs = [];
  for (let p = 0; p < counts.length;) {
    let x = 0, k = 0, more = true;
    while (more) {
      const c = counts.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && (c & 0x10)) x |= -1 << (5 * k);
    }
    if (runs.length > 2) x += runs[runs.length - 2];
    runs.push(x);
  }
  const out = new Uint8Array(h * w);
  let q = 0;
  runs.forEach((r, i) => {
    for (let j = 0; j < r; j++, q++) if (i % 2) out[(q % h) * w + Math.floor(q / h)] = 1;
  });
  return out;
}

test("a ViDT+ model's detections carry their instance masks, the native CLI's", async () => {
  const native = JSON.parse(execFileSync(findVidtBin(), [
    "detect", path.join(ROOT, "examples/sample.png"), "--weights", plus, "--device", "cpu",
    "--threshold", "0", "--size", String(SIZE),
  ], { encoding: "utf8" }))[0];
  const want = native.detections.slice(0, 5);
  const got = await page.evaluate(async ({ size }) => {
    const det = await vidt.Detector.fromUrl("/files/plus.vidt", { backend: "cpu" });
    const img = new Image();
    img.src = "/examples/sample.png";
    await img.decode();
    const dets = await det.detect(img, { threshold: 0, topK: 5, inputSize: size });
    det.dispose();
    return dets.map((d) => ({
      ...d,
      mask: d.mask && { ...d.mask, isBytes: d.mask.data instanceof Uint8Array,
        dataType: Object.prototype.toString.call(d.mask.data), data: Array.from(d.mask.data) },
    }));
  }, { size: SIZE });
  assert.equal(got.length, 5);
  const [h, w] = [native.height, native.width];
  let worst = 1;
  got.forEach((d, i) => {
    const n = want[i];
    assert.equal(d.labelId, n.label_id, `#${i} label`);
    const m = d.mask;
    assert.ok(m, `#${i} has a mask (${JSON.stringify(Object.keys(d))})`);
    assert.ok(m.isBytes, `#${i}: mask data is a Uint8Array (${m.dataType})`);
    assert.equal(m.data.length, m.width * m.height, `#${i} mask size`);
    assert.ok(m.x + m.width <= w && m.y + m.height <= h, `#${i} mask inside the image`);
    const theirs = rleDecode(n.segmentation);
    let inter = 0, union = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const inside = x >= m.x && y >= m.y && x < m.x + m.width && y < m.y + m.height;
        const a = inside ? m.data[(y - m.y) * m.width + (x - m.x)] : 0;
        const b = theirs[y * w + x];
        inter += a & b;
        union += a | b;
      }
    }
    assert.ok(union > 0, `#${i}: an empty mask compares nothing`);
    worst = Math.min(worst, inter / union);
  });
  assert.ok(worst >= 0.99, `masks IoU with the CLI's >= 0.99 (worst ${worst})`);
  console.log(`ViDT+ in the browser (cpu): 5 detections with masks, min IoU with the CLI's RLE ${worst.toFixed(4)}`);
});

test("bad input rejects with an Error that says what is wrong", async () => {
  const cases = [
    ["return vidt.Detector.fromBytes(new Uint8Array([1, 2, 3]))", /model bytes/],
    ["return vidt.Detector.fromUrl('/files/garbage.vidt')", /garbage\.vidt/],
    ["return vidt.Detector.fromUrl('/files/cut.pth')", /cut\.pth: not a readable checkpoint \(a PyTorch zip whose directory cannot be read .*is the file truncated\?\)/],
    ["return vidt.Detector.fromBytes(new Uint8Array([0x50, 0x4b, 3, 4, 0, 0]))", /model bytes: not a readable checkpoint \(a PyTorch zip whose directory cannot be read/],
    ["return vidt.Detector.fromUrl('/files/model.vidt', { signal: 3 })", /signal must be an AbortSignal/],
    ["return vidt.Detector.fromUrl('/files/missing.vidt')", /HTTP 404/],
    ["return vidt.Detector.fromUrl('/files/model.vidt', { backend: 'tpu' })", /unknown backend `tpu`/],
    ["return vidt.Detector.fromUrl('/files/model.vidt', { onprogress: 1 })", /unknown load option `onprogress`/],
  ];
  for (const [code, want] of cases) {
    const msg = await rejection(code);
    assert.ok(msg, `${code} should reject`);
    assert.match(msg, /^Error: /, `${code}: a JS Error`);
    assert.match(msg, want, `${code}: ${msg}`);
  }
  const det = "const d = await vidt.Detector.fromUrl('/files/model.vidt', { backend: 'cpu' });";
  const img = "const i = new ImageData(64, 48);";
  // The same messages as the CLI's (tests/it/cli.rs, bad_detect_options_are_refused_as_in_the_browser).
  const detCases = [
    [`${img} return d.detect(i, { threshold: 2 })`, /bad detect options: threshold 2 is not in \[0, 1\]/],
    [`${img} return d.detect(i, { decoderLayers: 7 })`, /bad detect options: decoder layers 7 is not an integer in 1..=6/],
    [`${img} return d.detect(i, { topK: 0 })`, /bad detect options: top-k 0 is not a positive integer/],
    [`${img} return d.detect(i, { inputSize: 5000 })`, /bad detect options: input size 5000 is not an integer in 32..=2048/],
    [`${img} return d.detect(i, { inputSize: 320, maxSize: 100 })`, /bad detect options: max size 100 is not an integer in input size \(320\)..=4096/],
    [`${img} return d.detect(i, { labels: ["person", "unicorn"] })`, /bad detect options: no class is named `unicorn` \(the model's classes: person, bicycle,/],
    [`${img} return d.detect(i, { labels: [91] })`, /bad detect options: label id 91 is not an integer in 0..91/],
    [`${img} return d.detect(i, { treshold: 0.5 })`, /unknown detect option `treshold`/],
    ["return d.detect(new Image())", /no pixels yet/],
    ["return d.detect(42)", /detect needs an image/],
    ["return d.detect({ data: new Uint8Array(10), width: 4, height: 4 })", /10 bytes; 4x4 RGBA needs 64/],
    [`${img} d.dispose(); return d.detect(i)`, /disposed/],
  ];
  for (const [code, want] of detCases) {
    const msg = await rejection(`${det} ${code}`);
    assert.ok(msg, `${code} should reject`);
    assert.match(msg, want, `${code}: ${msg}`);
  }
  // The module still works after all that (no panic poisoned it).
  const n = await page.evaluate(async () => {
    const d = await vidt.Detector.fromUrl("/files/model.vidt", { backend: "cpu" });
    const dets = await d.detect(new ImageData(64, 48), { threshold: 0, topK: 3, inputSize: 64 });
    d.dispose();
    return dets.length;
  });
  assert.equal(n, 3);
});

test("the official .pth as released: the same detections as its .vidt export, plain and in a worker", async () => {
  const r = await page.evaluate(async () => {
    const img = new Image();
    img.src = "/examples/sample.png";
    await img.decode();
    const opts = { threshold: 0, topK: 20, inputSize: 96 };
    const out = {};
    for (const [name, url, worker] of [["vidt", "/files/model.vidt", false], ["pth", "/files/model.pth", false],
      ["pthWorker", "/files/model.pth", true]]) {
      const d = await vidt.Detector.fromUrl(url, { backend: "cpu", worker });
      out[name] = await d.detect(img, opts);
      out[name + "Classes"] = d.classes.length;
      d.dispose();
    }
    const bytes = new Uint8Array(await (await fetch("/files/model.pth")).arrayBuffer());
    const d = await vidt.Detector.fromBytes(bytes, { backend: "cpu" });
    out.pthBytes = await d.detect(img, opts);
    d.dispose();
    return out;
  });
  assert.equal(r.vidt.length, 20);
  assert.equal(r.pthClasses, r.vidtClasses);
  assert.deepEqual(r.pth, r.vidt, ".pth by URL = its .vidt export (the same f32 weights)");
  assert.deepEqual(r.pthWorker, r.vidt, ".pth in a worker");
  assert.deepEqual(r.pthBytes, r.vidt, ".pth by fromBytes");
});

test("a q8 file gives the CLI's detections on it, plain and in a worker, and says it is q8", async () => {
  const native = JSON.parse(execFileSync(findVidtBin(), [
    "detect", path.join(ROOT, "examples/sample.png"), "--weights", q8, "--device", "cpu",
    "--threshold", String(THRESHOLD), "--size", "96",
  ], { encoding: "utf8" }))[0].detections;
  assert.ok(native.length > 0, "the CLI finds something on the q8 file at this threshold");
  const r = await page.evaluate(async (threshold) => {
    const img = new Image();
    img.src = "/examples/sample.png";
    await img.decode();
    const out = {};
    for (const [name, url, worker] of [["plain", "/files/q8.vidt", false], ["worker", "/files/q8.vidt", true],
      ["f32", "/files/model.vidt", false], ["pth", "/files/model.pth", false]]) {
      const d = await vidt.Detector.fromUrl(url, { backend: "cpu", worker });
      out[name] = { dtype: d.dtype, dets: await d.detect(img, { threshold, inputSize: 96 }) };
      d.dispose();
    }
    return out;
  }, THRESHOLD);
  assert.deepEqual([r.plain.dtype, r.worker.dtype, r.f32.dtype, r.pth.dtype], ["q8", "q8", "f32", undefined]);
  assert.deepEqual(r.worker.dets, r.plain.dets, "worker = plain");
  assert.equal(r.plain.dets.length, native.length);
  let worstScore = 0, worstBox = 0;
  r.plain.dets.forEach((d, i) => {
    const n = native[i];
    assert.equal(d.labelId, n.label_id, `#${i} label`);
    worstScore = Math.max(worstScore, Math.abs(d.score - n.score));
    [d.box.xmin, d.box.ymin, d.box.xmax, d.box.ymax].forEach((v, j) => (worstBox = Math.max(worstBox, Math.abs(v - n.box[j]))));
  });
  assert.ok(worstScore <= 1e-3 && worstBox <= 0.05, `q8 = CLI (score ${worstScore}, box ${worstBox} px)`);
  // Dequantized, not read as f32: the q8 detections are not the f32 file's.
  assert.notDeepEqual(r.plain.dets.map((d) => d.score), r.f32.dets.map((d) => d.score));
  console.log(`q8: ${native.length} detections = CLI; max |diff| score ${worstScore.toExponential(2)}, box ${worstBox.toExponential(2)} px`);
});

test("labels keeps only those classes, chosen before the top-k (as the CLI's --labels)", async () => {
  const r = await page.evaluate(async () => {
    const d = await vidt.Detector.fromUrl("/files/model.vidt", { backend: "cpu" });
    const img = new Image();
    img.src = "/examples/sample.png";
    await img.decode();
    const opts = { threshold: 0, inputSize: 96 };
    const all = await d.detect(img, { ...opts, topK: 100 * 91 });
    const kept = await d.detect(img, { ...opts, topK: 10, labels: ["cat", 18] });
    const classes = d.classes;
    d.dispose();
    return { all, kept, cat: classes.indexOf("cat"), dog: classes[18] };
  });
  const want = r.all.filter((x) => x.labelId === r.cat || x.labelId === 18).slice(0, 10);
  assert.equal(r.kept.length, 10);
  assert.deepEqual(r.kept, want, "the first 10 of every cat and dog detection");
  assert.ok(r.kept.every((x) => x.label === "cat" || x.label === r.dog), "only cats and dogs");
});

test("signal aborts fromUrl with an AbortError; an aborted one rejects at once", async () => {
  const r = await page.evaluate(async () => {
    const out = [];
    const c = new AbortController();
    c.abort();
    for (const [url, signal] of [["/files/model.pth", c.signal], ["/files/model.pth", "abort in onProgress"]]) {
      const c2 = new AbortController();
      try {
        await vidt.Detector.fromUrl(url, {
          backend: "cpu",
          signal: typeof signal === "string" ? c2.signal : signal,
          onProgress: () => c2.abort(),
        });
        out.push("loaded");
      } catch (e) {
        out.push(`${e.name}: ${e.message}`);
      }
    }
    // Not aborted: it loads.
    const d = await vidt.Detector.fromUrl("/files/model.vidt", { backend: "cpu", signal: new AbortController().signal });
    out.push(d.preset);
    d.dispose();
    return out;
  });
  assert.deepEqual(r.slice(0, 2), ["AbortError: the model load was aborted", "AbortError: the model load was aborted"]);
  assert.equal(r[2], "swin_nano");
});

test("boxes are in the source's pixels and decoderLayers changes the output", async () => {
  const r = await page.evaluate(async () => {
    const d = await vidt.Detector.fromUrl("/files/model.vidt", { backend: "cpu" });
    const w = 300, h = 100;
    const data = new Uint8ClampedArray(w * h * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 13) % 256));
    const all = await d.detect(new ImageData(data, w, h), { threshold: 0, topK: 100, inputSize: 96 });
    const two = await d.detect(new ImageData(data, w, h), { threshold: 0, topK: 100, inputSize: 96, decoderLayers: 2 });
    d.dispose();
    return { all, two, w, h };
  });
  assert.equal(r.all.length, 100);
  const cx = r.all.map((d) => (d.box.xmin + d.box.xmax) / 2);
  const cy = r.all.map((d) => (d.box.ymin + d.box.ymax) / 2);
  assert.ok(cx.every((v) => v > -1 && v < r.w + 1) && cy.every((v) => v > -1 && v < r.h + 1), "centres inside the image");
  assert.ok(Math.max(...cx) > r.h, "x spans the 300-px width, not a normalized or square frame");
  assert.notDeepEqual(r.two.map((d) => d.score), r.all.map((d) => d.score), "2 decoder layers differ from 6");
});

test("an HTMLVideoElement (a live canvas stream) is a source too", async () => {
  const r = await page.evaluate(async () => {
    const d = await vidt.Detector.fromUrl("/files/model.vidt", { backend: "cpu" });
    const canvas = document.createElement("canvas");
    Object.assign(canvas, { width: 160, height: 120 });
    const g = canvas.getContext("2d");
    const paint = () => {
      g.fillStyle = "#3a6";
      g.fillRect(0, 0, 160, 120);
      g.fillStyle = "#c33";
      g.fillRect(40, 30, 60, 50);
    };
    paint();
    const video = document.createElement("video");
    video.muted = true;
    video.srcObject = canvas.captureStream();
    await video.play();
    paint(); // a frame after play() so the stream has one
    await new Promise((ok) => video.requestVideoFrameCallback(ok));
    const dets = await d.detect(video, { threshold: 0, topK: 5, inputSize: 96 });
    d.dispose();
    return { dets, w: video.videoWidth, h: video.videoHeight };
  });
  assert.deepEqual([r.w, r.h], [160, 120]);
  assert.equal(r.dets.length, 5);
  for (const d of r.dets) assert.ok(d.box.xmax > -1 && d.box.xmin < 161 && d.box.ymin < 121, "box in the frame");
});

test("nmsIou: the model's NMS by default, null turns it off, a number sets it (as the CLI)", async () => {
  // The demo model recommends class-wise NMS at 0.5; at a low threshold it emits duplicates.
  const T = 0.02;
  const cli = (flags) => JSON.parse(execFileSync(findVidtBin(), [
    "detect", path.join(ROOT, "examples/shapes.png"), "--device", "cpu", "--threshold", String(T),
    ...flags,
  ], { encoding: "utf8" }))[0].detections;
  const runs = await page.evaluate(async (T) => {
    const det = await vidt.Detector.fromUrl("/files/demo.vidt", { backend: "cpu" });
    const img = new Image();
    img.src = "/examples/shapes.png";
    await img.decode();
    const out = {
      recommended: det.nmsIou,
      byDefault: await det.detect(img, { threshold: T }),
      off: await det.detect(img, { threshold: T, nmsIou: null }),
      half: await det.detect(img, { threshold: T, nmsIou: 0.5 }),
      tenth: await det.detect(img, { threshold: T, nmsIou: 0.1 }),
    };
    det.dispose();
    return out;
  }, T);
  const greedy = (dets, t) => {
    const kept = [];
    for (const d of dets) {
      if (!kept.some((k) => k.labelId === d.labelId && iou(k.box, d.box) > t)) kept.push(d);
    }
    return kept;
  };
  const overlapping = (dets, t) => dets.some((a, i) =>
    dets.slice(i + 1).some((b) => a.labelId === b.labelId && iou(a.box, b.box) > t));
  assert.equal(runs.recommended, 0.5);
  assert.ok(overlapping(runs.off, 0.5), "without NMS the model has duplicates to remove");
  assert.deepEqual(runs.byDefault, runs.half);
  assert.deepEqual(runs.half, greedy(runs.off, 0.5));
  assert.deepEqual(runs.tenth, greedy(runs.off, 0.1));
  assert.ok(runs.tenth.length < runs.off.length && !overlapping(runs.tenth, 0.1));
  // The same detections as the CLI's --no-nms and default, box for box.
  for (const [ours, native] of [[runs.off, cli(["--no-nms"])], [runs.byDefault, cli([])]]) {
    assert.equal(ours.length, native.length);
    ours.forEach((d, i) => {
      assert.equal(d.labelId, native[i].label_id);
      assert.ok(Math.abs(d.score - native[i].score) < 1e-4, `${d.score} vs ${native[i].score}`);
      const b = native[i].box;
      assert.ok(Math.abs(d.box.xmin - b[0]) < 0.05 && Math.abs(d.box.ymax - b[3]) < 0.05);
    });
  }
});

test("one resize rule: inputSize caps the longer side as the CLI's --size, maxSize as --max-size", async () => {
  // A 4:1 image (shapes.png squeezed), so the longer-side cap decides the resized size.
  const T = 0.01;
  const png = await page.evaluate(async () => {
    const img = new Image();
    img.src = "/examples/shapes.png";
    await img.decode();
    const c = Object.assign(document.createElement("canvas"), { width: 480, height: 120 });
    c.getContext("2d").drawImage(img, 0, 0, 480, 120);
    return c.toDataURL("image/png");
  });
  const file = path.join(dir, "wide.png");
  fs.writeFileSync(file, Buffer.from(png.split(",")[1], "base64"));
  const cli = (flags) => JSON.parse(execFileSync(findVidtBin(), [
    "detect", file, "--device", "cpu", "--threshold", String(T), "--size", "160", ...flags,
  ], { encoding: "utf8" }))[0].detections;
  const ours = await page.evaluate(async ({ png, T }) => {
    const det = await vidt.Detector.fromUrl("/files/demo.vidt", { backend: "cpu" });
    const img = new Image();
    img.src = png;
    await img.decode();
    const out = {
      rule: await det.detect(img, { threshold: T, inputSize: 160 }),
      wide: await det.detect(img, { threshold: T, inputSize: 160, maxSize: 640 }),
    };
    det.dispose();
    return out;
  }, { png, T });
  const same = (mine, native, what) => {
    assert.equal(mine.length, native.length, `${what}: as many detections as the CLI`);
    mine.forEach((d, i) => {
      assert.equal(d.labelId, native[i].label_id, `${what} #${i}`);
      assert.ok(Math.abs(d.score - native[i].score) < 1e-4, `${what} #${i}: ${d.score} vs ${native[i].score}`);
      const b = [d.box.xmin, d.box.ymin, d.box.xmax, d.box.ymax];
      b.forEach((v, j) => assert.ok(Math.abs(v - native[i].box[j]) < 0.05, `${what} #${i} box`));
    });
  };
  same(ours.rule, cli([]), "default cap");
  same(ours.wide, cli(["--max-size", "640"]), "maxSize 640");
  assert.notDeepEqual(ours.rule, ours.wide, "the cap changes the detections");
});

test("officialModels() lists the CLI's `vidt models --json`, each with its official URL", async () => {
  const cli = JSON.parse(execFileSync(findVidtBin(), ["models", "--json"], {
    encoding: "utf8", env: { ...process.env, VIDT_RELEASES: "" },
  }));
  const page_ = await page.evaluate(() => vidt.officialModels());
  assert.equal(page_.length, 18);
  assert.deepEqual(page_, cli);
  assert.ok(page_.every((m) => m.url.startsWith("https://github.com/naver-ai/vidt/releases/download/")));
});
