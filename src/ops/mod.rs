//! The two hot ops behind one entry point each. The reference implementations in plain burn
//! tensor ops define the semantics (and are differentiable: the training path); a backend
//! may override them with a kernel (the wgpu WGSL kernels), which must agree with them.

pub mod ms_deform_attn;
pub mod window_attention;

/// Which implementation of the hot ops a model uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OpImpl {
    /// The fastest implementation available for the tensor's device.
    #[default]
    Auto,
    /// Always the tensor-op reference (for comparisons).
    Reference,
}

pub use ms_deform_attn::ms_deform_attn;
pub use window_attention::window_attention;
