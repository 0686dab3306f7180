//! The official initialization, as a state_dict (so a fresh model goes through the same loader
//! as a checkpoint): each parameter as the table's [`Init`] says — PyTorch defaults for Swin and
//! the heads, xavier for the transformer's matrices and the projections, Deformable DETR's
//! offset grid, the focal prior on the class bias, zeroed last box layers (box 0's size bias at
//! -2), truncated normals (std 0.02) for the [DET] tokens, their pos embedding and the
//! relative-position tables.

use super::keys::{CLASS_EMBED, Entry, Init, table};
use crate::config::VidtConfig;
use crate::rng::Rng;
use crate::tensor_map::{HostTensor, TensorMap};

fn uniform(rng: &mut Rng, n: usize, bound: f32) -> Vec<f32> {
    (0..n).map(|_| rng.range(-bound, bound)).collect()
}

/// The values of one parameter (drawing from `rng` in table order).
fn values(e: &Entry, cfg: &VidtConfig, rng: &mut Rng) -> Vec<f32> {
    let n = e.numel();
    match e.init {
        Init::Ones => vec![1.0; n],
        Init::Zeros | Init::None => vec![0.0; n],
        Init::TruncNormal => (0..n).map(|_| rng.normal(0.02)).collect(),
        Init::Uniform { fan_in } => uniform(rng, n, 1.0 / (fan_in as f32).sqrt()),
        Init::Xavier => {
            let fan_in: usize = e.shape[1..].iter().product();
            let fan_out = e.shape[0] * e.shape[2..].iter().product::<usize>();
            uniform(rng, n, (6.0 / (fan_in + fan_out) as f32).sqrt())
        }
        Init::SamplingGrid => {
            let (h, l, p) = (cfg.dec_heads, cfg.num_levels(), cfg.dec_points);
            let mut v = Vec::with_capacity(n);
            for hi in 0..h {
                let theta = hi as f32 * (2.0 * std::f32::consts::PI / h as f32);
                let (c, s) = (theta.cos(), theta.sin());
                let m = c.abs().max(s.abs());
                for _ in 0..l {
                    for pi in 0..p {
                        v.extend([c / m * (pi + 1) as f32, s / m * (pi + 1) as f32]);
                    }
                }
            }
            v
        }
        Init::FocalPrior => vec![-((1.0f32 - 0.01) / 0.01).ln(); n],
        Init::BoxSizePrior => {
            let mut v = vec![0.0; n];
            v[2..].fill(-2.0);
            v
        }
    }
}

/// Initial weights of a model of configuration `cfg` (deterministic for `seed`).
pub fn initial_weights(cfg: &VidtConfig, seed: u64) -> TensorMap {
    let mut rng = Rng::new(seed);
    table(cfg)
        .iter()
        .filter(|e| e.is_param())
        .map(|e| {
            let data = values(e, cfg, &mut rng);
            (e.key.clone(), HostTensor::new(e.shape.clone(), data))
        })
        .collect()
}

/// Fine-tuning to another class count: `w` (a checkpoint of configuration `cfg`) with only the
/// class heads (`class_embed.*`) re-initialized for `num_classes` outputs, as a fresh model's
/// (focal prior on the bias); every other tensor is kept.
pub fn with_new_classes(
    w: &TensorMap,
    cfg: &VidtConfig,
    num_classes: usize,
    seed: u64,
) -> (VidtConfig, TensorMap) {
    let mut cfg = cfg.clone();
    cfg.num_classes = num_classes;
    let fresh = initial_weights(&cfg, seed);
    let head = |k: &str| k.starts_with(&format!("{CLASS_EMBED}."));
    let out = w
        .iter()
        .filter(|(k, _)| !head(k))
        .chain(fresh.iter().filter(|(k, _)| head(k)))
        .map(|(k, t)| (k.to_string(), t.clone()))
        .collect();
    (cfg, out)
}
