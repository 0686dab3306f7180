//! From pixels to detections: preprocessing ([`preprocess`]), the high-level [`Detector`]
//! (a loaded model and one call from a batch to detections), the official post-processing and
//! NMS ([`postprocess`]), ViDT+'s instance masks from its UQR vectors ([`uqr`]) and annotated images (`draw`, native: the browser draws on its canvas).

pub mod detector;
#[cfg(not(target_arch = "wasm32"))]
pub mod draw;
#[cfg(not(target_arch = "wasm32"))]
pub mod images;
pub mod options;
pub mod postprocess;
pub mod preprocess;
pub mod uqr;

pub use detector::{Detector, ForwardInput};
pub use options::{DetectOptions, DetectRequest};
pub use postprocess::{Detection, nms, postprocess};
