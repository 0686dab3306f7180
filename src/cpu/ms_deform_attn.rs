//! Deformable attention's forward on the CPU: per query and head, bilinear samples of the value
//! map at each level and point (zero padding, `align_corners = false`: pixel = loc * size -
//! 0.5, as `grid_sample`), weighted and summed. The value's D channels of a head are contiguous,
//! so the inner loop is a vector multiply-add.
//!
//! [`projected`] takes the memory before the value projection: the attention is linear in the
//! value, so per query and head it sums the weighted memory rows its samples touch and projects
//! that one sum (and the bias by the sum of the weights). A decoder layer then projects 100
//! queries x 8 heads rows of 256 into 32, not every memory token (2,125 at 320x320) into 256:
//! a tenth of the work, the same result up to float rounding.

use super::{for_chunks, simd};

/// Where a deformable attention reads: the levels' shapes and first rows, the sampling
/// locations `(N, Lq, M, L, P, 2)` and attention weights `(N, Lq, M, L, P)`.
struct Sampling<'a> {
    shapes: &'a [(usize, usize)],
    starts: Vec<usize>,
    loc: &'a [f32],
    attn: &'a [f32],
    /// Heads and points per level.
    m: usize,
    p: usize,
}

impl<'a> Sampling<'a> {
    fn new(
        shapes: &'a [(usize, usize)],
        loc: &'a [f32],
        attn: &'a [f32],
        m: usize,
        p: usize,
    ) -> Self {
        let starts = shapes
            .iter()
            .scan(0, |acc, &(h, w)| {
                let s = *acc;
                *acc += h * w;
                Some(s)
            })
            .collect();
        Self {
            shapes,
            starts,
            loc,
            attn,
            m,
            p,
        }
    }

    /// Calls `f(pixel, weight)` for every in-bounds bilinear corner of query row `row`
    /// (batch-major) and `head`, the weight being the corner's times the attention weight;
    /// `pixel` indexes the levels' concatenated rows.
    #[inline(always)]
    fn corners(&self, row: usize, head: usize, mut f: impl FnMut(usize, f32)) {
        let (l, p) = (self.shapes.len(), self.p);
        for (lvl, &(hh, ww)) in self.shapes.iter().enumerate() {
            for pt in 0..p {
                let i = ((row * self.m + head) * l + lvl) * p + pt;
                let a = self.attn[i];
                // As the reference: the grid in [-1, 1] in f32, unnormalized in f64.
                let gx = (self.loc[2 * i] * 2.0 - 1.0) as f64;
                let gy = (self.loc[2 * i + 1] * 2.0 - 1.0) as f64;
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
                    let pix = self.starts[lvl] + yi as usize * ww + xi as usize;
                    f(pix, (cw as f32) * a);
                }
            }
        }
    }
}

/// `value` `(N, S, M, D)`, `loc` `(N, Lq, M, L, P, 2)`, `attn` `(N, Lq, M, L, P)` ->
/// `(N, Lq, M * D)`.
pub(super) fn forward(
    value: &[f32],
    [_, s, m, d]: [usize; 4],
    shapes: &[(usize, usize)],
    loc: &[f32],
    [_, lq, _, _, p, _]: [usize; 6],
    attn: &[f32],
) -> Vec<f32> {
    let sampling = Sampling::new(shapes, loc, attn, m, p);
    let n = value.len() / (s * m * d);
    let mut out = vec![0f32; n * lq * m * d];
    for_chunks(&mut out, m * d, |row, o| {
        simd::wide(|| {
            let b = row / lq;
            for head in 0..m {
                let acc = &mut o[head * d..(head + 1) * d];
                sampling.corners(row, head, |pix, k| {
                    let src = &value[((b * s + pix) * m + head) * d..][..d];
                    for (o, v) in acc.iter_mut().zip(src) {
                        *o += k * v;
                    }
                });
            }
        })
    });
    out
}

/// The operands of [`projected`]: the memory `(N, S, C)` with its keep weights `(N, S)` (0 on
/// padded pixels) and the value projection, `weight` `(C, M*D)` row-major and `bias` `(M*D)`.
pub(super) struct Memory<'a> {
    pub memory: &'a [f32],
    pub keep: &'a [f32],
    pub weight: &'a [f32],
    pub bias: Option<&'a [f32]>,
    /// `[N, S, C]`
    pub dims: [usize; 3],
}

/// [`forward`] of the value `((memory @ weight + bias) * keep)` split into `M` heads, without
/// projecting the memory: `(N, Lq, M * D)`.
pub(super) fn projected(
    mem: &Memory,
    m: usize,
    shapes: &[(usize, usize)],
    loc: &[f32],
    [_, lq, _, _, p, _]: [usize; 6],
    attn: &[f32],
) -> Vec<f32> {
    let [n, s, c] = mem.dims;
    let width = mem.weight.len() / c;
    let d = width / m;
    let sampling = Sampling::new(shapes, loc, attn, m, p);
    let mut out = vec![0f32; n * lq * width];
    for_chunks(&mut out, width, |row, o| {
        simd::wide(|| {
            let b = row / lq;
            let mut sum = vec![0f32; c];
            for head in 0..m {
                sum.fill(0.0);
                let mut total = 0f32;
                sampling.corners(row, head, |pix, k| {
                    let k = k * mem.keep[b * s + pix];
                    if k != 0.0 {
                        let src = &mem.memory[(b * s + pix) * c..][..c];
                        for (o, v) in sum.iter_mut().zip(src) {
                            *o += k * v;
                        }
                        total += k;
                    }
                });
                // The head's D outputs: sum @ weight[:, head] + total * bias[head].
                let acc = &mut o[head * d..(head + 1) * d];
                if let Some(bias) = mem.bias {
                    for (a, b) in acc.iter_mut().zip(&bias[head * d..]) {
                        *a = total * b;
                    }
                }
                for (i, &x) in sum.iter().enumerate() {
                    let w = &mem.weight[i * width + head * d..][..d];
                    for (a, w) in acc.iter_mut().zip(w) {
                        *a += x * w;
                    }
                }
            }
        })
    });
    out
}
