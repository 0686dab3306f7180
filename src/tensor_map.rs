//! Tensors on the host, by name: what every file the crate reads or writes holds (checkpoints
//! under the official keys, forward inputs and outputs, Adam moments, fixtures), and the one
//! element-type enum those files are stored in. The file formats themselves are in [`crate::io`].

use std::collections::BTreeMap;

use burn::tensor::{Tensor, TensorData, backend::Backend};

use crate::error::{Result, VidtError};

/// One tensor on the host, as f32 (whatever it was stored as), row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl HostTensor {
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Self { shape, data }
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn to_tensor<B: Backend, const D: usize>(&self, device: &B::Device) -> Tensor<B, D> {
        Tensor::from_data(
            TensorData::new(self.data.clone(), self.shape.clone()),
            device,
        )
    }

    /// Reads a device tensor back (blocking).
    pub fn from_tensor<B: Backend, const D: usize>(t: Tensor<B, D>) -> Result<Self> {
        let shape = t.dims().to_vec();
        Ok(Self::new(shape, read(t)?))
    }
}

/// Reads a tensor back to the host as f32 (blocking; the browser uses `into_data_async` and
/// [`data_to_f32`]).
pub fn read<B: Backend, const D: usize>(t: Tensor<B, D>) -> Result<Vec<f32>> {
    data_to_f32(t.into_data())
}

/// Read-back data as f32 (an f16 model's outputs widened on the host: half the bytes read).
pub fn data_to_f32(data: TensorData) -> Result<Vec<f32>> {
    let data = match data.dtype {
        burn::tensor::DType::F16 | burn::tensor::DType::BF16 => data.convert::<f32>(),
        _ => data,
    };
    data.to_vec::<f32>()
        .map_err(|e| VidtError::Unsupported(format!("cannot read tensor back: {e:?}")))
}

/// Named host tensors (a checkpoint's by official state_dict key, a forward's by output name).
#[derive(Clone, Debug, Default)]
pub struct TensorMap {
    tensors: BTreeMap<String, HostTensor>,
}

impl TensorMap {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, key: impl Into<String>, t: HostTensor) {
        self.tensors.insert(key.into(), t);
    }

    pub fn remove(&mut self, key: &str) -> Option<HostTensor> {
        self.tensors.remove(key)
    }

    /// Keeps the tensors for which `keep(key, tensor)` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &HostTensor) -> bool) {
        self.tensors.retain(|k, t| keep(k, t));
    }

    pub fn contains(&self, key: &str) -> bool {
        self.tensors.contains_key(key)
    }

    pub fn shape(&self, key: &str) -> Option<&[usize]> {
        self.tensors.get(key).map(|t| t.shape.as_slice())
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(|k| k.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &HostTensor)> {
        self.tensors.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// The tensor at `key`, which must have exactly `expected` shape; the error names the key
    /// and both shapes.
    pub fn get(&self, key: &str, expected: &[usize]) -> Result<&HostTensor> {
        let t = self.tensors.get(key).ok_or_else(|| VidtError::MissingKey {
            key: key.to_string(),
            expected: expected.to_vec(),
        })?;
        if t.shape != expected {
            let hint = if t.shape.len() == expected.len() {
                " (is this checkpoint of another model size than the rest of the file?)".to_string()
            } else {
                String::new()
            };
            return Err(VidtError::ShapeMismatch {
                key: key.to_string(),
                found: t.shape.clone(),
                expected: expected.to_vec(),
                hint,
            });
        }
        Ok(t)
    }

    /// The tensor at `key` whatever its shape, or an error naming the key.
    pub fn require(&self, key: &str) -> Result<&HostTensor> {
        self.tensors.get(key).ok_or_else(|| VidtError::MissingKey {
            key: key.to_string(),
            expected: vec![],
        })
    }
}

impl FromIterator<(String, HostTensor)> for TensorMap {
    fn from_iter<I: IntoIterator<Item = (String, HostTensor)>>(iter: I) -> Self {
        Self {
            tensors: iter.into_iter().collect(),
        }
    }
}

/// Element type of the floating-point tensors of a file (read: any of them, upcast to f32;
/// written: `vidt export --dtype`, checkpoints in f32).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    F32,
    F16,
    BF16,
    /// Model files only (`crate::io::q8`): linear weights as int8 with one f32 scale per output
    /// channel, every other tensor as f16.
    Q8,
}

impl Dtype {
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "f32",
            Dtype::F16 => "f16",
            Dtype::BF16 => "bf16",
            Dtype::Q8 => "q8",
        }
    }

    /// True when the finite `v` becomes infinite in this type (q8: in the f16 it keeps the
    /// unquantized tensors in; a quantized weight never overflows, its scale is f32).
    pub fn overflows(self, v: f32) -> bool {
        v.is_finite()
            && match self {
                Dtype::F32 => false,
                Dtype::F16 | Dtype::Q8 => half::f16::from_f32(v).is_infinite(),
                Dtype::BF16 => half::bf16::from_f32(v).is_infinite(),
            }
    }
}

impl std::fmt::Display for Dtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Dtype {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "f32" => Ok(Dtype::F32),
            "f16" => Ok(Dtype::F16),
            "bf16" => Ok(Dtype::BF16),
            "q8" => Ok(Dtype::Q8),
            other => Err(format!("unknown dtype `{other}` (f32, f16, bf16 or q8)")),
        }
    }
}
