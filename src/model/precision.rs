//! The float precision a model runs in: f32 (the reference, every parity bound), or f16 where
//! the device computes in it (WebGPU's `shader-f16`, Vulkan's `shaderFloat16`): half the bytes
//! through every kernel. burn's kernels follow their inputs' dtype; ours have f16 variants (f16
//! storage, f32 arithmetic: `with_elem` in `src/kernels/mod.rs`).

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};

use super::Vidt;
use crate::error::{Result, VidtError};
use crate::ops::VidtBackend;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
pub enum Precision {
    #[default]
    F32,
    F16,
}

impl Precision {
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
        }
    }

    pub fn dtype(self) -> DType {
        match self {
            Precision::F32 => DType::F32,
            Precision::F16 => DType::F16,
        }
    }

    /// The precision [`Self::name`] names (`"f32"`, `"f16"`), if any.
    pub fn from_name(s: &str) -> Option<Self> {
        [Precision::F32, Precision::F16]
            .into_iter()
            .find(|p| p.name() == s)
    }

    /// Whether a model may run in this precision on `device` (f16: a GPU's `shader-f16`).
    pub fn supported<B: VidtBackend>(self, device: &B::Device) -> bool {
        match self {
            Precision::F32 => true,
            Precision::F16 => B::runs_f16(device),
        }
    }

    /// The precision a float dtype is, if it is one we run in.
    pub fn of(dtype: DType) -> Option<Self> {
        match dtype {
            DType::F32 => Some(Precision::F32),
            DType::F16 => Some(Precision::F16),
            _ => None,
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `model` with every float parameter in `precision`; an error when `device` cannot compute in
/// it (a model cast anyway would fail in the first kernel, far from the cause).
pub fn cast<B: VidtBackend>(
    model: Vidt<B>,
    precision: Precision,
    device: &B::Device,
) -> Result<Vidt<B>> {
    if !precision.supported::<B>(device) {
        return Err(VidtError::Unsupported(format!(
            "precision {precision}: this device does not compute in {precision} (f16 needs a \
             GPU with WebGPU's `shader-f16` or Vulkan's `shaderFloat16`; the CPU runs f32 only)"
        )));
    }
    if model.dtype() == precision.dtype() {
        return Ok(model);
    }
    Ok(model.map(&mut Cast(precision.dtype())))
}

struct Cast(DType);

impl<B: Backend> ModuleMapper<B> for Cast {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let dtype = self.0;
        param.map(|t| t.cast(dtype))
    }
}
