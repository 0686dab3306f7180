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
}
