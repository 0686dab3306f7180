#![cfg(feature = "flex")]
//! Token-matching distillation: the loss against a host computation of the reference formula,
//! 0 for identical student and teacher, positive otherwise; gradients reach the student only.

use crate::common::*;
use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use vidt::TensorMap;
use vidt::coco::Target;
use vidt::train::criterion::Criterion;
use vidt::train::distil::{DistilTokens, token_matching_loss};
use vidt::train::optim::VidtOptim;
use vidt::train::step::{Shard, Teacher, train_step};
use vidt::{ForwardOptions, PixelMask, Vidt};

const SHAPE: [usize; 4] = [2, 3, 64, 96];

fn input<BB: Backend>(dev: &BB::Device) -> (Tensor<BB, 4>, PixelMask) {
    let n = SHAPE.iter().product();
    let x = vidt::rng::Rng::new(11).uniforms(n, -2.0, 2.0);
    // The second image is padded on the right (the mask counts, as in the reference).
    let mut m = vec![0u8; 2 * 64 * 96];
    for r in 0..64 {
        for c in 80..96 {
            m[64 * 96 + r * 96 + c] = 1;
        }
    }
    (
        Tensor::from_data(TensorData::new(x, SHAPE), dev),
        PixelMask::new(2, 64, 96, m),
    )
}

/// The fixture checkpoint with every tensor scaled by `1 + eps·noise`.
fn perturbed(w: &TensorMap, eps: f32) -> TensorMap {
    let mut out = TensorMap::new();
    for (i, (k, t)) in w.iter().enumerate() {
        let noise = vidt::rng::Rng::new(100 + i as u64).uniforms(t.data.len(), -1.0, 1.0);
        let mut t = t.clone();
        for (v, n) in t.data.iter_mut().zip(noise) {
            *v *= 1.0 + eps * n;
        }
        out.insert(k, t);
    }
    out
}

fn tokens<BB: vidt::ops::VidtBackend>(m: &Vidt<BB>, dev: &BB::Device) -> DistilTokens<BB> {
    let (x, mask) = input::<BB>(dev);
    let trace = m
        .forward_traced(x, &mask, ForwardOptions::default())
        .unwrap();
    DistilTokens::from_neck(&trace.neck)
}

/// The reference formula on the host: sqrt(Σ_sets mean_token ‖s − t‖₂), hs summed over levels.
fn host_loss(s: &DistilTokens<B>, t: &DistilTokens<B>) -> f64 {
    let set = |a: &Tensor<B, 3>, b: &Tensor<B, 3>| -> f64 {
        let d = a.dims()[2];
        let (x, y) = (values(a.clone()).1, values(b.clone()).1);
        let norms: Vec<f64> = x
            .chunks(d)
            .zip(y.chunks(d))
            .map(|(p, q)| {
                p.iter()
                    .zip(q)
                    .map(|(u, v)| ((u - v) as f64).powi(2))
                    .sum::<f64>()
                    .sqrt()
            })
            .collect();
        norms.iter().sum::<f64>() / norms.len() as f64
    };
    let mut d = set(&s.body_det, &t.body_det);
    for (a, b) in s.patches.iter().zip(&t.patches) {
        d += set(a, b);
    }
    // The reference: mean over the stacked (L, B, Q, d) states times L.
    let l = s.neck_det.len() as f64;
    let stack = |v: &[Tensor<B, 3>]| Tensor::cat(v.to_vec(), 1);
    d += l * set(&stack(&s.neck_det), &stack(&t.neck_det));
    d.sqrt()
}

#[test]
fn loss_is_zero_for_the_same_weights_and_matches_the_formula_otherwise() {
    let w = checkpoint();
    let cfg = vidt::official::infer_config(&w).unwrap();
    let dev = cpu();
    let student = vidt::official::load::<B>(&w, &cfg, &dev).unwrap();
    let same = vidt::official::load::<B>(&w, &cfg, &dev).unwrap();
    let other = vidt::official::load::<B>(&perturbed(&w, 0.05), &cfg, &dev).unwrap();
    let s = tokens(&student, &dev);
    assert_eq!(s.patches.len(), 4);
    assert_eq!(s.neck_det.len(), 7, "hs[0] + 6 decoder layers");

    let zero = values(token_matching_loss(&s, &tokens(&same, &dev)).unwrap()).1[0];
    assert_eq!(zero, 0.0, "same weights");

    let t = tokens(&other, &dev);
    let ours = values(token_matching_loss(&s, &t).unwrap()).1[0] as f64;
    let host = host_loss(&s, &t);
    println!("distil loss vs perturbed teacher: {ours} (host formula {host})");
    assert!(ours > 0.0);
    assert!(
        (ours - host).abs() <= 1e-5 * host.max(1.0),
        "{ours} vs {host}"
    );

    // A teacher with another number of decoder layers is an error naming the mismatch.
    let mut fewer = cfg.clone();
    fewer.dec_layers = 4;
    let short = vidt::official::load::<B>(&w, &fewer, &dev).unwrap();
    let e = token_matching_loss(&s, &tokens(&short, &dev)).unwrap_err();
    assert!(e.to_string().contains("decoder states"), "{e}");
}

#[test]
fn gradients_reach_the_student_only() {
    let w = checkpoint();
    let mut cfg = vidt::official::infer_config(&w).unwrap();
    let dev = cpu();

    // Identical tokens (the student's own, detached): loss 0 and finite gradients, not NaN
    // (the plain sqrt has an infinite slope at 0).
    cfg.dropout = 0.0;
    let student = vidt::official::load::<AB>(&w, &cfg, &dev).unwrap();
    let s = tokens(&student, &dev);
    let t = DistilTokens::<AB> {
        patches: s.patches.iter().map(|t| t.clone().detach()).collect(),
        body_det: s.body_det.clone().detach(),
        neck_det: s.neck_det.iter().map(|t| t.clone().detach()).collect(),
    };
    let loss = token_matching_loss(&s, &t).unwrap();
    assert_eq!(values(loss.clone()).1[0], 0.0);
    let grads = loss.backward();
    let g = student
        .neck
        .tgt_proj
        .conv
        .weight
        .grad(&grads)
        .expect("student gradient");
    assert!(
        values(g).1.iter().all(|v| v.is_finite()),
        "NaN gradients at zero distance"
    );

    // A different teacher: one step moves the student, the teacher stays as it was.
    let teacher = vidt::official::load::<AB>(&perturbed(&w, 0.05), &cfg, &dev)
        .unwrap()
        .valid();
    // The distillation loss alone has a non-zero gradient on the student.
    let loss = token_matching_loss(
        &tokens(&student, &dev),
        &DistilTokens::<AB>::from_inner(tokens(&teacher, &dev)),
    )
    .unwrap();
    let grads = loss.backward();
    let g = values(student.neck.tgt_proj.conv.weight.grad(&grads).unwrap()).1;
    let norm = g.iter().map(|v| v * v).sum::<f32>().sqrt();
    println!("|d loss_distil / d tgt_proj.0.weight| = {norm}");
    assert!(norm > 0.0 && norm.is_finite());

    let before_teacher = vidt::official::save(&teacher, &cfg).unwrap();
    let before_student = vidt::official::save(&student, &cfg).unwrap();
    let (x, mask) = input::<AB>(&dev);
    let targets = vec![
        Target {
            labels: vec![1],
            boxes: vec![[0.5, 0.5, 0.2, 0.3]],
            masks: None,
        };
        2
    ];
    let mut optim = VidtOptim::new(&student, 1e-4, 0.1);
    let t = Teacher {
        model: &teacher,
        coef: 4.0,
    };
    let shard = Shard {
        images: x,
        mask,
        targets,
    };
    let (student, loss) = train_step(
        student,
        &mut optim,
        1e-4,
        vec![shard],
        &Criterion::default(),
        Some(&t),
    )
    .unwrap();
    let distil = loss.distil.expect("distillation loss reported");
    println!("step: total {} distil {distil}", loss.total);
    assert!(distil > 0.0 && loss.total.is_finite());
    let after_teacher = vidt::official::save(&teacher, &cfg).unwrap();
    let after_student = vidt::official::save(&student, &cfg).unwrap();
    let changed = |a: &TensorMap, b: &TensorMap| {
        a.iter()
            .filter(|(k, t)| b.require(k).unwrap().data != t.data)
            .count()
    };
    assert_eq!(changed(&before_teacher, &after_teacher), 0, "teacher moved");
    let moved = changed(&before_student, &after_student);
    println!("student tensors changed by the step: {moved}");
    assert!(moved > 100, "student barely moved: {moved} tensors");
}
