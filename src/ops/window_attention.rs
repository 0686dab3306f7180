//! Swin window attention: `softmax(q·scale @ kᵀ + relative bias [+ shift mask]) @ v` per
//! window, reference in tensor ops.

use burn::tensor::activation::softmax;
use burn::tensor::{Tensor, backend::Backend};

/// * `qkv`: `(B_, N, 3C)` the qkv projection of the windows (`B_ = batch * nW`, the windows of
///   one image consecutive), laid out `[q | k | v]`, each `heads` x `hd`
/// * `bias`: `(heads, N, N)` relative position bias
/// * `mask`: `(nW, N, N)` additive shift mask, or `None` for unshifted windows
///
/// Returns `(B_, N, C)`, heads interleaved as `[head0 | head1 | ...]`.
pub fn reference<B: Backend>(
    qkv: Tensor<B, 3>,
    heads: usize,
    bias: Tensor<B, 3>,
    mask: Option<Tensor<B, 3>>,
    scale: f32,
) -> Tensor<B, 3> {
    let [bw, n, c3] = qkv.dims();
    let c = c3 / 3;
    let h = heads;
    let hd = c / h;
    let qkv = qkv.reshape([bw, n, 3, h, hd]).permute([2, 0, 3, 1, 4]); // (3, B_, h, N, hd)
    let part = |i: usize| qkv.clone().slice([i..i + 1]).reshape([bw, h, n, hd]);
    let (q, k, v) = (part(0), part(1), part(2));
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
    softmax(attn, 3)
        .matmul(v)
        .swap_dims(1, 2)
        .reshape([bw, n, c])
}
