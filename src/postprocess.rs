//! Post-processing (the official `PostProcess`): sigmoid scores flattened per image, top-k
//! (no threshold, no NMS), query = idx / classes, label = idx % classes, boxes cxcywh -> xyxy
//! scaled by the original image size.

use serde::Serialize;

/// One detection in original-image pixels.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Detection {
    pub score: f32,
    pub label_id: usize,
    pub label: String,
    /// `[xmin, ymin, xmax, ymax]`
    pub bbox: [f32; 4],
    /// The [DET] token (query) it came from.
    pub query: usize,
}

/// What a model recommends for display (stored in its model file): a score threshold, and
/// class-wise NMS at this IoU for a model still prone to near-duplicate boxes. Not part of the
/// official post-processing (top-k only), which is what applies when both are absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct PostDefaults {
    pub threshold: Option<f32>,
    pub nms_iou: Option<f32>,
}

impl PostDefaults {
    /// Both values in range (threshold in [0, 1], IoU in (0, 1]), or the one that is not.
    pub fn check(&self) -> std::result::Result<(), String> {
        if let Some(t) = self.threshold.filter(|t| !(0.0..=1.0).contains(t)) {
            return Err(format!("score threshold {t} is not in [0, 1]"));
        }
        if let Some(t) = self.nms_iou.filter(|t| !(*t > 0.0 && *t <= 1.0)) {
            return Err(format!("NMS IoU {t} is not in (0, 1]"));
        }
        Ok(())
    }
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    let area = |r: &[f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let union = area(a) + area(b) - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// Greedy class-wise non-maximum suppression of detections sorted by descending score: a
/// detection is dropped when it overlaps a kept one of its class at IoU above `iou`.
pub fn nms(dets: Vec<Detection>, iou_max: f32) -> Vec<Detection> {
    let mut kept: Vec<Detection> = Vec::with_capacity(dets.len());
    for d in dets {
        if !kept
            .iter()
            .any(|k| k.label_id == d.label_id && iou(&k.bbox, &d.bbox) > iou_max)
        {
            kept.push(d);
        }
    }
    kept
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Top-`k` detections of one image.
///
/// * `logits`: `(Q, C)` row-major; `boxes`: `(Q, 4)` (cx, cy, w, h) normalized
/// * `size`: original `(height, width)`
pub fn postprocess(
    logits: &[f32],
    boxes: &[f32],
    classes: usize,
    size: (usize, usize),
    k: usize,
    names: &[String],
) -> Vec<Detection> {
    let scores: Vec<f32> = logits.iter().map(|&x| sigmoid(x)).collect();
    let mut order: Vec<usize> = (0..scores.len()).collect();
    let k = k.min(order.len());
    // Descending by score; ties by index, as a stable sort would give.
    let cmp = |a: &usize, b: &usize| scores[*b].total_cmp(&scores[*a]).then(a.cmp(b));
    if k < order.len() {
        order.select_nth_unstable_by(k, cmp);
        order.truncate(k);
    }
    order.sort_by(cmp);
    let (h, w) = (size.0 as f32, size.1 as f32);
    order
        .into_iter()
        .map(|idx| {
            let (q, label) = (idx / classes, idx % classes);
            let b = &boxes[q * 4..q * 4 + 4];
            let (cx, cy, bw, bh) = (b[0], b[1], b[2], b[3]);
            let bbox = [
                (cx - 0.5 * bw) * w,
                (cy - 0.5 * bh) * h,
                (cx + 0.5 * bw) * w,
                (cy + 0.5 * bh) * h,
            ];
            Detection {
                score: scores[idx],
                label_id: label,
                label: crate::coco::label_name(label, names),
                bbox,
                query: q,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(score: f32, label_id: usize, bbox: [f32; 4]) -> Detection {
        Detection {
            score,
            label_id,
            label: String::new(),
            bbox,
            query: 0,
        }
    }

    #[test]
    fn nms_drops_overlapping_boxes_of_a_class_only() {
        let dets = vec![
            det(0.9, 1, [0.0, 0.0, 10.0, 10.0]),
            // IoU 81/100 with the first: dropped at 0.7, kept at 0.9.
            det(0.8, 1, [1.0, 1.0, 10.0, 10.0]),
            // Same box, other class: kept.
            det(0.7, 2, [0.0, 0.0, 10.0, 10.0]),
            // Same class, apart: kept.
            det(0.6, 1, [20.0, 20.0, 30.0, 30.0]),
        ];
        let scores = |d: Vec<Detection>| d.iter().map(|d| d.score).collect::<Vec<_>>();
        assert_eq!(scores(nms(dets.clone(), 0.7)), vec![0.9, 0.7, 0.6]);
        assert_eq!(scores(nms(dets, 0.9)), vec![0.9, 0.8, 0.7, 0.6]);
    }
}
