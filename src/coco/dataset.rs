//! COCO-format detection data: an instances JSON plus an image folder. Reading checks every
//! entry (a malformed one is an error naming the file and the entry); degenerate boxes are
//! dropped and counted, not fatal. Also the writer used by `vidt synth`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::masks::{InstanceMasks, Segmentation};
use crate::boxes::xyxy_to_normalized_cxcywh;
use crate::error::{Result, VidtError};

/// Ground truth of one image as the criterion takes it: class ids and normalized (cx, cy, w, h)
/// boxes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Target {
    pub labels: Vec<usize>,
    pub boxes: Vec<[f32; 4]>,
    /// Instance masks (ViDT+ training), when the data has them.
    pub masks: Option<InstanceMasks>,
}

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
    /// Polygons or RLE (instance masks, for ViDT+ training).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segmentation: Option<Segmentation>,
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
    /// Each object's segmentation, parallel to `boxes` (`None` where the file has none).
    pub segmentations: Vec<Option<Segmentation>>,
}

impl Sample {
    /// As [`target`](Self::target), with the instance masks at the image's size: `None` unless
    /// every object has a segmentation (checked when the file was read).
    pub fn target_with_masks(&self) -> Target {
        let mut t = self.target();
        let (h, w) = (self.height as usize, self.width as usize);
        let decoded: Option<Vec<Vec<u8>>> = self
            .segmentations
            .iter()
            .map(|s| s.as_ref().and_then(|s| s.decode(h, w).ok()))
            .collect();
        t.masks = decoded.map(|m| InstanceMasks {
            height: h,
            width: w,
            data: m.concat(),
            boxes_px: self.boxes.clone(),
        });
        t
    }

    /// Normalized (cx, cy, w, h) target for an image of `(h, w)` (after any resize the boxes
    /// were already scaled to).
    pub fn target(&self) -> Target {
        let (w, h) = (self.width as f32, self.height as f32);
        Target {
            labels: self.labels.clone(),
            boxes: self
                .boxes
                .iter()
                .map(|&b| xyxy_to_normalized_cxcywh(b, w, h))
                .collect(),
            masks: None,
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
                segmentations: vec![],
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
            if let Some(seg) = &a.segmentation {
                // Checked here so that a malformed one is named now, not mid-training.
                seg.validate(sample.height as usize, sample.width as usize)
                    .map_err(|e| VidtError::Input {
                        name: name.clone(),
                        reason: format!("annotations[{i}] (id {}) segmentation: {e}", a.id),
                    })?;
            }
            sample.labels.push(a.category_id);
            sample.boxes.push(b);
            sample.segmentations.push(a.segmentation.clone());
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

/// What `vidt synth` reports.
#[derive(Clone, Debug, Serialize)]
pub struct SynthReport {
    pub out: String,
    pub images: usize,
    pub annotations: usize,
    pub categories: Vec<CocoCategory>,
}

impl SynthReport {
    pub fn new(out: &Path, file: &CocoFile) -> Self {
        Self {
            out: out.display().to_string(),
            images: file.images.len(),
            annotations: file.annotations.len(),
            categories: file.categories.clone(),
        }
    }
}

/// A COCO JSON file (`what` names the kind in errors: "a COCO instances file", ...).
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| VidtError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|e| VidtError::Input {
        name: path.display().to_string(),
        reason: format!("not {what}: {e}"),
    })
}
