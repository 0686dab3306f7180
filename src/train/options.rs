//! A run's options: what `state.json` records and a resumed run continues with. The defaults
//! are the official recipe's (`main.py`), at our batch size.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::augment::CropBranch;
use crate::defaults;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainOptions {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub min_lr: f64,
    pub weight_decay: f32,
    pub clip_norm: f32,
    /// Warm-up steps (linear from 0).
    pub warmup_steps: usize,
    /// Shorter-side sizes to pick from (official: 480..=800 step 32).
    pub scales: Vec<usize>,
    pub max_size: usize,
    /// The resize-crop-resize branch, taken for half of the images (official); `None` resizes
    /// only (runs recorded before the branch existed read as `None`).
    #[serde(default)]
    pub crop: Option<CropBranch>,
    pub seed: u64,
    /// Frozen teacher checkpoint for token-matching distillation (any ViDT size).
    #[serde(default)]
    pub teacher: Option<PathBuf>,
    /// Weight of `loss_distil` (official `--distil_loss_coef` 4.0).
    #[serde(default = "default_distil_coef")]
    pub distil_coef: f64,
    /// Stop abruptly after this many steps in this process (tests kill-and-resume).
    #[serde(skip)]
    pub abort_after_steps: Option<usize>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            epochs: 50,
            batch_size: 2,
            lr: 1e-4,
            min_lr: 1e-7,
            weight_decay: 1e-4,
            clip_norm: 0.1,
            warmup_steps: 0,
            scales: (480..=800).step_by(32).collect(),
            max_size: defaults::MAX_SIZE,
            crop: Some(CropBranch::default()),
            seed: 42,
            teacher: None,
            distil_coef: default_distil_coef(),
            abort_after_steps: None,
        }
    }
}

fn default_distil_coef() -> f64 {
    4.0
}
