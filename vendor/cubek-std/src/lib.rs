// vidt's patch: quiet, as cargo's --cap-lints allow keeps every crate from the registry.
#![allow(warnings)]
pub mod cube_count;
pub mod launch;
pub mod stage;
pub mod tile;

mod cube_dim_resource;
mod error;
mod input_binding;
mod matrix_layout;
mod size;
mod stage_ident;

pub use cube_dim_resource::*;
pub use error::*;
pub use input_binding::*;
pub use matrix_layout::*;
pub use size::*;
pub use stage_ident::*;
