// Shared by the browser tools and tests: a static server over the repository (pkg/, web/,
// examples/) plus registered extra files, and headless Chromium from the system (never a
// downloaded browser) with WebGPU through SwiftShader.
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".css": "text/css",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
  ".mp4": "video/mp4",
  ".webm": "video/webm",
};

/** Serves `root` on 127.0.0.1 (a secure context, as WebGPU needs). `extra` maps URL paths
 *  (like "/files/model.vidt") to absolute file paths outside the root. `requests` lists the
 *  paths asked for, in order, and `bodies` those answered with the whole file (a 200 to a GET:
 *  tests count downloads with it; a 304 or a HEAD is not one). Files carry an ETag and a
 *  Last-Modified, and a conditional GET that matches gets a 304, as from a real server.
 *  `headers` are added to every answer (e.g. CORS, to serve as another origin's CDN). */
export async function serve({ root = ROOT, port = 0, extra = {}, log = false, headers = {} } = {}) {
  const requests = [];
  const bodies = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    let p = decodeURIComponent(url.pathname);
    requests.push(p);
    let file = extra[p];
    if (!file) {
      if (p.endsWith("/")) p += "index.html";
      file = path.join(root, path.normalize(p));
      if (!file.startsWith(root)) return void res.writeHead(403).end();
    }
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) {
        if (log) console.error(`404 ${p}`);
        return void res.writeHead(404, { "content-type": "text/plain" }).end(`not found: ${p}`);
      }
      const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
      const validators = { etag, "last-modified": st.mtime.toUTCString() };
      const since = Date.parse(req.headers["if-modified-since"] ?? "");
      const unchanged = req.headers["if-none-match"] !== undefined
        ? req.headers["if-none-match"] === etag
        : Math.floor(st.mtimeMs / 1000) <= since / 1000;
      if (req.method === "GET" && unchanged) {
        return void res.writeHead(304, { "cache-control": "no-store", ...validators, ...headers }).end();
      }
      res.writeHead(200, {
        "content-type": TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream",
        "content-length": st.size,
        "cache-control": "no-store",
        ...validators,
        ...headers,
      });
      if (req.method === "HEAD") return void res.end();
      bodies.push(p);
      fs.createReadStream(file).pipe(res);
    });
  });
  await new Promise((ok) => server.listen(port, "127.0.0.1", ok));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return { origin, requests, bodies, close: () => new Promise((ok) => server.close(ok)) };
}

/** Headless Chromium (`CHROMIUM`, else /usr/bin/chromium). `webgpu: false` leaves WebGPU
 *  off, as in a browser without it; `camera: true` gives pages Chromium's fake webcam (a
 *  moving test pattern), permission granted. */
export async function launch({ webgpu = true, camera = false } = {}) {
  const { chromium } = await import("playwright-core");
  const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
  if (!fs.existsSync(executablePath)) {
    throw new Error(`${executablePath} not found: apt-get install chromium (or set CHROMIUM)`);
  }
  // Chromium leaves profile folders in TMPDIR; keep them in one scratch folder.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "vidt-chromium-"));
  const args = [
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--enable-precise-memory-info",
    "--js-flags=--expose-gc",
  ];
  if (webgpu) args.push("--enable-unsafe-webgpu");
  if (camera) args.push("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream");
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args,
    env: { ...process.env, TMPDIR: tmp },
  });
  const close = browser.close.bind(browser);
  browser.close = async () => {
    await close();
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  return browser;
}

/** A page (of a browser, or of a browser context to share its storage) with console errors
 *  echoed (`VIDT_VERBOSE=1` echoes everything). */
export async function openPage(browser, url) {
  const page = await browser.newPage();
  page.on("console", (m) => {
    if (m.type() === "error" || process.env.VIDT_VERBOSE) console.error(`[page] ${m.text()}`);
  });
  page.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
  await page.goto(url);
  return page;
}

/** Reads safetensors bytes into { name: { dtype, shape, data: Float32Array|Uint8Array|BigInt64Array } }. */
export function readSafetensors(buf) {
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
  const base = 8 + n;
  const out = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [a, b] = t.data_offsets;
    const bytes = buf.subarray(base + a, base + b);
    const copy = new Uint8Array(bytes).buffer; // aligned
    let data;
    if (t.dtype === "F32") data = new Float32Array(copy);
    else if (t.dtype === "U8") data = new Uint8Array(copy);
    else if (t.dtype === "I64") data = new BigInt64Array(copy);
    else throw new Error(`${name}: dtype ${t.dtype} not handled`);
    out[name] = { dtype: t.dtype, shape: t.shape, data };
  }
  return out;
}

/** Whether a file is a PyTorch checkpoint (zip or legacy pickle), which the browser cannot read. */
export function isPytorch(file) {
  const fd = fs.openSync(file, "r");
  const head = Buffer.alloc(2);
  fs.readSync(fd, head, 0, 2, 0);
  fs.closeSync(fd);
  return (head[0] === 0x50 && head[1] === 0x4b) || head[0] === 0x80;
}

/** The native `vidt` binary: `VIDT_BIN`, else the cargo target dir's release/debug build. */
export function findVidtBin() {
  const target = process.env.CARGO_TARGET_DIR ?? path.join(os.homedir(), ".cache/vidt-target");
  const candidates = [
    process.env.VIDT_BIN,
    path.join(target, "release/vidt"),
    path.join(target, "debug/vidt"),
    path.join(ROOT, "target/release/vidt"),
    path.join(ROOT, "target/debug/vidt"),
  ].filter(Boolean);
  return candidates.find((p) => fs.existsSync(p));
}

export const FIXTURES = path.resolve(ROOT, "../shared/fixtures");

/** A fixture's path; throws (fails the test, never skips) when it is missing. */
export function fixture(name) {
  const p = path.join(FIXTURES, name);
  if (!fs.existsSync(p)) throw new Error(`fixture ${p} is missing (CI has shared/ beside the clone)`);
  return p;
}

/** Writes a `.vidt` model file from `weights` with the native CLI (`vidt export`). */
export function exportModel(weights, out, { dtype = "f32", inputSize, decLayers, threshold } = {}) {
  const bin = findVidtBin();
  if (!bin) throw new Error("the native vidt binary is missing: cargo build (or set VIDT_BIN)");
  const args = ["export", "--weights", weights, "--out", out, "--dtype", dtype];
  if (inputSize) args.push("--input-size", String(inputSize));
  if (decLayers) args.push("--dec-layers", String(decLayers));
  if (threshold !== undefined) args.push("--threshold", String(threshold));
  execFileSync(bin, args, { stdio: ["ignore", "ignore", "inherit"] });
  return out;
}

/** A fresh scratch folder, removed when this process exits (each test file runs in its own
 *  process; model exports and bundler builds left ~1 GB in the temp folder per suite run).
 *  VIDT_KEEP_SCRATCH=1 keeps them, to look at after a failure. */
export function scratch(tag) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `vidt-${tag}-`));
  scratchDirs.push(dir);
  return dir;
}
const scratchDirs = [];
process.on("exit", () => {
  if (process.env.VIDT_KEEP_SCRATCH === "1") return;
  for (const dir of scratchDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** The nano fixture checkpoint exported as `m.vidt` in a scratch folder `tag`: the model most
 *  browser tests serve as /files/model.vidt. */
export function fixtureModel(tag, options) {
  return exportModel(fixture("vidt_nano_perturbed.pth"), path.join(scratch(tag), "m.vidt"), options);
}

/** web/harness.html opened on `server` (in a browser or a browser context), the package
 *  initialised (`window.vidt`). */
export async function openHarness(browser, server) {
  const page = await openPage(browser, `${server.origin}/web/harness.html`);
  await page.evaluate(() => window.vidtReady);
  return page;
}

/** IoU of two { xmin, ymin, xmax, ymax } boxes (the package's detection boxes). */
export function iou(a, b) {
  const w = Math.max(0, Math.min(a.xmax, b.xmax) - Math.max(a.xmin, b.xmin));
  const h = Math.max(0, Math.min(a.ymax, b.ymax) - Math.max(a.ymin, b.ymin));
  const area = (r) => (r.xmax - r.xmin) * (r.ymax - r.ymin);
  return (w * h) / (area(a) + area(b) - w * h);
}

/** Counts, from now on, the bytes `page` reads back from canvases (every getImageData call,
 *  on- and offscreen) in `window.vidtReadBytes` (the page may reset it to 0). */
export function countReadback(page) {
  return page.evaluate(() => {
    window.vidtReadBytes = 0;
    for (const C of [OffscreenCanvasRenderingContext2D, CanvasRenderingContext2D]) {
      const read = C.prototype.getImageData;
      C.prototype.getImageData = function (x, y, w, h, ...rest) {
        window.vidtReadBytes += w * h * 4;
        return read.call(this, x, y, w, h, ...rest);
      };
    }
  });
}
