//! An ImageNet-pretrained Swin classification checkpoint loaded into ViDT's backbone, as the
//! official code does (`--pre_trained imagenet`: `load_state_dict(checkpoint["model"],
//! strict=False)` on the Swin backbone before its detection parts are added). Its keys are the
//! backbone's without the `backbone.` prefix; keys present in both load (a shape mismatch is an
//! error naming the key and both shapes), the rest are ignored: the classifier (`head.*`,
//! `norm.*`), the derived buffers (`relative_position_index`, `attn_mask`). ViDT's own parts
//! ([DET] tokens, RAM's extras, the last stage's merging, `norm1..3`) keep their official
//! initialization.

use crate::error::{Result, VidtError};
use crate::tensor_map::TensorMap;

/// The official ImageNet-1k (base: 22k) Swin checkpoints the presets start from.
pub fn imagenet_url(preset: &str) -> Result<&'static str> {
    Ok(match preset {
        "nano" => {
            "https://github.com/naver-ai/vidt/releases/download/v0.1-swin/swin_nano_patch4_window7_224.pth"
        }
        "tiny" => {
            "https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_tiny_patch4_window7_224.pth"
        }
        "small" => {
            "https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_small_patch4_window7_224.pth"
        }
        "base" => {
            "https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_base_patch4_window7_224_22k.pth"
        }
        other => {
            return Err(VidtError::Input {
                name: "--pretrained imagenet".into(),
                reason: format!(
                    "the preset `{other}` has no ImageNet Swin checkpoint (nano, tiny, small and \
                     base have); pass a checkpoint path or URL, or train from scratch"
                ),
            });
        }
    })
}

/// What [`load_pretrained_swin`] loaded and ignored (Swin key names).
#[derive(Debug)]
pub struct PretrainedReport {
    pub name: String,
    pub loaded: Vec<String>,
    pub values: usize,
    pub ignored: Vec<String>,
}

impl std::fmt::Display for PretrainedReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let first = |v: &[String]| {
            let mut s = v.iter().take(4).cloned().collect::<Vec<_>>().join(", ");
            if v.len() > 4 {
                s.push_str(", ...");
            }
            s
        };
        write!(
            f,
            "{}: loaded {} backbone tensors ({} values: {}); ignored {} ({})",
            self.name,
            self.loaded.len(),
            self.values,
            first(&self.loaded),
            self.ignored.len(),
            first(&self.ignored),
        )
    }
}

/// Buffers derived from the configuration, never learned: not taken from the checkpoint.
fn is_buffer(key: &str) -> bool {
    key.ends_with("relative_position_index") || key.ends_with("attn_mask")
}

/// Loads the Swin checkpoint `swin` (read from `name`) into `weights`' backbone.
pub fn load_pretrained_swin(
    weights: &mut TensorMap,
    swin: &TensorMap,
    name: &str,
) -> Result<PretrainedReport> {
    let mut keys: Vec<&str> = swin.keys().collect();
    keys.sort_unstable();
    let (mut loaded, mut ignored, mut values) = (vec![], vec![], 0);
    for k in keys {
        let target = format!("backbone.{k}");
        let t = swin.require(k)?;
        match weights.shape(&target) {
            Some(_) if is_buffer(k) => ignored.push(k.to_string()),
            Some(shape) if shape == t.shape.as_slice() => {
                values += t.numel();
                loaded.push(k.to_string());
            }
            Some(shape) => {
                return Err(VidtError::Input {
                    name: name.into(),
                    reason: format!(
                        "key `{k}` has shape {:?}, the backbone's `{target}` has {shape:?} (a Swin of \
                         another size than the preset?)",
                        t.shape
                    ),
                });
            }
            None => ignored.push(k.to_string()),
        }
    }
    if loaded.is_empty() {
        return Err(VidtError::Checkpoint {
            path: name.into(),
            reason: "no key matches the Swin backbone (expected patch_embed.*, \
                     layers.{i}.blocks.{j}.*, as in a Swin classification checkpoint)"
                .into(),
        });
    }
    for k in &loaded {
        weights.insert(format!("backbone.{k}"), swin.require(k)?.clone());
    }
    Ok(PretrainedReport {
        name: name.into(),
        loaded,
        values,
        ignored,
    })
}
