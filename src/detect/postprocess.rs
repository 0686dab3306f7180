//! Post-processing (the official `PostProcess`): sigmoid scores flattened per image, top-k
//! (no threshold, no NMS), query = idx / classes, label = idx % classes, boxes cxcywh -> xyxy
//! scaled by the original image size.

use serde::{Serialize, Serializer};

use super::uqr::BoxMask;
use crate::boxes::{cxcywh_to_xyxy, iou};

/// One detection in original-image pixels.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Detection {
    pub score: f32,
    pub label_id: usize,
    pub label: String,
    /// `[xmin, ymin, xmax, ymax]`
    #[serde(rename = "box")]
    pub bbox: [f32; 4],
    /// The [DET] token (query) it came from.
    #[serde(skip)]
    pub query: usize,
    /// ViDT+: the instance mask, the bitmap of its extent (drawing, the browser); written as
    /// `segmentation`, COCO RLE over the whole image.
    #[serde(
        rename = "segmentation",
        skip_serializing_if = "Option::is_none",
        serialize_with = "mask_as_rle"
    )]
    pub mask: Option<BoxMask>,
}

fn mask_as_rle<S: Serializer>(mask: &Option<BoxMask>, s: S) -> Result<S::Ok, S::Error> {
    mask.as_ref().map(BoxMask::rle).serialize(s)
}

/// Greedy class-wise non-maximum suppression of detections sorted by descending score: a
/// detection is dropped when it overlaps a kept one of its class at IoU above `iou`.
pub fn nms(dets: Vec<Detection>, iou_max: f32) -> Vec<Detection> {
    let mut kept: Vec<Detection> = Vec::with_capacity(dets.len());
    for d in dets {
        if !kept
            .iter()
            .any(|k| k.label_id == d.label_id && iou(k.bbox, d.bbox) > iou_max)
        {
            kept.push(d);
        }
    }
    kept
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The name of label `id`: `names[id]`, else `class {id}`.
pub fn label_name(id: usize, names: &[String]) -> String {
    names
        .get(id)
        .cloned()
        .unwrap_or_else(|| format!("class {id}"))
}

/// Top-`k` detections of one image.
///
/// * `logits`: `(Q, C)` row-major; `boxes`: `(Q, 4)` (cx, cy, w, h) normalized
/// * `size`: original `(height, width)`
/// * `labels`: only these label ids (sorted), before the top-k; `None`: all
pub fn postprocess(
    logits: &[f32],
    boxes: &[f32],
    classes: usize,
    size: (usize, usize),
    k: usize,
    names: &[String],
    labels: Option<&[usize]>,
) -> Vec<Detection> {
    let scores: Vec<f32> = logits.iter().map(|&x| sigmoid(x)).collect();
    let mut order: Vec<usize> = (0..scores.len())
        .filter(|i| labels.is_none_or(|l| l.binary_search(&(i % classes)).is_ok()))
        .collect();
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
            let [x0, y0, x1, y1] = cxcywh_to_xyxy([b[0], b[1], b[2], b[3]]);
            let bbox = [x0 * w, y0 * h, x1 * w, y1 * h];
            Detection {
                score: scores[idx],
                label_id: label,
                label: label_name(label, names),
                bbox,
                query: q,
                mask: None,
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
            mask: None,
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
