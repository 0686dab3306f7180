//! The training loop: background batch loading with the official augmentations (random
//! horizontal flip, random resize of the shorter side), AdamW with gradient clipping, linear
//! warm-up then cosine decay to `min_lr`, validation loss and COCO mAP per epoch, and a
//! checkpoint per epoch written atomically (weights under the official keys, the Adam moments,
//! a small state file), from which `--resume` continues. Each step seeds the backend's RNG from
//! the run's seed and the step number, so a resumed run draws the same dropout and drop-path
//! masks as an uninterrupted one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Tensor, TensorData};
use image::RgbImage;
use serde::{Deserialize, Serialize};

use super::Target;
use super::augment::{CropBranch, augment};
use super::criterion::Criterion;
use super::dataset::{Dataset, Sample};
use super::optim::VidtOptim;
use super::step::{Shard, train_step};
use super::synth::Rng;
use crate::config::VidtConfig;
use crate::error::{Result, VidtError};
use crate::model::{PixelMask, Vidt};
use crate::ops::VidtBackend;
use crate::preprocess::{load_image, pad_batch};
use crate::weights::{WeightMap, WeightTensor};

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
            max_size: 1333,
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
    pub val: Option<super::eval::CocoStats>,
    pub images_per_s: f32,
}

/// Learning rate at `step` of `total`: linear warm-up, then cosine to `min_lr`.
pub fn lr_at(o: &TrainOptions, step: usize, total: usize) -> f64 {
    if step < o.warmup_steps {
        return o.lr * (step + 1) as f64 / o.warmup_steps as f64;
    }
    let t = (step - o.warmup_steps) as f64 / (total.saturating_sub(o.warmup_steps)).max(1) as f64;
    o.min_lr + 0.5 * (o.lr - o.min_lr) * (1.0 + (std::f64::consts::PI * t.min(1.0)).cos())
}

struct Batch {
    data: Vec<f32>,
    shape: [usize; 4],
    mask: PixelMask,
    targets: Vec<Target>,
}

/// Augmented images and targets of one batch (the loader thread's random draws, in order).
fn load_augmented(
    samples: &[&Sample],
    o: &TrainOptions,
    rng: &mut Rng,
) -> Result<Vec<(RgbImage, Target)>> {
    samples
        .iter()
        .map(|s| {
            let img = load_image(&s.path)?;
            Ok(augment(
                img,
                s.target(),
                &o.scales,
                o.max_size,
                o.crop.as_ref(),
                rng,
            ))
        })
        .collect()
}

/// The batch split into `parts` shards of near-equal size, each padded on its own.
fn into_shards(items: Vec<(RgbImage, Target)>, parts: usize) -> Vec<Batch> {
    let per = items.len().div_ceil(parts.max(1)).max(1);
    let mut items = items.into_iter().peekable();
    let mut shards = Vec::new();
    while items.peek().is_some() {
        let (images, targets): (Vec<RgbImage>, Vec<Target>) = items.by_ref().take(per).unzip();
        let b = pad_batch(&images);
        shards.push(Batch {
            data: b.data,
            shape: b.shape,
            mask: b.mask,
            targets,
        });
    }
    shards
}

/// Shuffled, augmented batches of one epoch, each split into `parts` shards, loaded on a
/// background thread (bounded queue: at most 2 ahead).
fn epoch_batches(
    ds: &Dataset,
    o: &TrainOptions,
    epoch: usize,
    parts: usize,
) -> mpsc::Receiver<Result<Vec<Batch>>> {
    let (tx, rx) = mpsc::sync_channel(2);
    let samples = ds.samples.clone();
    let o = o.clone();
    std::thread::spawn(move || {
        let mut rng = Rng::new(o.seed.wrapping_add(epoch as u64 * 7919));
        let mut order: Vec<usize> = (0..samples.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        for chunk in order.chunks(o.batch_size) {
            let picked: Vec<&Sample> = chunk.iter().map(|&i| &samples[i]).collect();
            let batch = load_augmented(&picked, &o, &mut rng).map(|b| into_shards(b, parts));
            if tx.send(batch).is_err() {
                return;
            }
        }
    });
    rx
}

fn io(p: &Path, e: std::io::Error) -> VidtError {
    VidtError::Io {
        path: p.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Writes the optimizer state, the weights, then the state file, each to a temporary file
/// renamed into place: a run killed at any moment leaves the previous complete checkpoint (the
/// state file names the epoch whose files it uses).
fn save_checkpoint<B: VidtBackend>(
    dir: &Path,
    model: &Vidt<B>,
    optim_state: &BTreeMap<String, WeightTensor>,
    state: &TrainState,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let tmp = dir.join(".optimizer.safetensors.tmp");
    crate::weights::write_safetensors(&tmp, optim_state, &[])?;
    let final_o = optimizer_state_path(dir, state.epoch);
    std::fs::rename(&tmp, &final_o).map_err(|e| io(&final_o, e))?;
    let weights = model.to_weights()?;
    let map = weights
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let tmp = dir.join(".checkpoint.safetensors.tmp");
    crate::weights::write_safetensors(&tmp, &map, &[])?;
    let final_w = checkpoint_weights_path(dir, state.epoch);
    std::fs::rename(&tmp, &final_w).map_err(|e| io(&final_w, e))?;
    let tmp = dir.join(".state.json.tmp");
    std::fs::write(
        &tmp,
        serde_json::to_string_pretty(state).expect("serializable"),
    )
    .map_err(|e| io(&tmp, e))?;
    let final_s = dir.join("state.json");
    std::fs::rename(&tmp, &final_s).map_err(|e| io(&final_s, e))?;
    // The previous epoch's weights are no longer referenced.
    if state.epoch > 1 {
        let _ = std::fs::remove_file(checkpoint_weights_path(dir, state.epoch - 1));
        let _ = std::fs::remove_file(optimizer_state_path(dir, state.epoch - 1));
    }
    Ok(())
}

/// Reads `dir/state.json` and the weights it names.
pub fn read_checkpoint(dir: &Path) -> Result<(TrainState, WeightMap)> {
    let p = dir.join("state.json");
    let text = std::fs::read_to_string(&p).map_err(|e| io(&p, e))?;
    let state: TrainState = serde_json::from_str(&text).map_err(|e| VidtError::Input {
        name: p.display().to_string(),
        reason: e.to_string(),
    })?;
    let w = WeightMap::from_file(checkpoint_weights_path(dir, state.epoch))?;
    Ok((state, w))
}

/// The Adam moments saved with the checkpoint after `epoch` epochs, if that file exists
/// (checkpoints of older versions have none).
pub fn read_optimizer_state(
    dir: &Path,
    epoch: usize,
) -> Result<Option<BTreeMap<String, WeightTensor>>> {
    let p = optimizer_state_path(dir, epoch);
    if !p.is_file() {
        return Ok(None);
    }
    let w = WeightMap::from_file(&p)?;
    Ok(Some(
        w.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
    ))
}

/// Trains `model` (on `devices[0]`) and writes checkpoints to `out`. Several devices train data
/// parallel: each batch is split over them. `state` continues a run (from [`read_checkpoint`],
/// with the optimizer state from [`read_optimizer_state`]) or starts one. Returns the final
/// state.
pub fn fit<B>(
    mut model: Vidt<B>,
    mut state: TrainState,
    optim_state: Option<&BTreeMap<String, WeightTensor>>,
    train: &Dataset,
    val: Option<&Dataset>,
    out: &Path,
    devices: &[B::Device],
) -> Result<TrainState>
where
    B: AutodiffBackend + VidtBackend,
    B::InnerBackend: VidtBackend,
    Vidt<B>: AutodiffModule<B, InnerModule = Vidt<B::InnerBackend>>,
{
    let o = state.options.clone();
    if train.samples.is_empty() || o.batch_size == 0 || o.scales.is_empty() || devices.is_empty() {
        return Err(VidtError::Input {
            name: "training data".into(),
            reason: "no samples, batch size 0, no scales or no device".into(),
        });
    }
    let device = &devices[0];
    let steps_per_epoch = train.samples.len().div_ceil(o.batch_size);
    let total = steps_per_epoch * o.epochs;
    let mut optim = VidtOptim::new(&model, o.weight_decay, o.clip_norm);
    match optim_state {
        Some(s) => {
            let n = optim.load_state(&model, s)?;
            eprintln!("optimizer state restored for {n} tensors");
        }
        None if state.step > 0 => {
            eprintln!("no optimizer state in the checkpoint: Adam's moments restart");
        }
        None => {}
    }
    let criterion = Criterion::default();
    // The teacher is loaded on the autodiff backend, then moved to its inner backend.
    let teacher_model = match &o.teacher {
        Some(p) => {
            let m = crate::weights::LoadedModel::from_file(p)?;
            Some(Vidt::<B>::load(&m.weights, &m.config, device)?.valid())
        }
        None => None,
    };
    let teacher = teacher_model.as_ref().map(|model| super::step::Teacher {
        model,
        coef: o.distil_coef as f32,
    });
    let mut steps_here = 0;
    for epoch in state.epoch..o.epochs {
        let start = Instant::now();
        let (mut loss_sum, mut images) = (0.0f32, 0usize);
        let mut step_in_epoch = 0;
        let bar = Progress::new(steps_per_epoch, epoch, o.epochs);
        for batch in epoch_batches(train, &o, epoch, devices.len()) {
            let shards: Vec<Shard<B>> = batch?
                .into_iter()
                .zip(devices)
                .map(|(b, dev)| Shard {
                    images: Tensor::from_data(TensorData::new(b.data, b.shape), dev),
                    mask: b.mask,
                    targets: b.targets,
                })
                .collect();
            let b: usize = shards.iter().map(|s| s.targets.len()).sum();
            for (i, dev) in devices.iter().enumerate() {
                B::seed(dev, step_seed(o.seed, state.step, i));
            }
            let lr = lr_at(&o, state.step, total);
            let (m, step_loss) =
                train_step(model, &mut optim, lr, shards, &criterion, teacher.as_ref())?;
            let loss = step_loss.total;
            model = m;
            state.step += 1;
            step_in_epoch += 1;
            steps_here += 1;
            loss_sum += loss;
            images += b;
            let distil = step_loss
                .distil
                .map(|d| format!(" distil {d:.4}"))
                .unwrap_or_default();
            let rate = images as f32 / start.elapsed().as_secs_f32();
            let line = format!(
                "epoch {}/{} step {step_in_epoch}/{steps_per_epoch} (total {}/{total}) loss {loss:.4}{distil} grad-norm {:.3} lr {lr:.2e} {rate:.2} img/s",
                epoch + 1,
                o.epochs,
                state.step,
                step_loss.grad_norm,
            );
            bar.step(
                &line,
                &format!("loss {loss:.4}{distil} lr {lr:.2e} {rate:.2} img/s"),
            );
            append_log(out, &line)?;
            if o.abort_after_steps == Some(steps_here) {
                eprintln!("aborting after {steps_here} steps (--abort-after-steps)");
                std::process::exit(3);
            }
        }
        bar.finish();
        let images_per_s = images as f32 / start.elapsed().as_secs_f32();
        let (val_loss, val_stats) = match val {
            Some(v) => {
                let size = *o.scales.last().expect("at least one scale");
                let (dets, loss) = super::eval::detect_dataset(
                    &model.valid(),
                    v,
                    size,
                    o.max_size,
                    device,
                    Some(&criterion),
                )?;
                (loss, Some(super::eval::evaluate(&v.coco, &dets)))
            }
            None => (None, None),
        };
        let log = EpochLog {
            epoch: epoch + 1,
            train_loss: loss_sum / step_in_epoch.max(1) as f32,
            val_loss,
            val: val_stats,
            images_per_s,
        };
        let line = format!(
            "epoch {} done: {}",
            epoch + 1,
            serde_json::to_string(&log).expect("serializable")
        );
        eprintln!("{line}");
        append_log(out, &line)?;
        state.epoch = epoch + 1;
        state.history.push(log);
        save_checkpoint(out, &model, &optim.state(&model)?, &state)?;
    }
    Ok(state)
}

/// The RNG seed of step `step` on replica `replica`: a function of the run's seed only, so
/// dropout and drop-path masks do not depend on where a run was resumed.
fn step_seed(seed: u64, step: usize, replica: usize) -> u64 {
    let mut x = seed ^ (step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((replica as u64) << 48);
    // splitmix64 finalizer: nearby steps get unrelated seeds.
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Per-epoch progress: a bar when stderr is a terminal, else one line per step (logs, CI).
struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(steps: usize, epoch: usize, epochs: usize) -> Self {
        use std::io::IsTerminal;
        if !std::io::stderr().is_terminal() {
            return Self { bar: None };
        }
        let bar = indicatif::ProgressBar::new(steps as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} {elapsed_precise}<{eta_precise} {msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("epoch {}/{epochs}", epoch + 1));
        Self { bar: Some(bar) }
    }

    fn step(&self, line: &str, short: &str) {
        match &self.bar {
            Some(b) => {
                b.set_message(short.to_string());
                b.inc(1);
            }
            None => eprintln!("{line}"),
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish();
        }
    }
}

/// Appends a line to `dir/train.log` (the run's log, kept across resumes).
fn append_log(dir: &Path, line: &str) -> Result<()> {
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
