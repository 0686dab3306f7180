//! The official training augmentations (naver-ai/vidt `datasets/coco.py`,
//! `make_coco_transforms('train')`), per image: random horizontal flip, then with equal
//! probability either a random resize of the shorter side to one of `scales` (longer side at
//! most `max_size`), or resize-crop-resize: shorter side to 400/500/600, a random crop of
//! 384..600 on each side, then the random resize. Boxes follow every step; a box the crop
//! leaves empty is dropped (as `T.crop` does). Instance masks, when the target has them,
//! follow too (flipped, cropped, resized nearest as `F.interpolate`), their pixel boxes
//! recomputed from the final boxes. Every resize is ViDT's (`resized_size`: both sides rounded
//! down to a multiple of 16, so x and y scale by slightly different factors); the boxes, kept
//! normalized, follow each axis's own factor exactly, as the official `ratio_width` /
//! `ratio_height` then `Normalize` do.

use image::RgbImage;

use crate::boxes::{cxcywh_to_xyxy, xyxy_to_normalized_cxcywh};
use crate::coco::Target;
use crate::detect::preprocess::resize_shorter;
use crate::error::Result;
use crate::rng::Rng;

/// The resize-crop-resize branch's sizes (official: resize to 400, 500 or 600, crop 384..600).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CropBranch {
    pub resize: Vec<usize>,
    pub min: usize,
    pub max: usize,
}

impl Default for CropBranch {
    fn default() -> Self {
        Self {
            resize: vec![400, 500, 600],
            min: 384,
            max: 600,
        }
    }
}

/// One augmented training image and its target (boxes normalized cx, cy, w, h to the result).
pub fn augment(
    mut img: RgbImage,
    mut t: Target,
    scales: &[usize],
    max_size: usize,
    crop: Option<&CropBranch>,
    rng: &mut Rng,
) -> Result<(RgbImage, Target)> {
    // Masks at the annotated size, should the image file's differ.
    resize_masks(&mut t, &img);
    if rng.unit() < 0.5 {
        image::imageops::flip_horizontal_in_place(&mut img);
        for b in &mut t.boxes {
            b[0] = 1.0 - b[0];
        }
        if let Some(m) = &mut t.masks {
            m.flip_horizontal();
        }
    }
    if let Some(c) = crop.filter(|_| rng.unit() < 0.5) {
        // RandomResize without a cap: the boxes, normalized, are unchanged.
        img = resize_shorter(&img, c.resize[rng.below(c.resize.len())], usize::MAX)?;
        resize_masks(&mut t, &img);
        let (w, h) = (img.width() as usize, img.height() as usize);
        // RandomSizeCrop: each side in [min, min(side, max)], at a uniform position.
        let side = |rng: &mut Rng, n: usize| {
            let hi = n.min(c.max);
            let lo = c.min.min(hi);
            lo + rng.below(hi - lo + 1)
        };
        let (cw, ch) = (side(rng, w), side(rng, h));
        let (y0, x0) = (rng.below(h - ch + 1), rng.below(w - cw + 1));
        (img, t) = crop_image(&img, t, x0, y0, cw, ch);
    }
    let size = scales[rng.below(scales.len())];
    let img = resize_shorter(&img, size, max_size)?;
    resize_masks(&mut t, &img);
    if let Some(m) = &mut t.masks {
        let (w, h) = (img.width() as f32, img.height() as f32);
        m.boxes_px = t
            .boxes
            .iter()
            .map(|&b| {
                let [x0, y0, x1, y1] = cxcywh_to_xyxy(b);
                [x0 * w, y0 * h, x1 * w, y1 * h]
            })
            .collect();
    }
    Ok((img, t))
}

/// The target's masks (if any) resized to `img`'s size.
fn resize_masks(t: &mut Target, img: &RgbImage) {
    if let Some(m) = &mut t.masks {
        let (w, h) = (img.width() as usize, img.height() as usize);
        if (m.width, m.height) != (w, h) {
            *m = m.resize(h, w);
        }
    }
}

/// `T.crop`: the region `(x0, y0, w, h)` of `img`; boxes clipped to it, empty ones dropped.
pub fn crop_image(
    img: &RgbImage,
    t: Target,
    x0: usize,
    y0: usize,
    w: usize,
    h: usize,
) -> (RgbImage, Target) {
    let (iw, ih) = (img.width() as f32, img.height() as f32);
    let out = image::imageops::crop_imm(img, x0 as u32, y0 as u32, w as u32, h as u32).to_image();
    let mut kept = Target::default();
    let mut keep = Vec::new();
    for (i, (label, b)) in t.labels.into_iter().zip(t.boxes).enumerate() {
        // Normalized cxcywh -> pixels xyxy in the crop, clamped to it.
        let [bx0, by0, bx1, by1] = cxcywh_to_xyxy(b);
        let ax0 = (bx0 * iw - x0 as f32).clamp(0.0, w as f32);
        let ay0 = (by0 * ih - y0 as f32).clamp(0.0, h as f32);
        let ax1 = (bx1 * iw - x0 as f32).clamp(0.0, w as f32);
        let ay1 = (by1 * ih - y0 as f32).clamp(0.0, h as f32);
        if ax1 > ax0 && ay1 > ay0 {
            keep.push(i);
            kept.labels.push(label);
            let crop = [ax0, ay0, ax1, ay1];
            kept.boxes
                .push(xyxy_to_normalized_cxcywh(crop, w as f32, h as f32));
        }
    }
    kept.masks = t.masks.map(|m| m.crop(&keep, x0, y0, w, h));
    (out, kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::preprocess::resized_size;

    #[test]
    fn crop_clips_boxes_and_drops_the_ones_it_leaves_empty() {
        let img = RgbImage::new(100, 50);
        let t = Target {
            labels: vec![1, 2, 3],
            // Pixels xyxy: (10,10,30,20) inside; (50,0,90,40) cut at x=70; (80,40,96,50) outside.
            boxes: vec![
                [0.2, 0.3, 0.2, 0.2],
                [0.7, 0.4, 0.4, 0.8],
                [0.88, 0.9, 0.16, 0.2],
            ],
            masks: None,
        };
        let (out, k) = crop_image(&img, t, 0, 0, 70, 35);
        assert_eq!((out.width(), out.height()), (70, 35));
        assert_eq!(k.labels, vec![1, 2]);
        let px = |b: [f32; 4]| {
            [
                (b[0] - b[2] / 2.0) * 70.0,
                (b[1] - b[3] / 2.0) * 35.0,
                (b[0] + b[2] / 2.0) * 70.0,
                (b[1] + b[3] / 2.0) * 35.0,
            ]
        };
        for (got, want) in [
            (px(k.boxes[0]), [10.0, 10.0, 30.0, 20.0]),
            (px(k.boxes[1]), [50.0, 0.0, 70.0, 35.0]),
        ] {
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-3, "{got:?} vs {want:?}");
            }
        }
    }

    #[test]
    fn both_branches_end_at_a_training_scale() {
        let mut rng = Rng::new(1);
        let scales = [480, 512, 544];
        let c = CropBranch::default();
        let mut cropped = 0;
        for _ in 0..40 {
            let img = RgbImage::new(640, 427);
            let t = Target {
                labels: vec![1],
                boxes: vec![[0.5, 0.5, 0.9, 0.9]],
                masks: None,
            };
            let (out, t) = augment(img, t, &scales, 1333, Some(&c), &mut rng).unwrap();
            let short = out.width().min(out.height()) as usize;
            assert!(scales.contains(&short), "shorter side {short}");
            assert!(out.width().max(out.height()) <= 1333);
            assert!(
                out.width() % 16 == 0 && out.height() % 16 == 0,
                "ViDT's multiples of 16"
            );
            // Uncropped, the image has the resize rule's size for its scale; a crop changes it.
            let (h, w) = resized_size(427, 640, short, 1333).unwrap();
            if (out.height() as usize, out.width() as usize) != (h, w) {
                cropped += 1;
            }
            assert_eq!(t.labels, vec![1], "a centred box survives any crop");
            assert!(t.boxes[0].iter().all(|v| (0.0..=1.0).contains(v)));
        }
        assert!((10..=30).contains(&cropped), "{cropped} of 40 cropped");
    }
}
