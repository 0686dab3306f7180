//! `vidt export`: any checkpoint to a web model file (`.vidt`), with the edits a deployment
//! wants (fewer decoder layers, class names, the input size and display recommendations).

use std::path::PathBuf;

use serde::Serialize;

use super::model_file::{stored_entries, write_model_file};
use super::{LoadedModel, write_atomic};
use crate::error::{Result, VidtError};
use crate::tensor_map::Dtype;

/// What to export, and what to change on the way (`vidt export`'s options).
#[derive(Clone, Debug, clap::Args)]
pub struct ExportOptions {
    /// A `.pth`, `.safetensors` (training checkpoint) or `.vidt` file: a path, an http(s) URL or
    /// an official name (`vidt_nano_50`).
    #[arg(long)]
    pub weights: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
    /// f16, f32, bf16 or q8 (linear weights as int8 with a scale per output channel, the rest
    /// f16: about half the f16 file, logits within 0.25 of the official).
    #[arg(long, default_value_t = Dtype::F16)]
    pub dtype: Dtype,
    /// Keep only the first K decoder layers (head K becomes the output).
    #[arg(long)]
    pub dec_layers: Option<usize>,
    /// Shorter image side the model was trained for, stored in the file (detect and the
    /// browser resize to it by default; 800 when absent).
    #[arg(long)]
    pub input_size: Option<usize>,
    /// Class names: a COCO annotations file (its categories, by id) or a text file with one
    /// name per line (line i = label i). Default: as stored, else COCO's for 91 classes.
    #[arg(long)]
    pub classes: Option<PathBuf>,
    /// Recommended score threshold, stored (detect and the browser default to it).
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Recommended class-wise NMS IoU, stored (detect and the browser apply it by default).
    #[arg(long)]
    pub nms: Option<f32>,
}

/// What was written.
#[derive(Clone, Debug, Serialize)]
pub struct ExportReport {
    pub out: String,
    pub bytes: usize,
    pub dtype: Dtype,
    pub preset: Option<String>,
    pub dec_layers: usize,
    pub classes: usize,
    pub input_size: Option<usize>,
    pub score_threshold: Option<f32>,
    pub nms_iou: Option<f32>,
    pub tensors: usize,
}

/// Reads `o.weights` (`.pth`, safetensors or `.vidt`), applies `o` and writes `o.out`
/// atomically.
pub fn export_model(o: &ExportOptions) -> Result<ExportReport> {
    let (weights, out) = (o.weights.as_path(), o.out.as_path());
    let mut m = LoadedModel::from_file(weights)?;
    if o.input_size.is_some() {
        m.input_size = o.input_size;
    }
    if o.threshold.is_some() {
        m.recommended.threshold = o.threshold;
    }
    if o.nms.is_some() {
        m.recommended.nms_iou = o.nms;
    }
    if let Some(k) = o.dec_layers {
        if k > m.config.dec_layers {
            return Err(VidtError::Input {
                name: format!("--dec-layers {k}"),
                reason: format!(
                    "{} has {} decoder layers",
                    weights.display(),
                    m.config.dec_layers
                ),
            });
        }
        m.config.dec_layers = k;
    }
    if let Some(p) = &o.classes {
        m.classes = super::classes::class_names_from_file(p, m.config.num_classes)?;
    }
    let bytes = write_model_file(
        &m.weights,
        &m.config,
        &m.classes,
        o.dtype,
        m.input_size,
        m.recommended,
    )?;
    write_atomic(out, &bytes)?;
    Ok(ExportReport {
        out: out.display().to_string(),
        bytes: bytes.len(),
        dtype: o.dtype,
        preset: m.config.preset.clone(),
        dec_layers: m.config.dec_layers,
        classes: m.config.num_classes,
        input_size: m.input_size,
        score_threshold: m.recommended.threshold,
        nms_iou: m.recommended.nms_iou,
        tensors: stored_entries(&m.config).len(),
    })
}
