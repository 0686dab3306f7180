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
use super::options::TrainOptions;
use crate::coco::Dataset;
use crate::config::VidtConfig;
use crate::error::{Result, VidtError};
use crate::ops::VidtBackend;
use crate::tensor_map::TensorMap;

/// A training run as `vidt train` takes it: what to start from and where, and the run's
/// [`TrainOptions`] (flattened: their flags and defaults are declared there).
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
    #[command(flatten)]
    pub options: TrainOptions,
    /// Resize only: no resize-crop-resize branch (official: half of the images take it).
    #[arg(long)]
    pub no_crop: bool,
    /// Decoder dropout (official `--dropout`, 0.1; 0 makes a step deterministic).
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Stop after this many steps as a kill would, writing nothing more (for kill-and-resume
    /// tests).
    #[arg(long, hide = true)]
    pub abort_after_steps: Option<usize>,
}

impl TrainRun {
    /// The run's options (what `state.json` records).
    pub fn options(&self) -> TrainOptions {
        TrainOptions {
            crop: (!self.no_crop).then(Default::default),
            ..self.options.clone()
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
        return read_checkpoint(&run.out).map_err(|e| VidtError::Input {
            name: "--resume".into(),
            reason: format!("no checkpoint in {}: {e}", run.out.display()),
        });
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
        &|steps| run.abort_after_steps == Some(steps),
    )?;
    Ok(TrainReport {
        out: run.out.display().to_string(),
        epochs: end.epoch,
        steps: end.step,
        history: end.history,
    })
}
