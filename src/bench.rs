//! Speed figures, always side by side with a baseline measured in the same run on the same
//! device: each hot op's backend implementation (the kernels on wgpu) against its tensor-op
//! reference, on the shapes of swin_nano at 800x1216.

use std::time::Instant;

use burn::tensor::{Tensor, TensorData};
use serde::Serialize;

use crate::ops::{VidtBackend, ms_deform_attn, window_attention};

/// One op timed both ways.
#[derive(Debug, Serialize)]
pub struct OpTiming {
    pub name: String,
    pub shape: String,
    pub reference_ms: f64,
    pub kernel_ms: f64,
    pub speedup: f64,
}

/// Deterministic pseudo-random values in [lo, hi) (no RNG dependency, same inputs every run).
pub fn pseudo_random(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            lo + (hi - lo) * ((s >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect()
}

fn rand<B: VidtBackend, const D: usize>(
    shape: [usize; D],
    seed: u64,
    lo: f32,
    hi: f32,
    dev: &B::Device,
) -> Tensor<B, D> {
    let n = shape.iter().product();
    Tensor::from_data(TensorData::new(pseudo_random(n, seed, lo, hi), shape), dev)
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

/// Times deformable attention (Lq = 100, the four levels of an 800x1216 image) and the window
/// attention of every swin_nano stage at 800x1216, batch 1.
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

    // swin_nano stages at 800x1216: patch grid 200x304, then /2 each stage, padded to 7.
    let ws = 7;
    let nt = ws * ws;
    for (si, (c, heads, h, w)) in [
        (48usize, 3usize, 200usize, 304usize),
        (96, 6, 100, 152),
        (192, 12, 50, 76),
        (384, 24, 25, 38),
    ]
    .into_iter()
    .enumerate()
    {
        let (hp, wp) = (h.div_ceil(ws) * ws, w.div_ceil(ws) * ws);
        let bw = (hp / ws) * (wp / ws);
        let qkv = rand::<B, 3>([bw, nt, 3 * c], 10 + si as u64, -1.0, 1.0, dev);
        let bias = rand::<B, 3>([heads, nt, nt], 20 + si as u64, -0.5, 0.5, dev);
        let mask = crate::model::window::shift_mask::<B>(hp, wp, ws, ws / 2, dev);
        let scale = ((c / heads) as f32).powf(-0.5);
        let reference = median_ms::<B>(dev, runs, || {
            window_attention::reference(
                qkv.clone(),
                heads,
                bias.clone(),
                Some(mask.clone()),
                scale,
            );
        });
        let kernel = median_ms::<B>(dev, runs, || {
            B::window_attention(qkv.clone(), heads, bias.clone(), Some(mask.clone()), scale);
        });
        out.push(timing(
            format!("window_attention_stage{}", si + 1),
            format!("{bw} windows of {nt} tokens, C={c}, heads={heads}, shifted"),
            reference,
            kernel,
        ));
    }
    out
}
