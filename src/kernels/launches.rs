//! How many times each of our WGSL kernels was launched in this process. Every wgpu method
//! falls back to its tensor-op reference where the kernel does not apply (dtype, head size), and
//! a reference gives the same numbers: tests tell the two apart by these counts.

use std::sync::atomic::{AtomicUsize, Ordering};

/// One WGSL kernel (`wgsl/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    LayerNorm,
    Softmax,
    GroupNorm,
    Attention,
    SwinWindowAttention,
    WindowAttention,
    MsDeformAttn,
    MsDeformAttnBackward,
}

static COUNTS: [AtomicUsize; 8] = [const { AtomicUsize::new(0) }; 8];

pub(crate) fn note(k: Kernel) {
    COUNTS[k as usize].fetch_add(1, Ordering::Relaxed);
}

/// Launches of `k` so far (all threads: compare before and after).
pub fn launches(k: Kernel) -> usize {
    COUNTS[k as usize].load(Ordering::Relaxed)
}
