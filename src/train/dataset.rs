//! COCO-format detection data: an instances JSON plus an image folder. Reading checks every
//! entry (a malformed one is an error naming the file and the entry); degenerate boxes are
//! dropped and counted, not fatal. Also the writer used by `vidt synth`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Target;
use crate::error::{Result, VidtError};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CocoImage {
    pub id: u64,
    pub file_name: String,
    pub width: u32,
    pub height: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CocoAnnotation {
    pub id: u64,
    pub image_id: u64,
    pub category_id: usize,
    /// `[x, y, w, h]` in pixels.
    pub bbox: [f32; 4],
    #[serde(default)]
    pub area: f32,
    #[serde(default)]
    pub iscrowd: u8,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CocoCategory {
    pub id: usize,
    pub name: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CocoFile {
    pub images: Vec<CocoImage>,
    pub annotations: Vec<CocoAnnotation>,
    pub categories: Vec<CocoCategory>,
}

/// One image and its (non-crowd) boxes.
#[derive(Clone, Debug)]
pub struct Sample {
    pub path: PathBuf,
    pub width: u32,
    pub height: u32,
    pub labels: Vec<usize>,
    /// `[x0, y0, x1, y1]` in pixels.
    pub boxes: Vec<[f32; 4]>,
}

impl Sample {
    /// Normalized (cx, cy, w, h) target for an image of `(h, w)` (after any resize the boxes
    /// were already scaled to).
    pub fn target(&self) -> Target {
        let (w, h) = (self.width as f32, self.height as f32);
        Target {
            labels: self.labels.clone(),
            boxes: self
                .boxes
                .iter()
                .map(|b| {
                    [
                        (b[0] + b[2]) / 2.0 / w,
                        (b[1] + b[3]) / 2.0 / h,
                        (b[2] - b[0]) / w,
                        (b[3] - b[1]) / h,
                    ]
                })
                .collect(),
        }
    }
}

/// A COCO dataset: samples in file order, category names, and how many boxes were dropped.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub samples: Vec<Sample>,
    pub categories: Vec<CocoCategory>,
    pub dropped_boxes: usize,
    /// Image ids, parallel to `samples`.
    pub image_ids: Vec<u64>,
    /// The file as read (the ground truth for evaluation).
    pub coco: CocoFile,
}

impl Dataset {
    /// Reads `annotations` (instances JSON) with image paths relative to `image_dir`.
    pub fn read(annotations: &Path, image_dir: &Path) -> Result<Self> {
        let name = annotations.display().to_string();
        let text = std::fs::read_to_string(annotations).map_err(|e| VidtError::Io {
            path: annotations.to_path_buf(),
            reason: e.to_string(),
        })?;
        let file: CocoFile = serde_json::from_str(&text).map_err(|e| VidtError::Input {
            name: name.clone(),
            reason: format!("not a COCO instances file: {e}"),
        })?;
        let mut index = HashMap::new();
        let mut samples = Vec::with_capacity(file.images.len());
        for (i, im) in file.images.iter().enumerate() {
            if im.width == 0 || im.height == 0 {
                return Err(VidtError::Input {
                    name: name.clone(),
                    reason: format!(
                        "images[{i}] (id {}) has size {}x{}",
                        im.id, im.width, im.height
                    ),
                });
            }
            if index.insert(im.id, samples.len()).is_some() {
                return Err(VidtError::Input {
                    name: name.clone(),
                    reason: format!("images[{i}]: duplicate image id {}", im.id),
                });
            }
            samples.push(Sample {
                path: image_dir.join(&im.file_name),
                width: im.width,
                height: im.height,
                labels: vec![],
                boxes: vec![],
            });
        }
        let known: std::collections::HashSet<usize> =
            file.categories.iter().map(|c| c.id).collect();
        let mut dropped = 0;
        for (i, a) in file.annotations.iter().enumerate() {
            let s = *index.get(&a.image_id).ok_or_else(|| VidtError::Input {
                name: name.clone(),
                reason: format!(
                    "annotations[{i}] (id {}) refers to image id {}, which is not in `images`",
                    a.id, a.image_id
                ),
            })?;
            if !known.contains(&a.category_id) {
                return Err(VidtError::Input {
                    name: name.clone(),
                    reason: format!(
                        "annotations[{i}] (id {}) has unknown category {}",
                        a.id, a.category_id
                    ),
                });
            }
            if a.bbox.iter().any(|v| !v.is_finite()) {
                return Err(VidtError::Input {
                    name: name.clone(),
                    reason: format!(
                        "annotations[{i}] (id {}) has a non-finite box {:?}",
                        a.id, a.bbox
                    ),
                });
            }
            if a.iscrowd != 0 {
                continue;
            }
            let sample = &mut samples[s];
            let [x, y, w, h] = a.bbox;
            // Clip to the image as the reference's ConvertCocoPolysToMask does, then drop empty boxes.
            let b = [
                x.clamp(0.0, sample.width as f32),
                y.clamp(0.0, sample.height as f32),
                (x + w).clamp(0.0, sample.width as f32),
                (y + h).clamp(0.0, sample.height as f32),
            ];
            if b[2] <= b[0] || b[3] <= b[1] {
                dropped += 1;
                continue;
            }
            sample.labels.push(a.category_id);
            sample.boxes.push(b);
        }
        let image_ids = file.images.iter().map(|i| i.id).collect();
        Ok(Self {
            samples,
            categories: file.categories.clone(),
            dropped_boxes: dropped,
            image_ids,
            coco: file,
        })
    }
}

/// Writes `count` synthetic images and their instances JSON under `out` (`images/`,
/// `annotations.json`).
pub fn write_synthetic(
    out: &Path,
    count: usize,
    seed: u64,
    width: u32,
    height: u32,
) -> Result<CocoFile> {
    let io = |p: &Path, e: std::io::Error| VidtError::Io {
        path: p.to_path_buf(),
        reason: e.to_string(),
    };
    let dir = out.join("images");
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    let mut rng = super::synth::Rng::new(seed);
    let mut file = CocoFile {
        images: vec![],
        annotations: vec![],
        categories: super::synth::CATEGORIES
            .iter()
            .map(|&(id, name)| CocoCategory {
                id,
                name: name.into(),
            })
            .collect(),
    };
    for i in 0..count {
        let (img, objects) = super::synth::image(&mut rng, width, height, 6);
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
            let [x0, y0, x1, y1] = o.bbox;
            let aid = file.annotations.len() as u64 + 1;
            file.annotations.push(CocoAnnotation {
                id: aid,
                image_id: id,
                category_id: o.category,
                bbox: [x0, y0, x1 - x0, y1 - y0],
                area: (x1 - x0) * (y1 - y0),
                iscrowd: 0,
            });
        }
    }
    let json = out.join("annotations.json");
    let text = serde_json::to_string(&file).expect("serializable");
    // Write then rename: a killed run never leaves a half-written annotations file.
    let tmp = out.join(".annotations.json.tmp");
    std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, &json).map_err(|e| io(&json, e))?;
    Ok(file)
}
