//! Training: Hungarian matching, the ViDT set criterion (focal class loss, L1 and GIoU box
//! losses on the final and every auxiliary output), token-matching distillation.

pub mod augment;
pub mod boxes;
pub mod criterion;
#[cfg(not(target_arch = "wasm32"))]
pub mod dataset;
pub mod distil;
#[cfg(not(target_arch = "wasm32"))]
pub mod eval;
#[cfg(not(target_arch = "wasm32"))]
pub mod fit;
pub mod matcher;
pub mod optim;
pub mod step;
pub mod synth;

/// Ground truth of one image: class ids and normalized (cx, cy, w, h) boxes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Target {
    pub labels: Vec<usize>,
    pub boxes: Vec<[f32; 4]>,
}
