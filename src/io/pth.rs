//! `.pth` reading through `pytorch-reader` (no PyTorch, no Python).

use std::path::Path;

use pytorch_reader::{DType, PytorchReader};

use super::elements::{Element, decode_le};
use crate::error::{Result, VidtError};
use crate::tensor_map::{HostTensor, TensorMap};

pub(super) fn read_pth(path: &Path) -> Result<TensorMap> {
    let bad = |reason: String| VidtError::Checkpoint {
        path: path.display().to_string(),
        reason,
    };
    // Official checkpoints wrap the state dict as {"model": ...}; accept a bare state dict too.
    let reader = match PytorchReader::with_top_level_key(path, "model") {
        Ok(r) => r,
        Err(first) => PytorchReader::new(path).map_err(|_| bad(first.to_string()))?,
    };
    let mut map = TensorMap::new();
    for (key, t) in reader.into_tensors() {
        let bytes = t.read().map_err(|e| VidtError::BadTensor {
            key: key.clone(),
            reason: format!("cannot read its data ({e}); is the file truncated?"),
        })?;
        let bad_tensor = |reason: String| VidtError::BadTensor {
            key: key.clone(),
            reason,
        };
        let e = element(t.dtype())
            .ok_or_else(|| bad_tensor(format!("unsupported element type {:?}", t.dtype())))?;
        let numel = t.shape().iter().product();
        let data = decode_le(e, &bytes, numel).map_err(bad_tensor)?;
        map.insert(key, HostTensor::new(t.shape().to_vec(), data));
    }
    if map.is_empty() {
        return Err(bad("it holds no tensors".into()));
    }
    Ok(map)
}

/// The shared decoder's name for a `.pth` element type, if we read it.
fn element(dtype: DType) -> Option<Element> {
    Some(match dtype {
        DType::F32 => Element::F32,
        DType::F64 => Element::F64,
        DType::F16 => Element::F16,
        DType::BF16 => Element::BF16,
        DType::I64 => Element::I64,
        DType::I32 => Element::I32,
        DType::U8 | DType::Bool => Element::U8,
        _ => return None,
    })
}
