//! Device selection at run time: the backends compiled in are chosen by cargo features.

use burn::tensor::Device;

use crate::error::{Result, VidtError};

/// Backends compiled into this build.
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

/// `cpu` (burn's flex backend), `wgpu` or `cuda`.
pub fn device(name: &str) -> Result<Device> {
    match name {
        #[cfg(feature = "flex")]
        "cpu" => Ok(Device::flex()),
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0usize)),
        other => Err(VidtError::Unsupported(format!(
            "device `{other}` is not compiled into this build (available: {})",
            available().join(", ")
        ))),
    }
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
