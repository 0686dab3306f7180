//! Every default of detection, written once: the official evaluation's image sizes and
//! post-processing, and our display threshold. The CLI, the browser API, evaluation and
//! training read them from here.

/// Shorter image side of the official evaluation (`RandomResize([800], max_size=1333)`).
pub const INPUT_SIZE: usize = 800;

/// Longer image side at most, with [`INPUT_SIZE`] (the official evaluation's).
pub const MAX_SIZE: usize = 1333;

/// Detections kept per image by the official `PostProcess` (top-k over all query x class
/// scores).
pub const TOP_K: usize = 100;

/// Score threshold for display when the model file recommends none (ours; the official
/// post-processing has no threshold).
pub const SCORE_THRESHOLD: f32 = 0.5;

/// The one cap of detection's resize (CLI, browser, `vidt eval`): the longer side at most
/// `max_size` when given, else as the official evaluation at `--eval_size` (`datasets/coco.py`:
/// `max_size=eval_size * 1333 // 800`, rounded down). The sizes themselves follow
/// [`crate::detect::preprocess::resized_size`].
pub fn max_size_for(size: usize, max_size: Option<usize>) -> usize {
    max_size.unwrap_or(size * MAX_SIZE / INPUT_SIZE)
}

/// A score threshold in [0, 1], or why not (the detect options' and the model file's check).
pub fn check_threshold(t: f64) -> std::result::Result<(), String> {
    if (0.0..=1.0).contains(&t) {
        Ok(())
    } else {
        Err(format!("threshold {t} is not in [0, 1]"))
    }
}

/// An NMS IoU in (0, 1], or why not.
pub fn check_nms_iou(t: f64) -> std::result::Result<(), String> {
    if t > 0.0 && t <= 1.0 {
        Ok(())
    } else {
        Err(format!("NMS IoU {t} is not in (0, 1]"))
    }
}
