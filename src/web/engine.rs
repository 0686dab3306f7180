//! The model on the backend it runs in the page: WebGPU through burn's wgpu runtime (set up
//! once per page), or the CPU fallback; detection and the raw forward with asynchronous
//! read-back (a synchronous GPU read would block the page).

use std::cell::Cell;

use burn::backend::wgpu::{RuntimeOptions, WgpuDevice, graphics::WebGpu, init_setup_async};
use burn::tensor::Tensor;
use image::RgbImage;
use js_sys::{Function, Promise};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::get;
use crate::backend::{Cpu, Gpu};
use crate::detect::preprocess::make_batch;
use crate::detect::{DetectOptions, Detection, ForwardInput};
use crate::error::VidtError;
use crate::io::LoadedModel;
use crate::ops::VidtBackend;
use crate::tensor_map::{Dtype, HostTensor, TensorMap, data_to_f32};

/// The model on the backend it runs on.
pub(super) enum Engine {
    WebGpu(crate::detect::Detector<Gpu>),
    Cpu(crate::detect::Detector<Cpu>),
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

impl Engine {
    /// Builds `m` on `backend` (`"webgpu"` or `"cpu"`, from [`choose_backend`]).
    pub(super) async fn build(m: &LoadedModel, backend: &str) -> crate::error::Result<Self> {
        Ok(match backend {
            "webgpu" => Engine::WebGpu(crate::detect::Detector::from_loaded(
                m,
                &webgpu_device().await,
            )?),
            _ => Engine::Cpu(crate::detect::Detector::from_loaded(
                m,
                &Default::default(),
            )?),
        })
    }

    /// The default shorter side and `detect`'s default options.
    pub(super) fn defaults(&self) -> (usize, DetectOptions) {
        on_engine!(self, |d| (d.input_size, d.default_options()))
    }

    pub(super) async fn detect(
        &self,
        (rgba, w, h): (&[u8], usize, usize),
        sizes: (usize, usize),
        opts: DetectOptions,
    ) -> crate::error::Result<Vec<Detection>> {
        on_engine!(self, |d| detect_on(d, rgba, w, h, sizes, opts).await)
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
            Engine::WebGpu(d) => {
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

/// Reads `options.backend` and picks the backend the model will run on.
pub(super) async fn choose_backend(options: &JsValue) -> Result<&'static str, JsError> {
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
    rgba: &[u8],
    w: usize,
    h: usize,
    (size, max_size): (usize, usize),
    opts: DetectOptions,
) -> crate::error::Result<Vec<Detection>> {
    let rgb: Vec<u8> = rgba
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    let img = RgbImage::from_raw(w as u32, h as u32, rgb).ok_or_else(|| VidtError::Input {
        name: "source".into(),
        reason: format!("{} pixels for {w}x{h}", rgba.len() / 4),
    })?;
    let batch = make_batch(&[img], size, max_size);
    let out = d.forward(&batch.data, batch.shape, &batch.mask, opts.dec_layers)?;
    let logits = read_async(out.pred_logits).await?;
    let boxes = read_async(out.pred_boxes).await?;
    Ok(d.decode(&logits, &boxes, &[(h, w)], opts).remove(0))
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
