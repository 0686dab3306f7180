//! Files in and out: official `.pth` checkpoints (`{"model": state_dict}`), safetensors with the
//! same keys (f32, f16 or bf16, upcast to f32 on load), and our web model file (`.vidt`). The
//! kind of a file is told by its content, never by its name.
//!
//! Tensors stay by their official key ([`TensorMap`]); [`crate::official`] maps them onto the
//! model, so a bad checkpoint is reported with the key and both shapes.

use std::path::Path;

use crate::config::VidtConfig;
use crate::error::{Result, VidtError};
use crate::tensor_map::{Dtype, TensorMap};

#[cfg(not(target_arch = "wasm32"))]
pub mod classes;
mod elements;
#[cfg(not(target_arch = "wasm32"))]
pub mod export;
#[cfg(not(target_arch = "wasm32"))]
pub mod fetch;
pub mod model_file;
mod pickle;
mod pth;
pub mod q8;
mod safetensors;

pub use model_file::{ModelFile, Recommendations, read_model_file, write_model_file};
pub use safetensors::{safetensors_bytes, write_safetensors};

impl TensorMap {
    /// Reads a `.pth` (PyTorch zip or legacy pickle), `.safetensors` or `.vidt` model file,
    /// chosen by content.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        match open(path)? {
            FileKind::Pytorch => pth::read_pth(path),
            FileKind::Bytes(b) => Self::from_bytes(&b, &path.display().to_string()),
        }
    }

    /// Parses a `.pth` (PyTorch 1.6+ zip), `.vidt` model file or safetensors bytes, chosen by
    /// content (`name`, a path or URL, is used in errors).
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Self> {
        if bytes.starts_with(b"PK") {
            pth::read_pth_bytes(bytes, name)
        } else if is_pytorch(bytes) {
            Err(legacy_pth_in_memory(name))
        } else if model_file::is_model_file(bytes) {
            Ok(read_model_file(bytes, name)?.weights)
        } else {
            safetensors::read_safetensors(bytes, name)
        }
    }
}

/// PyTorch files are zip archives ("PK") or legacy pickles (0x80 protocol byte).
fn is_pytorch(head: &[u8]) -> bool {
    head.starts_with(b"PK") || head.first() == Some(&0x80)
}

/// A legacy (PyTorch < 1.6) checkpoint in memory: only the native file reader knows those.
fn legacy_pth_in_memory(name: &str) -> VidtError {
    VidtError::Checkpoint {
        path: name.to_string(),
        reason: "a legacy (PyTorch < 1.6) checkpoint can only be read from a file by the native \
                 build; convert it first: vidt export --weights FILE.pth --out FILE.vidt"
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

fn io_error(path: &Path, e: std::io::Error) -> VidtError {
    VidtError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

fn open(path: &Path) -> Result<FileKind> {
    use std::io::Read;
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| io_error(path, e))?;
    if n < 8 {
        return Err(VidtError::Checkpoint {
            path: path.display().to_string(),
            reason: format!("file is only {n} bytes long"),
        });
    }
    if is_pytorch(&head) {
        Ok(FileKind::Pytorch)
    } else {
        std::fs::read(path)
            .map(FileKind::Bytes)
            .map_err(|e| io_error(path, e))
    }
}

/// Writes `bytes` to a temporary file beside `path`, then renames it into place: a process
/// killed at any moment leaves either the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).map_err(|e| io_error(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_error(path, e))
}

/// A model ready to build: tensors, configuration and class names. From a `.vidt` model file
/// all of it is stored; from a checkpoint the configuration is inferred from the tensors and
/// the class names are COCO's (91 classes) or `class i`.
#[derive(Clone, Debug)]
pub struct LoadedModel {
    pub weights: TensorMap,
    pub config: VidtConfig,
    pub classes: Vec<String>,
    /// Shorter image side the model was trained for (model files may say; else the official
    /// [`crate::defaults::INPUT_SIZE`] applies).
    pub input_size: Option<usize>,
    /// Display recommendations a model file may carry.
    pub recommended: Recommendations,
    /// How a model file stores its tensors (`None`: a checkpoint, read as stored and upcast to
    /// f32).
    pub dtype: Option<Dtype>,
}

impl LoadedModel {
    /// Infers what a checkpoint does not store.
    pub fn from_weights(weights: TensorMap) -> Result<Self> {
        let config = crate::official::infer_config(&weights)?;
        let classes = crate::official::default_class_names(config.num_classes);
        Ok(Self {
            weights,
            config,
            classes,
            input_size: None,
            recommended: Default::default(),
            dtype: None,
        })
    }

    /// Model file or safetensors bytes (`name`, a path or URL, is used in errors).
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Self> {
        if model_file::is_model_file(bytes) {
            let f = read_model_file(bytes, name)?;
            Ok(Self {
                weights: f.weights,
                config: f.config,
                classes: f.classes,
                input_size: f.input_size,
                recommended: f.recommended,
                dtype: Some(f.dtype),
            })
        } else {
            Self::from_weights(TensorMap::from_bytes(bytes, name)?)
        }
    }

    /// Any file [`TensorMap::from_file`] reads.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        match open(path)? {
            FileKind::Pytorch => Self::from_weights(pth::read_pth(path)?),
            FileKind::Bytes(b) => Self::from_bytes(&b, &path.display().to_string()),
        }
    }
}
