//! Tile module.

mod base;
mod compute;
mod data;
mod scope;

pub use base::*;
pub use compute::*;
pub use data::*;
pub use scope::*;
