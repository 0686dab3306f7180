//! A synthetic detection dataset (no real data can be downloaded here): simple objects of
//! three kinds (square, disc, triangle) in several colours and sizes on varied backgrounds,
//! partly occluding each other, with exact boxes. Deterministic for a seed.

use image::{Rgb, RgbImage};

use super::dataset::{CocoAnnotation, CocoCategory, CocoFile, CocoImage, Target};
use super::masks::{InstanceMasks, Segmentation};
use crate::boxes::{xyxy_to_normalized_cxcywh, xyxy_to_xywh};
use crate::error::{Result, VidtError};
use crate::rng::Rng;

/// Category ids and names (COCO-style ids start at 1).
pub const CATEGORIES: [(usize, &str); 3] = [(1, "square"), (2, "disc"), (3, "triangle")];

/// One object: category id, its visible-extent box `[x0, y0, x1, y1]` in pixels and its
/// visible pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    pub category: usize,
    pub bbox: [f32; 4],
    /// The pixels it still shows, `height x width` row-major (its instance mask).
    pub mask: Vec<u8>,
}

const PALETTE: [[u8; 3]; 6] = [
    [220, 40, 40],
    [40, 170, 60],
    [40, 80, 220],
    [240, 200, 30],
    [200, 60, 200],
    [30, 200, 210],
];

fn inside(kind: usize, x: f32, y: f32, b: [f32; 4]) -> bool {
    let (cx, cy) = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
    let (hw, hh) = ((b[2] - b[0]) / 2.0, (b[3] - b[1]) / 2.0);
    match kind {
        1 => x >= b[0] && x < b[2] && y >= b[1] && y < b[3],
        2 => ((x - cx) / hw).powi(2) + ((y - cy) / hh).powi(2) <= 1.0,
        // Apex at the top centre, base along the bottom edge.
        _ => y >= b[1] && y < b[3] && (x - cx).abs() <= hw * (y - b[1]) / (b[3] - b[1]),
    }
}

/// The training target of objects drawn on a `width` x `height` image: labels and normalized
/// (cx, cy, w, h) boxes.
pub fn target(objects: &[Object], width: u32, height: u32) -> Target {
    let (w, h) = (width as f32, height as f32);
    Target {
        labels: objects.iter().map(|o| o.category).collect(),
        boxes: objects
            .iter()
            .map(|o| xyxy_to_normalized_cxcywh(o.bbox, w, h))
            .collect(),
        masks: Some(InstanceMasks {
            height: height as usize,
            width: width as usize,
            data: objects
                .iter()
                .flat_map(|o| o.mask.iter().copied())
                .collect(),
            boxes_px: objects.iter().map(|o| o.bbox).collect(),
        }),
    }
}

/// One `width` x `height` image with 1..=`max_objects` objects. Boxes are the tight boxes of
/// the pixels each object still shows after the objects drawn over it; objects hidden to less
/// than a fifth are left out of the annotations.
pub fn image(
    rng: &mut Rng,
    width: u32,
    height: u32,
    max_objects: usize,
) -> (RgbImage, Vec<Object>) {
    let (w, h) = (width as f32, height as f32);
    // Background: a two-colour gradient with mild noise.
    let c0: [f32; 3] = [
        rng.range(0.0, 255.0),
        rng.range(0.0, 255.0),
        rng.range(0.0, 255.0),
    ];
    let c1: [f32; 3] = [
        rng.range(0.0, 255.0),
        rng.range(0.0, 255.0),
        rng.range(0.0, 255.0),
    ];
    let vertical = rng.unit() < 0.5;
    let mut img = RgbImage::from_fn(width, height, |x, y| {
        let t = if vertical { y as f32 / h } else { x as f32 / w };
        let n = ((x.wrapping_mul(73_856_093) ^ y.wrapping_mul(19_349_663)) % 17) as f32 - 8.0;
        Rgb([0, 1, 2].map(|c| (c0[c] * (1.0 - t) + c1[c] * t + n).clamp(0.0, 255.0) as u8))
    });
    let n = 1 + rng.below(max_objects);
    let mut owner = vec![usize::MAX; (width * height) as usize];
    let mut shapes = Vec::new();
    for i in 0..n {
        let kind = CATEGORIES[rng.below(3)].0;
        let side = rng.range(0.12, 0.45) * w.min(h);
        let aspect = if kind == 1 { 1.0 } else { rng.range(0.7, 1.4) };
        let (bw, bh) = (side * aspect.sqrt(), side / aspect.sqrt());
        let x0 = rng.range(0.0, w - bw);
        let y0 = rng.range(0.0, h - bh);
        let b = [x0, y0, x0 + bw, y0 + bh];
        let color = PALETTE[rng.below(PALETTE.len())];
        for y in (b[1] as u32)..(b[3].ceil() as u32).min(height) {
            for x in (b[0] as u32)..(b[2].ceil() as u32).min(width) {
                if inside(kind, x as f32 + 0.5, y as f32 + 0.5, b) {
                    img.put_pixel(x, y, Rgb(color));
                    owner[(y * width + x) as usize] = i;
                }
            }
        }
        shapes.push((kind, b));
    }
    let mut objects = Vec::new();
    for (i, &(kind, b)) in shapes.iter().enumerate() {
        let (mut x0, mut y0, mut x1, mut y1, mut count, mut total) =
            (u32::MAX, u32::MAX, 0, 0, 0usize, 0usize);
        let mut mask = vec![0u8; (width * height) as usize];
        for y in (b[1] as u32)..(b[3].ceil() as u32).min(height) {
            for x in (b[0] as u32)..(b[2].ceil() as u32).min(width) {
                if inside(kind, x as f32 + 0.5, y as f32 + 0.5, b) {
                    total += 1;
                    if owner[(y * width + x) as usize] == i {
                        count += 1;
                        mask[(y * width + x) as usize] = 1;
                        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
                    }
                }
            }
        }
        if total > 0 && count * 5 >= total {
            objects.push(Object {
                category: kind,
                bbox: [x0 as f32, y0 as f32, x1 as f32, y1 as f32],
                mask,
            });
        }
    }
    (img, objects)
}

/// Writes `count` synthetic images and their instances JSON under `out` (`images/`,
/// `annotations.json`).
pub fn write_synthetic(
    out: &std::path::Path,
    count: usize,
    seed: u64,
    width: u32,
    height: u32,
) -> Result<CocoFile> {
    let io = |p: &std::path::Path, e: std::io::Error| VidtError::Io {
        path: p.to_path_buf(),
        reason: e.to_string(),
    };
    let dir = out.join("images");
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    let mut rng = Rng::new(seed);
    let mut file = CocoFile {
        images: vec![],
        annotations: vec![],
        categories: CATEGORIES
            .iter()
            .map(|&(id, name)| CocoCategory {
                id,
                name: name.into(),
            })
            .collect(),
    };
    for i in 0..count {
        let (img, objects) = image(&mut rng, width, height, 6);
        let file_name = format!("{i:06}.png");
        let path = dir.join(&file_name);
        img.save(&path).map_err(|e| VidtError::Io {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let id = i as u64 + 1;
        file.images.push(CocoImage {
            id,
            file_name,
            width,
            height,
        });
        for o in objects {
            let aid = file.annotations.len() as u64 + 1;
            file.annotations.push(CocoAnnotation {
                id: aid,
                image_id: id,
                category_id: o.category,
                bbox: xyxy_to_xywh(o.bbox),
                area: crate::boxes::area(o.bbox),
                iscrowd: 0,
                segmentation: Some(Segmentation::from_mask(
                    &o.mask,
                    height as usize,
                    width as usize,
                )),
            });
        }
    }
    let text = serde_json::to_string(&file).expect("serializable");
    // A killed run never leaves a half-written annotations file.
    crate::io::write_atomic(&out.join("annotations.json"), text.as_bytes())?;
    Ok(file)
}
