//! Building blocks shared by the backbone and the neck: burn's own `Linear` and `LayerNorm`
//! (their forward is burn's fused `linear` / `layer_norm` op, which a backend may implement
//! natively), a channel-last GroupNorm and the 3-layer box MLP.
//!
//! Every parameter starts lazily (nothing is allocated until it is read), so a model built with
//! [`crate::model::Vidt::new`] costs nothing before [`crate::official::load`] fills it.

use burn::module::{Initializer, Module, Param};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::activation;

use crate::ops::VidtBackend;

/// `y = x W + b` with `W` `[d_in, d_out]` (burn's row layout; PyTorch's is transposed).
pub fn linear<B: VidtBackend>(
    d_in: usize,
    d_out: usize,
    bias: bool,
    device: &B::Device,
) -> Linear<B> {
    LinearConfig::new(d_in, d_out)
        .with_bias(bias)
        .with_initializer(Initializer::Zeros)
        .init(device)
}

/// `Linear::forward` through [`VidtBackend::linear_last`] (on the CPU one gemm with the bias folded
/// in); every linear layer of the model runs through it.
pub trait Apply<B: VidtBackend> {
    fn apply<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D>;
}

impl<B: VidtBackend> Apply<B> for Linear<B> {
    fn apply<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        crate::ops::linear_last(x, self.weight.val(), self.bias.as_ref().map(|b| b.val()))
    }
}

/// LayerNorm over the last dimension, eps 1e-5 (PyTorch's default).
pub fn layer_norm<B: VidtBackend>(dim: usize, device: &B::Device) -> LayerNorm<B> {
    LayerNormConfig::new(dim).with_epsilon(1e-5).init(device)
}

/// A lazily zero-initialized parameter of `shape`.
pub fn param<B: VidtBackend, const D: usize>(
    shape: [usize; D],
    device: &B::Device,
) -> Param<Tensor<B, D>> {
    Initializer::Zeros.init(shape, device)
}

/// GroupNorm(32) on channel-last tokens `(B, N, C)`: statistics per image and group over all
/// N positions and C/G channels (the padded pixels included, as in the reference). Ours rather
/// than `burn::nn::GroupNorm`, which wants channels first: on our token layout that would cost
/// a transposed copy in and out.
#[derive(Module, Debug)]
pub struct GroupNorm<B: VidtBackend> {
    pub weight: Param<Tensor<B, 1>>,
    pub bias: Param<Tensor<B, 1>>,
    pub groups: usize,
}

impl<B: VidtBackend> GroupNorm<B> {
    pub fn new(dim: usize, groups: usize, device: &B::Device) -> Self {
        Self {
            weight: param([dim], device),
            bias: param([dim], device),
            groups,
        }
    }

    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let (w, b) = (self.weight.val(), self.bias.val());
        crate::ops::group_norm_tokens::<B>(x, w, b, self.groups, crate::ops::norms::EPS)
    }
}

/// The 3-layer MLP of the box heads (and ViDT+'s vector and IoU heads), ReLU between layers.
#[derive(Module, Debug)]
pub struct Mlp3<B: VidtBackend> {
    pub layers: Vec<Linear<B>>,
}

impl<B: VidtBackend> Mlp3<B> {
    pub fn new(d: usize, d_out: usize, device: &B::Device) -> Self {
        Self::with_hidden(d, d, d_out, device)
    }

    /// `d_in -> hidden -> hidden -> d_out`.
    pub fn with_hidden(d_in: usize, hidden: usize, d_out: usize, device: &B::Device) -> Self {
        Self {
            layers: vec![
                linear(d_in, hidden, true, device),
                linear(hidden, hidden, true, device),
                linear(hidden, d_out, true, device),
            ],
        }
    }

    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let x = activation::relu(self.layers[0].apply(x));
        let x = activation::relu(self.layers[1].apply(x));
        self.layers[2].apply(x)
    }
}
