#![cfg(feature = "flex")]
//! ViDT+ instance masks (`vidt::detect::uqr`) against the official post-processing: the
//! fixture's own `pred_vectors` and boxes of `fixture_plus_nano_perturbed` through our DCT
//! decoding and pasting give the official masks of the first 20 detections of both images
//! (IoU >= 0.99 each); their RLE is pycocotools' (PyPI).

use std::process::Command;

use crate::common::*;
use vidt::detect::postprocess::postprocess;
use vidt::detect::uqr::{MaskDecoder, N_KEEP, Rle, paste_mask, rle_encode};

const FIXTURE: &str = "fixture_plus_nano_perturbed.safetensors";

/// Our masks of the first 20 detections of each fixture image, beside the official ones:
/// `(size, ours, theirs)` per detection.
type Pair = ((usize, usize), Vec<u8>, Vec<u8>);

fn mask_pairs() -> Vec<Pair> {
    let f = fixture(FIXTURE);
    let (logits, boxes, vectors) = (
        get(&f, "pred_logits"),
        get(&f, "pred_boxes"),
        get(&f, "pred_vectors"),
    );
    let sizes = get(&f, "post_target_sizes");
    let (b, q, c) = (logits.shape[0], logits.shape[1], logits.shape[2]);
    assert_eq!(vectors.shape, [b, q, N_KEEP]);
    let decoder = MaskDecoder::default();
    let mut pairs = Vec::new();
    for bi in 0..b {
        let size = (sizes.data[bi * 2] as usize, sizes.data[bi * 2 + 1] as usize);
        let dets = postprocess(
            &logits.data[bi * q * c..(bi + 1) * q * c],
            &boxes.data[bi * q * 4..(bi + 1) * q * 4],
            c,
            size,
            100,
            &[],
        );
        let (ref_scores, ref_labels, ref_boxes) = (
            get(&f, &format!("post_{bi}_scores")),
            get(&f, &format!("post_{bi}_labels")),
            get(&f, &format!("post_{bi}_boxes")),
        );
        let ref_masks = get(&f, &format!("post_{bi}_masks_top20"));
        assert_eq!(ref_masks.shape, [20, size.0, size.1]);
        let px = size.0 * size.1;
        for d in dets.iter().take(20) {
            // The official detection with this score, label and box (ties in score may come
            // in either order).
            let j = (0..20)
                .filter(|&j| {
                    (ref_scores.data[j] - d.score).abs() <= 1e-6
                        && ref_labels.data[j] as usize == d.label_id
                        && (0..4).all(|k| (ref_boxes.data[j * 4 + k] - d.bbox[k]).abs() <= 1e-3)
                })
                .next()
                .unwrap_or_else(|| panic!("image {bi}: no official detection like {d:?}"));
            let v = &vectors.data[(bi * q + d.query) * N_KEEP..][..N_KEEP];
            let ours = paste_mask(&decoder.decode(v), decoder.side(), d.bbox, size, 0.5);
            let theirs = ref_masks.data[j * px..(j + 1) * px]
                .iter()
                .map(|&x| (x != 0.0) as u8)
                .collect();
            pairs.push((size, ours, theirs));
        }
    }
    pairs
}

fn iou(a: &[u8], b: &[u8]) -> f64 {
    let inter = a
        .iter()
        .zip(b)
        .filter(|(x, y)| **x == 1 && **y == 1)
        .count();
    let union = a
        .iter()
        .zip(b)
        .filter(|(x, y)| **x == 1 || **y == 1)
        .count();
    if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    }
}

#[test]
fn plus_masks_match_the_official_post_processing() {
    let pairs = mask_pairs();
    assert_eq!(pairs.len(), 40);
    let (mut worst, mut wrong, mut area) = (1f64, 0usize, 0usize);
    for (i, (_, ours, theirs)) in pairs.iter().enumerate() {
        let v = iou(ours, theirs);
        assert!(v >= 0.99, "detection {i}: mask IoU {v:.4} < 0.99");
        worst = worst.min(v);
        wrong += ours.iter().zip(theirs).filter(|(a, b)| a != b).count();
        area += theirs.iter().filter(|&&x| x == 1).count();
    }
    assert!(
        area > 0,
        "the official masks are all empty: nothing was compared"
    );
    println!(
        "ViDT+ masks, first 20 of 2 images: min IoU {worst:.5}, {wrong} pixels differ of {area} mask pixels"
    );
}

#[test]
fn rle_equals_pycocotools() {
    // The fixture's decoded masks and the edge cases: empty, full, one pixel, odd sizes.
    let mut masks: Vec<((usize, usize), Vec<u8>)> = mask_pairs()
        .into_iter()
        .take(6)
        .map(|(s, m, _)| (s, m))
        .collect();
    masks.push(((3, 5), vec![0; 15]));
    masks.push(((4, 2), vec![1; 8]));
    let mut one = vec![0u8; 7 * 3];
    one[20] = 1;
    masks.push(((7, 3), one));
    let mut rng = vidt::rng::Rng::new(5);
    masks.push((
        (37, 41),
        (0..37 * 41).map(|_| (rng.unit() < 0.3) as u8).collect(),
    ));
    let ours: Vec<Rle> = masks.iter().map(|(s, m)| rle_encode(m, *s)).collect();
    let input = serde_json::json!(
        masks
            .iter()
            .map(|((h, w), m)| serde_json::json!({"h": h, "w": w, "data": m}))
            .collect::<Vec<_>>()
    );
    let path = scratch_in("uqr", "masks.json");
    std::fs::write(&path, input.to_string()).unwrap();
    let script = r#"
import json, sys
import numpy as np
from pycocotools import mask as M
out = []
for m in json.load(open(sys.argv[1])):
    a = np.asfortranarray(np.array(m["data"], dtype=np.uint8).reshape(m["h"], m["w"]))
    r = M.encode(a)
    out.append({"size": [int(x) for x in r["size"]], "counts": r["counts"].decode()})
print(json.dumps(out))
"#;
    let res = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output()
        .expect("python3 is needed (with pycocotools: pip install pycocotools)");
    assert!(
        res.status.success(),
        "pycocotools failed (pip install pycocotools): {}",
        String::from_utf8_lossy(&res.stderr)
    );
    let theirs: Vec<Rle> = serde_json::from_slice(&res.stdout).expect("pycocotools output");
    assert_eq!(ours.len(), theirs.len());
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "mask {i}");
    }
    println!("RLE: {} masks equal to pycocotools", ours.len());
}
