//! The browser API (wasm-bindgen), thin over [`crate::Detector`]: `Detector.fromUrl` /
//! `fromBytes`, `detect` on any image-like source, `forward`, `memory`, `dispose`. The engine
//! (WebGPU or the CPU fallback, rebuilt after a device loss) is in [`engine`], option checking
//! in [`options`], pixel reading in [`source`], the streamed download in [`download`], the
//! model cache in [`cache`]. Every failure is a JS exception with the library's message;
//! nothing here panics on bad input. The worker mode and the video loop are JavaScript
//! (`pkg/index.js`, `pkg/worker.js`) over this API.

mod cache;
mod download;
mod engine;
mod options;
mod source;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Promise, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::detect::{DetectOptions, ForwardInput};
use crate::io::LoadedModel;
use crate::model::precision::Precision;
use crate::tensor_map::TensorMap;
use cache::{ModelCache, cache_name};
use download::Revalidated;
use engine::{Engine, PageBackend, choose_backend};
use options::{JsDetection, check_load_options, detect_options};

// The API's interfaces are written once, by hand, in pkg/index.d.ts (the typings of the
// package's entry, which must not import this generated vidt.d.ts: it uses Symbol.dispose, which
// lib es2022 lacks). vidt.d.ts imports them from there: every name an `unchecked_*_type` below
// uses must be in this list.
#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
import type {
  Detection, DetectOptions, ImageSource, LoadOptions, Memory, OfficialModel,
} from "./index.js";
export type {
  Detection, DetectOptions, ImageSource, LoadOptions, Memory, OfficialModel,
} from "./index.js";
"#;

/// Every official checkpoint (the CLI's `vidt models --json`, plus each one's download URL).
#[wasm_bindgen(js_name = officialModels, unchecked_return_type = "OfficialModel[]")]
pub fn official_models() -> Result<JsValue, JsError> {
    crate::official::zoo::listing(None)
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&e.to_string()))
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(s: &str);
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    fn console_warn(s: &str);
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
    state: Rc<State>,
    classes: Vec<String>,
    input_size: usize,
    decoder_layers: usize,
    preset: String,
    /// How the model file stores its tensors; `None` for a checkpoint.
    dtype: Option<crate::tensor_map::Dtype>,
    /// Defaults of `detect` (the model file's recommendations where it has them).
    defaults: DetectOptions,
}

/// What calls in flight share with the detector (they outlive `&self`).
struct State {
    /// Names the detector's `onDeviceLost` registration.
    id: u32,
    /// `None` once disposed; calls in flight keep their own reference until they finish.
    engine: RefCell<Option<Rc<Engine>>>,
    /// Where it runs (or ran, once disposed).
    backend: Cell<PageBackend>,
    /// Why `backend: "auto"` (or a rebuild after a device loss) runs on the CPU.
    fallback_reason: RefCell<Option<String>>,
    /// The load option `precision` (`None`: the best the device has), kept for rebuilds.
    wanted_precision: Option<Precision>,
    /// The precision the model runs in (or ran in, once disposed).
    precision: Cell<Precision>,
    /// On WebGPU, the model file, to rebuild the model after a device loss.
    bytes: Option<Vec<u8>>,
    name: String,
    on_device_lost: Option<js_sys::Function>,
    /// The rebuild in flight after a loss, awaited by every call that finds the device lost.
    rebuild: RefCell<Option<Promise>>,
}

thread_local! {
    static NEXT_ID: Cell<u32> = const { Cell::new(0) };
}

impl State {
    fn engine(&self) -> Result<Rc<Engine>, JsError> {
        self.engine
            .borrow()
            .clone()
            .ok_or_else(|| JsError::new("this Detector has been disposed"))
    }

    fn listen(&self, engine: &Engine) {
        if let (Some(f), Some(generation)) = (&self.on_device_lost, engine.generation()) {
            engine::on_device_lost(self.id, generation, f.clone());
        }
    }

    /// The engine to run on: after a device loss, the model rebuilt on a new device, or on the
    /// CPU when no adapter is left (one rebuild however many calls wait for it).
    async fn ready(self: Rc<Self>) -> Result<Rc<Engine>, JsError> {
        loop {
            let engine = self.engine()?;
            if !engine.lost() {
                return Ok(engine);
            }
            drop(engine);
            let pending = self.rebuild.borrow().clone();
            let rebuild = pending.unwrap_or_else(|| {
                let p =
                    wasm_bindgen_futures::future_to_promise(self.clone().rebuild_engine_promise());
                *self.rebuild.borrow_mut() = Some(p.clone());
                p
            });
            let done = JsFuture::from(rebuild.clone()).await;
            // The first waiter to wake clears it, so a later loss starts a new rebuild.
            let mut slot = self.rebuild.borrow_mut();
            if slot
                .as_ref()
                .is_some_and(|p| JsValue::from(p.clone()) == JsValue::from(rebuild.clone()))
            {
                slot.take();
            }
            drop(slot);
            done.map_err(|e| JsError::new(&js_message(&e)))?;
        }
    }

    async fn rebuild_engine_promise(self: Rc<Self>) -> Result<JsValue, JsValue> {
        self.rebuild_engine()
            .await
            .map(|_| JsValue::UNDEFINED)
            .map_err(JsValue::from)
    }

    async fn rebuild_engine(self: Rc<Self>) -> Result<(), JsError> {
        let bytes = self.bytes.as_deref().unwrap_or_default();
        let loaded = LoadedModel::from_bytes(bytes, &self.name).map_err(js_error)?;
        let (backend, reason) = PageBackend::best().await;
        // On the CPU (no adapter left) f32, whatever was asked: the CPU runs nothing else.
        let precision = self
            .wanted_precision
            .filter(|_| backend == PageBackend::WebGpu);
        let engine = Engine::build(&loaded, backend, precision)
            .await
            .map_err(js_error)?;
        let mut slot = self.engine.borrow_mut();
        // Disposed meanwhile: stays disposed.
        if slot.is_some() {
            self.listen(&engine);
            self.backend.set(engine.backend());
            self.precision.set(engine.precision());
            *self.fallback_reason.borrow_mut() = reason;
            *slot = Some(Rc::new(engine));
        }
        Ok(())
    }
}

/// A load's result; once `signal` has aborted, whichever step stopped it, the `AbortError`
/// `fetch` would give.
fn or_aborted<T>(r: Result<T, JsError>, signal: &JsValue) -> Result<T, JsValue> {
    match r {
        Err(_) if get(signal, "aborted").is_truthy() => {
            let e = js_sys::Error::new("the model load was aborted");
            e.set_name("AbortError");
            Err(e.into())
        }
        r => r.map_err(JsValue::from),
    }
}

fn check_signal(signal: &JsValue) -> Result<(), JsError> {
    if signal.is_undefined() || signal.is_instance_of::<web_sys::AbortSignal>() {
        still_wanted(signal)
    } else {
        Err(JsError::new(
            "bad load options: signal must be an AbortSignal",
        ))
    }
}

/// An error once `signal` has aborted (the load then rejects as [`or_aborted`] says).
fn still_wanted(signal: &JsValue) -> Result<(), JsError> {
    if get(signal, "aborted").is_truthy() {
        Err(JsError::new("aborted"))
    } else {
        Ok(())
    }
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
    /// A detector from a `.pth` checkpoint (PyTorch 1.6+, as released), a `.vidt` model file or
    /// a safetensors checkpoint already in memory.
    #[wasm_bindgen(js_name = fromBytes)]
    pub async fn from_bytes(
        bytes: Uint8Array,
        #[wasm_bindgen(unchecked_param_type = "LoadOptions | undefined")] options: JsValue,
    ) -> Result<WebDetector, JsValue> {
        let signal = get(&options, "signal");
        let load = async {
            check_load_options(&options)?;
            if !get(&options, "cache").is_undefined() {
                return Err(JsError::new(
                    "the cache option is for fromUrl (fromBytes has nothing to download)",
                ));
            }
            check_signal(&signal)?;
            let bytes = bytes.to_vec();
            let loaded = LoadedModel::from_bytes(&bytes, "model bytes").map_err(js_error)?;
            still_wanted(&signal)?;
            Self::build(bytes, loaded, "model bytes", &options).await
        };
        or_aborted(load.await, &signal)
    }

    /// Downloads a model (streamed, reporting progress to `options.onProgress`) and builds it;
    /// with `options.cache`, a cached copy is revalidated with the server first and used as is
    /// when the server cannot be reached. `options.signal` aborts it (an `AbortError`).
    #[wasm_bindgen(js_name = fromUrl)]
    pub async fn from_url(
        url: String,
        #[wasm_bindgen(unchecked_param_type = "LoadOptions | undefined")] options: JsValue,
    ) -> Result<WebDetector, JsValue> {
        let signal = get(&options, "signal");
        or_aborted(Self::load_url(&url, &options, &signal).await, &signal)
    }

    async fn load_url(
        url: &str,
        options: &JsValue,
        signal: &JsValue,
    ) -> Result<WebDetector, JsError> {
        check_load_options(options)?;
        check_signal(signal)?;
        let progress = get(options, "onProgress");
        let cache = match cache_name(options)? {
            Some(name) => ModelCache::open(&name).await,
            None => None,
        };
        let cached = match &cache {
            Some(c) => c.get(url).await,
            None => None,
        };
        if let (Some(c), Some(cached)) = (&cache, cached) {
            match download::revalidate(url, &cached, &progress, signal).await {
                // A new file on the server: checked and stored as a download is, below.
                Ok(Revalidated::Changed(file)) => {
                    return Self::keep_and_build(file, url, Some(c), options, signal).await;
                }
                Ok(Revalidated::Unchanged) => {}
                Err(e) => {
                    still_wanted(signal)?;
                    console_warn(&format!(
                        "vidt: cannot ask the server whether {url} changed ({e}): using the \
                         cached copy"
                    ));
                }
            }
            match LoadedModel::from_bytes(&cached.bytes, url) {
                Ok(loaded) => {
                    still_wanted(signal)?;
                    return Self::build(cached.bytes, loaded, url, options).await;
                }
                Err(e) => {
                    console_warn(&format!("vidt: the cached {url} is bad ({e}): downloading"));
                    c.delete(url).await;
                }
            }
        }
        let file = download::download(url, &progress, signal)
            .await
            .map_err(|e| JsError::new(&format!("cannot download the model from {url}: {e}")))?;
        Self::keep_and_build(file, url, cache.as_ref(), options, signal).await
    }

    /// A downloaded model file: checked, stored in the cache (if any), built.
    async fn keep_and_build(
        file: download::Fetched,
        url: &str,
        cache: Option<&ModelCache>,
        options: &JsValue,
        signal: &JsValue,
    ) -> Result<WebDetector, JsError> {
        let loaded = LoadedModel::from_bytes(&file.bytes, url).map_err(js_error)?;
        if let Some(c) = cache {
            c.put(url, &file).await;
        }
        still_wanted(signal)?;
        Self::build(file.bytes, loaded, url, options).await
    }

    async fn build(
        bytes: Vec<u8>,
        loaded: LoadedModel,
        name: &str,
        options: &JsValue,
    ) -> Result<WebDetector, JsError> {
        let (backend, fallback_reason) = choose_backend(options).await?;
        let wanted_precision = options::wanted_precision(options)?;
        let engine = Engine::build(&loaded, backend, wanted_precision)
            .await
            .map_err(js_error)?;
        let (input_size, defaults) = engine.defaults();
        let id = NEXT_ID.get();
        NEXT_ID.set(id + 1);
        let state = State {
            id,
            backend: Cell::new(engine.backend()),
            fallback_reason: RefCell::new(fallback_reason),
            wanted_precision,
            precision: Cell::new(engine.precision()),
            // Only WebGPU can lose its device; the CPU never needs the file again.
            bytes: (backend == PageBackend::WebGpu).then_some(bytes),
            name: name.into(),
            on_device_lost: get(options, "onDeviceLost").dyn_into().ok(),
            rebuild: RefCell::new(None),
            engine: RefCell::new(None),
        };
        state.listen(&engine);
        *state.engine.borrow_mut() = Some(Rc::new(engine));
        Ok(WebDetector {
            state: Rc::new(state),
            input_size,
            decoder_layers: loaded.config.dec_layers,
            preset: loaded.config.preset.unwrap_or_else(|| "custom".into()),
            dtype: loaded.dtype,
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

    /// `"webgpu"` or `"cpu"`: where this detector runs (after a device loss with no adapter
    /// left, `"cpu"` from the next detection on).
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.state.backend.get().name().into()
    }

    /// Why `backend: "auto"` runs on the CPU (no WebGPU, no adapter, `requestDevice` refused,
    /// a limit missing; also after a device loss with no adapter left); `undefined` otherwise.
    #[wasm_bindgen(getter, js_name = fallbackReason)]
    pub fn fallback_reason(&self) -> Option<String> {
        self.state.fallback_reason.borrow().clone()
    }

    /// `"f32"` or `"f16"`: the float precision the model runs in (the load option
    /// `precision`; by default f16 where the WebGPU adapter has `shader-f16`).
    #[wasm_bindgen(getter, unchecked_return_type = "\"f32\" | \"f16\"")]
    pub fn precision(&self) -> String {
        self.state.precision.get().name().into()
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

    /// How the `.vidt` file stores its tensors (`"f32"`, `"f16"`, `"bf16"` or `"q8"`, all
    /// computed in `precision`), or `undefined` for a checkpoint (`.pth`, safetensors).
    #[wasm_bindgen(
        getter,
        unchecked_return_type = "\"f32\" | \"f16\" | \"bf16\" | \"q8\" | undefined"
    )]
    pub fn dtype(&self) -> Option<String> {
        self.dtype.map(|d| d.name().into())
    }

    /// Detections in `source` (an image, video, canvas, bitmap, ImageData or VideoFrame),
    /// best first, boxes in the source's pixels.
    #[wasm_bindgen(unchecked_return_type = "Promise<Detection[]>")]
    pub fn detect(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ImageSource")] source: JsValue,
        #[wasm_bindgen(unchecked_param_type = "DetectOptions | undefined")] options: JsValue,
    ) -> Promise {
        // Options and pixels now: a video moves on while the call waits.
        let prepared = self.state.engine().and_then(|_| {
            let o = detect_options(
                &options,
                self.defaults.clone(),
                self.decoder_layers,
                self.input_size,
                &self.classes,
            )?;
            let resize = source::Resize::of(&options, &source)?;
            let (size, max) = o.1;
            let fit = |h, w| crate::detect::preprocess::resized_size(h, w, size, max);
            Ok((o, source::pixels(&source, resize, fit)?))
        });
        let state = self.state.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let ((opts, sizes), pixels) = prepared.map_err(JsValue::from)?;
            let engine = state.ready().await?;
            let dets = engine
                .detect(&pixels, sizes, opts)
                .await
                .map_err(|e| JsValue::from(js_error(e)))?;
            let out: Vec<JsDetection> = dets.into_iter().map(JsDetection::from).collect();
            // Mask bitmaps as Uint8Array (json_compatible alone makes arrays of numbers).
            out.serialize(
                &serde_wasm_bindgen::Serializer::json_compatible().serialize_bytes_as_arrays(false),
            )
            .map_err(|e| JsValue::from(js_error(e)))
        })
    }

    /// The raw forward pass behind `web/forward.mjs`: safetensors bytes with `input`
    /// (B,3,H,W) and `mask` (B,H,W) in, safetensors bytes with the outputs of `vidt forward`
    /// out.
    #[wasm_bindgen(unchecked_return_type = "Promise<Uint8Array>")]
    pub fn forward(&self, input: Uint8Array, decoder_layers: Option<usize>) -> Promise {
        let prepared = self.state.engine().and_then(|_| {
            let map = TensorMap::from_bytes(&input.to_vec(), "forward input").map_err(js_error)?;
            ForwardInput::from_tensors(&map, "forward input").map_err(js_error)
        });
        let state = self.state.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let inp = prepared.map_err(JsValue::from)?;
            let engine = state.ready().await?;
            let bytes = engine
                .forward(&inp, decoder_layers)
                .await
                .map_err(|e| JsValue::from(js_error(e)))?;
            Ok(Uint8Array::from(bytes.as_slice()).into())
        })
    }

    /// Memory figures for leak checks: the wasm heap and, on WebGPU, burn's device memory.
    #[wasm_bindgen(unchecked_return_type = "Memory")]
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
            .state
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
        self.state.engine.borrow_mut().take();
        engine::forget_device_lost(self.state.id);
    }
}

impl Drop for WebDetector {
    /// `free()` (or the GC) without `dispose()`: the callback must not outlive the detector.
    fn drop(&mut self) {
        engine::forget_device_lost(self.state.id);
    }
}
