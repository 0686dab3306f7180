//! The ViDT set criterion (`SetCriterion` with losses labels, boxes, cardinality): per decoder
//! level, Hungarian matching, then sigmoid focal loss (alpha 0.25, gamma 2) over all queries and
//! classes against one-hot targets, L1 and GIoU losses on the matched boxes, each divided by the
//! number of target boxes in the batch. The same on every auxiliary level, matched separately.
//!
//! ViDT+ adds, per level on the same matching, the IoU-aware loss (BCE of the IoU logit against
//! the matched boxes' IoU) and the UQR vector loss (L1 against the DCT of the matched mask
//! cropped to its box), and once on the final output the token-labeling focal and dice losses.

use burn::tensor::{Int, Tensor, TensorData};

use super::mask_targets::{canvas, cropped_mask, token_labels};
use super::matcher::{Matcher, Matching};
use crate::coco::Target;
use crate::detect::uqr::MaskCodec;
use crate::error::{Result, VidtError};
use crate::model::Vidt;
use crate::model::neck::NeckOutput;
use crate::ops::VidtBackend;
use crate::tensor_map::read;

/// Loss weights of the official recipe.
#[derive(Clone, Copy, Debug)]
pub struct LossWeights {
    pub ce: f32,
    pub bbox: f32,
    pub giou: f32,
    /// ViDT+ terms.
    pub iouaware: f32,
    pub vector: f32,
    pub token_focal: f32,
    pub token_dice: f32,
    /// Inside `loss_vector` (the official `vector_loss_coef`, 3.0 in its recipe).
    pub vector_coef: f32,
}

impl Default for LossWeights {
    fn default() -> Self {
        Self {
            ce: 2.0,
            bbox: 5.0,
            giou: 2.0,
            iouaware: 2.0,
            vector: 1.0,
            token_focal: 2.0,
            token_dice: 2.0,
            vector_coef: 3.0,
        }
    }
}

/// The losses of one decoder level.
#[derive(Clone, Debug)]
pub struct LevelLosses<B: VidtBackend> {
    pub loss_ce: Tensor<B, 1>,
    pub loss_bbox: Tensor<B, 1>,
    pub loss_giou: Tensor<B, 1>,
    /// Logging only: 100 - top-1 accuracy (%) of the matched queries.
    pub class_error: f32,
    /// Logging only: |#(argmax != last class) - #targets|, averaged over images.
    pub cardinality_error: f32,
    pub indices: Vec<Matching>,
    /// ViDT+ only: IoU-aware BCE and UQR vector L1.
    pub loss_iouaware: Option<Tensor<B, 1>>,
    pub loss_vector: Option<Tensor<B, 1>>,
}

/// All levels: `levels[0..k]` are the auxiliary outputs `_0.._{k-1}`, the last is the final one.
#[derive(Clone, Debug)]
pub struct Losses<B: VidtBackend> {
    pub levels: Vec<LevelLosses<B>>,
    /// ViDT+ only: token-labeling focal and dice losses, summed over the token levels.
    pub token: Option<(Tensor<B, 1>, Tensor<B, 1>)>,
    /// Σ weight · loss over every level.
    pub total: Tensor<B, 1>,
}

/// Every level's `(logits, boxes)` (aux levels, then the final one) of a neck pass, and for
/// ViDT+ its other outputs: what [`Criterion::forward_plus`] takes.
pub type CriterionInputs<B> = (Vec<(Tensor<B, 3>, Tensor<B, 3>)>, Option<PlusOutputs<B>>);

/// The criterion's inputs from a traced forward's neck (token logits present when traced
/// with autodiff or intermediates).
pub fn criterion_inputs<B: VidtBackend>(neck: NeckOutput<B>) -> CriterionInputs<B> {
    let tokens = (neck.token_logits.clone(), neck.shapes.clone());
    let out = Vidt::outputs(neck);
    let plus = (!out.vectors.is_empty()).then(|| PlusOutputs {
        vectors: out.vectors,
        ious: out.ious,
        token_logits: tokens.0,
        token_shapes: tokens.1,
    });
    let mut levels = out.aux;
    levels.push((out.pred_logits, out.pred_boxes));
    (levels, plus)
}

/// The ViDT+ outputs the criterion reads besides logits and boxes.
#[derive(Clone, Debug)]
pub struct PlusOutputs<B: VidtBackend> {
    /// Per level as the `levels` given with it (aux levels, then the final one): UQR vectors
    /// `(B, Q, 256)` and IoU logits `(B, Q, 1)`.
    pub vectors: Vec<Tensor<B, 3>>,
    pub ious: Vec<Tensor<B, 3>>,
    /// Token-labeling logits `(B, h*w, classes)` per token level, and their `(h, w)`.
    pub token_logits: Vec<Tensor<B, 3>>,
    pub token_shapes: Vec<(usize, usize)>,
}

impl<B: VidtBackend> Losses<B> {
    /// `(name, value)` of every loss term with the official names (`loss_ce`, `loss_bbox_0`, ...).
    pub fn named(&self) -> Result<Vec<(String, f32)>> {
        let k = self.levels.len() - 1;
        let mut v = Vec::new();
        for (i, l) in self.levels.iter().enumerate() {
            let suffix = if i == k {
                String::new()
            } else {
                format!("_{i}")
            };
            v.push((format!("loss_ce{suffix}"), read(l.loss_ce.clone())?[0]));
            v.push((format!("loss_bbox{suffix}"), read(l.loss_bbox.clone())?[0]));
            v.push((format!("loss_giou{suffix}"), read(l.loss_giou.clone())?[0]));
            v.push((format!("cardinality_error{suffix}"), l.cardinality_error));
            if i == k {
                v.push(("class_error".into(), l.class_error));
            }
            if let Some(t) = &l.loss_iouaware {
                v.push((format!("loss_iouaware{suffix}"), read(t.clone())?[0]));
            }
            if let Some(t) = &l.loss_vector {
                v.push((format!("loss_vector{suffix}"), read(t.clone())?[0]));
            }
        }
        if let Some((focal, dice)) = &self.token {
            v.push(("loss_token_focal".into(), read(focal.clone())?[0]));
            v.push(("loss_token_dice".into(), read(dice.clone())?[0]));
        }
        Ok(v)
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Criterion {
    pub matcher: Matcher,
    pub weights: LossWeights,
}

/// `(B, Q, C)` sigmoid focal loss summed over everything (the reference's mean over queries
/// times the number of queries), divided by `num_boxes`.
pub fn sigmoid_focal_loss<B: VidtBackend>(
    logits: Tensor<B, 3>,
    targets: Tensor<B, 3>,
    num_boxes: f32,
) -> Tensor<B, 1> {
    let [_, q, _] = logits.dims();
    focal_loss_mean(logits, targets, num_boxes).mul_scalar(q as f32)
}

/// The official `sigmoid_focal_loss` (alpha 0.25, gamma 2) of `(B, N, C)`: mean over `N`,
/// summed, divided by `num_boxes`.
fn focal_loss_mean<B: VidtBackend>(
    logits: Tensor<B, 3>,
    targets: Tensor<B, 3>,
    num_boxes: f32,
) -> Tensor<B, 1> {
    let prob = burn::tensor::activation::sigmoid(logits.clone());
    // BCE with logits, stable form: max(x, 0) - x t + log(1 + exp(-|x|)).
    let ce = logits.clone().clamp_min(0.0) - logits.clone() * targets.clone()
        + logits.abs().neg().exp().add_scalar(1.0).log();
    let one_minus_t = targets.clone().neg().add_scalar(1.0);
    let p_t = prob.clone() * targets.clone() + prob.neg().add_scalar(1.0) * one_minus_t.clone();
    let modulating = p_t.neg().add_scalar(1.0).powi_scalar(2);
    let alpha_t = targets.mul_scalar(0.25) + one_minus_t.mul_scalar(0.75);
    let loss = alpha_t * ce * modulating;
    loss.mean_dim(1).sum().div_scalar(num_boxes)
}

/// BCE with logits, elementwise, stable form: max(x, 0) - x t + log(1 + exp(-|x|)).
fn bce_with_logits<B: VidtBackend, const D: usize>(
    x: Tensor<B, D>,
    t: Tensor<B, D>,
) -> Tensor<B, D> {
    x.clone().clamp_min(0.0) - x.clone() * t + x.abs().neg().exp().add_scalar(1.0).log()
}

/// The official (DDETR) `dice_loss` of `(B, N, C)` logits against soft targets: per image
/// 1 - (2 Σ p t + 1) / (Σ p + Σ t + 1), summed, divided by `num_boxes`.
fn dice_loss<B: VidtBackend>(
    logits: Tensor<B, 3>,
    targets: Tensor<B, 3>,
    num_boxes: f32,
) -> Tensor<B, 1> {
    let [b, _, _] = logits.dims();
    let p = burn::tensor::activation::sigmoid(logits).reshape([b as i32, -1]);
    let t = targets.reshape([b as i32, -1]);
    let num = (p.clone() * t.clone())
        .sum_dim(1)
        .mul_scalar(2.0)
        .add_scalar(1.0);
    let den = p.sum_dim(1) + t.sum_dim(1).add_scalar(1.0);
    (num / den)
        .neg()
        .add_scalar(1.0)
        .sum()
        .div_scalar(num_boxes)
}

/// 1 - GIoU of paired (cx, cy, w, h) boxes `(n, 4)`, as a `(n)` tensor.
pub fn giou_loss<B: VidtBackend>(src: Tensor<B, 2>, tgt: Tensor<B, 2>) -> Tensor<B, 1> {
    paired_iou(src, tgt, true)
}

/// IoU of paired (cx, cy, w, h) boxes `(n, 4)`, as a `(n)` tensor (the diagonal of the
/// official `box_iou`).
pub fn box_iou<B: VidtBackend>(src: Tensor<B, 2>, tgt: Tensor<B, 2>) -> Tensor<B, 1> {
    paired_iou(src, tgt, false)
}

/// IoU of paired boxes, or with `hull_too` 1 - GIoU.
fn paired_iou<B: VidtBackend>(
    src: Tensor<B, 2>,
    tgt: Tensor<B, 2>,
    hull_too: bool,
) -> Tensor<B, 1> {
    let n = src.dims()[0];
    let xyxy = |b: Tensor<B, 2>| {
        let c = b.clone().slice([0..n, 0..2]);
        let wh = b.slice([0..n, 2..4]).mul_scalar(0.5);
        (c.clone() - wh.clone(), c + wh)
    };
    let (a0, a1) = xyxy(src);
    let (b0, b1) = xyxy(tgt);
    let area = |lo: Tensor<B, 2>, hi: Tensor<B, 2>| {
        let wh = hi - lo;
        wh.clone().slice([0..n, 0..1]) * wh.slice([0..n, 1..2])
    };
    let inter_wh =
        (a1.clone().min_pair(b1.clone()) - a0.clone().max_pair(b0.clone())).clamp_min(0.0);
    let inter = inter_wh.clone().slice([0..n, 0..1]) * inter_wh.slice([0..n, 1..2]);
    let union = area(a0.clone(), a1.clone()) + area(b0.clone(), b1.clone()) - inter.clone();
    let iou = inter / union.clone();
    if !hull_too {
        return iou.reshape([n]);
    }
    let hull_wh = (a1.max_pair(b1) - a0.min_pair(b0)).clamp_min(0.0);
    let hull = hull_wh.clone().slice([0..n, 0..1]) * hull_wh.slice([0..n, 1..2]);
    let giou = iou - (hull.clone() - union) / hull;
    giou.neg().add_scalar(1.0).reshape([n])
}

/// Index of the first maximum.
fn argmax(row: &[f32]) -> usize {
    (0..row.len()).fold(0, |m, k| if row[k] > row[m] { k } else { m })
}

impl Criterion {
    /// Losses of one level: `logits` `(B, Q, C)`, `boxes` `(B, Q, 4)`.
    pub fn level<B: VidtBackend>(
        &self,
        logits: Tensor<B, 3>,
        boxes: Tensor<B, 3>,
        targets: &[Target],
        num_boxes: f32,
    ) -> Result<LevelLosses<B>> {
        let [b, q, c] = logits.dims();
        let device = logits.device();
        let host_logits = read(logits.clone().detach())?;
        let host_boxes = read(boxes.clone().detach())?;
        let indices = self
            .matcher
            .match_batch(&host_logits, &host_boxes, c, targets)?;

        // One-hot class targets (all zero for unmatched queries).
        let mut onehot = vec![0f32; b * q * c];
        let mut rows = Vec::new();
        let mut tgt_boxes = Vec::new();
        let (mut correct, mut matched) = (0usize, 0usize);
        for (bi, ((src, tgt), t)) in indices.iter().zip(targets).enumerate() {
            for (&s, &j) in src.iter().zip(tgt) {
                let label = t.labels[j];
                onehot[(bi * q + s) * c + label] = 1.0;
                rows.push((bi * q + s) as i64);
                tgt_boxes.extend_from_slice(&t.boxes[j]);
                let row = &host_logits[(bi * q + s) * c..(bi * q + s + 1) * c];
                correct += (argmax(row) == label) as usize;
                matched += 1;
            }
        }
        let onehot = Tensor::<B, 3>::from_data(TensorData::new(onehot, [b, q, c]), &device);
        let loss_ce = sigmoid_focal_loss(logits, onehot, num_boxes);
        let n = rows.len();
        let (loss_bbox, loss_giou) = if n == 0 {
            let zero = boxes.sum().mul_scalar(0.0);
            (zero.clone(), zero)
        } else {
            let idx = Tensor::<B, 1, Int>::from_data(TensorData::new(rows, [n]), &device);
            let src = boxes.reshape([b * q, 4]).select(0, idx);
            let tgt = Tensor::<B, 2>::from_data(TensorData::new(tgt_boxes, [n, 4]), &device);
            (
                (src.clone() - tgt.clone())
                    .abs()
                    .sum()
                    .div_scalar(num_boxes),
                giou_loss(src, tgt).sum().div_scalar(num_boxes),
            )
        };
        let class_error = if matched == 0 {
            100.0
        } else {
            100.0 - 100.0 * correct as f32 / matched as f32
        };
        let cardinality_error = (0..b)
            .map(|bi| {
                let pred = (0..q)
                    .filter(|&s| {
                        let row = &host_logits[(bi * q + s) * c..(bi * q + s + 1) * c];
                        argmax(row) != c - 1
                    })
                    .count();
                (pred as f32 - targets[bi].labels.len() as f32).abs()
            })
            .sum::<f32>()
            / b as f32;
        Ok(LevelLosses {
            loss_ce,
            loss_bbox,
            loss_giou,
            class_error,
            cardinality_error,
            indices,
            loss_iouaware: None,
            loss_vector: None,
        })
    }

    /// Losses of every level (`levels` = aux outputs then the final output), and their
    /// weighted total.
    pub fn forward<B: VidtBackend>(
        &self,
        levels: &[(Tensor<B, 3>, Tensor<B, 3>)],
        targets: &[Target],
    ) -> Result<Losses<B>> {
        // Number of target boxes in the batch, at least 1.
        let num_boxes = (targets.iter().map(|t| t.labels.len()).sum::<usize>() as f32).max(1.0);
        self.forward_with_num_boxes(levels, targets, num_boxes)
    }

    /// As [`forward`](Self::forward), normalized by `num_boxes` counted over a larger batch
    /// (data parallel: the whole batch of which `targets` is a shard).
    pub fn forward_with_num_boxes<B: VidtBackend>(
        &self,
        levels: &[(Tensor<B, 3>, Tensor<B, 3>)],
        targets: &[Target],
        num_boxes: f32,
    ) -> Result<Losses<B>> {
        self.forward_plus(levels, None, targets, num_boxes)
    }

    /// Every level's losses, with the ViDT+ terms when `plus` is given (then every target must
    /// carry its instance masks), and the weighted total.
    pub fn forward_plus<B: VidtBackend>(
        &self,
        levels: &[(Tensor<B, 3>, Tensor<B, 3>)],
        plus: Option<&PlusOutputs<B>>,
        targets: &[Target],
        num_boxes: f32,
    ) -> Result<Losses<B>> {
        let mut out = levels
            .iter()
            .map(|(l, b)| self.level(l.clone(), b.clone(), targets, num_boxes))
            .collect::<Result<Vec<_>>>()?;
        let mut token = None;
        if let Some(p) = plus {
            if p.vectors.len() != levels.len() || p.ious.len() != levels.len() {
                return Err(VidtError::Input {
                    name: "ViDT+ outputs".into(),
                    reason: format!(
                        "{} vector and {} IoU levels for {} decoder levels",
                        p.vectors.len(),
                        p.ious.len(),
                        levels.len()
                    ),
                });
            }
            let masks = targets
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    t.masks
                        .as_ref()
                        .filter(|m| m.len() == t.labels.len())
                        .ok_or_else(|| VidtError::Input {
                            name: format!("target {i}"),
                            reason: "ViDT+ training needs an instance mask per object".into(),
                        })
                })
                .collect::<Result<Vec<_>>>()?;
            let canvas = canvas(masks.iter().copied());
            // Each object's vector target, once: every level matches it to its own query.
            let dct = MaskCodec::default();
            let vector_targets: Vec<Vec<Vec<f32>>> = masks
                .iter()
                .map(|m| {
                    (0..m.len())
                        .map(|j| dct.encode(&cropped_mask(m, j, canvas, dct.side())))
                        .collect()
                })
                .collect();
            for (l, ((_, boxes), (vectors, ious))) in out
                .iter_mut()
                .zip(levels.iter().zip(p.vectors.iter().zip(&p.ious)))
            {
                let (iou, vector) = self.plus_level(
                    boxes.clone(),
                    vectors.clone(),
                    ious.clone(),
                    &l.indices,
                    targets,
                    &vector_targets,
                    num_boxes,
                );
                l.loss_iouaware = Some(iou);
                l.loss_vector = Some(vector);
            }
            token = Some(self.token_losses(p, targets, &masks, canvas, num_boxes)?);
        }
        let w = self.weights;
        let total = out
            .iter()
            .map(|l| {
                let mut t = l.loss_ce.clone().mul_scalar(w.ce)
                    + l.loss_bbox.clone().mul_scalar(w.bbox)
                    + l.loss_giou.clone().mul_scalar(w.giou);
                if let (Some(i), Some(v)) = (&l.loss_iouaware, &l.loss_vector) {
                    t = t + i.clone().mul_scalar(w.iouaware) + v.clone().mul_scalar(w.vector);
                }
                t
            })
            .reduce(|a, b| a + b)
            .expect("at least one level");
        let total = match &token {
            Some((f, d)) => {
                total + f.clone().mul_scalar(w.token_focal) + d.clone().mul_scalar(w.token_dice)
            }
            None => total,
        };
        Ok(Losses {
            levels: out,
            token,
            total,
        })
    }

    /// One level's IoU-aware and vector losses on its matching; `vector_targets[b][j]` is
    /// image `b`'s object `j`'s.
    #[allow(clippy::too_many_arguments)]
    fn plus_level<B: VidtBackend>(
        &self,
        boxes: Tensor<B, 3>,
        vectors: Tensor<B, 3>,
        ious: Tensor<B, 3>,
        indices: &[Matching],
        targets: &[Target],
        vector_targets: &[Vec<Vec<f32>>],
        num_boxes: f32,
    ) -> (Tensor<B, 1>, Tensor<B, 1>) {
        let [b, q, k] = vectors.dims();
        let device = boxes.device();
        let (mut rows, mut tgt_boxes, mut tgt_vectors) = (Vec::new(), Vec::new(), Vec::new());
        for (bi, (src, tgt)) in indices.iter().enumerate() {
            for (&s, &j) in src.iter().zip(tgt) {
                rows.push((bi * q + s) as i64);
                tgt_boxes.extend_from_slice(&targets[bi].boxes[j]);
                tgt_vectors.extend_from_slice(&vector_targets[bi][j][..k]);
            }
        }
        let n = rows.len();
        if n == 0 {
            let zero = |t: Tensor<B, 3>| t.sum().mul_scalar(0.0);
            return (zero(ious), zero(vectors));
        }
        let idx = Tensor::<B, 1, Int>::from_data(TensorData::new(rows, [n]), &device);
        let src_boxes = boxes.reshape([b * q, 4]).select(0, idx.clone());
        let tgt_boxes = Tensor::<B, 2>::from_data(TensorData::new(tgt_boxes, [n, 4]), &device);
        // The IoU target stays in the graph, as the official loss (BCE takes its gradient too).
        let iou = box_iou(src_boxes, tgt_boxes);
        let logit = ious.reshape([b * q]).select(0, idx.clone());
        let loss_iouaware = bce_with_logits(logit, iou).sum().div_scalar(num_boxes);
        let src_vectors = vectors.reshape([b * q, k]).select(0, idx);
        let tgt_vectors = Tensor::<B, 2>::from_data(TensorData::new(tgt_vectors, [n, k]), &device);
        let loss_vector = (src_vectors - tgt_vectors)
            .abs()
            .mean()
            .mul_scalar(self.weights.vector_coef);
        (loss_iouaware, loss_vector)
    }

    /// The token-labeling focal and dice losses, summed over the token levels.
    fn token_losses<B: VidtBackend>(
        &self,
        p: &PlusOutputs<B>,
        targets: &[Target],
        masks: &[&crate::coco::InstanceMasks],
        canvas: (usize, usize),
        num_boxes: f32,
    ) -> Result<(Tensor<B, 1>, Tensor<B, 1>)> {
        let (Some(first), true) = (
            p.token_logits.first(),
            p.token_logits.len() == p.token_shapes.len(),
        ) else {
            return Err(VidtError::Input {
                name: "ViDT+ outputs".into(),
                reason: "no token-labeling logits, or not one (h, w) per level".into(),
            });
        };
        let [b, _, classes] = first.dims();
        let device = first.device();
        let per_image: Vec<Vec<Vec<f32>>> = targets
            .iter()
            .zip(masks)
            .map(|(t, m)| token_labels(m, &t.labels, canvas, &p.token_shapes, classes))
            .collect();
        let per_level =
            p.token_logits
                .iter()
                .zip(&p.token_shapes)
                .enumerate()
                .map(|(l, (logits, &(h, w)))| {
                    let data: Vec<f32> = per_image
                        .iter()
                        .flat_map(|v| v[l].iter().copied())
                        .collect();
                    let t = Tensor::<B, 3>::from_data(
                        TensorData::new(data, [b, h * w, classes]),
                        &device,
                    );
                    (
                        focal_loss_mean(logits.clone(), t.clone(), num_boxes),
                        dice_loss(logits.clone(), t, num_boxes),
                    )
                });
        Ok(per_level
            .reduce(|(f, d), (f2, d2)| (f + f2, d + d2))
            .expect("a level"))
    }
}
