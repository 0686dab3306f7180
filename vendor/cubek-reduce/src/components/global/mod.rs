mod base;

pub(crate) use base::*;

pub mod cube;
pub mod plane;
pub mod unit;
