//! Image preprocessing as the official evaluation does it: decode (any of JPEG/PNG/WebP, grey
//! or RGBA), resize so the shorter side is 800 and the longer at most 1333 (`crate::defaults`),
//! ImageNet normalization, zero-pad to one batch with a mask (1 = padded).

use std::path::Path;

use image::{DynamicImage, RgbImage, imageops::FilterType};

use crate::error::{Result, VidtError};
use crate::model::PixelMask;

pub const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Output size `(h, w)` of the official `RandomResize([size], max_size)`.
pub fn resized_size(h: usize, w: usize, size: usize, max_size: usize) -> (usize, usize) {
    let (mn, mx) = (h.min(w) as f64, h.max(w) as f64);
    let mut size = size;
    if mx / mn * size as f64 > max_size as f64 {
        size = (max_size as f64 * mn / mx).round() as usize;
    }
    if (w <= h && w == size) || (h <= w && h == size) {
        return (h, w);
    }
    if w < h {
        (size * h / w, size)
    } else {
        (size, size * w / h)
    }
}

pub fn load_image(path: &Path) -> Result<RgbImage> {
    let img = image::ImageReader::open(path)
        .map_err(|e| VidtError::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?
        .with_guessed_format()
        .map_err(|e| VidtError::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?
        .decode()
        .map_err(|e| VidtError::Input {
            name: path.display().to_string(),
            reason: format!("cannot decode image: {e}"),
        })?;
    Ok(DynamicImage::from(img).to_rgb8())
}

/// A padded, normalized batch.
pub struct Batch {
    /// `(B, 3, H, W)` row-major.
    pub data: Vec<f32>,
    pub shape: [usize; 4],
    pub mask: PixelMask,
    /// Original `(h, w)` of each image.
    pub original_sizes: Vec<(usize, usize)>,
}

/// Resizes (shorter side `size`, longer at most `max_size`), normalizes and pads `images`.
pub fn make_batch(images: &[RgbImage], size: usize, max_size: usize) -> Batch {
    let resized: Vec<RgbImage> = images
        .iter()
        .map(|im| resize_shorter(im, size, max_size))
        .collect();
    let mut b = pad_batch(&resized);
    b.original_sizes = images
        .iter()
        .map(|i| (i.height() as usize, i.width() as usize))
        .collect();
    b
}

/// The official `RandomResize([size], max_size)` of one image (bilinear).
pub fn resize_shorter(im: &RgbImage, size: usize, max_size: usize) -> RgbImage {
    let (h, w) = resized_size(im.height() as usize, im.width() as usize, size, max_size);
    if (h, w) == (im.height() as usize, im.width() as usize) {
        im.clone()
    } else {
        image::imageops::resize(im, w as u32, h as u32, FilterType::Triangle)
    }
}

/// Normalizes `images` as they are and zero-pads them to one batch (mask 1 = padded).
pub fn pad_batch(images: &[RgbImage]) -> Batch {
    let hmax = images
        .iter()
        .map(|i| i.height() as usize)
        .max()
        .unwrap_or(0);
    let wmax = images.iter().map(|i| i.width() as usize).max().unwrap_or(0);
    let b = images.len();
    let mut data = vec![0f32; b * 3 * hmax * wmax];
    let mut mask = vec![1u8; b * hmax * wmax];
    for (bi, im) in images.iter().enumerate() {
        for (x, y, p) in im.enumerate_pixels() {
            let (x, y) = (x as usize, y as usize);
            for c in 0..3 {
                data[((bi * 3 + c) * hmax + y) * wmax + x] =
                    (p[c] as f32 / 255.0 - MEAN[c]) / STD[c];
            }
            mask[(bi * hmax + y) * wmax + x] = 0;
        }
    }
    Batch {
        data,
        shape: [b, 3, hmax, wmax],
        mask: PixelMask::new(b, hmax, wmax, mask),
        original_sizes: images
            .iter()
            .map(|i| (i.height() as usize, i.width() as usize))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::resized_size;

    #[test]
    fn official_resize_rule() {
        // 480x640 -> shorter side 800: 800x1066.
        assert_eq!(resized_size(480, 640, 800, 1333), (800, 1066));
        // Very wide: capped by 1333 on the longer side.
        assert_eq!(resized_size(400, 1600, 800, 1333), (333, 1332));
        // Already there.
        assert_eq!(resized_size(800, 1000, 800, 1333), (800, 1000));
    }
}
