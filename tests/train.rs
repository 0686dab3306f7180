#![cfg(feature = "flex")]
//! Training on the CPU backend: twenty steps on a handful of synthetic images at least
//! halve the loss (the whole path — autodiff through the model, matcher, criterion, AdamW with
//! gradient clipping — works).

mod common;

use burn::grad_clipping::GradientClippingConfig;
use burn::optim::AdamWConfig;
use burn::tensor::{Tensor, TensorData};
use common::*;
use vidt::train::Target;
use vidt::train::criterion::Criterion;
use vidt::train::step::train_step;
use vidt::train::synth;

#[test]
fn overfits_a_few_synthetic_images() {
    let w = checkpoint();
    let cfg = vidt::VidtConfig::infer(&w).unwrap();
    let dev = cpu();
    let mut model = vidt::Vidt::<AB>::load(&w, &cfg, &dev).unwrap();
    let mut rng = synth::Rng::new(3);
    let (size, b) = (96usize, 2usize);
    let mut data = Vec::new();
    let mut targets = Vec::new();
    for _ in 0..b {
        let (img, objects) = synth::image(&mut rng, size as u32, size as u32, 3);
        let batch = vidt::preprocess::make_batch(std::slice::from_ref(&img), size, size);
        data.extend(batch.data);
        let s = size as f32;
        targets.push(Target {
            labels: objects.iter().map(|o| o.category).collect(),
            boxes: objects
                .iter()
                .map(|o| {
                    let [x0, y0, x1, y1] = o.bbox;
                    [
                        (x0 + x1) / 2.0 / s,
                        (y0 + y1) / 2.0 / s,
                        (x1 - x0) / s,
                        (y1 - y0) / s,
                    ]
                })
                .collect(),
        });
    }
    let images = Tensor::<AB, 4>::from_data(TensorData::new(data, [b, 3, size, size]), &dev);
    let mask = vidt::PixelMask::zeros(b, size, size);
    let criterion = Criterion::default();
    let mut optim = AdamWConfig::new()
        .with_weight_decay(1e-4)
        .with_grad_clipping(Some(GradientClippingConfig::Norm(0.1)))
        .init();
    let mut losses = Vec::new();
    for _ in 0..20 {
        let (m, loss) = train_step(
            model,
            &mut optim,
            2e-4,
            images.clone(),
            &mask,
            &targets,
            &criterion,
        )
        .unwrap();
        model = m;
        losses.push(loss);
    }
    println!("losses: {losses:?}");
    let (first, last) = (losses[0], *losses.last().unwrap());
    assert!(
        last.is_finite() && last <= 0.5 * first,
        "loss {first} -> {last}"
    );
}
