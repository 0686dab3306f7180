//! The integration tests, one binary (one link of burn instead of one per file).

mod common;

mod checkpoint;
mod cli;
mod criterion;
mod cuda;
mod dataset;
mod demo_model;
mod distil;
mod eval;
mod f16;
mod fetch;
mod kernels;
mod layout;
mod model_file;
mod msda;
mod norms;
mod parity_model;
mod photo;
mod plus_criterion;
mod plus_model;
mod postprocess;
mod pretrained;
mod swin_attention;
mod train;
mod uqr_masks;
