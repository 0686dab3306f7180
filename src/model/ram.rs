//! RAM, the Reconfigured Attention Module (ViDT, Sec. 3): one Swin attention whose shared
//! qkv/proj serve three attentions — windowed [PATCH x PATCH] with relative position bias,
//! global [DET x DET] (stages 1-3), and [DET x (PATCH ∪ DET)] cross-attention (stage 4).

use burn::module::{Module, Param};
use burn::tensor::Tensor;

use burn::nn::Linear;

use super::layers::{Apply, linear, param};
use crate::ops::attention::Heads;
use crate::ops::{SwinWindows, VidtBackend, attention_heads, swin_window_attention};

/// Inputs of the stage-4 [DET x PATCH] cross-attention.
pub struct CrossInputs<B: VidtBackend> {
    /// Un-shifted, un-padded normalized patch tokens plus their sine encoding, `(B, H*W, C)`.
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

    /// * `patch`: normalized patch tokens `(B, H, W, C)` (un-padded, un-shifted: the op pads
    ///   to window multiples and shifts by `shift` itself)
    /// * `det`: normalized [DET] tokens plus their projected pos embedding `(B, Q, C)`
    ///
    /// Returns the projected [PATCH ; DET] sequence `(B, H*W + Q, C)`: the two attentions'
    /// outputs are joined before the (per-token) output projection, so it runs once.
    pub fn forward(
        &self,
        patch: Tensor<B, 4>,
        det: Tensor<B, 3>,
        shift: usize,
        cross: Option<&CrossInputs<B>>,
    ) -> Tensor<B, 3> {
        let [b, ph, pw, c] = patch.dims();
        let q_len = det.dims()[1];
        let h = self.heads;
        let hd = c / h;
        let scale = (hd as f32).powf(-0.5);

        // [PATCH x PATCH] windowed attention; the projection without its bias, which the op
        // adds (as it gives it to padded tokens), saving a pass over the map.
        let weight = self.qkv.weight.val();
        let patch_qkv = crate::ops::linear_last(patch.reshape([b * ph * pw, c]), weight, None)
            .reshape([b, ph, pw, 3 * c]);
        let qkv_bias = self.qkv.bias.as_ref().expect("qkv has a bias").val();
        let windows = SwinWindows {
            heads: h,
            ws: self.window,
            shift,
            scale,
        };
        let table = self.relative_position_bias_table.val();
        let patch_x =
            swin_window_attention(patch_qkv, qkv_bias, table, windows).reshape([b, ph * pw, c]);
        let project = |det_x: Tensor<B, 3>| self.proj.apply(Tensor::cat(vec![patch_x, det_x], 1));

        // [DET x DET] attention (stages 1-3): one op on the packed projection.
        let det_qkv = self.qkv.apply(det);
        let Some(cross) = cross else {
            let s = Heads {
                heads: h,
                width: c,
                cols: [0, c, 2 * c],
                scale,
            };
            return project(attention_heads(
                det_qkv.clone(),
                det_qkv.clone(),
                det_qkv,
                s,
            ));
        };
        // [DET x (PATCH ∪ DET)] cross-attention (stage 4), with the padding mask.
        let det_qkv = det_qkv
            .reshape([b, q_len, 3, h, hd])
            .permute([2, 0, 3, 1, 4]);
        let dpart = |i: usize| det_qkv.clone().slice([i..i + 1]).reshape([b, h, q_len, hd]);
        let (dq, dk, dv) = (dpart(0), dpart(1), dpart(2));
        let l = cross.patch.dims()[1];
        let cq = self
            .qkv
            .apply(cross.patch.clone())
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
