//! safetensors reading (checkpoints with official keys, fixtures) and writing (`vidt forward`).

use std::collections::BTreeMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use super::{WeightMap, WeightTensor};
use crate::error::{Result, VidtError};

pub(super) fn read_safetensors(bytes: &[u8], name: &str) -> Result<WeightMap> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| VidtError::Checkpoint {
        path: name.to_string(),
        reason: format!("not a valid safetensors file: {e}"),
    })?;
    let mut map = WeightMap::new();
    for (key, view) in st.tensors() {
        let b = view.data();
        let data: Vec<f32> = match view.dtype() {
            Dtype::F32 => b
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Dtype::F64 => b
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32)
                .collect(),
            Dtype::F16 => b
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Dtype::BF16 => b
                .chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Dtype::I64 => b
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f32)
                .collect(),
            Dtype::I32 => b
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes(c.try_into().unwrap()) as f32)
                .collect(),
            Dtype::U8 | Dtype::BOOL => b.iter().map(|&v| v as f32).collect(),
            other => {
                return Err(VidtError::BadTensor {
                    key,
                    reason: format!("unsupported element type {other:?}"),
                });
            }
        };
        map.insert(key, WeightTensor::new(view.shape().to_vec(), data));
    }
    Ok(map)
}

/// Element type of floating-point tensors written to a safetensors file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreDtype {
    F32,
    F16,
    BF16,
}

/// Writes f32 tensors (and u8 tensors where `as_u8` names them) to a safetensors file.
pub fn write_safetensors(
    path: &Path,
    tensors: &BTreeMap<String, WeightTensor>,
    as_u8: &[&str],
) -> Result<()> {
    write(path, tensors, as_u8, StoreDtype::F32)
}

/// Writes every tensor in `dtype`.
pub fn write_safetensors_as(
    path: &Path,
    tensors: &BTreeMap<String, WeightTensor>,
    dtype: StoreDtype,
) -> Result<()> {
    write(path, tensors, &[], dtype)
}

/// f32 tensors as safetensors bytes (the browser's `forward` output).
pub fn safetensors_bytes(tensors: &BTreeMap<String, WeightTensor>) -> Result<Vec<u8>> {
    serialize(
        tensors.iter().map(|(k, t)| (k.as_str(), t)),
        &[],
        StoreDtype::F32,
        None,
    )
}

fn write(
    path: &Path,
    tensors: &BTreeMap<String, WeightTensor>,
    as_u8: &[&str],
    dtype: StoreDtype,
) -> Result<()> {
    let bytes = serialize(
        tensors.iter().map(|(k, t)| (k.as_str(), t)),
        as_u8,
        dtype,
        None,
    )?;
    std::fs::write(path, bytes).map_err(|e| VidtError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Little-endian bytes of `data` in `dtype`.
fn encode(data: &[f32], dtype: StoreDtype) -> (Dtype, Vec<u8>) {
    match dtype {
        StoreDtype::F32 => (
            Dtype::F32,
            data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ),
        StoreDtype::F16 => (
            Dtype::F16,
            data.iter()
                .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                .collect(),
        ),
        StoreDtype::BF16 => (
            Dtype::BF16,
            data.iter()
                .flat_map(|&v| half::bf16::from_f32(v).to_le_bytes())
                .collect(),
        ),
    }
}

/// True when the finite `v` becomes infinite in `dtype`.
pub(super) fn overflows(v: f32, dtype: StoreDtype) -> bool {
    v.is_finite()
        && match dtype {
            StoreDtype::F32 => false,
            StoreDtype::F16 => half::f16::from_f32(v).is_infinite(),
            StoreDtype::BF16 => half::bf16::from_f32(v).is_infinite(),
        }
}

/// A safetensors file in memory: every tensor in `dtype` (those named in `as_u8` as u8), with
/// optional `__metadata__`.
pub(super) fn serialize<'a>(
    tensors: impl IntoIterator<Item = (&'a str, &'a WeightTensor)>,
    as_u8: &[&str],
    dtype: StoreDtype,
    metadata: Option<std::collections::HashMap<String, String>>,
) -> Result<Vec<u8>> {
    let owned: Vec<(&str, Dtype, &[usize], Vec<u8>)> = tensors
        .into_iter()
        .map(|(k, t)| {
            let (dt, bytes) = if as_u8.contains(&k) {
                (Dtype::U8, t.data.iter().map(|&v| v as u8).collect())
            } else {
                encode(&t.data, dtype)
            };
            (k, dt, t.shape.as_slice(), bytes)
        })
        .collect();
    let views: Vec<(&str, safetensors::tensor::TensorView<'_>)> = owned
        .iter()
        .map(|(k, dt, shape, bytes)| {
            (
                *k,
                safetensors::tensor::TensorView::new(*dt, shape.to_vec(), bytes)
                    .expect("consistent view"),
            )
        })
        .collect();
    safetensors::serialize(views, metadata).map_err(|e| VidtError::Input {
        name: "safetensors".into(),
        reason: format!("cannot serialize: {e}"),
    })
}
