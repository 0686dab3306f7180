//! One optimization step: forward with every auxiliary output, the set criterion, backward,
//! an optimizer step.

use burn::module::AutodiffModule;
use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::Tensor;
use burn::tensor::backend::AutodiffBackend;

use super::Target;
use super::criterion::Criterion;
use crate::detector::read;
use crate::error::Result;
use crate::model::{ForwardOptions, PixelMask, Vidt};
use crate::ops::VidtBackend;

/// Runs one step; returns the updated model and the weighted total loss before the step.
pub fn train_step<B, O>(
    model: Vidt<B>,
    optim: &mut O,
    lr: f64,
    images: Tensor<B, 4>,
    mask: &PixelMask,
    targets: &[Target],
    criterion: &Criterion,
) -> Result<(Vidt<B>, f32)>
where
    B: AutodiffBackend + VidtBackend,
    B::InnerBackend: VidtBackend,
    Vidt<B>: AutodiffModule<B>,
    O: Optimizer<Vidt<B>, B>,
{
    let out = model.forward(images, mask, ForwardOptions::default())?;
    let mut levels = out.aux;
    levels.push((out.pred_logits, out.pred_boxes));
    let losses = criterion.forward(&levels, targets)?;
    let value = read(losses.total.clone())?[0];
    let grads = GradientsParams::from_grads(losses.total.backward(), &model);
    Ok((optim.step(lr, model, grads), value))
}
