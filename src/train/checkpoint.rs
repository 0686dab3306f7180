//! A run directory on disk: per epoch the weights under the official keys
//! (`checkpoint-EEEE.safetensors`), the Adam moments (`optimizer-EEEE.safetensors`) and
//! `state.json` (epochs, steps, configuration, options, history), each written atomically in
//! that order, so a run killed at any moment leaves the previous complete checkpoint (the state
//! file names the epoch whose files it uses); and the run's log, `train.log`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::options::TrainOptions;
use crate::coco::CocoStats;
use crate::config::VidtConfig;
use crate::error::{Result, VidtError};
use crate::io::{write_atomic, write_safetensors};
use crate::model::Vidt;
use crate::ops::VidtBackend;
use crate::tensor_map::{Dtype, TensorMap};

/// What a checkpoint directory records besides the weights.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimizer steps taken.
    pub step: usize,
    pub config: VidtConfig,
    pub options: TrainOptions,
    pub history: Vec<EpochLog>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub train_loss: f32,
    pub val_loss: Option<f32>,
    /// COCO statistics on the validation set.
    pub val: Option<CocoStats>,
    pub images_per_s: f32,
}

fn io(p: &Path, e: std::io::Error) -> VidtError {
    VidtError::Io {
        path: p.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Writes the optimizer state, the weights, then the state file (see the module doc).
pub fn save_checkpoint<B: VidtBackend>(
    dir: &Path,
    model: &Vidt<B>,
    optim_state: &TensorMap,
    state: &TrainState,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    write_safetensors(
        &optimizer_state_path(dir, state.epoch),
        optim_state,
        Dtype::F32,
    )?;
    let weights = crate::official::save(model, &state.config)?;
    write_safetensors(
        &checkpoint_weights_path(dir, state.epoch),
        &weights,
        Dtype::F32,
    )?;
    let json = serde_json::to_string_pretty(state).expect("serializable");
    write_atomic(&dir.join("state.json"), json.as_bytes())?;
    // The previous epoch's files are no longer referenced.
    if state.epoch > 1 {
        let _ = std::fs::remove_file(checkpoint_weights_path(dir, state.epoch - 1));
        let _ = std::fs::remove_file(optimizer_state_path(dir, state.epoch - 1));
    }
    Ok(())
}

/// Reads `dir/state.json` and the weights it names.
pub fn read_checkpoint(dir: &Path) -> Result<(TrainState, TensorMap)> {
    let p = dir.join("state.json");
    let text = std::fs::read_to_string(&p).map_err(|e| io(&p, e))?;
    let state: TrainState = serde_json::from_str(&text).map_err(|e| VidtError::Input {
        name: p.display().to_string(),
        reason: e.to_string(),
    })?;
    let w = TensorMap::from_file(checkpoint_weights_path(dir, state.epoch))?;
    Ok((state, w))
}

/// The Adam moments saved with the checkpoint after `epoch` epochs, if that file exists
/// (checkpoints of older versions have none).
pub fn read_optimizer_state(dir: &Path, epoch: usize) -> Result<Option<TensorMap>> {
    let p = optimizer_state_path(dir, epoch);
    if !p.is_file() {
        return Ok(None);
    }
    TensorMap::from_file(&p).map(Some)
}

/// Appends a line to `dir/train.log` (the run's log, kept across resumes).
pub fn append_log(dir: &Path, line: &str) -> Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let p = dir.join("train.log");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&p)
        .map_err(|e| io(&p, e))?;
    writeln!(f, "{line}").map_err(|e| io(&p, e))
}

/// The directory's checkpoint, if it has one.
pub fn has_checkpoint(dir: &Path) -> bool {
    dir.join("state.json").is_file()
}

/// The optimizer state (Adam moments by parameter path) of the checkpoint after `epoch` epochs.
pub fn optimizer_state_path(dir: &Path, epoch: usize) -> PathBuf {
    dir.join(format!("optimizer-{epoch:04}.safetensors"))
}

/// The weights file of the checkpoint after `epoch` epochs.
pub fn checkpoint_weights_path(dir: &Path, epoch: usize) -> PathBuf {
    dir.join(format!("checkpoint-{epoch:04}.safetensors"))
}
