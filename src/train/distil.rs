//! Distillation by token matching (the ViDT paper's knowledge distillation; official
//! `SetCriterion` with `distil_tokens`): a frozen teacher ViDT runs on the same batch and the
//! student's tokens are pulled toward the teacher's.
//!
//! D = Σ over levels of mean_token ‖student − teacher‖₂ on the projected patch maps (`srcs`)
//!   + the same on the projected body [DET] tokens (`det_tgt`)
//!   + Σ over the decoder states hs[0..=L] of the same (the reference takes the mean over all
//!     levels times their count, which is this sum);
//! loss_distil = sqrt(D), weighted by `--distil-coef` (official 4.0).
//!
//! Every matched token lives in the neck's width (`d_model`, 256 in every preset) — the
//! projections `input_proj` and `tgt_proj` of each model are what map its own backbone widths
//! there — so teachers and students of different Swin sizes match without extra layers, as in
//! the paper. Padded positions count, as in the reference.

use burn::tensor::Tensor;

use crate::error::{Result, VidtError};
use crate::model::neck::NeckOutput;
use crate::ops::VidtBackend;

/// The tokens one model contributes to the matching loss.
#[derive(Clone, Debug)]
pub struct DistilTokens<B: VidtBackend> {
    /// Projected patch maps per level, `(B, H*W, d)`.
    pub patches: Vec<Tensor<B, 3>>,
    /// Projected body [DET] tokens, `(B, Q, d)`.
    pub body_det: Tensor<B, 3>,
    /// Decoder states hs[0..=L], `(B, Q, d)` each.
    pub neck_det: Vec<Tensor<B, 3>>,
}

impl<B: VidtBackend> DistilTokens<B> {
    pub fn from_neck(n: &NeckOutput<B>) -> Self {
        Self {
            patches: n.srcs.clone(),
            body_det: n.det_tgt.clone(),
            neck_det: n.hs.clone(),
        }
    }
}

impl<B> DistilTokens<B>
where
    B: burn::tensor::backend::AutodiffBackend + VidtBackend,
    B::InnerBackend: VidtBackend,
{
    /// Tokens of a model run on the inner backend (a frozen teacher), as constants here.
    pub fn from_inner(t: DistilTokens<B::InnerBackend>) -> Self {
        Self {
            patches: t.patches.into_iter().map(Tensor::from_inner).collect(),
            body_det: Tensor::from_inner(t.body_det),
            neck_det: t.neck_det.into_iter().map(Tensor::from_inner).collect(),
        }
    }
}

/// sqrt that is 0 with a zero gradient at 0 (the plain one has an infinite slope there, which
/// turns identical student and teacher tokens into NaN gradients).
fn safe_sqrt<B: VidtBackend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let zero = x.clone().lower_equal_elem(0.0);
    x.clamp_min(1e-30).sqrt().mask_fill(zero, 0.0)
}

/// Mean over tokens of the L2 distance between `(B, N, d)` token sets.
fn mean_token_distance<B: VidtBackend>(
    what: &str,
    s: &Tensor<B, 3>,
    t: &Tensor<B, 3>,
) -> Result<Tensor<B, 1>> {
    if s.dims() != t.dims() {
        return Err(VidtError::Input {
            name: "teacher".into(),
            reason: format!(
                "{what}: teacher tokens have shape {:?}, the student's {:?}",
                t.dims(),
                s.dims()
            ),
        });
    }
    let [b, n, d] = s.dims();
    let diff = (s.clone() - t.clone()).reshape([b * n, d]);
    let dist = safe_sqrt(diff.powi_scalar(2).sum_dim(1));
    Ok(dist.mean())
}

/// `sqrt(D)` (see the module doc). The teacher's tokens should carry no gradient (run it on
/// the inner backend, or detach them).
pub fn token_matching_loss<B: VidtBackend>(
    student: &DistilTokens<B>,
    teacher: &DistilTokens<B>,
) -> Result<Tensor<B, 1>> {
    let count = |what: &str, a: usize, b: usize| {
        if a == b {
            Ok(())
        } else {
            Err(VidtError::Input {
                name: "teacher".into(),
                reason: format!("the teacher has {b} {what}, the student {a}"),
            })
        }
    };
    count(
        "feature levels",
        student.patches.len(),
        teacher.patches.len(),
    )?;
    count(
        "decoder states (decoder layers + 1)",
        student.neck_det.len(),
        teacher.neck_det.len(),
    )?;
    let mut d = mean_token_distance("body [DET] tokens", &student.body_det, &teacher.body_det)?;
    for (l, (s, t)) in student.patches.iter().zip(&teacher.patches).enumerate() {
        d = d + mean_token_distance(&format!("patch level {l}"), s, t)?;
    }
    for (l, (s, t)) in student.neck_det.iter().zip(&teacher.neck_det).enumerate() {
        d = d + mean_token_distance(&format!("decoder state {l}"), s, t)?;
    }
    Ok(safe_sqrt(d))
}
