// The browser build against the official outputs, through the forward.mjs contract: both
// perturbed-nano fixtures (the second has odd sizes and padding), on WebGPU (SwiftShader here)
// and on the CPU fallback compiled into the same wasm.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { ROOT, fixture, exportModel, scratch, readSafetensors } from "../lib/harness.mjs";

// The tolerances (the native tests hold tighter ones on flex).
const TOL = { logits: 1e-3, boxes: 1e-4 };
let dir, model;

before(() => {
  dir = scratch("parity");
  model = exportModel(fixture("vidt_nano_perturbed.pth"), path.join(dir, "nano.vidt"));
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

for (const backend of ["webgpu", "cpu"]) {
  for (const name of ["fixture_nano_perturbed", "fixture_nano_perturbed_odd"]) {
    test(`${name} in the browser on ${backend}`, () => {
      const input = fixture(`${name}.safetensors`);
      const output = path.join(dir, `${name}-${backend}.safetensors`);
      const log = execFileSync(
        "node",
        [path.join(ROOT, "web/forward.mjs"), "--weights", model, "--input", input, "--output", output,
          "--backend", backend],
        { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
      );
      assert.match(log, new RegExp(`backend=${backend} `), "ran on the backend asked for");
      const want = readSafetensors(fs.readFileSync(input));
      const got = readSafetensors(fs.readFileSync(output));
      const names = Object.keys(want).filter((k) => /pred_(logits|boxes)$/.test(k));
      assert.equal(names.length, 14, "final + 6 auxiliary outputs in the fixture");
      const worst = {};
      for (const k of names) {
        assert.ok(got[k], `browser output lacks ${k}`);
        assert.deepEqual(got[k].shape, want[k].shape, `${k} shape`);
        const d = maxDiff(got[k].data, want[k].data);
        const kind = k.endsWith("logits") ? "logits" : "boxes";
        worst[kind] = Math.max(worst[kind] ?? 0, d);
        assert.ok(d <= TOL[kind], `${k}: max |diff| ${d} > ${TOL[kind]}`);
      }
      console.log(`${name} ${backend}: max |diff| logits ${worst.logits.toExponential(2)}, ` +
        `boxes ${worst.boxes.toExponential(2)} (${log.trim()})`);
    });
  }
}
