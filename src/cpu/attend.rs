//! Softmax attention of one head, register-blocked for the vectorizer: 4 query rows x 8 keys of
//! scores (then 4 rows x the head dim of outputs) accumulate in fixed-size arrays, one named
//! variable per row, which LLVM keeps in registers (one AVX2 register, or two wasm SIMD ones,
//! per 8 lanes), so every key or value vector loaded serves 4 rows. Plain loops over a score
//! row instead load and store the row for every multiply-add. (Rows indexed out of one array
//! were not unrolled and stayed on the stack, as scalar code: hence the four variables.) The
//! Swin window kernel and the whole-sequence attention share it.
//!
//! A score is the head dim's products summed in order, plus the bias row; the softmax
//! subtracts the row max and multiplies by 1 / sum; an output sums `p * v` over the keys in
//! order. Only a row's max and sum are reduced lane-wise.

use super::exp::exp_nonpositive;

/// f32 lanes of one block column.
pub(super) const LANES: usize = 8;
/// Query rows per block.
const ROWS: usize = 4;

pub(super) type Lane = [f32; LANES];

/// `a += s * x`, lane-wise (a multiply then an add: no fused rounding).
#[inline(always)]
fn madd(a: &mut Lane, s: f32, x: &Lane) {
    for l in 0..LANES {
        a[l] += s * x[l];
    }
}

/// `a += s * x` over `HC` lanes.
#[inline(always)]
fn madd_row<const HC: usize>(a: &mut [Lane; HC], s: f32, x: &[Lane; HC]) {
    for h in 0..HC {
        madd(&mut a[h], s, &x[h]);
    }
}

/// Keys padded to a multiple of [`LANES`]: the length of a bias row.
pub(super) fn padded_keys(nk: usize) -> usize {
    nk.div_ceil(LANES) * LANES
}

/// One head's operands: queries (already scaled) `(nq, HC * LANES)` padded to a multiple of
/// [`ROWS`] rows, keys transposed `(hd, nk)` padded to [`padded_keys`], values `(nk)` rows of
/// `HC` lanes (padded rows zero).
pub(super) struct Head<const HC: usize> {
    q: Vec<f32>,
    kt: Vec<f32>,
    v: Vec<[Lane; HC]>,
    nq: usize,
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
        let (pq, pk) = (nq.div_ceil(ROWS) * ROWS, padded_keys(nk));
        let mut qs = vec![0f32; pq * hd];
        let mut kt = vec![0f32; hd * pk];
        let mut vs = vec![[[0f32; LANES]; HC]; pk];
        for (i, row) in qs.chunks_exact_mut(hd).take(nq).enumerate() {
            for (d, x) in row.iter_mut().enumerate() {
                *x = q(i, d);
            }
        }
        for (j, vj) in vs.iter_mut().take(nk).enumerate() {
            for d in 0..hd {
                kt[d * pk + j] = k(j, d);
                vj[d / LANES][d % LANES] = v(j, d);
            }
        }
        Self {
            q: qs,
            kt,
            v: vs,
            nq,
        }
    }

    /// `softmax(q kᵀ + bias(i)) v`, row by row into `write(i, row)`; `bias(i)` is query `i`'s
    /// row of [`padded_keys`] additive terms, -inf on the padded keys (they get no weight).
    #[inline(always)]
    pub fn attend<'b>(
        &self,
        bias: impl Fn(usize) -> &'b [f32],
        mut write: impl FnMut(usize, &[Lane; HC]),
    ) {
        let nq = self.nq;
        let hd = HC * LANES;
        let pk = self.v.len();
        let mut scores = vec![0f32; ROWS * pk];
        for i0 in (0..nq).step_by(ROWS) {
            {
                let q = |r: usize| &self.q[(i0 + r) * hd..][..hd];
                let (q0, q1, q2, q3) = (q(0), q(1), q(2), q(3));
                for k0 in (0..pk).step_by(LANES) {
                    let (mut a0, mut a1, mut a2, mut a3) =
                        ([0f32; LANES], [0f32; LANES], [0f32; LANES], [0f32; LANES]);
                    for d in 0..hd {
                        let k: &Lane = self.kt[d * pk + k0..][..LANES].try_into().unwrap();
                        madd(&mut a0, q0[d], k);
                        madd(&mut a1, q1[d], k);
                        madd(&mut a2, q2[d], k);
                        madd(&mut a3, q3[d], k);
                    }
                    for (r, a) in [a0, a1, a2, a3].iter().enumerate() {
                        // Padded rows reuse the last row's bias (their results are dropped).
                        let b = &bias((i0 + r).min(nq - 1))[k0..][..LANES];
                        let dst = &mut scores[r * pk + k0..][..LANES];
                        for l in 0..LANES {
                            dst[l] = a[l] + b[l];
                        }
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
            let (s0, rest) = scores.split_at(pk);
            let (s1, rest) = rest.split_at(pk);
            let (s2, s3) = rest.split_at(pk);
            let zero = [[0f32; LANES]; HC];
            let (mut o0, mut o1, mut o2, mut o3) = (zero, zero, zero, zero);
            for ((((vj, &p0), &p1), &p2), &p3) in self.v.iter().zip(s0).zip(s1).zip(s2).zip(s3) {
                madd_row(&mut o0, p0, vj);
                madd_row(&mut o1, p1, vj);
                madd_row(&mut o2, p2, vj);
                madd_row(&mut o3, p3, vj);
            }
            for (r, o) in [o0, o1, o2, o3].iter().enumerate() {
                if i0 + r < nq {
                    write(i0 + r, o);
                }
            }
        }
    }
}
