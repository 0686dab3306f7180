//! RAM, the Reconfigured Attention Module (ViDT, Sec. 3): one Swin attention whose shared
//! qkv/proj serve three attentions — windowed [PATCH x PATCH] with relative position bias,
//! global [DET x DET] (stages 1-3), and [DET x (PATCH ∪ DET)] cross-attention (stage 4).

use burn::module::{Module, Param};
use burn::tensor::Tensor;

use burn::nn::Linear;

use super::layers::{Apply, linear, param};
use crate::ops::attention::Heads;
use crate::ops::{SwinWindows, VidtBackend, ram_attention, swin_window_attention};

/// Inputs of the stage-4 [DET x PATCH] cross-attention.
pub struct CrossInputs<B: VidtBackend> {
    /// The patch tokens' sine encoding `(B, H*W, C)` (added to the normalized patch tokens).
    pub patch: Tensor<B, 3>,
    /// Additive key mask `(B, 1, 1, H*W + Q)`: -100 on padded patches, 0 elsewhere.
    pub mask: Tensor<B, 4>,
}

#[derive(Module, Debug)]
pub struct ReconfiguredAttention<B: VidtBackend> {
    pub qkv: Linear<B>,
    pub proj: Linear<B>,
    /// `((2w-1)^2, heads)`
    pub relative_position_bias_table: Param<Tensor<B, 2>>,
    pub heads: usize,
    pub window: usize,
}

impl<B: VidtBackend> ReconfiguredAttention<B> {
    pub fn new(dim: usize, heads: usize, window: usize, device: &B::Device) -> Self {
        let table_rows = (2 * window - 1) * (2 * window - 1);
        Self {
            qkv: linear(dim, 3 * dim, true, device),
            proj: linear(dim, dim, true, device),
            relative_position_bias_table: param([table_rows, heads], device),
            heads,
            window,
        }
    }

    /// * `normed`: the normalized `[PATCH ; DET]` sequence `(B, H*W + Q, C)`, the patch tokens
    ///   those of the un-padded, un-shifted `(H, W)` map (the op pads to window multiples and
    ///   shifts by `shift` itself)
    /// * `det_pos`: the [DET] tokens' pos embedding projected to this width `(1, Q, C)`, added
    ///   to the normalized [DET] tokens
    /// * `cross`: stage 4's [DET x PATCH] inputs (the patch tokens' sine encoding and mask)
    ///
    /// Returns the projected [PATCH ; DET] sequence `(B, H*W + Q, C)`: the two attentions'
    /// outputs are joined before the (per-token) output projection, so it runs once.
    pub fn forward(
        &self,
        normed: Tensor<B, 3>,
        (ph, pw): (usize, usize),
        det_pos: Tensor<B, 3>,
        shift: usize,
        cross: Option<&CrossInputs<B>>,
    ) -> Tensor<B, 3> {
        let [b, len, c] = normed.dims();
        let hw = ph * pw;
        let q_len = len - hw;
        let h = self.heads;
        let hd = c / h;
        let scale = (hd as f32).powf(-0.5);
        let weight = self.qkv.weight.val();
        let qkv_bias = self.qkv.bias.as_ref().expect("qkv has a bias").val();
        let windows = SwinWindows {
            heads: h,
            ws: self.window,
            shift,
            scale,
        };
        let table = self.relative_position_bias_table.val();
        let Some(cross) = cross else {
            // Stages 1-3. The projection of the whole sequence without its bias, for the
            // windowed op, which adds the bias (it gives it to padded tokens too) and reads
            // the map's rows in place (a slice of the patch rows would be a copy); the [DET]
            // tokens with their pos embedding through the Linear. Both attentions are written
            // into the joined sequence by one op. (Taking the [DET] rows of that projection
            // too and adding (pos W + b) measured no fewer launches: the add on the slice
            // runs unfused, like the one here.)
            let det = normed.clone().slice([0..b, hw..len]) + det_pos;
            let qkv = crate::ops::linear_last(normed, weight, None);
            let det_qkv = self.qkv.apply(det);
            let s = Heads {
                heads: h,
                width: c,
                cols: [0, c, 2 * c],
                scale,
            };
            let x = ram_attention(qkv, (ph, pw), qkv_bias, table, windows, det_qkv, s);
            return self.proj.apply(x);
        };
        // Stage 4: [PATCH x PATCH] windowed attention as above, and [DET x (PATCH ∪ DET)]
        // cross-attention with the padding mask.
        let patch = normed.clone().slice([0..b, 0..hw]);
        let det = normed.slice([0..b, hw..len]) + det_pos;
        let patch_qkv =
            crate::ops::linear_last(patch.clone(), weight, None).reshape([b, ph, pw, 3 * c]);
        let patch_x =
            swin_window_attention(patch_qkv, qkv_bias, table, windows).reshape([b, hw, c]);
        let project = |det_x: Tensor<B, 3>| self.proj.apply(Tensor::cat(vec![patch_x, det_x], 1));
        let det_qkv = self
            .qkv
            .apply(det)
            .reshape([b, q_len, 3, h, hd])
            .permute([2, 0, 3, 1, 4]);
        let dpart = |i: usize| det_qkv.clone().slice([i..i + 1]).reshape([b, h, q_len, hd]);
        let (dq, dk, dv) = (dpart(0), dpart(1), dpart(2));
        let cross_patch = patch + cross.patch.clone();
        let l = cross_patch.dims()[1];
        let cq = self
            .qkv
            .apply(cross_patch)
            .reshape([b, l, 3, h, hd])
            .permute([2, 0, 3, 1, 4]);
        let cpart = |i: usize| cq.clone().slice([i..i + 1]).reshape([b, h, l, hd]);
        let dk = Tensor::cat(vec![cpart(1), dk], 2);
        let dv = Tensor::cat(vec![cpart(2), dv], 2);
        let attn = dq.mul_scalar(scale).matmul(dk.swap_dims(2, 3)) + cross.mask.clone();
        let det_x = crate::ops::softmax_last::<B>(attn)
            .matmul(dv)
            .swap_dims(1, 2)
            .reshape([b, q_len, c]);

        project(det_x)
    }
}
