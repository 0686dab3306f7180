pub mod cube;
pub mod plane;
pub mod unit;

mod base;
pub use base::*;

pub(crate) mod bound_checks;
pub(crate) mod parallel;
pub(crate) mod perpendicular;
