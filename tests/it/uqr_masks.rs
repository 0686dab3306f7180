#![cfg(feature = "flex")]
//! ViDT+ instance masks (`vidt::detect::uqr`) against the official post-processing: the
//! fixture's own `pred_vectors` and boxes of `fixture_plus_nano_perturbed` through our DCT
//! decoding and pasting give the official masks of the first 20 detections of both images
//! (IoU >= 0.99 each); their RLE is pycocotools' (PyPI).

use std::process::Command;

use crate::common::*;
use vidt::detect::postprocess::postprocess;
use vidt::detect::uqr::{MaskCodec, N_KEEP, paste_mask};
use vidt::rle::{Rle, rle_encode};

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
    let decoder = MaskCodec::default();
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
            None,
        );
        assert_eq!(
            get(&f, &format!("post_{bi}_masks_top20")).shape,
            [20, size.0, size.1]
        );
        for d in dets.iter().take(20) {
            // Ties in score may come in either order: matched by score, label and box.
            let theirs = official_mask(&f, bi, d.score, d.label_id, d.bbox, 1e-6);
            let v = &vectors.data[(bi * q + d.query) * N_KEEP..][..N_KEEP];
            let ours = paste_mask(&decoder.decode(v), decoder.side(), d.bbox, size, 0.5);
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

/// The official mask (one of image `bi`'s first 20) of the detection with this score (within
/// `tol`), label and box (within 1e-3 px).
fn official_mask(
    f: &vidt::TensorMap,
    bi: usize,
    score: f32,
    label: usize,
    bbox: [f32; 4],
    tol: f32,
) -> Vec<u8> {
    let (ref_scores, ref_labels, ref_boxes) = (
        get(f, &format!("post_{bi}_scores")),
        get(f, &format!("post_{bi}_labels")),
        get(f, &format!("post_{bi}_boxes")),
    );
    let ref_masks = get(f, &format!("post_{bi}_masks_top20"));
    let px = ref_masks.shape[1] * ref_masks.shape[2];
    let j = (0..20)
        .find(|&j| {
            (ref_scores.data[j] - score).abs() <= tol
                && ref_labels.data[j] as usize == label
                && (0..4).all(|k| (ref_boxes.data[j * 4 + k] - bbox[k]).abs() <= 1e-3)
        })
        .unwrap_or_else(|| {
            panic!(
                "image {bi}: no official detection of label {label}, score {score}, box {bbox:?}"
            )
        });
    ref_masks.data[j * px..(j + 1) * px]
        .iter()
        .map(|&x| (x != 0.0) as u8)
        .collect()
}

/// `vidt detect --tensors` with the ViDT+ checkpoint: our model's forward, post-processing and
/// masks end to end; each of the first 20 detections' RLE decodes to the official mask.
#[test]
fn detect_writes_the_official_masks_as_rle() {
    let f = fixture(FIXTURE);
    let mut batch = vidt::TensorMap::new();
    batch.insert("input", get(&f, "input").clone());
    batch.insert("mask", get(&f, "mask").clone());
    batch.insert("target_sizes", get(&f, "post_target_sizes").clone());
    let file = scratch_in("uqr", "batch.safetensors");
    vidt::io::write_safetensors(&file, &batch, vidt::tensor_map::Dtype::F32).unwrap();
    let stdout = run_ok(
        vidt()
            .args(["detect", "--device", "cpu", "--threshold", "0", "--no-nms"])
            .arg("--weights")
            .arg(fixture_path("vidt_plus_nano_perturbed_f16.safetensors"))
            .arg("--tensors")
            .arg(&file),
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let mut worst = 1f64;
    for (bi, img) in v.as_array().unwrap().iter().enumerate() {
        let size = (
            img["height"].as_u64().unwrap() as usize,
            img["width"].as_u64().unwrap() as usize,
        );
        let dets = img["detections"].as_array().unwrap();
        assert_eq!(dets.len(), 100);
        for d in dets.iter().take(20) {
            let rle: Rle = serde_json::from_value(d["segmentation"].clone()).expect("segmentation");
            assert_eq!(rle.size, [size.0, size.1], "RLE over the whole image");
            let ours = rle.decode().unwrap();
            let b: Vec<f32> = d["box"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect();
            let theirs = official_mask(
                &f,
                bi,
                d["score"].as_f64().unwrap() as f32,
                d["label_id"].as_u64().unwrap() as usize,
                [b[0], b[1], b[2], b[3]],
                1e-5,
            );
            let v = iou(&ours, &theirs);
            assert!(v >= 0.99, "image {bi}: mask IoU {v:.4} < 0.99");
            worst = worst.min(v);
        }
    }
    println!("vidt detect ViDT+ masks, first 20 of 2 images: min IoU vs official {worst:.5}");
}
