#![cfg(feature = "flex")]
//! `vidt synth` writes a COCO dataset the reader reads back exactly; malformed annotation
//! files are errors naming the file and the entry; degenerate boxes are dropped and counted.

use std::path::PathBuf;

use crate::common::{fixture_path, run_ok, vidt};
use vidt::coco::dataset::Dataset;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vidt-data-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn synth_round_trips_through_the_reader() {
    let dir = scratch("synth");
    run_ok(
        vidt()
            .args([
                "synth", "--images", "6", "--seed", "5", "--size", "160x120", "--out",
            ])
            .arg(&dir),
    );
    let ds = Dataset::read(&dir.join("annotations.json"), &dir.join("images")).unwrap();
    assert_eq!(ds.samples.len(), 6);
    assert_eq!(ds.dropped_boxes, 0);
    assert_eq!(ds.categories.len(), 3);
    // Same seed, same data: regenerate in memory and compare boxes.
    let mut rng = vidt::rng::Rng::new(5);
    for s in &ds.samples {
        let (img, objects) = vidt::coco::synth::image(&mut rng, 160, 120, 6);
        let disk = image::open(&s.path).unwrap().to_rgb8();
        assert_eq!(disk, img, "{}", s.path.display());
        assert_eq!(
            s.labels,
            objects.iter().map(|o| o.category).collect::<Vec<_>>()
        );
        for (b, o) in s.boxes.iter().zip(&objects) {
            assert_eq!(*b, o.bbox);
        }
        // The instance masks come back from their RLE as drawn.
        let masks = s.target_with_masks().masks.expect("synth writes masks");
        for (j, o) in objects.iter().enumerate() {
            assert_eq!(
                masks.mask(j),
                &o.mask[..],
                "{} object {j}",
                s.path.display()
            );
        }
        assert!(!s.labels.is_empty() && s.boxes.iter().all(|b| b[2] > b[0] && b[3] > b[1]));
    }
}

fn write(dir: &std::path::Path, json: &str) -> PathBuf {
    let p = dir.join("ann.json");
    std::fs::write(&p, json).unwrap();
    p
}

#[test]
fn malformed_annotations_name_file_and_entry() {
    let dir = scratch("bad");
    let cats = r#""categories": [{"id": 1, "name": "a"}]"#;
    let im = r#""images": [{"id": 7, "file_name": "x.png", "width": 10, "height": 10}]"#;
    let cases = [
        (
            format!(
                r#"{{{im}, "annotations": [{{"id": 3, "image_id": 8, "category_id": 1, "bbox": [0, 0, 1, 1]}}], {cats}}}"#
            ),
            "annotations[0] (id 3) refers to image id 8",
        ),
        (
            format!(
                r#"{{{im}, "annotations": [{{"id": 4, "image_id": 7, "category_id": 9, "bbox": [0, 0, 1, 1]}}], {cats}}}"#
            ),
            "unknown category 9",
        ),
        (
            format!(
                r#"{{{im}, "annotations": [{{"id": 5, "image_id": 7, "category_id": 1}}], {cats}}}"#
            ),
            "not a COCO instances file",
        ),
        ("{ not json".to_string(), "not a COCO instances file"),
    ];
    for (json, expect) in cases {
        let p = write(&dir, &json);
        let e = Dataset::read(&p, &dir).unwrap_err().to_string();
        assert!(e.contains("ann.json") && e.contains(expect), "{e}");
    }
    // Degenerate boxes (zero width, outside the image) are dropped and counted.
    let json = format!(
        r#"{{{im}, "annotations": [{{"id": 1, "image_id": 7, "category_id": 1, "bbox": [2, 2, 0, 5]}}, {{"id": 2, "image_id": 7, "category_id": 1, "bbox": [20, 20, 5, 5]}}, {{"id": 3, "image_id": 7, "category_id": 1, "bbox": [1, 1, 3, 3]}}], {cats}}}"#
    );
    let ds = Dataset::read(&write(&dir, &json), &dir).unwrap();
    assert_eq!(ds.dropped_boxes, 2);
    assert_eq!(ds.samples[0].boxes, vec![[1.0, 1.0, 4.0, 4.0]]);
}

/// `vidt eval --data DIR --weights W` runs the model over a dataset and prints the 12 keys.
#[test]
fn eval_runs_the_model_over_a_dataset() {
    let dir = scratch("evaldata");
    run_ok(
        vidt()
            .args(["synth", "--images", "2", "--size", "64x64", "--out"])
            .arg(&dir),
    );
    let fixtures = fixture_path("vidt_nano_perturbed.pth");
    let out = run_ok(
        vidt()
            .args([
                "eval",
                "--device",
                "cpu",
                "--size",
                "64",
                "--max-size",
                "64",
                "--data",
            ])
            .arg(&dir)
            .arg("--weights")
            .arg(&fixtures),
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for key in [
        "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl",
    ] {
        let x = v[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing in {v}"));
        assert!(x == -1.0 || (0.0..=1.0).contains(&x), "{key} = {x}");
    }
    // Mask AP with a ViDT+ model (its masks against the synth masks); a model without masks
    // is refused.
    let segm = |weights: &std::path::Path| {
        vidt()
            .args([
                "eval",
                "--device",
                "cpu",
                "--iou-type",
                "segm",
                "--size",
                "64",
            ])
            .args(["--max-size", "64", "--data"])
            .arg(&dir)
            .arg("--weights")
            .arg(weights)
            .output()
            .unwrap()
    };
    let r = segm(&fixture_path("vidt_plus_nano_perturbed_f16.safetensors"));
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    let ap = v["AP"].as_f64().unwrap();
    assert!(ap == -1.0 || (0.0..=1.0).contains(&ap), "segm AP = {ap}");
    let r = segm(&fixtures);
    assert!(
        !r.status.success() && String::from_utf8_lossy(&r.stderr).contains("ViDT+"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
}

/// COCO polygons rasterize as pycocotools' `frPyObjects` + `decode` (rleFrPoly), pixel for pixel,
/// and its RLE (compressed and uncompressed) decodes the same.
#[test]
fn segmentations_decode_as_pycocotools() {
    use vidt::coco::masks::Segmentation;
    let (h, w) = (37usize, 53usize);
    let mut rng = vidt::rng::Rng::new(11);
    let mut polys: Vec<Vec<Vec<f64>>> = vec![
        vec![vec![2.0, 3.0, 30.5, 4.2, 18.3, 33.9]],
        vec![vec![10.0, 10.0, 40.0, 10.0, 40.0, 30.0, 10.0, 30.0]],
        // Partly outside the image, and two parts.
        vec![
            vec![-5.0, -3.0, 20.0, 2.0, 8.0, 50.0],
            vec![45.0, 1.0, 60.0, 20.0, 41.0, 36.0],
        ],
    ];
    for _ in 0..12 {
        let n = 3 + rng.below(6);
        polys.push(vec![
            (0..2 * n)
                .map(|i| {
                    let side = if i % 2 == 0 { w } else { h } as f32;
                    (rng.range(-2.0, side + 2.0) * 100.0).round() as f64 / 100.0
                })
                .collect(),
        ]);
    }
    let path = scratch("segm").join("polys.json");
    std::fs::write(&path, serde_json::to_string(&polys).unwrap()).unwrap();
    let script = r#"
import json, sys
import numpy as np
from pycocotools import mask as M
h, w = int(sys.argv[2]), int(sys.argv[3])
out = []
for p in json.load(open(sys.argv[1])):
    rles = M.frPyObjects(p, h, w)
    m = M.decode(M.merge(rles))
    r = M.merge(rles)
    out.append({"mask": m.flatten().tolist(), "rle": {"size": r["size"], "counts": r["counts"].decode()}})
print(json.dumps(out))
"#;
    let res = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .arg(h.to_string())
        .arg(w.to_string())
        .output()
        .expect("python3 is needed (with pycocotools)");
    assert!(
        res.status.success(),
        "pycocotools failed: {}",
        String::from_utf8_lossy(&res.stderr)
    );
    let theirs: Vec<serde_json::Value> = serde_json::from_slice(&res.stdout).unwrap();
    let mut pixels = 0;
    for (i, (p, t)) in polys.iter().zip(&theirs).enumerate() {
        let want: Vec<u8> = t["mask"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u8)
            .collect();
        let ours = Segmentation::Polygons(p.clone()).decode(h, w).unwrap();
        let wrong = ours.iter().zip(&want).filter(|(a, b)| a != b).count();
        assert_eq!(wrong, 0, "polygon set {i}: {wrong} pixels differ");
        pixels += want.iter().filter(|&&v| v == 1).count();
        let rle: Segmentation = serde_json::from_value(t["rle"].clone()).unwrap();
        assert_eq!(rle.decode(h, w).unwrap(), want, "RLE {i}");
    }
    assert!(pixels > 0, "nothing rasterized: nothing compared");
    let runs: Segmentation =
        serde_json::from_str(r#"{"size": [2, 3], "counts": [1, 2, 3]}"#).unwrap();
    assert_eq!(runs.decode(2, 3).unwrap(), vec![0, 1, 0, 1, 0, 0]);
    assert!(runs.decode(3, 2).is_err(), "another size is an error");
    println!(
        "{} polygon sets equal to pycocotools ({pixels} mask pixels)",
        polys.len()
    );
}
