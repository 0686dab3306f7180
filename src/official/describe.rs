//! `vidt info`: what a checkpoint is, by the key table — the inferred configuration, the
//! reference's parameter counts and the keys the table does not know.

use serde::Serialize;

use super::keys::{Kind, parameter_count, table, used_parameter_count};
use crate::config::VidtConfig;
use crate::error::Result;
use crate::tensor_map::{Dtype, TensorMap};

#[derive(Clone, Debug, Serialize)]
pub struct CheckpointInfo {
    pub file: String,
    pub config: VidtConfig,
    /// How a `.vidt` model file stores its tensors (`f32`, `f16`, `bf16`, `q8`); null for a
    /// checkpoint (`.pth`, safetensors), read as stored.
    pub dtype: Option<Dtype>,
    pub keys: usize,
    /// Trainable parameters of the reference model (`model.parameters()`).
    pub parameters: usize,
    pub parameters_used_by_inference: usize,
    /// Of those, the ones the file holds.
    pub parameters_in_file: usize,
    pub unknown_keys: Vec<String>,
}

/// Describes the checkpoint `w` (read from `file`, stored as `dtype` when a model file).
pub fn describe(w: &TensorMap, file: &str, dtype: Option<Dtype>) -> Result<CheckpointInfo> {
    let cfg = super::infer::infer_config(w)?;
    let entries = table(&cfg);
    let known: std::collections::HashSet<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    let parameters_in_file = entries
        .iter()
        .filter(|e| matches!(e.kind, Kind::Param | Kind::Unused))
        .filter_map(|e| w.shape(&e.key).map(|s| s.iter().product::<usize>()))
        .sum();
    Ok(CheckpointInfo {
        file: file.to_string(),
        dtype,
        keys: w.len(),
        parameters: parameter_count(&cfg),
        parameters_used_by_inference: used_parameter_count(&cfg),
        parameters_in_file,
        unknown_keys: w
            .keys()
            .filter(|k| !known.contains(k))
            .map(str::to_string)
            .collect(),
        config: cfg,
    })
}
