//! `vidt` command line: forward, detect, info, bench. Thin: parse, call the library, format.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use serde_json::json;

use vidt::config::EntryKind;
use vidt::detector::{ForwardInput, read};
use vidt::ops::OpImpl;
use vidt::ops::VidtBackend;
use vidt::preprocess::{annotate, load_image, make_batch};
use vidt::train::dataset::Dataset;
use vidt::train::fit::{
    TrainOptions, TrainState, fit, has_checkpoint, read_checkpoint, read_optimizer_state,
};
use vidt::weights::{
    LoadedModel, StoreDtype, WeightMap, WeightTensor, write_model_file, write_safetensors,
};
use vidt::{DetectOptions, Detector, PixelMask, VidtConfig, backend, with_backend};

#[derive(Parser)]
#[command(
    name = "vidt",
    version,
    about = "ViDT object detector (Vision and Detection Transformers) on burn"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Raw forward pass: reads `input` (B,3,H,W) and `mask` (B,H,W, 1 = padded) from a
    /// safetensors file, writes `pred_logits`, `pred_boxes` and `aux_{i}_pred_{logits,boxes}`.
    Forward {
        #[arg(long)]
        weights: PathBuf,
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        output: PathBuf,
        #[arg(long, default_value = backend::default_name())]
        device: String,
        /// Run only the first K decoder layers (head K is the output).
        #[arg(long)]
        dec_layers: Option<usize>,
        /// Use the tensor-op reference instead of the device's kernels.
        #[arg(long)]
        reference_ops: bool,
    },
    /// Detect objects in images; prints JSON (COCO ids and names, xyxy boxes in pixels, scores).
    Detect {
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// Default: the demo model, models/demo.vidt (a pico ViDT trained on `vidt synth`
        /// shapes: square, disc, triangle; see README).
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Minimum score. Default: the model file's recommendation, else 0.5.
        #[arg(long)]
        threshold: Option<f32>,
        /// Class-wise NMS at this IoU (not in the official post-processing). Default: the
        /// model file's recommendation, else none.
        #[arg(long, conflicts_with = "no_nms")]
        nms: Option<f32>,
        /// No NMS even where the model file recommends it.
        #[arg(long)]
        no_nms: bool,
        /// Write annotated copies of the images here.
        #[arg(long)]
        output_dir: Option<PathBuf>,
        #[arg(long, default_value = backend::default_name())]
        device: String,
        #[arg(long)]
        dec_layers: Option<usize>,
        /// Shorter side after resizing. Default: the model file's, else 800 (the official
        /// evaluation's).
        #[arg(long)]
        size: Option<usize>,
        /// Longer side at most.
        #[arg(long, default_value_t = 1333)]
        max_size: usize,
        #[arg(long)]
        reference_ops: bool,
    },
    /// Trains on a COCO-format dataset (DIR/annotations.json + DIR/images/), checkpointing every
    /// epoch to --out; --resume continues from the checkpoint there.
    Train {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        val: Option<PathBuf>,
        /// Swin preset for a model trained from scratch (ignored with --init or --resume):
        /// nano, tiny, small, base, or pico (ours, small enough to train on a CPU).
        #[arg(long, default_value = "nano")]
        preset: String,
        /// Number of class outputs (labels are the dataset's category ids, so at least the
        /// largest id + 1). From scratch: default 91 (official). With --init: default the
        /// checkpoint's; another count re-initializes only the class heads (fine-tuning).
        #[arg(long)]
        num_classes: Option<usize>,
        /// Start from these weights (an official checkpoint, or one of ours).
        #[arg(long)]
        init: Option<PathBuf>,
        /// Continue the run whose checkpoint is in --out.
        #[arg(long)]
        resume: bool,
        #[arg(long, default_value = "runs/vidt")]
        out: PathBuf,
        #[arg(long, default_value_t = 50)]
        epochs: usize,
        #[arg(long, default_value_t = 2)]
        batch_size: usize,
        #[arg(long, default_value_t = 1e-4)]
        lr: f64,
        #[arg(long, default_value_t = 0)]
        warmup_steps: usize,
        /// Shorter-side sizes, comma separated (official: 480..800 step 32).
        #[arg(long, default_value = "480,512,544,576,608,640,672,704,736,768,800")]
        scales: String,
        #[arg(long, default_value_t = 1333)]
        max_size: usize,
        /// Resize only: no resize-crop-resize branch (official: half of the images take it).
        #[arg(long)]
        no_crop: bool,
        #[arg(long, default_value = backend::default_name())]
        device: String,
        /// Data parallel over these device ordinals of --device (e.g. `0,1,2,3` for four CUDA
        /// GPUs): each batch is split over them and their gradients summed.
        #[arg(long, default_value = "0")]
        devices: String,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Token-matching distillation from this frozen teacher (`.pth`, `.safetensors` or
        /// `.vidt`, any ViDT size).
        #[arg(long)]
        teacher: Option<PathBuf>,
        /// Weight of the distillation loss (official 4.0).
        #[arg(long, default_value_t = 4.0)]
        distil_coef: f64,
        /// Exit abruptly after this many steps (for kill-and-resume tests).
        #[arg(long, hide = true)]
        abort_after_steps: Option<usize>,
    },
    /// COCO bbox evaluation (pycocotools' definitions): prints the 12 standard statistics as
    /// JSON (AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl).
    ///
    /// Either `--gt G --detections D`, or `--data DIR --weights W` to run the model over a
    /// COCO-format dataset first.
    Eval {
        /// Ground truth (instances JSON).
        #[arg(long, requires = "detections")]
        gt: Option<PathBuf>,
        /// Detections (COCO results JSON: image_id, category_id, bbox, score).
        #[arg(long, requires = "gt")]
        detections: Option<PathBuf>,
        /// A dataset (DIR/annotations.json + DIR/images/) to run the model over.
        #[arg(long, requires = "weights", conflicts_with = "gt")]
        data: Option<PathBuf>,
        #[arg(long)]
        weights: Option<PathBuf>,
        /// Shorter side (default: the model file's, else 800).
        #[arg(long)]
        size: Option<usize>,
        #[arg(long, default_value_t = 1333)]
        max_size: usize,
        #[arg(long, default_value = backend::default_name())]
        device: String,
    },
    /// Writes a synthetic COCO-format dataset (DIR/images/*.png, DIR/annotations.json).
    Synth {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 100)]
        images: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Image size WxH.
        #[arg(long, default_value = "320x320")]
        size: String,
    },
    /// The configuration inferred from a checkpoint and its parameter counts.
    Info { weights: PathBuf },
    /// Writes a web model file (`.vidt`): configuration, class names and the tensors inference
    /// uses, checksummed, in float16 (half the download) or float32.
    Export {
        /// A `.pth`, `.safetensors` (training checkpoint) or `.vidt` file.
        #[arg(long)]
        weights: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = ExportDtype::F16)]
        dtype: ExportDtype,
        /// Keep only the first K decoder layers (head K becomes the output).
        #[arg(long)]
        dec_layers: Option<usize>,
        /// Shorter image side the model was trained for, stored in the file (detect and the
        /// browser resize to it by default; 800 when absent).
        #[arg(long)]
        input_size: Option<usize>,
        /// Class names: a COCO annotations file (its categories, by id) or a text file with one
        /// name per line (line i = label i). Default: as stored, else COCO's for 91 classes.
        #[arg(long)]
        classes: Option<PathBuf>,
        /// Recommended score threshold, stored (detect and the browser default to it).
        #[arg(long)]
        threshold: Option<f32>,
        /// Recommended class-wise NMS IoU, stored (detect and the browser apply it by default).
        #[arg(long)]
        nms: Option<f32>,
    },
    /// Speed figures.
    Bench {
        #[command(subcommand)]
        what: BenchCmd,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ExportDtype {
    F16,
    F32,
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Each hot op's kernel against its tensor-op reference on the same device (nano shapes
    /// at 800x1216); prints JSON with reference_ms, kernel_ms, speedup per kernel.
    Kernels {
        #[arg(long, default_value = backend::default_name())]
        device: String,
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Accepted for scripts; the output is always JSON.
        #[arg(long)]
        json: bool,
    },
    /// Whole-model inference (`vidt forward`-style), median of `runs` after one warm-up.
    Model {
        #[arg(long)]
        weights: PathBuf,
        #[arg(long, default_value = backend::default_name())]
        device: String,
        /// Input sizes HxW, comma separated.
        #[arg(long, default_value = "320x320,800x1216")]
        sizes: String,
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Time only the tensor-op reference (default: the backend's kernels and, where they
        /// differ, the reference beside them).
        #[arg(long)]
        reference_ops: bool,
    },
    /// Training throughput (images/s): full steps of a freshly initialized model on synthetic
    /// images, median of --steps after a warm-up, per replica count (data parallel over device
    /// ordinals 0..r), with each count's speed relative to the first.
    Train {
        #[arg(long, default_value = "pico")]
        preset: String,
        #[arg(long, default_value = backend::default_name())]
        device: String,
        #[arg(long, default_value_t = 160)]
        size: usize,
        #[arg(long, default_value_t = 4)]
        batch_size: usize,
        #[arg(long, default_value_t = 5)]
        steps: usize,
        /// Replica counts to time, comma separated (the first is the baseline).
        #[arg(long, default_value = "1")]
        replicas: String,
    },
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Forward {
            weights,
            input,
            output,
            device,
            dec_layers,
            reference_ops,
        } => {
            with_backend!(device.as_str(), |B, dev| forward::<B>(
                &weights,
                &input,
                &output,
                &dev,
                dec_layers,
                reference_ops
            ))
        }
        Cmd::Detect {
            images,
            weights,
            threshold,
            nms,
            no_nms,
            output_dir,
            device,
            dec_layers,
            size,
            max_size,
            reference_ops,
        } => {
            let opts = DetectChoice {
                threshold,
                nms: if no_nms { Some(None) } else { nms.map(Some) },
                dec_layers,
            };
            let resize = (size, max_size);
            let weights = match weights {
                Some(w) => w,
                None => default_model()?,
            };
            with_backend!(device.as_str(), |B, dev| detect::<B>(
                &images,
                &weights,
                &dev,
                opts,
                output_dir.as_deref(),
                resize,
                reference_ops
            ))
        }
        Cmd::Info { weights } => info(&weights),
        Cmd::Export {
            weights,
            out,
            dtype,
            dec_layers,
            input_size,
            classes,
            threshold,
            nms,
        } => export(
            &weights,
            &out,
            dtype,
            dec_layers,
            input_size,
            classes.as_deref(),
            vidt::postprocess::PostDefaults {
                threshold,
                nms_iou: nms,
            },
        ),
        Cmd::Eval {
            data: Some(data),
            weights: Some(weights),
            size,
            max_size,
            device,
            ..
        } => with_backend!(device.as_str(), |B, dev| {
            let ds = read_dataset(&data)?;
            let det = load_detector::<B>(&weights, &dev, false)?;
            let size = size.unwrap_or(det.input_size);
            let dets =
                vidt::train::eval::detect_dataset(&det.model, &ds, size, max_size, &dev, None)?.0;
            println!(
                "{}",
                serde_json::to_string_pretty(&vidt::train::eval::evaluate(&ds.coco, &dets))?
            );
            anyhow::Ok(())
        }),
        Cmd::Eval {
            gt: Some(gt),
            detections: Some(detections),
            ..
        } => {
            let read = |p: &Path| {
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
            };
            let gt_file: vidt::train::dataset::CocoFile = serde_json::from_str(&read(&gt)?)
                .with_context(|| format!("{}: not a COCO instances file", gt.display()))?;
            let dets: Vec<vidt::train::eval::CocoDetection> =
                serde_json::from_str(&read(&detections)?).with_context(|| {
                    format!("{}: not a COCO results file", detections.display())
                })?;
            println!(
                "{}",
                serde_json::to_string_pretty(&vidt::train::eval::evaluate(&gt_file, &dets))?
            );
            Ok(())
        }
        Cmd::Eval { .. } => bail!("vidt eval needs --gt and --detections, or --data and --weights"),
        Cmd::Train {
            data,
            val,
            preset,
            num_classes,
            init,
            resume,
            out,
            epochs,
            batch_size,
            lr,
            warmup_steps,
            scales,
            max_size,
            no_crop,
            device,
            devices,
            seed,
            teacher,
            distil_coef,
            abort_after_steps,
        } => {
            let ordinals: Vec<u16> =
                comma_list(&devices, "--devices: comma-separated device ordinals")?;
            let scales: Vec<usize> = comma_list(&scales, "--scales")?;
            let options = TrainOptions {
                epochs,
                batch_size,
                lr,
                warmup_steps,
                scales,
                max_size,
                crop: (!no_crop).then(Default::default),
                seed,
                teacher,
                distil_coef,
                abort_after_steps,
                ..Default::default()
            };
            let job = TrainJob {
                data,
                val,
                preset,
                num_classes,
                init,
                resume,
                out,
                options,
            };
            with_backend!(device.as_str(), |B, dev| {
                let devs = vidt::backend::devices::<B>(&dev, &ordinals);
                train::<burn::backend::Autodiff<B>>(&job, &devs)
            })
        }
        Cmd::Synth {
            out,
            images,
            seed,
            size,
        } => {
            let (w, h) = size.split_once('x').context("size is WxH")?;
            let file =
                vidt::train::dataset::write_synthetic(&out, images, seed, w.parse()?, h.parse()?)?;
            println!(
                "{}",
                json!({ "out": out.display().to_string(), "images": file.images.len(), "annotations": file.annotations.len(), "categories": file.categories })
            );
            Ok(())
        }
        Cmd::Bench {
            what:
                BenchCmd::Kernels {
                    device,
                    runs,
                    json: _,
                },
        } => with_backend!(device.as_str(), |B, dev| {
            let rows = vidt::bench::bench_kernels::<B>(&dev, runs);
            let kernels: serde_json::Map<String, serde_json::Value> = rows
                .iter()
                .map(|r| (r.name.clone(), json!({ "shape": r.shape, "reference_ms": r.reference_ms, "kernel_ms": r.kernel_ms, "speedup": r.speedup })))
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &json!({ "device": device, "runs": runs, "kernels": kernels })
                )?
            );
            anyhow::Ok(())
        }),
        Cmd::Bench {
            what:
                BenchCmd::Model {
                    weights,
                    device,
                    sizes,
                    runs,
                    reference_ops,
                },
        } => {
            with_backend!(device.as_str(), |B, dev| bench_model::<B>(
                &weights,
                &dev,
                &device,
                &sizes,
                runs,
                reference_ops
            ))
        }
        Cmd::Bench {
            what:
                BenchCmd::Train {
                    preset,
                    device,
                    size,
                    batch_size,
                    steps,
                    replicas,
                },
        } => {
            let replicas: Vec<usize> = comma_list(&replicas, "--replicas: comma-separated counts")?;
            with_backend!(device.as_str(), |B, _dev| {
                let rows = vidt::bench::bench_train::<burn::backend::Autodiff<B>>(
                    &preset, size, batch_size, steps, &replicas,
                )?;
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "device": device,
                        "preset": preset,
                        "size": size,
                        "batch_size": batch_size,
                        "rows": rows,
                    }))?
                );
                Ok(())
            })
        }
    }
}

fn load_detector<B: VidtBackend>(
    weights: &Path,
    dev: &B::Device,
    reference_ops: bool,
) -> Result<Detector<B>> {
    let mut det = Detector::from_file(weights, dev)
        .with_context(|| format!("loading {}", weights.display()))?;
    if reference_ops {
        det.ops = OpImpl::Reference;
    }
    Ok(det)
}

fn forward<B: VidtBackend>(
    weights: &Path,
    input: &Path,
    output: &Path,
    dev: &B::Device,
    dec_layers: Option<usize>,
    reference_ops: bool,
) -> Result<()> {
    let det = load_detector::<B>(weights, dev, reference_ops)?;
    let inp =
        ForwardInput::from_weights(&WeightMap::from_file(input)?, &input.display().to_string())?;
    let out = det.forward(&inp.data, inp.shape, &inp.mask, dec_layers)?;
    let mut tensors = BTreeMap::new();
    for (name, t) in out.named() {
        let dims = t.dims().to_vec();
        tensors.insert(name, WeightTensor::new(dims, read(t)?));
    }
    write_safetensors(output, &tensors, &[])?;
    Ok(())
}

/// Detection options as given on the command line (unset ones come from the model).
struct DetectChoice {
    threshold: Option<f32>,
    /// `Some(None)`: NMS off.
    nms: Option<Option<f32>>,
    dec_layers: Option<usize>,
}

fn detect<B: VidtBackend>(
    images: &[PathBuf],
    weights: &Path,
    dev: &B::Device,
    choice: DetectChoice,
    output_dir: Option<&Path>,
    (size, max_size): (Option<usize>, usize),
    reference_ops: bool,
) -> Result<()> {
    let det = load_detector::<B>(weights, dev, reference_ops)?;
    let d = det.default_options();
    let opts = DetectOptions {
        threshold: choice.threshold.unwrap_or(d.threshold),
        nms_iou: choice.nms.unwrap_or(d.nms_iou),
        dec_layers: choice.dec_layers,
        ..d
    };
    vidt::postprocess::PostDefaults {
        threshold: Some(opts.threshold),
        nms_iou: opts.nms_iou,
    }
    .check()
    .map_err(|e| anyhow::anyhow!(e))?;
    let size = size.unwrap_or(det.input_size);
    let mut results = Vec::new();
    for path in images {
        // One image per batch: padding a batch would change nothing but cost time.
        let img = load_image(path)?;
        let batch = make_batch(std::slice::from_ref(&img), size, max_size);
        let dets = det
            .detect(
                &batch.data,
                batch.shape,
                &batch.mask,
                &batch.original_sizes,
                opts,
            )?
            .remove(0);
        if let Some(dir) = output_dir {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let mut canvas = img.clone();
            annotate(
                &mut canvas,
                &dets
                    .iter()
                    .map(|d| (d.bbox, d.label_id))
                    .collect::<Vec<_>>(),
            );
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_else(|| "image".into());
            let out = dir.join(format!("{name}.detections.png"));
            canvas
                .save(&out)
                .with_context(|| format!("writing {}", out.display()))?;
        }
        results.push(json!({
            "image": path.display().to_string(),
            "width": img.width(),
            "height": img.height(),
            "detections": dets.iter().map(|d| json!({
                "label_id": d.label_id,
                "label": d.label,
                "score": d.score,
                "box": d.bbox,
            })).collect::<Vec<_>>(),
        }));
    }
    println!("{}", serde_json::to_string_pretty(&results)?);
    Ok(())
}

struct TrainJob {
    data: PathBuf,
    val: Option<PathBuf>,
    preset: String,
    num_classes: Option<usize>,
    init: Option<PathBuf>,
    resume: bool,
    out: PathBuf,
    options: TrainOptions,
}

fn read_dataset(dir: &Path) -> Result<Dataset> {
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

fn train<B>(job: &TrainJob, devs: &[B::Device]) -> Result<()>
where
    B: burn::tensor::backend::AutodiffBackend + VidtBackend,
    B::InnerBackend: VidtBackend,
{
    let train = read_dataset(&job.data)?;
    let val = job.val.as_deref().map(read_dataset).transpose()?;
    let dev = &devs[0];
    let (state, weights) = if job.resume {
        read_checkpoint(&job.out)
            .with_context(|| format!("--resume: no checkpoint in {}", job.out.display()))?
    } else {
        if has_checkpoint(&job.out) {
            bail!(
                "{} already holds a run: pass --resume to continue it, or another --out",
                job.out.display()
            );
        }
        let (config, weights) = match &job.init {
            Some(p) => {
                let w = WeightMap::from_file(p)?;
                let cfg = VidtConfig::infer(&w)?;
                match job.num_classes {
                    Some(n) if n != cfg.num_classes => {
                        eprintln!(
                            "{}: {} classes -> {n}: class heads re-initialized",
                            p.display(),
                            cfg.num_classes
                        );
                        vidt::model::init::with_new_classes(&w, &cfg, n, job.options.seed)
                    }
                    _ => (cfg, w),
                }
            }
            None => {
                let mut cfg = VidtConfig::preset(&job.preset)?;
                cfg.num_classes = job.num_classes.unwrap_or(91);
                let w = vidt::model::init::initial_weights(&cfg, job.options.seed);
                (cfg, w)
            }
        };
        let state = TrainState {
            epoch: 0,
            step: 0,
            config,
            options: job.options.clone(),
            history: vec![],
        };
        (state, weights)
    };
    let model = vidt::Vidt::<B>::load(&weights, &state.config, dev)?;
    let mut state = state;
    // A resumed run keeps its options, except the kill switch of this process.
    state.options.abort_after_steps = job.options.abort_after_steps;
    let optim_state = if job.resume {
        read_optimizer_state(&job.out, state.epoch)?
    } else {
        None
    };
    let end = fit(
        model,
        state,
        optim_state.as_ref(),
        &train,
        val.as_ref(),
        &job.out,
        devs,
    )?;
    println!(
        "{}",
        serde_json::to_string_pretty(
            &json!({ "out": job.out.display().to_string(), "epochs": end.epoch, "steps": end.step, "history": end.history })
        )?
    );
    Ok(())
}

/// A comma-separated list of numbers; `what` names the option in the error.
fn comma_list<T: std::str::FromStr>(s: &str, what: &str) -> Result<Vec<T>>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    s.split(',')
        .map(|s| s.trim().parse::<T>())
        .collect::<std::result::Result<Vec<_>, _>>()
        .with_context(|| what.to_string())
}

/// The committed demo model (found from the source tree this binary was built from).
fn default_model() -> Result<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo.vidt");
    if !p.is_file() {
        bail!(
            "no --weights given and the default model {} is missing (it is part of the \
             repository: restore it, or pass --weights)",
            p.display()
        );
    }
    Ok(p)
}

fn info(weights: &Path) -> Result<()> {
    let w = WeightMap::from_file(weights)?;
    let cfg = VidtConfig::infer(&w)?;
    let schema = cfg.schema();
    let known: std::collections::HashSet<&str> = schema.iter().map(|e| e.key.as_str()).collect();
    let unknown: Vec<&str> = w.keys().filter(|k| !known.contains(k)).collect();
    let in_file: usize = schema
        .iter()
        .filter(|e| e.kind != EntryKind::Alias && e.kind != EntryKind::Buffer)
        .filter_map(|e| w.shape(&e.key).map(|s| s.iter().product::<usize>()))
        .sum();
    let info = json!({
        "file": weights.display().to_string(),
        "config": cfg,
        "keys": w.len(),
        "parameters": cfg.parameter_count(),
        "parameters_used_by_inference": cfg.used_parameter_count(),
        "parameters_in_file": in_file,
        "unknown_keys": unknown,
    });
    println!("{}", serde_json::to_string_pretty(&info)?);
    Ok(())
}

fn export(
    weights: &Path,
    out: &Path,
    dtype: ExportDtype,
    dec_layers: Option<usize>,
    input_size: Option<usize>,
    classes: Option<&Path>,
    post: vidt::postprocess::PostDefaults,
) -> Result<()> {
    let mut m = LoadedModel::from_file(weights)?;
    if input_size.is_some() {
        m.input_size = input_size;
    }
    if post.threshold.is_some() {
        m.post.threshold = post.threshold;
    }
    if post.nms_iou.is_some() {
        m.post.nms_iou = post.nms_iou;
    }
    if let Some(k) = dec_layers {
        if k > m.config.dec_layers {
            bail!(
                "--dec-layers {k}: {} has {} decoder layers",
                weights.display(),
                m.config.dec_layers
            );
        }
        m.config.dec_layers = k;
    }
    if let Some(p) = classes {
        m.classes = vidt::coco::class_names_from_file(p, m.config.num_classes)?;
    }
    let dtype = match dtype {
        ExportDtype::F16 => StoreDtype::F16,
        ExportDtype::F32 => StoreDtype::F32,
    };
    let bytes = write_model_file(
        &m.weights,
        &m.config,
        &m.classes,
        dtype,
        m.input_size,
        m.post,
    )?;
    // Written beside the target then renamed: an interrupted export leaves no half file.
    let tmp = out.with_extension("vidt.tmp");
    std::fs::write(&tmp, &bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, out).with_context(|| format!("writing {}", out.display()))?;
    let info = json!({
        "out": out.display().to_string(),
        "bytes": bytes.len(),
        "dtype": format!("{dtype:?}").to_lowercase(),
        "preset": m.config.preset,
        "dec_layers": m.config.dec_layers,
        "classes": m.config.num_classes,
        "input_size": m.input_size,
        "score_threshold": m.post.threshold,
        "nms_iou": m.post.nms_iou,
        "tensors": vidt::weights::model_file::stored_entries(&m.config).len(),
    });
    println!("{}", serde_json::to_string_pretty(&info)?);
    Ok(())
}

fn bench_model<B: VidtBackend>(
    weights: &Path,
    dev: &B::Device,
    device: &str,
    sizes: &str,
    runs: usize,
    reference_only: bool,
) -> Result<()> {
    let mut det = load_detector::<B>(weights, dev, false)?;
    // PyTorch with 2 threads on this 2-core machine (figures from the model issue, same sizes).
    let pytorch = |h: usize, w: usize| match (h, w) {
        (320, 320) => Some(169.0),
        (800, 1216) => Some(1077.0),
        _ => None,
    };
    let modes: &[OpImpl] = if reference_only {
        &[OpImpl::Reference]
    } else {
        &[OpImpl::Auto, OpImpl::Reference]
    };
    let mut rows = Vec::new();
    for s in sizes.split(',') {
        let (h, w) = s.trim().split_once('x').context("sizes are HxW")?;
        let (h, w): (usize, usize) = (h.parse()?, w.parse()?);
        let shape = [1, 3, h, w];
        let data = vidt::bench::pseudo_random(3 * h * w, 7, -2.0, 2.0);
        let mask = PixelMask::zeros(1, h, w);
        let mut row = serde_json::Map::new();
        row.insert("size".into(), json!(format!("{h}x{w}")));
        let mut ms = Vec::new();
        for &mode in modes {
            det.ops = mode;
            let mut err = None;
            // The read-back of the boxes ends each run (it waits for the device).
            let median = vidt::bench::median_ms::<B>(dev, runs, || {
                if let Err(e) = det
                    .forward(&data, shape, &mask, None)
                    .and_then(|o| read(o.pred_boxes))
                {
                    err = Some(e);
                }
            });
            if let Some(e) = err {
                return Err(e.into());
            }
            let key = if mode == OpImpl::Reference {
                "reference_ops_ms"
            } else {
                "kernels_ms"
            };
            row.insert(key.into(), json!(median));
            ms.push(median);
        }
        if ms.len() == 2 {
            row.insert("kernels_speedup".into(), json!(ms[1] / ms[0]));
        }
        if let Some(base) = pytorch(h, w) {
            row.insert("pytorch_cpu_2_threads_ms".into(), json!(base));
            row.insert("speedup_vs_pytorch_cpu".into(), json!(base / ms[0]));
        }
        rows.push(serde_json::Value::Object(row));
    }
    let out =
        json!({ "device": device, "preset": det.config.preset, "runs": runs, "results": rows });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
