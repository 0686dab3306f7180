//! ViDT's hot ops behind one backend trait ([`VidtBackend`], one method each). The reference
//! implementations in plain burn tensor ops define the semantics (and are differentiable: the
//! training path); a backend may override them with kernels (wgpu: the WGSL kernels in
//! `wgsl/`; the CPU: the loops in `src/cpu`), which must agree with them.

pub mod attention;
pub mod ms_deform_attn;
pub mod norms;
pub mod pad;
pub mod swin_attention;
pub mod upload;
pub mod window;
pub mod window_attention;

use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

pub use swin_attention::SwinWindows;

/// Which implementation of the hot ops a model uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OpImpl {
    /// The backend's own implementation (kernels where it has them).
    #[default]
    Auto,
    /// Always the tensor-op reference (for comparisons).
    Reference,
}

/// A burn backend with ViDT's hot ops. Every method defaults to the tensor-op reference.
pub trait VidtBackend: Backend {
    /// Whether a model may run in f16 on `device` ([`crate::model::precision`]): the device
    /// computes in it (a GPU's `shader-f16`).
    fn runs_f16(device: &Self::Device) -> bool {
        Self::supports_dtype(device, burn::tensor::DType::F16)
    }

    /// See [`ms_deform_attn::reference`] for shapes and semantics.
    fn ms_deform_attn(
        value: Tensor<Self, 4>,
        shapes: &[(usize, usize)],
        locations: Tensor<Self, 6>,
        weights: Tensor<Self, 5>,
    ) -> Tensor<Self, 3> {
        ms_deform_attn::reference(value, shapes, locations, weights)
    }

    /// Deformable attention of a projected memory: [`Self::ms_deform_attn`] of
    /// `((memory @ weight + bias) * keep)` split into `heads`, as [`ms_deform_attn::project`]
    /// composes it. The attention is linear in the value, so a backend may gather the memory
    /// first and project only the samples (the CPU does: a decoder layer then projects 100
    /// queries' samples instead of every memory token).
    #[allow(clippy::too_many_arguments)]
    fn ms_deform_attn_projected(
        memory: Tensor<Self, 3>,
        keep: Tensor<Self, 3>,
        weight: Tensor<Self, 2>,
        bias: Option<Tensor<Self, 1>>,
        heads: usize,
        shapes: &[(usize, usize)],
        locations: Tensor<Self, 6>,
        weights: Tensor<Self, 5>,
    ) -> Tensor<Self, 3> {
        let value = ms_deform_attn::project::<Self>(memory, keep, weight, bias, heads);
        Self::ms_deform_attn(value, shapes, locations, weights)
    }

    /// Whether [`Self::ms_deform_attn_backward`] is a kernel (autodiff then uses it instead of
    /// differentiating the reference).
    fn has_ms_deform_attn_backward() -> bool {
        false
    }

    /// Gradients `(value, locations, weights)` of [`Self::ms_deform_attn`] for `grad_output`.
    fn ms_deform_attn_backward(
        _value: Tensor<Self, 4>,
        _shapes: &[(usize, usize)],
        _locations: Tensor<Self, 6>,
        _weights: Tensor<Self, 5>,
        _grad_output: Tensor<Self, 3>,
    ) -> (Tensor<Self, 4>, Tensor<Self, 6>, Tensor<Self, 5>) {
        unimplemented!("only called when has_ms_deform_attn_backward() is true")
    }

    /// `x @ weight + bias` over the last dimension, as burn's `Linear::forward` (weight
    /// `(d_in, d_out)`). The CPU runs it as one gemm with the bias folded in.
    fn linear_last<const D: usize>(
        x: Tensor<Self, D>,
        weight: Tensor<Self, 2>,
        bias: Option<Tensor<Self, 1>>,
    ) -> Tensor<Self, D> {
        burn::tensor::module::linear(x, weight, bias)
    }

    /// LayerNorm of `(B, N, C)` over C. See [`norms::layer_norm_reference`].
    fn layer_norm_last(
        x: Tensor<Self, 3>,
        gamma: Tensor<Self, 1>,
        beta: Tensor<Self, 1>,
        eps: f64,
    ) -> Tensor<Self, 3> {
        norms::layer_norm_reference(x, gamma, beta, eps)
    }

    /// Multi-head attention over whole sequences. See [`attention::reference`].
    fn attention_heads(
        q: Tensor<Self, 3>,
        k: Tensor<Self, 3>,
        v: Tensor<Self, 3>,
        heads: attention::Heads,
    ) -> Tensor<Self, 3> {
        attention::reference(q, k, v, heads)
    }

    /// [`Self::attention_heads`] with q, k and v all read from one packed tensor (RAM's qkv
    /// projection): kernels bind it once.
    fn attention_heads_packed(qkv: Tensor<Self, 3>, heads: attention::Heads) -> Tensor<Self, 3> {
        Self::attention_heads(qkv.clone(), qkv.clone(), qkv, heads)
    }

    /// The exact (erf) GELU of the Swin MLP's hidden tokens.
    fn gelu_tokens(x: Tensor<Self, 3>) -> Tensor<Self, 3> {
        burn::tensor::activation::gelu(x)
    }

    /// Softmax over the last dimension.
    fn softmax_last(x: Tensor<Self, 4>) -> Tensor<Self, 4> {
        norms::softmax_reference(x)
    }

    /// GroupNorm of channel-last tokens. See [`norms::group_norm_reference`].
    fn group_norm_tokens(
        x: Tensor<Self, 3>,
        weight: Tensor<Self, 1>,
        bias: Tensor<Self, 1>,
        groups: usize,
        eps: f64,
    ) -> Tensor<Self, 3> {
        norms::group_norm_reference(x, weight, bias, groups, eps)
    }

    /// See [`swin_attention::reference`] for shapes and semantics.
    fn swin_window_attention(
        qkv: Tensor<Self, 4>,
        qkv_bias: Tensor<Self, 1>,
        table: Tensor<Self, 2>,
        windows: SwinWindows,
    ) -> Tensor<Self, 4> {
        swin_attention::reference(qkv, qkv_bias, table, windows)
    }

    /// RAM's two attentions of stages 1-3 as one `[PATCH ; DET]` sequence `(B, H*W + Q, C)`:
    /// [`Self::swin_window_attention`] of the `(H, W)` map whose qkv projection (without its
    /// bias) is the first `H*W` rows of `qkv` `(B, H*W + Q, 3C)`, then
    /// [`Self::attention_heads_packed`] of `det_qkv` `(B, Q, 3C)`. A backend may read the map
    /// in place and write both into one buffer (wgpu does: no slice copy, no `cat`).
    #[allow(clippy::too_many_arguments)]
    fn ram_attention(
        qkv: Tensor<Self, 3>,
        map: (usize, usize),
        qkv_bias: Tensor<Self, 1>,
        table: Tensor<Self, 2>,
        windows: SwinWindows,
        det_qkv: Tensor<Self, 3>,
        heads: attention::Heads,
    ) -> Tensor<Self, 3> {
        ram_attention_joined(
            qkv,
            map,
            det_qkv,
            |qkv| Self::swin_window_attention(qkv, qkv_bias, table, windows),
            |qkv| Self::attention_heads_packed(qkv, heads),
        )
    }
}

/// [`VidtBackend::ram_attention`] as a slice, the two attentions (`patch`, `det`) and a `cat`.
pub(crate) fn ram_attention_joined<B: Backend>(
    qkv: Tensor<B, 3>,
    (h, w): (usize, usize),
    det_qkv: Tensor<B, 3>,
    patch: impl FnOnce(Tensor<B, 4>) -> Tensor<B, 4>,
    det: impl FnOnce(Tensor<B, 3>) -> Tensor<B, 3>,
) -> Tensor<B, 3> {
    let [b, _, c3] = qkv.dims();
    let map = qkv.slice([0..b, 0..h * w]).reshape([b, h, w, c3]);
    let patch = patch(map).reshape([b, h * w, c3 / 3]);
    Tensor::cat(vec![patch, det(det_qkv)], 1)
}

/// CUDA: the references (fused by burn when the wgpu feature turns fusion on for both).
#[cfg(all(feature = "cuda", not(feature = "wgpu")))]
impl VidtBackend for burn::backend::Cuda {}

mod autodiff;

// The one switch between the backend's hot ops and the references. Set for the span of a
// forward (`Vidt::forward`: `ForwardOptions::ops`, the CLI's `--reference-ops`,
// `Detector::with_ops`) and read by every dispatcher below, which the model calls for each hot
// op (never `B::op` directly: `tests/it/layout.rs` checks it), so no call site can forget it.
thread_local! {
    static REFERENCE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with every hot op as `imp` says, restoring the previous choice afterwards (also
/// when `f` panics).
pub fn with_ops<T>(imp: OpImpl, f: impl FnOnce() -> T) -> T {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            REFERENCE.with(|r| r.set(self.0));
        }
    }
    let _restore = Restore(REFERENCE.with(|r| r.replace(imp == OpImpl::Reference)));
    f()
}

/// Whether the hot ops run as their references now.
fn reference() -> bool {
    REFERENCE.with(|r| r.get())
}

/// Multi-scale deformable attention: the backend's, or [`ms_deform_attn::reference`].
pub fn ms_deform_attn<B: VidtBackend>(
    value: Tensor<B, 4>,
    shapes: &[(usize, usize)],
    locations: Tensor<B, 6>,
    weights: Tensor<B, 5>,
) -> Tensor<B, 3> {
    if reference() {
        ms_deform_attn::reference(value, shapes, locations, weights)
    } else {
        B::ms_deform_attn(value, shapes, locations, weights)
    }
}

/// [`VidtBackend::ms_deform_attn_projected`], or the projection then
/// [`ms_deform_attn::reference`].
#[allow(clippy::too_many_arguments)]
pub fn ms_deform_attn_projected<B: VidtBackend>(
    memory: Tensor<B, 3>,
    keep: Tensor<B, 3>,
    weight: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
    heads: usize,
    shapes: &[(usize, usize)],
    locations: Tensor<B, 6>,
    weights: Tensor<B, 5>,
) -> Tensor<B, 3> {
    if reference() {
        let value = ms_deform_attn::project::<B>(memory, keep, weight, bias, heads);
        ms_deform_attn::reference(value, shapes, locations, weights)
    } else {
        B::ms_deform_attn_projected(
            memory, keep, weight, bias, heads, shapes, locations, weights,
        )
    }
}

/// Multi-head attention over whole sequences: the backend's, or [`attention::reference`].
pub fn attention_heads<B: VidtBackend>(
    q: Tensor<B, 3>,
    k: Tensor<B, 3>,
    v: Tensor<B, 3>,
    heads: attention::Heads,
) -> Tensor<B, 3> {
    if reference() {
        attention::reference(q, k, v, heads)
    } else {
        B::attention_heads(q, k, v, heads)
    }
}

/// Swin (shifted) window attention over a whole map: the backend's, or
/// [`swin_attention::reference`].
pub fn swin_window_attention<B: VidtBackend>(
    qkv: Tensor<B, 4>,
    qkv_bias: Tensor<B, 1>,
    table: Tensor<B, 2>,
    windows: SwinWindows,
) -> Tensor<B, 4> {
    if reference() {
        swin_attention::reference(qkv, qkv_bias, table, windows)
    } else {
        B::swin_window_attention(qkv, qkv_bias, table, windows)
    }
}

/// `x @ weight + bias` over the last dimension: the backend's, or burn's `linear`.
pub fn linear_last<B: VidtBackend, const D: usize>(
    x: Tensor<B, D>,
    weight: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
) -> Tensor<B, D> {
    if reference() {
        burn::tensor::module::linear(x, weight, bias)
    } else {
        B::linear_last(x, weight, bias)
    }
}

/// LayerNorm over the last dimension: the backend's, or [`norms::layer_norm_reference`].
pub fn layer_norm_last<B: VidtBackend>(
    x: Tensor<B, 3>,
    gamma: Tensor<B, 1>,
    beta: Tensor<B, 1>,
    eps: f64,
) -> Tensor<B, 3> {
    if reference() {
        norms::layer_norm_reference(x, gamma, beta, eps)
    } else {
        B::layer_norm_last(x, gamma, beta, eps)
    }
}

/// The exact (erf) GELU: the backend's, or burn's `gelu`.
pub fn gelu_tokens<B: VidtBackend>(x: Tensor<B, 3>) -> Tensor<B, 3> {
    if reference() {
        burn::tensor::activation::gelu(x)
    } else {
        B::gelu_tokens(x)
    }
}

/// Softmax over the last dimension: the backend's, or [`norms::softmax_reference`].
pub fn softmax_last<B: VidtBackend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    if reference() {
        norms::softmax_reference(x)
    } else {
        B::softmax_last(x)
    }
}

/// GroupNorm of channel-last tokens: the backend's, or [`norms::group_norm_reference`].
pub fn group_norm_tokens<B: VidtBackend>(
    x: Tensor<B, 3>,
    weight: Tensor<B, 1>,
    bias: Tensor<B, 1>,
    groups: usize,
    eps: f64,
) -> Tensor<B, 3> {
    if reference() {
        norms::group_norm_reference(x, weight, bias, groups, eps)
    } else {
        B::group_norm_tokens(x, weight, bias, groups, eps)
    }
}

/// RAM's windowed [PATCH x PATCH] and [DET x DET] attentions joined (stages 1-3): the
/// backend's [`VidtBackend::ram_attention`], or the two references and a `cat`.
#[allow(clippy::too_many_arguments)]
pub fn ram_attention<B: VidtBackend>(
    qkv: Tensor<B, 3>,
    map: (usize, usize),
    qkv_bias: Tensor<B, 1>,
    table: Tensor<B, 2>,
    windows: SwinWindows,
    det_qkv: Tensor<B, 3>,
    heads: attention::Heads,
) -> Tensor<B, 3> {
    if reference() {
        ram_attention_joined(
            qkv,
            map,
            det_qkv,
            |qkv| swin_attention::reference(qkv, qkv_bias, table, windows),
            |qkv| attention::reference(qkv.clone(), qkv.clone(), qkv, heads),
        )
    } else {
        B::ram_attention(qkv, map, qkv_bias, table, windows, det_qkv, heads)
    }
}
