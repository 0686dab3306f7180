//! The browser API (wasm-bindgen), thin over [`crate::Detector`]: `Detector.fromUrl` /
//! `fromBytes`, `detect` on any image-like source, `forward`, `memory`, `dispose`. The engine
//! (WebGPU or the CPU fallback) is in [`engine`], option checking in [`options`], pixel reading
//! in [`source`], the streamed download in [`download`]. Every failure is a JS exception with
//! the library's message; nothing here panics on bad input.

mod download;
mod engine;
mod options;
mod source;

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Promise, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::detect::{DetectOptions, ForwardInput};
use crate::io::LoadedModel;
use crate::tensor_map::TensorMap;
use engine::{Engine, choose_backend};
use options::{JsDetection, check_load_options, detect_options};

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
  /** Longer side at most (default: inputSize * 1333 / 800, the official 1333 at 800; the
   *  CLI's --max-size). */
  maxSize?: number;
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

/// An object detector in the page. Create it with `Detector.fromUrl` or `Detector.fromBytes`.
#[wasm_bindgen(js_name = Detector)]
pub struct WebDetector {
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

pub(crate) fn js_error(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// The message of a thrown JS value.
pub(crate) fn js_message(v: &JsValue) -> String {
    if let Some(e) = v.dyn_ref::<js_sys::Error>() {
        String::from(e.message())
    } else if let Some(s) = v.as_string() {
        s
    } else {
        format!("{v:?}")
    }
}

pub(crate) fn get(obj: &JsValue, key: &str) -> JsValue {
    if obj.is_object() || obj.is_function() {
        Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

#[wasm_bindgen(js_class = Detector)]
impl WebDetector {
    /// A detector from a `.vidt` model file or a safetensors checkpoint already in memory.
    #[wasm_bindgen(js_name = fromBytes)]
    pub async fn from_bytes(
        bytes: Uint8Array,
        #[wasm_bindgen(unchecked_param_type = "LoadOptions | undefined")] options: JsValue,
    ) -> Result<WebDetector, JsError> {
        check_load_options(&options)?;
        Self::build(&bytes.to_vec(), "model bytes", &options).await
    }

    /// Downloads a model (streamed, reporting progress to `options.onProgress`) and builds it.
    #[wasm_bindgen(js_name = fromUrl)]
    pub async fn from_url(
        url: String,
        #[wasm_bindgen(unchecked_param_type = "LoadOptions | undefined")] options: JsValue,
    ) -> Result<WebDetector, JsError> {
        check_load_options(&options)?;
        let bytes = download::download(&url, &get(&options, "onProgress"))
            .await
            .map_err(|e| JsError::new(&format!("cannot download the model from {url}: {e}")))?;
        Self::build(&bytes, &url, &options).await
    }

    async fn build(bytes: &[u8], name: &str, options: &JsValue) -> Result<WebDetector, JsError> {
        let backend = choose_backend(options).await?;
        let loaded = LoadedModel::from_bytes(bytes, name).map_err(js_error)?;
        let engine = Engine::build(&loaded, backend).await.map_err(js_error)?;
        let (input_size, defaults) = engine.defaults();
        Ok(WebDetector {
            engine: RefCell::new(Some(Rc::new(engine))),
            backend: backend.into(),
            input_size,
            decoder_layers: loaded.config.dec_layers,
            preset: loaded.config.preset.unwrap_or_else(|| "custom".into()),
            classes: loaded.classes,
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
        let prepared = self.engine().and_then(|e| {
            let o = detect_options(
                &options,
                self.defaults,
                self.decoder_layers,
                self.input_size,
            )?;
            Ok((e, o, source::pixels(&source)?))
        });
        wasm_bindgen_futures::future_to_promise(async move {
            let (engine, (opts, sizes), (rgba, w, h)) = prepared.map_err(JsValue::from)?;
            let dets = engine
                .detect((&rgba, w, h), sizes, opts)
                .await
                .map_err(|e| JsValue::from(js_error(e)))?;
            let out: Vec<JsDetection> = dets.into_iter().map(JsDetection::from).collect();
            out.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
                .map_err(|e| JsValue::from(js_error(e)))
        })
    }

    /// The raw forward pass behind `web/forward.mjs`: safetensors bytes with `input`
    /// (B,3,H,W) and `mask` (B,H,W) in, safetensors bytes with the outputs of `vidt forward`
    /// out.
    #[wasm_bindgen(unchecked_return_type = "Promise<Uint8Array>")]
    pub fn forward(&self, input: Uint8Array, decoder_layers: Option<usize>) -> Promise {
        let prepared = self.engine().and_then(|e| {
            let map = TensorMap::from_bytes(&input.to_vec(), "forward input").map_err(js_error)?;
            let inp = ForwardInput::from_tensors(&map, "forward input").map_err(js_error)?;
            Ok((e, inp))
        });
        wasm_bindgen_futures::future_to_promise(async move {
            let (engine, inp) = prepared.map_err(JsValue::from)?;
            let bytes = engine
                .forward(&inp, decoder_layers)
                .await
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
        let (in_use, reserved) = self
            .engine
            .borrow()
            .as_deref()
            .map_or((0, 0), Engine::gpu_memory);
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
