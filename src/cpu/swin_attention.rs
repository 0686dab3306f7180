//! Swin window attention from the qkv map (see [`crate::ops::swin_attention`]): per window, its
//! tokens are gathered by index arithmetic — window token `(ty, tx)` of window `(wy, wx)` is
//! pixel `((wy*ws + ty + shift) % Hp, (wx*ws + tx + shift) % Wp)` of the padded map, a padded
//! pixel's qkv being the projection's bias — attended per head with the table's bias and the
//! region mask, and written back to the same pixels (those inside the map).
//!
//! The loops are laid out for the vectorizer: the relative bias is gathered once per call into
//! `(heads, n, n)`, the region mask only exists for windows that straddle regions, keys are
//! transposed so a score row is a run of multiply-adds over contiguous keys, and `exp` is a
//! vectorizable polynomial. Where the head dim is a multiple of 8 (every Swin preset's is) the
//! products are register-blocked ([`Head`]): 4 query rows x 8 keys (or x the head dim) of
//! accumulators live in registers while a key (value) vector is loaded once for the 4 rows;
//! the plain loops reloaded and stored a score row per multiply-add. The window loop runs in
//! AVX2 registers where the CPU has them ([`super::simd`]).

use super::attend::{Head, LANES, padded_keys};
use super::exp::exp_nonpositive;
use super::for_chunks;
use crate::ops::SwinWindows;
use crate::ops::window::relative_position_index;

/// The region of row / column `i` of a padded side `n` in the shifted frame (the reference's
/// `shift_mask`): 0 before `n - ws`, 1 before `n - shift`, 2 after.
fn region(i: usize, n: usize, ws: usize, shift: usize) -> usize {
    if i < n - ws {
        0
    } else if i < n - shift {
        1
    } else {
        2
    }
}

/// What every window of one call shares.
struct Call<'a> {
    qkv: &'a [f32],
    bias: &'a [f32],
    /// `(heads, n, n)` relative position bias.
    rel: Vec<f32>,
    /// The same as `(heads, n, padded_keys(n))` bias rows.
    rel_rows: Vec<f32>,
    dims: [usize; 4],
    s: SwinWindows,
}

/// `qkv` `(B, H, W, 3C)` without the bias, `bias` `(3C)`, `table` `((2ws-1)^2, heads)` -> `(B, H, W, C)`.
pub(super) fn forward(
    qkv: &[f32],
    bias: &[f32],
    table: &[f32],
    dims @ [b, h, w, c3]: [usize; 4],
    s: SwinWindows,
) -> Vec<f32> {
    let (ws, shift, heads) = (s.ws, s.shift, s.heads);
    let (hp, wp) = s.padded(h, w);
    let (nh, nw, n) = (hp / ws, wp / ws, ws * ws);
    let c = c3 / 3;
    let index = relative_position_index(ws);
    let mut rel = vec![0f32; heads * n * n];
    for head in 0..heads {
        for (r, &k) in rel[head * n * n..][..n * n].iter_mut().zip(&index) {
            *r = table[k * heads + head];
        }
    }
    // The blocked loops' rows: keys padded, the padding -inf.
    let pk = padded_keys(n);
    let mut rel_rows = vec![f32::NEG_INFINITY; heads * n * pk];
    for (dst, src) in rel_rows.chunks_exact_mut(pk).zip(rel.chunks_exact(n)) {
        dst[..n].copy_from_slice(src);
    }
    let call = Call {
        qkv,
        bias,
        rel,
        rel_rows,
        dims,
        s,
    };
    // Window-major results, then scattered to their pixels.
    let mut per_window = vec![0f32; b * nh * nw * n * c];
    for_chunks(&mut per_window, n * c, |win, out| {
        #[cfg(target_arch = "x86_64")]
        if super::simd::has_avx2() {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            return unsafe { window_avx2(&call, win, out) };
        }
        window(&call, win, out)
    });
    let mut out = vec![0f32; b * h * w * c];
    for win in 0..b * nh * nw {
        let (bi, wi) = (win / (nh * nw), win % (nh * nw));
        let (wy, wx) = (wi / nw, wi % nw);
        for t in 0..n {
            let (py, px) = (
                (wy * ws + t / ws + shift) % hp,
                (wx * ws + t % ws + shift) % wp,
            );
            if py < h && px < w {
                out[((bi * h + py) * w + px) * c..][..c]
                    .copy_from_slice(&per_window[(win * n + t) * c..][..c]);
            }
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn window_avx2(call: &Call, win: usize, out: &mut [f32]) {
    window(call, win, out)
}

/// Window `win` (batch-major) into `out` `(n, C)`.
#[inline(always)]
fn window(call: &Call, win: usize, out: &mut [f32]) {
    let Call {
        qkv,
        bias,
        ref rel,
        ref rel_rows,
        dims: [_, h, w, c3],
        s,
    } = *call;
    let (ws, shift, heads) = (s.ws, s.shift, s.heads);
    let (hp, wp) = s.padded(h, w);
    let (nh, nw, n) = (hp / ws, wp / ws, ws * ws);
    let c = c3 / 3;
    let hd = c / heads;
    let (bi, wi) = (win / (nh * nw), win % (nh * nw));
    let (wy, wx) = (wi / nw, wi % nw);
    let mut g = vec![0f32; n * c3];
    let mut ids = vec![0u32; n];
    for t in 0..n {
        let (y, x) = (wy * ws + t / ws, wx * ws + t % ws);
        let (py, px) = ((y + shift) % hp, (x + shift) % wp);
        let dst = &mut g[t * c3..(t + 1) * c3];
        if py < h && px < w {
            let row = &qkv[((bi * h + py) * w + px) * c3..][..c3];
            for ((d, x), b) in dst.iter_mut().zip(row).zip(bias) {
                *d = x + b;
            }
        } else {
            dst.copy_from_slice(bias);
        }
        ids[t] = (region(y, hp, ws, shift) * 3 + region(x, wp, ws, shift)) as u32;
    }
    // The region mask matters only where the window's tokens are not all in one region.
    let masked = shift > 0 && ids.iter().any(|&r| r != ids[0]);
    let hc = hd / LANES;
    if hd % LANES == 0 && (1..=4).contains(&hc) {
        let ids = masked.then_some(&ids[..]);
        let pk = padded_keys(n);
        for head in 0..heads {
            let rel = &rel_rows[head * n * pk..][..n * pk];
            let w = Blocked {
                g: &g,
                c,
                head,
                scale: s.scale,
                rel,
                ids,
            };
            match hc {
                1 => w.run::<1>(out),
                2 => w.run::<2>(out),
                3 => w.run::<3>(out),
                _ => w.run::<4>(out),
            }
        }
        return;
    }
    let mut q = vec![0f32; n * hd];
    let mut kt = vec![0f32; hd * n];
    let mut v = vec![0f32; n * hd];
    let mut srow = vec![0f32; n];
    for head in 0..heads {
        let (qo, ko, vo) = (head * hd, c + head * hd, 2 * c + head * hd);
        for j in 0..n {
            let row = &g[j * c3..][..c3];
            for d in 0..hd {
                q[j * hd + d] = row[qo + d] * s.scale;
                kt[d * n + j] = row[ko + d];
            }
            v[j * hd..][..hd].copy_from_slice(&row[vo..vo + hd]);
        }
        let rel = &rel[head * n * n..][..n * n];
        for i in 0..n {
            srow.fill(0.0);
            for (d, &qd) in q[i * hd..][..hd].iter().enumerate() {
                for (sj, k) in srow.iter_mut().zip(&kt[d * n..(d + 1) * n]) {
                    *sj += qd * k;
                }
            }
            for (sj, r) in srow.iter_mut().zip(&rel[i * n..(i + 1) * n]) {
                *sj += r;
            }
            if masked {
                let own = ids[i];
                for (sj, &r) in srow.iter_mut().zip(&ids) {
                    *sj += if r != own { -100.0 } else { 0.0 };
                }
            }
            let mx = srow.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
            for sj in srow.iter_mut() {
                *sj = exp_nonpositive(*sj - mx);
            }
            let sum: f32 = srow.iter().sum();
            let inv = 1.0 / sum;
            let o = &mut out[i * c + qo..i * c + qo + hd];
            for (j, p) in srow.iter().enumerate() {
                let p = p * inv;
                for (od, vd) in o.iter_mut().zip(&v[j * hd..(j + 1) * hd]) {
                    *od += p * vd;
                }
            }
        }
    }
}

/// One head of a window through the register-blocked [`Head`].
struct Blocked<'a> {
    /// The window's gathered qkv rows `(n, 3C)`.
    g: &'a [f32],
    c: usize,
    head: usize,
    scale: f32,
    /// `(n, padded_keys(n))` relative bias rows of the head.
    rel: &'a [f32],
    /// Region ids, when the window straddles regions.
    ids: Option<&'a [u32]>,
}

impl Blocked<'_> {
    /// The head's columns of `out` `(n, C)`; `HC` = head dim / [`LANES`].
    #[inline(always)]
    fn run<const HC: usize>(&self, out: &mut [f32]) {
        let (g, c, c3) = (self.g, self.c, 3 * self.c);
        let hd = HC * LANES;
        let n = g.len() / c3;
        let (qo, ko, vo) = (self.head * hd, c + self.head * hd, 2 * c + self.head * hd);
        let at = |j: usize, col: usize| g[j * c3 + col];
        let head = Head::<HC>::new(
            (n, n),
            |j, d| at(j, qo + d) * self.scale,
            |j, d| at(j, ko + d),
            |j, d| at(j, vo + d),
        );
        let pk = padded_keys(n);
        // A straddling window's rows carry the region mask too.
        let masked;
        let rows = match self.ids {
            Some(ids) => {
                let mut m = self.rel.to_vec();
                for (i, row) in m.chunks_exact_mut(pk).enumerate() {
                    for (x, &r) in row.iter_mut().zip(ids) {
                        *x += if r != ids[i] { -100.0 } else { 0.0 };
                    }
                }
                masked = m;
                &masked[..]
            }
            None => self.rel,
        };
        head.attend(
            |i| &rows[i * pk..][..pk],
            |i, o| {
                let dst = &mut out[i * c + qo..][..hd];
                for (h, lane) in o.iter().enumerate() {
                    dst[h * LANES..][..LANES].copy_from_slice(lane);
                }
            },
        );
    }
}
