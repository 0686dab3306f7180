//! Softmax attention of one head, register-blocked for the vectorizer: 4 query rows x 8 keys of
//! scores (then 4 rows x the head dim of outputs) accumulate in fixed-size arrays, which LLVM
//! keeps in registers (one AVX2 register, or two wasm SIMD ones, per 8 lanes), so every key or
//! value vector loaded serves 4 rows. Plain loops over a score row instead load and store the
//! row for every multiply-add. The Swin window kernel and the whole-sequence attention share it.
//!
//! Same arithmetic, in the same order, as the plain loops: a score is the head dim's products
//! summed in order, plus the bias; the softmax subtracts the row max and multiplies by 1 / sum;
//! an output sums `p * v` over the keys in order. Only a row's max and sum are reduced
//! lane-wise.

use super::exp::exp_nonpositive;

/// f32 lanes of one block column.
pub(super) const LANES: usize = 8;
/// Query rows per block.
const ROWS: usize = 4;

pub(super) type Lane = [f32; LANES];

/// One head's operands: queries (already scaled) `(nq, HC * LANES)` padded to a multiple of
/// [`ROWS`] rows, keys transposed `(hd, nk)` padded to a multiple of [`LANES`] (padded keys
/// score -inf: they get no weight), values `(nk)` rows of `HC` lanes.
pub(super) struct Head<const HC: usize> {
    q: Vec<f32>,
    kt: Vec<f32>,
    v: Vec<[Lane; HC]>,
    nq: usize,
    nk: usize,
}

impl<const HC: usize> Head<HC> {
    /// `(nq, nk)` queries and keys; `q(i, d)`, `k(j, d)`, `v(j, d)` read element `d` of row
    /// `i` / `j` (q already scaled).
    #[inline(always)]
    pub fn new(
        (nq, nk): (usize, usize),
        q: impl Fn(usize, usize) -> f32,
        k: impl Fn(usize, usize) -> f32,
        v: impl Fn(usize, usize) -> f32,
    ) -> Self {
        let hd = HC * LANES;
        let (pq, pk) = (nq.div_ceil(ROWS) * ROWS, nk.div_ceil(LANES) * LANES);
        let mut qs = vec![0f32; pq * hd];
        let mut kt = vec![0f32; hd * pk];
        let mut vs = vec![[[0f32; LANES]; HC]; pk];
        for i in 0..nq {
            for d in 0..hd {
                qs[i * hd + d] = q(i, d);
            }
        }
        for j in 0..nk {
            for d in 0..hd {
                kt[d * pk + j] = k(j, d);
                vs[j][d / LANES][d % LANES] = v(j, d);
            }
        }
        Self {
            q: qs,
            kt,
            v: vs,
            nq,
            nk,
        }
    }

    /// `softmax(q kᵀ + bias(i, j)) v`, row by row into `write(i, row)`.
    #[inline(always)]
    pub fn attend(
        &self,
        bias: impl Fn(usize, usize) -> f32,
        mut write: impl FnMut(usize, &[Lane; HC]),
    ) {
        let (nq, nk) = (self.nq, self.nk);
        let hd = HC * LANES;
        let pk = self.v.len();
        let mut scores = vec![0f32; ROWS * pk];
        for i0 in (0..nq).step_by(ROWS) {
            for k0 in (0..pk).step_by(LANES) {
                let mut acc = [[0f32; LANES]; ROWS];
                for d in 0..hd {
                    let k: &Lane = self.kt[d * pk + k0..][..LANES].try_into().unwrap();
                    for (r, a) in acc.iter_mut().enumerate() {
                        let qd = self.q[(i0 + r) * hd + d];
                        for l in 0..LANES {
                            a[l] += qd * k[l];
                        }
                    }
                }
                for (r, a) in acc.iter().enumerate() {
                    // Padded rows reuse the last row's bias (their results are dropped).
                    let i = (i0 + r).min(nq - 1);
                    let dst = &mut scores[r * pk + k0..][..LANES];
                    for l in 0..LANES {
                        let j = k0 + l;
                        dst[l] = if j < nk {
                            a[l] + bias(i, j)
                        } else {
                            f32::NEG_INFINITY
                        };
                    }
                }
            }
            for row in scores.chunks_exact_mut(pk) {
                let mut mx = [f32::NEG_INFINITY; LANES];
                for chunk in row.chunks_exact(LANES) {
                    for l in 0..LANES {
                        mx[l] = mx[l].max(chunk[l]);
                    }
                }
                let mx = mx.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
                let mut sum = [0f32; LANES];
                for chunk in row.chunks_exact_mut(LANES) {
                    for l in 0..LANES {
                        chunk[l] = exp_nonpositive(chunk[l] - mx);
                        sum[l] += chunk[l];
                    }
                }
                let inv = 1.0 / sum.iter().sum::<f32>();
                for x in row.iter_mut() {
                    *x *= inv;
                }
            }
            let mut acc = [[[0f32; LANES]; HC]; ROWS];
            for (j, vj) in self.v.iter().enumerate() {
                for (r, a) in acc.iter_mut().enumerate() {
                    let p = scores[r * pk + j];
                    for h in 0..HC {
                        for l in 0..LANES {
                            a[h][l] += p * vj[h][l];
                        }
                    }
                }
            }
            for (r, a) in acc.iter().enumerate() {
                if i0 + r < nq {
                    write(i0 + r, a);
                }
            }
        }
    }
}
