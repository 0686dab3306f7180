//! Zero padding that keeps the tensor's dtype: burn 0.21's `Tensor::pad` fills a tensor of the
//! device's default dtype (f32) and writes an f16 input into it, which an f16 model reads back
//! as garbage (NaN from the first Swin stage on: measured).

use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

/// `x` with `padding[d] = (before, after)` zeros around dimension `d`.
pub fn pad_zeros<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    padding: [(usize, usize); D],
) -> Tensor<B, D> {
    let dims = x.dims();
    let mut padded = dims;
    for (p, (before, after)) in padded.iter_mut().zip(padding) {
        *p += before + after;
    }
    let ranges: [std::ops::Range<usize>; D] =
        std::array::from_fn(|d| padding[d].0..padding[d].0 + dims[d]);
    Tensor::zeros(padded, (&x.device(), x.dtype())).slice_assign(ranges, x)
}
