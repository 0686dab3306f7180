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

fn write(
    path: &Path,
    tensors: &BTreeMap<String, WeightTensor>,
    as_u8: &[&str],
    dtype: StoreDtype,
) -> Result<()> {
    let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (k, t) in tensors {
        let (dt, bytes): (Dtype, Vec<u8>) = if as_u8.contains(&k.as_str()) {
            (Dtype::U8, t.data.iter().map(|&v| v as u8).collect())
        } else {
            match dtype {
                StoreDtype::F32 => (
                    Dtype::F32,
                    t.data.iter().flat_map(|v| v.to_le_bytes()).collect(),
                ),
                StoreDtype::F16 => (
                    Dtype::F16,
                    t.data
                        .iter()
                        .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                        .collect(),
                ),
                StoreDtype::BF16 => (
                    Dtype::BF16,
                    t.data
                        .iter()
                        .flat_map(|&v| half::bf16::from_f32(v).to_le_bytes())
                        .collect(),
                ),
            }
        };
        owned.push((k.clone(), dt, t.shape.clone(), bytes));
    }
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = owned
        .iter()
        .map(|(k, dt, shape, bytes)| {
            (
                k.clone(),
                safetensors::tensor::TensorView::new(*dt, shape.clone(), bytes)
                    .expect("consistent view"),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).map_err(|e| VidtError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}
