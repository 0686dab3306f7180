#![cfg(feature = "flex")]
//! End to end on a real photograph: `vidt detect` (decode, ViDT's resize, normalization, the
//! model, post-processing) against the official pipeline's detections on the same photo
//! (`../shared/fixtures/photos/`: PIL decode, `make_coco_transforms('val')`, the perturbed
//! nano, `PostProcess` at the original size).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::*;

/// The official detections of `photos/official_chelsea.json`: (original, resized, detections).
fn official() -> ([u64; 2], [u64; 2], Vec<Value>) {
    let file = fixture_path("photos/official_chelsea.json");
    let v: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    let p = &v["chelsea.png"];
    let pair = |k: &str| -> [u64; 2] {
        let a = p[k].as_array().unwrap();
        [a[0].as_u64().unwrap(), a[1].as_u64().unwrap()]
    };
    (
        pair("original"),
        pair("resized"),
        p["detections"].as_array().unwrap().clone(),
    )
}

/// An xyxy box of the JSON.
fn coords(v: &Value) -> [f32; 4] {
    let c: Vec<f32> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    c.try_into().unwrap()
}

/// How many of the official top-10 are among `ours` with the same class, box IoU >= 0.95 and
/// score within 0.02 (the photo README's rule: scores are close together, so as sets), and the
/// worst IoU / score gap of the matches.
fn found_in(ours: &[Value], official: &[Value]) -> (usize, f64, f64) {
    let (mut found, mut worst_iou, mut worst_score) = (0, 1f64, 0f64);
    for o in &official[..10] {
        let (label, score, bx) = (
            o["label"].as_u64().unwrap(),
            o["score"].as_f64().unwrap(),
            coords(&o["box"]),
        );
        let best = ours
            .iter()
            .filter(|d| d["label_id"].as_u64().unwrap() == label)
            .map(|d| {
                (
                    vidt::boxes::iou(coords(&d["box"]), bx) as f64,
                    (d["score"].as_f64().unwrap() - score).abs(),
                )
            })
            .filter(|&(i, s)| i >= 0.95 && s <= 0.02)
            .max_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((i, s)) = best {
            found += 1;
            worst_iou = worst_iou.min(i);
            worst_score = worst_score.max(s);
        }
    }
    (found, worst_iou, worst_score)
}

/// `vidt detect` on the photo with the fixture checkpoint on `device` feeds the model the
/// official size (800 x 1200 for 451 x 300, where DETR's rule gave 800 x 1202) and finds every
/// official top-10 detection.
fn detect_on_the_photo(device: &str) {
    let (original, resized, official) = official();
    let photo = fixture_path("photos/chelsea.png");
    let stdout = run_ok(
        vidt()
            .args(["detect", "--device", device, "--threshold", "0", "--no-nms"])
            .arg("--weights")
            .arg(fixture_path("vidt_nano_perturbed.pth"))
            .arg(&photo),
    );
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let img = &v[0];
    assert_eq!(
        [
            img["height"].as_u64().unwrap(),
            img["width"].as_u64().unwrap()
        ],
        original
    );
    let input = [
        img["input"][0].as_u64().unwrap(),
        img["input"][1].as_u64().unwrap(),
    ];
    let ours = img["detections"].as_array().unwrap();
    assert_eq!(ours.len(), 100, "the official top-100");
    let (found, worst_iou, worst_score) = found_in(ours, &official);
    println!(
        "photo chelsea.png on {device}: input {input:?} (official {resized:?}); {found} of the \
         official top-10 found; worst match IoU {worst_iou:.4}, score gap {worst_score:.2e}"
    );
    assert_eq!(input, resized, "the size the model is given");
    assert_eq!(found, 10, "official top-10 detections found");
}

#[test]
fn detect_on_a_photo_finds_the_official_top10() {
    detect_on_the_photo("cpu");
}

/// The same on wgpu (lavapipe here): our WGSL kernels and burn's at the photo's 800 x 1200,
/// larger than any fixture tensor. (The browser checks the photo on its CPU fallback; its
/// WebGPU path runs the same kernels, checked on the fixtures: SwiftShader took 8.5 minutes
/// of CI for this one forward, lavapipe under two.)
#[cfg(feature = "wgpu")]
#[test]
fn detect_on_a_photo_on_wgpu_finds_the_official_top10() {
    detect_on_the_photo("wgpu");
}

/// Our bilinear resize (`image`'s Triangle filter) against PIL's `BILINEAR` (what torchvision's
/// `F.resize` calls on a PIL image) on the photo at the official size: the largest difference
/// of any channel of any pixel, in 8-bit levels. PIL resamples through 8-bit fixed-point
/// weights; `image` in f32; both upscale with the same triangle kernel at pixel centres.
#[test]
fn our_bilinear_is_pils_within_two_levels_on_the_photo() {
    let (_, [h, w], _) = official();
    let photo = fixture_path("photos/chelsea.png");
    let pil_out = scratch_in("photo", "chelsea_pil.png");
    let script = "import sys\nfrom PIL import Image\n\
                  Image.open(sys.argv[1]).convert('RGB')\
                  .resize((int(sys.argv[3]), int(sys.argv[4])), Image.BILINEAR).save(sys.argv[2])";
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(&photo)
        .arg(&pil_out)
        .args([w.to_string(), h.to_string()])
        .status()
        .expect("python3 is needed (with Pillow: pip install pillow)");
    assert!(status.success(), "PIL resize failed (pip install pillow)");
    let pil = image::open(&pil_out).unwrap().to_rgb8();
    let src = vidt::detect::preprocess::load_image(Path::new(&photo)).unwrap();
    let ours = vidt::detect::preprocess::resize_shorter(&src, 800, 1333).unwrap();
    assert_eq!((ours.height() as u64, ours.width() as u64), (h, w));
    let (mut worst, mut differ) = (0u8, 0usize);
    for (a, b) in ours.as_raw().iter().zip(pil.as_raw()) {
        let d = a.abs_diff(*b);
        worst = worst.max(d);
        differ += (d > 0) as usize;
    }
    println!(
        "photo resize, ours vs PIL bilinear at {w}x{h}: max |diff| {worst} levels, {differ} of \
         {} channel values differ",
        ours.as_raw().len()
    );
    assert!(worst <= 2, "max |diff| {worst} levels");
}
