#![cfg(feature = "flex")]
//! The norms, the softmax and the GELU as backend ops against their tensor-op compositions,
//! each only on the backends that implement it (elsewhere the op *is* the composition, and
//! comparing it with itself would prove nothing): wgpu has WGSL kernels for LayerNorm, softmax
//! and GroupNorm; the CPU has its own GroupNorm and GELU loops.

use crate::common::max_abs_diff;
use burn::tensor::backend::Backend;
use burn::tensor::{Device, Tensor, TensorData};
use vidt::ops::{VidtBackend, norms};

fn rand<BB: Backend, const D: usize>(
    shape: [usize; D],
    seed: u64,
    dev: &Device<BB>,
) -> Tensor<BB, D> {
    let n = shape.iter().product();
    // An offset as activations have, so a one-pass variance would lose digits.
    let data: Vec<f32> = vidt::rng::Rng::new(seed)
        .uniforms(n, -1.0, 1.0)
        .into_iter()
        .map(|v| 3.0 + 2.0 * v)
        .collect();
    Tensor::from_data(TensorData::new(data, shape), dev)
}

/// The ops a backend implements itself, of those [`check`] tests.
#[derive(PartialEq)]
enum Own {
    LayerNorm,
    Gelu,
    Softmax,
    GroupNorm,
}

fn check<BB: VidtBackend>(name: &str, dev: &Device<BB>, own: &[Own]) {
    for (i, &(b, n, c)) in [(1, 6400, 48), (2, 125, 384), (1, 100, 1536), (1, 7, 3)]
        .iter()
        .enumerate()
    {
        if !own.contains(&Own::LayerNorm) && !own.contains(&Own::Gelu) {
            break;
        }
        let x = rand::<BB, 3>([b, n, c], i as u64, dev);
        let (g, be) = (
            rand::<BB, 1>([c], 100 + i as u64, dev),
            rand::<BB, 1>([c], 200 + i as u64, dev),
        );
        if own.contains(&Own::LayerNorm) {
            let ours = BB::layer_norm_last(x.clone(), g.clone(), be.clone(), norms::EPS);
            let d = max_abs_diff(
                ours,
                norms::layer_norm_reference(x.clone(), g, be, norms::EPS),
            );
            println!("{name} layer_norm ({b}, {n}, {c}): {d:.2e}");
            assert!(d <= 2e-5, "{name} layer_norm {i}: {d}");
        }
        if own.contains(&Own::Gelu) {
            let d = max_abs_diff(
                BB::gelu_tokens(x.clone()),
                burn::tensor::activation::gelu(x),
            );
            println!("{name} gelu ({b}, {n}, {c}): {d:.2e}");
            assert!(d <= 1e-6, "{name} gelu {i}: {d}");
        }
    }
    for (i, &shape) in [
        [1, 8, 100, 100],
        [2, 24, 100, 1050],
        [1, 100, 8, 16],
        [1, 1, 1, 3],
    ]
    .iter()
    .enumerate()
    {
        if !own.contains(&Own::Softmax) {
            break;
        }
        let x = rand::<BB, 4>(shape, 10 + i as u64, dev);
        let d = max_abs_diff(BB::softmax_last(x.clone()), norms::softmax_reference(x));
        println!("{name} softmax {shape:?}: {d:.2e}");
        assert!(d <= 1e-6, "{name} softmax {i}: {d}");
    }
    for (i, &(b, n, c)) in [(1, 1600, 256), (2, 25, 256), (1, 100, 64)]
        .iter()
        .enumerate()
    {
        if !own.contains(&Own::GroupNorm) {
            break;
        }
        let x = rand::<BB, 3>([b, n, c], 20 + i as u64, dev);
        let (w, bi) = (
            rand::<BB, 1>([c], 30 + i as u64, dev),
            rand::<BB, 1>([c], 40 + i as u64, dev),
        );
        let ours = BB::group_norm_tokens(x.clone(), w.clone(), bi.clone(), 32, norms::EPS);
        let d = max_abs_diff(ours, norms::group_norm_reference(x, w, bi, 32, norms::EPS));
        println!("{name} group_norm ({b}, {n}, {c}): {d:.2e}");
        assert!(d <= 2e-5, "{name} group_norm {i}: {d}");
    }
}

#[test]
fn cpu_ops_match_the_compositions() {
    check::<vidt::backend::Cpu>("cpu", &Default::default(), &[Own::Gelu, Own::GroupNorm]);
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_kernels_match_the_compositions() {
    use vidt::launches::{Kernel, launches};
    let kernels = [Kernel::LayerNorm, Kernel::Softmax, Kernel::GroupNorm];
    let before = kernels.map(launches);
    let own = [Own::LayerNorm, Own::Softmax, Own::GroupNorm];
    check::<vidt::backend::Gpu>("wgpu", &Default::default(), &own);
    // Each case ran the WGSL kernel, not its reference fallback (other tests only add).
    for (k, (n, b)) in kernels.iter().zip(kernels.map(launches).iter().zip(before)) {
        assert!(n - b >= [4, 4, 3][*k as usize], "{k:?}: {} launches", n - b);
    }
}

/// Multi-head attention as one op (a kernel on wgpu, blocked loops on the CPU): a packed qkv
/// (RAM's [DET x DET], 100 and 300 tokens) and separate q, k, v (the decoder's self-attention),
/// against the composition.
fn check_attention<G: VidtBackend>(name: &str, dev: &Device<G>) {
    use vidt::ops::attention::{self, Heads};
    for (i, &(b, n, heads, hd)) in [
        (1, 100, 3, 16),
        (2, 100, 12, 16),
        (1, 300, 8, 32),
        (1, 7, 2, 16),
        (1, 30, 4, 8), // the CPU's other blocked head dims,
        (1, 30, 2, 24),
        (1, 30, 3, 12), // and one it runs as the composition
    ]
    .iter()
    .enumerate()
    {
        let c = heads * hd;
        let scale = (hd as f32).powf(-0.5);
        let qkv = rand::<G, 3>([b, n, 3 * c], 50 + i as u64, dev);
        let s = Heads {
            heads,
            width: c,
            cols: [0, c, 2 * c],
            scale,
        };
        let ours = G::attention_heads(qkv.clone(), qkv.clone(), qkv.clone(), s);
        let d = max_abs_diff(ours, attention::reference(qkv.clone(), qkv.clone(), qkv, s));
        println!("{name} attention packed ({b}, {n}, {heads}x{hd}): {d:.2e}");
        // Inputs near 3 give scores near 50 (head dim 32), whose f32 rounding (~1e-5) exp
        // passes on to the weights of outputs near 3-5, on both sides: 3e-5 is ~1e-5 relative.
        assert!(d <= 3e-5, "packed {i}: {d}");
        // Separate q, k and v, the keys longer than the queries.
        let (q, k, v) = (
            rand::<G, 3>([b, n, c], 60, dev),
            rand::<G, 3>([b, n + 13, c], 61, dev),
            rand::<G, 3>([b, n + 13, c], 62, dev),
        );
        let s = Heads { cols: [0; 3], ..s };
        let ours = G::attention_heads(q.clone(), k.clone(), v.clone(), s);
        let d = max_abs_diff(ours, attention::reference(q, k, v, s));
        println!("{name} attention separate ({b}, {n}, {heads}x{hd}): {d:.2e}");
        assert!(d <= 3e-5, "separate {i}: {d}");
    }
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_attention_matches_the_composition() {
    // Two calls for each of the 7 cases, each the WGSL kernel, not the reference fallback.
    crate::common::launched(vidt::launches::Kernel::Attention, 14, || {
        check_attention::<vidt::backend::Gpu>("wgpu", &Default::default())
    });
}

/// The CPU's register-blocked attention.
#[test]
fn cpu_attention_matches_the_composition() {
    check_attention::<vidt::backend::Cpu>("cpu", &Default::default());
}
