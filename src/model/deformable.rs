//! Multi-scale deformable attention module (Deformable DETR): value/offset/weight projections
//! around the [`crate::ops::ms_deform_attn`] op, with 4-d reference boxes.

use burn::module::Module;
use burn::tensor::Tensor;

use burn::nn::Linear;

use super::layers::{Apply, linear};
use crate::ops::VidtBackend;
use crate::ops::ms_deform_attn_projected;

#[derive(Module, Debug)]
pub struct MsDeformAttn<B: VidtBackend> {
    pub sampling_offsets: Linear<B>,
    pub attention_weights: Linear<B>,
    pub value_proj: Linear<B>,
    pub output_proj: Linear<B>,
    pub heads: usize,
    pub levels: usize,
    pub points: usize,
}

impl<B: VidtBackend> MsDeformAttn<B> {
    pub fn new(d: usize, heads: usize, levels: usize, points: usize, device: &B::Device) -> Self {
        let hlp = heads * levels * points;
        Self {
            sampling_offsets: linear(d, hlp * 2, true, device),
            attention_weights: linear(d, hlp, true, device),
            value_proj: linear(d, d, true, device),
            output_proj: linear(d, d, true, device),
            heads,
            levels,
            points,
        }
    }

    /// * `query`: `(B, Q, d)` (target + query pos)
    /// * `reference`: `(B, Q, L, 4)` boxes (cx, cy, w, h), already scaled by the valid ratios
    /// * `memory`: `(B, S, d)` flattened levels; `keep`: `(B, S, 1)` 0 on padded positions
    pub fn forward(
        &self,
        query: Tensor<B, 3>,
        reference: Tensor<B, 4>,
        memory: Tensor<B, 3>,
        keep: Tensor<B, 3>,
        shapes: &[(usize, usize)],
    ) -> Tensor<B, 3> {
        let [b, q, _] = query.dims();
        let (m, l, p) = (self.heads, self.levels, self.points);
        let offsets = self
            .sampling_offsets
            .apply(query.clone())
            .reshape([b, q, m, l, p, 2]);
        let weights = crate::ops::softmax_last::<B>(self.attention_weights.apply(query).reshape([
            b,
            q,
            m,
            l * p,
        ]))
        .reshape([b, q, m, l, p]);
        let ref_xy = reference
            .clone()
            .slice([0..b, 0..q, 0..l, 0..2])
            .reshape([b, q, 1, l, 1, 2]);
        let ref_wh = reference
            .slice([0..b, 0..q, 0..l, 2..4])
            .reshape([b, q, 1, l, 1, 2]);
        // Same operation order as the reference: offset / P * wh * 0.5.
        let locations = ref_xy + offsets.div_scalar(p as f32) * ref_wh.mul_scalar(0.5);
        // The value projection is the op's (the CPU projects the samples, not the memory).
        let (w, bias) = (self.value_proj.weight.val(), self.value_proj.bias.as_ref());
        let bias = bias.map(|b| b.val());
        let out = ms_deform_attn_projected(memory, keep, w, bias, m, shapes, locations, weights);
        self.output_proj.apply(out)
    }
}
