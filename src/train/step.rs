//! One optimization step: forward with every auxiliary output, the set criterion (plus the
//! token-matching distillation loss when a teacher is given), backward, an optimizer step.
//!
//! Data parallel: the batch comes as shards, one per device (a replica of the model forked
//! there, on its own thread); each shard's detection loss is normalized by the number of target
//! boxes in the whole batch, so the summed gradients are the full batch's (what DDP's averaging
//! over `num_boxes / world_size` gives in the reference).

use burn::module::{AutodiffModule, Module};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use burn::tensor::backend::AutodiffBackend;

use super::criterion::{Criterion, criterion_inputs};
use super::distil::{DistilTokens, token_matching_loss};
use super::optim::VidtOptim;
use crate::coco::Target;
use crate::error::{Result, VidtError};
use crate::model::{ForwardOptions, PixelMask, Vidt};
use crate::ops::VidtBackend;
use crate::tensor_map::read;

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

/// Part of a batch, on the device whose replica processes it.
pub struct Shard<B: AutodiffBackend> {
    pub images: Tensor<B, 4>,
    pub mask: PixelMask,
    pub targets: Vec<Target>,
}

/// Loss values of one step (before the update).
#[derive(Clone, Copy, Debug)]
pub struct StepLoss {
    /// Weighted total, distillation included.
    pub total: f32,
    /// `loss_distil` (unweighted) when a teacher is given.
    pub distil: Option<f32>,
    /// Global gradient norm before clipping.
    pub grad_norm: f32,
}

struct ReplicaOut {
    grads: GradientsParams,
    total: f32,
    distil: Option<f32>,
}

/// Forward and backward of one replica on its shard. `weight` scales the distillation loss (the
/// shard's share of the batch: its mean over the batch).
fn replica<B>(
    model: Vidt<B>,
    shard: Shard<B>,
    num_boxes: f32,
    weight: f32,
    criterion: &Criterion,
    teacher: Option<(Vidt<B::InnerBackend>, f32)>,
) -> Result<ReplicaOut>
where
    B: AutodiffBackend + VidtBackend,
    B::InnerBackend: VidtBackend,
    Vidt<B>: AutodiffModule<B>,
{
    let Shard {
        images,
        mask,
        targets,
    } = shard;
    let teacher_out = match &teacher {
        Some((t, _)) => Some(
            t.forward_traced(images.clone().inner(), &mask, ForwardOptions::default())?
                .neck,
        ),
        None => None,
    };
    let trace = model.forward_traced(images, &mask, ForwardOptions::default())?;
    let student_tokens = DistilTokens::from_neck(&trace.neck);
    // ViDT+: its IoU-aware, vector and token-labeling losses too.
    let (levels, plus) = criterion_inputs(trace.neck);
    let mut total = criterion
        .forward_plus(&levels, plus.as_ref(), &targets, num_boxes)?
        .total;
    let mut distil = None;
    if let (Some((_, coef)), Some(n)) = (teacher, teacher_out) {
        let teacher_tokens = DistilTokens::from_inner(DistilTokens::from_neck(&n));
        let loss = token_matching_loss(&student_tokens, &teacher_tokens)?.mul_scalar(weight);
        distil = Some(read(loss.clone())?[0]);
        total = total + loss.mul_scalar(coef);
    }
    let value = read(total.clone())?[0];
    let grads = GradientsParams::from_grads(total.backward(), &model);
    Ok(ReplicaOut {
        grads,
        total: value,
        distil,
    })
}

/// Runs one step on a batch split into `shards` (one per device; the model lives on the first
/// shard's device); returns the updated model and the losses before the step.
pub fn train_step<B>(
    model: Vidt<B>,
    optim: &mut VidtOptim<B>,
    lr: f64,
    shards: Vec<Shard<B>>,
    criterion: &Criterion,
    teacher: Option<&Teacher<'_, B>>,
) -> Result<(Vidt<B>, StepLoss)>
where
    B: AutodiffBackend + VidtBackend,
    B::InnerBackend: VidtBackend,
    Vidt<B>: AutodiffModule<B>,
{
    let Some(first) = shards.first() else {
        return Err(VidtError::Input {
            name: "batch".into(),
            reason: "no shards".into(),
        });
    };
    let main = first.images.device();
    let images: usize = shards.iter().map(|s| s.targets.len()).sum();
    // Official: the number of target boxes in the batch (all-reduced), at least 1.
    let num_boxes = (shards
        .iter()
        .flat_map(|s| &s.targets)
        .map(|t| t.labels.len())
        .sum::<usize>() as f32)
        .max(1.0);
    let outs: Vec<Result<ReplicaOut>> = if shards.len() == 1 {
        let shard = shards.into_iter().next().expect("one shard");
        let t = teacher.map(|t| (t.model.clone(), t.coef));
        vec![replica(model.clone(), shard, num_boxes, 1.0, criterion, t)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = shards
                .into_iter()
                .map(|shard| {
                    let dev = shard.images.device();
                    let weight = shard.targets.len() as f32 / images as f32;
                    let m = model.clone().fork(&dev);
                    let t = teacher.map(|t| (t.model.clone().fork(&dev), t.coef));
                    scope.spawn(move || replica(m, shard, num_boxes, weight, criterion, t))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("replica thread panicked"))
                .collect()
        })
    };
    let outs = outs.into_iter().collect::<Result<Vec<_>>>()?;
    let total = outs.iter().map(|o| o.total).sum();
    let distil = outs
        .iter()
        .map(|o| o.distil)
        .try_fold(0.0, |a, d| d.map(|d| a + d));
    let grads = outs.into_iter().map(|o| o.grads).collect();
    let (model, stats) = optim.step(lr, model, grads, &main)?;
    Ok((
        model,
        StepLoss {
            total,
            distil,
            grad_norm: stats.grad_norm,
        },
    ))
}
