//! Errors as values: every failure names the file, key, shape or option at fault.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum VidtError {
    #[error("cannot read {path}: {reason}")]
    Io { path: PathBuf, reason: String },

    #[error("{path}: not a readable checkpoint ({reason})")]
    Checkpoint { path: String, reason: String },

    #[error("checkpoint is missing key `{key}` (expected shape {expected:?})")]
    MissingKey { key: String, expected: Vec<usize> },

    #[error("checkpoint key `{key}` has shape {found:?}, expected {expected:?}{hint}")]
    ShapeMismatch {
        key: String,
        found: Vec<usize>,
        expected: Vec<usize>,
        hint: String,
    },

    #[error("checkpoint key `{key}`: {reason}")]
    BadTensor { key: String, reason: String },

    #[error("cannot infer the model configuration: {0}")]
    Config(String),

    #[error("{name}: {reason}")]
    Input { name: String, reason: String },

    #[error("cannot download {url}: {reason}")]
    Download { url: String, reason: String },

    #[error("unsupported: {0}")]
    Unsupported(String),

    /// A run stopped by its interrupt hook: nothing was written after the last checkpoint.
    #[error("training interrupted after {steps} steps (the last checkpoint stands)")]
    Interrupted { steps: usize },
}

pub type Result<T> = std::result::Result<T, VidtError>;
