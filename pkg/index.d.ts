// The typings of the package's entry (index.js), written by hand: the whole public API, in
// plain and in worker mode, for TypeScript's own `lib: ["es2022", "dom"]`. It imports nothing
// from vidt.d.ts (wasm-bindgen's, which uses Symbol.dispose and so needs lib esnext), so an app
// that imports "vidt" never reads that file; vidt.d.ts takes its interfaces from here instead
// (the TS_TYPES section of src/web/mod.rs).

/** One detection, in the source's pixel coordinates. */
export interface Detection {
  score: number;
  label: string;
  labelId: number;
  box: { xmin: number; ymin: number; xmax: number; ymax: number };
  /** ViDT+ models only: the instance mask, the bitmap (1 = inside) of its extent
   *  (`x`, `y`, `width`, `height` in source pixels; row-major, `width * height` bytes). */
  mask?: { x: number; y: number; width: number; height: number; data: Uint8Array };
}

/** Options of `detect`. */
export interface DetectOptions {
  /** Keep detections scoring at least this (default: the model's recommendation, else 0.5). */
  threshold?: number;
  /** Class-wise NMS at this IoU; null: none (default: the model's recommendation, else none,
   *  as the official post-processing). */
  nmsIou?: number | null;
  /** At most this many detections (default 100). */
  topK?: number;
  /** Run only the first K decoder layers: faster, less accurate (default: all). */
  decoderLayers?: number;
  /** Shorter side the image is resized to (default: the model's, else 800). */
  inputSize?: number;
  /** Longer side at most (default: inputSize * 1333 // 800, the official 1333 at 800; the
   *  CLI's --max-size). Both sides are then rounded down to a multiple of 16, as ViDT's own
   *  resize does. */
  maxSize?: number;
  /** Keep only these classes: names (`detector.classes`) or label ids, chosen before `topK`
   *  (default: all). */
  labels?: readonly (string | number)[];
  /** Who resizes the source to `inputSize`. "official": the full-size pixels are read back and
   *  resized in wasm exactly as the official pipeline (the CLI's detections); the default for
   *  images, canvases, bitmaps and pixel data. "fast": the browser draws the source at the
   *  input size and only those pixels are read back (a 1080p frame is 8.3 MB otherwise); the
   *  default for a <video> and a VideoFrame (`detectVideo`). Pixel data (`ImageData`,
   *  `{ data, width, height }`) is always resized the official way. */
  resize?: "official" | "fast";
}

/** Options of `Detector.fromUrl` / `Detector.fromBytes`. */
export interface LoadOptions {
  /** "auto" (WebGPU when the browser gives a working device, else the CPU, with the reason in
   *  `fallbackReason`; default), "webgpu" (an Error naming the cause without one) or "cpu". */
  backend?: "auto" | "webgpu" | "cpu";
  /** The float precision of the model's parameters and activations on WebGPU. Default: "f16"
   *  where the adapter has `shader-f16`, else "f32". "f16" halves the bytes each kernel moves
   *  (outputs within 0.15 of the official logits and 0.01 of its boxes on the test fixture,
   *  against 1e-3 and 1e-4 in f32); an explicit "f16" without `shader-f16` (or on the CPU) is
   *  an Error naming the cause. The CPU runs f32 only. After a device loss the model is rebuilt
   *  in the same precision (f32 when it falls back to the CPU). */
  precision?: "f32" | "f16";
  /** Download progress (fromUrl): bytes received and the total (0 when unknown); not called
   *  when the model comes from the cache. */
  onProgress?: (loaded: number, total: number) => void;
  /** fromUrl: keep the model in the Cache API across page loads (true: the cache
   *  "vidt-models"; a string: that cache), revalidated with the server on each load (ETag /
   *  Last-Modified, else the length; used as is when the server cannot be reached). A cached
   *  copy is checked (the .vidt checksum) before use; a bad one is deleted and downloaded
   *  again. */
  cache?: boolean | string;
  /** Called when the browser loses the WebGPU device; the next `detect` rebuilds the model on
   *  a new device, or on the CPU if no adapter is left (`backend` says which). */
  onDeviceLost?: (info: { reason: string; message: string }) => void;
  /** Aborting it before the load settles aborts the download (fromUrl) or the build and
   *  rejects the load with an Error named "AbortError" (worker mode: the worker is
   *  terminated). */
  signal?: AbortSignal;
  /** Where vidt_bg.wasm is (default: next to vidt.js), for the page's module if not
   *  initialised yet, and the worker's. */
  wasmUrl?: string | URL;
  /** Run the model in a module Web Worker, off the page's thread: the same API, but
   *  `memory()` returns a Promise (see `WorkerDetector`). */
  worker?: boolean;
  /** Worker mode: where worker.js is (default: next to index.js). */
  workerUrl?: string | URL;
}

/** `fromBytes`'s options: `LoadOptions` but `cache` (there is nothing to download). */
export type BytesLoadOptions = Omit<LoadOptions, "cache">;

/** What `detectVideo` passes on for each frame it detected on. */
export interface VideoResult {
  detections: Detection[];
  /** The frame's media time in seconds. */
  frameTime: number;
  /** Milliseconds the detection took (from the frame's callback to the result). */
  latency: number;
}

/** A running `detectVideo` loop. */
export interface VideoLoop {
  stop(): void;
  /** Frames detected on. */
  readonly detected: number;
  /** Frames skipped because a detection was still in flight. */
  readonly skipped: number;
}

/** `detectVideo`'s options: detect options, plus where errors go (default: console.error;
 *  the loop stops on an error). */
export interface VideoOptions extends DetectOptions {
  onError?: (error: Error) => void;
}

/** Anything `detect` reads pixels from (`data`: RGBA, `width * height * 4` bytes). */
export type ImageSource = HTMLImageElement | HTMLVideoElement | HTMLCanvasElement | ImageBitmap
  | ImageData | OffscreenCanvas | VideoFrame
  | { data: Uint8Array | Uint8ClampedArray; width: number; height: number };

/** Memory figures for leak checks: the wasm heap and, on WebGPU, burn's device memory. */
export interface Memory {
  wasmBytes: number;
  gpuBytesInUse: number;
  gpuBytesReserved: number;
}

/** A worker detector's figures (the worker's), with its JS heap where the browser tells it
 *  (Chromium). */
export interface WorkerMemory extends Memory {
  workerJsHeap?: number;
}

/** A released official checkpoint, as the official READMEs report it (null: not given).
 *  `Detector.fromUrl` reads the `.pth` as released, once hosted where the page may fetch it
 *  (same origin, or a server sending CORS headers). */
export interface OfficialModel {
  name: string; release: string; file: string; url: string;
  variant: "ViDT" | "ViDT+"; backbone: string; epochs: number;
  ap: number; ap50: number | null; ap75: number | null; params: string;
  fps: number | null; fps_gpu: string | null; masks: boolean | null; mask_ap: number | null;
  det_tokens: number | null; dec_layers: number | null; epff: boolean | null; source: string;
}

/** What both detectors have, the same way: `Detector` (the model in the page) and
 *  `WorkerDetector` (`{ worker: true }`: the model in a Web Worker). */
export interface DetectorBase {
  /** `detect`'s default threshold: the model's recommendation, else 0.5. */
  readonly threshold: number;
  /** The class-wise NMS IoU `detect` applies by default (the model's recommendation), or
   *  `undefined` (none, as the official post-processing). */
  readonly nmsIou: number | undefined;
  /** Where this detector runs (after a device loss with no adapter left, `"cpu"` from the next
   *  detection on). */
  readonly backend: "webgpu" | "cpu";
  /** Why backend "auto" fell back to the CPU; `undefined` when it did not. */
  readonly fallbackReason: string | undefined;
  /** The float precision the model runs in (`LoadOptions.precision`). */
  readonly precision: "f32" | "f16";
  /** Class names by label id. */
  readonly classes: string[];
  /** The default shorter side images are resized to. */
  readonly inputSize: number;
  /** Decoder layers of the model (`detect`'s `decoderLayers` may ask for fewer). */
  readonly decoderLayers: number;
  /** The model size (`nano`, `tiny`, ..., `pico`) or `custom`. */
  readonly preset: string;
  /** How the `.vidt` file stores its tensors (computed in `precision`): `"q8"` is int8 linear
   *  weights, about half of `"f16"`; `undefined` for a checkpoint (`.pth`, safetensors). */
  readonly dtype: "f32" | "f16" | "bf16" | "q8" | undefined;
  /** Detections in `source`, best first, boxes in the source's pixels. */
  detect(source: ImageSource, options?: DetectOptions): Promise<Detection[]>;
  /** Detects on every frame of a playing `<video>` it can keep up with
   *  (requestVideoFrameCallback, else requestAnimationFrame), never two at once. */
  detectVideo(video: HTMLVideoElement, onResult: (result: VideoResult) => void,
    options?: VideoOptions): VideoLoop;
  /** The raw forward pass: safetensors bytes with `input` (B,3,H,W) and `mask` (B,H,W) in,
   *  safetensors bytes with the outputs of `vidt forward` out. */
  forward(input: Uint8Array, decoderLayers?: number | null): Promise<Uint8Array>;
  /** Frees the model (GPU buffers included; in worker mode, terminates the worker); later
   *  calls fail with a clear error. */
  dispose(): void;
  /** As `dispose`. */
  free(): void;
}

/** An object detector in the page. Create it with `Detector.fromUrl` or `Detector.fromBytes`
 *  (with `{ worker: true }`, they give a `WorkerDetector` instead). */
export declare class Detector {
  private constructor();
  /** Memory figures for leak checks. */
  memory(): Memory;
  /** Downloads a model (streamed, reporting progress to `options.onProgress`) and builds it,
   *  in a Web Worker. */
  static fromUrl(url: string | URL, options: LoadOptions & { worker: true }): Promise<WorkerDetector>;
  /** Downloads a model (streamed, reporting progress to `options.onProgress`) and builds it. */
  static fromUrl(url: string | URL, options?: LoadOptions & { worker?: false }): Promise<Detector>;
  static fromUrl(url: string | URL, options?: LoadOptions): Promise<Detector | WorkerDetector>;
  /** A detector, in a Web Worker, from a `.vidt` model file or a safetensors checkpoint
   *  already in memory. */
  static fromBytes(bytes: Uint8Array, options: BytesLoadOptions & { worker: true }): Promise<WorkerDetector>;
  /** A detector from a `.vidt` model file or a safetensors checkpoint already in memory. */
  static fromBytes(bytes: Uint8Array, options?: BytesLoadOptions & { worker?: false }): Promise<Detector>;
  static fromBytes(bytes: Uint8Array, options?: BytesLoadOptions): Promise<Detector | WorkerDetector>;
}
export interface Detector extends DetectorBase {}

/** A detector whose model runs in its own module Web Worker (`{ worker: true }`): as
 *  `Detector`, but `memory()` is a Promise (the worker's figures). Not a `Detector` instance. */
export interface WorkerDetector extends DetectorBase {
  memory(): Promise<WorkerMemory>;
}

/** Every official checkpoint (the CLI's `vidt models --json`, plus each one's download URL).
 *  Needs the module initialised first (`init()` or a load). */
export declare function officialModels(): OfficialModel[];

/** What `init` fetches and compiles: the URL of vidt_bg.wasm, its bytes or a compiled module. */
export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;
export type SyncInitInput = BufferSource | WebAssembly.Module;

/** The instantiated wasm module's exports (only its memory is of any use outside). */
export interface InitOutput {
  readonly memory: WebAssembly.Memory;
}

/** Fetches and compiles vidt_bg.wasm (default: next to vidt.js), once. Optional: `fromUrl` /
 *  `fromBytes` do it on first use; called first with a path, that path is used. */
export default function init(
  module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>,
): Promise<InitOutput>;

/** Instantiates the module from its bytes or a compiled `WebAssembly.Module`, synchronously. */
export declare function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;
