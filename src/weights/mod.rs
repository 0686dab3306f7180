//! Checkpoint import: official `.pth` files (`{"model": state_dict}`) and safetensors files with
//! the same keys, in float32, float16 or bfloat16 (upcast to f32 on load).
//!
//! We keep tensors by their official key and let each module take what it needs with an
//! expected shape, so a bad checkpoint is reported with the key and both shapes.

use std::collections::BTreeMap;
use std::path::Path;

use burn::tensor::{Tensor, TensorData, backend::Backend};

use crate::error::{Result, VidtError};

pub mod model_file;
#[cfg(not(target_arch = "wasm32"))]
mod pth;
/// The browser has no files: `.pth` import is native-only (`vidt export` converts).
#[cfg(target_arch = "wasm32")]
mod pth {
    pub(super) fn read_pth(path: &std::path::Path) -> crate::Result<super::WeightMap> {
        Err(super::pth_in_memory(&path.display().to_string()))
    }
}
mod safetensors_io;

pub use model_file::{ModelFile, read_model_file, write_model_file};
pub use safetensors_io::{StoreDtype, safetensors_bytes, write_safetensors, write_safetensors_as};

/// One tensor of a checkpoint, upcast to f32, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl WeightTensor {
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
}

/// A checkpoint's tensors by official state_dict key.
#[derive(Clone, Debug, Default)]
pub struct WeightMap {
    tensors: BTreeMap<String, WeightTensor>,
}

impl WeightMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a `.pth` (PyTorch zip or legacy pickle), `.safetensors` or `.vidt` model file,
    /// chosen by content.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        match open(path)? {
            FileKind::Pytorch => pth::read_pth(path),
            FileKind::Bytes(b) => Self::from_bytes(&b, &path.display().to_string()),
        }
    }

    /// Parses a `.vidt` model file or safetensors bytes, chosen by content.
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Self> {
        if is_pytorch(bytes) {
            Err(pth_in_memory(name))
        } else if model_file::is_model_file(bytes) {
            Ok(read_model_file(bytes, name)?.weights)
        } else {
            Self::from_safetensors_bytes(bytes, name)
        }
    }

    /// Parses safetensors bytes (usable in the browser, where there is no file system).
    pub fn from_safetensors_bytes(bytes: &[u8], name: &str) -> Result<Self> {
        safetensors_io::read_safetensors(bytes, name)
    }

    pub fn insert(&mut self, key: impl Into<String>, t: WeightTensor) {
        self.tensors.insert(key.into(), t);
    }

    pub fn remove(&mut self, key: &str) -> Option<WeightTensor> {
        self.tensors.remove(key)
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

    pub fn iter(&self) -> impl Iterator<Item = (&str, &WeightTensor)> {
        self.tensors.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// The tensor at `key`, which must have exactly `expected` shape.
    pub fn get(&self, key: &str, expected: &[usize]) -> Result<&WeightTensor> {
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

    /// The tensor at `key` on `device`, checked against `expected`.
    pub fn tensor<B: Backend, const D: usize>(
        &self,
        key: &str,
        expected: [usize; D],
        device: &B::Device,
    ) -> Result<Tensor<B, D>> {
        Ok(self.get(key, &expected)?.to_tensor(device))
    }

    /// The raw `(shape, data)` of `key`, or an error naming it.
    pub fn require(&self, key: &str) -> Result<&WeightTensor> {
        self.tensors.get(key).ok_or_else(|| VidtError::MissingKey {
            key: key.to_string(),
            expected: vec![],
        })
    }
}

/// PyTorch files are zip archives ("PK") or legacy pickles (0x80 protocol byte).
fn is_pytorch(head: &[u8]) -> bool {
    head.starts_with(b"PK") || head.first() == Some(&0x80)
}

/// `.pth` tensors live in a zip read from a file; bytes in memory (the browser) are refused
/// with the way out.
fn pth_in_memory(name: &str) -> VidtError {
    VidtError::Checkpoint {
        path: name.to_string(),
        reason: "a PyTorch checkpoint can only be read from a file by the native build; \
                 convert it first: vidt export --weights FILE.pth --out FILE.vidt"
            .into(),
    }
}

/// What a weights file holds, told by its first bytes.
enum FileKind {
    /// A PyTorch file (read from its path by the `.pth` reader).
    Pytorch,
    /// Anything else, read whole: a `.vidt` model file or safetensors.
    Bytes(Vec<u8>),
}

fn open(path: &Path) -> Result<FileKind> {
    use std::io::Read;
    let io = |e: std::io::Error| VidtError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(io)?;
    if n < 8 {
        return Err(VidtError::Checkpoint {
            path: path.display().to_string(),
            reason: format!("file is only {n} bytes long"),
        });
    }
    if is_pytorch(&head) {
        Ok(FileKind::Pytorch)
    } else {
        std::fs::read(path).map(FileKind::Bytes).map_err(io)
    }
}

/// A model ready to build: tensors, configuration and class names. From a `.vidt` model file
/// all three are stored; from a checkpoint the configuration is inferred from the tensors and
/// the class names are COCO's (91 classes) or `class i`.
#[derive(Clone, Debug)]
pub struct LoadedModel {
    pub weights: WeightMap,
    pub config: crate::config::VidtConfig,
    pub classes: Vec<String>,
    /// Shorter image side the model was trained for (model files may say; else 800 applies).
    pub input_size: Option<usize>,
    /// Display recommendations a model file may carry.
    pub post: crate::postprocess::PostDefaults,
}

impl LoadedModel {
    /// Infers what a checkpoint does not store.
    pub fn from_weights(weights: WeightMap) -> Result<Self> {
        let config = crate::config::VidtConfig::infer(&weights)?;
        let classes = crate::coco::default_class_names(config.num_classes);
        Ok(Self {
            weights,
            config,
            classes,
            input_size: None,
            post: Default::default(),
        })
    }

    /// Model file or safetensors bytes (`name`, a path or URL, is used in errors).
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Self> {
        if is_pytorch(bytes) {
            Err(pth_in_memory(name))
        } else if model_file::is_model_file(bytes) {
            let f = read_model_file(bytes, name)?;
            Ok(Self {
                weights: f.weights,
                config: f.config,
                classes: f.classes,
                input_size: f.input_size,
                post: f.post,
            })
        } else {
            Self::from_weights(WeightMap::from_safetensors_bytes(bytes, name)?)
        }
    }

    /// Any file [`WeightMap::from_file`] reads.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        match open(path)? {
            FileKind::Pytorch => Self::from_weights(pth::read_pth(path)?),
            FileKind::Bytes(b) => Self::from_bytes(&b, &path.display().to_string()),
        }
    }
}
