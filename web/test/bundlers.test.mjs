// The npm package through bundlers, as a user's app gets it (#33 item 3): `npm pack` -> install
// the tarball into fresh apps -> Vite's dev server, Vite's production build and webpack 5's
// production build (their Node APIs, from web/node_modules) -> the page loads a model without
// init() and detects, plain and with `worker: true`, in headless Chromium. The configuration
// used is pkg/README.md's "Bundlers" section (Vite: none; webpack: its webpack.config.js block).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { ROOT, serve, launch, fixture, exportModel, scratch } from "../lib/harness.mjs";

const WEB = path.join(ROOT, "web");

// The app: the README's way, no init(); the worker first, so the page's own wasm fetches can
// be counted before the plain detector makes one.
const MAIN = `import { Detector } from "vidt";

const wasmFetches = () => performance.getEntriesByType("resource").filter((e) => /\\.wasm$/.test(e.name)).length;
try {
  const img = document.querySelector("img");
  await img.decode();
  const worker = await Detector.fromUrl("/model.vidt", { backend: "cpu", worker: true });
  const workerDets = await worker.detect(img, { threshold: 0.05 });
  const pageWasmBeforePlain = wasmFetches();
  const plain = await Detector.fromUrl("/model.vidt", { backend: "cpu" });
  window.result = {
    plain: await plain.detect(img, { threshold: 0.05 }),
    worker: workerDets,
    pageWasmBeforePlain,
    pageWasmAfterPlain: wasmFetches(),
  };
} catch (e) {
  window.result = { error: String(e?.stack ?? e) };
}
`;

let dir, tarball, model, browser;

before(async () => {
  dir = scratch("bundlers");
  const packed = execFileSync("npm", ["pack", path.join(ROOT, "pkg"), "--pack-destination", dir], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  }).trim().split("\n").pop();
  tarball = path.join(dir, packed);
  model = exportModel(fixture("vidt_nano_perturbed.pth"), path.join(dir, "model.vidt"), {
    dtype: "f16",
    inputSize: 224,
  });
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** A fresh app folder with the tarball installed (offline, from npm's cache) and src/index.js. */
function app(tag) {
  const root = path.join(dir, tag);
  fs.mkdirSync(path.join(root, "src"), { recursive: true });
  fs.writeFileSync(path.join(root, "package.json"),
    JSON.stringify({ name: `app-${tag}`, private: true, type: "module" }, null, 2));
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", tarball], { cwd: root, stdio: "ignore" });
  fs.writeFileSync(path.join(root, "src/index.js"), MAIN);
  return root;
}

/** The page at `url` run to its result, which is checked. */
async function check(url, what) {
  const page = await browser.newPage();
  const logs = [];
  page.on("console", (m) => logs.push(m.text()));
  page.on("pageerror", (e) => logs.push(`page error: ${e.message}`));
  try {
    await page.goto(url);
    await page.waitForFunction(() => window.result, null, { timeout: 120_000 });
    const r = await page.evaluate(() => window.result);
    assert.equal(r.error, undefined, `${what}: ${r.error}\n${logs.join("\n")}`);
    assert.ok(r.plain.length > 0, `${what}: something detected`);
    assert.deepEqual(r.worker, r.plain, `${what}: the worker's detections are the plain detector's`);
    assert.equal(r.pageWasmBeforePlain, 0, `${what}: worker mode fetched no wasm on the page`);
    assert.equal(r.pageWasmAfterPlain, 1, `${what}: the plain detector's init fetched it once`);
    return r;
  } finally {
    await page.close();
  }
}

/** The "Bundlers" section's config block that starts with `// <file>`. */
function readmeBlock(file) {
  const readme = fs.readFileSync(path.join(ROOT, "pkg/README.md"), "utf8");
  const block = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1])
    .find((b) => b.startsWith(`// ${file}`));
  assert.ok(block, `pkg/README.md has a js block starting with // ${file}`);
  return block;
}

test("Vite: the dev server and the production build, no configuration", async () => {
  const vite = await import(path.join(WEB, "node_modules/vite/dist/node/index.js"));
  const root = app("vite");
  fs.mkdirSync(path.join(root, "public"));
  fs.copyFileSync(model, path.join(root, "public/model.vidt"));
  fs.copyFileSync(path.join(ROOT, "examples/sample.png"), path.join(root, "public/sample.png"));
  fs.writeFileSync(path.join(root, "index.html"), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<img src="/sample.png">
<script type="module" src="/src/index.js"></script>
`);
  let t = Date.now();
  const dev = await vite.createServer({ root, logLevel: "warn", clearScreen: false,
    server: { host: "127.0.0.1", port: 0 } });
  try {
    await dev.listen();
    await check(dev.resolvedUrls.local[0], "vite dev");
  } finally {
    await dev.close();
  }
  const devMs = Date.now() - t;
  t = Date.now();
  await vite.build({ root, logLevel: "warn", clearScreen: false });
  const built = fs.readdirSync(path.join(root, "dist/assets"));
  assert.ok(built.some((f) => f.endsWith(".wasm")), `the build ships the wasm: ${built}`);
  const server = await serve({ root: path.join(root, "dist") });
  try {
    await check(`${server.origin}/`, "vite build");
  } finally {
    await server.close();
  }
  console.log(`vite: dev ${devMs} ms, build + run ${Date.now() - t} ms (${built.join(", ")})`);
});

test("webpack 5: the production build, the README's webpack.config.js", async () => {
  const webpack = (await import(path.join(WEB, "node_modules/webpack/lib/index.js"))).default;
  const root = app("webpack");
  const configFile = path.join(root, "webpack.config.js");
  fs.writeFileSync(configFile, readmeBlock("webpack.config.js"));
  const config = (await import(configFile)).default;
  const t = Date.now();
  // As the CLI run in the app's folder: context and the default output path are that folder's.
  const stats = await new Promise((ok, fail) =>
    webpack({ context: root, ...config, output: { path: path.join(root, "dist"), ...config.output } },
      (e, s) => (e ? fail(e) : ok(s))));
  assert.ok(!stats.hasErrors(), stats.toString({ all: false, errors: true }));
  assert.ok(!stats.hasWarnings(), stats.toString({ all: false, warnings: true }));
  const built = fs.readdirSync(path.join(root, "dist"));
  assert.ok(built.some((f) => f.endsWith(".wasm")), `the build ships the wasm: ${built}`);
  // webpack writes no HTML by itself (html-webpack-plugin would): the page a user writes.
  fs.writeFileSync(path.join(root, "dist/index.html"), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<img src="/sample.png">
<script src="main.js"></script>
`);
  const server = await serve({ root: path.join(root, "dist"),
    extra: { "/model.vidt": model, "/sample.png": path.join(ROOT, "examples/sample.png") } });
  try {
    await check(`${server.origin}/`, "webpack build");
  } finally {
    await server.close();
  }
  console.log(`webpack: build + run ${Date.now() - t} ms (${built.join(", ")})`);
});
