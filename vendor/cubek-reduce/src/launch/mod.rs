pub mod tune_key;

mod base;
mod strategy;
mod utils;

pub use base::*;
pub use strategy::*;
pub use utils::*;
