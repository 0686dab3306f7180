//! The configuration of a checkpoint, inferred from its tensors' shapes: stage depths and heads
//! from the Swin blocks present, the window from the relative-position tables, [DET] tokens,
//! widths, decoder layers, points and classes; ViDT+ from its EPFF keys. The keys probed are
//! spelled by the table's own helpers ([`super::keys`]).

use super::keys::{
    ATTENTION_WEIGHTS, CLASS_EMBED, DET_POS_EMBED, DET_TOKEN, PATCH_EMBED_PROJ, REL_POS_TABLE,
    block, block_norm1, decoder_layer, decoder_linear1, decoder_norm1, epff_layer_rn, weight,
};
use crate::config::{PRESETS, SwinConfig, VidtConfig};
use crate::error::{Result, VidtError};
use crate::tensor_map::TensorMap;

/// Infers the configuration from a checkpoint's tensor shapes; the preset name (and its
/// stochastic-depth rate) when the backbone matches one.
pub fn infer_config(w: &TensorMap) -> Result<VidtConfig> {
    // The extent `i` of `key`, which must have rank `rank`.
    let dim = |k: &str, rank: usize, i: usize| -> Result<usize> {
        let s = w.shape(k).ok_or_else(|| {
            VidtError::Config(format!(
                "key `{k}` is missing; is this a ViDT (Swin) checkpoint?"
            ))
        })?;
        if s.len() != rank {
            return Err(VidtError::Config(format!(
                "key `{k}` has shape {s:?}, expected {rank} dimensions"
            )));
        }
        Ok(s[i])
    };
    let embed_dim = dim(&weight(PATCH_EMBED_PROJ), 4, 0)?;
    let mut depths = Vec::new();
    let mut num_heads = Vec::new();
    let mut window_size = 0;
    for s in 0.. {
        let mut d = 0;
        while w.contains(&weight(&block_norm1(s, d))) {
            d += 1;
        }
        if d == 0 {
            break;
        }
        let key = format!("{}.{REL_POS_TABLE}", block(s, 0));
        let rows = dim(&key, 2, 0)?;
        let side = (rows as f64).sqrt().round() as usize;
        if side * side != rows || side % 2 == 0 {
            return Err(VidtError::Config(format!(
                "`{key}` has {rows} rows, not (2w-1)^2 for a window w"
            )));
        }
        window_size = side.div_ceil(2);
        depths.push(d);
        num_heads.push(dim(&key, 2, 1)?);
    }
    if depths.len() != 4 {
        return Err(VidtError::Config(format!(
            "found {} backbone stages, expected 4",
            depths.len()
        )));
    }
    let det_tokens = dim(DET_TOKEN, 3, 1)?;
    let d_model = dim(DET_POS_EMBED, 3, 2)?;
    let mut dec_layers = 0;
    while w.contains(&weight(&decoder_norm1(dec_layers))) {
        dec_layers += 1;
    }
    let num_classes = dim(&weight(&format!("{CLASS_EMBED}.0")), 2, 0)?;
    // Defaults of the official code where a checkpoint without decoder says nothing.
    let dim_feedforward = if dec_layers > 0 {
        dim(&weight(&decoder_linear1(0)), 2, 0)?
    } else {
        1024
    };
    let dec_heads = 8;
    let levels = 4;
    let dec_points = if dec_layers > 0 {
        let key = weight(&format!("{}.{ATTENTION_WEIGHTS}", decoder_layer(0)));
        let out = dim(&key, 2, 0)?;
        if out == 0 || out % (dec_heads * levels) != 0 {
            return Err(VidtError::Config(format!(
                "`{key}` has {out} outputs, not 8 heads x 4 levels x points"
            )));
        }
        out / (dec_heads * levels)
    } else {
        4
    };
    let mut cfg = VidtConfig {
        preset: None,
        swin: SwinConfig {
            embed_dim,
            depths,
            num_heads,
            window_size,
            drop_path_rate: 0.0,
        },
        det_tokens,
        d_model,
        dec_layers,
        dec_heads,
        dec_points,
        dim_feedforward,
        num_classes,
        dropout: 0.1,
        plus: w.contains(&weight(&epff_layer_rn(0))),
    };
    for p in PRESETS.iter().chain(&["pico"]) {
        let pc = VidtConfig::preset(p)?;
        if pc.swin.embed_dim == cfg.swin.embed_dim
            && pc.swin.depths == cfg.swin.depths
            && pc.swin.num_heads == cfg.swin.num_heads
        {
            cfg.preset = pc.preset;
            cfg.swin.drop_path_rate = pc.swin.drop_path_rate;
        }
    }
    Ok(cfg)
}
