//! Swin window attention: `softmax(q·scale @ kᵀ + relative bias [+ shift mask]) @ v` per
//! window, reference in tensor ops.

use burn::tensor::activation::softmax;
use burn::tensor::{Tensor, backend::Backend};

use super::OpImpl;

/// * `q`, `k`, `v`: `(B_, heads, N, hd)` with `B_ = batch * nW` (windows of one image consecutive)
/// * `bias`: `(heads, N, N)` relative position bias
/// * `mask`: `(nW, N, N)` additive shift mask, or `None` for unshifted windows
///
/// Returns `(B_, heads, N, hd)`.
pub fn window_attention<B: Backend>(
    q: Tensor<B, 4>,
    k: Tensor<B, 4>,
    v: Tensor<B, 4>,
    bias: Tensor<B, 3>,
    mask: Option<Tensor<B, 3>>,
    scale: f32,
    imp: OpImpl,
) -> Tensor<B, 4> {
    let _ = imp; // Only the reference exists on this backend.
    reference(q, k, v, bias, mask, scale)
}

pub fn reference<B: Backend>(
    q: Tensor<B, 4>,
    k: Tensor<B, 4>,
    v: Tensor<B, 4>,
    bias: Tensor<B, 3>,
    mask: Option<Tensor<B, 3>>,
    scale: f32,
) -> Tensor<B, 4> {
    let [bw, h, n, _] = q.dims();
    let attn = q.mul_scalar(scale).matmul(k.swap_dims(2, 3)) + bias.unsqueeze_dim::<4>(0);
    let attn = match mask {
        Some(mask) => {
            let nw = mask.dims()[0];
            let attn = attn.reshape([bw / nw, nw, h, n, n])
                + mask.unsqueeze_dim::<4>(1).unsqueeze_dim::<5>(0);
            attn.reshape([bw, h, n, n])
        }
        None => attn,
    };
    softmax(attn, 3).matmul(v)
}
