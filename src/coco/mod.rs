//! COCO-format data: the dataset reader and writer ([`dataset`]), bbox evaluation as
//! pycocotools computes it ([`eval`]) and the
//! synthetic shapes dataset `vidt synth` writes ([`synth`]).

pub mod dataset;
#[cfg(not(target_arch = "wasm32"))]
pub mod eval;
pub mod masks;
pub mod synth;

pub use dataset::Target;
#[cfg(not(target_arch = "wasm32"))]
pub use dataset::{CocoFile, Dataset, Sample};
#[cfg(not(target_arch = "wasm32"))]
pub use eval::{CocoDetection, CocoStats, evaluate};
pub use masks::InstanceMasks;
