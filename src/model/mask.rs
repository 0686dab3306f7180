//! The padding mask (1 = padded pixel), kept on the host: its resizes, valid ratios and the
//! encodings derived from it are cheap and exact there, and need no device round trip.

/// A batch of padding masks, `(B, H, W)`, 1 = padded.
#[derive(Clone, Debug, PartialEq)]
pub struct PixelMask {
    pub batch: usize,
    pub height: usize,
    pub width: usize,
    pub data: Vec<u8>,
}

impl PixelMask {
    pub fn new(batch: usize, height: usize, width: usize, data: Vec<u8>) -> Self {
        assert_eq!(
            data.len(),
            batch * height * width,
            "mask data does not match its shape"
        );
        Self {
            batch,
            height,
            width,
            data,
        }
    }

    /// No padding at all.
    pub fn zeros(batch: usize, height: usize, width: usize) -> Self {
        Self::new(batch, height, width, vec![0; batch * height * width])
    }

    pub fn get(&self, b: usize, y: usize, x: usize) -> bool {
        self.data[(b * self.height + y) * self.width + x] != 0
    }

    /// PyTorch's default (legacy) `nearest` interpolation to `(h, w)`:
    /// `src = min(floor(dst * (in / out)), in - 1)` with the scale in f32.
    pub fn resize_nearest(&self, h: usize, w: usize) -> Self {
        let ys = nearest_indices(self.height, h);
        let xs = nearest_indices(self.width, w);
        let mut data = Vec::with_capacity(self.batch * h * w);
        for b in 0..self.batch {
            for &y in &ys {
                for &x in &xs {
                    data.push(self.get(b, y, x) as u8);
                }
            }
        }
        Self::new(self.batch, h, w, data)
    }

    /// Per image `(valid_w / W, valid_h / H)`, counted along the first row and column.
    pub fn valid_ratios(&self) -> Vec<[f32; 2]> {
        (0..self.batch)
            .map(|b| {
                let (vh, vw) = self.valid_extent(b);
                [
                    vw as f32 / self.width as f32,
                    vh as f32 / self.height as f32,
                ]
            })
            .collect()
    }

    /// Image `b`'s valid `(rows, columns)`: the unpadded pixels of its first column and row
    /// (the official count, `valid_H`, `valid_W`).
    pub fn valid_extent(&self, b: usize) -> (usize, usize) {
        (
            (0..self.height).filter(|&y| !self.get(b, y, 0)).count(),
            (0..self.width).filter(|&x| !self.get(b, 0, x)).count(),
        )
    }

    /// `1.0` where valid, `0.0` where padded, flattened `(B, H*W)`.
    pub fn keep_weights(&self) -> Vec<f32> {
        self.data
            .iter()
            .map(|&m| if m != 0 { 0.0 } else { 1.0 })
            .collect()
    }
}

/// The padding mask at each decoder level and what the decoder takes from it, all on the host.
pub struct LevelMasks {
    /// Per level, the mask resized (nearest) to the level's `(H, W)`.
    pub masks: Vec<PixelMask>,
    /// `(B, S)` over the levels concatenated (S = sum of H*W): 1 for a real token, 0 for
    /// padding (the deformable attention's value mask).
    pub keep: Vec<f32>,
    /// `(B, L, 4)`: each level's valid (w, h) ratios, twice (the reference boxes' scale).
    pub valid: Vec<f32>,
}

impl LevelMasks {
    pub fn new(mask: &PixelMask, shapes: &[(usize, usize)]) -> Self {
        let b = mask.batch;
        let masks: Vec<PixelMask> = shapes
            .iter()
            .map(|&(h, w)| mask.resize_nearest(h, w))
            .collect();
        let s: usize = shapes.iter().map(|(h, w)| h * w).sum();
        // Each level's weights are image-major; the decoder wants image-major over all levels.
        let mut keep = vec![0f32; b * s];
        let mut off = 0;
        for (m, &(h, w)) in masks.iter().zip(shapes) {
            let (n, level) = (h * w, m.keep_weights());
            for bi in 0..b {
                keep[bi * s + off..bi * s + off + n].copy_from_slice(&level[bi * n..(bi + 1) * n]);
            }
            off += n;
        }
        let ratios: Vec<Vec<[f32; 2]>> = masks.iter().map(PixelMask::valid_ratios).collect();
        let mut valid = Vec::with_capacity(b * shapes.len() * 4);
        for bi in 0..b {
            for r in &ratios {
                let [rw, rh] = r[bi];
                valid.extend([rw, rh, rw, rh]);
            }
        }
        Self { masks, keep, valid }
    }
}

fn nearest_indices(input: usize, output: usize) -> Vec<usize> {
    if input == output {
        return (0..output).collect();
    }
    let scale = input as f32 / output as f32;
    (0..output)
        .map(|d| ((d as f32 * scale).floor() as usize).min(input - 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_matches_pytorch_legacy_rule() {
        // torch.nn.functional.interpolate(size=3) of a length-8 row picks 0, 2, 5.
        assert_eq!(nearest_indices(8, 3), vec![0, 2, 5]);
        // Upsampling repeats: 2 -> 5 picks 0,0,0,1,1.
        assert_eq!(nearest_indices(2, 5), vec![0, 0, 0, 1, 1]);
    }

    #[test]
    fn valid_ratios_count_first_row_and_column() {
        // 1 image 2x4, last column padded.
        let m = PixelMask::new(1, 2, 4, vec![0, 0, 0, 1, 0, 0, 0, 1]);
        assert_eq!(m.valid_ratios(), vec![[0.75, 1.0]]);
    }
}
