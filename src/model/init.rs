//! The official initialization, as a state_dict (so a fresh model goes through the same loader
//! as a checkpoint): PyTorch defaults for Swin and the heads, xavier for the transformer's
//! matrices and the projections, Deformable DETR's offset grid, the focal prior on the class
//! bias, zeroed last box layers (box 0's size bias at -2), truncated normals (std 0.02) for the
//! [DET] tokens, their pos embedding and the relative-position tables.

use crate::config::{EntryKind, VidtConfig};
use crate::train::synth::Rng;
use crate::weights::{WeightMap, WeightTensor};

fn normal(rng: &mut Rng, std: f32) -> f32 {
    // Box-Muller; truncation at ±2 (absolute, as timm's trunc_normal_) never binds at std 0.02.
    let (u1, u2) = (rng.unit().max(1e-12), rng.unit());
    ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos() * std).clamp(-2.0, 2.0)
}

fn uniform(rng: &mut Rng, n: usize, bound: f32) -> Vec<f32> {
    (0..n).map(|_| rng.range(-bound, bound)).collect()
}

/// Initial weights of a model of configuration `cfg` (deterministic for `seed`).
pub fn initial_weights(cfg: &VidtConfig, seed: u64) -> WeightMap {
    let mut rng = Rng::new(seed);
    let mut w = WeightMap::new();
    let schema = cfg.schema();
    let fan_in_of = |key: &str| -> usize {
        schema
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.shape[1..].iter().product())
            .unwrap_or(1)
    };
    for e in schema.iter().filter(|e| matches!(e.kind, EntryKind::Param)) {
        let k = e.key.as_str();
        let n: usize = e.shape.iter().product();
        let weight_key = k.strip_suffix(".bias").map(|p| format!("{p}.weight"));
        let is_transformer = k.starts_with("transformer.");
        // LayerNorms, and the GroupNorm (module 1) of each 1x1-conv + GN projection.
        let parts: Vec<&str> = k.split('.').collect();
        let is_gn = (parts[0] == "input_proj" && parts[2] == "1")
            || ((parts[0] == "tgt_proj" || parts[0] == "query_pos_proj") && parts[1] == "1");
        let is_norm = k.contains("norm") || is_gn;
        let data: Vec<f32> = if is_norm {
            vec![if k.ends_with(".weight") { 1.0 } else { 0.0 }; n]
        } else if k == "backbone.det_token"
            || k == "backbone.det_pos_embed"
            || k.ends_with("relative_position_bias_table")
        {
            (0..n).map(|_| normal(&mut rng, 0.02)).collect()
        } else if k.contains("cross_attn.sampling_offsets.weight")
            || k.contains("cross_attn.attention_weights")
        {
            vec![0.0; n]
        } else if k.contains("cross_attn.sampling_offsets.bias") {
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
        } else if k.ends_with(".bias")
            && (k.contains("value_proj")
                || k.contains("output_proj")
                || k.contains("in_proj_bias")
                || k.contains("out_proj")
                || k.starts_with("input_proj.")
                || k.starts_with("tgt_proj.")
                || k.starts_with("query_pos_proj."))
        {
            vec![0.0; n]
        } else if k.starts_with("bbox_embed.") && k.contains(".layers.2.") {
            let mut v = vec![0.0; n];
            if k == "bbox_embed.0.layers.2.bias" {
                v[2..].fill(-2.0);
            }
            v
        } else if k.starts_with("class_embed.") && k.ends_with(".bias") {
            vec![-((1.0f32 - 0.01) / 0.01).ln(); n]
        } else if (is_transformer && e.shape.len() > 1)
            || (e.shape.len() == 4 && !k.starts_with("backbone."))
        {
            // xavier_uniform: bound sqrt(6 / (fan_in + fan_out)).
            let fan_out = e.shape[0] * e.shape[2..].iter().product::<usize>();
            let fan_in: usize = e.shape[1..].iter().product();
            uniform(&mut rng, n, (6.0 / (fan_in + fan_out) as f32).sqrt())
        } else {
            // PyTorch's Linear/Conv default: U(±1/sqrt(fan_in)) for weight and bias.
            let fan_in = match &weight_key {
                Some(wk) => fan_in_of(wk),
                None => e.shape[1..].iter().product(),
            };
            uniform(&mut rng, n, 1.0 / (fan_in as f32).sqrt())
        };
        w.insert(k, WeightTensor::new(e.shape.clone(), data));
    }
    w
}

/// Fine-tuning to another class count: `w` (a checkpoint of configuration `cfg`) with only the
/// class heads (`class_embed.*`) re-initialized for `num_classes` outputs, as a fresh model's
/// (focal prior on the bias); every other tensor is kept.
pub fn with_new_classes(
    w: &WeightMap,
    cfg: &VidtConfig,
    num_classes: usize,
    seed: u64,
) -> (VidtConfig, WeightMap) {
    let mut cfg = cfg.clone();
    cfg.num_classes = num_classes;
    let fresh = initial_weights(&cfg, seed);
    let mut out = WeightMap::new();
    for (k, t) in w.iter() {
        if !k.starts_with("class_embed.") {
            out.insert(k.to_string(), t.clone());
        }
    }
    for (k, t) in fresh.iter() {
        if k.starts_with("class_embed.") {
            out.insert(k.to_string(), t.clone());
        }
    }
    (cfg, out)
}
