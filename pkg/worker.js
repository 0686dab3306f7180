// The module worker behind `{ worker: true }` (see index.js): one Detector per worker, driven
// by messages { id, op, ... } and answering { id, ok, value | error, backend, fallbackReason, precision }.
// The wasm is initialised by the first `load` (from its `wasmUrl`, if the page gave one).
import init, { Detector } from "./vidt.js";

let detector = null;

const reply = (msg, transfer) => self.postMessage(msg, transfer ?? []);

/** The getters, read once: they do not change (but `backend`, sent with every answer). */
const info = (d) => ({
  threshold: d.threshold,
  nmsIou: d.nmsIou,
  backend: d.backend,
  fallbackReason: d.fallbackReason,
  precision: d.precision,
  classes: d.classes,
  inputSize: d.inputSize,
  decoderLayers: d.decoderLayers,
  preset: d.preset,
  dtype: d.dtype,
});

async function run(msg) {
  switch (msg.op) {
    case "load": {
      const { kind, arg, wasmUrl } = msg;
      // The page's `wasmUrl` (resolved there), else vidt_bg.wasm beside vidt.js.
      await init(wasmUrl === undefined ? undefined : { module_or_path: wasmUrl });
      let options = msg.options;
      if (options && typeof options === "object") {
        options = { ...options };
        if (options.onProgress === true) {
          options.onProgress = (loaded, total) => reply({ event: "progress", loaded, total });
        }
        if (options.onDeviceLost === true) {
          options.onDeviceLost = (i) =>
            reply({ event: "deviceLost", info: { reason: i.reason, message: i.message } });
        }
      }
      try {
        detector = await Detector[kind](arg, options);
      } catch (e) {
        // Messages name the URL as the page gave it, not as resolved for the worker.
        if (msg.shown && e?.message) throw new Error(e.message.replaceAll(arg, msg.shown));
        throw e;
      }
      return info(detector);
    }
    case "detect":
      try {
        return await detector.detect(msg.source, msg.options);
      } finally {
        msg.source?.close?.(); // the transferred ImageBitmap or VideoFrame
      }
    case "forward":
      return detector.forward(msg.input, msg.decoderLayers);
    case "memory":
      // The worker's own JS heap too, where the browser tells it (Chromium).
      self.gc?.();
      return { ...detector.memory(), workerJsHeap: self.performance?.memory?.usedJSHeapSize };
    default:
      throw new Error(`unknown worker call ${msg.op}`);
  }
}

self.onmessage = async ({ data: msg }) => {
  // Where the model runs now (a device loss may have moved it), with every answer.
  const where = () => ({
    backend: detector?.backend,
    fallbackReason: detector?.fallbackReason,
    precision: detector?.precision,
  });
  try {
    const value = await run(msg);
    const transfer = value instanceof Uint8Array ? [value.buffer] : [];
    reply({ id: msg.id, ok: true, value, ...where() }, transfer);
  } catch (e) {
    reply({ id: msg.id, ok: false, error: e?.message ?? String(e), ...where() });
  }
};
