//! The ViDT set criterion (`SetCriterion` with losses labels, boxes, cardinality): per decoder
//! level, Hungarian matching, then sigmoid focal loss (alpha 0.25, gamma 2) over all queries and
//! classes against one-hot targets, L1 and GIoU losses on the matched boxes, each divided by the
//! number of target boxes in the batch. The same on every auxiliary level, matched separately.

use burn::tensor::{Int, Tensor, TensorData};

use super::matcher::{Matcher, Matching};
use crate::coco::Target;
use crate::error::Result;
use crate::ops::VidtBackend;
use crate::tensor_map::read;

/// Loss weights of the official recipe.
#[derive(Clone, Copy, Debug)]
pub struct LossWeights {
    pub ce: f32,
    pub bbox: f32,
    pub giou: f32,
}

impl Default for LossWeights {
    fn default() -> Self {
        Self {
            ce: 2.0,
            bbox: 5.0,
            giou: 2.0,
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
}

/// All levels: `levels[0..k]` are the auxiliary outputs `_0.._{k-1}`, the last is the final one.
#[derive(Clone, Debug)]
pub struct Losses<B: VidtBackend> {
    pub levels: Vec<LevelLosses<B>>,
    /// Σ weight · loss over every level.
    pub total: Tensor<B, 1>,
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
    let prob = burn::tensor::activation::sigmoid(logits.clone());
    // BCE with logits, stable form: max(x, 0) - x t + log(1 + exp(-|x|)).
    let ce = logits.clone().clamp_min(0.0) - logits.clone() * targets.clone()
        + logits.abs().neg().exp().add_scalar(1.0).log();
    let one_minus_t = targets.clone().neg().add_scalar(1.0);
    let p_t = prob.clone() * targets.clone() + prob.neg().add_scalar(1.0) * one_minus_t.clone();
    let modulating = p_t.neg().add_scalar(1.0).powi_scalar(2);
    let alpha_t = targets.mul_scalar(0.25) + one_minus_t.mul_scalar(0.75);
    let loss = alpha_t * ce * modulating;
    loss.mean_dim(1)
        .sum()
        .div_scalar(num_boxes)
        .mul_scalar(q as f32)
}

/// 1 - GIoU of paired (cx, cy, w, h) boxes `(n, 4)`, as a `(n)` tensor.
pub fn giou_loss<B: VidtBackend>(src: Tensor<B, 2>, tgt: Tensor<B, 2>) -> Tensor<B, 1> {
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
        let levels = levels
            .iter()
            .map(|(l, b)| self.level(l.clone(), b.clone(), targets, num_boxes))
            .collect::<Result<Vec<_>>>()?;
        let w = self.weights;
        let total = levels
            .iter()
            .map(|l| {
                l.loss_ce.clone().mul_scalar(w.ce)
                    + l.loss_bbox.clone().mul_scalar(w.bbox)
                    + l.loss_giou.clone().mul_scalar(w.giou)
            })
            .reduce(|a, b| a + b)
            .expect("at least one level");
        Ok(Losses { levels, total })
    }
}
