//! Model configuration, plain data: Swin presets (nano/tiny/small/base, and our pico), the
//! neck/decoder settings and the widths derived from them. Inference of a configuration from a
//! checkpoint is in [`crate::official`].

use serde::{Deserialize, Serialize};

use crate::error::{Result, VidtError};

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
    /// ViDT+ (the official extension): EPFF in place of the per-level input projections, the
    /// UQR mask-vector head, the IoU-aware head and the token-labeling head. Recognised in a
    /// checkpoint by its `fusion.*` keys.
    #[serde(default)]
    pub plus: bool,
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
                plus: false,
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
            plus: false,
        })
    }

    /// The ViDT+ model of the same backbone and neck, as the official ViDT+ recipe builds it
    /// (`--det_token_num 300 --epff True --with_vector True --iou_aware True --token_label True`).
    pub fn plus(mut self) -> Self {
        self.plus = true;
        self.det_tokens = 300;
        self
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
}
