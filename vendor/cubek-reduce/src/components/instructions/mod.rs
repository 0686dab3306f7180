mod argmax;
mod argmin;
mod argtopk;
mod base;
mod max;
mod maxabs;
mod mean;
mod min;
mod mixed;
mod prod;
mod sum;
mod topk;
mod utils;

pub use argmax::*;
pub use argmin::*;
pub use argtopk::*;
pub use base::*;
pub use max::*;
pub use maxabs::*;
pub use mean::*;
pub use min::*;
pub use mixed::*;
pub use prod::*;
pub use sum::*;
pub use topk::*;
pub(crate) use utils::*;

/// vidt's patch: no routine the browser runs takes a top-k on the GPU (vidt's post-processing
/// sorts on the CPU); diverging as TopK / ArgTopK start leaves their expansion code, and the
/// plane top-k merge it calls, out of the wasm module.
#[cfg(target_arch = "wasm32")]
pub(crate) fn wasm_guard() -> ! {
    panic!("top-k reductions are not built into vidt's wasm module")
}
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn wasm_guard() {}
