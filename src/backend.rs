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
            "cuda" => match $crate::backend::cuda_device_count() {
                Err(e) => Err(e.into()),
                Ok(_) => {
                    type $b = $crate::backend::CudaGpu;
                    let $dev = $crate::backend::default_device::<$b>();
                    $body
                }
            },
            other => Err($crate::backend::unknown(other).into()),
        }
    }};
}

/// How many CUDA devices the driver reports, or why CUDA cannot run here. Asked of the driver
/// directly: burn's CUDA client loads it on a worker thread, and a missing driver or GPU there
/// is a panic ("RecvError") instead of an error naming the cause.
#[cfg(feature = "cuda")]
pub fn cuda_device_count() -> Result<usize, VidtError> {
    static COUNT: std::sync::OnceLock<Result<usize, String>> = std::sync::OnceLock::new();
    let probe = || -> Result<usize, String> {
        let names = ["libcuda.so.1", "libcuda.so", "nvcuda.dll"];
        // SAFETY: the driver library's initializers have no preconditions; the two entry points
        // are called with their documented C signatures.
        unsafe {
            let lib = names
                .iter()
                .find_map(|n| libloading::Library::new(*n).ok())
                .ok_or("the NVIDIA driver library (libcuda.so.1) cannot be loaded")?;
            let init: libloading::Symbol<unsafe extern "C" fn(u32) -> i32> =
                lib.get(b"cuInit\0")
                    .map_err(|e| format!("libcuda has no cuInit: {e}"))?;
            let rc = init(0);
            if rc != 0 {
                // 100: CUDA_ERROR_NO_DEVICE; 35: driver older than the runtime.
                return Err(format!(
                    "cuInit failed with CUDA error {rc} (100: no CUDA-capable device)"
                ));
            }
            let count: libloading::Symbol<unsafe extern "C" fn(*mut i32) -> i32> = lib
                .get(b"cuDeviceGetCount\0")
                .map_err(|e| format!("libcuda has no cuDeviceGetCount: {e}"))?;
            let mut n = 0i32;
            let rc = count(&mut n);
            if rc != 0 {
                return Err(format!("cuDeviceGetCount failed with CUDA error {rc}"));
            }
            // Kept loaded: cudarc opens the same library next.
            std::mem::forget(lib);
            if n < 1 {
                return Err("the NVIDIA driver reports no CUDA device".into());
            }
            Ok(n as usize)
        }
    };
    COUNT
        .get_or_init(probe)
        .clone()
        .map_err(|why| VidtError::Unsupported(format!("device `cuda`: {why}")))
}

/// Checks `--devices` ordinals against the devices of backend `name` (CUDA: the driver's
/// count; the other backends share one device between replicas).
pub fn check_ordinals(name: &str, ordinals: &[u16]) -> Result<(), VidtError> {
    #[cfg(feature = "cuda")]
    if name == "cuda" {
        let n = cuda_device_count()?;
        if let Some(&bad) = ordinals.iter().find(|&&i| i as usize >= n) {
            return Err(VidtError::Unsupported(format!(
                "device `cuda` {bad}: this machine has {n} CUDA device(s) (ordinals 0..{n})"
            )));
        }
    }
    let _ = (name, ordinals);
    Ok(())
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
