//! Swin Transformer backbone with RAM (ViDT): patch embedding, Swin blocks over
//! [PATCH ; DET] sequences, patch merging of both token kinds, and the four neck levels.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{LayerNorm, Linear};
use burn::tensor::{Tensor, TensorData};

use super::layers::{Apply, layer_norm, linear, param};
use super::mask::PixelMask;
use super::position::masked_sine_encoding;
use super::ram::{CrossInputs, ReconfiguredAttention};
use crate::config::VidtConfig;
use crate::ops::VidtBackend;
use crate::ops::norms::normalize;
use crate::ops::pad::pad_zeros;
use crate::ops::upload::upload;

/// The Swin MLP: Linear(C -> 4C), GELU, Linear(4C -> C).
#[derive(Module, Debug)]
pub struct Mlp<B: VidtBackend> {
    pub fc1: Linear<B>,
    pub fc2: Linear<B>,
}

impl<B: VidtBackend> Mlp<B> {
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        self.fc2
            .apply(crate::ops::gelu_tokens::<B>(self.fc1.apply(x)))
    }
}

#[derive(Module, Debug)]
pub struct SwinBlock<B: VidtBackend> {
    pub norm1: LayerNorm<B>,
    pub attn: ReconfiguredAttention<B>,
    pub norm2: LayerNorm<B>,
    pub mlp: Mlp<B>,
    /// Projects the 256-wide [DET] pos embedding to this block's width.
    pub det_pos_linear: Linear<B>,
    pub shift: usize,
    /// Stochastic depth rate of this block (training only: active under autodiff).
    pub drop_path: f64,
}

impl<B: VidtBackend> SwinBlock<B> {
    /// A block of width `dim`; odd blocks of a stage (`shift` > 0) use shifted windows.
    pub fn new(
        dim: usize,
        heads: usize,
        window: usize,
        shift: usize,
        (pos_dim, drop_path): (usize, f64),
        device: &B::Device,
    ) -> Self {
        Self {
            norm1: layer_norm(dim, device),
            attn: ReconfiguredAttention::new(dim, heads, window, device),
            norm2: layer_norm(dim, device),
            mlp: Mlp {
                fc1: linear(dim, 4 * dim, true, device),
                fc2: linear(4 * dim, dim, true, device),
            },
            det_pos_linear: linear(pos_dim, dim, true, device),
            shift,
            drop_path,
        }
    }

    /// `seq`: `(B, H*W + Q, C)` -> same shape.
    pub fn forward(
        &self,
        seq: Tensor<B, 3>,
        (h, w): (usize, usize),
        det_pos: Tensor<B, 3>,
        cross: Option<&CrossInputs<B>>,
    ) -> Tensor<B, 3> {
        let normed = normalize(&self.norm1, seq.clone());
        let det_pos = self.det_pos_linear.apply(det_pos);
        // Padding to window multiples (unmasked, as the reference) and the shift are the op's.
        let attn = self
            .attn
            .forward(normed, (h, w), det_pos, self.shift, cross);
        let x = seq + drop_path(attn, self.drop_path);
        let y = self.mlp.forward(normalize(&self.norm2, x.clone()));
        x + drop_path(y, self.drop_path)
    }
}

/// Stochastic depth: zeroes a sample's residual branch with probability `p` (rescaling the
/// rest), under autodiff only; the identity at inference.
fn drop_path<B: VidtBackend>(x: Tensor<B, 3>, p: f64) -> Tensor<B, 3> {
    if p == 0.0 || !B::ad_enabled(&x.device()) {
        return x;
    }
    let b = x.dims()[0];
    let keep = Tensor::<B, 3>::random(
        [b, 1, 1],
        burn::tensor::Distribution::Bernoulli(1.0 - p),
        &x.device(),
    );
    x * keep.div_scalar(1.0 - p)
}

/// Patch merging of [PATCH] tokens (2x2 gather) and [DET] tokens (tiled 4x along channels),
/// through one LayerNorm(4C) + Linear(4C -> out).
#[derive(Module, Debug)]
pub struct PatchMerging<B: VidtBackend> {
    pub norm: LayerNorm<B>,
    pub reduction: Linear<B>,
}

impl<B: VidtBackend> PatchMerging<B> {
    pub fn new(dim: usize, out: usize, device: &B::Device) -> Self {
        Self {
            norm: layer_norm(4 * dim, device),
            reduction: linear(4 * dim, out, false, device),
        }
    }

    /// `(B, H*W + Q, C)` -> `(B, ceil(H/2)*ceil(W/2) + Q, out)`.
    pub fn forward(&self, seq: Tensor<B, 3>, h: usize, w: usize) -> Tensor<B, 3> {
        let [b, len, c] = seq.dims();
        let hw = h * w;
        let mut x = seq.clone().slice([0..b, 0..hw]).reshape([b, h, w, c]);
        let det = seq.slice([0..b, hw..len]);
        if h % 2 == 1 || w % 2 == 1 {
            x = pad_zeros(x, [(0, 0), (0, h % 2), (0, w % 2), (0, 0)]);
        }
        let (h2, w2) = (h.div_ceil(2), w.div_ceil(2));
        // The reference's cat of x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2]
        // along channels, as one permute: channel block k = 2 * dx + dy.
        let x = x
            .reshape([b, h2, 2, w2, 2, c])
            .permute([0, 1, 3, 4, 2, 5])
            .reshape([b, h2 * w2, 4 * c]);
        let det = det.repeat_dim(2, 4);
        self.reduction
            .apply(normalize(&self.norm, Tensor::cat(vec![x, det], 1)))
    }
}

#[derive(Module, Debug)]
pub struct SwinStage<B: VidtBackend> {
    pub blocks: Vec<SwinBlock<B>>,
    pub downsample: PatchMerging<B>,
    pub dim: usize,
    /// Whether this stage's [DET] tokens attend to the [PATCH] tokens (stage 4).
    pub cross: bool,
}

/// Intermediates kept for parity checks (`backbone_stage{i}_*` in the fixtures).
#[derive(Clone, Debug)]
pub struct StageTrace<B: VidtBackend> {
    pub out: Tensor<B, 3>,
    pub down: Tensor<B, 3>,
    /// `[H, W, H_down, W_down]`
    pub hw: [usize; 4],
}

/// What the backbone hands to the neck.
#[derive(Clone, Debug)]
pub struct BackboneOutput<B: VidtBackend> {
    /// Four [PATCH] levels, channel-last tokens `(B, H*W, C)` with their `(H, W)`.
    pub features: Vec<(Tensor<B, 3>, usize, usize)>,
    /// Stage-4 [DET] tokens before the final merge, `(B, Q, C4)`.
    pub det_tgt: Tensor<B, 3>,
    /// The learnable [DET] pos embedding `(1, Q, 256)`.
    pub det_pos: Tensor<B, 3>,
    /// Patch embedding `(B, C, Wh, Ww)`, when intermediates are kept.
    pub patch_embed: Option<Tensor<B, 4>>,
    pub stages: Vec<StageTrace<B>>,
}

/// The 4x4 / stride-4 patch embedding: a convolution, then LayerNorm over channels.
#[derive(Module, Debug)]
pub struct PatchEmbed<B: VidtBackend> {
    pub proj: Conv2d<B>,
    pub norm: LayerNorm<B>,
}

#[derive(Module, Debug)]
pub struct SwinBackbone<B: VidtBackend> {
    pub patch_embed: PatchEmbed<B>,
    pub det_token: Param<Tensor<B, 3>>,
    pub det_pos_embed: Param<Tensor<B, 3>>,
    /// The four stages (`layers` as the official code names them).
    pub layers: Vec<SwinStage<B>>,
    pub window: usize,
}

impl<B: VidtBackend> SwinBackbone<B> {
    /// The backbone of `cfg`, parameters not yet loaded ([`crate::official::load`] fills them).
    pub fn new(cfg: &VidtConfig, device: &B::Device) -> Self {
        let s = &cfg.swin;
        let e = s.embed_dim;
        let n = s.num_stages();
        // Stochastic depth grows linearly over all blocks, from 0 to the preset's rate.
        let total: usize = s.depths.iter().sum();
        let dpr = |i: usize| {
            if total > 1 {
                s.drop_path_rate * i as f64 / (total - 1) as f64
            } else {
                0.0
            }
        };
        let layers = (0..n)
            .map(|st| {
                let dim = s.stage_dim(st);
                let first = s.depths[..st].iter().sum::<usize>();
                let blocks = (0..s.depths[st])
                    .map(|i| {
                        let shift = if i % 2 == 0 { 0 } else { s.window_size / 2 };
                        let extra = (cfg.d_model, dpr(first + i));
                        SwinBlock::new(dim, s.num_heads[st], s.window_size, shift, extra, device)
                    })
                    .collect();
                let out = if st + 1 < n { 2 * dim } else { cfg.d_model };
                SwinStage {
                    blocks,
                    downsample: PatchMerging::new(dim, out, device),
                    dim,
                    cross: st == n - 1,
                }
            })
            .collect();
        Self {
            patch_embed: PatchEmbed {
                proj: Conv2dConfig::new([3, e], [4, 4])
                    .with_stride([4, 4])
                    .init(device),
                norm: layer_norm(e, device),
            },
            det_token: param([1, cfg.det_tokens, e], device),
            det_pos_embed: param([1, cfg.det_tokens, cfg.d_model], device),
            layers,
            window: s.window_size,
        }
    }

    /// `images`: `(B, 3, H, W)` normalized; `mask`: `(B, H, W)` 1 = padded.
    pub fn forward(&self, images: Tensor<B, 4>, mask: &PixelMask, keep: bool) -> BackboneOutput<B> {
        let device = images.device();
        let [b, _, ih, iw] = images.dims();
        // Right/bottom zero pad to a multiple of the patch size, 4x4/4 conv, LayerNorm<B>.
        let (pb, pr) = ((4 - ih % 4) % 4, (4 - iw % 4) % 4);
        let images = if pb > 0 || pr > 0 {
            pad_zeros(images, [(0, 0), (0, 0), (0, pb), (0, pr)])
        } else {
            images
        };
        let x = self.patch_embed.proj.forward(images);
        let [_, e, mut h, mut w] = x.dims();
        let x = normalize(
            &self.patch_embed.norm,
            x.reshape([b, e, h * w]).swap_dims(1, 2),
        );
        let patch_embed = keep.then(|| x.clone().swap_dims(1, 2).reshape([b, e, h, w]));
        let q = self.det_token.dims()[1];
        let det = self.det_token.val().repeat_dim(0, b);
        let det_pos = self.det_pos_embed.val();
        // The cross-attention mask starts at the patch grid / 8 (= 2^(stages - #cross stages)).
        let divisor = 1 << (self.layers.len() - 1);
        let mut cross_mask = mask.resize_nearest(h / divisor, w / divisor);

        let mut features = Vec::new();
        let mut stages = Vec::new();
        let mut det_tgt = None;
        let n = self.layers.len();
        // [PATCH ; DET]: joined once; each later stage takes the merged sequence as it is
        // (PatchMerging keeps the order), not split and joined again (two launches each).
        let mut seq = Tensor::cat(vec![x, det], 1);
        for (si, stage) in self.layers.iter().enumerate() {
            let c = stage.dim;
            let cross = stage.cross.then(|| {
                if cross_mask.height != h || cross_mask.width != w {
                    cross_mask = cross_mask.resize_nearest(h, w);
                }
                cross_inputs(&cross_mask, c, q, (&device, seq.dtype()))
            });
            let mut out = seq;
            for blk in &stage.blocks {
                out = blk.forward(out, (h, w), det_pos.clone(), cross.as_ref());
            }
            let down = stage.downsample.forward(out.clone(), h, w);
            let (h2, w2) = (h.div_ceil(2), w.div_ceil(2));
            let len = out.dims()[1];
            if si > 0 {
                features.push((out.clone().slice([0..b, 0..h * w]), h, w));
            }
            if si == n - 1 {
                det_tgt = Some(out.clone().slice([0..b, h * w..len]));
            }
            if keep {
                stages.push(StageTrace {
                    out: out.clone(),
                    down: down.clone(),
                    hw: [h, w, h2, w2],
                });
            }
            h = h2;
            w = w2;
            seq = down;
        }
        features.push((seq.slice([0..b, 0..h * w]), h, w));
        BackboneOutput {
            features,
            det_tgt: det_tgt.expect("at least one stage"),
            det_pos,
            patch_embed,
            stages,
        }
    }
}

/// The sine encoding and the -100 key mask for the [DET x PATCH] attention at `mask`'s size.
fn cross_inputs<B: VidtBackend>(
    mask: &PixelMask,
    c: usize,
    q: usize,
    options: (&B::Device, burn::tensor::DType),
) -> CrossInputs<B> {
    let (b, h, w) = (mask.batch, mask.height, mask.width);
    let pos = masked_sine_encoding(mask, c);
    let mut m = Vec::with_capacity(b * (h * w + q));
    for bi in 0..b {
        m.extend(
            mask.data[bi * h * w..(bi + 1) * h * w]
                .iter()
                .map(|&v| if v != 0 { -100.0f32 } else { 0.0 }),
        );
        m.extend(std::iter::repeat_n(0.0f32, q));
    }
    CrossInputs {
        patch: upload(TensorData::new(pos, [b, h * w, c]), options),
        mask: upload(TensorData::new(m, [b, 1, 1, h * w + q]), options),
    }
}
