//! DETR-style 2-D sine encoding of [PATCH] tokens for the stage-4 [DET x PATCH] attention.

use super::mask::PixelMask;

/// `(B, H, W, C)` encoding, channel-last, as a flat f32 vector: the first `C/2` channels
/// encode y, the rest x; within each half sin and cos are interleaved. Cumulative counts of
/// valid pixels are normalized by the last count (+1e-6) and scaled by 2π; temperature 10000.
pub fn masked_sine_encoding(mask: &PixelMask, channels: usize) -> Vec<f32> {
    let (b, h, w) = (mask.batch, mask.height, mask.width);
    let npf = channels / 2;
    let scale = 2.0 * std::f32::consts::PI;
    let dim_t: Vec<f32> = (0..npf)
        .map(|i| 10000f32.powf(2.0 * ((i / 2) as f32) / npf as f32))
        .collect();
    let mut out = vec![0f32; b * h * w * channels];
    let mut y_embed = vec![0f32; h * w];
    let mut x_embed = vec![0f32; h * w];
    for bi in 0..b {
        // Cumulative sums of the not-mask along y and x, in f32 like the reference.
        for x in 0..w {
            let mut acc = 0f32;
            for y in 0..h {
                acc += (!mask.get(bi, y, x)) as u8 as f32;
                y_embed[y * w + x] = acc;
            }
        }
        for y in 0..h {
            let mut acc = 0f32;
            for x in 0..w {
                acc += (!mask.get(bi, y, x)) as u8 as f32;
                x_embed[y * w + x] = acc;
            }
        }
        for y in 0..h {
            for x in 0..w {
                let ye = y_embed[y * w + x] / (y_embed[(h - 1) * w + x] + 1e-6) * scale;
                let xe = x_embed[y * w + x] / (x_embed[y * w + (w - 1)] + 1e-6) * scale;
                let o = ((bi * h + y) * w + x) * channels;
                for i in 0..npf {
                    let (py, px) = (ye / dim_t[i], xe / dim_t[i]);
                    let (vy, vx) = if i % 2 == 0 {
                        (py.sin(), px.sin())
                    } else {
                        (py.cos(), px.cos())
                    };
                    out[o + i] = vy;
                    out[o + npf + i] = vx;
                }
            }
        }
    }
    out
}
