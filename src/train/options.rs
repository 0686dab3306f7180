//! A run's options: what `state.json` records and a resumed run continues with. The defaults
//! are the official recipe's (`main.py`), at our batch size.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::augment::CropBranch;
use crate::defaults;

#[derive(Clone, Debug, Serialize, Deserialize, clap::Args)]
pub struct TrainOptions {
    #[arg(long, default_value_t = TrainOptions::default().epochs)]
    pub epochs: usize,
    #[arg(long, default_value_t = TrainOptions::default().batch_size)]
    pub batch_size: usize,
    /// Peak learning rate (official --lr).
    #[arg(long, default_value_t = TrainOptions::default().lr)]
    pub lr: f64,
    /// Learning-rate schedule: the official `warmupcos` (per epoch) or `step`, or ours per
    /// optimizer step (`cosine-steps`). Runs recorded before it existed read as
    /// `cosine-steps`, the one they ran.
    #[arg(long, value_enum, default_value_t = TrainOptions::default().sched)]
    #[serde(default = "Sched::recorded_before")]
    pub sched: Sched,
    /// The cosine's floor (official --min-lr).
    #[arg(long, default_value_t = TrainOptions::default().min_lr)]
    pub min_lr: f64,
    /// warmupcos: the first epochs' rate, raised linearly to --lr over --warmup-epochs
    /// (official --warmup-lr).
    #[arg(long, default_value_t = TrainOptions::default().warmup_lr)]
    #[serde(default = "default_warmup_lr")]
    pub warmup_lr: f64,
    /// (official --warmup-epochs)
    #[arg(long, default_value_t = TrainOptions::default().warmup_epochs)]
    #[serde(default)]
    pub warmup_epochs: usize,
    /// step: the rate drops tenfold every this many epochs (official --lr_drop).
    #[arg(long, default_value_t = TrainOptions::default().lr_drop)]
    #[serde(default = "default_lr_drop")]
    pub lr_drop: usize,
    /// AdamW's decoupled weight decay (official --weight_decay).
    #[arg(long, default_value_t = TrainOptions::default().weight_decay)]
    pub weight_decay: f32,
    /// Global gradient-norm clip (official --clip_max_norm).
    #[arg(long = "clip-max-norm", default_value_t = TrainOptions::default().clip_norm)]
    pub clip_norm: f32,
    /// cosine-steps: warm-up optimizer steps (linear from 0).
    #[arg(long, default_value_t = TrainOptions::default().warmup_steps)]
    pub warmup_steps: usize,
    /// Shorter-side sizes, comma separated (official: 480..800 step 32).
    #[arg(long, value_delimiter = ',', default_values_t = TrainOptions::default().scales)]
    pub scales: Vec<usize>,
    #[arg(long, default_value_t = TrainOptions::default().max_size)]
    pub max_size: usize,
    /// The resize-crop-resize branch, taken for half of the images (official); `None` resizes
    /// only (runs recorded before the branch existed read as `None`). Set by `--no-crop`.
    #[arg(skip = Some(CropBranch::default()))]
    #[serde(default)]
    pub crop: Option<CropBranch>,
    #[arg(long, default_value_t = TrainOptions::default().seed)]
    pub seed: u64,
    /// Token-matching distillation from this frozen teacher (`.pth`, `.safetensors` or
    /// `.vidt`, any ViDT size).
    #[arg(long)]
    #[serde(default)]
    pub teacher: Option<PathBuf>,
    /// Weight of the distillation loss (official --distil_loss_coef, 4.0).
    #[arg(long, default_value_t = TrainOptions::default().distil_coef)]
    #[serde(default = "default_distil_coef")]
    pub distil_coef: f64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            epochs: 50,
            batch_size: 2,
            lr: 1e-4,
            sched: Sched::Warmupcos,
            min_lr: 1e-7,
            warmup_lr: default_warmup_lr(),
            warmup_epochs: 0,
            lr_drop: default_lr_drop(),
            weight_decay: 1e-4,
            clip_norm: 0.1,
            warmup_steps: 0,
            scales: (480..=800).step_by(32).collect(),
            max_size: defaults::MAX_SIZE,
            crop: Some(CropBranch::default()),
            seed: 42,
            teacher: None,
            distil_coef: default_distil_coef(),
        }
    }
}

fn default_distil_coef() -> f64 {
    4.0
}

fn default_warmup_lr() -> f64 {
    1e-6
}

fn default_lr_drop() -> usize {
    40
}

/// How the learning rate moves (official `--sched`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Sched {
    /// Official default (YOLOS's copy of timm's CosineLRScheduler, per epoch): from
    /// --warmup-lr linearly to --lr over --warmup-epochs, then cosine to --min-lr at --epochs.
    Warmupcos,
    /// Official `step` (torch's StepLR): --lr, a tenth of it every --lr-drop epochs.
    Step,
    /// Ours, per optimizer step: linear from 0 over --warmup-steps, then cosine to --min-lr
    /// (smoother than per epoch for runs of a few epochs).
    CosineSteps,
}

impl Sched {
    fn recorded_before() -> Self {
        Sched::CosineSteps
    }

    /// The rate of optimizer step `step` (0-based; `total` in the run) in `epoch`.
    ///
    /// The official per-epoch schedules are stepped at the end of each epoch with that epoch's
    /// index (main.py: `lr_scheduler.step(epoch)`), so epoch `e >= 1` trains at the schedule's
    /// value for `e - 1`, and epoch 0 at its value for 0: kept, to pin a run to the official.
    pub fn lr(o: &TrainOptions, epoch: usize, step: usize, total: usize) -> f64 {
        let cosine = |t: f64| {
            o.min_lr + 0.5 * (o.lr - o.min_lr) * (1.0 + (std::f64::consts::PI * t.min(1.0)).cos())
        };
        let e = epoch.saturating_sub(1);
        match o.sched {
            Sched::Warmupcos if e < o.warmup_epochs => {
                o.warmup_lr + e as f64 * (o.lr - o.warmup_lr) / o.warmup_epochs as f64
            }
            Sched::Warmupcos => cosine(e as f64 / o.epochs.max(1) as f64),
            Sched::Step => o.lr * 0.1f64.powi((e / o.lr_drop.max(1)) as i32),
            Sched::CosineSteps if step < o.warmup_steps => {
                o.lr * (step + 1) as f64 / o.warmup_steps as f64
            }
            Sched::CosineSteps => {
                let rest = total.saturating_sub(o.warmup_steps).max(1);
                cosine((step - o.warmup_steps) as f64 / rest as f64)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates(o: &TrainOptions) -> Vec<f64> {
        // One step per epoch: the per-epoch schedules depend on the epoch only.
        (0..o.epochs)
            .map(|e| Sched::lr(o, e, e, o.epochs))
            .collect()
    }

    fn close(ours: &[f64], official: &[f64]) {
        assert_eq!(ours.len(), official.len());
        for (a, b) in ours.iter().zip(official) {
            assert!(
                (a - b).abs() <= 1e-12 * b.abs().max(1e-12),
                "{ours:?} vs {official:?}"
            );
        }
    }

    /// The rate each epoch trains at, as main.py's loop sets it: printed by running the
    /// official `util/scheduler.py` (CosineLRScheduler, stepped with `step(epoch)` after each
    /// epoch) in Python; `step`: torch StepLR's closed form `lr * 0.1 ** (epoch // lr_drop)`
    /// at the same points.
    #[test]
    fn the_official_schedules_epoch_by_epoch() {
        let o = |sched, epochs, lr, min_lr, warmup_epochs| TrainOptions {
            sched,
            epochs,
            lr,
            min_lr,
            warmup_lr: 1e-6,
            warmup_epochs,
            lr_drop: 2,
            ..TrainOptions::default()
        };
        let warm = o(Sched::Warmupcos, 6, 1e-4, 1e-7, 2);
        close(
            &rates(&warm),
            &[
                1e-06,
                1e-06,
                5.05e-05,
                7.502500000000001e-05,
                5.0050000000000004e-05,
                2.507500000000001e-05,
            ],
        );
        let cos = o(Sched::Warmupcos, 4, 2e-4, 1e-7, 0);
        close(
            &rates(&cos),
            &[0.0002, 0.0002, 0.00017072532277959544, 0.00010005],
        );
        let step = o(Sched::Step, 6, 1e-4, 1e-7, 0);
        close(&rates(&step), &[1e-4, 1e-4, 1e-4, 1e-5, 1e-5, 1e-6]);
    }

    /// `--lr 0 --min-lr 0` pins every weight: no schedule gives a step a rate.
    #[test]
    fn zero_rates_stay_zero() {
        for sched in [Sched::Warmupcos, Sched::Step, Sched::CosineSteps] {
            let o = TrainOptions {
                sched,
                epochs: 5,
                lr: 0.0,
                min_lr: 0.0,
                warmup_lr: 0.0,
                ..TrainOptions::default()
            };
            assert!(rates(&o).iter().all(|&r| r == 0.0), "{sched:?}");
        }
    }
}
