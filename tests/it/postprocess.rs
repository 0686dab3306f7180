#![cfg(feature = "flex")]
//! Post-processing against the official PostProcess (`fixture_postprocess_perturbed`), on the
//! official model outputs of `fixture_nano_perturbed`.

use crate::common::*;
use vidt::detect::postprocess::postprocess;

#[test]
fn top100_matches_reference() {
    let out = fixture("fixture_nano_perturbed.safetensors");
    let pp = fixture("fixture_postprocess_perturbed.safetensors");
    let logits = get(&out, "pred_logits");
    let boxes = get(&out, "pred_boxes");
    let sizes = get(&pp, "target_sizes");
    let (b, q, c) = (logits.shape[0], logits.shape[1], logits.shape[2]);
    let names = vidt::official::coco_names();
    let (mut max_score, mut max_box) = (0f32, 0f32);
    for bi in 0..b {
        let size = (sizes.data[bi * 2] as usize, sizes.data[bi * 2 + 1] as usize);
        let dets = postprocess(
            &logits.data[bi * q * c..(bi + 1) * q * c],
            &boxes.data[bi * q * 4..(bi + 1) * q * 4],
            c,
            size,
            100,
            &names,
            None,
        );
        assert_eq!(dets.len(), 100);
        let ref_scores = &get(&pp, "scores").data[bi * 100..(bi + 1) * 100];
        let ref_labels = &get(&pp, "labels").data[bi * 100..(bi + 1) * 100];
        let ref_boxes = &get(&pp, "boxes").data[bi * 400..(bi + 1) * 400];
        for (i, d) in dets.iter().enumerate() {
            max_score = max_score.max((d.score - ref_scores[i]).abs());
            // Where scores tie within 1e-6 the order is arbitrary: compare as sets there.
            let candidates: Vec<usize> = (0..100)
                .filter(|&j| (ref_scores[j] - d.score).abs() <= 1e-6)
                .collect();
            assert!(
                !candidates.is_empty(),
                "image {bi} rank {i}: score {} not in the reference",
                d.score
            );
            let best = candidates
                .iter()
                .filter(|&&j| ref_labels[j] as usize == d.label_id)
                .map(|&j| {
                    (0..4)
                        .map(|k| (d.bbox[k] - ref_boxes[j * 4 + k]).abs())
                        .fold(0.0, f32::max)
                })
                .fold(f32::INFINITY, f32::min);
            assert!(
                best.is_finite(),
                "image {bi} rank {i}: label {} not among the tied reference entries",
                d.label_id
            );
            max_box = max_box.max(best);
        }
    }
    println!("postprocess: max|score diff| = {max_score:.3e}, max|box diff| = {max_box:.3e} px");
    assert!(max_score <= 1e-6, "scores differ by {max_score}");
    // Boxes are in pixels (up to ~320): f32 rounding of cx ± w/2 times the size.
    assert!(max_box <= 1e-3, "boxes differ by {max_box} px");
}

/// `labels` (the browser's allowlist) filters before the top-k: the same as ranking every
/// (query, class) pair, keeping those classes, then the first k.
#[test]
fn label_allowlist_applies_before_the_top_k() {
    let out = fixture("fixture_nano_perturbed.safetensors");
    let (logits, boxes) = (get(&out, "pred_logits"), get(&out, "pred_boxes"));
    let (q, c) = (logits.shape[1], logits.shape[2]);
    let (l, b) = (&logits.data[..q * c], &boxes.data[..q * 4]);
    let keep = [1usize, 18];
    let all = postprocess(l, b, c, (240, 320), q * c, &[], None);
    let expect: Vec<_> = all
        .into_iter()
        .filter(|d| keep.contains(&d.label_id))
        .take(10)
        .map(|d| (d.query, d.label_id, d.score))
        .collect();
    let got: Vec<_> = postprocess(l, b, c, (240, 320), 10, &[], Some(&keep))
        .into_iter()
        .map(|d| (d.query, d.label_id, d.score))
        .collect();
    assert_eq!(got.len(), 10);
    assert_eq!(got, expect);
}
