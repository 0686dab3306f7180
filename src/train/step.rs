//! One optimization step: forward with every auxiliary output, the set criterion (plus the
//! token-matching distillation loss when a teacher is given), backward, an optimizer step.

use burn::module::AutodiffModule;
use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::Tensor;
use burn::tensor::backend::AutodiffBackend;

use super::Target;
use super::criterion::Criterion;
use super::distil::{DistilTokens, token_matching_loss};
use crate::detector::read;
use crate::error::Result;
use crate::model::{ForwardOptions, PixelMask, Vidt};
use crate::ops::VidtBackend;

/// A frozen teacher for token-matching distillation, and the loss weight (official 4.0).
pub struct Teacher<'a, B: AutodiffBackend>
where
    B::InnerBackend: VidtBackend,
{
    /// On the inner (non-autodiff) backend: no gradient can reach it, and it runs in inference
    /// mode (no dropout), as the reference's `teacher_model.eval()`.
    pub model: &'a Vidt<B::InnerBackend>,
    pub coef: f32,
}

/// Loss values of one step (before the update).
#[derive(Clone, Copy, Debug)]
pub struct StepLoss {
    /// Weighted total, distillation included.
    pub total: f32,
    /// `loss_distil` (unweighted) when a teacher is given.
    pub distil: Option<f32>,
}

/// Runs one step; returns the updated model and the losses before the step.
#[allow(clippy::too_many_arguments)]
pub fn train_step<B, O>(
    model: Vidt<B>,
    optim: &mut O,
    lr: f64,
    images: Tensor<B, 4>,
    mask: &PixelMask,
    targets: &[Target],
    criterion: &Criterion,
    teacher: Option<&Teacher<'_, B>>,
) -> Result<(Vidt<B>, StepLoss)>
where
    B: AutodiffBackend + VidtBackend,
    B::InnerBackend: VidtBackend,
    Vidt<B>: AutodiffModule<B>,
    O: Optimizer<Vidt<B>, B>,
{
    let teacher_out = match teacher {
        Some(t) => Some(
            t.model
                .forward_traced(images.clone().inner(), mask, ForwardOptions::default())?
                .neck,
        ),
        None => None,
    };
    let trace = model.forward_traced(images, mask, ForwardOptions::default())?;
    let student_tokens = DistilTokens::from_neck(&trace.neck);
    let out = Vidt::outputs(trace.neck);
    let mut levels = out.aux;
    levels.push((out.pred_logits, out.pred_boxes));
    let mut total = criterion.forward(&levels, targets)?.total;
    let mut distil = None;
    if let (Some(t), Some(n)) = (teacher, teacher_out) {
        let teacher_tokens = DistilTokens::from_inner(DistilTokens::from_neck(&n));
        let loss = token_matching_loss(&student_tokens, &teacher_tokens)?;
        distil = Some(read(loss.clone())?[0]);
        total = total + loss.mul_scalar(t.coef);
    }
    let value = read(total.clone())?[0];
    let grads = GradientsParams::from_grads(total.backward(), &model);
    Ok((
        optim.step(lr, model, grads),
        StepLoss {
            total: value,
            distil,
        },
    ))
}
