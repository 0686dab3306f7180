//! `vidt`: the command line. Thin: clap structs, then one library call per command and its
//! report printed as JSON.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::backend::Autodiff;
use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use vidt::backend::DeviceKind;
use vidt::coco::CocoDetection;
use vidt::coco::dataset::read_json;
use vidt::coco::eval::detect_dataset;
use vidt::detect::images::{demo_model, detect_files, detect_tensors};
use vidt::detect::options::Resolved;
use vidt::detect::{DetectRequest, ForwardInput};
use vidt::io::export::{ExportOptions, export_model};
use vidt::model::precision::Precision;
use vidt::ops::{OpImpl, VidtBackend};
use vidt::tensor_map::{Dtype, TensorMap};
use vidt::train::run::{TrainRun, read_dataset_dir};
use vidt::{Detector, backend, with_backend};

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

#[derive(Args)]
struct Device {
    /// Backend (one compiled into this build).
    #[arg(long, value_enum, default_value_t = DeviceKind::default_kind())]
    device: DeviceKind,
}

#[derive(Args)]
struct Run {
    /// Run only the first K decoder layers (head K is the output).
    #[arg(long)]
    dec_layers: Option<usize>,
    /// Run every hot op (attention, deformable attention, linear layers, LayerNorm, GroupNorm,
    /// softmax, GELU) as its tensor-op reference instead of the device's kernels or loops.
    #[arg(long)]
    reference_ops: bool,
    /// Float precision of the parameters and activations: f32 (the official outputs' bounds) or
    /// f16 (half the bytes; a device with f16 arithmetic only, else an error).
    #[arg(long, value_enum, default_value_t = Precision::F32)]
    precision: Precision,
}

#[derive(Args)]
struct Resize {
    /// Shorter side after resizing, 32..=2048. Default: the model file's, else 800 (the
    /// official evaluation's).
    #[arg(long)]
    size: Option<usize>,
    /// Longer side at most, size..=4096. Default: size * 1333 // 800 (the official `eval_size * 1333 //
    /// 800`), as in the browser. Both sides are then rounded down to a multiple of 16 (ViDT's
    /// resize).
    #[arg(long)]
    max_size: Option<usize>,
}

impl Resize {
    /// The sizes asked for, checked with the other detect options (as the browser's).
    fn request(&self) -> DetectRequest {
        DetectRequest {
            input_size: self.size.map(|s| s as f64),
            max_size: self.max_size.map(|s| s as f64),
            ..DetectRequest::default()
        }
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Raw forward pass: reads `input` (B,3,H,W) and `mask` (B,H,W, 1 = padded) from a
    /// safetensors file, writes `pred_logits`, `pred_boxes` and `aux_{i}_pred_{logits,boxes}`.
    Forward(ForwardArgs),
    /// Detect objects in images; prints JSON (COCO ids and names, xyxy boxes in pixels, scores).
    Detect(DetectArgs),
    /// Trains on a COCO-format dataset (DIR/annotations.json + DIR/images/), checkpointing every
    /// epoch to --out; --resume continues from the checkpoint there.
    Train {
        #[command(flatten)]
        run: TrainRun,
        #[command(flatten)]
        device: Device,
        /// Data parallel over these device ordinals of --device (e.g. `0,1,2,3` for four CUDA
        /// GPUs): each batch is split over them and their gradients summed.
        #[arg(long, default_value = "0", value_delimiter = ',')]
        devices: Vec<u16>,
    },
    /// COCO bbox evaluation (pycocotools' definitions): prints the 12 standard statistics as
    /// JSON (AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl).
    ///
    /// Either `--gt G --detections D`, or `--data DIR --weights W` to run the model over a
    /// COCO-format dataset first.
    Eval(EvalArgs),
    /// Writes a synthetic COCO-format dataset (DIR/images/*.png, DIR/annotations.json; boxes
    /// and instance masks as RLE).
    Synth {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 100)]
        images: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Image size WxH.
        #[arg(long, default_value = "320x320", value_parser = vidt::bench::parse_size)]
        size: (usize, usize),
    },
    /// The configuration inferred from a checkpoint and its parameter counts. Model files
    /// everywhere: a path, an http(s) URL or an official name (`vidt models` lists them:
    /// `vidt_{nano,tiny,small,base}_{50,150}`, distilled `vidt_{nano,tiny,small}_50_distil`,
    /// ViDT+ `vidt_plus_{nano,tiny,small,base}_det300`, optimized ViDT+
    /// `vidt_plus_swin_{nano,tiny,small}_optimized`), downloaded once into VIDT_CACHE (default
    /// ~/.cache/vidt).
    Info { weights: PathBuf },
    /// Every official checkpoint by name, with what the official READMEs report for it (COCO
    /// AP, parameters, FPS and its GPU, ViDT or ViDT+, masks): a table, or JSON with --json.
    Models {
        #[arg(long)]
        json: bool,
    },
    /// Writes a web model file (`.vidt`): configuration, class names and the tensors inference
    /// uses, checksummed, in float16 (half the download) or float32.
    Export(ExportOptions),
    /// Speed figures.
    #[command(subcommand)]
    Bench(BenchCmd),
}

#[derive(Args)]
struct ForwardArgs {
    /// A path, an http(s) URL or an official name (`vidt_nano_50`).
    #[arg(long)]
    weights: PathBuf,
    #[arg(long)]
    input: PathBuf,
    #[arg(long)]
    output: PathBuf,
    #[command(flatten)]
    device: Device,
    #[command(flatten)]
    run: Run,
}

#[derive(Args)]
struct DetectArgs {
    #[arg(required_unless_present = "tensors")]
    images: Vec<PathBuf>,
    /// A preprocessed batch instead of images: safetensors with `input` (B,3,H,W), `mask`
    /// (B,H,W) and `target_sizes` (B,2) as (h, w).
    #[arg(long, conflicts_with = "images")]
    tensors: Option<PathBuf>,
    /// A path, an http(s) URL or an official name (`vidt_nano_50`). Default: the demo model,
    /// models/demo.vidt (a pico ViDT trained on `vidt synth` shapes: square, disc,
    /// triangle; see README).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Minimum score, in [0, 1]. Default: the model file's recommendation, else 0.5.
    #[arg(long)]
    threshold: Option<f64>,
    /// Class-wise NMS at this IoU, in (0, 1] (not in the official post-processing). Default:
    /// the model file's recommendation, else none.
    #[arg(long, conflicts_with = "no_nms")]
    nms: Option<f64>,
    /// No NMS even where the model file recommends it.
    #[arg(long)]
    no_nms: bool,
    /// Keep only these classes, by name or label id (`--labels person,dog` or `--labels 1`),
    /// chosen before the top-k (the browser's `labels`). Default: every class.
    #[arg(long, value_delimiter = ',')]
    labels: Option<Vec<vidt::detect::options::Label>>,
    /// Write annotated copies of the images here.
    #[arg(long)]
    output_dir: Option<PathBuf>,
    #[command(flatten)]
    device: Device,
    #[command(flatten)]
    run: Run,
    #[command(flatten)]
    resize: Resize,
}

#[derive(Args)]
struct EvalArgs {
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
    /// bbox, or segm (masks: the annotations' `segmentation` against the detections', or with
    /// --data the masks of a ViDT+ model).
    #[arg(long, value_enum, default_value = "bbox")]
    iou_type: vidt::coco::eval::IouType,
    #[command(flatten)]
    resize: Resize,
    #[command(flatten)]
    device: Device,
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Deformable attention (forward, backward) and the Swin window attention of each nano
    /// stage, the ops the model runs, against their tensor-op references on the same device
    /// (800x1216 shapes); prints JSON with reference_ms, kernel_ms, speedup per op.
    Kernels {
        #[command(flatten)]
        device: Device,
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Whole-model inference (`vidt forward`-style), median of `runs` after one warm-up, with
    /// the kernel launches (GPU) and uploads of one forward; `--peer onnxruntime` times the
    /// official model in ONNX Runtime beside it, same input, same threads.
    Model {
        #[command(flatten)]
        bench: vidt::bench::ModelBench,
        #[command(flatten)]
        device: Device,
    },
    /// Training throughput (images/s): full steps of a freshly initialized model on synthetic
    /// images, median of --steps after a warm-up, per replica count (data parallel over device
    /// ordinals 0..r), with each count's speed relative to the first.
    Train {
        #[arg(long, default_value = "pico")]
        preset: String,
        #[command(flatten)]
        device: Device,
        #[arg(long, default_value_t = 160)]
        size: usize,
        #[arg(long, default_value_t = 4)]
        batch_size: usize,
        #[arg(long, default_value_t = 5)]
        steps: usize,
        /// Replica counts to time, comma separated (the first is the baseline).
        #[arg(long, default_value = "1", value_delimiter = ',')]
        replicas: Vec<usize>,
    },
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn print(report: &impl Serialize) -> Result<()> {
    write_out(&serde_json::to_string_pretty(report)?)
}

fn write_out(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        // A reader that stopped early (`vidt info W | head -3`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

/// Model files given by URL or official name (`vidt_nano_50`) become their cached download
/// (fetched once, `VIDT_CACHE`); local paths stay as they are.
fn resolve_models(cmd: &mut Cmd) -> Result<()> {
    let resolve = |p: &mut PathBuf| -> Result<()> {
        *p = vidt::io::fetch::resolve(p)?;
        Ok(())
    };
    match cmd {
        Cmd::Forward(a) => resolve(&mut a.weights)?,
        Cmd::Info { weights } => resolve(weights)?,
        Cmd::Export(o) => resolve(&mut o.weights)?,
        Cmd::Detect(DetectArgs {
            weights: Some(w), ..
        })
        | Cmd::Eval(EvalArgs {
            weights: Some(w), ..
        }) => resolve(w)?,
        Cmd::Train { run, .. } => {
            if let Some(p) = run
                .pretrained
                .as_mut()
                .filter(|p| *p == Path::new("imagenet"))
            {
                *p = PathBuf::from(vidt::official::imagenet_url(&run.preset)?);
            }
            for p in [&mut run.init, &mut run.options.teacher, &mut run.pretrained]
                .into_iter()
                .flatten()
            {
                resolve(p)?;
            }
        }
        Cmd::Bench(BenchCmd::Model { bench, .. }) => resolve(&mut bench.weights)?,
        _ => {}
    }
    Ok(())
}

fn run(mut cli: Cli) -> Result<()> {
    resolve_models(&mut cli.cmd)?;
    match cli.cmd {
        Cmd::Forward(a) => with_backend!(a.device.device, |B, dev| {
            let det = load_detector::<B>(&a.weights, &dev, a.run.reference_ops, a.run.precision)?;
            let input = TensorMap::from_file(&a.input)?;
            let inp = ForwardInput::from_tensors(&input, &a.input.display().to_string())?;
            let out = det.forward_named(&inp, a.run.dec_layers)?;
            Ok(vidt::io::write_safetensors(&a.output, &out, Dtype::F32)?)
        }),
        Cmd::Detect(a) => {
            let weights = a.weights.clone().map_or_else(demo_model, Ok)?;
            with_backend!(a.device.device, |B, dev| {
                let det = load_detector::<B>(&weights, &dev, a.run.reference_ops, a.run.precision)?;
                let request = DetectRequest {
                    threshold: a.threshold,
                    nms_iou: a.no_nms.then_some(None).or(a.nms.map(Some)),
                    labels: a.labels.clone(),
                    decoder_layers: a.run.dec_layers.map(|k| k as f64),
                    ..a.resize.request()
                };
                let Resolved { options, sizes } = det.resolve(&request)?;
                print(&match &a.tensors {
                    Some(file) => detect_tensors(&det, file, options)?,
                    None => detect_files(&det, &a.images, options, sizes, a.output_dir.as_deref())?,
                })
            })
        }
        Cmd::Info { weights } => {
            let m = vidt::io::LoadedModel::from_file(&weights)?;
            let name = weights.display().to_string();
            print(&vidt::official::describe(&m.weights, &name, m.dtype)?)
        }
        Cmd::Export(o) => print(&export_model(&o)?),
        Cmd::Models { json: true } => print(&vidt::official::zoo::listing(
            vidt::io::fetch::releases_base().as_deref(),
        )),
        Cmd::Models { json: false } => {
            write_out(vidt::official::zoo::table(vidt::official::official_models()).trim_end())
        }
        Cmd::Eval(a) => eval(a),
        Cmd::Train {
            run,
            device,
            devices,
        } => with_backend!(device.device, |B, dev| {
            backend::check_ordinals(device.device, &devices)?;
            let devs = backend::devices::<B>(&dev, &devices);
            print(&vidt::train::run::train::<Autodiff<B>>(&run, &devs)?)
        }),
        Cmd::Synth {
            out,
            images,
            seed,
            size: (w, h),
        } => {
            let file = vidt::coco::synth::write_synthetic(&out, images, seed, w as u32, h as u32)?;
            print(&vidt::coco::dataset::SynthReport::new(&out, &file))
        }
        Cmd::Bench(what) => bench(what),
    }
}

fn eval(a: EvalArgs) -> Result<()> {
    match (a.gt, a.detections, a.data, a.weights) {
        (_, _, Some(data), Some(weights)) => with_backend!(a.device.device, |B, dev| {
            let ds = read_dataset_dir(&data)?;
            let det = load_detector::<B>(&weights, &dev, false, Precision::F32)?;
            let size = a.resize.request().sizes(det.input_size)?;
            if a.iou_type == vidt::coco::eval::IouType::Segm && !det.config.plus {
                bail!("--iou-type segm needs a ViDT+ model (one that predicts masks)");
            }
            let dets = detect_dataset(&det.model, &ds, size, &dev, |_, _| Ok(()))?;
            print(&vidt::coco::eval::evaluate_as(&ds.coco, &dets, a.iou_type)?)
        }),
        (Some(gt), Some(detections), _, _) => {
            let gt: vidt::coco::CocoFile = read_json(&gt, "a COCO instances file")?;
            let dets: Vec<CocoDetection> = read_json(&detections, "a COCO results file")?;
            print(&vidt::coco::eval::evaluate_as(&gt, &dets, a.iou_type)?)
        }
        _ => bail!("vidt eval needs --gt and --detections, or --data and --weights"),
    }
}

fn bench(what: BenchCmd) -> Result<()> {
    match what {
        BenchCmd::Kernels { device, runs } => {
            with_backend!(device.device, |B, dev| {
                let rows = vidt::bench::bench_kernels::<B>(&dev, runs);
                print(&vidt::bench::KernelsReport::new(device.device, runs, rows))
            })
        }
        BenchCmd::Model { bench, device } => {
            let prep = bench.prepare(device.device)?;
            with_backend!(device.device, |B, dev| {
                let mut det = load_detector::<B>(&bench.weights, &dev, false, bench.precision)?;
                let report = vidt::bench::bench_model(&mut det, device.device, &bench, &prep);
                print(&report?)
            })
        }
        BenchCmd::Train {
            preset,
            device,
            size,
            batch_size,
            steps,
            replicas,
        } => with_backend!(device.device, |B, _dev| {
            let shape = (size, batch_size, steps);
            let r =
                vidt::bench::bench_train::<Autodiff<B>>(device.device, &preset, shape, &replicas);
            print(&r?)
        }),
    }
}

fn load_detector<B: VidtBackend>(
    weights: &Path,
    dev: &B::Device,
    reference: bool,
    precision: Precision,
) -> Result<Detector<B>> {
    let det = Detector::from_file(weights, dev);
    let det = det.with_context(|| format!("loading {}", weights.display()))?;
    let det = det.with_precision(precision)?;
    Ok(det.with_ops(if reference {
        OpImpl::Reference
    } else {
        OpImpl::Auto
    }))
}
