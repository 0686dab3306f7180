//! Speed figures, always side by side with a baseline measured in the same run on the same
//! device: each hot op's backend implementation (the kernels on wgpu) against its tensor-op
//! reference, on the shapes of swin_nano at 800x1216; the whole model against ONNX Runtime
//! ([`model`]); training throughput per replica count.

use std::time::Instant;

use burn::tensor::{Tensor, TensorData};
use serde::Serialize;

use crate::ops::{SwinWindows, VidtBackend, ms_deform_attn, swin_attention};
use crate::rng::Rng;

pub mod model;
pub use model::{ModelBench, ModelBenchReport, bench_model, parse_size};

/// One op timed both ways.
#[derive(Debug, Serialize)]
pub struct OpTiming {
    pub name: String,
    pub shape: String,
    pub reference_ms: f64,
    pub kernel_ms: f64,
    pub speedup: f64,
}

fn rand<B: VidtBackend, const D: usize>(
    shape: [usize; D],
    seed: u64,
    lo: f32,
    hi: f32,
    dev: &B::Device,
) -> Tensor<B, D> {
    let n = shape.iter().product();
    Tensor::from_data(
        TensorData::new(Rng::new(seed).uniforms(n, lo, hi), shape),
        dev,
    )
}

/// Median wall time of `runs` calls after one warm-up, each ended by a device sync.
pub fn median_ms<B: VidtBackend>(dev: &B::Device, runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    let _ = B::sync(dev);
    let mut t: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            let _ = B::sync(dev);
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn timing(name: String, shape: String, reference_ms: f64, kernel_ms: f64) -> OpTiming {
    OpTiming {
        name,
        shape,
        reference_ms,
        kernel_ms,
        speedup: reference_ms / kernel_ms,
    }
}

/// Times deformable attention (Lq = 100, the four levels of an 800x1216 image) and the Swin
/// window attention of every swin_nano stage at 800x1216, batch 1: ops the model runs.
pub fn bench_kernels<B: VidtBackend>(dev: &B::Device, runs: usize) -> Vec<OpTiming> {
    let mut out = Vec::new();
    // Levels at strides 8, 16, 32, 64 of 800x1216.
    let levels = [(100, 152), (50, 76), (25, 38), (13, 19)];
    let s: usize = levels.iter().map(|(h, w)| h * w).sum();
    let (n, lq, m, d, l, p) = (1, 100, 8, 32, 4, 4);
    let value = rand::<B, 4>([n, s, m, d], 1, -1.0, 1.0, dev);
    let loc = rand::<B, 6>([n, lq, m, l, p, 2], 2, -0.05, 1.05, dev);
    let w = rand::<B, 5>([n, lq, m, l, p], 3, 0.0, 0.1, dev);
    let reference = median_ms::<B>(dev, runs, || {
        ms_deform_attn::reference(value.clone(), &levels, loc.clone(), w.clone());
    });
    let kernel = median_ms::<B>(dev, runs, || {
        B::ms_deform_attn(value.clone(), &levels, loc.clone(), w.clone());
    });
    out.push(timing(
        "ms_deform_attn_forward".into(),
        format!("N={n} Lq={lq} M={m} D={d} levels={levels:?} P={p}"),
        reference,
        kernel,
    ));

    if B::has_ms_deform_attn_backward() {
        let go = rand::<B, 3>([n, lq, m * d], 4, -1.0, 1.0, dev);
        let reference = median_ms::<B>(dev, runs, || {
            ms_deform_attn::reference_backward(
                value.clone(),
                &levels,
                loc.clone(),
                w.clone(),
                go.clone(),
            );
        });
        let kernel = median_ms::<B>(dev, runs, || {
            B::ms_deform_attn_backward(value.clone(), &levels, loc.clone(), w.clone(), go.clone());
        });
        out.push(timing(
            "ms_deform_attn_backward".into(),
            format!("N={n} Lq={lq} M={m} D={d} levels={levels:?} P={p}"),
            reference,
            kernel,
        ));
    }

    // The Swin window attention the model runs (RAM's [PATCH x PATCH], shifted), at each
    // swin_nano stage of 800x1216: patch grid 200x304, then /2 each stage.
    let ws = 7;
    for (si, (c, heads, h, w)) in [
        (48usize, 3usize, 200usize, 304usize),
        (96, 6, 100, 152),
        (192, 12, 50, 76),
        (384, 24, 25, 38),
    ]
    .into_iter()
    .enumerate()
    {
        let s = SwinWindows {
            heads,
            ws,
            shift: ws / 2,
            scale: ((c / heads) as f32).powf(-0.5),
        };
        let qkv = rand::<B, 4>([1, h, w, 3 * c], 10 + si as u64, -1.0, 1.0, dev);
        let bias = rand::<B, 1>([3 * c], 20 + si as u64, -0.5, 0.5, dev);
        let table = rand::<B, 2>(
            [(2 * ws - 1) * (2 * ws - 1), heads],
            30 + si as u64,
            -0.5,
            0.5,
            dev,
        );
        let reference = median_ms::<B>(dev, runs, || {
            swin_attention::reference(qkv.clone(), bias.clone(), table.clone(), s);
        });
        let kernel = median_ms::<B>(dev, runs, || {
            B::swin_window_attention(qkv.clone(), bias.clone(), table.clone(), s);
        });
        out.push(timing(
            format!("swin_window_attention_stage{}", si + 1),
            format!("{h}x{w} tokens, C={c}, heads={heads}, windows of {ws}x{ws}, shifted"),
            reference,
            kernel,
        ));
    }
    out
}

/// Training throughput with `r` data-parallel replicas, for each `r` in `replicas`.
#[derive(Debug, Serialize)]
pub struct TrainTiming {
    pub replicas: usize,
    pub ms_per_step: f64,
    pub images_per_s: f64,
    /// Against the first entry (the baseline, usually one replica).
    pub ratio: f64,
}

/// Times full training steps (forward with aux outputs, criterion, backward, AdamW) of a
/// freshly initialized `preset` model on `batch` synthetic `size`² images: median of `steps`
/// after one warm-up step, for each replica count (replica `i` on device ordinal `i`; a
/// one-device backend gives every replica that device).
pub fn bench_train<B>(
    device: crate::backend::DeviceKind,
    preset: &str,
    (size, batch, steps): (usize, usize, usize),
    replicas: &[usize],
) -> crate::error::Result<TrainBenchReport>
where
    B: burn::tensor::backend::AutodiffBackend + VidtBackend,
    B::InnerBackend: VidtBackend,
    crate::model::Vidt<B>: burn::module::AutodiffModule<B>,
{
    use crate::coco::{Target, synth};
    use crate::train::step::{Shard, train_step};
    use crate::train::{criterion::Criterion, optim::VidtOptim};
    let mut cfg = crate::config::VidtConfig::preset(preset)?;
    cfg.num_classes = 4;
    let weights = crate::official::initial_weights(&cfg, 1);
    let mut rng = Rng::new(11);
    let images: Vec<(Vec<f32>, Target)> = (0..batch)
        .map(|_| {
            let (img, objects) = synth::image(&mut rng, size as u32, size as u32, 4);
            let b = crate::detect::preprocess::pad_batch(std::slice::from_ref(&img));
            (b.data, synth::target(&objects, size as u32, size as u32))
        })
        .collect();
    let default: B::Device = Default::default();
    let mut rows: Vec<TrainTiming> = Vec::new();
    for &r in replicas {
        let r = r.clamp(1, batch);
        let ordinals: Vec<u16> = (0..r as u16).collect();
        crate::backend::check_ordinals(device, &ordinals)?;
        let devices = crate::backend::devices::<B>(&default, &ordinals);
        let mut model = crate::official::load::<B>(&weights, &cfg, &devices[0])?;
        let mut optim = VidtOptim::new(&model, 1e-4, 0.1);
        let criterion = Criterion::default();
        let per = batch.div_ceil(r);
        let mut times = Vec::new();
        for step in 0..=steps.max(1) {
            let shards: Vec<Shard<B>> = images
                .chunks(per)
                .zip(&devices)
                .map(|(part, dev)| {
                    let data: Vec<f32> = part.iter().flat_map(|(d, _)| d.clone()).collect();
                    Shard {
                        images: Tensor::from_data(
                            TensorData::new(data, [part.len(), 3, size, size]),
                            dev,
                        ),
                        mask: crate::model::PixelMask::zeros(part.len(), size, size),
                        targets: part.iter().map(|(_, t)| t.clone()).collect(),
                    }
                })
                .collect();
            let start = Instant::now();
            // The step reads its loss back, which waits for the device.
            let (m, _) = train_step(model, &mut optim, 1e-4, shards, &criterion, None)?;
            model = m;
            for d in &devices {
                let _ = B::sync(d);
            }
            if step > 0 {
                times.push(start.elapsed().as_secs_f64() * 1e3);
            }
        }
        times.sort_by(f64::total_cmp);
        let ms = times[times.len() / 2];
        let base = rows.first().map(|b| b.ms_per_step).unwrap_or(ms);
        rows.push(TrainTiming {
            replicas: r,
            ms_per_step: ms,
            images_per_s: batch as f64 / ms * 1e3,
            ratio: base / ms,
        });
    }
    Ok(TrainBenchReport {
        device: device.to_string(),
        preset: preset.to_string(),
        size,
        batch_size: batch,
        rows,
    })
}

/// `vidt bench kernels`: every hot op, kernel and reference, on one device.
#[derive(Debug, Serialize)]
pub struct KernelsReport {
    pub device: String,
    pub runs: usize,
    /// By op name.
    pub kernels: std::collections::BTreeMap<String, KernelRow>,
}

#[derive(Debug, Serialize)]
pub struct KernelRow {
    pub shape: String,
    pub reference_ms: f64,
    pub kernel_ms: f64,
    pub speedup: f64,
}

impl KernelsReport {
    pub fn new(device: crate::backend::DeviceKind, runs: usize, rows: Vec<OpTiming>) -> Self {
        let kernels = rows
            .into_iter()
            .map(|r| {
                let row = KernelRow {
                    shape: r.shape,
                    reference_ms: r.reference_ms,
                    kernel_ms: r.kernel_ms,
                    speedup: r.speedup,
                };
                (r.name, row)
            })
            .collect();
        Self {
            device: device.to_string(),
            runs,
            kernels,
        }
    }
}

/// `vidt bench train`.
#[derive(Debug, Serialize)]
pub struct TrainBenchReport {
    pub device: String,
    pub preset: String,
    pub size: usize,
    pub batch_size: usize,
    pub rows: Vec<TrainTiming>,
}
