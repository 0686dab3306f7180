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
    MsDeformAttn,
    MsDeformAttnBackward,
}

impl Kernel {
    /// Every kernel, in declaration order (its index in the counts).
    pub const ALL: [Kernel; 7] = [
        Kernel::LayerNorm,
        Kernel::Softmax,
        Kernel::GroupNorm,
        Kernel::Attention,
        Kernel::SwinWindowAttention,
        Kernel::MsDeformAttn,
        Kernel::MsDeformAttnBackward,
    ];
}

static COUNTS: [AtomicUsize; Kernel::ALL.len()] =
    [const { AtomicUsize::new(0) }; Kernel::ALL.len()];

pub(crate) fn note(k: Kernel) {
    COUNTS[k as usize].fetch_add(1, Ordering::Relaxed);
}

/// Launches of `k` so far (all threads: compare before and after).
pub fn launches(k: Kernel) -> usize {
    COUNTS[k as usize].load(Ordering::Relaxed)
}

/// Every kernel with its launches so far.
pub fn snapshot() -> Vec<(Kernel, usize)> {
    Kernel::ALL.map(|k| (k, launches(k))).to_vec()
}

/// The launches of each kernel between two snapshots, by name.
pub fn since(before: &[(Kernel, usize)]) -> std::collections::BTreeMap<String, usize> {
    snapshot()
        .into_iter()
        .zip(before)
        .map(|((k, n), (_, b))| (format!("{k:?}"), n - b))
        .collect()
}
