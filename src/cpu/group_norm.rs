//! GroupNorm of channel-last tokens on the CPU: the statistics of each (image, group) read in
//! place (no transposes), accumulated in f64, two passes as the reference (mean, then the mean
//! of squared deviations), then the affine in one pass.

use super::for_chunks;

/// `x` `(B, N, C)` -> the same.
pub(super) fn forward(
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    [b, n, c]: [usize; 3],
    groups: usize,
    eps: f64,
) -> Vec<f32> {
    let cg = c / groups;
    let count = (n * cg) as f64;
    // Per (image, group): mean and 1 / sqrt(var + eps).
    let mut stats = vec![0f32; b * groups * 2];
    for_chunks(&mut stats, 2, |bg, st| {
        let (bi, g) = (bg / groups, bg % groups);
        let rows = || (0..n).map(move |t| &x[(bi * n + t) * c + g * cg..][..cg]);
        let sum: f64 = rows().flatten().map(|&v| v as f64).sum();
        let mean = sum / count;
        let var: f64 = rows()
            .flatten()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / count;
        st[0] = mean as f32;
        st[1] = ((var as f32) + eps as f32).sqrt();
    });
    let mut out = vec![0f32; x.len()];
    for_chunks(&mut out, c, |row, o| {
        let bi = row / n;
        let src = &x[row * c..(row + 1) * c];
        for (ch, (y, &v)) in o.iter_mut().zip(src).enumerate() {
            let k = (bi * groups + ch / cg) * 2;
            *y = (v - stats[k]) / stats[k + 1] * weight[ch] + bias[ch];
        }
    });
    out
}
