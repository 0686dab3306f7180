//! Image preprocessing as the official evaluation does it: decode (any of JPEG/PNG/WebP, grey
//! or RGBA), resize so the shorter side is 800 and the longer at most 1333 (`crate::defaults`),
//! ImageNet normalization, zero-pad to one batch with a mask (1 = padded).

use std::path::Path;

use image::{DynamicImage, RgbImage, imageops::FilterType};

use crate::error::{Result, VidtError};
use crate::model::PixelMask;

pub const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Output size `(h, w)` of ViDT's `RandomResize([size], max_size)` for an `h` x `w` image
/// (`datasets/transforms.py`, `resize` / `get_size_with_aspect_ratio`): DETR's rule (shorter
/// side `size`, unless the longer side would pass `max_size`), then **both** sides rounded down
/// to a multiple of 16, also when the image already has the target size. Python's arithmetic is
/// kept exactly: `int(round(...))` rounds half to even, `int(size * h / w)` truncates a float
/// quotient. `max_size` `usize::MAX` is the official `None` (no cap). A side that rounds to 0
/// (an aspect ratio past about 1:1333/16, or a tiny `size`) is an error here; torchvision's
/// `F.resize` fails on it too.
pub fn resized_size(h: usize, w: usize, size: usize, max_size: usize) -> Result<(usize, usize)> {
    let (mn, mx) = (h.min(w) as f64, h.max(w) as f64);
    let mut size = size;
    if max_size != usize::MAX && mx / mn * size as f64 > max_size as f64 {
        size = (max_size as f64 * mn / mx).round_ties_even() as usize;
    }
    let (oh, ow) = if (w <= h && w == size) || (h <= w && h == size) {
        (h, w)
    } else if w < h {
        (((size * h) as f64 / w as f64) as usize, size)
    } else {
        (size, ((size * w) as f64 / h as f64) as usize)
    };
    let (oh, ow) = (oh - oh % 16, ow - ow % 16);
    if oh == 0 || ow == 0 {
        return Err(VidtError::Input {
            name: format!("{w}x{h} image"),
            reason: format!(
                "the official resize (shorter side {size}, longer at most {max_size}, both sides \
                 rounded down to a multiple of 16) makes it {ow}x{oh}"
            ),
        });
    }
    Ok((oh, ow))
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

/// Resizes (the official rule, [`resized_size`]), normalizes and pads `images`.
pub fn make_batch(images: &[RgbImage], size: usize, max_size: usize) -> Result<Batch> {
    let resized = images
        .iter()
        .map(|im| resize_shorter(im, size, max_size))
        .collect::<Result<Vec<_>>>()?;
    let mut b = pad_batch(&resized);
    b.original_sizes = images
        .iter()
        .map(|i| (i.height() as usize, i.width() as usize))
        .collect();
    Ok(b)
}

/// The official `RandomResize([size], max_size)` of one image (bilinear).
pub fn resize_shorter(im: &RgbImage, size: usize, max_size: usize) -> Result<RgbImage> {
    let (h, w) = resized_size(im.height() as usize, im.width() as usize, size, max_size)?;
    Ok(if (h, w) == (im.height() as usize, im.width() as usize) {
        im.clone()
    } else {
        image::imageops::resize(im, w as u32, h as u32, FilterType::Triangle)
    })
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

    /// Sizes worked out by hand from the official `get_size_with_aspect_ratio`, each checked by
    /// running that function (copied from naver-ai/vidt a8c48b5) in Python; `(h, w)` in and
    /// out, at the evaluation's 800 / 1333 unless given.
    #[test]
    fn official_resize_rule() {
        let r = |h, w| resized_size(h, w, 800, 1333).unwrap();
        // Landscape 640x427: oh 800, ow int(800 * 640 / 427) = 1199 -> 1184.
        assert_eq!(r(427, 640), (800, 1184));
        // Landscape 1000x872: ow int(800 * 1000 / 872) = 917 -> 912.
        assert_eq!(r(872, 1000), (800, 912));
        // The fixture photo, 451x300: int(800 * 451 / 300) = 1202 -> 1200.
        assert_eq!(r(300, 451), (800, 1200));
        // Portrait 640x480 (w 480): oh int(800 * 640 / 480) = 1066 -> 1056.
        assert_eq!(r(640, 480), (1056, 800));
        // Square: 800 x 800, already a multiple of 16.
        assert_eq!(r(500, 500), (800, 800));
        // Very wide, the cap binds: 1600 / 400 * 800 > 1333, size round(1333 * 400 / 1600) =
        // round(333.25) = 333; ow int(333 * 1600 / 400) = 1332 -> (320, 1328).
        assert_eq!(r(400, 1600), (320, 1328));
        // Python rounds half to even: size 160, cap 266 (160 * 1333 // 800), 480x120:
        // round(266 * 120 / 480) = round(66.5) = 66 (not 67); ow 264 -> (64, 256).
        assert_eq!(resized_size(120, 480, 160, 266).unwrap(), (64, 256));
        // Already at size: still rounded down to multiples of 16 (800x1000 -> 800x992).
        assert_eq!(r(800, 1000), (800, 992));
        assert_eq!(r(808, 1000), (800, 976));
        // Already at size and both multiples of 16: unchanged.
        assert_eq!(r(800, 1200), (800, 1200));
        // Shorter side equal to size but not a multiple of 16: both sides rounded
        // (official `h - h % 16` on the original sizes).
        assert_eq!(resized_size(90, 130, 90, 1000).unwrap(), (80, 128));
        // Tiny image, upscaled: 10x7 (w 7) -> oh int(800 * 10 / 7) = 1142 -> 1136.
        assert_eq!(r(10, 7), (1136, 800));
        // No cap (the official `max_size=None`, the crop branch's RandomResize([400, 500, 600])).
        assert_eq!(
            resized_size(100, 1000, 500, usize::MAX).unwrap(),
            (496, 4992)
        );
    }

    /// A side that rounds to 0 is a clear error naming the sizes, not an empty image.
    #[test]
    fn a_side_rounding_to_zero_is_an_error() {
        // 4000x10: size round(1333 * 10 / 4000) = round(3.3325) = 3, oh 3 -> 0, ow int(3 * 4000 / 10) = 1200.
        let e = resized_size(10, 4000, 800, 1333).unwrap_err().to_string();
        assert!(
            e.contains("4000x10 image") && e.contains("makes it 1200x0"),
            "{e}"
        );
        let e = resized_size(300, 451, 8, 13).unwrap_err().to_string();
        assert!(e.contains("makes it 0x0"), "{e}");
    }
}
