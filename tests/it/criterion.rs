#![cfg(feature = "flex")]
//! The matcher and the set criterion against the official HungarianMatcher/SetCriterion
//! (`fixture_loss_perturbed`), on the official model outputs of `fixture_nano_perturbed`.

use crate::common::*;
use burn::tensor::Tensor;
use vidt::coco::Target;
use vidt::train::criterion::Criterion;
use vidt::train::matcher::Matcher;

#[test]
fn matching_and_every_loss_term_match_reference() {
    let out = fixture("fixture_nano_perturbed.safetensors");
    let lf = fixture("fixture_loss_perturbed.safetensors");
    let tg = fixture_targets(&lf, 2);
    let mut levels: Vec<(Tensor<B, 3>, Tensor<B, 3>)> = (0..6)
        .map(|i| {
            (
                tensor(&out, &format!("aux_{i}_pred_logits"), &cpu()),
                tensor(&out, &format!("aux_{i}_pred_boxes"), &cpu()),
            )
        })
        .collect();
    levels.push((
        tensor(&out, "pred_logits", &cpu()),
        tensor(&out, "pred_boxes", &cpu()),
    ));
    let losses = Criterion::default()
        .forward(&levels, &tg)
        .expect("criterion");

    // Identical matched indices on the final and every aux level.
    for (li, level) in losses.levels.iter().enumerate() {
        let name = if li == 6 {
            "final".to_string()
        } else {
            format!("aux_{li}")
        };
        for (b, (src, tgt)) in level.indices.iter().enumerate() {
            let rs: Vec<usize> = get(&lf, &format!("indices_{name}_{b}_src"))
                .data
                .iter()
                .map(|&v| v as usize)
                .collect();
            let rt: Vec<usize> = get(&lf, &format!("indices_{name}_{b}_tgt"))
                .data
                .iter()
                .map(|&v| v as usize)
                .collect();
            assert_eq!((src, tgt), (&rs, &rt), "indices {name} image {b}");
        }
    }
    // Every loss term within 1e-5 relative.
    let mut worst = 0f32;
    for (name, ours) in losses.named().unwrap() {
        let reference = get(&lf, &name).data[0];
        let rel = (ours - reference).abs() / reference.abs().max(1e-12);
        worst = worst.max(if name.starts_with("loss") { rel } else { 0.0 });
        println!("{name:<22} ours {ours:<12.7} reference {reference:<12.7} rel {rel:.2e}");
        if name.starts_with("loss") {
            assert!(rel <= 1e-5, "{name}: {ours} vs {reference}");
        } else {
            assert_eq!(ours, reference, "{name}");
        }
    }
    let total = values(losses.total).1[0];
    let reference = get(&lf, "loss_total_weighted").data[0];
    println!("total {total} reference {reference} (worst term rel {worst:.2e})");
    assert!(
        (total - 37.24602).abs() / 37.24602 <= 1e-5
            && (total - reference).abs() / reference <= 1e-5,
        "total {total}"
    );
}

/// The matcher equals a brute-force search over all assignments on small random cases.
#[test]
fn matcher_equals_brute_force() {
    let m = Matcher::default();
    let mut seed = 1u64;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 40) as f32 / (1u64 << 24) as f32
    };
    for case in 0..200 {
        let (q, c, n) = (2 + case % 5, 4, 1 + case % 3);
        let n = n.min(q);
        let logits: Vec<f32> = (0..q * c).map(|_| next() * 8.0 - 4.0).collect();
        let boxes: Vec<f32> = (0..q)
            .flat_map(|_| {
                [
                    0.2 + 0.6 * next(),
                    0.2 + 0.6 * next(),
                    0.05 + 0.3 * next(),
                    0.05 + 0.3 * next(),
                ]
            })
            .collect();
        let t = Target {
            labels: (0..n).map(|i| (i * 3 + case) % c).collect(),
            boxes: (0..n)
                .map(|_| {
                    [
                        0.2 + 0.6 * next(),
                        0.2 + 0.6 * next(),
                        0.05 + 0.3 * next(),
                        0.05 + 0.3 * next(),
                    ]
                })
                .collect(),
            masks: None,
        };
        let cost = m.cost(&logits, &boxes, c, &t);
        let (src, tgt) = m
            .match_batch(&logits, &boxes, c, std::slice::from_ref(&t))
            .unwrap()
            .remove(0);
        let ours: f32 = src.iter().zip(&tgt).map(|(&i, &j)| cost[i * n + j]).sum();
        // Brute force: every injective map targets -> queries.
        fn best(j: usize, n: usize, q: usize, used: &mut Vec<bool>, cost: &[f32]) -> f32 {
            if j == n {
                return 0.0;
            }
            let mut b = f32::INFINITY;
            for i in 0..q {
                if !used[i] {
                    used[i] = true;
                    b = b.min(cost[i * n + j] + best(j + 1, n, q, used, cost));
                    used[i] = false;
                }
            }
            b
        }
        let brute = best(0, n, q, &mut vec![false; q], &cost);
        assert!(
            (ours - brute).abs() <= 1e-5,
            "case {case}: {ours} vs brute force {brute}"
        );
        assert_eq!(src.len(), n);
        assert!(src.windows(2).all(|w| w[0] < w[1]), "queries ascending");
    }
}
