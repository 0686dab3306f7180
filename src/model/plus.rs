//! ViDT+'s extra heads: the UQR vector head (per [DET] token, the 256 zigzag DCT coefficients
//! of its 128x128 mask; one MLP shared by every decoder level), the IoU-aware head (per level)
//! and the token-labeling head, which classifies every multi-scale [PATCH] token (training
//! only: the official forward computes it always, we when asked).

use burn::module::Module;
use burn::nn::{LayerNorm, Linear};
use burn::tensor::{Tensor, TensorData};

use super::layers::{Apply, layer_norm, linear};
use super::mask::PixelMask;
use crate::ops::VidtBackend;
use crate::ops::norms::normalize;
use crate::ops::upload::upload;

/// The vector head's width: the first 256 zigzag DCT coefficients of a mask (`n_keep`).
pub const N_KEEP: usize = 256;
/// The vector head's hidden width (the official `vector_hidden_dim`).
pub const VECTOR_HIDDEN: usize = 256;
/// The token-labeling head's classes (91 in the official code whatever the dataset).
pub const TOKEN_CLASSES: usize = 91;

/// `transformer.enc_output`, `enc_output_norm`, `token_embed` of the official code.
#[derive(Module, Debug)]
pub struct TokenHead<B: VidtBackend> {
    pub enc_output: Linear<B>,
    pub enc_output_norm: LayerNorm<B>,
    pub token_embed: Linear<B>,
}

impl<B: VidtBackend> TokenHead<B> {
    pub fn new(d: usize, device: &B::Device) -> Self {
        Self {
            enc_output: linear(d, d, true, device),
            enc_output_norm: layer_norm(d, device),
            token_embed: linear(d, TOKEN_CLASSES, true, device),
        }
    }

    /// Token logits `(B, S, 91)` of the flattened levels `memory` `(B, S, d)`. As the official
    /// `gen_encoder_output_proposals`, a token is zeroed first where it is padded or where its
    /// proposal box (centre `(x + 0.5) / valid_w`, size `0.05 * 2^level`) leaves (0.01, 0.99).
    pub fn forward(&self, memory: Tensor<B, 3>, masks: &[PixelMask]) -> Tensor<B, 3> {
        let keep = proposal_keep(masks);
        let [b, s, _] = memory.dims();
        let keep = upload::<B, 3>(
            TensorData::new(keep, [b, s, 1]),
            (&memory.device(), memory.dtype()),
        );
        let x = self.enc_output.apply(memory * keep);
        self.token_embed.apply(normalize(&self.enc_output_norm, x))
    }
}

/// 1 where a token is kept by the token head, `(B, S)` over the levels in decoder order.
pub fn proposal_keep(masks: &[PixelMask]) -> Vec<f32> {
    let b = masks.first().map_or(0, |m| m.batch);
    let inside = |v: f32| v > 0.01f32 && v < 0.99f32;
    let mut out = Vec::new();
    for bi in 0..b {
        for (lvl, m) in masks.iter().enumerate() {
            let (h, w) = (m.height, m.width);
            let (vh, vw) = m.valid_extent(bi);
            let (vh, vw) = (vh as f32, vw as f32);
            let wh = (0.05f64 * 2f64.powi(lvl as i32)) as f32;
            for y in 0..h {
                for x in 0..w {
                    let (gx, gy) = ((x as f32 + 0.5) / vw, (y as f32 + 0.5) / vh);
                    let ok = !m.get(bi, y, x) && inside(gx) && inside(gy) && inside(wh);
                    out.push(ok as u8 as f32);
                }
            }
        }
    }
    out
}
