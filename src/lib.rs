//! ViDT (Vision and Detection Transformers, NAVER AI) on burn: one model, run on a CPU
//! backend, wgpu (Vulkan/Metal/DX12/WebGPU) or CUDA, loading the official checkpoints.
//!
//! * [`config`]: presets and configuration inferred from a checkpoint
//! * [`weights`]: `.pth` / safetensors import by official key
//! * [`model`]: Swin backbone with RAM, the neck (deformable decoder), heads
//! * [`ops`]: the two hot ops (deformable attention, window attention) with their references
//! * [`postprocess`]: top-k over sigmoid scores, boxes to pixels
//! * [`backend`]: device selection
//! * `web` (wasm32 only): the browser API

pub mod backend;
#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
pub mod coco;
pub mod config;
pub mod detector;
pub mod error;
#[cfg(feature = "wgpu")]
mod kernels;
pub mod model;
pub mod ops;
pub mod postprocess;
pub mod preprocess;
pub mod train;
/// The browser API (wasm-bindgen): WebGPU with a CPU fallback, so both backends are needed.
#[cfg(all(target_arch = "wasm32", feature = "wgpu", feature = "flex"))]
pub mod web;
pub mod weights;

pub use config::VidtConfig;
pub use detector::{DetectOptions, Detector};
pub use error::{Result, VidtError};
pub use model::{ForwardOptions, PixelMask, Vidt, VidtOutput};
pub use postprocess::Detection;
