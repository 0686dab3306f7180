//! Training: the official augmentations ([`augment`]), Hungarian matching ([`matcher`]), the
//! ViDT set criterion (focal class loss, L1 and GIoU box losses on the final and every
//! auxiliary output, with ViDT+'s IoU-aware, UQR vector and token-labeling losses on targets
//! from instance masks, [`criterion`], [`mask_targets`]), token-matching distillation ([`distil`]), the official
//! AdamW groups ([`optim`]), one step, data parallel ([`step`]), the loop ([`fit`]), the run
//! directory ([`checkpoint`]) and a run set up from what the user asked for ([`run`]).

pub mod augment;
#[cfg(not(target_arch = "wasm32"))]
pub mod checkpoint;
pub mod criterion;
pub mod distil;
#[cfg(not(target_arch = "wasm32"))]
pub mod fit;
pub mod mask_targets;
pub mod matcher;
pub mod optim;
#[cfg(not(target_arch = "wasm32"))]
pub mod options;
#[cfg(not(target_arch = "wasm32"))]
pub mod run;
pub mod step;
