//! Box arithmetic on the host, as the reference does it (`util/box_ops.py`, pycocotools):
//! conversions between (cx, cy, w, h), (x0, y0, x1, y1) and COCO's (x, y, w, h), areas, IoU and
//! generalized IoU. The criterion's differentiable GIoU is in tensor ops (`train::criterion`).

/// (cx, cy, w, h) -> (x0, y0, x1, y1)
pub fn cxcywh_to_xyxy(b: [f32; 4]) -> [f32; 4] {
    [
        b[0] - 0.5 * b[2],
        b[1] - 0.5 * b[3],
        b[0] + 0.5 * b[2],
        b[1] + 0.5 * b[3],
    ]
}

/// (x0, y0, x1, y1) -> (cx, cy, w, h)
pub fn xyxy_to_cxcywh(b: [f32; 4]) -> [f32; 4] {
    [
        (b[0] + b[2]) / 2.0,
        (b[1] + b[3]) / 2.0,
        b[2] - b[0],
        b[3] - b[1],
    ]
}

/// Pixel (x0, y0, x1, y1) -> (cx, cy, w, h) normalized to a `width` x `height` image.
pub fn xyxy_to_normalized_cxcywh(b: [f32; 4], width: f32, height: f32) -> [f32; 4] {
    let [cx, cy, w, h] = xyxy_to_cxcywh(b);
    [cx / width, cy / height, w / width, h / height]
}

/// (x0, y0, x1, y1) -> COCO's (x, y, w, h)
pub fn xyxy_to_xywh(b: [f32; 4]) -> [f32; 4] {
    [b[0], b[1], b[2] - b[0], b[3] - b[1]]
}

/// Area of an (x0, y0, x1, y1) box (negative extents count as given, as box_ops does).
pub fn area(b: [f32; 4]) -> f32 {
    (b[2] - b[0]) * (b[3] - b[1])
}

/// IoU of two (x0, y0, x1, y1) boxes; degenerate boxes have area 0 and IoU 0.
pub fn iou(a: [f32; 4], b: [f32; 4]) -> f32 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    let clamped = |r: [f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let union = clamped(a) + clamped(b) - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// Generalized IoU of two (x0, y0, x1, y1) boxes.
pub fn generalized_iou(a: [f32; 4], b: [f32; 4]) -> f32 {
    let inter_w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let inter_h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = inter_w * inter_h;
    let union = area(a) + area(b) - inter;
    let iou = inter / union;
    let hull_w = (a[2].max(b[2]) - a[0].min(b[0])).max(0.0);
    let hull_h = (a[3].max(b[3]) - a[1].min(b[1])).max(0.0);
    let hull = hull_w * hull_h;
    iou - (hull - union) / hull
}

/// pycocotools' IoU of a detection `d` and a ground-truth box `g`, both COCO (x, y, w, h) in
/// f64; against a crowd box the union is the detection's area alone.
pub fn coco_iou(d: [f64; 4], g: [f64; 4], crowd: bool) -> f64 {
    let (dx1, dy1, gx1, gy1) = (d[0] + d[2], d[1] + d[3], g[0] + g[2], g[1] + g[3]);
    let iw = dx1.min(gx1) - d[0].max(g[0]);
    let ih = dy1.min(gy1) - d[1].max(g[1]);
    if iw <= 0.0 || ih <= 0.0 {
        return 0.0;
    }
    let inter = iw * ih;
    let union = if crowd {
        d[2] * d[3]
    } else {
        d[2] * d[3] + g[2] * g[3] - inter
    };
    inter / union
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_invert_each_other() {
        let b = [10.0, 20.0, 4.0, 8.0];
        assert_eq!(xyxy_to_cxcywh(cxcywh_to_xyxy(b)), b);
        assert_eq!(cxcywh_to_xyxy(b), [8.0, 16.0, 12.0, 24.0]);
        assert_eq!(xyxy_to_xywh([8.0, 16.0, 12.0, 24.0]), [8.0, 16.0, 4.0, 8.0]);
    }

    #[test]
    fn iou_and_giou_of_known_pairs() {
        let a = [0.0, 0.0, 10.0, 10.0];
        assert_eq!(iou(a, [1.0, 1.0, 10.0, 10.0]), 0.81);
        assert_eq!(iou(a, [20.0, 20.0, 30.0, 30.0]), 0.0);
        // Apart by one box width: IoU 0, hull 30x10 = 300, union 200 -> GIoU -1/3.
        let g = generalized_iou(a, [20.0, 0.0, 30.0, 10.0]);
        assert!((g + 1.0 / 3.0).abs() < 1e-6, "{g}");
        assert_eq!(
            coco_iou([0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 5.0, 10.0], true),
            0.5
        );
    }
}
