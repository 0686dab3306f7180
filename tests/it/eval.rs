#![cfg(feature = "flex")]
//! `vidt eval` against pycocotools (PyPI) on generated ground truth and detections: every
//! statistic within 1e-3, on cases with crowd boxes, empty images, all three area ranges,
//! a category without ground truth, tied scores and more than 100 detections per image.

use std::path::Path;
use std::process::Command;

use crate::common::{run_ok, vidt};
use serde_json::{Value, json};
use vidt::rng::Rng;

fn case(seed: u64, dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut rng = Rng::new(seed);
    let (mut images, mut anns, mut dets) = (vec![], vec![], vec![]);
    let n_images = 4 + rng.below(5);
    for i in 0..n_images {
        let id = 100 + i as u64 * 3; // non-contiguous ids
        images
            .push(json!({"id": id, "file_name": format!("{id}.png"), "width": 640, "height": 480}));
        if i == 1 {
            continue; // an image without ground truth
        }
        let n_gt = 1 + rng.below(8);
        for _ in 0..n_gt {
            // Sizes across small (< 32^2), medium and large (> 96^2) areas.
            let s = [8.0, 20.0, 50.0, 90.0, 150.0, 250.0][rng.below(6)] * rng.range(0.7, 1.3);
            let (w, h) = (s * rng.range(0.6, 1.4), s * rng.range(0.6, 1.4));
            let (x, y) = (rng.range(0.0, 640.0 - w), rng.range(0.0, 480.0 - h));
            let cat = 1 + rng.below(3);
            let crowd = rng.unit() < 0.1;
            anns.push(json!({"id": anns.len() + 1, "image_id": id, "category_id": cat, "bbox": [x, y, w, h], "area": w * h * rng.range(0.8, 1.0), "iscrowd": crowd as u8}));
            // Detections: jittered copies (some duplicated), with a coarse score so ties occur.
            for _ in 0..(1 + rng.below(2)) {
                let j = rng.range(0.0, 0.25) * s;
                let score = (rng.unit() * 20.0).floor() / 20.0 + 0.01;
                let c = if rng.unit() < 0.85 {
                    cat
                } else {
                    1 + rng.below(4)
                };
                dets.push(json!({"image_id": id, "category_id": c, "bbox": [x + j, y - j * 0.5, w * rng.range(0.8, 1.2), h * rng.range(0.8, 1.2)], "score": score}));
            }
        }
        // False positives; one image gets more than 100 detections.
        let n_fp = if i == 2 { 130 } else { rng.below(10) };
        for _ in 0..n_fp {
            let (w, h) = (rng.range(5.0, 200.0), rng.range(5.0, 200.0));
            dets.push(json!({"image_id": id, "category_id": 1 + rng.below(4), "bbox": [rng.range(0.0, 440.0), rng.range(0.0, 280.0), w, h], "score": rng.unit()}));
        }
    }
    // Category 4 has detections but no ground truth.
    let cats: Vec<Value> = (1..=4)
        .map(|c| json!({"id": c, "name": format!("c{c}")}))
        .collect();
    let gt = dir.join(format!("gt{seed}.json"));
    let dt = dir.join(format!("dt{seed}.json"));
    std::fs::write(
        &gt,
        json!({"images": images, "annotations": anns, "categories": cats}).to_string(),
    )
    .unwrap();
    std::fs::write(&dt, Value::Array(dets).to_string()).unwrap();
    (gt, dt)
}

/// `vidt eval --iou-type T` and pycocotools' COCOeval on the same files: both statistics and the
/// largest difference, every statistic asserted within 1e-3.
fn ours_and_pycocotools(gt: &Path, dt: &Path, iou: &str, what: &str) -> (Value, Value, f64) {
    let ours = run_ok(
        vidt()
            .args(["eval", "--iou-type", iou, "--gt"])
            .arg(gt)
            .arg("--detections")
            .arg(dt),
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/coco_reference.py");
    let reference = Command::new("python3")
        .arg(&script)
        .arg(gt)
        .arg(dt)
        .arg(iou)
        .output()
        .expect("python3 is needed (with pycocotools: pip install pycocotools)");
    assert!(
        reference.status.success(),
        "pycocotools failed (pip install pycocotools): {}",
        String::from_utf8_lossy(&reference.stderr)
    );
    let ours: Value = serde_json::from_str(&ours).unwrap();
    let reference: Value = serde_json::from_slice(&reference.stdout).unwrap();
    let mut worst = 0f64;
    for key in [
        "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl",
    ] {
        let (a, b) = (
            ours[key].as_f64().unwrap(),
            reference[key].as_f64().unwrap(),
        );
        worst = worst.max((a - b).abs());
        assert!(
            (a - b).abs() <= 1e-3,
            "{what} {key}: ours {a} pycocotools {b}"
        );
    }
    (ours, reference, worst)
}

#[test]
fn eval_equals_pycocotools() {
    let dir = std::env::temp_dir().join(format!("vidt-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut worst = 0f64;
    for seed in 0..6 {
        let (gt, dt) = case(seed, &dir);
        let (ours, reference, d) = ours_and_pycocotools(&gt, &dt, "bbox", &format!("seed {seed}"));
        worst = worst.max(d);
        println!(
            "seed {seed}: AP {} AR100 {} (pycocotools {} / {})",
            ours["AP"], ours["AR100"], reference["AP"], reference["AR100"]
        );
    }
    println!("worst |ours - pycocotools| over 6 cases x 12 statistics: {worst:.2e}");
}

/// An ellipse inscribed in `[x, y, w, h]`: `n` polygon points.
fn ellipse(b: [f64; 4], n: usize) -> Vec<f64> {
    let (cx, cy, rx, ry) = (b[0] + b[2] / 2.0, b[1] + b[3] / 2.0, b[2] / 2.0, b[3] / 2.0);
    (0..n)
        .flat_map(|i| {
            let t = i as f64 * std::f64::consts::TAU / n as f64;
            [cx + rx * t.cos(), cy + ry * t.sin()]
        })
        .collect()
}

/// `vidt eval --iou-type segm` against pycocotools' segm COCOeval on the same generated cases,
/// the ground truth as polygons (ellipses in the boxes), the detections as RLE of jittered
/// ellipses: every statistic within 1e-3.
#[test]
fn segm_eval_equals_pycocotools() {
    use vidt::coco::masks::Segmentation;
    let dir = std::env::temp_dir().join(format!("vidt-segm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let num = |v: &Value| -> [f64; 4] { std::array::from_fn(|i| v[i].as_f64().unwrap()) };
    for seed in 0..3 {
        let (gt, dt) = case(seed, &dir);
        let mut g: Value = serde_json::from_str(&std::fs::read_to_string(&gt).unwrap()).unwrap();
        for a in g["annotations"].as_array_mut().unwrap() {
            let b = num(&a["bbox"]);
            a["segmentation"] = json!([ellipse(b, 24)]);
        }
        let (h, w) = (480usize, 640usize);
        let mut d: Value = serde_json::from_str(&std::fs::read_to_string(&dt).unwrap()).unwrap();
        for x in d.as_array_mut().unwrap() {
            let b = num(&x["bbox"]);
            let poly = Segmentation::Polygons(vec![ellipse(b, 20)]);
            let mask = poly.decode(h, w).unwrap();
            x["segmentation"] = serde_json::to_value(Segmentation::from_mask(&mask, h, w)).unwrap();
        }
        std::fs::write(&gt, g.to_string()).unwrap();
        std::fs::write(&dt, d.to_string()).unwrap();
        let (ours, reference, _) =
            ours_and_pycocotools(&gt, &dt, "segm", &format!("segm seed {seed}"));
        let bbox = run_ok(
            vidt()
                .arg("eval")
                .arg("--gt")
                .arg(&gt)
                .arg("--detections")
                .arg(&dt),
        );
        let bbox: Value = serde_json::from_str(&bbox).unwrap();
        assert_ne!(ours["AP"], bbox["AP"], "segm measured masks, not boxes");
        println!(
            "segm seed {seed}: AP {} (pycocotools {}), bbox AP {}",
            ours["AP"], reference["AP"], bbox["AP"]
        );
    }
}
