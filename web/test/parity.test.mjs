// The browser build against the official outputs, through the forward.mjs contract: both
// perturbed-nano fixtures (the second has odd sizes and padding) and the ViDT+ nano (masks
// vectors, IoU logits, 300 [DET] tokens), on WebGPU (SwiftShader here) and on the CPU fallback
// compiled into the same wasm.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { ROOT, fixture, exportModel, scratch, readSafetensors } from "../lib/harness.mjs";

// The issue's tolerances (the native tests hold tighter ones on flex); ViDT+'s mask vectors and
// IoU logits as logits.
const TOL = { logits: 1e-3, boxes: 1e-4, vectors: 1e-3, ious: 1e-3 };
let dir, model, plus;

before(() => {
  dir = scratch("parity");
  model = exportModel(fixture("vidt_nano_perturbed.pth"), path.join(dir, "nano.vidt"));
  // Its weights are float16 already: the f16 model file holds them exactly.
  plus = exportModel(fixture("vidt_plus_nano_perturbed_f16.safetensors"), path.join(dir, "plus.vidt"),
    { dtype: "f16" });
});

function maxDiff(a, b) {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Runs forward.mjs on `weights` and the fixture `name`; checks every output matching `pattern`
 *  (`count` of them) against the fixture at TOL. */
function checkInBrowser(weights, name, backend, pattern, count) {
  const input = fixture(`${name}.safetensors`);
  const output = path.join(dir, `${name}-${backend}.safetensors`);
  const log = execFileSync(
    "node",
    [path.join(ROOT, "web/forward.mjs"), "--weights", weights, "--input", input, "--output", output,
      "--backend", backend],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
  );
  assert.match(log, new RegExp(`backend=${backend} `), "ran on the backend asked for");
  const want = readSafetensors(fs.readFileSync(input));
  const got = readSafetensors(fs.readFileSync(output));
  const names = Object.keys(want).filter((k) => pattern.test(k));
  assert.equal(names.length, count, "final + 6 auxiliary levels of each output in the fixture");
  const worst = {};
  for (const k of names) {
    assert.ok(got[k], `browser output lacks ${k}`);
    assert.deepEqual(got[k].shape, want[k].shape, `${k} shape`);
    const d = maxDiff(got[k].data, want[k].data);
    const kind = k.replace(/^.*pred_/, "");
    worst[kind] = Math.max(worst[kind] ?? 0, d);
    assert.ok(d <= TOL[kind], `${k}: max |diff| ${d} > ${TOL[kind]}`);
  }
  const figures = Object.entries(worst).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(", ");
  console.log(`${name} ${backend}: max |diff| ${figures} (${log.trim()})`);
}

for (const backend of ["webgpu", "cpu"]) {
  for (const name of ["fixture_nano_perturbed", "fixture_nano_perturbed_odd"]) {
    test(`${name} in the browser on ${backend}`, () => {
      checkInBrowser(model, name, backend, /pred_(logits|boxes)$/, 14);
    });
  }
  test(`fixture_plus_nano_perturbed (ViDT+) in the browser on ${backend}`, () => {
    checkInBrowser(plus, "fixture_plus_nano_perturbed", backend, /pred_(logits|boxes|vectors|ious)$/, 28);
  });
}
