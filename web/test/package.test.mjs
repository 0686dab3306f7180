// The npm package as a user gets it: `npm pack` -> install the tarball into a scratch project
// -> run the usage example of pkg/README.md (taken from the README itself) in headless Chromium.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { ROOT, serve, launch, openPage, fixture, exportModel, scratch } from "../lib/harness.mjs";

test("npm package: installs from a tarball and its README example runs", async () => {
  const dir = scratch("package");
  const packed = execFileSync("npm", ["pack", path.join(ROOT, "pkg"), "--pack-destination", dir], {
    encoding: "utf8",
  }).trim().split("\n").pop();
  const tarball = path.join(dir, packed);
  const listing = execFileSync("tar", ["tzf", tarball], { encoding: "utf8" });
  for (const f of ["index.js", "index.d.ts", "worker.js", "vidt.js", "vidt.d.ts", "vidt_bg.wasm", "README.md",
    "package.json"]) {
    assert.match(listing, new RegExp(`package/${f.replace(".", "\\.")}\\n`), `tarball has ${f}`);
  }
  const project = path.join(dir, "app");
  fs.mkdirSync(project);
  execFileSync("npm", ["init", "-y"], { cwd: project, stdio: "ignore" });
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", tarball], {
    cwd: project,
    stdio: "ignore",
  });
  assert.ok(fs.existsSync(path.join(project, "node_modules/vidt/vidt_bg.wasm")));
  // The entry's typings (index.d.ts) name the API the README documents; types.test.mjs
  // compiles the README's example and every method against them.
  const dts = fs.readFileSync(path.join(project, "node_modules/vidt/index.d.ts"), "utf8");
  for (const name of ["class Detector", "fromUrl", "fromBytes", "detect(", "dispose(", "interface Detection",
    "detectVideo(", "worker?: boolean", "cache?: boolean | string", "onDeviceLost?:", "maxSize?: number"]) {
    assert.ok(dts.includes(name), `index.d.ts declares ${name}`);
  }

  const readme = fs.readFileSync(path.join(ROOT, "pkg/README.md"), "utf8");
  const example = readme.match(/```js\n([\s\S]*?)```/)[1].split("\n");
  // Imports must sit at the module's top level; the rest runs inside a try.
  const imports = example.filter((l) => l.startsWith("import ")).join("\n");
  const body = example.filter((l) => !l.startsWith("import ")).join("\n");
  fs.mkdirSync(path.join(project, "models"));
  exportModel(fixture("vidt_nano_perturbed.pth"), path.join(project, "models/model.vidt"), {
    dtype: "f16",
    inputSize: 224,
  });
  fs.copyFileSync(path.join(ROOT, "examples/sample.png"), path.join(project, "sample.png"));
  fs.writeFileSync(
    path.join(project, "index.html"),
    `<!doctype html><meta charset="utf-8">
<script type="importmap">{ "imports": { "vidt": "./node_modules/vidt/index.js" } }</script>
<img src="sample.png">
<video muted></video>
<script>window.addEventListener("error", (e) => (window.result = "error: " + e.message));</script>
<script type="module">
${imports}
await document.querySelector("img").decode();
// The example's <video>: a live stream of the image, as a webcam would give.
{
  const v = document.querySelector("video");
  const c = Object.assign(document.createElement("canvas"), { width: 160, height: 120 });
  const g = c.getContext("2d");
  const paint = () => (g.drawImage(document.querySelector("img"), 0, 0, 160, 120), requestAnimationFrame(paint));
  paint();
  v.srcObject = c.captureStream(30);
  await v.play();
}
try {
${body}
  window.result = "ok";
} catch (e) {
  window.result = "error: " + e.message;
}
</script>`,
  );
  const server = await serve({ root: project });
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const logs = [];
    page.on("console", (m) => logs.push(m.text()));
    await page.goto(`${server.origin}/index.html`);
    await page.waitForFunction(() => window.result, null, { timeout: 300_000 });
    assert.equal(await page.evaluate(() => window.result), "ok", logs.join("\n"));
    // The video loop's first result (WebGPU on SwiftShader, in the worker).
    for (let i = 0; i < 3000 && !logs.some((l) => l.startsWith("frame at ")); i++) {
      await new Promise((ok) => setTimeout(ok, 100));
    }
    assert.ok(logs.some((l) => /^frame at [\d.]+ s: \d+ detections, \d+ ms$/.test(l)),
      `the video loop reported a frame: ${logs.join(" | ")}`);
    assert.ok(logs.includes("webgpu"), `the example printed the backend: ${logs.join(" | ")}`);
    assert.ok(logs.some((l) => /^model \d+ \/ \d+ bytes$/.test(l)), "download progress reported");
    console.log(`package: ${packed} (${(fs.statSync(tarball).size / 1e6).toFixed(2)} MB) installed; ` +
      `example printed ${logs.length} lines`);
  } finally {
    await browser.close();
    await server.close();
  }
});
