//! The model on the backend it runs in the page: WebGPU through burn's wgpu runtime (one
//! device per page, replaced when the browser loses it), or the CPU fallback; detection and the
//! raw forward with asynchronous read-back (a synchronous GPU read would block the page).

use std::cell::RefCell;

use burn::backend::wgpu::{RuntimeOptions, WgpuDevice, WgpuSetup, init_device};
use burn::tensor::Tensor;
use image::RgbImage;
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::get;
use super::source::Pixels;
use crate::backend::{Cpu, Gpu};
use crate::detect::preprocess::{make_batch, pad_batch};
use crate::detect::{DetectOptions, Detection, ForwardInput};
use crate::error::VidtError;
use crate::io::LoadedModel;
use crate::model::precision::Precision;
use crate::ops::VidtBackend;
use crate::tensor_map::{Dtype, HostTensor, TensorMap, data_to_f32};

/// Where a model runs in the page: what [`choose_backend`] decides from the `backend` option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PageBackend {
    WebGpu,
    Cpu,
}

impl PageBackend {
    /// The name `detector.backend` reports.
    pub(super) fn name(self) -> &'static str {
        match self {
            PageBackend::WebGpu => "webgpu",
            PageBackend::Cpu => "cpu",
        }
    }

    /// WebGPU when the browser gives a working device, else the CPU and why.
    pub(super) async fn best() -> (Self, Option<String>) {
        match webgpu_device().await {
            Ok(_) => (PageBackend::WebGpu, None),
            Err(reason) => (PageBackend::Cpu, Some(reason)),
        }
    }
}

/// The model on the backend it runs on (on WebGPU, with the generation of the page's device it
/// was built on).
pub(super) enum Engine {
    WebGpu(crate::detect::Detector<Gpu>, u32),
    Cpu(crate::detect::Detector<Cpu>),
}

/// Runs `$body` with `$d` bound to the engine's detector, whatever its backend.
macro_rules! on_engine {
    ($engine:expr, |$d:ident| $body:expr) => {
        match $engine {
            Engine::WebGpu($d, _) => $body,
            Engine::Cpu($d) => $body,
        }
    };
}

impl Engine {
    /// Builds `m` on `backend` in `precision`; `None`: f16 where the device computes in it
    /// (WebGPU with `shader-f16`), else f32. An explicit precision the device lacks is an error.
    pub(super) async fn build(
        m: &LoadedModel,
        backend: PageBackend,
        precision: Option<Precision>,
    ) -> crate::error::Result<Self> {
        Ok(match backend {
            PageBackend::WebGpu => {
                let (device, generation) = webgpu_device().await.map_err(|reason| {
                    VidtError::Unsupported(format!("no WebGPU device: {reason}"))
                })?;
                let p = precision.unwrap_or(if Precision::F16.supported::<Gpu>(&device) {
                    Precision::F16
                } else {
                    Precision::F32
                });
                let d = crate::detect::Detector::from_loaded(m, &device)?.with_precision(p)?;
                Engine::WebGpu(d, generation)
            }
            PageBackend::Cpu => Engine::Cpu(
                crate::detect::Detector::from_loaded(m, &Default::default())?
                    .with_precision(precision.unwrap_or_default())?,
            ),
        })
    }

    /// The precision the model runs in.
    pub(super) fn precision(&self) -> Precision {
        on_engine!(self, |d| d.precision())
    }

    pub(super) fn backend(&self) -> PageBackend {
        match self {
            Engine::WebGpu(..) => PageBackend::WebGpu,
            Engine::Cpu(_) => PageBackend::Cpu,
        }
    }

    /// The WebGPU device generation this engine was built on (`None` on the CPU).
    pub(super) fn generation(&self) -> Option<u32> {
        match self {
            Engine::WebGpu(_, g) => Some(*g),
            Engine::Cpu(_) => None,
        }
    }

    /// Whether the device this engine was built on has been lost (it must be rebuilt).
    pub(super) fn lost(&self) -> bool {
        self.generation().is_some_and(|g| {
            GPU.with_borrow(|s| !matches!(s, Some(s) if s.generation == g && !s.lost))
        })
    }

    /// The default shorter side and `detect`'s default options.
    pub(super) fn defaults(&self) -> (usize, DetectOptions) {
        on_engine!(self, |d| (d.input_size, d.default_options()))
    }

    pub(super) async fn detect(
        &self,
        pixels: &Pixels,
        sizes: (usize, usize),
        opts: DetectOptions,
    ) -> crate::error::Result<Vec<Detection>> {
        on_engine!(self, |d| detect_on(d, pixels, sizes, opts).await)
    }

    pub(super) async fn forward(
        &self,
        inp: &ForwardInput,
        dec_layers: Option<usize>,
    ) -> crate::error::Result<Vec<u8>> {
        on_engine!(self, |d| forward_on(d, inp, dec_layers).await)
    }

    /// burn's device memory `(in use, reserved)` on WebGPU; zeros on the CPU.
    pub(super) fn gpu_memory(&self) -> (u64, u64) {
        match self {
            Engine::WebGpu(d, _) => {
                use cubecl::Runtime;
                let client = burn::backend::wgpu::WgpuRuntime::client(&d.device);
                client
                    .memory_usage()
                    .map(|u| (u.bytes_in_use, u.bytes_reserved))
                    .unwrap_or((0, 0))
            }
            Engine::Cpu(_) => (0, 0),
        }
    }
}

/// Launches cubecl encodes into one compute pass and submit on the page's device.
const TASKS_PER_SUBMIT: usize = 128;

/// The page's WebGPU device as burn's wgpu runtime knows it.
struct GpuState {
    device: WgpuDevice,
    /// 0 for the first device, +1 for each one made after a loss (detectors built on an
    /// older one must be rebuilt).
    generation: u32,
    lost: bool,
}

thread_local! {
    /// One device per page, shared by its detectors: a second setup on a live one would leak it.
    static GPU: RefCell<Option<GpuState>> = const { RefCell::new(None) };
    /// The setup in flight, awaited by concurrent callers instead of starting a second one.
    static SETUP: RefCell<Option<Promise>> = const { RefCell::new(None) };
    /// `onDeviceLost` callbacks: (detector id, device generation, callback).
    static LOST_LISTENERS: RefCell<Vec<(u32, u32, Function)>> = const { RefCell::new(Vec::new()) };
}

/// Calls `f` (`onDeviceLost`) when the device of `generation` is lost; replaces the detector's
/// earlier registration.
pub(super) fn on_device_lost(id: u32, generation: u32, f: Function) {
    forget_device_lost(id);
    LOST_LISTENERS.with_borrow_mut(|l| l.push((id, generation, f)));
}

pub(super) fn forget_device_lost(id: u32) {
    LOST_LISTENERS.with_borrow_mut(|l| l.retain(|(i, _, _)| *i != id));
}

/// `GPUDevice.lost` resolved: mark the device, tell its detectors (`{ reason, message }`).
fn device_lost(generation: u32, reason: &str, message: &str) {
    GPU.with_borrow_mut(|s| {
        if let Some(s) = s.as_mut().filter(|s| s.generation == generation) {
            s.lost = true;
        }
    });
    let listeners: Vec<Function> = LOST_LISTENERS.with_borrow(|l| {
        l.iter()
            .filter(|(_, g, _)| *g == generation)
            .map(|(_, _, f)| f.clone())
            .collect()
    });
    let info = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&info, &"reason".into(), &reason.into());
    let _ = js_sys::Reflect::set(&info, &"message".into(), &message.into());
    for f in listeners {
        // A throwing callback must not stop the others.
        let _ = f.call1(&JsValue::NULL, &info);
    }
}

/// The page's live WebGPU device and its generation, set up on first use and again after a
/// loss; or why the browser gives none (no `navigator.gpu`, no adapter, `requestDevice`
/// rejected, a limit our kernels need missing). Concurrent callers share one setup.
async fn webgpu_device() -> Result<(WgpuDevice, u32), String> {
    loop {
        let live = GPU.with_borrow(|s| {
            s.as_ref()
                .filter(|s| !s.lost)
                .map(|s| (s.device.clone(), s.generation))
        });
        if let Some(live) = live {
            return Ok(live);
        }
        let pending = SETUP.with_borrow(|p| p.clone());
        let setup = pending.unwrap_or_else(|| {
            let p = wasm_bindgen_futures::future_to_promise(async {
                let made = new_webgpu_device().await;
                SETUP.with_borrow_mut(|p| p.take());
                made.map(|_| JsValue::UNDEFINED).map_err(JsValue::from)
            });
            SETUP.with_borrow_mut(|s| *s = Some(p.clone()));
            p
        });
        if let Err(reason) = JsFuture::from(setup).await {
            return Err(reason.as_string().unwrap_or_else(|| format!("{reason:?}")));
        }
    }
}

/// WebGPU limits our kernels rely on (their shared memory and workgroups are sized to the
/// WebGPU defaults, which a compatibility-mode adapter may not reach).
fn missing_limit(l: &wgpu::Limits) -> Option<String> {
    let need = wgpu::Limits::default();
    [
        (
            "maxComputeWorkgroupStorageSize",
            l.max_compute_workgroup_storage_size,
            need.max_compute_workgroup_storage_size,
        ),
        (
            "maxComputeInvocationsPerWorkgroup",
            l.max_compute_invocations_per_workgroup,
            need.max_compute_invocations_per_workgroup,
        ),
        (
            "maxComputeWorkgroupSizeX",
            l.max_compute_workgroup_size_x,
            need.max_compute_workgroup_size_x,
        ),
        (
            "maxStorageBuffersPerShaderStage",
            l.max_storage_buffers_per_shader_stage,
            need.max_storage_buffers_per_shader_stage,
        ),
    ]
    .into_iter()
    .find(|(_, has, needs)| has < needs)
    .map(|(name, has, needs)| format!("the adapter's {name} is {has}; our kernels need {needs}"))
}

/// Asks the browser for an adapter and a device ourselves (cubecl's own setup unwraps a
/// rejected `requestDevice`, which would leave the page's promise pending), then hands them to
/// burn's wgpu runtime.
async fn new_webgpu_device() -> Result<(), String> {
    let gpu = get(&get(&js_sys::global(), "navigator"), "gpu");
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser has no WebGPU (navigator.gpu is missing)".into());
    }
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::BROWSER_WEBGPU,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapter = instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        })
        .await
        .map_err(|e| format!("navigator.gpu.requestAdapter() gave no adapter ({e})"))?;
    let limits = adapter.limits();
    if let Some(missing) = missing_limit(&limits) {
        return Err(missing);
    }
    // As cubecl-wgpu asks for it (its wgsl backend's request_device).
    let (device, queue) = adapter
        .request_device(&wgpu::DeviceDescriptor {
            label: None,
            required_features: adapter
                .features()
                .difference(wgpu::Features::MAPPABLE_PRIMARY_BUFFERS),
            required_limits: limits,
            memory_hints: wgpu::MemoryHints::MemoryUsage,
            trace: wgpu::Trace::Off,
            // SAFETY: what cubecl-wgpu enables on the devices it makes itself (passthrough
            // shaders); burn's runtime expects the same device.
            experimental_features: unsafe { wgpu::ExperimentalFeatures::enabled() },
        })
        .await
        .map_err(|e| format!("GPUAdapter.requestDevice() failed: {e}"))?;
    let generation = GPU.with_borrow(|s| s.as_ref().map_or(0, |s| s.generation + 1));
    device.set_device_lost_callback(move |reason, message| {
        let reason = format!("{reason:?}").to_lowercase();
        device_lost(generation, &reason, &message)
    });
    let setup = WgpuSetup {
        instance,
        adapter,
        device,
        queue,
        backend: wgpu::Backend::BrowserWebGpu,
    };
    // A new device key each time: burn keeps one runtime per key. cubecl submits (and opens a
    // new compute pass) every `tasks_max` launches, 32 by default: 21 passes and 23 submits for
    // a nano frame of 582 dispatches (web/bench-dispatch.mjs). A pass and a submit each cost a
    // trip through the browser's GPU process; 128 keeps a few submits per frame so that the GPU
    // still starts before the whole frame is encoded.
    let options = RuntimeOptions {
        tasks_max: TASKS_PER_SUBMIT,
        ..RuntimeOptions::default()
    };
    let device = init_device(setup, options);
    GPU.set(Some(GpuState {
        device,
        generation,
        lost: false,
    }));
    Ok(())
}

/// The backend `options.backend` asks for, and, when "auto" fell back to the CPU, why.
pub(super) async fn choose_backend(
    options: &JsValue,
) -> Result<(PageBackend, Option<String>), JsError> {
    let wanted = get(options, "backend")
        .as_string()
        .unwrap_or_else(|| "auto".into());
    match wanted.as_str() {
        "cpu" => Ok((PageBackend::Cpu, None)),
        "webgpu" => match webgpu_device().await {
            Ok(_) => Ok((PageBackend::WebGpu, None)),
            Err(reason) => Err(JsError::new(&format!(
                "WebGPU is not available: {reason}; use backend: \"cpu\" or \"auto\""
            ))),
        },
        "auto" => Ok(PageBackend::best().await),
        other => Err(JsError::new(&format!(
            "unknown backend `{other}` (expected \"auto\", \"webgpu\" or \"cpu\")"
        ))),
    }
}

/// Reads a tensor back without blocking (WebGPU maps the buffer asynchronously).
async fn read_async<B: VidtBackend, const D: usize>(
    t: Tensor<B, D>,
) -> crate::error::Result<Vec<f32>> {
    let data = t
        .into_data_async()
        .await
        .map_err(|e| VidtError::Unsupported(format!("cannot read tensor back: {e:?}")))?;
    data_to_f32(data)
}

async fn detect_on<B: VidtBackend>(
    d: &crate::detect::Detector<B>,
    px: &Pixels,
    (size, max_size): (usize, usize),
    opts: DetectOptions,
) -> crate::error::Result<Vec<Detection>> {
    let (w, h) = (px.width, px.height);
    let rgb: Vec<u8> = px
        .rgba
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    let img = RgbImage::from_raw(w as u32, h as u32, rgb).ok_or_else(|| VidtError::Input {
        name: "source".into(),
        reason: format!("{} pixels for {w}x{h}", px.rgba.len() / 4),
    })?;
    // Pixels the browser drew at the input size go in as they are (no second resize).
    let batch = if (h, w) == px.original {
        make_batch(&[img], size, max_size)?
    } else {
        pad_batch(&[img])
    };
    let out = d.forward(&batch.data, batch.shape, &batch.mask, opts.dec_layers)?;
    let logits = read_async(out.pred_logits).await?;
    let boxes = read_async(out.pred_boxes).await?;
    let vectors = match out.vectors.last() {
        Some(v) => Some(read_async(v.clone()).await?),
        None => None,
    };
    Ok(
        d.decode(&logits, &boxes, vectors.as_deref(), &[px.original], opts)
            .remove(0),
    )
}

async fn forward_on<B: VidtBackend>(
    d: &crate::detect::Detector<B>,
    inp: &ForwardInput,
    dec_layers: Option<usize>,
) -> crate::error::Result<Vec<u8>> {
    let out = d.forward(&inp.data, inp.shape, &inp.mask, dec_layers)?;
    let mut tensors = TensorMap::new();
    for (name, t) in out.named() {
        let dims = t.dims().to_vec();
        tensors.insert(name, HostTensor::new(dims, read_async(t).await?));
    }
    crate::io::safetensors_bytes(&tensors, Dtype::F32)
}
