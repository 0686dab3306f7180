//! `.pth` reading, no PyTorch, no Python: a file through `pytorch-reader` (every PyTorch
//! container, legacy ones included), bytes in memory (the browser; PyTorch 1.6+'s zip) through
//! the `zip` crate and our [`super::pickle`] machine. The native tests hold the two readers to
//! bitwise-equal tensors on the fixture checkpoint.

use std::path::Path;

#[cfg(not(target_arch = "wasm32"))]
use pytorch_reader::{DType, PytorchReader};

#[cfg(not(target_arch = "wasm32"))]
use super::elements::Element;
use super::elements::decode_le;
use super::pickle::{TensorRef, Value, unpickle};
use crate::error::{Result, VidtError};
use crate::tensor_map::{HostTensor, TensorMap};

#[cfg(not(target_arch = "wasm32"))]
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
#[cfg(not(target_arch = "wasm32"))]
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

/// The browser has no files (`from_file` fails at the read); where it has bytes, they are read
/// in memory.
#[cfg(target_arch = "wasm32")]
pub(super) fn read_pth(path: &Path) -> Result<TensorMap> {
    let bytes = std::fs::read(path).map_err(|e| super::io_error(path, e))?;
    read_pth_bytes(&bytes, &path.display().to_string())
}

/// A PyTorch 1.6+ checkpoint (a zip) held in memory; `name` (a URL, "model bytes") is used in
/// errors. As the file reader: the `model` entry's tensors when there is one, else every tensor,
/// keyed by their path in the pickle.
pub(super) fn read_pth_bytes(bytes: &[u8], name: &str) -> Result<TensorMap> {
    let bad = |reason: String| VidtError::Checkpoint {
        path: name.to_string(),
        reason,
    };
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| {
        bad(format!(
            "a PyTorch zip whose directory cannot be read ({e}); is the file truncated?"
        ))
    })?;
    // torch.save puts every entry under one folder named after the file: the one with data.pkl.
    let names: Vec<String> = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .collect();
    let root = names
        .iter()
        .filter_map(|n| n.strip_suffix("data.pkl"))
        .filter(|r| r.is_empty() || r.ends_with('/'))
        .min_by_key(|r| r.len())
        .map(str::to_string)
        .ok_or_else(|| bad("no data.pkl in the zip: not a PyTorch checkpoint".into()))?;
    let mut entry = |entry: &str| -> std::result::Result<Vec<u8>, String> {
        use std::io::Read;
        let mut f = zip
            .by_name(&format!("{root}{entry}"))
            .map_err(|e| e.to_string())?;
        let mut out = Vec::with_capacity(f.size() as usize);
        f.read_to_end(&mut out).map_err(|e| e.to_string())?;
        Ok(out)
    };
    let pickle = entry("data.pkl").map_err(|e| bad(format!("cannot read data.pkl: {e}")))?;
    let root_value = unpickle(&pickle).map_err(|e| bad(format!("data.pkl: {e}")))?;
    // Official checkpoints wrap the state dict as {"model": ...}; a bare state dict works too.
    let top = match root_value {
        Value::Dict(d) => match d.iter().position(|(k, _)| *k == Value::Str("model".into())) {
            Some(i) if matches!(d[i].1, Value::Dict(_)) => d.into_iter().nth(i).expect("i").1,
            _ => Value::Dict(d),
        },
        _ => return Err(bad("its pickle does not hold a dict".into())),
    };
    let mut refs = Vec::new();
    walk(top, &mut Vec::new(), &mut refs);
    let mut storages: std::collections::HashMap<String, Vec<u8>> = Default::default();
    let mut map = TensorMap::new();
    for (key, t) in refs {
        let bad_tensor = |reason: String| VidtError::BadTensor {
            key: key.clone(),
            reason,
        };
        if !storages.contains_key(&t.key) {
            let data = entry(&format!("data/{}", t.key)).map_err(|e| {
                bad_tensor(format!(
                    "cannot read its data ({e}); is the file truncated?"
                ))
            })?;
            storages.insert(t.key.clone(), data);
        }
        let bytes = gather(&t, &storages[&t.key]).map_err(bad_tensor)?;
        let numel = t.shape.iter().product();
        let data = decode_le(t.element, &bytes, numel).map_err(bad_tensor)?;
        map.insert(key, HostTensor::new(t.shape, data));
    }
    if map.is_empty() {
        return Err(bad("it holds no tensors".into()));
    }
    Ok(map)
}

/// Tensors by their dotted path (dict keys, list indices), as pytorch-reader names them.
fn walk(v: Value, path: &mut Vec<String>, out: &mut Vec<(String, TensorRef)>) {
    let mut visit = |seg: String, v: Value, out: &mut Vec<(String, TensorRef)>| {
        path.push(seg);
        walk(v, path, out);
        path.pop();
    };
    match v {
        Value::Dict(d) => {
            for (k, v) in d {
                let seg = match k {
                    Value::Str(s) => s,
                    Value::Int(i) => i.to_string(),
                    _ => continue,
                };
                visit(seg, v, out);
            }
        }
        Value::List(l) | Value::Tuple(l) => {
            for (i, v) in l.into_iter().enumerate() {
                visit(i.to_string(), v, out);
            }
        }
        Value::Tensor(t) => out.push((path.join("."), t)),
        _ => {}
    }
}

/// The tensor's elements in row-major order from its storage (a view may be strided).
fn gather(t: &TensorRef, storage: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let es = t.element.size();
    let numel: usize = t.shape.iter().product();
    if t.stride.len() != t.shape.len() {
        return Err(format!(
            "{} strides for {} dimensions",
            t.stride.len(),
            t.shape.len()
        ));
    }
    // The last element it reads must lie in the storage.
    let last = t.offset
        + t.shape
            .iter()
            .zip(&t.stride)
            .map(|(n, s)| n.saturating_sub(1) * s)
            .sum::<usize>();
    if numel > 0 && (last + 1) * es > storage.len() {
        return Err(format!(
            "its storage has {} bytes; it reads up to byte {} (is the file truncated?)",
            storage.len(),
            (last + 1) * es
        ));
    }
    let mut contiguous = vec![0usize; t.shape.len()];
    let mut acc = 1;
    for d in (0..t.shape.len()).rev() {
        contiguous[d] = acc;
        acc *= t.shape[d];
    }
    if numel == 0 || t.stride == contiguous {
        let start = t.offset * es;
        return Ok(storage[start..start + numel * es].to_vec());
    }
    let mut out = Vec::with_capacity(numel * es);
    for i in 0..numel {
        let at = t.offset
            + (0..t.shape.len())
                .map(|d| (i / contiguous[d]) % t.shape[d] * t.stride[d])
                .sum::<usize>();
        out.extend_from_slice(&storage[at * es..(at + 1) * es]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_strided_view_is_gathered_in_row_major_order() {
        // Storage 0..6 (u8) seen as the transpose of a 2x3 matrix, from offset 0.
        let t = |offset, shape: Vec<usize>, stride: Vec<usize>| TensorRef {
            element: Element::U8,
            key: "0".into(),
            offset,
            shape,
            stride,
        };
        let storage = [0u8, 1, 2, 3, 4, 5, 6];
        assert_eq!(
            gather(&t(0, vec![3, 2], vec![1, 3]), &storage).unwrap(),
            [0, 3, 1, 4, 2, 5]
        );
        assert_eq!(
            gather(&t(1, vec![2, 3], vec![3, 1]), &storage).unwrap(),
            [1, 2, 3, 4, 5, 6]
        );
        assert!(
            gather(&t(2, vec![2, 3], vec![3, 1]), &storage)
                .unwrap_err()
                .contains("truncated")
        );
    }
}
