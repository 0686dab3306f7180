//! q8 model files (`vidt export --dtype q8`): the weights of every linear layer, 1x1 projection
//! and the patch embedding as int8 with one f32 scale per output channel (symmetric: `w ≈ q *
//! scale`, `q` in -127..=127, the scale `max |w| / 127` of its row); everything else (norms,
//! biases, embeddings, relative-position tables, ViDT+'s heads) as f16. Dequantized to f32 on
//! load: burn's quantized tensors dequantize before they compute too, so int8 buys download
//! size and nothing else.
//!
//! In the payload a quantized weight is an `I8` tensor under its official key with its official
//! shape, and its scales an `F32` tensor `[out]` under the key plus [`SCALE`] (a colon, which no
//! official key holds).

use std::collections::BTreeMap;

use safetensors::{Dtype, SafeTensors};

use super::safetensors::{Encoded, tensors_of};
use crate::config::VidtConfig;
use crate::error::{Result, VidtError};
use crate::official::{Layout, keys::PATCH_EMBED_PROJ};
use crate::tensor_map::{Dtype as StoreDtype, HostTensor, TensorMap};

/// Suffix of a quantized weight's scale tensor.
pub const SCALE: &str = ":scale";

/// ViDT+'s heads (token labeling, UQR, IoU-aware) stay f16: small layers whose outputs feed
/// the ranking and the masks directly.
const PLUS_HEADS: [&str; 4] = [
    "transformer.enc_output.",
    "transformer.token_embed.",
    "vector_embed.",
    "iou_embed.",
];

/// The official keys a q8 file of `config` stores as int8, with their shapes.
pub fn quantized(config: &VidtConfig) -> BTreeMap<String, Vec<usize>> {
    let linear = |l: &Layout| {
        matches!(
            l,
            Layout::Transposed
                | Layout::Conv1x1
                | Layout::Rows {
                    transposed: true,
                    ..
                }
        )
    };
    let patch = format!("{PATCH_EMBED_PROJ}.weight");
    crate::official::table(config)
        .into_iter()
        .filter(|e| e.is_param())
        .filter(|e| e.key == patch || e.targets.iter().any(|t| linear(&t.layout)))
        .filter(|e| !PLUS_HEADS.iter().any(|p| e.key.starts_with(p)))
        .map(|e| (e.key, e.shape))
        .collect()
}

/// Symmetric int8 of `t` with one scale per output channel (dim 0).
pub fn quantize(t: &HostTensor) -> (Vec<i8>, Vec<f32>) {
    let rows = t.shape[0];
    let cols = t.numel() / rows.max(1);
    let mut q = Vec::with_capacity(t.numel());
    let mut scales = Vec::with_capacity(rows);
    for row in t.data.chunks(cols.max(1)) {
        let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let scale = max / 127.0;
        scales.push(scale);
        q.extend(row.iter().map(|&v| {
            if scale > 0.0 {
                (v / scale).round().clamp(-127.0, 127.0) as i8
            } else {
                0
            }
        }));
    }
    (q, scales)
}

/// `t` (under `key`) as its two stored tensors: the int8 values and their scales.
pub(super) fn encode(key: &str, t: &HostTensor) -> [Encoded; 2] {
    let (q, scales) = quantize(t);
    [
        (
            key.to_string(),
            Dtype::I8,
            t.shape.clone(),
            q.iter().map(|&v| v as u8).collect(),
        ),
        (
            format!("{key}{SCALE}"),
            Dtype::F32,
            vec![t.shape[0]],
            scales.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ),
    ]
}

/// What a model file of `dtype` stores as int8: [`quantized`] for q8, nothing otherwise.
pub(super) fn quantized_in(dtype: StoreDtype, config: &VidtConfig) -> BTreeMap<String, Vec<usize>> {
    match dtype {
        StoreDtype::Q8 => quantized(config),
        _ => BTreeMap::new(),
    }
}

/// The tensors of a model file's payload `st` (a file of `dtype`), with the quantized ones
/// scaled back and their scales gone. In a file other than q8 an int8 tensor or a scale is an
/// error, as is a q8 file's weight that is not int8 where the format says it is, or a scale of
/// the wrong shape.
pub(super) fn dequantize(
    st: &SafeTensors<'_>,
    config: &VidtConfig,
    dtype: StoreDtype,
    name: &str,
) -> Result<TensorMap> {
    let bad = |reason: String| VidtError::Checkpoint {
        path: name.to_string(),
        reason,
    };
    let float = |d: &Dtype| matches!(d, Dtype::F32 | Dtype::F16 | Dtype::BF16);
    let mut weights = tensors_of(st)?;
    let quantized = quantized_in(dtype, config);
    // By key, so that of several bad tensors the message always names the same one.
    let stored: BTreeMap<String, Dtype> = st
        .tensors()
        .into_iter()
        .map(|(k, v)| (k, v.dtype()))
        .collect();
    for (key, stored) in &stored {
        let is_scale = key
            .strip_suffix(SCALE)
            .is_some_and(|k| quantized.contains_key(k));
        let want_int8 = quantized.contains_key(key);
        let ok = if want_int8 {
            *stored == Dtype::I8
        } else if is_scale {
            *stored == Dtype::F32
        } else {
            float(stored)
        };
        if !ok {
            let want = if want_int8 {
                "I8 (a q8 file's linear weight)"
            } else if is_scale {
                "F32 (a q8 scale)"
            } else if dtype == StoreDtype::Q8 {
                "a float type (a q8 file quantizes only linear weights)"
            } else {
                "a float type"
            };
            return Err(bad(format!(
                "tensor `{key}` is stored as {stored:?}, not {want}"
            )));
        }
    }
    for (key, shape) in &quantized {
        let scale_key = format!("{key}{SCALE}");
        let scales = weights.remove(&scale_key).ok_or_else(|| {
            bad(format!(
                "q8 weight `{key}` has no scales (`{scale_key}` is missing)"
            ))
        })?;
        if scales.shape != [shape[0]] {
            return Err(VidtError::ShapeMismatch {
                key: scale_key,
                found: scales.shape,
                expected: vec![shape[0]],
                hint: String::new(),
            });
        }
        if let Some(mut t) = weights.remove(key) {
            let cols = t.numel() / shape[0].max(1);
            for (row, s) in t.data.chunks_mut(cols.max(1)).zip(&scales.data) {
                row.iter_mut().for_each(|v| *v *= s);
            }
            weights.insert(key.clone(), t);
        }
    }
    Ok(weights)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_scale_by_their_largest_magnitude() {
        let t = HostTensor::new(vec![3, 2], vec![0.5, -1.27, 0.0, 0.0, 2.54, 1.0]);
        let (q, s) = quantize(&t);
        assert_eq!(q, [50, -127, 0, 0, 127, 50]);
        assert_eq!(s, [0.01, 0.0, 0.02]);
    }

    #[test]
    fn nano_quantizes_its_linear_layers_and_the_patch_embedding_only() {
        let plain = VidtConfig::preset("nano").unwrap();
        let q = quantized(&plain);
        for key in [
            "backbone.patch_embed.proj.weight",
            "backbone.layers.0.blocks.0.attn.qkv.weight",
            "backbone.layers.0.downsample.reduction.weight",
            "transformer.decoder.layers.0.self_attn.in_proj_weight",
            "input_proj.0.0.weight",
            "class_embed.0.weight",
        ] {
            assert!(q.contains_key(key), "{key}");
        }
        for key in [
            "backbone.layers.0.blocks.0.attn.relative_position_bias_table",
            "backbone.layers.0.blocks.0.norm1.weight",
            "backbone.det_token",
            "class_embed.0.bias",
        ] {
            assert!(!q.contains_key(key), "{key}");
        }
        let plus = quantized(&plain.clone().plus());
        assert!(
            plus.keys()
                .all(|k| !PLUS_HEADS.iter().any(|p| k.starts_with(p)))
        );
        assert!(plus.len() > q.len() / 2);
    }
}
