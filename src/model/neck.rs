//! The ViDT neck: input/target projections of the backbone outputs and the encoder-free
//! deformable decoder (6 post-norm layers) with iterative box refinement; heads at every
//! level give the final and the auxiliary outputs. ViDT+ replaces the input projections with
//! EPFF ([`super::epff`]) and adds the vector, IoU and token heads ([`super::plus`]).

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, LayerNorm, Linear};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Tensor, TensorData};

use super::deformable::MsDeformAttn;
use super::epff::Epff;
use super::layers::{Apply, GroupNorm, Mlp3, layer_norm, linear};
use super::mask::{LevelMasks, PixelMask};
use super::plus::{N_KEEP, TokenHead, VECTOR_HIDDEN};
use super::swin::BackboneOutput;
use crate::config::VidtConfig;
use crate::ops::VidtBackend;
use crate::ops::attention::Heads;
use crate::ops::attention_heads;
use crate::ops::norms::normalize;
use crate::ops::upload::upload;

/// `nn.MultiheadAttention` (q = k = tgt + pos, v = tgt, no masks), `in_proj` split in three.
/// Ours rather than `burn::nn::attention::MultiHeadAttention`, which applies its dropout to the
/// scores before the softmax; PyTorch (and so the reference's training) drops probabilities.
#[derive(Module, Debug)]
pub struct SelfAttention<B: VidtBackend> {
    pub q: Linear<B>,
    pub k: Linear<B>,
    pub v: Linear<B>,
    pub out_proj: Linear<B>,
    pub heads: usize,
    /// On the attention probabilities (training only: active under autodiff).
    pub dropout: Dropout,
}

impl<B: VidtBackend> SelfAttention<B> {
    pub fn new(d: usize, heads: usize, dropout: f64, device: &B::Device) -> Self {
        Self {
            q: linear(d, d, true, device),
            k: linear(d, d, true, device),
            v: linear(d, d, true, device),
            out_proj: linear(d, d, true, device),
            heads,
            dropout: DropoutConfig::new(dropout).init(),
        }
    }

    pub fn forward(&self, qk: Tensor<B, 3>, v: Tensor<B, 3>) -> Tensor<B, 3> {
        let [b, n, d] = v.dims();
        let h = self.heads;
        let scale = (d as f32 / h as f32).powf(-0.5);
        if !B::ad_enabled(&v.device()) {
            // Inference (no dropout): one op.
            let (q, k) = (self.q.apply(qk.clone()), self.k.apply(qk));
            let s = Heads {
                heads: h,
                width: d,
                cols: [0; 3],
                scale,
            };
            let out = attention_heads(q, k, self.v.apply(v), s);
            return self.out_proj.apply(out);
        }
        let split = |t: Tensor<B, 3>| t.reshape([b, n, h, d / h]).swap_dims(1, 2);
        let q = split(self.q.apply(qk.clone())).mul_scalar(scale);
        let k = split(self.k.apply(qk));
        let v = split(self.v.apply(v));
        let out = self
            .dropout
            .forward(crate::ops::softmax_last::<B>(q.matmul(k.swap_dims(2, 3))))
            .matmul(v);
        self.out_proj.apply(out.swap_dims(1, 2).reshape([b, n, d]))
    }
}

#[derive(Module, Debug)]
pub struct DecoderLayer<B: VidtBackend> {
    pub self_attn: SelfAttention<B>,
    pub norm2: LayerNorm<B>,
    pub cross_attn: MsDeformAttn<B>,
    pub norm1: LayerNorm<B>,
    pub linear1: Linear<B>,
    pub linear2: Linear<B>,
    pub norm3: LayerNorm<B>,
    /// After self-attention, cross-attention, the FFN's ReLU and its output, as the reference
    /// (training only: active under autodiff).
    pub dropout: Dropout,
}

impl<B: VidtBackend> DecoderLayer<B> {
    pub fn new(c: &VidtConfig, device: &B::Device) -> Self {
        let d = c.d_model;
        Self {
            self_attn: SelfAttention::new(d, c.dec_heads, c.dropout, device),
            norm2: layer_norm(d, device),
            cross_attn: MsDeformAttn::new(d, c.dec_heads, c.num_levels(), c.dec_points, device),
            norm1: layer_norm(d, device),
            linear1: linear(d, c.dim_feedforward, true, device),
            linear2: linear(c.dim_feedforward, d, true, device),
            norm3: layer_norm(d, device),
            dropout: DropoutConfig::new(c.dropout).init(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &self,
        tgt: Tensor<B, 3>,
        pos: Tensor<B, 3>,
        reference: Tensor<B, 4>,
        memory: Tensor<B, 3>,
        keep: Tensor<B, 3>,
        shapes: &[(usize, usize)],
    ) -> Tensor<B, 3> {
        let qk = tgt.clone() + pos.clone();
        let drop = |x: Tensor<B, 3>| self.dropout.forward(x);
        let tgt = normalize(
            &self.norm2,
            tgt.clone() + drop(self.self_attn.forward(qk, tgt)),
        );
        let cross = self
            .cross_attn
            .forward(tgt.clone() + pos, reference, memory, keep, shapes);
        let tgt = normalize(&self.norm1, tgt + drop(cross));
        let ffn = drop(
            self.linear2
                .apply(drop(relu(self.linear1.apply(tgt.clone())))),
        );
        normalize(&self.norm3, tgt + ffn)
    }
}

/// A 1x1 convolution (a Linear on channel-last tokens) + GroupNorm(32).
#[derive(Module, Debug)]
pub struct ProjGn<B: VidtBackend> {
    pub conv: Linear<B>,
    pub gn: GroupNorm<B>,
}

impl<B: VidtBackend> ProjGn<B> {
    pub fn new(c_in: usize, d: usize, device: &B::Device) -> Self {
        Self {
            conv: linear(c_in, d, true, device),
            gn: GroupNorm::new(d, 32, device),
        }
    }
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        self.gn.forward(self.conv.apply(x))
    }
}

/// Everything the neck computes (the per-level heads included).
#[derive(Clone, Debug)]
pub struct NeckOutput<B: VidtBackend> {
    /// Projected levels `(B, H*W, d)`, in decoder order (ViDT+: coarsest first).
    pub srcs: Vec<Tensor<B, 3>>,
    /// Their `(H, W)`.
    pub shapes: Vec<(usize, usize)>,
    pub masks: Vec<PixelMask>,
    /// Projected [DET] tokens `(B, Q, d)` and pos `(1, Q, d)`.
    pub det_tgt: Tensor<B, 3>,
    pub det_pos: Tensor<B, 3>,
    /// Decoder states: level 0 = projected [DET] tokens, then one per decoder layer run.
    pub hs: Vec<Tensor<B, 3>>,
    /// `(B, Q, 2)`
    pub init_reference: Tensor<B, 3>,
    /// Logits `(B, Q, classes)` and boxes `(B, Q, 4)` (cx, cy, w, h) per level.
    pub logits: Vec<Tensor<B, 3>>,
    pub boxes: Vec<Tensor<B, 3>>,
    /// ViDT+ only (else empty), per level: UQR vectors `(B, Q, 256)` and IoU logits `(B, Q, 1)`.
    pub vectors: Vec<Tensor<B, 3>>,
    pub ious: Vec<Tensor<B, 3>>,
    /// ViDT+, when asked: token-labeling logits `(B, H*W, 91)` per level, in decoder order.
    pub token_logits: Vec<Tensor<B, 3>>,
}

#[derive(Module, Debug)]
pub struct Neck<B: VidtBackend> {
    /// Vanilla ViDT's per-level projections (empty for ViDT+, which has `fusion`).
    pub input_proj: Vec<ProjGn<B>>,
    pub fusion: Option<Epff<B>>,
    pub tgt_proj: ProjGn<B>,
    pub query_pos_proj: ProjGn<B>,
    pub reference_points: Linear<B>,
    pub layers: Vec<DecoderLayer<B>>,
    pub class_embed: Vec<Linear<B>>,
    pub bbox_embed: Vec<Mlp3<B>>,
    /// ViDT+: the UQR head (shared by every level), the IoU-aware heads, the token head.
    pub vector_embed: Option<Mlp3<B>>,
    pub iou_embed: Vec<Mlp3<B>>,
    pub token_head: Option<TokenHead<B>>,
}

/// `log(x / (1 - x))` with both clamped to eps 1e-5, after clamping x to [0, 1].
pub fn inverse_sigmoid<B: VidtBackend>(x: Tensor<B, 3>) -> Tensor<B, 3> {
    let x = x.clamp(0.0, 1.0);
    let x1 = x.clone().clamp_min(1e-5);
    let x2 = x.neg().add_scalar(1.0).clamp_min(1e-5);
    (x1 / x2).log()
}

impl<B: VidtBackend> Neck<B> {
    /// The neck of `cfg` with its `dec_layers` decoder layers and `dec_layers + 1` heads,
    /// parameters not yet loaded ([`crate::official::load`] fills them).
    pub fn new(c: &VidtConfig, device: &B::Device) -> Self {
        let d = c.d_model;
        let plus = c.plus;
        Self {
            input_proj: if plus {
                Vec::new()
            } else {
                c.level_channels()
                    .into_iter()
                    .map(|ch| ProjGn::new(ch, d, device))
                    .collect()
            },
            fusion: plus.then(|| Epff::new(c, device)),
            tgt_proj: ProjGn::new(c.det_dim(), d, device),
            query_pos_proj: ProjGn::new(d, d, device),
            reference_points: linear(d, 2, true, device),
            layers: (0..c.dec_layers)
                .map(|_| DecoderLayer::new(c, device))
                .collect(),
            class_embed: (0..=c.dec_layers)
                .map(|_| linear(d, c.num_classes, true, device))
                .collect(),
            bbox_embed: (0..=c.dec_layers)
                .map(|_| Mlp3::new(d, 4, device))
                .collect(),
            vector_embed: plus.then(|| Mlp3::with_hidden(d, VECTOR_HIDDEN, N_KEEP, device)),
            iou_embed: if plus {
                (0..=c.dec_layers)
                    .map(|_| Mlp3::new(d, 1, device))
                    .collect()
            } else {
                Vec::new()
            },
            token_head: plus.then(|| TokenHead::new(d, device)),
        }
    }

    /// Runs the first `k` decoder layers (all when `None`); `tokens`: a ViDT+ model computes
    /// its token-labeling logits too.
    pub fn forward(
        &self,
        bb: BackboneOutput<B>,
        mask: &PixelMask,
        k: Option<usize>,
        tokens: bool,
    ) -> NeckOutput<B> {
        let k = k.unwrap_or(self.layers.len()).min(self.layers.len());
        let device = bb.det_tgt.device();
        let b = bb.det_tgt.dims()[0];
        let levels: Vec<(Tensor<B, 3>, usize, usize)> = match &self.fusion {
            Some(epff) => epff.forward(bb.features),
            None => bb
                .features
                .into_iter()
                .zip(&self.input_proj)
                .map(|((feat, h, w), proj)| (proj.forward(feat), h, w))
                .collect(),
        };
        let shapes: Vec<(usize, usize)> = levels.iter().map(|&(_, h, w)| (h, w)).collect();
        let srcs: Vec<Tensor<B, 3>> = levels.into_iter().map(|(src, _, _)| src).collect();
        let (s, l): (usize, usize) = (shapes.iter().map(|(h, w)| h * w).sum(), shapes.len());
        let LevelMasks { masks, keep, valid } = LevelMasks::new(mask, &shapes);
        let dtype = srcs[0].dtype();
        let keep = upload::<B, 3>(TensorData::new(keep, [b, s, 1]), (&device, dtype));
        let valid = upload::<B, 4>(TensorData::new(valid, [b, 1, l, 4]), (&device, dtype));
        let memory = Tensor::cat(srcs.clone(), 1);

        let det_tgt = self.tgt_proj.forward(bb.det_tgt);
        let det_pos = self.query_pos_proj.forward(bb.det_pos);
        let q = det_pos.dims()[1];
        let pos = det_pos.clone().repeat_dim(0, b);
        let init_reference = sigmoid(self.reference_points.apply(pos.clone()));

        // Level 0: the backbone-only detector; its box seeds the first reference.
        let mut hs = vec![det_tgt.clone()];
        let tmp = self.bbox_embed[0].forward(det_tgt.clone());
        let xy = tmp.clone().slice([0..b, 0..q, 0..2]) + inverse_sigmoid(init_reference.clone());
        let wh = tmp.slice([0..b, 0..q, 2..4]);
        let mut boxes = vec![sigmoid(Tensor::cat(vec![xy, wh], 2))];
        let mut out = det_tgt.clone();
        for (lid, layer) in self.layers.iter().take(k).enumerate() {
            let reference = boxes[lid].clone().detach();
            let ref_in = reference.clone().unsqueeze_dim::<4>(2) * valid.clone();
            out = layer.forward(
                out,
                pos.clone(),
                ref_in,
                memory.clone(),
                keep.clone(),
                &shapes,
            );
            hs.push(out.clone());
            boxes.push(sigmoid(
                self.bbox_embed[lid + 1].forward(out.clone()) + inverse_sigmoid(reference),
            ));
        }
        let logits = hs
            .iter()
            .enumerate()
            .map(|(i, h)| self.class_embed[i].apply(h.clone()))
            .collect();
        let vectors = match &self.vector_embed {
            Some(v) => hs.iter().map(|h| v.forward(h.clone())).collect(),
            None => Vec::new(),
        };
        let ious = self
            .iou_embed
            .iter()
            .zip(&hs)
            .map(|(m, h)| m.forward(h.clone()))
            .collect();
        let token_logits = match (&self.token_head, tokens) {
            (Some(head), true) => {
                let all = head.forward(memory, &masks);
                let mut off = 0;
                shapes
                    .iter()
                    .map(|&(h, w)| {
                        let t = all.clone().slice([0..b, off..off + h * w]);
                        off += h * w;
                        t
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        NeckOutput {
            srcs,
            shapes,
            masks,
            det_tgt,
            det_pos,
            hs,
            init_reference,
            logits,
            boxes,
            vectors,
            ious,
            token_logits,
        }
    }
}
