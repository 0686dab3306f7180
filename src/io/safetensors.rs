//! safetensors reading (checkpoints with official keys, fixtures, forward inputs) and writing
//! (checkpoints, `vidt forward`, the model file's payload).

use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use super::elements::{Element, decode_le};
use crate::error::{Result, VidtError};
use crate::tensor_map::{Dtype as StoreDtype, HostTensor, TensorMap};

pub(super) fn read_safetensors(bytes: &[u8], name: &str) -> Result<TensorMap> {
    tensors_of(&parse(bytes, name)?)
}

/// `bytes` as safetensors (`name`, a path or URL, is used in errors).
pub(super) fn parse<'a>(bytes: &'a [u8], name: &str) -> Result<SafeTensors<'a>> {
    SafeTensors::deserialize(bytes).map_err(|e| VidtError::Checkpoint {
        path: name.to_string(),
        reason: format!("not a valid safetensors file: {e}"),
    })
}

/// Every tensor of `st`, upcast to f32.
pub(super) fn tensors_of(st: &SafeTensors<'_>) -> Result<TensorMap> {
    let mut map = TensorMap::new();
    for (key, view) in st.tensors() {
        let e = match view.dtype() {
            Dtype::F32 => Element::F32,
            Dtype::F64 => Element::F64,
            Dtype::F16 => Element::F16,
            Dtype::BF16 => Element::BF16,
            Dtype::I64 => Element::I64,
            Dtype::I32 => Element::I32,
            Dtype::U8 | Dtype::BOOL => Element::U8,
            Dtype::I8 => Element::I8,
            other => {
                return Err(VidtError::BadTensor {
                    key,
                    reason: format!("unsupported element type {other:?}"),
                });
            }
        };
        let numel = view.shape().iter().product();
        let data = match decode_le(e, view.data(), numel) {
            Ok(data) => data,
            Err(reason) => return Err(VidtError::BadTensor { key, reason }),
        };
        map.insert(key, HostTensor::new(view.shape().to_vec(), data));
    }
    Ok(map)
}

/// Writes every tensor of `tensors` to a safetensors file in `dtype`, atomically (a temporary
/// file beside it, renamed into place: an interrupted write leaves no half file).
pub fn write_safetensors(path: &Path, tensors: &TensorMap, dtype: StoreDtype) -> Result<()> {
    super::write_atomic(path, &safetensors_bytes(tensors, dtype)?)
}

/// `tensors` as safetensors bytes in `dtype` (the browser's `forward` output is f32).
pub fn safetensors_bytes(tensors: &TensorMap, dtype: StoreDtype) -> Result<Vec<u8>> {
    serialize(tensors.iter(), dtype, None)
}

/// Little-endian bytes of `data` in `dtype`.
fn encode(data: &[f32], dtype: StoreDtype) -> (Dtype, Vec<u8>) {
    match dtype {
        StoreDtype::F32 => (
            Dtype::F32,
            data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ),
        // A q8 file keeps what it does not quantize in f16 (`super::q8` writes the rest).
        StoreDtype::F16 | StoreDtype::Q8 => (
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

/// A tensor as a file stores it: key, element type, shape, little-endian bytes.
pub(super) type Encoded = (String, Dtype, Vec<usize>, Vec<u8>);

/// `t` under `key` in `dtype`.
pub(super) fn encoded(key: &str, t: &HostTensor, dtype: StoreDtype) -> Encoded {
    let (dt, bytes) = encode(&t.data, dtype);
    (key.to_string(), dt, t.shape.clone(), bytes)
}

/// A safetensors file in memory: every tensor in `dtype`, with optional `__metadata__`.
pub(super) fn serialize<'a>(
    tensors: impl IntoIterator<Item = (&'a str, &'a HostTensor)>,
    dtype: StoreDtype,
    metadata: Option<std::collections::HashMap<String, String>>,
) -> Result<Vec<u8>> {
    let owned: Vec<Encoded> = tensors
        .into_iter()
        .map(|(k, t)| encoded(k, t, dtype))
        .collect();
    serialize_encoded(&owned, metadata)
}

/// A safetensors file in memory of tensors already encoded.
pub(super) fn serialize_encoded(
    owned: &[Encoded],
    metadata: Option<std::collections::HashMap<String, String>>,
) -> Result<Vec<u8>> {
    let views: Vec<(&str, safetensors::tensor::TensorView<'_>)> = owned
        .iter()
        .map(|(k, dt, shape, bytes)| {
            (
                k.as_str(),
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
