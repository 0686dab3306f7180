//! `x @ W + b` (burn's `Linear`) as one gemm into a buffer that starts as the bias rows: flex's
//! matmul zero-fills its output and then copies it to align it (cubecl's `Bytes` asks 16 bytes
//! of a byte vector), and the bias is then added in another pass: three passes over every
//! activation the model writes, each as long as a small-K gemm itself. Leading dimensions are
//! flattened into one matrix (flex runs one gemm per batch entry).

/// Threading from this many multiply-adds (m*n*k). flex's own threshold, 192^3, kept the
/// decoder's 100-query layers (100 x 256 x 256) on one thread; threaded they are ~1.4x faster
/// on two cores (a nano forward ~5%).
#[cfg(not(target_arch = "wasm32"))]
const PARALLEL: usize = 64 * 64 * 64;

/// `x` `(m, k)`, `w` `(k, n)`, `bias` `(n)`, row-major -> `(m, n)`.
pub(super) fn forward(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    m: usize,
    k: usize,
    n: usize,
) -> Vec<f32> {
    assert!(x.len() >= m * k && w.len() >= k * n);
    let mut out = match bias {
        Some(b) => {
            assert!(b.len() >= n);
            let mut out = Vec::with_capacity(m * n);
            for _ in 0..m {
                out.extend_from_slice(&b[..n]);
            }
            out
        }
        None => vec![0f32; m * n],
    };
    #[cfg(not(target_arch = "wasm32"))]
    let parallelism = match m.saturating_mul(n).saturating_mul(k) >= PARALLEL {
        true => gemm::Parallelism::Rayon(0),
        false => gemm::Parallelism::None,
    };
    #[cfg(target_arch = "wasm32")]
    let parallelism = gemm::Parallelism::None;
    // SAFETY: the three buffers hold (m, n), (m, k), (k, n) row-major (asserted above).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            bias.is_some(), // dst = 1 * bias + 1 * x @ w
            x.as_ptr(),
            1,
            k as isize,
            w.as_ptr(),
            1,
            n as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
    out
}
