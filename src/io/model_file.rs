//! The web model file (`.vidt`): one self-describing file that the native build and the browser
//! build both load — configuration, class names and tensors.
//!
//! Layout (little-endian):
//!
//! | bytes     | content                                                          |
//! |-----------|------------------------------------------------------------------|
//! | 0..8      | magic `VIDTMODL`                                                 |
//! | 8..12     | format version (u32): 1, or 2 for q8 files                       |
//! | 12..16    | CRC-32 (IEEE) of the payload                                     |
//! | 16..24    | payload length in bytes (u64)                                    |
//! | 24..      | payload: a safetensors file                                      |
//!
//! The payload is plain safetensors (readable by any safetensors tool once the 24-byte header is
//! cut off). Its `__metadata__` holds `format` (`vidt-model`), `config` (the [`VidtConfig`] as
//! JSON), `classes` (JSON list of class names, index = label id), `dtype`, and optionally
//! `input_size` (the shorter image side the model was trained for; default 800). Tensors are the
//! parameters inference uses, under the official state_dict keys, in f32, f16 or bf16 (upcast to
//! f32 on load: neither the CPU backend nor every browser has f16 arithmetic), or q8 (int8 linear
//! weights with per-channel scales, the rest f16: [`super::q8`]; dequantized on load). A q8 file
//! is version 2, so a reader from before q8 refuses it by its version instead of misreading it. Unused parameters, the
//! alias `transformer.decoder.bbox_embed.*` and integer buffers are left out, and so are the
//! decoder layers and heads past `config.dec_layers`.
//!
//! Every check runs before a tensor is used: magic, version, length, checksum, then the
//! safetensors structure, the metadata, and every tensor's key and shape against the schema of
//! the stored configuration. A truncated, corrupted or wrong-version file is an error that says
//! which check failed; it never loads as a silently different model.

use std::collections::BTreeMap;

use safetensors::SafeTensors;

use super::q8;
use super::safetensors::{Encoded, encoded, parse, serialize_encoded};
use crate::config::VidtConfig;
use crate::error::{Result, VidtError};
use crate::tensor_map::{Dtype, TensorMap};

pub const MAGIC: &[u8; 8] = b"VIDTMODL";
pub const VERSION: u32 = 1;
/// The version of q8 files.
pub const VERSION_Q8: u32 = 2;
pub const HEADER_LEN: usize = 24;
const FORMAT: &str = "vidt-model";

/// A model file's contents.
#[derive(Clone, Debug)]
pub struct ModelFile {
    pub config: VidtConfig,
    /// Class names, index = label id.
    pub classes: Vec<String>,
    /// Tensors by official key, upcast to f32.
    pub weights: TensorMap,
    /// Element type the file stores.
    pub dtype: Dtype,
    /// Shorter image side the model was trained for, when the file says.
    pub input_size: Option<usize>,
    /// Recommended score threshold and NMS IoU, when the file says (`score_threshold`,
    /// `nms_iou`).
    pub recommended: Recommendations,
}

/// What a model recommends for display (stored in its model file): a score threshold, and
/// class-wise NMS at this IoU for a model still prone to near-duplicate boxes. Not part of the
/// official post-processing (top-k only), which is what applies when both are absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Recommendations {
    pub threshold: Option<f32>,
    pub nms_iou: Option<f32>,
}

impl Recommendations {
    /// Both values in range (threshold in [0, 1], IoU in (0, 1]), or the one that is not (the
    /// checks and messages of the detect options).
    pub fn check(&self) -> std::result::Result<(), String> {
        use crate::defaults::{check_nms_iou, check_threshold};
        self.threshold
            .map_or(Ok(()), |t| check_threshold(t as f64))?;
        self.nms_iou.map_or(Ok(()), |t| check_nms_iou(t as f64))
    }
}

/// True when `bytes` starts with the model file magic.
pub fn is_model_file(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

fn bad(name: &str, reason: impl Into<String>) -> VidtError {
    VidtError::Checkpoint {
        path: name.to_string(),
        reason: reason.into(),
    }
}

/// The keys (and shapes) a model file of `config` holds: the parameters inference uses.
pub fn stored_entries(config: &VidtConfig) -> Vec<(String, Vec<usize>)> {
    crate::official::table(config)
        .into_iter()
        .filter(|e| e.is_param())
        .map(|e| (e.key, e.shape))
        .collect()
}

/// Serializes a model. `weights` holds at least the parameters of `config` (a full checkpoint
/// is fine: what `config` does not use, including decoder layers past `config.dec_layers`, is
/// left out). Errors name a missing key, a wrong shape, a class count that does not match, or
/// a value that float16 cannot hold.
pub fn write_model_file(
    weights: &TensorMap,
    config: &VidtConfig,
    classes: &[String],
    dtype: Dtype,
    input_size: Option<usize>,
    recommended: Recommendations,
) -> Result<Vec<u8>> {
    recommended.check().map_err(|reason| VidtError::Input {
        name: "post-processing".into(),
        reason,
    })?;
    if classes.len() != config.num_classes {
        return Err(VidtError::Input {
            name: "classes".into(),
            reason: format!(
                "{} class names for a model with {} classes",
                classes.len(),
                config.num_classes
            ),
        });
    }
    let entries = stored_entries(config);
    let quantized = q8::quantized_in(dtype, config);
    let mut stored: Vec<Encoded> = Vec::with_capacity(entries.len());
    for (key, shape) in &entries {
        let t = weights.get(key, shape)?;
        let quantize = quantized.contains_key(key);
        if let Some((i, v)) = t
            .data
            .iter()
            .enumerate()
            .find(|(_, v)| !quantize && dtype.overflows(**v))
        {
            return Err(VidtError::BadTensor {
                key: key.clone(),
                reason: format!("value {v} at index {i} overflows {dtype:?}"),
            });
        }
        if t.data.iter().any(|v| !v.is_finite()) {
            return Err(VidtError::BadTensor {
                key: key.clone(),
                reason: "holds NaN or infinite values".into(),
            });
        }
        if quantize {
            stored.extend(q8::encode(key, t));
        } else {
            stored.push(encoded(key, t, dtype));
        }
    }
    let mut meta: std::collections::HashMap<String, String> = [
        ("format".to_string(), FORMAT.to_string()),
        (
            "config".to_string(),
            serde_json::to_string(config).expect("serializable"),
        ),
        (
            "classes".to_string(),
            serde_json::to_string(classes).expect("serializable"),
        ),
        ("dtype".to_string(), dtype.name().to_string()),
    ]
    .into_iter()
    .collect();
    if let Some(n) = input_size {
        meta.insert("input_size".into(), n.to_string());
    }
    if let Some(t) = recommended.threshold {
        meta.insert("score_threshold".into(), t.to_string());
    }
    if let Some(t) = recommended.nms_iou {
        meta.insert("nms_iou".into(), t.to_string());
    }
    let payload = serialize_encoded(&stored, Some(meta))?;
    let version = if dtype == Dtype::Q8 {
        VERSION_Q8
    } else {
        VERSION
    };
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Parses and checks a model file; `name` (a path or URL) is used in errors.
pub fn read_model_file(bytes: &[u8], name: &str) -> Result<ModelFile> {
    if bytes.len() < HEADER_LEN {
        return Err(bad(
            name,
            format!(
                "model file is {} bytes, shorter than its {HEADER_LEN}-byte header (truncated?)",
                bytes.len()
            ),
        ));
    }
    if !is_model_file(bytes) {
        return Err(bad(
            name,
            "not a vidt model file (magic `VIDTMODL` missing); `vidt export` writes one",
        ));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != VERSION && version != VERSION_Q8 {
        return Err(bad(
            name,
            format!(
                "model file format version {version}; this build of vidt reads versions \
                 {VERSION} (f32, f16, bf16) and {VERSION_Q8} (q8)"
            ),
        ));
    }
    let crc = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes"));
    let len = u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes"));
    let have = (bytes.len() - HEADER_LEN) as u64;
    if len != have {
        return Err(bad(
            name,
            format!(
                "the header announces {len} payload bytes, the file has {have} ({})",
                if have < len {
                    "truncated download or copy?"
                } else {
                    "trailing bytes"
                }
            ),
        ));
    }
    let payload = &bytes[HEADER_LEN..];
    let actual = crc32fast::hash(payload);
    if actual != crc {
        return Err(bad(
            name,
            format!(
                "checksum mismatch (stored {crc:08x}, computed {actual:08x}): the file is corrupted"
            ),
        ));
    }
    // From here on the bytes are the ones `vidt export` wrote; the checks below catch files
    // written by a buggy or foreign writer.
    let (_, meta) = SafeTensors::read_metadata(payload)
        .map_err(|e| bad(name, format!("payload is not valid safetensors: {e}")))?;
    let meta = meta.metadata().clone().unwrap_or_default();
    let field = |k: &str| {
        meta.get(k)
            .ok_or_else(|| bad(name, format!("metadata has no `{k}`")))
    };
    if field("format")? != FORMAT {
        return Err(bad(
            name,
            format!("metadata format is `{}`, not `{FORMAT}`", field("format")?),
        ));
    }
    let config: VidtConfig = serde_json::from_str(field("config")?).map_err(|e| {
        bad(
            name,
            format!("metadata `config` is not a configuration: {e}"),
        )
    })?;
    let classes: Vec<String> = serde_json::from_str(field("classes")?).map_err(|e| {
        bad(
            name,
            format!("metadata `classes` is not a list of names: {e}"),
        )
    })?;
    let dtype: Dtype = field("dtype")?
        .parse()
        .map_err(|e| bad(name, format!("metadata: {e}")))?;
    if (dtype == Dtype::Q8) != (version == VERSION_Q8) {
        return Err(bad(
            name,
            format!("a version {version} file says its dtype is {dtype}"),
        ));
    }
    check_config(&config, classes.len()).map_err(|r| bad(name, r))?;
    let input_size = match meta.get("input_size") {
        None => None,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (crate::model::MIN_SIDE..=4096).contains(&n) => Some(n),
            _ => {
                return Err(bad(
                    name,
                    format!("metadata input_size `{v}` is not a size"),
                ));
            }
        },
    };
    let number = |key: &str| -> Result<Option<f32>> {
        match meta.get(key) {
            None => Ok(None),
            Some(v) => v
                .parse::<f32>()
                .map(Some)
                .map_err(|_| bad(name, format!("metadata {key} `{v}` is not a number"))),
        }
    };
    let recommended = Recommendations {
        threshold: number("score_threshold")?,
        nms_iou: number("nms_iou")?,
    };
    recommended
        .check()
        .map_err(|r| bad(name, format!("metadata: {r}")))?;
    let weights = q8::dequantize(&parse(payload, name)?, &config, dtype, name)?;
    let expected: BTreeMap<String, Vec<usize>> = stored_entries(&config).into_iter().collect();
    for (key, t) in weights.iter() {
        match expected.get(key) {
            None => {
                return Err(bad(
                    name,
                    format!("tensor `{key}` is not part of the configured model"),
                ));
            }
            Some(shape) if *shape != t.shape => {
                return Err(VidtError::ShapeMismatch {
                    key: key.to_string(),
                    found: t.shape.clone(),
                    expected: shape.clone(),
                    hint: String::new(),
                });
            }
            _ => {}
        }
    }
    for (key, shape) in &expected {
        weights.get(key, shape)?;
    }
    Ok(ModelFile {
        config,
        classes,
        weights,
        dtype,
        input_size,
        recommended,
    })
}

/// Bounds that keep a (checksummed but hand-made) configuration from asking for absurd memory
/// or dividing by zero.
fn check_config(c: &VidtConfig, classes: usize) -> std::result::Result<(), String> {
    let s = &c.swin;
    let ok = s.embed_dim > 0
        && s.embed_dim <= 1024
        && s.depths.len() == 4
        && s.num_heads.len() == 4
        && s.depths.iter().all(|&d| (1..=64).contains(&d))
        && s.num_heads.iter().all(|&h| h > 0 && h <= 64)
        && (0..4).all(|i| s.stage_dim(i) % s.num_heads[i] == 0)
        && (1..=32).contains(&s.window_size)
        && (1..=2048).contains(&c.det_tokens)
        && (1..=4096).contains(&c.d_model)
        && c.dec_layers <= 64
        && (1..=64).contains(&c.dec_heads)
        && c.d_model % c.dec_heads == 0
        && (1..=64).contains(&c.dec_points)
        && (1..=65536).contains(&c.dim_feedforward)
        && (1..=100_000).contains(&c.num_classes);
    if !ok {
        return Err(format!("metadata `config` is out of range: {c:?}"));
    }
    if classes != c.num_classes {
        return Err(format!(
            "{classes} class names for {} classes",
            c.num_classes
        ));
    }
    Ok(())
}
