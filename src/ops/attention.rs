//! Multi-head attention over whole sequences (RAM's [DET x DET] attention, the decoder's
//! self-attention): `softmax(q·scale @ kᵀ) @ v` per head, heads interleaved in the last
//! dimension. q, k and v are read at column offsets of their rows, so RAM's packed qkv
//! projection is passed as is. The reference composes tensor ops (differentiable).

use burn::tensor::activation::softmax;
use burn::tensor::{Tensor, backend::Backend};

/// How q, k and v sit in their tensors.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Heads {
    pub heads: usize,
    /// Channels of q, k and v (heads x head dim).
    pub width: usize,
    /// Column offsets of q, k and v inside their rows.
    pub cols: [usize; 3],
    pub scale: f32,
}

/// * `q`: `(B, Q, *)`; `k`, `v`: `(B, K, *)`, each holding `width` channels at its offset
///
/// Returns `(B, Q, width)`.
pub fn reference<B: Backend>(
    q: Tensor<B, 3>,
    k: Tensor<B, 3>,
    v: Tensor<B, 3>,
    s: Heads,
) -> Tensor<B, 3> {
    let [b, nq, _] = q.dims();
    let nk = k.dims()[1];
    let hd = s.width / s.heads;
    let part = |t: Tensor<B, 3>, off: usize, n: usize| {
        t.slice([0..b, 0..n, off..off + s.width])
            .reshape([b, n, s.heads, hd])
            .swap_dims(1, 2)
    };
    let q = part(q, s.cols[0], nq).mul_scalar(s.scale);
    let k = part(k, s.cols[1], nk);
    let v = part(v, s.cols[2], nk);
    softmax(q.matmul(k.swap_dims(2, 3)), 3)
        .matmul(v)
        .swap_dims(1, 2)
        .reshape([b, nq, s.width])
}
