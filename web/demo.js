// The demo page: thin over the npm package. Loads a model (progress bar) into a worker (the
// page stays responsive), detects on an image, or on a video file or the webcam with
// `detectVideo`, and draws boxes and labels over the frame.
import init, { Detector } from "../pkg/index.js";

const $ = (id) => document.getElementById(id);
const view = $("view");
const ctx = view.getContext("2d");
const video = $("video");
const PALETTE = ["#ff2d55", "#00e676", "#2979ff", "#ffd600", "#d500f9", "#00e5ff"];

// State the browser test reads (window.demo).
const demo = (window.demo = { ready: false, backend: null, detections: [], frames: 0, error: null });
let detector = null;
let source = null; // the image or video shown
let videoLoop = null; // the detectVideo loop while a video/webcam plays
let busy = false;
const times = []; // recent latencies (ms)
const stamps = []; // when recent video results arrived (ms), for the FPS figure

function notice(text, error = false) {
  const n = $("notice");
  n.hidden = !text;
  n.textContent = text ?? "";
  n.classList.toggle("error", error);
}

function options() {
  return { threshold: Number($("threshold").value), decoderLayers: Number($("layers").value) };
}

function draw(src, dets) {
  const w = src.naturalWidth || src.videoWidth || src.width;
  const h = src.naturalHeight || src.videoHeight || src.height;
  if (view.width !== w || view.height !== h) Object.assign(view, { width: w, height: h });
  ctx.drawImage(src, 0, 0, w, h);
  const line = Math.max(2, Math.round(Math.min(w, h) / 160));
  ctx.font = `${Math.max(12, 4 * line + 4)}px system-ui, sans-serif`;
  ctx.textBaseline = "top";
  // ViDT+ masks first, half-transparent in the box's colour, under every outline and tag.
  for (const d of dets) if (d.mask && d.mask.width > 0) drawMask(d.mask, PALETTE[d.labelId % PALETTE.length]);
  for (const d of dets) {
    const { xmin, ymin, xmax, ymax } = d.box;
    const color = PALETTE[d.labelId % PALETTE.length];
    ctx.strokeStyle = color;
    ctx.lineWidth = line;
    ctx.strokeRect(xmin, ymin, xmax - xmin, ymax - ymin);
    const text = `${d.label} ${(d.score * 100).toFixed(0)}%`;
    const tw = ctx.measureText(text).width + 6;
    const th = 4 * line + 10;
    const ty = ymin - th >= 0 ? ymin - th : ymin;
    ctx.fillStyle = color;
    ctx.fillRect(xmin - line / 2, ty, tw, th);
    ctx.fillStyle = "#000";
    ctx.fillText(text, xmin + 3, ty + 3);
  }
}

/** One mask (the bitmap of its extent) tinted over the frame: 50% of `color`. */
function drawMask(m, color) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
  const px = new ImageData(m.width, m.height);
  for (let i = 0; i < m.data.length; i++) {
    if (m.data[i]) px.data.set([r, g, b, 128], i * 4);
  }
  const tile = new OffscreenCanvas(m.width, m.height);
  tile.getContext("2d").putImageData(px, 0, 0);
  ctx.drawImage(tile, m.x, m.y);
}

/** Shows one result: the frame with its boxes, the latency and the FPS. For a video the FPS
 *  counts results per second (frames detected on); for an image it is 1 / mean latency. */
function show(src, dets, ms) {
  times.push(ms);
  if (times.length > 20) times.shift();
  let fps = 1000 / (times.reduce((a, b) => a + b, 0) / times.length);
  if (videoLoop) {
    stamps.push(performance.now());
    if (stamps.length > 20) stamps.shift();
    if (stamps.length > 1) fps = ((stamps.length - 1) * 1000) / (stamps.at(-1) - stamps[0]);
  }
  $("stats").textContent = `latency ${ms.toFixed(0)} ms · ${fps.toFixed(1)} FPS`;
  $("count").textContent = `${dets.length} detection${dets.length === 1 ? "" : "s"}`;
  draw(src, dets);
  if (detector.backend !== demo.backend) showBackend();
  Object.assign(demo, { detections: dets, frames: demo.frames + 1, lastMs: ms, fps });
}

function failed(e) {
  demo.error = e.message;
  notice(`Detection failed: ${e.message}`, true);
  stop();
}

async function detectOnce(src) {
  if (!detector || busy) return;
  busy = true;
  try {
    const t0 = performance.now();
    const dets = await detector.detect(src, options());
    show(src, dets, performance.now() - t0);
  } catch (e) {
    failed(e);
  } finally {
    busy = false;
  }
}

/** (Re)starts detection on the playing video with the current options. */
function startVideoLoop() {
  videoLoop?.stop();
  videoLoop = null;
  if (!detector || !source || source !== video || video.paused) return;
  stamps.length = 0;
  videoLoop = detector.detectVideo(video, (r) => show(video, r.detections, r.latency), {
    ...options(),
    onError: failed,
  });
}

function stop() {
  videoLoop?.stop();
  videoLoop = null;
  video.pause();
  if (video.srcObject) for (const t of video.srcObject.getTracks()) t.stop();
  video.srcObject = null;
  $("stop").disabled = true;
}

async function showImage(url) {
  stop();
  const img = new Image();
  img.src = url;
  try {
    await img.decode();
  } catch {
    return notice("That file is not an image this browser can decode.", true);
  }
  source = img;
  $("hint").hidden = true;
  draw(img, []);
  await detectOnce(img);
}

async function playVideo(setup) {
  stop();
  try {
    await setup();
    await video.play();
  } catch (e) {
    return notice(`Cannot start the video: ${e.message}`, true);
  }
  source = video;
  $("hint").hidden = true;
  $("stop").disabled = false;
  startVideoLoop();
}

async function loadModel(load, name) {
  stop();
  $("progress-wrap").classList.remove("done");
  $("model-info").textContent = `loading ${name}…`;
  const onProgress = (loaded, total) => {
    $("progress").value = total ? loaded / total : 0;
    $("progress-text").textContent = `${name}: ${(loaded / 1e6).toFixed(1)}${total ? ` / ${(total / 1e6).toFixed(1)}` : ""} MB`;
  };
  try {
    const next = await load({ backend: "auto", onProgress, worker: true, onDeviceLost });
    detector?.dispose();
    detector = next;
  } catch (e) {
    $("model-info").textContent = "no model";
    return notice(`Cannot load ${name}: ${e.message}`, true);
  } finally {
    $("progress-wrap").classList.add("done");
  }
  showBackend();
  notice(
    detector.backend === "webgpu"
      ? null
      : "WebGPU is not available in this browser, so the model runs on the CPU (same results, much slower). " +
          "Use a recent Chrome or Edge, or enable WebGPU in your browser's settings.",
  );
  const layers = $("layers");
  layers.max = detector.decoderLayers;
  layers.value = detector.decoderLayers;
  $("layers-value").textContent = layers.value;
  // The model's recommended threshold (its file may carry one; 0.5 otherwise).
  $("threshold").value = detector.threshold;
  $("threshold-value").textContent = detector.threshold.toFixed(2);
  $("model-info").textContent =
    `${name} (${detector.preset}, ${detector.dtype ?? "checkpoint"}, ${detector.classes.length} classes, input ${detector.inputSize})`;
  Object.assign(demo, { ready: true, backend: detector.backend, threshold: detector.threshold });
  if (source && source !== video) await detectOnce(source);
}

function onDeviceLost() {
  notice("The GPU device was lost (a driver reset?): the next frame rebuilds the model on a new one.");
}

/** The backend pill (after a device loss the model may have moved to the CPU). */
function showBackend() {
  const b = $("backend");
  b.textContent = detector.backend === "webgpu" ? "WebGPU" : "CPU";
  b.className = `pill ${detector.backend}`;
  // Why "auto" runs on the CPU (no WebGPU, the device refused, a limit missing), on hover.
  b.title = detector.fallbackReason ?? "";
  demo.backend = detector.backend;
}

function openFile(file) {
  if (!file) return;
  if (/\.(vidt|safetensors|pth|pt)$/i.test(file.name)) {
    loadModel(async (o) => Detector.fromBytes(new Uint8Array(await file.arrayBuffer()), o), file.name);
  } else if (file.type.startsWith("video/")) {
    playVideo(async () => {
      video.srcObject = null;
      video.src = URL.createObjectURL(file);
      video.loop = true;
    });
  } else {
    showImage(URL.createObjectURL(file));
  }
}

for (const [id, out, fmt] of [
  ["threshold", "threshold-value", (v) => Number(v).toFixed(2)],
  ["layers", "layers-value", (v) => v],
]) {
  $(id).addEventListener("input", () => {
    $(out).textContent = fmt($(id).value);
    if (videoLoop) startVideoLoop();
    else if (source && source !== video) detectOnce(source);
  });
}
$("pick-image").addEventListener("change", (e) => openFile(e.target.files[0]));
$("pick-video").addEventListener("change", (e) => openFile(e.target.files[0]));
$("pick-model").addEventListener("change", (e) => openFile(e.target.files[0]));
$("sample").addEventListener("click", () => showImage("../examples/shapes.png"));
$("stop").addEventListener("click", stop);
$("webcam").addEventListener("click", () =>
  playVideo(async () => {
    if (!navigator.mediaDevices?.getUserMedia) throw new Error("this browser has no camera access");
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: true });
  }),
);
const drop = $("drop");
drop.addEventListener("dragover", (e) => {
  e.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  openFile(e.dataTransfer.files[0]);
});

await init();
const modelUrl = new URLSearchParams(location.search).get("model") ?? "models/default.vidt";
// Cached across visits (the Cache API; the file's checksum is checked on every load).
await loadModel((o) => Detector.fromUrl(modelUrl, { ...o, cache: true }), modelUrl.split("/").pop());
if (!source) await showImage("../examples/shapes.png");
