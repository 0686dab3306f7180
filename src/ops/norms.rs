//! The normalizations and the softmax as backend ops, so a backend can run each as one kernel
//! (on wgpu a LayerNorm written in tensor ops is a mean, a subtraction, a second mean, a
//! division and the affine: five launches even fused). The defaults are the tensor-op
//! compositions (differentiable: training runs them).

use burn::nn::LayerNorm;
use burn::tensor::activation;
use burn::tensor::{Tensor, TensorPrimitive, backend::Backend};

use super::VidtBackend;

/// PyTorch's default LayerNorm / GroupNorm epsilon, which every norm of the model uses.
pub const EPS: f64 = 1e-5;

/// burn's `layer_norm` op (what `burn::nn::LayerNorm::forward` runs) over the last dimension.
pub fn layer_norm_reference<B: Backend>(
    x: Tensor<B, 3>,
    gamma: Tensor<B, 1>,
    beta: Tensor<B, 1>,
    eps: f64,
) -> Tensor<B, 3> {
    Tensor::from_primitive(TensorPrimitive::Float(B::layer_norm(
        x.into_primitive().tensor(),
        gamma.into_primitive().tensor(),
        Some(beta.into_primitive().tensor()),
        eps,
    )))
}

/// Softmax over the last dimension.
pub fn softmax_reference<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    activation::softmax(x, 3)
}

/// GroupNorm on channel-last tokens `(B, N, C)`: statistics per image and group over all N
/// positions and C/G channels (biased variance), then the per-channel affine.
pub fn group_norm_reference<B: Backend>(
    x: Tensor<B, 3>,
    weight: Tensor<B, 1>,
    bias: Tensor<B, 1>,
    groups: usize,
    eps: f64,
) -> Tensor<B, 3> {
    let [b, n, c] = x.dims();
    let g = groups;
    let xg = x
        .reshape([b, n, g, c / g])
        .swap_dims(1, 2)
        .reshape([b, g, n * (c / g)]);
    let (var, mean) = xg.clone().var_mean_bias(2);
    let xn = (xg - mean).div(var.add_scalar(eps).sqrt());
    let xn = xn
        .reshape([b, g, n, c / g])
        .swap_dims(1, 2)
        .reshape([b, n, c]);
    xn * weight.reshape([1, 1, c]) + bias.reshape([1, 1, c])
}

/// `ln` (one of the model's burn LayerNorms, all eps [`EPS`]) through the backend.
pub fn normalize<B: VidtBackend>(ln: &LayerNorm<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
    let beta = ln
        .beta
        .as_ref()
        .expect("the model's LayerNorms have a bias");
    crate::ops::layer_norm_last::<B>(x, ln.gamma.val(), beta.val(), EPS)
}
