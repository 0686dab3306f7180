//! Model configuration: Swin presets (nano/tiny/small/base), the neck/decoder settings, inference
//! of the configuration from a checkpoint's tensors, and the official state_dict schema.

use serde::{Deserialize, Serialize};

use crate::error::{Result, VidtError};
use crate::weights::WeightMap;

/// Swin backbone hyper-parameters (patch 4, MLP ratio 4, qkv bias, GELU, LN eps 1e-5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SwinConfig {
    pub embed_dim: usize,
    pub depths: Vec<usize>,
    pub num_heads: Vec<usize>,
    pub window_size: usize,
    /// Stochastic depth rate (training only).
    pub drop_path_rate: f64,
}

impl SwinConfig {
    /// Channels of stage `s` (before its patch merging).
    pub fn stage_dim(&self, s: usize) -> usize {
        self.embed_dim << s
    }
    pub fn num_stages(&self) -> usize {
        self.depths.len()
    }
}

/// The whole detector's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VidtConfig {
    /// Preset name when the backbone matches one (`swin_nano`, ...).
    pub preset: Option<String>,
    pub swin: SwinConfig,
    /// Number of [DET] tokens (object queries).
    pub det_tokens: usize,
    /// Width of the neck/decoder (`reduced_dim`; also the [DET] pos-embedding width).
    pub d_model: usize,
    pub dec_layers: usize,
    pub dec_heads: usize,
    pub dec_points: usize,
    pub dim_feedforward: usize,
    pub num_classes: usize,
    /// Decoder dropout (training only).
    pub dropout: f64,
}

/// The Swin presets of the official code.
pub const PRESETS: &[&str] = &["nano", "tiny", "small", "base"];

impl VidtConfig {
    /// A preset: `nano`, `tiny`, `small`, `base` (also accepted with a `swin_` prefix), or
    /// `pico`, ours (not an official size): a Swin of width 32 and depths 1-1-2-1 with a
    /// 128-wide, 3-layer neck and 30 [DET] tokens, small and fast enough to train on a CPU
    /// (the demo model).
    pub fn preset(name: &str) -> Result<Self> {
        let short = name.trim_start_matches("swin_");
        if short == "pico" {
            return Ok(Self {
                preset: Some("swin_pico".into()),
                swin: SwinConfig {
                    embed_dim: 32,
                    depths: vec![1, 1, 2, 1],
                    num_heads: vec![1, 2, 4, 8],
                    window_size: 7,
                    drop_path_rate: 0.0,
                },
                det_tokens: 30,
                d_model: 128,
                dec_layers: 3,
                dec_heads: 8,
                dec_points: 4,
                dim_feedforward: 512,
                num_classes: 91,
                dropout: 0.1,
            });
        }
        let (embed_dim, depths, num_heads, dpr, full) = match short {
            "nano" => (48, vec![2, 2, 6, 2], vec![3, 6, 12, 24], 0.0, "swin_nano"),
            "tiny" => (96, vec![2, 2, 6, 2], vec![3, 6, 12, 24], 0.2, "swin_tiny"),
            "small" => (96, vec![2, 2, 18, 2], vec![3, 6, 12, 24], 0.3, "swin_small"),
            "base" | "base_win7_22k" => (
                128,
                vec![2, 2, 18, 2],
                vec![4, 8, 16, 32],
                0.3,
                "swin_base_win7_22k",
            ),
            other => {
                return Err(VidtError::Config(format!(
                    "unknown preset `{other}` (known: {}, pico)",
                    PRESETS.join(", ")
                )));
            }
        };
        Ok(Self {
            preset: Some(full.to_string()),
            swin: SwinConfig {
                embed_dim,
                depths,
                num_heads,
                window_size: 7,
                drop_path_rate: dpr,
            },
            det_tokens: 100,
            d_model: 256,
            dec_layers: 6,
            dec_heads: 8,
            dec_points: 4,
            dim_feedforward: 1024,
            num_classes: 91,
            dropout: 0.1,
        })
    }

    /// Number of feature levels fed to the decoder (3 backbone stages + the final merge).
    pub fn num_levels(&self) -> usize {
        self.swin.num_stages()
    }

    /// Channels of the four [PATCH] levels given to the neck.
    pub fn level_channels(&self) -> Vec<usize> {
        let n = self.swin.num_stages();
        let mut c: Vec<usize> = (1..n).map(|s| self.swin.stage_dim(s)).collect();
        c.push(self.d_model);
        c
    }

    /// Width of the [DET] tokens handed to the neck (stage-4 width).
    pub fn det_dim(&self) -> usize {
        self.swin.stage_dim(self.swin.num_stages() - 1)
    }

    /// Infers the configuration from a checkpoint's tensor shapes.
    pub fn infer(w: &WeightMap) -> Result<Self> {
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
        let embed_dim = dim("backbone.patch_embed.proj.weight", 4, 0)?;
        let mut depths = Vec::new();
        let mut num_heads = Vec::new();
        let mut window_size = 0;
        for s in 0.. {
            let mut d = 0;
            while w.contains(&format!("backbone.layers.{s}.blocks.{d}.norm1.weight")) {
                d += 1;
            }
            if d == 0 {
                break;
            }
            let key = format!("backbone.layers.{s}.blocks.0.attn.relative_position_bias_table");
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
        let det_tokens = dim("backbone.det_token", 3, 1)?;
        let d_model = dim("backbone.det_pos_embed", 3, 2)?;
        let mut dec_layers = 0;
        while w.contains(&format!(
            "transformer.decoder.layers.{dec_layers}.norm1.weight"
        )) {
            dec_layers += 1;
        }
        let num_classes = dim("class_embed.0.weight", 2, 0)?;
        let dim_feedforward = if dec_layers > 0 {
            dim("transformer.decoder.layers.0.linear1.weight", 2, 0)?
        } else {
            1024
        };
        let dec_heads = 8;
        let levels = 4;
        let dec_points = if dec_layers > 0 {
            let key = "transformer.decoder.layers.0.cross_attn.attention_weights.weight";
            let out = dim(key, 2, 0)?;
            if out == 0 || out % (dec_heads * levels) != 0 {
                return Err(VidtError::Config(format!(
                    "`{key}` has {out} outputs, not 8 heads x 4 levels x points"
                )));
            }
            out / (dec_heads * levels)
        } else {
            4
        };
        let mut cfg = Self {
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
        };
        for p in PRESETS.iter().chain(&["pico"]) {
            let pc = Self::preset(p)?;
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

    /// The official state_dict: every key with its shape and kind, in the official order.
    pub fn schema(&self) -> Vec<SchemaEntry> {
        schema(self)
    }

    /// Trainable parameters of the reference model: the unused-but-registered parameters
    /// (`level_embed`, `downsample.expansion/norm2`, `backbone.norm1..3`) included; the
    /// `transformer.decoder.bbox_embed` aliases and the `relative_position_index` buffers not.
    pub fn parameter_count(&self) -> usize {
        self.schema()
            .iter()
            .filter(|e| e.kind != EntryKind::Alias && e.kind != EntryKind::Buffer)
            .map(|e| e.shape.iter().product::<usize>())
            .sum()
    }

    /// Parameters this implementation actually uses.
    pub fn used_parameter_count(&self) -> usize {
        self.schema()
            .iter()
            .filter(|e| e.kind == EntryKind::Param)
            .map(|e| e.shape.iter().product::<usize>())
            .sum()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A parameter the model uses.
    Param,
    /// Registered by the reference but never used in its forward pass.
    Unused,
    /// `transformer.decoder.bbox_embed.*`: the same tensors as `bbox_embed.*`.
    Alias,
    /// Integer buffer (`relative_position_index`), recomputed by us.
    Buffer,
}

#[derive(Clone, Debug)]
pub struct SchemaEntry {
    pub key: String,
    pub shape: Vec<usize>,
    pub kind: EntryKind,
}

fn schema(c: &VidtConfig) -> Vec<SchemaEntry> {
    use EntryKind::*;
    let mut v = Vec::new();
    let mut add =
        |key: String, shape: Vec<usize>, kind: EntryKind| v.push(SchemaEntry { key, shape, kind });
    let d = c.d_model;
    let levels = c.num_levels();
    let linear = |add: &mut dyn FnMut(String, Vec<usize>, EntryKind),
                  p: &str,
                  i: usize,
                  o: usize,
                  bias: bool,
                  kind| {
        add(format!("{p}.weight"), vec![o, i], kind);
        if bias {
            add(format!("{p}.bias"), vec![o], kind);
        }
    };
    let norm = |add: &mut dyn FnMut(String, Vec<usize>, EntryKind), p: &str, n: usize, kind| {
        add(format!("{p}.weight"), vec![n], kind);
        add(format!("{p}.bias"), vec![n], kind);
    };
    add("transformer.level_embed".into(), vec![levels, d], Unused);
    let (h, l, p) = (c.dec_heads, levels, c.dec_points);
    for i in 0..c.dec_layers {
        let pre = format!("transformer.decoder.layers.{i}");
        linear(
            &mut add,
            &format!("{pre}.cross_attn.sampling_offsets"),
            d,
            h * l * p * 2,
            true,
            Param,
        );
        linear(
            &mut add,
            &format!("{pre}.cross_attn.attention_weights"),
            d,
            h * l * p,
            true,
            Param,
        );
        linear(
            &mut add,
            &format!("{pre}.cross_attn.value_proj"),
            d,
            d,
            true,
            Param,
        );
        linear(
            &mut add,
            &format!("{pre}.cross_attn.output_proj"),
            d,
            d,
            true,
            Param,
        );
        norm(&mut add, &format!("{pre}.norm1"), d, Param);
        add(
            format!("{pre}.self_attn.in_proj_weight"),
            vec![3 * d, d],
            Param,
        );
        add(format!("{pre}.self_attn.in_proj_bias"), vec![3 * d], Param);
        linear(
            &mut add,
            &format!("{pre}.self_attn.out_proj"),
            d,
            d,
            true,
            Param,
        );
        norm(&mut add, &format!("{pre}.norm2"), d, Param);
        linear(
            &mut add,
            &format!("{pre}.linear1"),
            d,
            c.dim_feedforward,
            true,
            Param,
        );
        linear(
            &mut add,
            &format!("{pre}.linear2"),
            c.dim_feedforward,
            d,
            true,
            Param,
        );
        norm(&mut add, &format!("{pre}.norm3"), d, Param);
    }
    let num_pred = c.dec_layers + 1;
    let bbox = |add: &mut dyn FnMut(String, Vec<usize>, EntryKind), pre: &str, kind| {
        for i in 0..num_pred {
            linear(add, &format!("{pre}.{i}.layers.0"), d, d, true, kind);
            linear(add, &format!("{pre}.{i}.layers.1"), d, d, true, kind);
            linear(add, &format!("{pre}.{i}.layers.2"), d, 4, true, kind);
        }
    };
    bbox(&mut add, "transformer.decoder.bbox_embed", Alias);
    linear(&mut add, "transformer.reference_points", d, 2, true, Param);
    for i in 0..num_pred {
        linear(
            &mut add,
            &format!("class_embed.{i}"),
            d,
            c.num_classes,
            true,
            Param,
        );
    }
    bbox(&mut add, "bbox_embed", Param);
    let s = &c.swin;
    let e = s.embed_dim;
    add("backbone.det_token".into(), vec![1, c.det_tokens, e], Param);
    add(
        "backbone.det_pos_embed".into(),
        vec![1, c.det_tokens, d],
        Param,
    );
    add(
        "backbone.patch_embed.proj.weight".into(),
        vec![e, 3, 4, 4],
        Param,
    );
    add("backbone.patch_embed.proj.bias".into(), vec![e], Param);
    norm(&mut add, "backbone.patch_embed.norm", e, Param);
    let n = s.num_stages();
    let w = s.window_size;
    for st in 0..n {
        let dim = s.stage_dim(st);
        for b in 0..s.depths[st] {
            let pre = format!("backbone.layers.{st}.blocks.{b}");
            norm(&mut add, &format!("{pre}.norm1"), dim, Param);
            add(
                format!("{pre}.attn.relative_position_bias_table"),
                vec![(2 * w - 1) * (2 * w - 1), s.num_heads[st]],
                Param,
            );
            add(
                format!("{pre}.attn.relative_position_index"),
                vec![w * w, w * w],
                Buffer,
            );
            linear(
                &mut add,
                &format!("{pre}.attn.qkv"),
                dim,
                3 * dim,
                true,
                Param,
            );
            linear(&mut add, &format!("{pre}.attn.proj"), dim, dim, true, Param);
            norm(&mut add, &format!("{pre}.norm2"), dim, Param);
            linear(
                &mut add,
                &format!("{pre}.mlp.fc1"),
                dim,
                4 * dim,
                true,
                Param,
            );
            linear(
                &mut add,
                &format!("{pre}.mlp.fc2"),
                4 * dim,
                dim,
                true,
                Param,
            );
            linear(
                &mut add,
                &format!("{pre}.det_pos_linear"),
                d,
                dim,
                true,
                Param,
            );
        }
        let out = if st + 1 < n { 2 * dim } else { d };
        let pre = format!("backbone.layers.{st}.downsample");
        linear(
            &mut add,
            &format!("{pre}.reduction"),
            4 * dim,
            out,
            false,
            Param,
        );
        norm(&mut add, &format!("{pre}.norm"), 4 * dim, Param);
        linear(
            &mut add,
            &format!("{pre}.expansion"),
            dim,
            out,
            false,
            Unused,
        );
        norm(&mut add, &format!("{pre}.norm2"), dim, Unused);
    }
    for st in 1..n {
        norm(
            &mut add,
            &format!("backbone.norm{st}"),
            s.stage_dim(st),
            Unused,
        );
    }
    for (i, ch) in c.level_channels().into_iter().enumerate() {
        add(format!("input_proj.{i}.0.weight"), vec![d, ch, 1, 1], Param);
        add(format!("input_proj.{i}.0.bias"), vec![d], Param);
        norm(&mut add, &format!("input_proj.{i}.1"), d, Param);
    }
    add(
        "tgt_proj.0.weight".into(),
        vec![d, c.det_dim(), 1, 1],
        Param,
    );
    add("tgt_proj.0.bias".into(), vec![d], Param);
    norm(&mut add, "tgt_proj.1", d, Param);
    add("query_pos_proj.0.weight".into(), vec![d, d, 1, 1], Param);
    add("query_pos_proj.0.bias".into(), vec![d], Param);
    norm(&mut add, "query_pos_proj.1", d, Param);
    v
}
