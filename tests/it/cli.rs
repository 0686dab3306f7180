#![cfg(feature = "flex")]
//! The `vidt` binary's contracts: forward (fixture in, official tensor names out), detect
//! (JSON, annotated images, clear errors), info.

use crate::common::*;
use vidt::TensorMap;

fn scratch(name: &str) -> std::path::PathBuf {
    scratch_in("cli", name)
}

#[test]
fn forward_writes_official_names_and_matches_fixture() {
    let input = fixture_path("fixture_nano_perturbed_odd.safetensors");
    let ckpt = fixture_path("vidt_nano_perturbed.pth");
    let out = scratch("forward.safetensors");
    run_ok(&mut forward_cmd("cpu", &ckpt, &input, &out));
    let ours = TensorMap::from_file(&out).unwrap();
    let f = fixture("fixture_nano_perturbed_odd.safetensors");
    assert_outputs_close("cli forward", &ours, &f, (1e-4, 1e-5));

    // Decoding-layer drop from the command line.
    let out4 = scratch("forward4.safetensors");
    run_ok(forward_cmd("cpu", &ckpt, &input, &out4).args(["--dec-layers", "4"]));
    let ours = TensorMap::from_file(&out4).unwrap();
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

/// Out-of-range detect options are refused before any image is read, with the messages the
/// browser's `detect` gives for the same values (web/test/api.test.mjs), and an unknown
/// `--device` lists the backends.
#[test]
fn bad_detect_options_are_refused_as_in_the_browser() {
    let cases: [(&[&str], &str); 8] = [
        (
            &["--threshold", "2"],
            "bad detect options: threshold 2 is not in [0, 1]",
        ),
        (
            &["--nms", "0"],
            "bad detect options: NMS IoU 0 is not in (0, 1]",
        ),
        (
            &["--dec-layers", "7"],
            "bad detect options: decoder layers 7 is not an integer in 1..=6",
        ),
        (
            &["--size", "0"],
            "bad detect options: input size 0 is not an integer in 32..=2048",
        ),
        (
            &["--size", "5000"],
            "bad detect options: input size 5000 is not an integer in 32..=2048",
        ),
        (
            &["--size", "320", "--max-size", "100"],
            "bad detect options: max size 100 is not an integer in input size (320)..=4096",
        ),
        (
            &["--labels", "person,unicorn"],
            "bad detect options: no class is named `unicorn` (the model's classes: person, bicycle,",
        ),
        (
            &["--labels", "91"],
            "bad detect options: label id 91 is not an integer in 0..91",
        ),
    ];
    for (args, want) in cases {
        let out = vidt()
            .args(["detect", "--device", "cpu", "--weights"])
            .arg(fixture_path("vidt_nano_perturbed.pth"))
            .args(args)
            .arg(scratch("never-read.png"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    let out = vidt()
        .args(["detect", "--device", "tpu", "x.png"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("invalid value 'tpu' for '--device") && err.contains("cpu, wgpu, cuda"),
        "{err}"
    );
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

/// `vidt detect --tensors`: the fixture batch through the CLI gives the official
/// post-processing's top 100 per image (scores, labels and pixel boxes).
#[test]
fn detect_boxes_match_the_official_postprocess() {
    let f = fixture("fixture_nano_perturbed.safetensors");
    let pp = fixture("fixture_postprocess_perturbed.safetensors");
    let mut batch = TensorMap::new();
    batch.insert("input", get(&f, "input").clone());
    batch.insert("mask", get(&f, "mask").clone());
    batch.insert("target_sizes", get(&pp, "target_sizes").clone());
    let file = scratch("batch.safetensors");
    vidt::io::write_safetensors(&file, &batch, vidt::tensor_map::Dtype::F32).unwrap();
    let stdout = run_ok(
        vidt()
            .args(["detect", "--device", "cpu", "--threshold", "0", "--no-nms"])
            .arg("--weights")
            .arg(fixture_path("vidt_nano_perturbed.pth"))
            .arg("--tensors")
            .arg(&file),
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let images = v.as_array().unwrap();
    assert_eq!(images.len(), 2);
    let (mut worst_score, mut worst_box) = (0f64, 0f64);
    for (bi, img) in images.iter().enumerate() {
        let dets = img["detections"].as_array().unwrap();
        assert_eq!(dets.len(), 100);
        let scores = &get(&pp, "scores").data[bi * 100..(bi + 1) * 100];
        let labels = &get(&pp, "labels").data[bi * 100..(bi + 1) * 100];
        let boxes = &get(&pp, "boxes").data[bi * 400..(bi + 1) * 400];
        for (i, d) in dets.iter().enumerate() {
            let score = d["score"].as_f64().unwrap();
            // Ranks agree up to the order of near-ties.
            worst_score = worst_score.max((score - scores[i] as f64).abs());
            let label = d["label_id"].as_u64().unwrap() as f32;
            let b: Vec<f64> = d["box"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            let best = (0..100)
                .filter(|&j| labels[j] == label && (scores[j] as f64 - score).abs() <= 1e-4)
                .map(|j| {
                    (0..4)
                        .map(|k| (b[k] - boxes[j * 4 + k] as f64).abs())
                        .fold(0.0, f64::max)
                })
                .fold(f64::INFINITY, f64::min);
            assert!(
                best.is_finite(),
                "image {bi} rank {i}: label {label} score {score} not in the reference"
            );
            worst_box = worst_box.max(best);
        }
    }
    println!(
        "detect --tensors vs official postprocess: scores {worst_score:.2e}, boxes {worst_box:.2e} px"
    );
    assert!(worst_score <= 1e-5, "scores differ by {worst_score}");
    assert!(worst_box <= 0.02, "boxes differ by {worst_box} px");
}

/// A reader that closes the pipe early (`vidt info W | head -3`): a quiet exit, not a panic.
#[test]
fn closed_stdout_is_not_a_crash() {
    use std::process::Stdio;
    let mut child = vidt()
        .arg("info")
        .arg(fixture_path("vidt_nano_perturbed.pth"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Closing our end before the report is written makes its write fail with EPIPE.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// One resize rule: `--size S` caps the longer side at S * 1333 // 800 (the official
/// `eval_size * 1333 // 800`, as the browser's `inputSize`), `--max-size` overrides it. A 4:1
/// image at size 160 is resized to 64 x 256 under the rule (the official rounding: shorter
/// side round(266 * 120 / 480) = round(66.5) = 66 (half to even), longer int(66 * 480 / 120) =
/// 264, both down to multiples of 16), to 160 x 640 with `--max-size 640`; the detections
/// differ, and the output says the size the model was given.
#[test]
fn detect_caps_the_longer_side_in_proportion_to_size() {
    use vidt::defaults::max_size_for;
    use vidt::detect::preprocess::resized_size;
    assert_eq!(max_size_for(800, None), 1333);
    assert_eq!(max_size_for(160, None), 266);
    assert_eq!(max_size_for(160, Some(640)), 640);
    assert_eq!(
        resized_size(120, 480, 160, max_size_for(160, None)).unwrap(),
        (64, 256)
    );
    let wide = scratch("wide.png");
    let src =
        image::open(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shapes.png"))
            .unwrap();
    src.resize_exact(480, 120, image::imageops::FilterType::Triangle)
        .save(&wide)
        .unwrap();
    let detect = |extra: &[&str]| -> serde_json::Value {
        let mut cmd = vidt();
        cmd.args([
            "detect",
            "--device",
            "cpu",
            "--threshold",
            "0.01",
            "--size",
            "160",
        ])
        .args(extra)
        .arg(&wide);
        serde_json::from_str(&run_ok(&mut cmd)).unwrap()
    };
    let (rule, explicit) = (detect(&[]), detect(&["--max-size", "266"]));
    assert_eq!(rule, explicit, "the default cap is 266 at size 160");
    assert_eq!(rule[0]["input"], serde_json::json!([64, 256]));
    let uncapped = detect(&["--max-size", "640"]);
    assert_eq!(uncapped[0]["input"], serde_json::json!([160, 640]));
    assert_ne!(rule[0]["detections"], uncapped[0]["detections"]);
}
