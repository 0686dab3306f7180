// The package's typings as a TypeScript app gets them: `npm pack` -> install the tarball into a
// scratch app -> `tsc --noEmit` (strict, skipLibCheck false, lib es2022 + dom: what most apps
// set; moduleResolution bundler, nodenext and node10, and a stricter set) over the README's
// example (taken from pkg/README.md itself) and a typed use of every public method and option
// (plain and worker mode): no error; deliberate misuses: exactly the expected errors (so the
// typings cannot pass by being `any`); the entry's typings must not pull in wasm-bindgen's
// vidt.d.ts (Symbol.dispose needs a newer lib), which must itself compile for an app that
// imports vidt/vidt.js with lib esnext.disposable. No browser: nothing runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { execFileSync, spawnSync } from "node:child_process";
import { ROOT, scratch } from "../lib/harness.mjs";

const TSC = path.join(ROOT, "web/node_modules/typescript/bin/tsc");

/** Every public method, getter and option, in both modes, with the types they must have. */
const USAGE = `
import init, { initSync, Detector, officialModels } from "vidt";
import type {
  Detection, DetectOptions, ImageSource, InitInput, InitOutput, LoadOptions, Memory, OfficialModel,
  VideoLoop, VideoOptions, VideoResult, WorkerDetector, WorkerMemory,
} from "vidt";

/** true when A and B are the same type (and neither is any). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;

const wasm: InitOutput = await init();
const memory: WebAssembly.Memory = wasm.memory;
await init({ module_or_path: new URL("vidt_bg.wasm", import.meta.url) });
const input: InitInput = fetch("/vidt_bg.wasm");
await init({ module_or_path: input });
initSync({ module: new Uint8Array(8) });

const controller = new AbortController();
const plain = await Detector.fromUrl("/models/model.vidt", {
  backend: "auto",
  precision: "f16",
  cache: true,
  signal: controller.signal,
  wasmUrl: new URL("vidt_bg.wasm", import.meta.url),
  onProgress: (loaded, total) => console.log(loaded, total),
  onDeviceLost: ({ reason, message }) => console.warn(reason, message),
});
const plainIs: Equal<typeof plain, Detector> = true;
const bare: Detector = await Detector.fromUrl("/models/model.vidt");
const named: Detector = await Detector.fromUrl("/m.vidt", { cache: "my-models", worker: false, wasmUrl: "/vidt_bg.wasm" });
const bytes = new Uint8Array(await (await fetch("/m.vidt")).arrayBuffer());
const fromBytes: Detector = await Detector.fromBytes(bytes);
const fromBytes2 = await Detector.fromBytes(bytes, { backend: "cpu", onDeviceLost: () => {} });
const fromBytesIs: Equal<typeof fromBytes2, Detector> = true;

const worker = await Detector.fromUrl("/models/model.vidt", {
  worker: true,
  workerUrl: new URL("/assets/worker.js", location.href),
  wasmUrl: "/assets/vidt_bg.wasm",
  backend: "webgpu",
  cache: "models",
  signal: AbortSignal.timeout(60_000),
  onProgress: (loaded: number, total: number) => {},
  onDeviceLost: (info: { reason: string; message: string }) => {},
});
const workerIs: Equal<typeof worker, WorkerDetector> = true;
const workerBytes = await Detector.fromBytes(bytes, { worker: true, workerUrl: "/worker.js" });
const workerBytesIs: Equal<typeof workerBytes, WorkerDetector> = true;

// Options decided at run time: either kind.
const options: LoadOptions = { worker: Math.random() < 0.5, backend: "cpu" };
const either = await Detector.fromUrl("/m.vidt", options);
const eitherIs: Equal<typeof either, Detector | WorkerDetector> = true;
if (either instanceof Detector) {
  const m: Memory = either.memory();
} else {
  const m: WorkerMemory = await either.memory();
}
const eitherMemory: Memory = await either.memory();

const m: Memory = plain.memory();
const figures: number = m.wasmBytes + m.gpuBytesInUse + m.gpuBytesReserved;
const wm = await worker.memory();
const wmIs: Equal<typeof wm, WorkerMemory> = true;
const heap: number | undefined = wm.workerJsHeap;
const plainMemoryIs: Equal<ReturnType<Detector["memory"]>, Memory> = true;
const workerMemoryIs: Equal<ReturnType<WorkerDetector["memory"]>, Promise<WorkerMemory>> = true;

const canvas = document.createElement("canvas");
const video = document.createElement("video");
const sources: ImageSource[] = [
  new Image(), video, canvas, await createImageBitmap(canvas), new ImageData(2, 2),
  new OffscreenCanvas(2, 2), new VideoFrame(canvas, { timestamp: 0 }),
  { data: new Uint8Array(16), width: 2, height: 2 },
  { data: new Uint8ClampedArray(16), width: 2, height: 2 },
];

/** Everything both kinds have, the same way. */
async function use(d: Detector | WorkerDetector, source: ImageSource): Promise<void> {
  const threshold: number = d.threshold;
  const nmsIou: number | undefined = d.nmsIou;
  const backend: "webgpu" | "cpu" = d.backend;
  const precision: "f32" | "f16" = d.precision;
  const fallbackReason: string | undefined = d.fallbackReason;
  const classes: string[] = d.classes;
  const inputSize: number = d.inputSize;
  const decoderLayers: number = d.decoderLayers;
  const preset: string = d.preset;
  const dtype: "f32" | "f16" | "bf16" | "q8" | undefined = d.dtype;

  const detections = await d.detect(source);
  const detectionsIs: Equal<typeof detections, Detection[]> = true;
  const opts: DetectOptions = {
    threshold: 0.3, nmsIou: 0.7, topK: 10, decoderLayers: 3, inputSize: 640, maxSize: 1066,
    labels: ["person", 3], resize: "fast",
  };
  await d.detect(source, opts);
  await d.detect(source, { nmsIou: null, labels: ["dog"] as const });
  await d.detect(source, undefined);
  for (const { score, label, labelId, box, mask } of detections) {
    const n: number = score + labelId + box.xmin + box.ymin + box.xmax + box.ymax;
    const s: string = label;
    if (mask) {
      const bits: Uint8Array = mask.data;
      const extent: number = mask.x + mask.y + mask.width * mask.height;
    }
  }

  const videoOptions: VideoOptions = { threshold: 0.5, labels: [0], onError: (e: Error) => console.error(e.message) };
  const loop: VideoLoop = d.detectVideo(video, (r: VideoResult) => {
    const dets: Detection[] = r.detections;
    const times: number = r.frameTime + r.latency;
  }, videoOptions);
  d.detectVideo(video, ({ detections }) => console.log(detections.length));
  const counts: number = loop.detected + loop.skipped;
  loop.stop();

  const out: Uint8Array = await d.forward(new Uint8Array(8));
  await d.forward(new Uint8Array(8), 2);
  await d.forward(new Uint8Array(8), null);
  d.dispose();
  d.free();
}
for (const d of [plain, bare, named, fromBytes, fromBytes2, worker, workerBytes, either]) {
  for (const s of sources) await use(d, s);
}

const models: OfficialModel[] = officialModels();
for (const o of models) {
  const s: string = o.name + o.release + o.file + o.url + o.backbone + o.params + o.source;
  const variant: "ViDT" | "ViDT+" = o.variant;
  const ap: number = o.ap + o.epochs;
  const maybe: (number | null)[] = [o.ap50, o.ap75, o.fps, o.mask_ap, o.det_tokens, o.dec_layers];
  const flags: (boolean | null)[] = [o.masks, o.epff];
  const gpu: string | null = o.fps_gpu;
}
export {};
`;

/** Each line ending in `// TSnnnn` must give that error (or one of `TSa|TSb`: exactOptionalPropertyTypes
 *  words some differently); no other line may give any. */
const MISUSE = `
import { Detector } from "vidt";
const image = new Image();
const bytes = new Uint8Array(8);
const plain = await Detector.fromUrl("/m.vidt");
const worker = await Detector.fromUrl("/m.vidt", { worker: true });
await plain.detect(image, { treshold: 0.5 }); // TS2561
await plain.detect(image, { labels: [true] }); // TS2322
await plain.detect(image, { nmsIou: "0.5" }); // TS2322
await plain.detect(image, { resize: "slow" }); // TS2322
await plain.detect(null); // TS2345
await plain.detect(image, {}, 3); // TS2554
const scores: string[] = (await plain.detect(image)).map((d) => d.score); // TS2322
await Detector.fromUrl("/m.vidt", { backend: "gpu" }); // TS2769
await Detector.fromUrl("/m.vidt", { precision: "f64" }); // TS2769
await Detector.fromBytes(bytes, { cache: true }); // TS2769
await Detector.fromUrl("/m.vidt", { workers: true }); // TS2769
await Detector.fromUrl(bytes); // TS2769
const wasm: number = worker.memory().wasmBytes; // TS2339
const heap = plain.memory().workerJsHeap; // TS2339
plain.threshold = 0.1; // TS2540
new Detector(); // TS2673
plain.detectVideo(image, () => {}); // TS2345|TS2379
plain.detectVideo(document.createElement("video"), () => {}, { onError: 1 }); // TS2322
const reason: string = plain.fallbackReason; // TS2322
export {};
`;

/** A user of the wasm API alone (vidt/vidt.js), with the lib its generated typings need. */
const SUBPATH = `
import init, { Detector, officialModels } from "vidt/vidt.js";
import type { Detection, OfficialModel } from "vidt/vidt.js";
await init();
const d = await Detector.fromUrl("/m.vidt", { backend: "cpu" });
const dets: Detection[] = await d.detect(new Image(), { threshold: 0.5 });
const models: OfficialModel[] = officialModels();
d.free();
export {};
`;

const CONFIGS = {
  bundler: { module: "esnext", moduleResolution: "bundler" },
  nodenext: { module: "nodenext", moduleResolution: "nodenext" },
  node10: { module: "es2022", moduleResolution: "node10" },
  strictest: {
    module: "esnext", moduleResolution: "bundler", exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true, noImplicitOverride: true, noPropertyAccessFromIndexSignature: true,
  },
};

/** tsc --noEmit over `files` of `app` with the compiler options: the errors, one per line. */
function tsc(app, name, files, options) {
  fs.writeFileSync(path.join(app, `tsconfig.${name}.json`), JSON.stringify({
    compilerOptions: {
      strict: true, skipLibCheck: false, lib: ["es2022", "dom"], target: "es2022", noEmit: true,
      types: [], ...options,
    },
    files,
  }, null, 2));
  const r = spawnSync(process.execPath, [TSC, "-p", `tsconfig.${name}.json`, "--pretty", "false"], {
    cwd: app, encoding: "utf8",
  });
  const lines = `${r.stdout}${r.stderr}`.split("\n").filter((l) => l.trim());
  if (r.status !== 0) assert.ok(lines.length, `tsc exited ${r.status} with no diagnostics`);
  return lines;
}

/** The errors tsc reports in `file`: { line, code, text }. */
function errorsIn(lines, file) {
  return lines.flatMap((l) => {
    const m = l.match(/^(.+?)\((\d+),\d+\): error (TS\d+): /);
    return m && path.basename(m[1]) === file ? [{ line: Number(m[2]), code: m[3], text: l }] : [];
  });
}

test("typings: the README example and every public API compile under strict, misuses do not", () => {
  assert.ok(fs.existsSync(TSC), "typescript is missing from web/node_modules: (cd web && npm ci)");
  const dir = scratch("types");
  const packed = execFileSync("npm", ["pack", path.join(ROOT, "pkg"), "--pack-destination", dir, "--loglevel=warn"], {
    encoding: "utf8",
  }).trim().split("\n").pop();
  const app = path.join(dir, "app");
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, "package.json"),
    JSON.stringify({ name: "app", private: true, type: "module" }, null, 2));
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", path.join(dir, packed)], {
    cwd: app,
    stdio: "ignore",
  });

  const readme = fs.readFileSync(path.join(ROOT, "pkg/README.md"), "utf8");
  fs.writeFileSync(path.join(app, "readme.ts"), `${readme.match(/```js\n([\s\S]*?)```/)[1]}export {};\n`);
  fs.writeFileSync(path.join(app, "usage.ts"), USAGE);
  fs.writeFileSync(path.join(app, "misuse.ts"), MISUSE);
  fs.writeFileSync(path.join(app, "subpath.ts"), SUBPATH);
  const expected = MISUSE.split("\n").flatMap((l, i) => {
    const m = l.match(/\/\/ (TS\d+(?:\|TS\d+)*)$/);
    return m ? [{ line: i + 1, codes: m[1].split("|") }] : [];
  });

  const failures = [];
  for (const [name, options] of Object.entries(CONFIGS)) {
    const lines = tsc(app, name, ["readme.ts", "usage.ts", "misuse.ts"], options);
    for (const file of ["readme.ts", "usage.ts"]) {
      const errors = errorsIn(lines, file);
      console.log(`${name}: ${file}: ${errors.length} errors`);
      if (errors.length) failures.push(`${name}: ${file}:\n${errors.map((e) => e.text).join("\n")}`);
    }
    const got = errorsIn(lines, "misuse.ts");
    const missing = expected.filter((x) => !got.some((e) => e.line === x.line && x.codes.includes(e.code)))
      .map((x) => `${x.line} ${x.codes.join("|")}`);
    const extra = got.filter((e) => !expected.some((x) => e.line === x.line && x.codes.includes(e.code)));
    console.log(`${name}: misuse.ts: ${expected.length - missing.length} of ${expected.length} misuses rejected`);
    if (missing.length || extra.length) {
      failures.push(`${name}: misuse.ts: expected but not reported (line code): ${missing.join(", ") || "none"}; ` +
        `unexpected:\n${extra.map((e) => e.text).join("\n") || "none"}`);
    }
    const elsewhere = lines.filter((l) => !/^(readme|usage|misuse)\.ts\(/.test(l) && !/^\s/.test(l));
    if (elsewhere.length) failures.push(`${name}: outside the app's files:\n${elsewhere.join("\n")}`);
    // The entry's typings stand alone: wasm-bindgen's vidt.d.ts (Symbol.dispose) is not read.
    const read = spawnSync(process.execPath, [TSC, "-p", `tsconfig.${name}.json`, "--listFilesOnly"], {
      cwd: app, encoding: "utf8",
    }).stdout.split("\n").filter((f) => f.includes("node_modules/vidt/"));
    const names = read.map((f) => path.basename(f)).join(", ");
    if (names !== "index.d.ts") failures.push(`${name}: tsc read ${names} of the package, not index.d.ts alone`);
  }
  // vidt/vidt.js alone: its generated typings use Symbol.dispose, so an app with the newer lib.
  const sub = tsc(app, "subpath", ["subpath.ts"], {
    ...CONFIGS.bundler, lib: ["es2022", "dom", "esnext.disposable"],
  });
  console.log(`subpath (vidt/vidt.js, lib + esnext.disposable): ${sub.length} diagnostic lines`);
  if (sub.length) failures.push(`vidt/vidt.js:\n${sub.join("\n")}`);
  assert.equal(failures.length, 0, failures.join("\n\n"));
});
