//! Swin window attention from the qkv map (see [`crate::ops::swin_attention`]): per window, its
//! tokens are gathered by index arithmetic — window token `(ty, tx)` of window `(wy, wx)` is
//! pixel `((wy*ws + ty + shift) % Hp, (wx*ws + tx + shift) % Wp)` of the padded map, a padded
//! pixel's qkv being the projection's bias — attended per head with the table's bias and the
//! region mask, and written back to the same pixels (those inside the map).

use super::for_chunks;
use crate::ops::SwinWindows;

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

/// `qkv` `(B, H, W, 3C)` without the bias, `bias` `(3C)`, `table` `((2ws-1)^2, heads)` -> `(B, H, W, C)`.
pub(super) fn forward(
    qkv: &[f32],
    bias: &[f32],
    table: &[f32],
    [b, h, w, c3]: [usize; 4],
    s: SwinWindows,
) -> Vec<f32> {
    let (ws, shift, heads) = (s.ws, s.shift, s.heads);
    let (hp, wp) = s.padded(h, w);
    let (nh, nw, n) = (hp / ws, wp / ws, ws * ws);
    let c = c3 / 3;
    let hd = c / heads;
    let side = 2 * ws - 1;
    // Window-major results, then scattered to their pixels.
    let mut per_window = vec![0f32; b * nh * nw * n * c];
    for_chunks(&mut per_window, n * c, |win, out| {
        let (bi, wi) = (win / (nh * nw), win % (nh * nw));
        let (wy, wx) = (wi / nw, wi % nw);
        let mut g = vec![0f32; n * c3];
        let mut ids = vec![0usize; n];
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
            ids[t] = region(y, hp, ws, shift) * 3 + region(x, wp, ws, shift);
        }
        let mut kt = vec![0f32; hd * n];
        let mut v = vec![0f32; n * hd];
        let mut srow = vec![0f32; n];
        for head in 0..heads {
            let (qo, ko, vo) = (head * hd, c + head * hd, 2 * c + head * hd);
            for j in 0..n {
                for d in 0..hd {
                    kt[d * n + j] = g[j * c3 + ko + d];
                    v[j * hd + d] = g[j * c3 + vo + d];
                }
            }
            for i in 0..n {
                srow.fill(0.0);
                for d in 0..hd {
                    let q = g[i * c3 + qo + d] * s.scale;
                    for (sj, k) in srow.iter_mut().zip(&kt[d * n..(d + 1) * n]) {
                        *sj += q * k;
                    }
                }
                let (iy, ix) = (i / ws, i % ws);
                let mut mx = f32::NEG_INFINITY;
                for (j, sj) in srow.iter_mut().enumerate() {
                    let rel = (iy + ws - 1 - j / ws) * side + (ix + ws - 1 - j % ws);
                    *sj += table[rel * heads + head];
                    if shift > 0 && ids[i] != ids[j] {
                        *sj += -100.0;
                    }
                    mx = mx.max(*sj);
                }
                let mut sum = 0.0;
                for sj in srow.iter_mut() {
                    *sj = (*sj - mx).exp();
                    sum += *sj;
                }
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
