//! Deformable attention's forward on the CPU: per query and head, bilinear samples of the value
//! map at each level and point (zero padding, `align_corners = false`: pixel = loc * size -
//! 0.5, as `grid_sample`), weighted and summed. The value's D channels of a head are contiguous,
//! so the inner loop is a vector multiply-add.

use super::for_chunks;

/// `value` `(N, S, M, D)`, `loc` `(N, Lq, M, L, P, 2)`, `attn` `(N, Lq, M, L, P)` ->
/// `(N, Lq, M * D)`.
pub(super) fn forward(
    value: &[f32],
    [_, s, m, d]: [usize; 4],
    shapes: &[(usize, usize)],
    loc: &[f32],
    [_, lq, _, l, p, _]: [usize; 6],
    attn: &[f32],
) -> Vec<f32> {
    let starts: Vec<usize> = shapes
        .iter()
        .scan(0, |acc, &(h, w)| {
            let s = *acc;
            *acc += h * w;
            Some(s)
        })
        .collect();
    let n = value.len() / (s * m * d);
    let mut out = vec![0f32; n * lq * m * d];
    for_chunks(&mut out, m * d, |row, o| {
        let b = row / lq;
        for head in 0..m {
            let acc = &mut o[head * d..(head + 1) * d];
            for (lvl, &(hh, ww)) in shapes.iter().enumerate() {
                for pt in 0..p {
                    let i = ((row * m + head) * l + lvl) * p + pt;
                    let a = attn[i];
                    // As the reference: the grid in [-1, 1] in f32, unnormalized in f64.
                    let gx = (loc[2 * i] * 2.0 - 1.0) as f64;
                    let gy = (loc[2 * i + 1] * 2.0 - 1.0) as f64;
                    let x = ((gx + 1.0) * ww as f64 - 1.0) / 2.0;
                    let y = ((gy + 1.0) * hh as f64 - 1.0) / 2.0;
                    if !(x > -1.0 && y > -1.0 && x < ww as f64 && y < hh as f64) {
                        continue;
                    }
                    let (x0, y0) = (x.floor(), y.floor());
                    let (fx, fy) = (x - x0, y - y0);
                    let corners = [
                        (y0, x0, (1.0 - fy) * (1.0 - fx)),
                        (y0, x0 + 1.0, (1.0 - fy) * fx),
                        (y0 + 1.0, x0, fy * (1.0 - fx)),
                        (y0 + 1.0, x0 + 1.0, fy * fx),
                    ];
                    for (yi, xi, cw) in corners {
                        if yi < 0.0 || xi < 0.0 || yi >= hh as f64 || xi >= ww as f64 {
                            continue;
                        }
                        let pix = starts[lvl] + yi as usize * ww + xi as usize;
                        let src = &value[((b * s + pix) * m + head) * d..][..d];
                        let k = (cw as f32) * a;
                        for (o, v) in acc.iter_mut().zip(src) {
                            *o += k * v;
                        }
                    }
                }
            }
        }
    });
    out
}
