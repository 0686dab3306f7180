//! The training loop: background batch loading with the official augmentations (random
//! horizontal flip, random resize of the shorter side), AdamW with gradient clipping, linear
//! warm-up then cosine decay to `min_lr`, validation loss and COCO mAP per epoch, and a
//! checkpoint per epoch ([`super::checkpoint`]), from which `--resume` continues. Each step seeds the backend's RNG from
//! the run's seed and the step number, so a resumed run draws the same dropout and drop-path
//! masks as an uninterrupted one.

use std::path::Path;
use std::sync::mpsc;
use std::time::Instant;

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Tensor, TensorData};
use image::RgbImage;

use super::augment::augment;
use super::checkpoint::{EpochLog, TrainState, append_log, save_checkpoint};
use super::criterion::Criterion;
use super::optim::VidtOptim;
pub use super::options::{Sched, TrainOptions};
use super::step::{Shard, Teacher, train_step};
use crate::coco::{Dataset, Sample, Target};
use crate::detect::preprocess::{load_image, pad_batch};
use crate::error::{Result, VidtError};
use crate::model::{PixelMask, Vidt};
use crate::ops::VidtBackend;
use crate::rng::{Rng, mix};
use crate::tensor_map::{TensorMap, read};

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
    masks: bool,
    rng: &mut Rng,
) -> Result<Vec<(RgbImage, Target)>> {
    samples
        .iter()
        .map(|s| {
            let img = load_image(&s.path)?;
            let t = if masks {
                s.target_with_masks()
            } else {
                s.target()
            };
            augment(img, t, &o.scales, o.max_size, o.crop.as_ref(), rng)
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
    masks: bool,
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
            let batch = load_augmented(&picked, &o, masks, &mut rng).map(|b| into_shards(b, parts));
            if tx.send(batch).is_err() {
                return;
            }
        }
    });
    rx
}

/// Trains `model` (on `devices[0]`) and writes checkpoints to `out`. Several devices train data
/// parallel: each batch is split over them. `state` continues a run (from [`read_checkpoint`],
/// with the optimizer state from [`read_optimizer_state`]) or starts one. Returns the final
/// state. `interrupt` is asked after every step with the steps run in this call: `true` stops
/// the run there as a kill would, writing nothing more ([`VidtError::Interrupted`]).
pub fn fit<B>(
    mut model: Vidt<B>,
    mut state: TrainState,
    optim_state: Option<&TensorMap>,
    train: &Dataset,
    val: Option<&Dataset>,
    out: &Path,
    devices: &[B::Device],
    interrupt: &dyn Fn(usize) -> bool,
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
    // ViDT+ learns from instance masks: every object needs one.
    let masks = state.config.plus;
    if masks {
        for s in &train.samples {
            if let Some(j) = s.segmentations.iter().position(|m| m.is_none()) {
                return Err(VidtError::Input {
                    name: s.path.display().to_string(),
                    reason: format!(
                        "object {j} has no segmentation: ViDT+ training needs instance masks"
                    ),
                });
            }
        }
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
            let m = crate::io::LoadedModel::from_file(p)?;
            Some(crate::official::load::<B>(&m.weights, &m.config, device)?.valid())
        }
        None => None,
    };
    let teacher = teacher_model.as_ref().map(|model| Teacher {
        model,
        coef: o.distil_coef as f32,
    });
    let mut steps_here = 0;
    for epoch in state.epoch..o.epochs {
        let start = Instant::now();
        let (mut loss_sum, mut images) = (0.0f32, 0usize);
        let mut step_in_epoch = 0;
        let bar = Progress::new(steps_per_epoch, epoch, o.epochs);
        for batch in epoch_batches(train, &o, masks, epoch, devices.len()) {
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
            let lr = Sched::lr(&o, epoch, state.step, total);
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
            if interrupt(steps_here) {
                return Err(VidtError::Interrupted { steps: steps_here });
            }
        }
        bar.finish();
        let images_per_s = images as f32 / start.elapsed().as_secs_f32();
        let (val_loss, val_stats) = match val {
            Some(v) => {
                let (stats, loss) = validate(&model.valid(), v, &o, device, &criterion)?;
                (Some(loss), Some(stats))
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

/// COCO statistics and the mean loss per image on `ds`, from one forward pass per image (at
/// the largest training scale).
fn validate<B: VidtBackend>(
    model: &Vidt<B>,
    ds: &Dataset,
    o: &TrainOptions,
    device: &B::Device,
    criterion: &Criterion,
) -> Result<(crate::coco::CocoStats, f32)> {
    let size = *o.scales.last().expect("at least one scale");
    let mut loss_sum = 0.0;
    let dets =
        crate::coco::eval::detect_dataset(model, ds, (size, o.max_size), device, |s, out| {
            let mut levels = out.aux;
            levels.push((out.pred_logits, out.pred_boxes));
            loss_sum += read(criterion.forward(&levels, &[s.target()])?.total)?[0];
            Ok(())
        })?;
    let stats = crate::coco::evaluate(&ds.coco, &dets);
    Ok((stats, loss_sum / ds.samples.len().max(1) as f32))
}

/// The RNG seed of step `step` on replica `replica`: a function of the run's seed only, so
/// dropout and drop-path masks do not depend on where a run was resumed.
fn step_seed(seed: u64, step: usize, replica: usize) -> u64 {
    mix(seed ^ (step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((replica as u64) << 48))
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
