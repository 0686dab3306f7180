#![cfg(feature = "flex")]
//! The ViDT+ criterion against the official SetCriterion with ViDT+ losses
//! (`fixture_plus_nano_perturbed`): on the official forward outputs and elliptical instance
//! targets, the final-layer matching and every loss term (IoU-aware, UQR vector, token focal and
//! dice, besides class and box) within 1e-5 relative, and the weighted total.

use crate::common::*;
use burn::tensor::{Tensor, TensorData};
use vidt::coco::{InstanceMasks, Target};
use vidt::train::criterion::{Criterion, PlusOutputs};

/// The fixture's targets with their instance masks (on the padded canvas) and pixel boxes.
fn targets(f: &vidt::TensorMap) -> Vec<Target> {
    let mut t = fixture_targets(f, 2);
    for (b, t) in t.iter_mut().enumerate() {
        let m = get(f, &format!("target_{b}_masks"));
        t.masks = Some(InstanceMasks {
            height: m.shape[1],
            width: m.shape[2],
            data: m.data.iter().map(|&v| (v != 0.0) as u8).collect(),
            boxes_px: rows(get(f, &format!("target_{b}_boxes_xyxy_px"))),
        });
    }
    t
}

fn t3(f: &vidt::TensorMap, k: &str) -> Tensor<B, 3> {
    tensor(f, k, &cpu())
}

#[test]
fn plus_matching_and_every_loss_term_match_reference() {
    let f = fixture("fixture_plus_nano_perturbed.safetensors");
    let tg = targets(&f);
    let name = |i: usize, what: &str| {
        if i == 6 {
            format!("pred_{what}")
        } else {
            format!("aux_{i}_pred_{what}")
        }
    };
    let levels: Vec<(Tensor<B, 3>, Tensor<B, 3>)> = (0..7)
        .map(|i| (t3(&f, &name(i, "logits")), t3(&f, &name(i, "boxes"))))
        .collect();
    let (mut token_logits, mut token_shapes) = (Vec::new(), Vec::new());
    for l in 0..4 {
        let t = get(&f, &format!("token_logits_{l}"));
        let [b, h, w, c] = [t.shape[0], t.shape[1], t.shape[2], t.shape[3]];
        token_logits.push(Tensor::<B, 3>::from_data(
            TensorData::new(t.data.clone(), [b, h * w, c]),
            &cpu(),
        ));
        token_shapes.push((h, w));
    }
    let plus = PlusOutputs {
        vectors: (0..7).map(|i| t3(&f, &name(i, "vectors"))).collect(),
        ious: (0..7).map(|i| t3(&f, &name(i, "ious"))).collect(),
        token_logits,
        token_shapes,
    };
    let num_boxes = tg.iter().map(|t| t.labels.len()).sum::<usize>() as f32;
    let losses = Criterion::default()
        .forward_plus(&levels, Some(&plus), &tg, num_boxes)
        .expect("criterion");

    // The final layer's matching is the official one.
    for (b, (src, tgt)) in losses.levels[6].indices.iter().enumerate() {
        let ints =
            |k: String| -> Vec<usize> { get(&f, &k).data.iter().map(|&v| v as usize).collect() };
        assert_eq!(
            (src.clone(), tgt.clone()),
            (
                ints(format!("match_{b}_query")),
                ints(format!("match_{b}_target"))
            ),
            "matching, image {b}"
        );
    }
    // Every term, and no official term missing.
    let named = losses.named().unwrap();
    let mut worst = 0f32;
    for (name, ours) in &named {
        let key = if name.starts_with("loss") {
            name.clone()
        } else {
            format!("loss_{name}")
        };
        let reference = get(&f, &key).data[0];
        let rel = (ours - reference).abs() / reference.abs().max(1e-12);
        println!("{name:<24} ours {ours:<12.7} reference {reference:<12.7} rel {rel:.2e}");
        if name.starts_with("loss") {
            worst = worst.max(rel);
            assert!(rel <= 1e-5, "{name}: {ours} vs {reference}");
        } else {
            assert_eq!(*ours, reference, "{name}");
        }
    }
    for key in f
        .keys()
        .filter(|k| k.starts_with("loss_") && *k != "loss_total_weighted")
    {
        let plain = key.trim_start_matches("loss_");
        assert!(
            named.iter().any(|(n, _)| n == key || n == plain),
            "official term {key} not computed"
        );
    }
    let total = values(losses.total).1[0];
    let reference = get(&f, "loss_total_weighted").data[0];
    println!("total {total} reference {reference} (worst term rel {worst:.2e})");
    assert!(
        (total - 116.29560).abs() / 116.29560 <= 1e-5
            && (total - reference).abs() / reference <= 1e-5,
        "total {total}"
    );
}
