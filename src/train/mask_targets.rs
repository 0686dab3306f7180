//! ViDT+ training targets built from instance masks (host side, no gradient):
//! - UQR vector targets: the matched ground-truth mask cropped to its box and resized to
//!   128x128 (detectron2's `BitMasks.crop_and_resize`: torchvision `roi_align`, aligned,
//!   adaptive sampling, `>= 0.5`), then its orthonormal 2-D DCT in zigzag order;
//! - token labels: one class per canvas pixel (the first mask covering it wins), as one-hot
//!   with channel 0 turned into "any object", average-pooled to each token level's size.
//!
//! Masks are read on the batch canvas (the official `nested_tensor_from_tensor_list` pads every
//! image's masks with zeros to the largest), which decides the samples near an image's edge.

use crate::coco::InstanceMasks;

/// A mask on a canvas larger than itself: zero outside its own `height x width`.
struct OnCanvas<'a> {
    mask: &'a [u8],
    h: usize,
    w: usize,
}

impl OnCanvas<'_> {
    fn at(&self, y: usize, x: usize) -> f32 {
        if y < self.h && x < self.w {
            (self.mask[y * self.w + x] != 0) as u8 as f32
        } else {
            0.0
        }
    }
}

/// torchvision's `roi_align` (CPU kernel, f32 as it computes) of one binary mask on an
/// `(height, width)` canvas over `bbox` (`[x0, y0, x1, y1]` pixels), spatial scale 1,
/// `aligned=True`, `sampling_ratio=0`, then `>= 0.5`: an `m x m` bitmap, row-major.
fn crop_and_resize(
    src: &OnCanvas<'_>,
    (height, width): (usize, usize),
    bbox: [f32; 4],
    m: usize,
) -> Vec<u8> {
    let [x0, y0, x1, y1] = bbox;
    let (start_w, start_h) = (x0 - 0.5, y0 - 0.5);
    let (roi_w, roi_h) = ((x1 - 0.5) - start_w, (y1 - 0.5) - start_h);
    let (bin_h, bin_w) = (roi_h / m as f32, roi_w / m as f32);
    let grid_h = ((roi_h / m as f32).ceil() as i64).max(0) as usize;
    let grid_w = ((roi_w / m as f32).ceil() as i64).max(0) as usize;
    let count = (grid_h * grid_w).max(1) as f32;
    let (hf, wf) = (height as f32, width as f32);
    // The bilinear sample of torchvision's `bilinear_interpolate` (zero past one pixel out).
    let sample = |y: f32, x: f32| -> f32 {
        if y < -1.0 || y > hf || x < -1.0 || x > wf {
            return 0.0;
        }
        let (mut y, mut x) = (y.max(0.0), x.max(0.0));
        let (mut yl, mut xl) = (y as usize, x as usize);
        let yh = if yl >= height - 1 {
            yl = height - 1;
            y = yl as f32;
            yl
        } else {
            yl + 1
        };
        let xh = if xl >= width - 1 {
            xl = width - 1;
            x = xl as f32;
            xl
        } else {
            xl + 1
        };
        let (ly, lx) = (y - yl as f32, x - xl as f32);
        let (hy, hx) = (1.0 - ly, 1.0 - lx);
        (hy * hx) * src.at(yl, xl)
            + (hy * lx) * src.at(yl, xh)
            + (ly * hx) * src.at(yh, xl)
            + (ly * lx) * src.at(yh, xh)
    };
    let mut out = vec![0u8; m * m];
    for ph in 0..m {
        for pw in 0..m {
            let mut acc = 0f32;
            for iy in 0..grid_h {
                let y = start_h + ph as f32 * bin_h + (iy as f32 + 0.5) * bin_h / grid_h as f32;
                for ix in 0..grid_w {
                    let x = start_w + pw as f32 * bin_w + (ix as f32 + 0.5) * bin_w / grid_w as f32;
                    acc += sample(y, x);
                }
            }
            out[ph * m + pw] = (acc / count >= 0.5) as u8;
        }
    }
    out
}

/// Object `j`'s 128x128 crop of image `b`'s masks on the `canvas`, as the official criterion
/// makes its vector target (before the DCT).
pub fn cropped_mask(masks: &InstanceMasks, j: usize, canvas: (usize, usize), m: usize) -> Vec<u8> {
    let src = OnCanvas {
        mask: masks.mask(j),
        h: masks.height,
        w: masks.width,
    };
    crop_and_resize(&src, canvas, masks.boxes_px[j], m)
}

/// The batch canvas: the largest mask height and width (the official nested-tensor padding).
pub fn canvas<'a>(masks: impl IntoIterator<Item = &'a InstanceMasks>) -> (usize, usize) {
    masks
        .into_iter()
        .fold((0, 0), |(h, w), m| (h.max(m.height), w.max(m.width)))
}

/// Token-labeling targets of one image for token levels of `shapes` `(h, w)`: per level,
/// `h * w * classes` soft labels (row-major cells, class last) — the fraction of each cell's
/// canvas pixels whose label is the class, and for channel 0 the fraction covered by any object
/// (`adaptive_avg_pool2d` of the one-hot label map, as the official `loss_tokens`).
pub fn token_labels(
    masks: &InstanceMasks,
    labels: &[usize],
    canvas: (usize, usize),
    shapes: &[(usize, usize)],
    classes: usize,
) -> Vec<Vec<f32>> {
    let (ch, cw) = canvas;
    // The label map: the first mask covering a pixel gives its label, 0 where none does.
    let mut map = vec![0usize; ch * cw];
    let mut taken = vec![false; ch * cw];
    for (j, &label) in labels.iter().enumerate() {
        let m = masks.mask(j);
        for y in 0..masks.height.min(ch) {
            for x in 0..masks.width.min(cw) {
                let p = y * cw + x;
                if m[y * masks.width + x] != 0 && !taken[p] {
                    taken[p] = true;
                    map[p] = label;
                }
            }
        }
    }
    shapes
        .iter()
        .map(|&(h, w)| {
            let mut out = vec![0f32; h * w * classes];
            for i in 0..h {
                let (y0, y1) = (i * ch / h, ((i + 1) * ch).div_ceil(h));
                for k in 0..w {
                    let (x0, x1) = (k * cw / w, ((k + 1) * cw).div_ceil(w));
                    let mut counts = vec![0u32; classes];
                    for y in y0..y1 {
                        for x in x0..x1 {
                            let l = map[y * cw + x];
                            if l < classes {
                                counts[l] += 1;
                            }
                        }
                    }
                    let (kh, kw) = ((y1 - y0) as f32, (x1 - x0) as f32);
                    let cell = &mut out[(i * w + k) * classes..(i * w + k + 1) * classes];
                    // Channel 0 is flipped from "background" to "foreground": 1 - mean(bg).
                    counts[0] = ((y1 - y0) * (x1 - x0)) as u32 - counts[0];
                    for (o, &c) in cell.iter_mut().zip(&counts) {
                        // As torch: the cell's sum divided by its height, then its width.
                        *o = c as f32 / kh / kw;
                    }
                }
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(h: usize, w: usize, b: [usize; 4]) -> Vec<u8> {
        (0..h * w)
            .map(|p| {
                let (y, x) = (p / w, p % w);
                (x >= b[0] && x < b[2] && y >= b[1] && y < b[3]) as u8
            })
            .collect()
    }

    #[test]
    fn a_box_filled_by_its_mask_crops_to_all_ones() {
        let masks = InstanceMasks {
            height: 40,
            width: 50,
            data: square(40, 50, [10, 5, 30, 25]),
            boxes_px: vec![[10.0, 5.0, 30.0, 25.0]],
        };
        let crop = cropped_mask(&masks, 0, (40, 50), 16);
        assert!(crop.iter().all(|&v| v == 1), "{crop:?}");
        // Its left half only: the crop's left half.
        let half = InstanceMasks {
            data: square(40, 50, [10, 5, 20, 25]),
            ..masks
        };
        let crop = cropped_mask(&half, 0, (40, 50), 16);
        for y in 0..16 {
            for x in 0..16 {
                assert_eq!(crop[y * 16 + x], (x < 8) as u8, "({x}, {y})");
            }
        }
    }

    #[test]
    fn token_labels_pool_the_first_mask_over_later_ones() {
        // Two overlapping squares on an 8x8 canvas, labels 5 and 7; one 4x4 level.
        let mut data = square(8, 8, [0, 0, 4, 4]);
        data.extend(square(8, 8, [2, 0, 8, 4]));
        let masks = InstanceMasks {
            height: 8,
            width: 8,
            data,
            boxes_px: vec![[0.0, 0.0, 4.0, 4.0], [2.0, 0.0, 8.0, 4.0]],
        };
        let t = token_labels(&masks, &[5, 7], (8, 8), &[(4, 4), (1, 1)], 10);
        let cell = |i: usize, k: usize| &t[0][(i * 4 + k) * 10..(i * 4 + k + 1) * 10];
        // Cell (0, 1) covers x 2..4: the first square's, though the second covers it too.
        assert_eq!(
            (cell(0, 1)[0], cell(0, 1)[5], cell(0, 1)[7]),
            (1.0, 1.0, 0.0)
        );
        assert_eq!((cell(0, 2)[0], cell(0, 2)[7]), (1.0, 1.0));
        assert_eq!(cell(3, 3)[0], 0.0);
        // The whole canvas: 16 of 64 pixels label 5 (x 0..4), 16 label 7 (x 4..8).
        assert_eq!((t[1][0], t[1][5], t[1][7]), (0.5, 0.25, 0.25));
    }
}
