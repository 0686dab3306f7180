//! ViDT (Vision and Detection Transformers, NAVER AI) on burn: one model, run on a CPU
//! backend, wgpu (Vulkan/Metal/DX12/WebGPU) or CUDA, loading the official checkpoints.
//!
//! Dependencies run one way, from the bottom up (`tests/it/layout.rs` checks it):
//!
//! * plain data and helpers: [`error`], [`config`], [`defaults`], [`tensor_map`], [`rng`],
//!   [`boxes`], [`rle`] (COCO run-length encoding)
//! * [`ops`] (the hot ops and their references), `kernels` (WGSL on wgpu), `cpu` (loops on
//!   the CPU backend), [`backend`]
//! * [`model`]: Swin backbone with RAM, the neck (deformable decoder), heads
//! * [`official`]: the official checkpoint format (key table, config inference, load, save,
//!   init)
//! * [`io`]: `.pth`, safetensors and `.vidt` files
//! * [`detect`]: preprocessing, the [`Detector`], post-processing, drawing; [`coco`]: datasets
//!   and evaluation
//! * [`train`], [`bench`]
//! * the shells: `src/bin/vidt.rs` (CLI) and `web` (wasm32 only: the browser API)

pub mod backend;
#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
pub mod boxes;
pub mod coco;
pub mod config;
#[cfg(feature = "flex")]
mod cpu;
pub mod defaults;
pub mod detect;
pub mod error;
pub mod io;
#[cfg(feature = "wgpu")]
mod kernels;
/// Launch counts of the WGSL kernels (tests tell a kernel from its reference fallback by them).
#[cfg(feature = "wgpu")]
pub use kernels::launches;
pub mod model;
pub mod official;
pub mod ops;
pub mod rle;
pub mod rng;
pub mod tensor_map;
pub mod train;
/// The browser API (wasm-bindgen): WebGPU with a CPU fallback, so both backends are needed.
#[cfg(all(target_arch = "wasm32", feature = "wgpu", feature = "flex"))]
pub mod web;

pub use config::VidtConfig;
pub use detect::{DetectOptions, Detection, Detector};
pub use error::{Result, VidtError};
pub use io::LoadedModel;
pub use model::{ForwardOptions, PixelMask, Vidt, VidtOutput};
pub use tensor_map::{HostTensor, TensorMap};
