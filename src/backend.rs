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

/// A backend by name: what `--device` takes. Every name parses in every build; one that is
/// not compiled in is an error naming those that are ([`with_backend!`](crate::with_backend)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
pub enum DeviceKind {
    /// burn's flex on the CPU.
    Cpu,
    /// burn's wgpu (Vulkan / Metal / DX12).
    Wgpu,
    /// burn's CUDA.
    Cuda,
}

impl DeviceKind {
    pub const ALL: [DeviceKind; 3] = [DeviceKind::Cpu, DeviceKind::Wgpu, DeviceKind::Cuda];

    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Cpu => "cpu",
            DeviceKind::Wgpu => "wgpu",
            DeviceKind::Cuda => "cuda",
        }
    }

    /// Whether this build has the backend (its cargo feature).
    pub fn compiled(self) -> bool {
        match self {
            DeviceKind::Cpu => cfg!(feature = "flex"),
            DeviceKind::Wgpu => cfg!(feature = "wgpu"),
            DeviceKind::Cuda => cfg!(feature = "cuda"),
        }
    }

    /// The default: a GPU backend when compiled in, else the CPU.
    pub fn default_kind() -> Self {
        if cfg!(feature = "cuda") {
            DeviceKind::Cuda
        } else if cfg!(feature = "wgpu") {
            DeviceKind::Wgpu
        } else {
            DeviceKind::Cpu
        }
    }
}

impl std::fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Backends compiled into this build, by name.
pub fn available() -> Vec<&'static str> {
    DeviceKind::ALL
        .into_iter()
        .filter(|k| k.compiled())
        .map(DeviceKind::name)
        .collect()
}

/// The backend's default device.
pub fn default_device<B: Backend>() -> B::Device {
    Default::default()
}

pub fn unknown(kind: DeviceKind) -> VidtError {
    VidtError::Unsupported(format!(
        "device `{kind}` is not compiled into this build (available: {})",
        available().join(", ")
    ))
}

/// `with_backend!(kind, |B, device| body)`: runs `body` with the type `B` bound to the backend
/// of `kind` (a [`DeviceKind`]) and `device` its default device; a backend this build lacks is
/// an error value converted with `Into`. A macro because the body is generic over `B`, which a
/// closure cannot be; exported for the CLI binary (the `cfg`s are evaluated there, in the same
/// package, so with the same features).
#[macro_export]
macro_rules! with_backend {
    ($kind:expr, |$b:ident, $dev:ident| $body:expr) => {{
        #[allow(unreachable_patterns)]
        match $kind {
            #[cfg(feature = "flex")]
            $crate::backend::DeviceKind::Cpu => {
                type $b = $crate::backend::Cpu;
                let $dev = $crate::backend::default_device::<$b>();
                $body
            }
            #[cfg(feature = "wgpu")]
            $crate::backend::DeviceKind::Wgpu => {
                type $b = $crate::backend::Gpu;
                let $dev = $crate::backend::default_device::<$b>();
                $body
            }
            #[cfg(feature = "cuda")]
            $crate::backend::DeviceKind::Cuda => match $crate::backend::cuda_device_count() {
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
pub fn check_ordinals(kind: DeviceKind, ordinals: &[u16]) -> Result<(), VidtError> {
    #[cfg(feature = "cuda")]
    if kind == DeviceKind::Cuda {
        let n = cuda_device_count()?;
        if let Some(&bad) = ordinals.iter().find(|&&i| i as usize >= n) {
            return Err(VidtError::Unsupported(format!(
                "device `cuda` {bad}: this machine has {n} CUDA device(s) (ordinals 0..{n})"
            )));
        }
    }
    let _ = (kind, ordinals);
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
