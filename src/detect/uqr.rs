//! ViDT+ instance masks from the UQR vectors (unified query representation): each [DET] token
//! predicts the first 256 zigzag-ordered DCT coefficients of a 128x128 mask of its box.
//!
//! Decoding is the official `PostProcess` with its `ProcessorDCT`: inverse zigzag, the
//! orthonormal 2-D inverse DCT (`cv2.idct` on a float64 array, so f64 here), 1 where above the
//! midpoint of the mask's min and max; then detectron2's `paste_masks_in_image` puts it into
//! the image at the detection's box (bilinear `grid_sample` at pixel centres, `>= 0.5`).

use crate::rle::{Rle, rle_encode};

/// The official mask side (`gt_mask_len`).
pub const MASK_LEN: usize = 128;
/// The official vector length (`n_keep`), the model's vector head width.
pub use crate::model::plus::N_KEEP;

/// Flat positions (`row * n + col`) of the first `keep` entries of the zigzag scan of an
/// `n x n` matrix (JPEG order: even anti-diagonals run up, odd ones down), as the official
/// `ProcessorDCT.zigzag_table` for even `n`.
pub fn zigzag(n: usize, keep: usize) -> Vec<usize> {
    let keep = keep.min(n * n);
    let mut out = Vec::with_capacity(keep);
    for s in 0..(2 * n).saturating_sub(1) {
        let (lo, hi) = (s.saturating_sub(n - 1), s.min(n - 1));
        let mut push = |v: usize| {
            if out.len() < keep {
                out.push(v * n + (s - v));
            }
        };
        if s % 2 == 0 {
            (lo..=hi).rev().for_each(&mut push);
        } else {
            (lo..=hi).for_each(&mut push);
        }
        if out.len() == keep {
            break;
        }
    }
    out
}

/// Decodes UQR vectors into binary `n x n` masks, and encodes masks into vectors (training
/// targets); the zigzag table and the DCT basis are computed once.
pub struct MaskCodec {
    n: usize,
    table: Vec<usize>,
    /// `basis[k * n + x] = c_k cos(pi (2x + 1) k / 2n)`, the orthonormal DCT-III rows.
    basis: Vec<f64>,
    /// Rows and columns holding a coefficient: the transform skips the zero rest.
    band: usize,
}

impl Default for MaskCodec {
    fn default() -> Self {
        Self::new(MASK_LEN, N_KEEP)
    }
}

impl MaskCodec {
    pub fn new(n: usize, keep: usize) -> Self {
        let table = zigzag(n, keep);
        let band = table
            .iter()
            .map(|&p| (p / n).max(p % n) + 1)
            .max()
            .unwrap_or(0);
        let mut basis = vec![0f64; n * n];
        for k in 0..n {
            let c = if k == 0 {
                (1.0 / n as f64).sqrt()
            } else {
                (2.0 / n as f64).sqrt()
            };
            for x in 0..n {
                basis[k * n + x] = c
                    * (std::f64::consts::PI * (2 * x + 1) as f64 * k as f64 / (2 * n) as f64).cos();
            }
        }
        Self {
            n,
            table,
            basis,
            band,
        }
    }

    /// The mask side.
    pub fn side(&self) -> usize {
        self.n
    }

    /// The training target of an `n x n` binary mask (row-major, nonzero = 1): its orthonormal
    /// 2-D DCT-II (as `cv2.dct`), the first `keep` coefficients in zigzag order. f64 inside.
    pub fn encode(&self, mask: &[u8]) -> Vec<f32> {
        let (n, b) = (self.n, self.band);
        // Columns first: t[y][l] = sum_x mask[y][x] basis[l][x], for the band's l only.
        let mut t = vec![0f64; n * b];
        for y in 0..n {
            let row = &mask[y * n..(y + 1) * n];
            for l in 0..b {
                let basis = &self.basis[l * n..(l + 1) * n];
                t[y * b + l] = row
                    .iter()
                    .zip(basis)
                    .filter(|(m, _)| **m != 0)
                    .map(|(_, &v)| v)
                    .sum();
            }
        }
        self.table
            .iter()
            .map(|&p| {
                let (k, l) = (p / n, p % n);
                let basis = &self.basis[k * n..(k + 1) * n];
                (0..n).map(|y| basis[y] * t[y * b + l]).sum::<f64>() as f32
            })
            .collect()
    }

    /// One vector (at most `keep` coefficients, zigzag order) to its `n x n` mask, row-major,
    /// 1 where the inverse DCT is above the midpoint of its min and max.
    pub fn decode(&self, vector: &[f32]) -> Vec<u8> {
        let (n, b) = (self.n, self.band);
        let mut coef = vec![0f64; b * b];
        for (&p, &v) in self.table.iter().zip(vector) {
            coef[(p / n) * b + p % n] = v as f64;
        }
        // Rows, then columns (separable): t[v][x] = sum_h coef[v][h] basis[h][x].
        let mut t = vec![0f64; b * n];
        for v in 0..b {
            for h in 0..b {
                let c = coef[v * b + h];
                if c != 0.0 {
                    let row = &self.basis[h * n..(h + 1) * n];
                    for (o, &bx) in t[v * n..(v + 1) * n].iter_mut().zip(row) {
                        *o += c * bx;
                    }
                }
            }
        }
        let mut img = vec![0f64; n * n];
        for v in 0..b {
            let tv = &t[v * n..(v + 1) * n];
            for y in 0..n {
                let by = self.basis[v * n + y];
                for (o, &tx) in img[y * n..(y + 1) * n].iter_mut().zip(tv) {
                    *o += by * tx;
                }
            }
        }
        let (lo, hi) = img
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            });
        let mid = (hi + lo) / 2.0;
        img.iter().map(|&x| (x > mid) as u8).collect()
    }
}

/// detectron2's `paste_masks_in_image` for one mask, as on the CPU (one mask at a time over the
/// box's pixels): the `m x m` binary `mask` is sampled at the pixel centres of `bbox`
/// (`[x0, y0, x1, y1]` in image pixels) by bilinear `grid_sample` (align_corners=False, zero
/// outside), and a pixel is 1 where the sample is `>= threshold`. f32 arithmetic as torch's.
/// Returns the `h x w` image mask, row-major.
pub fn paste_mask(
    mask: &[u8],
    m: usize,
    bbox: [f32; 4],
    (h, w): (usize, usize),
    threshold: f32,
) -> Vec<u8> {
    let mut out = vec![0u8; h * w];
    let [x0, y0, x1, y1] = bbox;
    // The region that bounds the box (one pixel of margin), clamped to the image.
    let x0i = (x0.floor() - 1.0).max(0.0) as usize;
    let y0i = (y0.floor() - 1.0).max(0.0) as usize;
    let x1i = (x1.ceil() + 1.0).min(w as f32).max(0.0) as usize;
    let y1i = (y1.ceil() + 1.0).min(h as f32).max(0.0) as usize;
    let half = m as f32 / 2.0;
    // Normalized [-1, 1] coordinate of pixel centre `i` in [a, b], then grid_sample's source
    // index ((g + 1) * m - 1) / 2.
    let source = |i: usize, a: f32, b: f32| {
        let g = ((i as f32 + 0.5) - a) / (b - a) * 2.0 - 1.0;
        (g + 1.0) * half - 0.5
    };
    let at = |r: i64, c: i64| -> f32 {
        if r < 0 || c < 0 || r >= m as i64 || c >= m as i64 {
            0.0
        } else {
            mask[r as usize * m + c as usize] as f32
        }
    };
    let xs: Vec<f32> = (x0i..x1i).map(|x| source(x, x0, x1)).collect();
    for y in y0i..y1i {
        let iy = source(y, y0, y1);
        if !iy.is_finite() {
            continue;
        }
        let (r, ty) = (iy.floor(), iy - iy.floor());
        for (x, &ix) in (x0i..x1i).zip(&xs) {
            if !ix.is_finite() {
                continue;
            }
            let (c, tx) = (ix.floor(), ix - ix.floor());
            let (r, c) = (r as i64, c as i64);
            let v = at(r, c) * (1.0 - tx) * (1.0 - ty)
                + at(r, c + 1) * tx * (1.0 - ty)
                + at(r + 1, c) * (1.0 - tx) * ty
                + at(r + 1, c + 1) * tx * ty;
            out[y * w + x] = (v >= threshold) as u8;
        }
    }
    out
}

/// An instance mask in image pixels as the bitmap of its extent (the tight box of its ones;
/// everything outside is 0): `data` is `width * height`, row-major, from pixel `(x, y)` of an
/// image of `image` `(h, w)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BoxMask {
    pub x: usize,
    pub y: usize,
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
    pub image: (usize, usize),
}

impl BoxMask {
    /// The extent of an `h x w` image mask's ones (empty: 0 x 0 at the origin).
    pub fn from_image(mask: &[u8], (h, w): (usize, usize)) -> Self {
        let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
        for y in 0..h {
            for x in 0..w {
                if mask[y * w + x] != 0 {
                    (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
                }
            }
        }
        if x1 <= x0 {
            return Self {
                image: (h, w),
                ..Self::default()
            };
        }
        let data = (y0..y1)
            .flat_map(|y| mask[y * w + x0..y * w + x1].iter().copied())
            .collect();
        Self {
            x: x0,
            y: y0,
            width: x1 - x0,
            height: y1 - y0,
            data,
            image: (h, w),
        }
    }

    /// The whole image's mask as COCO RLE (what `vidt detect` writes).
    pub fn rle(&self) -> Rle {
        let (h, w) = self.image;
        let mut full = vec![0u8; h * w];
        for (r, row) in self.data.chunks(self.width.max(1)).enumerate() {
            let at = (self.y + r) * w + self.x;
            full[at..at + row.len()].copy_from_slice(row);
        }
        rle_encode(&full, self.image)
    }

    /// Whether image pixel `(x, y)` is in the mask.
    pub fn contains(&self, x: usize, y: usize) -> bool {
        x >= self.x
            && y >= self.y
            && x < self.x + self.width
            && y < self.y + self.height
            && self.data[(y - self.y) * self.width + (x - self.x)] != 0
    }
}

/// The official post-processing's mask of one detection: its vector decoded, pasted into the
/// `(h, w)` image at `bbox` (threshold 0.5), as the bitmap of its extent.
pub fn detection_mask(
    decoder: &MaskCodec,
    vector: &[f32],
    bbox: [f32; 4],
    size: (usize, usize),
) -> BoxMask {
    let image = paste_mask(&decoder.decode(vector), decoder.side(), bbox, size, 0.5);
    BoxMask::from_image(&image, size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_is_the_official_table() {
        // From the official ProcessorDCT (methods/vidt/dct.py) run on numpy.
        assert_eq!(
            zigzag(4, 16),
            [0, 1, 4, 8, 5, 2, 3, 6, 9, 12, 13, 10, 7, 11, 14, 15]
        );
        let t = zigzag(128, 256);
        assert_eq!(
            t[..12],
            [0, 1, 128, 256, 129, 2, 3, 130, 257, 384, 512, 385]
        );
        assert_eq!(t[250..], [2434, 2561, 2688, 2816, 2689, 2562]);
    }

    #[test]
    fn decode_inverts_the_dct() {
        // A disc's forward DCT (the orthonormal DCT-II: the basis transposed), every
        // coefficient kept, decodes to the disc.
        let d = MaskCodec::new(32, 32 * 32);
        let n = 32;
        let disc: Vec<f64> = (0..n * n)
            .map(|p| {
                let (y, x) = ((p / n) as f64 - 15.5, (p % n) as f64 - 15.5);
                ((x * x + y * y) < 100.0) as u8 as f64
            })
            .collect();
        let mut coef = vec![0f64; n * n];
        for k in 0..n {
            for l in 0..n {
                let mut s = 0.0;
                for y in 0..n {
                    for x in 0..n {
                        s += d.basis[k * n + y] * d.basis[l * n + x] * disc[y * n + x];
                    }
                }
                coef[k * n + l] = s;
            }
        }
        let vector: Vec<f32> = zigzag(n, n * n).iter().map(|&p| coef[p] as f32).collect();
        // The separable encoder gives the same coefficients.
        let bits: Vec<u8> = disc.iter().map(|&v| v as u8).collect();
        for (k, (a, b)) in d.encode(&bits).iter().zip(&vector).enumerate() {
            assert!((a - b).abs() < 1e-5, "coefficient {k}: {a} vs {b}");
        }
        let mask = d.decode(&vector);
        let wrong = mask
            .iter()
            .zip(&disc)
            .filter(|(a, b)| **a as f64 != **b)
            .count();
        assert_eq!(wrong, 0, "{wrong} of {} pixels differ", n * n);
    }

    #[test]
    fn paste_fills_its_box_and_nothing_else() {
        let full = vec![1u8; 16];
        let m = paste_mask(&full, 4, [2.0, 3.0, 6.0, 5.0], (8, 10), 0.5);
        for y in 0..8 {
            for x in 0..10 {
                let inside = (2..6).contains(&x) && (3..5).contains(&y);
                assert_eq!(m[y * 10 + x] == 1, inside, "pixel ({x}, {y})");
            }
        }
    }
}
