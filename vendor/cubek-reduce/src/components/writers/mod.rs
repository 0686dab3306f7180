mod base;
mod layout;

pub use base::*;
pub use layout::*;

pub(crate) mod parallel;
pub(crate) mod perpendicular;
