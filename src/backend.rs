//! Backends compiled in (cargo features) and their selection by name at run time.
//!
//! burn 0.21 tensors carry their backend as a type, so a name picks a monomorphized code path
//! through [`with_backend!`](crate::with_backend).

pub use burn::tensor::backend::Backend;

use crate::error::VidtError;

/// CPU reference backend (burn's pure-Rust `flex`).
#[cfg(feature = "flex")]
pub type Cpu = burn::backend::Flex;
/// wgpu: Vulkan / Metal / DX12 natively, WebGPU in the browser.
#[cfg(feature = "wgpu")]
pub type Gpu = burn::backend::Wgpu;
/// CUDA.
#[cfg(feature = "cuda")]
pub type CudaGpu = burn::backend::Cuda;

/// Backends compiled into this build, by name.
pub fn available() -> Vec<&'static str> {
    let mut v = Vec::new();
    if cfg!(feature = "flex") {
        v.push("cpu");
    }
    if cfg!(feature = "wgpu") {
        v.push("wgpu");
    }
    if cfg!(feature = "cuda") {
        v.push("cuda");
    }
    v
}

/// The default device name: a GPU backend when compiled in, else the CPU.
pub fn default_name() -> &'static str {
    if cfg!(feature = "cuda") {
        "cuda"
    } else if cfg!(feature = "wgpu") {
        "wgpu"
    } else {
        "cpu"
    }
}

/// The backend's default device.
pub fn default_device<B: Backend>() -> B::Device {
    Default::default()
}

pub fn unknown(name: &str) -> VidtError {
    VidtError::Unsupported(format!(
        "device `{name}` is not compiled into this build (available: {})",
        available().join(", ")
    ))
}

/// `with_backend!(name, |B, device| body)`: runs `body` with the type `B` bound to the backend
/// called `name` (`cpu`, `wgpu`, `cuda`) and `device` its default device; an unknown or
/// absent backend is an error value converted with `Into`.
#[macro_export]
macro_rules! with_backend {
    ($name:expr, |$b:ident, $dev:ident| $body:expr) => {{
        match $name {
            #[cfg(feature = "flex")]
            "cpu" => {
                type $b = $crate::backend::Cpu;
                let $dev = $crate::backend::default_device::<$b>();
                $body
            }
            #[cfg(feature = "wgpu")]
            "wgpu" => {
                type $b = $crate::backend::Gpu;
                let $dev = $crate::backend::default_device::<$b>();
                $body
            }
            #[cfg(feature = "cuda")]
            "cuda" => {
                type $b = $crate::backend::CudaGpu;
                let $dev = $crate::backend::default_device::<$b>();
                $body
            }
            other => Err($crate::backend::unknown(other).into()),
        }
    }};
}

/// The devices with these ordinals, of the same kind as `like` (CUDA: GPU ordinals). A backend
/// with one device (the CPU) gives that device for every ordinal: replicas then share it.
pub fn devices<B: Backend>(like: &B::Device, ordinals: &[u16]) -> Vec<B::Device> {
    use burn::tensor::backend::Device;
    ordinals
        .iter()
        .map(|&i| {
            let mut id = like.to_id();
            id.index_id = i;
            B::Device::from_id(id)
        })
        .collect()
}
