//! Multi-head attention over whole sequences (RAM's [DET x DET] attention, the decoder's
//! self-attention; see [`crate::ops::attention`]) on the CPU: per image and head, q, k and v
//! are read at their column offsets (RAM's packed projection as it is, no slices or
//! transposed copies) into the register-blocked [`Head`]; images x heads run in parallel.

use super::attend::{Head, LANES, padded_keys};
use super::for_chunks;
use crate::ops::attention::Heads;

/// `q` `(B, nq, rq)`, `k` and `v` `(B, nk, rk)` / `(B, nk, rv)` row-major, with `rows` =
/// `[rq, rk, rv]` -> `(B, nq, width)`; `None` when the head dim is not a multiple of 8 up to 32
/// (the caller runs the reference).
pub(super) fn forward(
    [q, k, v]: [&[f32]; 3],
    rows: [usize; 3],
    (b, nq, nk): (usize, usize, usize),
    s: Heads,
) -> Option<Vec<f32>> {
    let hd = s.width / s.heads;
    let hc = hd / LANES;
    if hd % LANES != 0 || !(1..=4).contains(&hc) {
        return None;
    }
    // No bias: zeros, and -inf on the padded keys (one row for every image, head and query).
    let bias: Vec<f32> = (0..padded_keys(nk))
        .map(|j| if j < nk { 0.0 } else { f32::NEG_INFINITY })
        .collect();
    let one = One {
        q,
        k,
        v,
        rows,
        nq,
        nk,
        s,
        bias: &bias,
    };
    // Head-major results, then interleaved into rows.
    let mut per_head = vec![0f32; b * s.heads * nq * hd];
    for_chunks(&mut per_head, nq * hd, |bh, out| match hc {
        1 => run::<1>(&one, bh, out),
        2 => run::<2>(&one, bh, out),
        3 => run::<3>(&one, bh, out),
        _ => run::<4>(&one, bh, out),
    });
    let mut out = vec![0f32; b * nq * s.width];
    for (bh, block) in per_head.chunks_exact(nq * hd).enumerate() {
        let (bi, head) = (bh / s.heads, bh % s.heads);
        for (i, row) in block.chunks_exact(hd).enumerate() {
            out[(bi * nq + i) * s.width + head * hd..][..hd].copy_from_slice(row);
        }
    }
    Some(out)
}

/// What every image x head shares.
struct One<'a> {
    q: &'a [f32],
    k: &'a [f32],
    v: &'a [f32],
    rows: [usize; 3],
    nq: usize,
    nk: usize,
    s: Heads,
    /// The bias row of every query.
    bias: &'a [f32],
}

/// Image x head `bh` into `out` `(nq, hd)`, in AVX2 registers where the CPU has them.
fn run<const HC: usize>(one: &One, bh: usize, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if super::simd::has_avx2() {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        return unsafe { run_avx2::<HC>(one, bh, out) };
    }
    one.run::<HC>(bh, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2<const HC: usize>(one: &One, bh: usize, out: &mut [f32]) {
    one.run::<HC>(bh, out)
}

impl One<'_> {
    #[inline(always)]
    fn run<const HC: usize>(&self, bh: usize, out: &mut [f32]) {
        let hd = HC * LANES;
        let (bi, head) = (bh / self.s.heads, bh % self.s.heads);
        let [rq, rk, rv] = self.rows;
        let [cq, ck, cv] = self.s.cols.map(|c| c + head * hd);
        let (nq, nk, scale) = (self.nq, self.nk, self.s.scale);
        let h = Head::<HC>::new(
            (nq, nk),
            |i, d| self.q[(bi * nq + i) * rq + cq + d] * scale,
            |j, d| self.k[(bi * nk + j) * rk + ck + d],
            |j, d| self.v[(bi * nk + j) * rv + cv + d],
        );
        h.attend(
            |_| self.bias,
            |i, o| {
                for (hh, lane) in o.iter().enumerate() {
                    out[i * hd + hh * LANES..][..LANES].copy_from_slice(lane);
                }
            },
        );
    }
}
