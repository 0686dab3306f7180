//! `vidt bench model`: whole-model inference per input size, with the kernel launches and
//! uploads of one forward and the peer runtime (ONNX Runtime on the official model) timed
//! beside it in the same run.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::median_ms;
use crate::detect::Detector;
use crate::error::{Result, VidtError};
use crate::ops::VidtBackend;
use crate::rng::Rng;

/// `AxB` as two numbers (`--sizes HxW` here, `vidt synth --size WxH`).
pub fn parse_size(s: &str) -> std::result::Result<(usize, usize), String> {
    let bad = || format!("`{s}` is not of the form AxB");
    let (a, b) = s.trim().split_once('x').ok_or_else(bad)?;
    Ok((a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?))
}

/// What `vidt bench model` times (the device aside).
#[derive(Clone, Debug, clap::Args)]
pub struct ModelBench {
    #[arg(long)]
    pub weights: PathBuf,
    /// Input sizes HxW, comma separated.
    #[arg(long, default_value = "320x320,800x1216", value_delimiter = ',', value_parser = parse_size)]
    pub sizes: Vec<(usize, usize)>,
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Time only the tensor-op reference (default: the backend's kernels and, where they
    /// differ, the reference beside them).
    #[arg(long)]
    pub reference_ops: bool,
    /// The side-by-side baseline: `onnxruntime` (benches/ort_peer.py, pip onnxruntime).
    #[arg(long, value_parser = ["onnxruntime"])]
    pub peer: Option<String>,
    /// The peer's model (the official nano exported to ONNX at 320x320).
    #[arg(long, default_value = "../shared/peers/vidt_nano_perturbed_320.onnx")]
    pub peer_model: PathBuf,
    /// CPU threads, ours and the peer's (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Float precision of the model (f16: a device with f16 arithmetic only).
    #[arg(long, value_enum, default_value_t = crate::model::precision::Precision::F32)]
    pub precision: crate::model::precision::Precision,
    /// Also time each launch of the counted forward (GPU backends): milliseconds per kernel
    /// kind. cubecl then waits for every launch, so the forward times of this run include
    /// one device round trip per launch: compare them only with other `--profile` runs.
    #[arg(long)]
    pub profile: bool,
}

/// What [`ModelBench::prepare`] set up before any device existed.
pub struct Prepared {
    launch_log: Option<PathBuf>,
    peer: Option<Peer>,
}

impl ModelBench {
    /// Sets the CPU thread pool and (on GPU devices) cubecl's launch logger; both must happen
    /// before the first device is created.
    pub fn prepare(&self, device: crate::backend::DeviceKind) -> Result<Prepared> {
        if let Some(n) = self.threads {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build_global()
                .map_err(|e| VidtError::Input {
                    name: "--threads".into(),
                    reason: e.to_string(),
                })?;
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let peer = self.peer.as_ref().map(|_| Peer {
            script: root.join("benches/ort_peer.py"),
            model: root.join(&self.peer_model),
            threads: rayon::current_num_threads(),
        });
        let launch_log = (device != crate::backend::DeviceKind::Cpu)
            .then(|| std::env::temp_dir().join("vidt-launches.log"));
        #[cfg(feature = "wgpu")]
        if let Some(f) = &launch_log {
            log_launches(f, self.profile);
        }
        Ok(Prepared { launch_log, peer })
    }
}

/// `vidt bench model`: whole-model inference per input size.
#[derive(Debug, Serialize)]
pub struct ModelBenchReport {
    pub device: String,
    /// The model's float precision (`--precision`).
    pub precision: String,
    pub preset: Option<String>,
    pub runs: usize,
    /// CPU threads (ours and the peer's) on the CPU backend.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    pub results: Vec<ModelTiming>,
}

/// One input size: the median forward time with the backend's kernels and with the tensor-op
/// reference of the hot ops, side by side; what one forward dispatches; the peer beside it.
#[derive(Debug, Serialize)]
pub struct ModelTiming {
    /// `HxW`.
    pub size: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernels_ms: Option<f64>,
    pub reference_ops_ms: f64,
    /// Frames per second with the kernels (`1000 / kernels_ms`), one image per frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernels_fps: Option<f64>,
    /// `reference_ops_ms / kernels_ms`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernels_speedup: Option<f64>,
    /// Kernel launches of one forward (with the kernels), as cubecl's profiling logger counts
    /// them (`Executing ...` lines); on GPU backends when the logger is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launches: Option<usize>,
    /// Those launches by kernel kind (cubecl's kernel name; `MatmulEntry (fused)` where
    /// burn's fusion gave the matmul its inputs' or outputs' element-wise work, the binary ops
    /// with their op): where the launches go, the same on any GPU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launches_by_kind: Option<std::collections::BTreeMap<String, usize>>,
    /// `--profile`: milliseconds of those launches by kind, each timed alone (see
    /// `--profile`), and their sum.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_ms_by_kind: Option<std::collections::BTreeMap<String, f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_ms_total: Option<f64>,
    /// Host-to-device uploads of one forward (inputs, masks, encodings, kernel parameters),
    /// counted by the model's own upload helper.
    pub uploads: usize,
    /// Launches of each of our WGSL kernels in one forward, with the kernels (`kernels`) and
    /// with `--reference-ops` (`reference_ops`: none, the switch covers every hot op); wgpu
    /// builds only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wgsl_launches:
        Option<std::collections::BTreeMap<String, std::collections::BTreeMap<String, usize>>>,
    /// The peer runtime on the same input, in the same run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<PeerTiming>,
    /// `kernels_ms / peer.median_ms`: at most 1 is as fast as the peer or faster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio_vs_peer: Option<f64>,
}

/// How to run the peer (`benches/ort_peer.py` over the official model exported to ONNX).
#[derive(Clone, Debug)]
pub struct Peer {
    pub script: PathBuf,
    pub model: PathBuf,
    pub threads: usize,
}

#[derive(Debug, Serialize, serde::Deserialize)]
pub struct PeerTiming {
    pub runtime: String,
    pub threads: usize,
    pub median_ms: f64,
    /// Largest difference of its `pred_logits` / `pred_boxes` from ours on this input.
    #[serde(default)]
    pub max_abs_diff_logits: f32,
    #[serde(default)]
    pub max_abs_diff_boxes: f32,
}

/// Turns cubecl's profiling logger on ("minimal": one `Executing <kernel>` line per launch,
/// without blocking; with `timed`, "basic": one `| <duration> | <kernel>` line per launch,
/// each waited for) into `file`, so [`bench_model`] can count launches. Must run before the
/// process first uses a GPU device.
#[cfg(feature = "wgpu")]
pub fn log_launches(file: &Path, timed: bool) {
    use cubecl::config::{CubeClRuntimeConfig, RuntimeConfig, profiling::ProfilingLogLevel};
    // Appending (to a file emptied here): each cubecl server opens its own writer, and
    // truncating ones would overwrite each other's lines.
    let _ = std::fs::remove_file(file);
    let mut cfg = CubeClRuntimeConfig::default();
    cfg.profiling.logger.level = if timed {
        ProfilingLogLevel::Basic
    } else {
        ProfilingLogLevel::Minimal
    };
    cfg.profiling.logger.file = Some(file.to_path_buf());
    cfg.profiling.logger.append = true;
    CubeClRuntimeConfig::set(cfg);
}

/// One launch in cubecl's log: its kernel kind and, when timed, its milliseconds.
#[derive(Clone, Debug, PartialEq)]
struct Launch {
    kind: String,
    ms: Option<f64>,
}

/// A launch of cubecl's log line: `Executing <name>` (minimal) or `| <duration> | <name>`
/// (basic; the summary table's rows start with a name, not a duration, and are not launches).
fn parse_launch(line: &str) -> Option<Launch> {
    let (name, ms) = if let Some(name) = line.strip_prefix("Executing ") {
        (name, None)
    } else {
        let (duration, name) = line.strip_prefix("| ")?.split_once(" | ")?;
        (name, Some(parse_duration_ms(duration.trim())?))
    };
    let parts: Vec<&str> = name.split(" | ").map(str::trim).collect();
    let mut kind = parts[0].to_string();
    if kind == "MatmulEntry" && parts.contains(&"FusedMatmulArgs") {
        kind.push_str(" (fused)");
    } else if kind.ends_with("Binop") && parts.len() > 1 {
        kind = format!("{kind} {}", parts[1]);
    }
    Some(Launch { kind, ms })
}

/// Rust's `Debug` of a `Duration` (`1.5ms`, `830.2µs`, `2.1s`, `120ns`) in milliseconds.
fn parse_duration_ms(d: &str) -> Option<f64> {
    let split = d.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (value, unit) = d.split_at(split);
    let scale = match unit {
        "s" => 1e3,
        "ms" => 1.0,
        "µs" => 1e-3,
        "ns" => 1e-6,
        _ => return None,
    };
    Some(value.parse::<f64>().ok()? * scale)
}

/// The launches in the log so far, once the logger's writer has caught up.
fn launches_logged(file: &Path) -> Vec<Launch> {
    let read = || -> Vec<Launch> {
        std::fs::read_to_string(file)
            .map(|t| t.lines().filter_map(parse_launch).collect())
            .unwrap_or_default()
    };
    let mut last = read();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(300));
        let now = read();
        if now.len() == last.len() {
            return now;
        }
        last = now;
    }
}

/// Times `det` on pseudo-random `(1, 3, H, W)` inputs of each size: the median of `runs`
/// forwards after one warm-up, each ended by reading the boxes back (which waits for the
/// device); with the kernels and the reference side by side unless `--reference-ops`. Counts
/// the launches (on GPU backends, through [`log_launches`]) and uploads of one more
/// forward, and runs the peer on the same input where its model takes that size.
pub fn bench_model<B: VidtBackend>(
    det: &mut Detector<B>,
    device: crate::backend::DeviceKind,
    args: &ModelBench,
    prep: &Prepared,
) -> Result<ModelBenchReport> {
    let (runs, reference_only) = (args.runs, args.reference_ops);
    let (launch_log, peer) = (prep.launch_log.as_deref(), prep.peer.as_ref());
    use crate::ops::OpImpl;
    use crate::tensor_map::read;
    let dev = det.device.clone();
    let mut results = Vec::new();
    for &(h, w) in &args.sizes {
        let shape = [1, 3, h, w];
        let data = Rng::new(7).uniforms(3 * h * w, -2.0, 2.0);
        let mask = crate::model::PixelMask::zeros(1, h, w);
        let time = |det: &mut Detector<B>, mode| -> Result<f64> {
            det.ops = mode;
            let mut err = None;
            let median = median_ms::<B>(&dev, runs, || {
                if let Err(e) = det
                    .forward(&data, shape, &mask, None)
                    .and_then(|o| read(o.pred_boxes))
                {
                    err = Some(e);
                }
            });
            err.map_or(Ok(median), Err)
        };
        let reference_ops_ms = time(det, OpImpl::Reference)?;
        let kernels_ms = if reference_only {
            None
        } else {
            Some(time(det, OpImpl::Auto)?)
        };
        // One more forward, counted (after the warm-up: first-run compilation is not counted).
        let before = (
            launch_log.map(|f| launches_logged(f).len()),
            crate::ops::upload::count(),
        );
        let out = det.forward(&data, shape, &mask, None)?;
        let (logits, boxes) = (read(out.pred_logits)?, read(out.pred_boxes)?);
        let _ = B::sync(&dev);
        let counted = launch_log.map(|f| launches_logged(f).split_off(before.0.unwrap_or(0)));
        let launches = counted.as_ref().map(Vec::len);
        let launches_by_kind = counted.as_ref().map(|c| {
            let mut by = std::collections::BTreeMap::new();
            for l in c {
                *by.entry(l.kind.clone()).or_insert(0) += 1;
            }
            by
        });
        let profile_ms_by_kind = counted.as_ref().filter(|_| args.profile).map(|c| {
            let mut by = std::collections::BTreeMap::new();
            for l in c {
                *by.entry(l.kind.clone()).or_insert(0.0) += l.ms.unwrap_or(0.0);
            }
            by
        });
        let profile_ms_total = profile_ms_by_kind.as_ref().map(|m| m.values().sum());
        let uploads = crate::ops::upload::count() - before.1;
        #[cfg(feature = "wgpu")]
        let wgsl_launches = {
            let mut per_mode = std::collections::BTreeMap::new();
            for (name, mode) in [
                ("reference_ops", OpImpl::Reference),
                ("kernels", OpImpl::Auto),
            ] {
                det.ops = mode;
                let before = crate::kernels::launches::snapshot();
                read(det.forward(&data, shape, &mask, None)?.pred_boxes)?;
                per_mode.insert(name.to_string(), crate::kernels::launches::since(&before));
            }
            Some(per_mode)
        };
        #[cfg(not(feature = "wgpu"))]
        let wgsl_launches = None;
        det.ops = OpImpl::Auto;
        let ours = kernels_ms.unwrap_or(reference_ops_ms);
        let peer = match peer {
            Some(p) => run_peer(p, &data, shape, runs, (&logits, &boxes))?,
            None => None,
        };
        results.push(ModelTiming {
            size: format!("{h}x{w}"),
            kernels_ms,
            reference_ops_ms,
            kernels_fps: kernels_ms.map(|k| 1000.0 / k),
            kernels_speedup: kernels_ms.map(|k| reference_ops_ms / k),
            launches,
            launches_by_kind,
            profile_ms_by_kind,
            profile_ms_total,
            uploads,
            wgsl_launches,
            ratio_vs_peer: peer.as_ref().map(|p| ours / p.median_ms),
            peer,
        });
    }
    Ok(ModelBenchReport {
        device: device.to_string(),
        precision: det.precision().to_string(),
        preset: det.config.preset.clone(),
        runs,
        threads: peer.map(|p| p.threads),
        results,
    })
}

/// Runs the peer script on `data`; `None` when its model takes another size.
fn run_peer(
    p: &Peer,
    data: &[f32],
    shape: [usize; 4],
    runs: usize,
    (logits, boxes): (&[f32], &[f32]),
) -> Result<Option<PeerTiming>> {
    let bad = |reason: String| VidtError::Input {
        name: p.script.display().to_string(),
        reason,
    };
    let dir = std::env::temp_dir().join(format!("vidt-peer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| bad(e.to_string()))?;
    let input = dir.join("input.f32");
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&input, bytes).map_err(|e| bad(e.to_string()))?;
    let shape_arg = shape.map(|d| d.to_string()).join(",");
    let out = std::process::Command::new("python3")
        .arg(&p.script)
        .arg("--model")
        .arg(&p.model)
        .arg("--input")
        .arg(&input)
        .args(["--shape", &shape_arg])
        .args(["--threads", &p.threads.to_string()])
        .args(["--runs", &runs.to_string()])
        .arg("--outputs")
        .arg(&dir)
        .output()
        .map_err(|e| bad(format!("cannot run python3: {e}")))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        if stderr.contains("the peer model takes") {
            return Ok(None);
        }
        return Err(bad(stderr.trim().to_string()));
    }
    let mut t: PeerTiming = serde_json::from_slice(&out.stdout)
        .map_err(|e| bad(format!("unreadable output ({e}): {stderr}")))?;
    let diff = |name: &str, ours: &[f32]| -> Result<f32> {
        let b = std::fs::read(dir.join(format!("{name}.f32"))).map_err(|e| bad(e.to_string()))?;
        let theirs = b
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        Ok(ours
            .iter()
            .zip(theirs)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max))
    };
    t.max_abs_diff_logits = diff("pred_logits", logits)?;
    t.max_abs_diff_boxes = diff("pred_boxes", boxes)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Some(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launches_parse_from_both_log_levels() {
        let l = |kind: &str, ms| {
            Some(Launch {
                kind: kind.into(),
                ms,
            })
        };
        assert_eq!(
            parse_launch("Executing ElemwiseFuse | WgpuRuntime"),
            l("ElemwiseFuse", None)
        );
        assert_eq!(
            parse_launch("Executing MatmulEntry | FusedMatmulArgs | DynamicScalar | WgpuRuntime"),
            l("MatmulEntry (fused)", None)
        );
        assert_eq!(
            parse_launch("| 1.5ms      | KernelBinop | AddOp | WgpuRuntime"),
            l("KernelBinop AddOp", Some(1.5))
        );
        assert_eq!(
            parse_launch("| 1250µs     | MatmulEntry | TensorArgs | WgpuRuntime"),
            l("MatmulEntry", Some(1.25))
        );
        // The summary table at a sync, and anything else, is not a launch.
        assert_eq!(parse_launch("| Kernel | Duration | Calls | Ratio |"), None);
        assert_eq!(parse_launch("| CopyKernel | 2ms | 3 | 4 % |"), None);
        assert_eq!(parse_launch("|⎺⎺⎺| "), None);
    }
}
