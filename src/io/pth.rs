//! `.pth` reading through `pytorch-reader` (no PyTorch, no Python).

use std::path::Path;

use pytorch_reader::{DType, PytorchReader};

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
        let data = decode(t.dtype(), &bytes).ok_or_else(|| VidtError::BadTensor {
            key: key.clone(),
            reason: format!("unsupported element type {:?}", t.dtype()),
        })?;
        map.insert(key, HostTensor::new(t.shape().to_vec(), data));
    }
    if map.is_empty() {
        return Err(bad("it holds no tensors".into()));
    }
    Ok(map)
}

fn decode(dtype: DType, b: &[u8]) -> Option<Vec<f32>> {
    Some(match dtype {
        DType::F32 => b
            .chunks_exact(4)
            .map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        DType::F64 => b
            .chunks_exact(8)
            .map(|c| f64::from_ne_bytes(c.try_into().unwrap()) as f32)
            .collect(),
        DType::F16 => b
            .chunks_exact(2)
            .map(|c| half::f16::from_ne_bytes([c[0], c[1]]).to_f32())
            .collect(),
        DType::BF16 => b
            .chunks_exact(2)
            .map(|c| half::bf16::from_ne_bytes([c[0], c[1]]).to_f32())
            .collect(),
        // Integer buffers (relative_position_index) are read for completeness and ignored.
        DType::I64 => b
            .chunks_exact(8)
            .map(|c| i64::from_ne_bytes(c.try_into().unwrap()) as f32)
            .collect(),
        DType::I32 => b
            .chunks_exact(4)
            .map(|c| i32::from_ne_bytes(c.try_into().unwrap()) as f32)
            .collect(),
        DType::U8 | DType::Bool => b.iter().map(|&v| v as f32).collect(),
        _ => return None,
    })
}
