//! Training: Hungarian matching, the ViDT set criterion (focal class loss, L1 and GIoU box
//! losses on the final and every auxiliary output).

pub mod boxes;
pub mod criterion;
pub mod matcher;

/// Ground truth of one image: class ids and normalized (cx, cy, w, h) boxes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Target {
    pub labels: Vec<usize>,
    pub boxes: Vec<[f32; 4]>,
}
