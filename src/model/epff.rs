//! EPFF, ViDT+'s efficient pyramid feature fusion (the official `FPNFusionModule`, after DPT's
//! fusion blocks): in place of vanilla ViDT's per-level input projections, each [PATCH] level is
//! reduced (1x1 convolution + GroupNorm), then fused top-down: the coarser result is upsampled
//! (bilinear, corners aligned), smoothed (1x1) and added to the level refined by a residual
//! unit, and a second residual unit follows. The decoder takes the results coarsest first.
//!
//! Features stay channel-last tokens `(B, H*W, C)` as elsewhere in the neck; only the 3x3
//! convolution sees `(B, C, H, W)`. The upsampling is two matmuls with interpolation matrices
//! (rows, then columns) on the tokens: autodiff differentiates it on every backend (burn 0.21's
//! cubecl backends have no backward for `interpolate`'s bilinear mode), and no permute is needed.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Tensor, TensorData};

use super::layers::{Apply, GroupNorm, linear};
use crate::config::VidtConfig;
use crate::ops::VidtBackend;
use crate::ops::upload::upload;

/// Bottleneck width of the residual units (DPT's).
const UNIT_WIDTH: usize = 64;

/// One level of channel-last tokens with its `(H, W)`.
pub type Level<B> = (Tensor<B, 3>, usize, usize);

fn to_map<B: VidtBackend>(x: Tensor<B, 3>, h: usize, w: usize) -> Tensor<B, 4> {
    let [b, _, c] = x.dims();
    x.reshape([b, h, w, c]).permute([0, 3, 1, 2])
}

fn to_tokens<B: VidtBackend>(x: Tensor<B, 4>) -> Tensor<B, 3> {
    let [b, c, h, w] = x.dims();
    x.permute([0, 2, 3, 1]).reshape([b, h * w, c])
}

/// The `(out, in)` matrix of 1-D linear interpolation with corners aligned, weights computed in
/// float32 as PyTorch's `upsample_bilinear2d(align_corners=True)` computes them on the CPU.
fn interpolation_matrix(out: usize, input: usize) -> Vec<f32> {
    let scale = match out > 1 {
        true => (input as f32 - 1.0) / (out as f32 - 1.0),
        false => 0.0,
    };
    let mut m = vec![0.0f32; out * input];
    for i in 0..out {
        let src = scale * i as f32;
        let i0 = (src as usize).min(input - 1);
        let i1 = (i0 + 1).min(input - 1);
        let frac = src - i0 as f32;
        m[i * input + i0] += 1.0 - frac;
        m[i * input + i1] += frac;
    }
    m
}

/// Tokens of a `(h, w)` map, bilinearly upsampled (corners aligned) to `(out_h, out_w)`:
/// `F.interpolate(mode="bilinear", align_corners=True)` as `Ry . X . Rw^T`.
pub fn upsample_aligned<B: VidtBackend>(
    x: Tensor<B, 3>,
    (h, w): (usize, usize),
    (out_h, out_w): (usize, usize),
) -> Tensor<B, 3> {
    let [b, _, c] = x.dims();
    let (device, dtype) = (x.device(), x.dtype());
    let matrix = |out: usize, input: usize, batch: usize| {
        upload::<B, 3>(
            TensorData::new(interpolation_matrix(out, input), [1, out, input]),
            (&device, dtype),
        )
        .expand([batch, out, input])
    };
    let rows = matrix(out_h, h, b).matmul(x.reshape([b, h, w * c]));
    let cols = matrix(out_w, w, b * out_h).matmul(rows.reshape([b * out_h, w, c]));
    cols.reshape([b, out_h * out_w, c])
}

/// DPT's `ResidualConvUnit` without batch norm: `x + conv3(relu(conv2(relu(conv1(relu(x))))))`,
/// 1x1 `d -> 64`, 3x3 `64 -> 64` (padding 1), 1x1 `64 -> d`.
#[derive(Module, Debug)]
pub struct ResidualConvUnit<B: VidtBackend> {
    pub conv1: Linear<B>,
    pub conv2: Conv2d<B>,
    pub conv3: Linear<B>,
}

impl<B: VidtBackend> ResidualConvUnit<B> {
    pub fn new(d: usize, device: &B::Device) -> Self {
        Self {
            conv1: linear(d, UNIT_WIDTH, true, device),
            conv2: Conv2dConfig::new([UNIT_WIDTH, UNIT_WIDTH], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device),
            conv3: linear(UNIT_WIDTH, d, true, device),
        }
    }

    pub fn forward(&self, x: Tensor<B, 3>, h: usize, w: usize) -> Tensor<B, 3> {
        let y = self.conv1.apply(relu(x.clone()));
        let y = to_tokens(self.conv2.forward(to_map(relu(y), h, w)));
        x + self.conv3.apply(relu(y))
    }
}

/// A fusion step (`FeatureFusionBlock`) below the coarsest level.
#[derive(Module, Debug)]
pub struct FusionBlock<B: VidtBackend> {
    pub smoothing: Linear<B>,
    pub unit1: ResidualConvUnit<B>,
    pub unit2: ResidualConvUnit<B>,
}

impl<B: VidtBackend> FusionBlock<B> {
    /// `coarser` (already at this level's size) fused with this level's `x`.
    pub fn forward(
        &self,
        coarser: Tensor<B, 3>,
        x: Tensor<B, 3>,
        h: usize,
        w: usize,
    ) -> Tensor<B, 3> {
        let fused = self.smoothing.apply(coarser) + self.unit1.forward(x, h, w);
        self.unit2.forward(fused, h, w)
    }
}

#[derive(Module, Debug)]
pub struct Epff<B: VidtBackend> {
    /// Per level, finest first: the 1x1 reduction (`layer_{i}_rn`) and its GroupNorm(32)
    /// (`p_norm_{i}`).
    pub layer_rn: Vec<Linear<B>>,
    pub p_norm: Vec<GroupNorm<B>>,
    /// The fusion steps of levels `0..n-1` (`refinenet_{i}`).
    pub refinenet: Vec<FusionBlock<B>>,
    /// The coarsest level's step: only its second residual unit runs (the official block's
    /// smoothing and first unit are registered but unused there).
    pub coarsest: ResidualConvUnit<B>,
}

impl<B: VidtBackend> Epff<B> {
    pub fn new(c: &VidtConfig, device: &B::Device) -> Self {
        let d = c.d_model;
        let channels = c.level_channels();
        let n = channels.len();
        Self {
            layer_rn: channels
                .iter()
                .map(|&ch| linear(ch, d, true, device))
                .collect(),
            p_norm: (0..n).map(|_| GroupNorm::new(d, 32, device)).collect(),
            refinenet: (0..n - 1)
                .map(|_| FusionBlock {
                    smoothing: linear(d, d, true, device),
                    unit1: ResidualConvUnit::new(d, device),
                    unit2: ResidualConvUnit::new(d, device),
                })
                .collect(),
            coarsest: ResidualConvUnit::new(d, device),
        }
    }

    /// The backbone's levels (finest first) to the fused levels, coarsest first.
    pub fn forward(&self, levels: Vec<Level<B>>) -> Vec<Level<B>> {
        let reduced: Vec<Level<B>> = levels
            .into_iter()
            .enumerate()
            .map(|(i, (x, h, w))| (self.p_norm[i].forward(self.layer_rn[i].apply(x)), h, w))
            .collect();
        let mut out: Vec<Level<B>> = Vec::with_capacity(reduced.len());
        for (i, (x, h, w)) in reduced.into_iter().enumerate().rev() {
            let path = match out.last() {
                None => self.coarsest.forward(x, h, w),
                Some((coarser, ch, cw)) => {
                    let up = upsample_aligned(coarser.clone(), (*ch, *cw), (h, w));
                    self.refinenet[i].forward(up, x, h, w)
                }
            };
            out.push((path, h, w));
        }
        out
    }
}
