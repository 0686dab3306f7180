//! `vidt detect` on files: each image decoded, resized, run and post-processed on its own (a
//! padded batch would change nothing but cost time), optionally drawn to an annotated copy;
//! or a preprocessed batch from a tensor file (`input`, `mask`, `target_sizes`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::detector::{Detector, ForwardInput};
use super::draw::annotate;
use super::options::DetectOptions;
use super::postprocess::Detection;
use super::preprocess::{load_image, make_batch};
use crate::error::{Result, VidtError};
use crate::ops::VidtBackend;
use crate::tensor_map::TensorMap;

/// The detections of one image, as `vidt detect` prints them.
#[derive(Clone, Debug, Serialize)]
pub struct ImageDetections {
    pub image: String,
    pub width: u32,
    pub height: u32,
    /// `[height, width]` of the tensor the model was given (the official resize's output; for
    /// `--tensors`, the padded batch's).
    pub input: [usize; 2],
    pub detections: Vec<Detection>,
}

/// Detects in every image of `paths`, resized to shorter side `size` (longer at most
/// `max_size`); annotated copies go to `output_dir` as `NAME.detections.png`.
pub fn detect_files<B: VidtBackend>(
    det: &Detector<B>,
    paths: &[PathBuf],
    opts: DetectOptions,
    (size, max_size): (usize, usize),
    output_dir: Option<&Path>,
) -> Result<Vec<ImageDetections>> {
    let mut results = Vec::new();
    for path in paths {
        let img = load_image(path)?;
        let batch = make_batch(std::slice::from_ref(&img), size, max_size)?;
        let dets = det
            .detect(
                &batch.data,
                batch.shape,
                &batch.mask,
                &batch.original_sizes,
                opts.clone(),
            )?
            .remove(0);
        if let Some(dir) = output_dir {
            let io = |p: &Path, e: String| VidtError::Io {
                path: p.to_path_buf(),
                reason: e,
            };
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e.to_string()))?;
            let mut canvas = img.clone();
            annotate(&mut canvas, &dets);
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_else(|| "image".into());
            let out = dir.join(format!("{name}.detections.png"));
            canvas.save(&out).map_err(|e| io(&out, e.to_string()))?;
        }
        results.push(ImageDetections {
            image: path.display().to_string(),
            width: img.width(),
            height: img.height(),
            input: [batch.shape[2], batch.shape[3]],
            detections: dets,
        });
    }
    Ok(results)
}

/// Detects on a preprocessed batch read from `file` (safetensors: `input` (B,3,H,W), `mask`
/// (B,H,W) and `target_sizes` (B,2) as (h, w), the sizes boxes are scaled to).
pub fn detect_tensors<B: VidtBackend>(
    det: &Detector<B>,
    file: &Path,
    opts: DetectOptions,
) -> Result<Vec<ImageDetections>> {
    let name = file.display().to_string();
    let map = TensorMap::from_file(file)?;
    let inp = ForwardInput::from_tensors(&map, &name)?;
    let b = inp.shape[0];
    let sizes = map.require("target_sizes").map_err(|_| VidtError::Input {
        name: name.clone(),
        reason: "has no tensor `target_sizes` (B, 2): the (h, w) boxes are scaled to".into(),
    })?;
    if sizes.shape != [b, 2] {
        return Err(VidtError::Input {
            name,
            reason: format!(
                "`target_sizes` has shape {:?}, expected [{b}, 2]",
                sizes.shape
            ),
        });
    }
    let sizes: Vec<(usize, usize)> = sizes
        .data
        .chunks_exact(2)
        .map(|s| (s[0] as usize, s[1] as usize))
        .collect();
    let dets = det.detect(&inp.data, inp.shape, &inp.mask, &sizes, opts)?;
    Ok(dets
        .into_iter()
        .zip(&sizes)
        .enumerate()
        .map(|(i, (detections, &(h, w)))| ImageDetections {
            image: format!("{name}[{i}]"),
            width: w as u32,
            height: h as u32,
            input: [inp.shape[2], inp.shape[3]],
            detections,
        })
        .collect())
}

/// The committed demo model, `models/demo.vidt` of the source tree this build came from (the
/// default of `vidt detect`).
pub fn demo_model() -> Result<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo.vidt");
    if !p.is_file() {
        return Err(VidtError::Input {
            name: p.display().to_string(),
            reason: "no --weights given and the default model is missing (it is part of the \
                     repository: restore it, or pass --weights)"
                .into(),
        });
    }
    Ok(p)
}
