//! Wider registers where the CPU has them: on x86-64 the default target is SSE2 (4 f32 lanes),
//! so a hot loop is run through [`wide`], which calls it inside a function compiled for AVX2 +
//! FMA (8 lanes; picked at run time, the check is a cached load). LLVM inlines a small closure
//! there and vectorizes it for those registers. A large body is not inlined into a generic
//! wrapper (its code would stay SSE2), so the big kernels (window, attention) have their own
//! `#[target_feature]` copies, picked with [`has_avx2`]. Rust contracts no multiply-add into an FMA, so
//! the rounding is the plain loop's. Elsewhere (the browser's wasm, built with simd128) it is a
//! plain call.

/// `f()`, compiled for AVX2 + FMA where the CPU has them.
#[inline(always)]
pub(super) fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        return unsafe { avx2(f) };
    }
    f()
}

/// Whether the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) fn has_avx2() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}
