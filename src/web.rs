//! The browser API (wasm-bindgen), thin over [`crate::Detector`]: load a model from bytes or a
//! URL, detect on any image-like source, read results back asynchronously (a synchronous GPU
//! read would block the page). Every failure is a JS exception with the library's message;
//! nothing here panics on bad input.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use burn::backend::wgpu::{RuntimeOptions, WgpuDevice, graphics::WebGpu, init_setup_async};
use burn::tensor::Tensor;
use image::RgbImage;
use js_sys::{Function, Promise, Reflect, Uint8Array};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::backend::{Cpu, Gpu};
use crate::detector::{DetectOptions, ForwardInput, data_to_f32};
use crate::error::VidtError;
use crate::ops::VidtBackend;
use crate::postprocess::Detection;
use crate::preprocess::make_batch;
use crate::weights::{LoadedModel, WeightMap, WeightTensor, safetensors_bytes};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** One detection, in the source's pixel coordinates. */
export interface Detection {
  score: number;
  label: string;
  labelId: number;
  box: { xmin: number; ymin: number; xmax: number; ymax: number };
}
/** Options of `Detector.detect`. */
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
}
/** Options of `Detector.fromBytes` / `Detector.fromUrl`. */
export interface LoadOptions {
  /** "auto" (WebGPU when an adapter is available, else CPU), "webgpu" or "cpu". */
  backend?: "auto" | "webgpu" | "cpu";
  /** Download progress (fromUrl): bytes received and the total (0 when unknown). */
  onProgress?: (loaded: number, total: number) => void;
}
/** Anything `detect` reads pixels from. */
export type ImageSource = HTMLImageElement | HTMLVideoElement | HTMLCanvasElement | ImageBitmap
  | ImageData | OffscreenCanvas | VideoFrame
  | { data: Uint8Array | Uint8ClampedArray; width: number; height: number };
"#;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(s: &str);
}

/// A panic is a bug of ours: say so on the console (the module is unusable afterwards).
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        console_error(&format!("vidt: internal error (please report): {info}"))
    }));
}

/// The model on the backend it runs on.
enum Engine {
    WebGpu(crate::Detector<Gpu>),
    Cpu(crate::Detector<Cpu>),
}

/// Runs `$body` with `$d` bound to the engine's detector, whatever its backend.
macro_rules! on_engine {
    ($engine:expr, |$d:ident| $body:expr) => {
        match $engine {
            Engine::WebGpu($d) => $body,
            Engine::Cpu($d) => $body,
        }
    };
}

/// An object detector in the page. Create it with `Detector.fromUrl` or `Detector.fromBytes`.
#[wasm_bindgen]
pub struct Detector {
    /// `None` once disposed; calls in flight keep their own reference until they finish.
    engine: RefCell<Option<Rc<Engine>>>,
    backend: String,
    classes: Vec<String>,
    input_size: usize,
    decoder_layers: usize,
    preset: String,
    /// Defaults of `detect` (the model file's recommendations where it has them).
    defaults: DetectOptions,
}

fn js_error(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// The message of a thrown JS value.
fn js_message(v: &JsValue) -> String {
    if let Some(e) = v.dyn_ref::<js_sys::Error>() {
        String::from(e.message())
    } else if let Some(s) = v.as_string() {
        s
    } else {
        format!("{v:?}")
    }
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    if obj.is_object() || obj.is_function() {
        Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

thread_local! {
    /// burn's wgpu runtime is set up once per page (a second setup would leak a device).
    static WEBGPU_READY: Cell<bool> = const { Cell::new(false) };
}

/// Whether `navigator.gpu` gives an adapter (asked here so that a missing one means the CPU
/// fallback rather than a failed setup).
async fn webgpu_adapter() -> bool {
    let gpu = get(&get(&js_sys::global(), "navigator"), "gpu");
    let Ok(request) = get(&gpu, "requestAdapter").dyn_into::<Function>() else {
        return false;
    };
    let Ok(promise) = request.call0(&gpu).and_then(|p| p.dyn_into::<Promise>()) else {
        return false;
    };
    matches!(JsFuture::from(promise).await, Ok(a) if !a.is_null() && !a.is_undefined())
}

async fn webgpu_device() -> WgpuDevice {
    let device = WgpuDevice::default();
    if !WEBGPU_READY.get() {
        init_setup_async::<WebGpu>(&device, RuntimeOptions::default()).await;
        WEBGPU_READY.set(true);
    }
    device
}

/// Refuses option names not in `known` (a misspelt option would otherwise be silently ignored).
fn check_keys(options: &JsValue, known: &[&str], what: &str) -> Result<(), JsError> {
    let Some(obj) = options.dyn_ref::<js_sys::Object>() else {
        return Err(JsError::new(&format!("{what} options must be an object")));
    };
    for key in js_sys::Object::keys(obj)
        .iter()
        .filter_map(|k| k.as_string())
    {
        if !known.contains(&key.as_str()) {
            return Err(JsError::new(&format!(
                "unknown {what} option `{key}` (known: {})",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

/// Checked before a download, so a misspelt option fails fast.
fn check_load_options(options: &JsValue) -> Result<(), JsError> {
    if options.is_undefined() || options.is_null() {
        return Ok(());
    }
    check_keys(options, &["backend", "onProgress"], "load")
}

/// Reads `options.backend` and picks the backend the model will run on.
async fn choose_backend(options: &JsValue) -> Result<&'static str, JsError> {
    let wanted = get(options, "backend")
        .as_string()
        .unwrap_or_else(|| "auto".into());
    match wanted.as_str() {
        "cpu" => Ok("cpu"),
        "webgpu" => {
            if webgpu_adapter().await {
                Ok("webgpu")
            } else {
                Err(JsError::new(
                    "WebGPU is not available in this browser (navigator.gpu gave no adapter); \
                     use backend: \"cpu\" or \"auto\"",
                ))
            }
        }
        "auto" => Ok(if webgpu_adapter().await {
            "webgpu"
        } else {
            "cpu"
        }),
        other => Err(JsError::new(&format!(
            "unknown backend `{other}` (expected \"auto\", \"webgpu\" or \"cpu\")"
        ))),
    }
}

#[wasm_bindgen]
impl Detector {
    /// A detector from a `.vidt` model file or a safetensors checkpoint already in memory.
    #[wasm_bindgen(js_name = fromBytes)]
    pub async fn from_bytes(
        bytes: Uint8Array,
        #[wasm_bindgen(unchecked_param_type = "LoadOptions | undefined")] options: JsValue,
    ) -> Result<Detector, JsError> {
        check_load_options(&options)?;
        Self::build(&bytes.to_vec(), "model bytes", &options).await
    }

    /// Downloads a model (streamed, reporting progress to `options.onProgress`) and builds it.
    #[wasm_bindgen(js_name = fromUrl)]
    pub async fn from_url(
        url: String,
        #[wasm_bindgen(unchecked_param_type = "LoadOptions | undefined")] options: JsValue,
    ) -> Result<Detector, JsError> {
        check_load_options(&options)?;
        let bytes = download(&url, &get(&options, "onProgress"))
            .await
            .map_err(|e| JsError::new(&format!("cannot download the model from {url}: {e}")))?;
        Self::build(&bytes, &url, &options).await
    }

    async fn build(bytes: &[u8], name: &str, options: &JsValue) -> Result<Detector, JsError> {
        let backend = choose_backend(options).await?;
        let loaded = LoadedModel::from_bytes(bytes, name).map_err(js_error)?;
        let engine = match backend {
            "webgpu" => {
                let device = webgpu_device().await;
                Engine::WebGpu(crate::Detector::from_loaded(&loaded, &device).map_err(js_error)?)
            }
            _ => Engine::Cpu(
                crate::Detector::from_loaded(&loaded, &Default::default()).map_err(js_error)?,
            ),
        };
        let (input_size, config, defaults) = on_engine!(&engine, |d| (
            d.input_size,
            d.config.clone(),
            d.default_options()
        ));
        Ok(Detector {
            engine: RefCell::new(Some(Rc::new(engine))),
            backend: backend.into(),
            classes: loaded.classes,
            input_size,
            decoder_layers: config.dec_layers,
            preset: config.preset.unwrap_or_else(|| "custom".into()),
            defaults,
        })
    }

    /// `detect`'s default threshold: the model's recommendation, else 0.5.
    #[wasm_bindgen(getter)]
    pub fn threshold(&self) -> f32 {
        self.defaults.threshold
    }

    /// The class-wise NMS IoU `detect` applies by default (the model's recommendation), or
    /// `undefined` (none, as the official post-processing).
    #[wasm_bindgen(getter, js_name = nmsIou)]
    pub fn nms_iou(&self) -> Option<f32> {
        self.defaults.nms_iou
    }

    /// `"webgpu"` or `"cpu"`: where this detector runs.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.backend.clone()
    }

    /// Class names by label id.
    #[wasm_bindgen(getter)]
    pub fn classes(&self) -> Vec<String> {
        self.classes.clone()
    }

    /// The default shorter side images are resized to.
    #[wasm_bindgen(getter, js_name = inputSize)]
    pub fn input_size(&self) -> usize {
        self.input_size
    }

    /// Decoder layers of the model (`detect`'s `decoderLayers` may ask for fewer).
    #[wasm_bindgen(getter, js_name = decoderLayers)]
    pub fn decoder_layers(&self) -> usize {
        self.decoder_layers
    }

    /// The model size (`nano`, `tiny`, ..., `pico`) or `custom`.
    #[wasm_bindgen(getter)]
    pub fn preset(&self) -> String {
        self.preset.clone()
    }

    fn engine(&self) -> Result<Rc<Engine>, JsError> {
        self.engine
            .borrow()
            .clone()
            .ok_or_else(|| JsError::new("this Detector has been disposed"))
    }

    /// Detections in `source` (an image, video, canvas, bitmap, ImageData or VideoFrame),
    /// best first, boxes in the source's pixels.
    #[wasm_bindgen(unchecked_return_type = "Promise<Detection[]>")]
    pub fn detect(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ImageSource")] source: JsValue,
        #[wasm_bindgen(unchecked_param_type = "DetectOptions | undefined")] options: JsValue,
    ) -> Promise {
        let prepared = self
            .engine()
            .and_then(|e| Ok((e, self.detect_options(&options)?, pixels(&source)?)));
        wasm_bindgen_futures::future_to_promise(async move {
            let (engine, (opts, size), (rgba, w, h)) = prepared.map_err(JsValue::from)?;
            let dets = on_engine!(&*engine, |d| detect_on(d, &rgba, w, h, size, opts).await)
                .map_err(|e| JsValue::from(js_error(e)))?;
            let out: Vec<JsDetection> = dets.into_iter().map(JsDetection::from).collect();
            out.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
                .map_err(|e| JsValue::from(js_error(e)))
        })
    }

    fn detect_options(&self, options: &JsValue) -> Result<(DetectOptions, usize), JsError> {
        let o: JsDetectOptions = if options.is_undefined() || options.is_null() {
            JsDetectOptions::default()
        } else {
            check_keys(
                options,
                &["threshold", "topK", "decoderLayers", "inputSize", "nmsIou"],
                "detect",
            )?;
            serde_wasm_bindgen::from_value(options.clone())
                .map_err(|e| JsError::new(&format!("bad detect options: {e}")))?
        };
        let bad = |what: String| Err(JsError::new(&format!("bad detect options: {what}")));
        let threshold = o.threshold.unwrap_or(self.defaults.threshold as f64);
        if !(0.0..=1.0).contains(&threshold) {
            return bad(format!("threshold {threshold} is not in [0, 1]"));
        }
        let top_k = o.top_k.unwrap_or(100.0);
        if !(top_k >= 1.0 && top_k.fract() == 0.0) {
            return bad(format!("topK {top_k} is not a positive integer"));
        }
        let dec_layers = match o.decoder_layers {
            None => None,
            Some(k) if k >= 1.0 && k.fract() == 0.0 && k as usize <= self.decoder_layers => {
                Some(k as usize)
            }
            Some(k) => {
                return bad(format!(
                    "decoderLayers {k} is not an integer in 1..={}",
                    self.decoder_layers
                ));
            }
        };
        // null turns the model's NMS off; a number sets the IoU.
        let nms_iou = match o.nms_iou {
            None => self.defaults.nms_iou,
            Some(None) => None,
            Some(Some(t)) if t > 0.0 && t <= 1.0 => Some(t as f32),
            Some(Some(t)) => return bad(format!("nmsIou {t} is not in (0, 1]")),
        };
        let size = o.input_size.unwrap_or(self.input_size as f64);
        if !(32.0..=2048.0).contains(&size) || size.fract() != 0.0 {
            return bad(format!("inputSize {size} is not an integer in 32..=2048"));
        }
        Ok((
            DetectOptions {
                threshold: threshold as f32,
                top_k: top_k as usize,
                dec_layers,
                nms_iou,
            },
            size as usize,
        ))
    }

    /// The raw forward pass behind `web/forward.mjs`: safetensors bytes with `input`
    /// (B,3,H,W) and `mask` (B,H,W) in, safetensors bytes with the outputs of `vidt forward`
    /// out.
    #[wasm_bindgen(unchecked_return_type = "Promise<Uint8Array>")]
    pub fn forward(&self, input: Uint8Array, decoder_layers: Option<usize>) -> Promise {
        let prepared = self.engine().and_then(|e| {
            let map = WeightMap::from_bytes(&input.to_vec(), "forward input").map_err(js_error)?;
            Ok((
                e,
                ForwardInput::from_weights(&map, "forward input").map_err(js_error)?,
            ))
        });
        wasm_bindgen_futures::future_to_promise(async move {
            let (engine, inp) = prepared.map_err(JsValue::from)?;
            let bytes = on_engine!(&*engine, |d| forward_on(d, &inp, decoder_layers).await)
                .map_err(|e| JsValue::from(js_error(e)))?;
            Ok(Uint8Array::from(bytes.as_slice()).into())
        })
    }

    /// Memory figures for leak checks: the wasm heap and, on WebGPU, burn's device memory.
    #[wasm_bindgen(
        unchecked_return_type = "{ wasmBytes: number; gpuBytesInUse: number; gpuBytesReserved: number }"
    )]
    pub fn memory(&self) -> Result<JsValue, JsError> {
        let wasm = wasm_bindgen::memory()
            .dyn_into::<js_sys::WebAssembly::Memory>()
            .map(|m| {
                m.buffer()
                    .unchecked_into::<js_sys::ArrayBuffer>()
                    .byte_length()
            })
            .unwrap_or(0);
        let (in_use, reserved) = match self.engine.borrow().as_deref() {
            Some(Engine::WebGpu(d)) => {
                use cubecl::Runtime;
                let client = burn::backend::wgpu::WgpuRuntime::client(&d.device);
                client
                    .memory_usage()
                    .map(|u| (u.bytes_in_use, u.bytes_reserved))
                    .unwrap_or((0, 0))
            }
            _ => (0, 0),
        };
        let o = js_sys::Object::new();
        for (k, v) in [
            ("wasmBytes", wasm as f64),
            ("gpuBytesInUse", in_use as f64),
            ("gpuBytesReserved", reserved as f64),
        ] {
            Reflect::set(&o, &k.into(), &v.into()).map_err(|e| JsError::new(&js_message(&e)))?;
        }
        Ok(o.into())
    }

    /// Frees the model (GPU buffers included); later calls fail with a clear error.
    pub fn dispose(&self) {
        self.engine.borrow_mut().take();
    }
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsDetectOptions {
    threshold: Option<f64>,
    top_k: Option<f64>,
    decoder_layers: Option<f64>,
    input_size: Option<f64>,
    /// Absent: the model's default; `null`: off.
    #[serde(default, deserialize_with = "present")]
    nms_iou: Option<Option<f64>>,
}

/// Tells an explicit `null` (`Some(None)`) from an absent key (`None`, via `default`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<f64>>, D::Error> {
    Option::<f64>::deserialize(d).map(Some)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsDetection {
    score: f32,
    label: String,
    label_id: usize,
    #[serde(rename = "box")]
    bbox: JsBox,
}

#[derive(Serialize)]
struct JsBox {
    xmin: f32,
    ymin: f32,
    xmax: f32,
    ymax: f32,
}

impl From<Detection> for JsDetection {
    fn from(d: Detection) -> Self {
        let [xmin, ymin, xmax, ymax] = d.bbox;
        Self {
            score: d.score,
            label: d.label,
            label_id: d.label_id,
            bbox: JsBox {
                xmin,
                ymin,
                xmax,
                ymax,
            },
        }
    }
}

/// Reads a tensor back without blocking (WebGPU maps the buffer asynchronously).
async fn read_async<B: VidtBackend, const D: usize>(t: Tensor<B, D>) -> crate::Result<Vec<f32>> {
    let data = t
        .into_data_async()
        .await
        .map_err(|e| VidtError::Unsupported(format!("cannot read tensor back: {e:?}")))?;
    data_to_f32(data)
}

async fn detect_on<B: VidtBackend>(
    d: &crate::Detector<B>,
    rgba: &[u8],
    w: usize,
    h: usize,
    size: usize,
    opts: DetectOptions,
) -> crate::Result<Vec<Detection>> {
    let rgb: Vec<u8> = rgba
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    let img = RgbImage::from_raw(w as u32, h as u32, rgb).ok_or_else(|| VidtError::Input {
        name: "source".into(),
        reason: format!("{} pixels for {w}x{h}", rgba.len() / 4),
    })?;
    // The official evaluation's ratio of longer-side cap to shorter side (1333 / 800).
    let max_size = (size * 1333).div_ceil(800);
    let batch = make_batch(&[img], size, max_size);
    let out = d.forward(&batch.data, batch.shape, &batch.mask, opts.dec_layers)?;
    let logits = read_async(out.pred_logits).await?;
    let boxes = read_async(out.pred_boxes).await?;
    Ok(d.decode(&logits, &boxes, &[(h, w)], opts).remove(0))
}

async fn forward_on<B: VidtBackend>(
    d: &crate::Detector<B>,
    inp: &ForwardInput,
    dec_layers: Option<usize>,
) -> crate::Result<Vec<u8>> {
    let out = d.forward(&inp.data, inp.shape, &inp.mask, dec_layers)?;
    let mut tensors = BTreeMap::new();
    for (name, t) in out.named() {
        let dims = t.dims().to_vec();
        tensors.insert(name, WeightTensor::new(dims, read_async(t).await?));
    }
    safetensors_bytes(&tensors)
}

/// The RGBA pixels and `(width, height)` of an image-like source.
fn pixels(source: &JsValue) -> Result<(Vec<u8>, usize, usize), JsError> {
    if !source.is_object() {
        return Err(JsError::new(
            "detect needs an image, video, canvas, ImageBitmap, ImageData or VideoFrame",
        ));
    }
    let num = |k: &str| get(source, k).as_f64().filter(|v| *v >= 0.0);
    // ImageData, or a plain { data, width, height } (tests, workers, decoded frames).
    let data = get(source, "data");
    if data.is_object() {
        let (Some(w), Some(h)) = (num("width"), num("height")) else {
            return Err(JsError::new(
                "source.data needs source.width and source.height",
            ));
        };
        let bytes = if let Some(a) = data.dyn_ref::<js_sys::Uint8ClampedArray>() {
            a.to_vec()
        } else if let Some(a) = data.dyn_ref::<Uint8Array>() {
            a.to_vec()
        } else {
            return Err(JsError::new(
                "source.data must be a Uint8Array or Uint8ClampedArray",
            ));
        };
        let (w, h) = (w as usize, h as usize);
        if bytes.len() != w * h * 4 || w == 0 || h == 0 {
            return Err(JsError::new(&format!(
                "source.data has {} bytes; {w}x{h} RGBA needs {}",
                bytes.len(),
                w * h * 4
            )));
        }
        return Ok((bytes, w, h));
    }
    // The intrinsic size: <img> natural, <video> frame, VideoFrame display, else width/height.
    let size = [
        ("naturalWidth", "naturalHeight"),
        ("videoWidth", "videoHeight"),
        ("displayWidth", "displayHeight"),
        ("width", "height"),
    ]
    .into_iter()
    .find_map(|(wk, hk)| Some((num(wk)?, num(hk)?)));
    let Some((w, h)) = size else {
        return Err(JsError::new(
            "detect needs an image, video, canvas, ImageBitmap, ImageData or VideoFrame",
        ));
    };
    let (w, h) = (w as u32, h as u32);
    if w == 0 || h == 0 {
        return Err(JsError::new(
            "the source has no pixels yet (image not loaded, or video without a frame)",
        ));
    }
    let canvas = web_sys::OffscreenCanvas::new(w, h).map_err(|e| JsError::new(&js_message(&e)))?;
    let ctx = canvas
        .get_context("2d")
        .map_err(|e| JsError::new(&js_message(&e)))?
        .ok_or_else(|| JsError::new("no 2d context on an OffscreenCanvas"))?
        .unchecked_into::<web_sys::OffscreenCanvasRenderingContext2d>();
    // drawImage takes every source kind; web-sys would need one binding per kind.
    let draw: Function = get(&ctx, "drawImage")
        .dyn_into()
        .map_err(|_| JsError::new("OffscreenCanvas 2d context has no drawImage"))?;
    draw.call3(&ctx, source, &0.into(), &0.into())
        .map_err(|e| JsError::new(&format!("cannot draw the source: {}", js_message(&e))))?;
    let image = ctx
        .get_image_data(0.0, 0.0, w as f64, h as f64)
        .map_err(|e| JsError::new(&format!("cannot read the pixels: {}", js_message(&e))))?;
    Ok((image.data().0, w as usize, h as usize))
}

/// Streams `url` into memory, calling `on_progress(loaded, total)` as chunks arrive.
async fn download(url: &str, on_progress: &JsValue) -> Result<Vec<u8>, String> {
    let fetch: Function = get(&js_sys::global(), "fetch")
        .dyn_into()
        .map_err(|_| "this environment has no fetch()".to_string())?;
    let promise: Promise = fetch
        .call1(&JsValue::NULL, &url.into())
        .map_err(|e| js_message(&e))?
        .unchecked_into();
    let resp: web_sys::Response = JsFuture::from(promise)
        .await
        .map_err(|e| js_message(&e))?
        .unchecked_into();
    if !resp.ok() {
        return Err(format!("HTTP {} {}", resp.status(), resp.status_text()));
    }
    let total = resp
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(0.0);
    let progress = on_progress.dyn_ref::<Function>();
    let report = |loaded: usize| {
        if let Some(f) = progress {
            // A throwing callback must not abort the download.
            let _ = f.call2(&JsValue::NULL, &(loaded as f64).into(), &total.into());
        }
    };
    let Some(body) = resp.body() else {
        let buf = JsFuture::from(resp.array_buffer().map_err(|e| js_message(&e))?)
            .await
            .map_err(|e| js_message(&e))?;
        let bytes = Uint8Array::new(&buf).to_vec();
        report(bytes.len());
        return Ok(bytes);
    };
    let reader = get(&body, "getReader")
        .dyn_into::<Function>()
        .and_then(|f| f.call0(&body))
        .map_err(|e| js_message(&e))?;
    let read: Function = get(&reader, "read")
        .dyn_into()
        .map_err(|_| "the response stream has no reader".to_string())?;
    let mut bytes = Vec::with_capacity(total as usize);
    report(0);
    loop {
        let chunk = read
            .call0(&reader)
            .map_err(|e| js_message(&e))?
            .unchecked_into::<Promise>();
        let chunk = JsFuture::from(chunk).await.map_err(|e| js_message(&e))?;
        if get(&chunk, "done").is_truthy() {
            break;
        }
        let value = get(&chunk, "value");
        match value.dyn_ref::<Uint8Array>() {
            Some(a) => bytes.extend_from_slice(&a.to_vec()),
            None => return Err("the response stream gave a non-byte chunk".into()),
        }
        report(bytes.len());
    }
    Ok(bytes)
}
