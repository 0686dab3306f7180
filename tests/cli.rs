#![cfg(feature = "flex")]
//! The `vidt` binary's contracts: forward (fixture in, official tensor names out), detect
//! (JSON, annotated images, clear errors), info.

mod common;

use common::*;
use vidt::weights::WeightMap;

fn scratch(name: &str) -> std::path::PathBuf {
    scratch_in("cli", name)
}

#[test]
fn forward_writes_official_names_and_matches_fixture() {
    let input = fixture_path("fixture_nano_perturbed_odd.safetensors");
    let ckpt = fixture_path("vidt_nano_perturbed.pth");
    let out = scratch("forward.safetensors");
    run_ok(
        vidt()
            .args(["forward", "--device", "cpu", "--weights"])
            .arg(&ckpt)
            .arg("--input")
            .arg(&input)
            .arg("--output")
            .arg(&out),
    );
    let ours = WeightMap::from_file(&out).unwrap();
    let f = fixture("fixture_nano_perturbed_odd.safetensors");
    assert_eq!(ours.len(), 14, "pred_* and 6 aux pairs");
    for key in ours.keys() {
        let tol = if key.ends_with("logits") { 1e-4 } else { 1e-5 };
        let o = ours.require(key).unwrap();
        let d = max_diff(key, (&o.shape, &o.data), get(&f, key));
        assert!(d <= tol, "{key}: {d}");
    }

    // Decoding-layer drop from the command line.
    let out4 = scratch("forward4.safetensors");
    run_ok(
        vidt()
            .args([
                "forward",
                "--device",
                "cpu",
                "--dec-layers",
                "4",
                "--weights",
            ])
            .arg(&ckpt)
            .arg("--input")
            .arg(&input)
            .arg("--output")
            .arg(&out4),
    );
    let ours = WeightMap::from_file(&out4).unwrap();
    assert_eq!(ours.len(), 2 + 2 * 4);
    let o = ours.require("pred_logits").unwrap();
    assert!(max_diff("k=4", (&o.shape, &o.data), get(&f, "aux_4_pred_logits")) <= 1e-4);
}

#[test]
fn detect_prints_json_and_writes_annotated_images() {
    let ckpt = fixture_path("vidt_nano_perturbed.pth");
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sample.png");
    // A grey and an RGBA copy exercise the colour conversions.
    let img = image::open(&sample).unwrap();
    let grey = scratch("grey.png");
    img.to_luma8().save(&grey).unwrap();
    let rgba = scratch("rgba.png");
    img.to_rgba8().save(&rgba).unwrap();
    let dir = scratch("annotated");
    let stdout = run_ok(
        vidt()
            .args([
                "detect",
                "--device",
                "cpu",
                "--threshold",
                "0",
                "--size",
                "320",
                "--weights",
            ])
            .arg(&ckpt)
            .arg(&sample)
            .arg(&grey)
            .arg(&rgba)
            .arg("--output-dir")
            .arg(&dir),
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let results = v.as_array().unwrap();
    assert_eq!(results.len(), 3);
    for r in results {
        assert_eq!(
            (r["width"].as_u64(), r["height"].as_u64()),
            (Some(480), Some(320))
        );
        let dets = r["detections"].as_array().unwrap();
        assert_eq!(dets.len(), 100, "threshold 0 keeps the top 100");
        let scores: Vec<f64> = dets.iter().map(|d| d["score"].as_f64().unwrap()).collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "sorted by score");
        let d = &dets[0];
        assert!(
            d["label"].is_string()
                && d["label_id"].as_u64().unwrap() < 91
                && d["box"].as_array().unwrap().len() == 4
        );
    }
    for name in ["sample", "grey", "rgba"] {
        assert!(
            dir.join(format!("{name}.detections.png")).is_file(),
            "{name} annotated"
        );
    }
}

#[test]
fn unreadable_image_is_named_and_fails() {
    let bad = scratch("not-an-image.jpg");
    std::fs::write(&bad, b"garbage").unwrap();
    let out = vidt()
        .args(["detect", "--device", "cpu", "--weights"])
        .arg(fixture_path("vidt_nano_perturbed.pth"))
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not-an-image.jpg"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn info_reports_config_and_counts() {
    let stdout = run_ok(
        vidt()
            .arg("info")
            .arg(fixture_path("vidt_nano_perturbed.pth")),
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["config"]["preset"], "swin_nano");
    assert_eq!(v["parameters"], 15_728_677);
    assert_eq!(v["parameters_in_file"], 15_728_677);
    assert_eq!(v["keys"], 485);
    assert_eq!(v["unknown_keys"].as_array().unwrap().len(), 0);
}
