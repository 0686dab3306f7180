//! A training run as the user asks for it (`vidt train`'s options): a new run from a preset (official initialization)
//! or from weights (`--init`, optionally re-initializing the class heads for another class
//! count), or the continuation of the run in its directory (`--resume`); then the loop.

use std::path::{Path, PathBuf};

use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use super::checkpoint::{
    EpochLog, TrainState, has_checkpoint, read_checkpoint, read_optimizer_state,
};
use super::fit::fit;
use super::options::{Sched, TrainOptions};
use crate::coco::Dataset;
use crate::config::VidtConfig;
use crate::error::{Result, VidtError};
use crate::ops::VidtBackend;
use crate::tensor_map::TensorMap;

/// A training run as `vidt train` takes it (its options are this struct's fields; the
/// defaults are [`TrainOptions::default`]'s).
#[derive(Clone, Debug, clap::Args)]
pub struct TrainRun {
    /// Training data: a COCO-format directory (annotations.json + images/).
    #[arg(long)]
    pub data: PathBuf,
    /// Validation data (COCO statistics and loss after every epoch).
    #[arg(long)]
    pub val: Option<PathBuf>,
    /// Swin preset for a model trained from scratch (ignored with --init or --resume):
    /// nano, tiny, small, base, or pico (ours, small enough to train on a CPU).
    #[arg(long, default_value = "nano")]
    pub preset: String,
    /// From scratch: ViDT+ (EPFF, UQR instance masks, IoU-aware and token-labeling heads,
    /// 300 [DET] tokens) instead of ViDT; needs instance masks (`segmentation`) in the data.
    /// With --init or --resume the checkpoint decides.
    #[arg(long)]
    pub plus: bool,
    /// From scratch: the number of [DET] tokens (default: the preset's; 300 with --plus, as
    /// the official ViDT+).
    #[arg(long)]
    pub det_tokens: Option<usize>,
    /// Number of class outputs (labels are the dataset's category ids, so at least the
    /// largest id + 1). From scratch: default 91 (official). With --init: default the
    /// checkpoint's; another count re-initializes only the class heads (fine-tuning).
    #[arg(long)]
    pub num_classes: Option<usize>,
    /// Start from these weights (an official checkpoint, or one of ours): a path, an http(s)
    /// URL or an official name (`vidt_nano_50`).
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// From scratch (with --preset): an ImageNet-pretrained Swin for the backbone, as the
    /// official recipe: `imagenet` (the official checkpoint of the preset), or a Swin
    /// classification checkpoint's path or URL. Keys present in both load; ViDT's own parts keep
    /// their official initialization.
    #[arg(long, conflicts_with_all = ["init", "resume"])]
    pub pretrained: Option<PathBuf>,
    /// Continue the run whose checkpoint is in --out.
    #[arg(long)]
    pub resume: bool,
    #[arg(long, default_value = "runs/vidt")]
    pub out: PathBuf,
    #[arg(long, default_value_t = TrainOptions::default().epochs)]
    pub epochs: usize,
    #[arg(long, default_value_t = TrainOptions::default().batch_size)]
    pub batch_size: usize,
    #[arg(long, default_value_t = TrainOptions::default().lr)]
    pub lr: f64,
    /// Learning-rate schedule: the official `warmupcos` (per epoch) or `step`, or ours per
    /// optimizer step (`cosine-steps`).
    #[arg(long, value_enum, default_value_t = TrainOptions::default().sched)]
    pub sched: Sched,
    /// The cosine's floor (official --min-lr).
    #[arg(long, default_value_t = TrainOptions::default().min_lr)]
    pub min_lr: f64,
    /// warmupcos: the first epochs' rate, raised linearly to --lr over --warmup-epochs.
    #[arg(long, default_value_t = TrainOptions::default().warmup_lr)]
    pub warmup_lr: f64,
    #[arg(long, default_value_t = TrainOptions::default().warmup_epochs)]
    pub warmup_epochs: usize,
    /// step: the rate drops tenfold every this many epochs (official --lr_drop).
    #[arg(long, default_value_t = TrainOptions::default().lr_drop)]
    pub lr_drop: usize,
    /// cosine-steps: warm-up optimizer steps (linear from 0).
    #[arg(long, default_value_t = TrainOptions::default().warmup_steps)]
    pub warmup_steps: usize,
    /// Shorter-side sizes, comma separated (official: 480..800 step 32).
    #[arg(long, value_delimiter = ',', default_values_t = TrainOptions::default().scales)]
    pub scales: Vec<usize>,
    #[arg(long, default_value_t = TrainOptions::default().max_size)]
    pub max_size: usize,
    /// Resize only: no resize-crop-resize branch (official: half of the images take it).
    #[arg(long)]
    pub no_crop: bool,
    #[arg(long, default_value_t = TrainOptions::default().seed)]
    pub seed: u64,
    /// Decoder dropout (official `--dropout`, 0.1; 0 makes a step deterministic).
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Token-matching distillation from this frozen teacher (`.pth`, `.safetensors` or
    /// `.vidt`, any ViDT size).
    #[arg(long)]
    pub teacher: Option<PathBuf>,
    /// Weight of the distillation loss (official 4.0).
    #[arg(long, default_value_t = TrainOptions::default().distil_coef)]
    pub distil_coef: f64,
    /// Exit abruptly after this many steps (for kill-and-resume tests).
    #[arg(long, hide = true)]
    pub abort_after_steps: Option<usize>,
}

impl TrainRun {
    /// The run's options (what `state.json` records).
    pub fn options(&self) -> TrainOptions {
        TrainOptions {
            epochs: self.epochs,
            batch_size: self.batch_size,
            lr: self.lr,
            sched: self.sched,
            min_lr: self.min_lr,
            warmup_lr: self.warmup_lr,
            warmup_epochs: self.warmup_epochs,
            lr_drop: self.lr_drop,
            warmup_steps: self.warmup_steps,
            scales: self.scales.clone(),
            max_size: self.max_size,
            crop: (!self.no_crop).then(Default::default),
            seed: self.seed,
            teacher: self.teacher.clone(),
            distil_coef: self.distil_coef,
            abort_after_steps: self.abort_after_steps,
            ..Default::default()
        }
    }
}

/// What a finished run reports.
#[derive(Clone, Debug, Serialize)]
pub struct TrainReport {
    pub out: String,
    pub epochs: usize,
    pub steps: usize,
    pub history: Vec<EpochLog>,
}

/// Reads a COCO-format directory, saying on stderr how many degenerate boxes it dropped.
pub fn read_dataset_dir(dir: &Path) -> Result<Dataset> {
    let ds = Dataset::read(&dir.join("annotations.json"), &dir.join("images"))?;
    if ds.dropped_boxes > 0 {
        eprintln!(
            "{}: dropped {} degenerate boxes",
            dir.display(),
            ds.dropped_boxes
        );
    }
    Ok(ds)
}

/// The state and weights the run starts from.
pub fn starting_point(run: &TrainRun) -> Result<(TrainState, TensorMap)> {
    let options = run.options();
    if run.resume {
        let (mut state, weights) = read_checkpoint(&run.out).map_err(|e| VidtError::Input {
            name: "--resume".into(),
            reason: format!("no checkpoint in {}: {e}", run.out.display()),
        })?;
        // A resumed run keeps its options, except the kill switch of this process.
        state.options.abort_after_steps = options.abort_after_steps;
        return Ok((state, weights));
    }
    if has_checkpoint(&run.out) {
        return Err(VidtError::Input {
            name: run.out.display().to_string(),
            reason: "already holds a run: pass --resume to continue it, or another --out".into(),
        });
    }
    let seed = options.seed;
    let (config, weights) = match &run.init {
        Some(init) => {
            let w = TensorMap::from_file(init)?;
            let cfg = crate::official::infer_config(&w)?;
            match run.num_classes {
                Some(n) if n != cfg.num_classes => {
                    eprintln!(
                        "{}: {} classes -> {n}: class heads re-initialized",
                        init.display(),
                        cfg.num_classes
                    );
                    crate::official::with_new_classes(&w, &cfg, n, seed)
                }
                _ => (cfg, w),
            }
        }
        None => {
            let mut cfg = VidtConfig::preset(&run.preset)?;
            if run.plus {
                cfg = cfg.plus();
            }
            cfg.det_tokens = run.det_tokens.unwrap_or(cfg.det_tokens);
            cfg.num_classes = run.num_classes.unwrap_or(cfg.num_classes);
            let mut w = crate::official::initial_weights(&cfg, seed);
            if let Some(p) = &run.pretrained {
                let swin = TensorMap::from_file(p)?;
                let report =
                    crate::official::load_pretrained_swin(&mut w, &swin, &p.display().to_string())?;
                eprintln!("{report}");
            }
            (cfg, w)
        }
    };
    let mut config = config;
    if let Some(p) = run.dropout {
        config.dropout = p;
    }
    let state = TrainState {
        epoch: 0,
        step: 0,
        config,
        options,
        history: vec![],
    };
    Ok((state, weights))
}

/// Runs (or continues) `run` on `devices` (data parallel when several).
pub fn train<B>(run: &TrainRun, devices: &[B::Device]) -> Result<TrainReport>
where
    B: AutodiffBackend + VidtBackend,
    B::InnerBackend: VidtBackend,
{
    let train = read_dataset_dir(&run.data)?;
    let val = run.val.as_deref().map(read_dataset_dir).transpose()?;
    let (state, weights) = starting_point(run)?;
    let model = crate::official::load::<B>(&weights, &state.config, &devices[0])?;
    let optim_state = match run.resume {
        true => read_optimizer_state(&run.out, state.epoch)?,
        false => None,
    };
    let end = fit(
        model,
        state,
        optim_state.as_ref(),
        &train,
        val.as_ref(),
        &run.out,
        devices,
    )?;
    Ok(TrainReport {
        out: run.out.display().to_string(),
        epochs: end.epoch,
        steps: end.step,
        history: end.history,
    })
}
