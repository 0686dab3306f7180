//! Multi-scale deformable attention (Deformable DETR), reference in tensor ops.
//!
//! Bilinear sampling with zero padding and `align_corners = false` (pixel = loc * size - 0.5)
//! through `grid_sample_2d`, then a weighted sum over levels and points. Differentiable with
//! respect to value, sampling locations and attention weights.

use burn::tensor::{Tensor, backend::Backend};

use super::VidtBackend;

/// The value of a deformable attention: `memory` `(N, S, C)` projected by `weight`
/// `(C, M*D)` and `bias`, zeroed where `keep` `(N, S, 1)` is 0 (padded pixels), split into
/// `heads` -> `(N, S, M, D)`.
pub fn project<B: VidtBackend>(
    memory: Tensor<B, 3>,
    keep: Tensor<B, 3>,
    weight: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
    heads: usize,
) -> Tensor<B, 4> {
    let [n, s, _] = memory.dims();
    let width = weight.dims()[1];
    (crate::ops::linear_last(memory, weight, bias) * keep).reshape([n, s, heads, width / heads])
}

/// * `value`: `(N, S, M, D)`, S = sum of `H_l * W_l`
/// * `shapes`: `(H_l, W_l)` per level; levels are consecutive in `value`
/// * `locations`: `(N, Lq, M, L, P, 2)`, (x, y) normalized to [0, 1] per level
/// * `weights`: `(N, Lq, M, L, P)`, already softmaxed
///
/// Returns `(N, Lq, M * D)`.
pub fn reference<B: Backend>(
    value: Tensor<B, 4>,
    shapes: &[(usize, usize)],
    locations: Tensor<B, 6>,
    weights: Tensor<B, 5>,
) -> Tensor<B, 3> {
    let [n, s, m, d] = value.dims();
    let [_, lq, _, l, p, _] = locations.dims();
    assert_eq!(shapes.len(), l, "one spatial shape per level");
    assert_eq!(
        shapes.iter().map(|(h, w)| h * w).sum::<usize>(),
        s,
        "value length != sum of H*W"
    );
    // grid_sample wants [-1, 1].
    let grids = locations.mul_scalar(2.0).sub_scalar(1.0);
    let mut start = 0;
    let mut sampled = Vec::with_capacity(l);
    for (lid, &(h, w)) in shapes.iter().enumerate() {
        // (N, HW, M, D) -> (N*M, D, H, W)
        let v = value
            .clone()
            .slice([0..n, start..start + h * w, 0..m, 0..d])
            .reshape([n, h * w, m * d])
            .swap_dims(1, 2)
            .reshape([n * m, d, h, w]);
        // (N, Lq, M, P, 2) -> (N*M, Lq, P, 2)
        let g = grids
            .clone()
            .slice([0..n, 0..lq, 0..m, lid..lid + 1, 0..p, 0..2])
            .reshape([n, lq, m, p, 2])
            .swap_dims(1, 2)
            .reshape([n * m, lq, p, 2]);
        // (N*M, D, Lq, P)
        sampled.push(v.grid_sample_2d(g, burn::tensor::ops::GridSampleOptions::default()));
        start += h * w;
    }
    // (N*M, D, Lq, L, P) -> (N*M, D, Lq, L*P)
    let sampled = Tensor::stack::<5>(sampled, 3).reshape([n * m, d, lq, l * p]);
    let w = weights.swap_dims(1, 2).reshape([n * m, 1, lq, l * p]);
    (sampled * w)
        .sum_dim(3)
        .reshape([n, m * d, lq])
        .swap_dims(1, 2)
}

/// Gradients `(value, locations, weights)` of [`reference`] for `grad_output`, by autodiff
/// (for shapes a backward kernel does not handle).
pub fn reference_backward<B: Backend>(
    value: Tensor<B, 4>,
    shapes: &[(usize, usize)],
    locations: Tensor<B, 6>,
    weights: Tensor<B, 5>,
    grad_output: Tensor<B, 3>,
) -> (Tensor<B, 4>, Tensor<B, 6>, Tensor<B, 5>) {
    type A<B> = burn::backend::Autodiff<B>;
    let v = Tensor::<A<B>, 4>::from_inner(value).require_grad();
    let l = Tensor::<A<B>, 6>::from_inner(locations).require_grad();
    let w = Tensor::<A<B>, 5>::from_inner(weights).require_grad();
    let out = reference(v.clone(), shapes, l.clone(), w.clone());
    let grads = (out * Tensor::from_inner(grad_output)).sum().backward();
    let g = "the three inputs require grad";
    (
        v.grad(&grads).expect(g),
        l.grad(&grads).expect(g),
        w.grad(&grads).expect(g),
    )
}
