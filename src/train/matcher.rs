//! The Hungarian matcher (DETR / Deformable DETR): per image, an exact linear-sum assignment of
//! queries to targets under C = 5·L1(cxcywh) + 2·focal class cost + 2·(-GIoU).
//!
//! The cost is computed in f32 in the reference's operation order and solved in f64 by `lsap`,
//! a port of SciPy's `linear_sum_assignment`, so ties resolve as in the reference.

use crate::boxes::{cxcywh_to_xyxy, generalized_iou};
use crate::coco::Target;
use crate::error::{Result, VidtError};

#[derive(Clone, Copy, Debug)]
pub struct Matcher {
    pub cost_class: f32,
    pub cost_bbox: f32,
    pub cost_giou: f32,
}

impl Default for Matcher {
    /// The official ViDT settings.
    fn default() -> Self {
        Self {
            cost_class: 2.0,
            cost_bbox: 5.0,
            cost_giou: 2.0,
        }
    }
}

/// Matched (query, target) index pairs of one image, queries ascending.
pub type Matching = (Vec<usize>, Vec<usize>);

impl Matcher {
    /// The `(Q, T)` cost matrix of one image (`logits`: `(Q, C)`, `boxes`: `(Q, 4)`).
    pub fn cost(&self, logits: &[f32], boxes: &[f32], classes: usize, t: &Target) -> Vec<f32> {
        let q = boxes.len() / 4;
        let (alpha, eps) = (0.25f32, 1e-8f32);
        let tb: Vec<[f32; 4]> = t.boxes.iter().map(|&b| cxcywh_to_xyxy(b)).collect();
        let mut c = Vec::with_capacity(q * t.labels.len());
        for i in 0..q {
            let ob = [
                boxes[i * 4],
                boxes[i * 4 + 1],
                boxes[i * 4 + 2],
                boxes[i * 4 + 3],
            ];
            let obx = cxcywh_to_xyxy(ob);
            for (j, &label) in t.labels.iter().enumerate() {
                let p = 1.0 / (1.0 + (-logits[i * classes + label]).exp());
                let neg = (1.0 - alpha) * (p * p) * (-(1.0 - p + eps).ln());
                let pos = alpha * ((1.0 - p) * (1.0 - p)) * (-(p + eps).ln());
                let class = pos - neg;
                let tbj = t.boxes[j];
                let l1 = (ob[0] - tbj[0]).abs()
                    + (ob[1] - tbj[1]).abs()
                    + (ob[2] - tbj[2]).abs()
                    + (ob[3] - tbj[3]).abs();
                let giou = -generalized_iou(obx, tb[j]);
                c.push(self.cost_bbox * l1 + self.cost_class * class + self.cost_giou * giou);
            }
        }
        c
    }

    /// Matches every image of a batch: `logits` `(B, Q, C)`, `boxes` `(B, Q, 4)`.
    pub fn match_batch(
        &self,
        logits: &[f32],
        boxes: &[f32],
        classes: usize,
        targets: &[Target],
    ) -> Result<Vec<Matching>> {
        let b = targets.len();
        let q = boxes.len() / (4 * b.max(1));
        targets
            .iter()
            .enumerate()
            .map(|(bi, t)| {
                let n = t.labels.len();
                if n == 0 {
                    return Ok((vec![], vec![]));
                }
                let c = self.cost(
                    &logits[bi * q * classes..(bi + 1) * q * classes],
                    &boxes[bi * q * 4..(bi + 1) * q * 4],
                    classes,
                    t,
                );
                let c64: Vec<f64> = c.into_iter().map(f64::from).collect();
                lsap::solve(q, n, &c64, false).map_err(|e| VidtError::Input {
                    name: format!("matching of image {bi}"),
                    reason: format!("no assignment ({e:?}): non-finite predictions?"),
                })
            })
            .collect()
    }
}
