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
