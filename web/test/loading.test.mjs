// Loading without `init()` (#33 item 4): `Detector.fromUrl` / `fromBytes` from the package entry
// initialise the wasm module on first use; in worker mode the page never fetches nor compiles
// it (only the worker does). Also the load options index.js handles itself: `wasmUrl`,
// `workerUrl` (same-origin, and a CDN's on another origin through a blob: module) and
// `signal` in worker mode. Every case is a fresh page, as init happens once per page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ROOT, serve, launch, fixtureModel, scratch } from "../lib/harness.mjs";

let server, cdn, browser;

const PKG = ["index.js", "worker.js", "vidt.js", "vidt_bg.wasm"];

before(async () => {
  // Another origin, as a CDN: CORS allowed (cross-origin modules and wasm need it).
  cdn = await serve({ root: path.join(ROOT, "pkg"), headers: { "access-control-allow-origin": "*" } });
  const dir = scratch("loading");
  // Pages that import the package and nothing else: no init(). One from this origin, one
  // from the CDN.
  const page = (from) => `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="module">
  import init, * as vidt from "${from}";
  window.init = init;
  window.vidt = vidt;
  window.imported = true;
</script>`;
  fs.writeFileSync(path.join(dir, "page.html"), page("/pkg/index.js"));
  fs.writeFileSync(path.join(dir, "cdn.html"), page(`${cdn.origin}/index.js`));
  const extra = {
    "/page.html": path.join(dir, "page.html"),
    "/cdn.html": path.join(dir, "cdn.html"),
    "/files/model.vidt": fixtureModel("loading", { dtype: "f16", inputSize: 224 }),
  };
  // Copies of the package's files at other paths, as a site would host them.
  for (const f of PKG) extra[`/cdn/${f}`] = path.join(ROOT, "pkg", f);
  extra["/wasm/elsewhere.wasm"] = path.join(ROOT, "pkg/vidt_bg.wasm");
  server = await serve({ extra });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
  await cdn?.close();
});

/** A fresh page without init(); it counts the page's own wasm compilations and the workers it
 *  started and terminated. */
async function fresh(page = "/page.html") {
  const tab = await browser.newPage();
  tab.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
  tab.on("console", (m) => {
    if (m.type() === "error" || process.env.VIDT_VERBOSE) console.error(`[page] ${m.text()}`);
  });
  await tab.addInitScript(() => {
    window.compiled = 0;
    for (const k of ["instantiate", "instantiateStreaming", "compile", "compileStreaming"]) {
      const f = WebAssembly[k];
      WebAssembly[k] = function (...a) {
        window.compiled++;
        return f.apply(this, a);
      };
    }
    window.workers = { started: 0, terminated: 0 };
    const W = window.Worker;
    window.Worker = class extends W {
      constructor(...a) {
        super(...a);
        window.workers.started++;
      }
      terminate() {
        window.workers.terminated++;
        super.terminate();
      }
    };
    // The page's fetches of wasm files (resource timing names them).
    window.wasmFetches = () => performance.getEntriesByType("resource").map((e) => new URL(e.name).pathname)
      .filter((p) => p.endsWith(".wasm"));
    window.detectOn = async (det) => {
      const img = new Image();
      img.src = "/examples/sample.png";
      await img.decode();
      return det.detect(img, { threshold: 0.05 });
    };
  });
  await tab.goto(`${server.origin}${page}`);
  await tab.waitForFunction(() => window.imported);
  return tab;
}

/** What the server was asked for since `mark` (a length of `requests`). */
const since = (s, mark) => s.requests.slice(mark);

test("worker mode without init(): detections, and the page never fetches nor compiles the wasm", async () => {
  const page = await fresh();
  const mark = server.requests.length;
  const r = await page.evaluate(async () => {
    const det = await vidt.Detector.fromUrl("/files/model.vidt", { worker: true, backend: "cpu" });
    const out = { dets: await detectOn(det), backend: det.backend, hasFallbackReason: "fallbackReason" in det,
      fallbackReason: det.fallbackReason };
    det.dispose();
    return { ...out, wasm: wasmFetches(), compiled, workers };
  });
  await page.close();
  assert.ok(r.dets.length > 0, "detections come back");
  assert.equal(r.backend, "cpu");
  assert.ok(r.hasFallbackReason, "the worker detector has a fallbackReason getter");
  assert.equal(r.fallbackReason, undefined, "no fallback asked: no reason");
  assert.deepEqual(r.wasm, [], "the page fetched no wasm");
  assert.equal(r.compiled, 0, "the page compiled no wasm");
  assert.equal(r.workers.started, 1);
  assert.ok(since(server, mark).includes("/pkg/vidt_bg.wasm"), "the worker fetched the wasm");
});

test("plain mode without init(): fromUrl and fromBytes initialise on first use, once", async () => {
  const page = await fresh();
  const r = await page.evaluate(async () => {
    const [a, b] = await Promise.all([
      vidt.Detector.fromUrl("/files/model.vidt", { backend: "cpu" }),
      fetch("/files/model.vidt").then((res) => res.arrayBuffer())
        .then((buf) => vidt.Detector.fromBytes(new Uint8Array(buf), { backend: "cpu" })),
    ]);
    const out = { a: await detectOn(a), b: await detectOn(b), fallbackReason: a.fallbackReason };
    await init(); // still there, and a no-op now
    a.dispose();
    b.dispose();
    return { ...out, wasm: wasmFetches(), compiled };
  });
  await page.close();
  assert.ok(r.a.length > 0, "fromUrl detects");
  assert.deepEqual(r.b, r.a, "fromBytes: the same detections");
  assert.deepEqual(r.wasm, ["/pkg/vidt_bg.wasm"], "the wasm fetched once, beside vidt.js");
  assert.equal(r.compiled, 1, "compiled once");
});

test("init() with a custom path first is honoured; so is wasmUrl", async () => {
  let page = await fresh();
  let r = await page.evaluate(async () => {
    await init({ module_or_path: "/wasm/elsewhere.wasm" });
    const det = await vidt.Detector.fromUrl("/files/model.vidt", { backend: "cpu" });
    det.dispose();
    return wasmFetches();
  });
  await page.close();
  assert.deepEqual(r, ["/wasm/elsewhere.wasm"], "init's path, and only it");

  page = await fresh();
  r = await page.evaluate(async () => {
    const det = await vidt.Detector.fromUrl("/files/model.vidt", { backend: "cpu", wasmUrl: "/wasm/elsewhere.wasm" });
    const out = { dets: await detectOn(det), wasm: wasmFetches() };
    det.dispose();
    return out;
  });
  await page.close();
  assert.ok(r.dets.length > 0);
  assert.deepEqual(r.wasm, ["/wasm/elsewhere.wasm"], "wasmUrl, and only it");
});

test("worker mode: workerUrl and wasmUrl at other paths, and a workerUrl on another origin", async () => {
  let page = await fresh();
  let mark = server.requests.length;
  let r = await page.evaluate(async () => {
    const det = await vidt.Detector.fromUrl("/files/model.vidt", {
      worker: true, backend: "cpu", workerUrl: "/cdn/worker.js",
      wasmUrl: new URL("/wasm/elsewhere.wasm", location.href), // a URL object is posted as a string
    });
    const out = { dets: await detectOn(det), wasm: wasmFetches(), compiled };
    det.dispose();
    return out;
  });
  await page.close();
  assert.ok(r.dets.length > 0);
  assert.deepEqual(r.wasm, [], "the page fetched no wasm");
  assert.equal(r.compiled, 0);
  let asked = since(server, mark);
  for (const p of ["/cdn/worker.js", "/cdn/vidt.js", "/wasm/elsewhere.wasm"]) {
    assert.ok(asked.includes(p), `the worker asked for ${p}: ${asked.join(" ")}`);
  }
  for (const p of ["/pkg/worker.js", "/pkg/vidt_bg.wasm", "/cdn/vidt_bg.wasm"]) {
    assert.ok(!asked.includes(p), `nothing asked for ${p}`);
  }

  // A CDN's worker.js: a module worker must be same-origin, so a blob: module imports it. Its
  // vidt.js finds vidt_bg.wasm beside it, on the CDN.
  page = await fresh();
  mark = server.requests.length;
  const cdnMark = cdn.requests.length;
  r = await page.evaluate(async (origin) => {
    const det = await vidt.Detector.fromUrl("/files/model.vidt", {
      worker: true, backend: "cpu", workerUrl: `${origin}/worker.js`,
    });
    const out = { dets: await detectOn(det), wasm: wasmFetches(), compiled };
    det.dispose();
    return out;
  }, cdn.origin);
  await page.close();
  assert.ok(r.dets.length > 0);
  assert.deepEqual(r.wasm, []);
  assert.deepEqual(since(cdn, cdnMark), ["/worker.js", "/vidt.js", "/vidt_bg.wasm"], "all from the CDN");
  asked = since(server, mark);
  assert.ok(!asked.some((p) => p.startsWith("/pkg/")), `nothing from the page's copy: ${asked.join(" ")}`);
});

test("worker mode: an AbortSignal terminates the worker and rejects with AbortError", async () => {
  const page = await fresh();
  const r = await page.evaluate(async () => {
    const errorOf = async (p) => {
      try {
        await p;
        return null;
      } catch (e) {
        return { ctor: e.constructor.name, name: e.name, message: e.message };
      }
    };
    const out = {};
    // Already aborted: at once, no worker started.
    out.already = await errorOf(vidt.Detector.fromUrl("/files/model.vidt", {
      worker: true, backend: "cpu", signal: AbortSignal.abort(),
    }));
    out.afterAlready = { ...workers };
    // Aborted during the download (its first progress report).
    const ctl = new AbortController();
    out.during = await errorOf(vidt.Detector.fromUrl("/files/model.vidt", {
      worker: true, backend: "cpu", signal: ctl.signal, onProgress: () => ctl.abort(),
    }));
    out.afterDuring = { ...workers };
    // A signal that never aborts: stripped before posting, the load succeeds; aborting later
    // leaves the detector alone.
    const late = new AbortController();
    const det = await vidt.Detector.fromUrl("/files/model.vidt", { worker: true, backend: "cpu", signal: late.signal });
    late.abort();
    out.dets = (await detectOn(det)).length;
    out.afterLate = { ...workers };
    det.dispose();
    return out;
  });
  await page.close();
  for (const k of ["already", "during"]) {
    assert.ok(r[k], `${k}: rejected`);
    assert.equal(r[k].ctor, "Error", `${k}: an Error`);
    assert.equal(r[k].name, "AbortError", k);
    assert.match(r[k].message, /aborted/, k);
  }
  assert.deepEqual(r.afterAlready, { started: 0, terminated: 0 }, "already aborted: no worker");
  assert.deepEqual(r.afterDuring, { started: 1, terminated: 1 }, "aborted: the worker terminated");
  assert.ok(r.dets > 0, "a signal aborted after the load does not touch the detector");
  assert.deepEqual(r.afterLate, { started: 2, terminated: 1 });
});

test("the package from another origin (a CDN): plain mode, and worker mode with workerUrl", async () => {
  const page = await fresh("/cdn.html");
  const mark = server.requests.length;
  const cdnMark = cdn.requests.length;
  const r = await page.evaluate(async (origin) => {
    const out = {};
    try {
      await vidt.Detector.fromUrl("/files/model.vidt", { worker: true, backend: "cpu" });
    } catch (e) {
      out.noWorkerUrl = e.message;
    }
    const det = await vidt.Detector.fromUrl("/files/model.vidt", {
      worker: true, backend: "cpu", workerUrl: `${origin}/worker.js`,
    });
    out.worker = await detectOn(det);
    out.wasmAfterWorker = wasmFetches().length;
    det.dispose();
    const plain = await vidt.Detector.fromUrl("/files/model.vidt", { backend: "cpu" });
    out.plain = await detectOn(plain);
    plain.dispose();
    out.wasm = performance.getEntriesByType("resource").map((e) => e.name).filter((n) => n.endsWith(".wasm"));
    return out;
  }, cdn.origin);
  await page.close();
  assert.match(r.noWorkerUrl ?? "", /another origin.*workerUrl/, "without workerUrl: says what to do");
  assert.ok(r.worker.length > 0);
  assert.deepEqual(r.worker, r.plain, "the same detections");
  assert.equal(r.wasmAfterWorker, 0);
  assert.deepEqual(r.wasm, [`${cdn.origin}/vidt_bg.wasm`], "the page's wasm from the CDN, beside vidt.js");
  assert.deepEqual(since(server, mark).filter((p) => p !== "/files/model.vidt" && p !== "/examples/sample.png"), [],
    "nothing of the package from the page's origin");
  assert.ok(since(cdn, cdnMark).includes("/worker.js"));
});
