//! Box arithmetic as the reference does it (`util/box_ops.py`), in f32 on the host.

/// (cx, cy, w, h) -> (x0, y0, x1, y1)
pub fn cxcywh_to_xyxy(b: [f32; 4]) -> [f32; 4] {
    [
        b[0] - 0.5 * b[2],
        b[1] - 0.5 * b[3],
        b[0] + 0.5 * b[2],
        b[1] + 0.5 * b[3],
    ]
}

fn area(b: [f32; 4]) -> f32 {
    (b[2] - b[0]) * (b[3] - b[1])
}

/// Generalized IoU of two xyxy boxes.
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
